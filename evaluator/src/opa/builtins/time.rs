//! Time builtins, in nanoseconds since the Unix epoch: `time.now_ns`, `time.parse_rfc3339_ns`,
//! `time.parse_ns` (Go layouts), `time.parse_duration_ns` (Go durations), `time.date`,
//! `time.clock`, `time.weekday`, `time.add_date`. Time zones: `UTC` (or `""`) and `Local`.

use chrono::{
    DateTime, Datelike, FixedOffset, Local, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike,
    Utc,
};
use serde_json::Value;

use super::args::{arity, integer, string};

fn nanos(time: DateTime<FixedOffset>) -> Result<Value, String> {
    time.timestamp_nanos_opt()
        .map(Value::from)
        .ok_or_else(|| format!("{time} is out of the range of nanosecond timestamps"))
}

pub(super) fn now_ns(args: &[Value]) -> Result<Value, String> {
    let [] = arity(args)?;
    nanos(Utc::now().fixed_offset())
}

pub(super) fn parse_rfc3339_ns(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    let text = string(text, 1)?;
    let time = DateTime::parse_from_rfc3339(text).map_err(|err| format!("{text:?}: {err}"))?;
    nanos(time)
}

/// `time.parse_ns(layout, value)`: `layout` is a Go reference-time layout
/// (`2006-01-02T15:04:05Z07:00`) or the name of one of Go's (`RFC3339`, `RFC1123Z`, …); a value
/// without an offset is UTC.
pub(super) fn parse_ns(args: &[Value]) -> Result<Value, String> {
    let [layout, text] = arity(args)?;
    let (layout, text) = (string(layout, 1)?, string(text, 2)?);
    let format = chrono_format(named_layout(layout).unwrap_or(layout))?;
    // Go's `Z07:00` reads `Z` as UTC; chrono's `%:z` wants an offset.
    let text = match text.strip_suffix('Z') {
        Some(rest) if format.ends_with("%:z") => format!("{rest}+00:00"),
        Some(rest) if format.ends_with("%z") => format!("{rest}+0000"),
        _ => text.to_owned(),
    };
    let error =
        |err: chrono::ParseError| format!("{text:?} does not match layout {layout:?}: {err}");
    let time = if format.contains("%z") || format.contains("%:z") {
        DateTime::parse_from_str(&text, &format).map_err(error)?
    } else if format.contains("%H") || format.contains("%I") {
        NaiveDateTime::parse_from_str(&text, &format)
            .map_err(error)?
            .and_utc()
            .fixed_offset()
    } else {
        NaiveDate::parse_from_str(&text, &format)
            .map_err(error)?
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .fixed_offset()
    };
    nanos(time)
}

fn named_layout(name: &str) -> Option<&'static str> {
    Some(match name {
        "ANSIC" => "Mon Jan _2 15:04:05 2006",
        "RFC822" | "RFC822Z" => "02 Jan 06 15:04 -0700",
        "RFC850" => "Monday, 02-Jan-06 15:04:05 -0700",
        "RFC1123" | "RFC1123Z" => "Mon, 02 Jan 2006 15:04:05 -0700",
        "RFC3339" | "RFC3339Nano" => "2006-01-02T15:04:05.999999999Z07:00",
        "DateTime" => "2006-01-02 15:04:05",
        "DateOnly" => "2006-01-02",
        _ => return None,
    })
}

/// Go layout tokens and their chrono equivalents, longest first where they share a prefix.
const LAYOUT_TOKENS: [(&str, &str); 27] = [
    ("January", "%B"),
    ("Jan", "%b"),
    ("Monday", "%A"),
    ("Mon", "%a"),
    ("2006", "%Y"),
    ("Z07:00", "%:z"),
    ("Z0700", "%z"),
    ("-07:00", "%:z"),
    ("-0700", "%z"),
    (".999999999", "%.f"),
    (".000000000", "%.f"),
    (".999999", "%.f"),
    (".000000", "%.f"),
    (".999", "%.f"),
    (".000", "%.f"),
    ("01", "%m"),
    ("02", "%d"),
    ("_2", "%e"),
    ("06", "%y"),
    ("15", "%H"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("PM", "%p"),
    ("pm", "%P"),
    ("1", "%m"),
    ("2", "%d"),
];

fn chrono_format(layout: &str) -> Result<String, String> {
    if layout.contains("MST") {
        return Err("time zone abbreviations (MST) are not supported in layouts".into());
    }
    let mut format = String::new();
    let mut rest = layout;
    while let Some(c) = rest.chars().next() {
        match LAYOUT_TOKENS
            .iter()
            .find(|(token, _)| rest.starts_with(token))
        {
            Some((token, chrono)) => {
                format.push_str(chrono);
                rest = &rest[token.len()..];
            }
            None => {
                if c == '%' {
                    format.push('%');
                }
                format.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    Ok(format)
}

/// `time.parse_duration_ns("1h30m")`: Go's duration syntax (`ns`, `us`/`µs`, `ms`, `s`, `m`,
/// `h`, fractions allowed, a leading sign).
pub(super) fn parse_duration_ns(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    let text = string(text, 1)?;
    let invalid = || format!("invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0.into());
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let amount_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {text:?}"))?;
        let amount: f64 = rest[..amount_end].parse().map_err(|_| invalid())?;
        rest = &rest[amount_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => return Err(format!("unknown unit {other:?} in duration {text:?}")),
        };
        rest = &rest[unit_end..];
        total += amount * unit;
    }
    if total > i64::MAX as f64 {
        return Err(format!("duration {text:?} is out of range"));
    }
    let total = total.round() as i64;
    Ok(if negative { -total } else { total }.into())
}

/// The time `x` stands for: nanoseconds, or `[nanoseconds, zone]`.
fn zoned(x: &Value) -> Result<DateTime<FixedOffset>, String> {
    let (ns, zone) = match x {
        Value::Array(pair) => match pair.as_slice() {
            [ns, zone] => (integer(ns, 1)?, string(zone, 1)?),
            _ => return Err("operand 1 must be a number or [number, zone]".into()),
        },
        ns => (integer(ns, 1)?, "UTC"),
    };
    let utc = DateTime::from_timestamp_nanos(ns);
    let offset = match zone {
        "" | "UTC" => Utc.fix(),
        "Local" => Local.offset_from_utc_datetime(&utc.naive_utc()).fix(),
        other => {
            return Err(format!(
                "time zone {other:?} is not supported (UTC and Local are)"
            ));
        }
    };
    Ok(utc.with_timezone(&offset))
}

pub(super) fn date(args: &[Value]) -> Result<Value, String> {
    let [x] = arity(args)?;
    let time = zoned(x)?;
    Ok(serde_json::json!([time.year(), time.month(), time.day()]))
}

pub(super) fn clock(args: &[Value]) -> Result<Value, String> {
    let [x] = arity(args)?;
    let time = zoned(x)?;
    Ok(serde_json::json!([
        time.hour(),
        time.minute(),
        time.second()
    ]))
}

pub(super) fn weekday(args: &[Value]) -> Result<Value, String> {
    let [x] = arity(args)?;
    Ok(zoned(x)?.format("%A").to_string().into())
}

/// `time.add_date(ns, years, months, days)`, normalised as Go's `AddDate` (31 January plus
/// one month is 3 March, or 2 March in a leap year).
pub(super) fn add_date(args: &[Value]) -> Result<Value, String> {
    let [ns, years, months, days] = arity(args)?;
    let out_of_range = || "the date is out of range".to_owned();
    let time = DateTime::from_timestamp_nanos(integer(ns, 1)?);
    let month_index = i64::from(time.month0())
        .checked_add(integer(months, 3)?)
        .ok_or_else(out_of_range)?;
    let year = i64::from(time.year())
        .checked_add(integer(years, 2)?)
        .and_then(|year| year.checked_add(month_index.div_euclid(12)))
        .and_then(|year| i32::try_from(year).ok())
        .ok_or_else(out_of_range)?;
    let month = u32::try_from(month_index.rem_euclid(12) + 1).map_err(|err| err.to_string())?;
    let offset_days = (i64::from(time.day()) - 1)
        .checked_add(integer(days, 4)?)
        .and_then(chrono::TimeDelta::try_days)
        .ok_or_else(out_of_range)?;
    let date = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|first| first.checked_add_signed(offset_days))
        .ok_or_else(out_of_range)?;
    nanos(date.and_time(time.time()).and_utc().fixed_offset())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOV_25_2026: i64 = 1_795_633_200_000_000_000; // 2026-11-25T19:00:00Z, a Wednesday

    #[test]
    fn now_is_a_recent_timestamp() {
        let now = now_ns(&[])
            .ok()
            .and_then(|now| now.as_i64())
            .unwrap_or_default();
        assert!(now > 1_700_000_000_000_000_000, "{now}");
    }

    #[test]
    fn parses_timestamps() {
        assert_eq!(
            parse_rfc3339_ns(&[json!("2026-11-25T19:00:00Z")]),
            Ok(json!(NOV_25_2026))
        );
        assert_eq!(
            parse_rfc3339_ns(&[json!("2026-11-25T20:00:00+01:00")]),
            Ok(json!(NOV_25_2026))
        );
        assert!(parse_rfc3339_ns(&[json!("yesterday")]).is_err());
        assert_eq!(
            parse_ns(&[
                json!("2006-01-02T15:04:05Z07:00"),
                json!("2026-11-25T19:00:00Z")
            ]),
            Ok(json!(NOV_25_2026))
        );
        assert_eq!(
            parse_ns(&[json!("RFC3339"), json!("2026-11-25T19:00:00.5Z")]),
            Ok(json!(NOV_25_2026 + 500_000_000))
        );
        assert_eq!(
            parse_ns(&[json!("02 Jan 2006 15:04"), json!("25 Nov 2026 19:00")]),
            Ok(json!(NOV_25_2026))
        );
        assert_eq!(
            parse_ns(&[json!("2006-01-02"), json!("2026-11-25")]),
            Ok(json!(NOV_25_2026 - 19 * 3_600_000_000_000))
        );
        assert!(
            parse_ns(&[json!("2006-01-02"), json!("25/11/2026")])
                .unwrap_err()
                .contains("does not match")
        );
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(
            parse_duration_ns(&[json!("1h30m")]),
            Ok(json!(5_400_000_000_000i64))
        );
        assert_eq!(
            parse_duration_ns(&[json!("1.5s")]),
            Ok(json!(1_500_000_000))
        );
        assert_eq!(
            parse_duration_ns(&[json!("-300ms")]),
            Ok(json!(-300_000_000))
        );
        assert_eq!(parse_duration_ns(&[json!("2us")]), Ok(json!(2000)));
        assert_eq!(parse_duration_ns(&[json!("0")]), Ok(json!(0)));
        assert!(
            parse_duration_ns(&[json!("10")])
                .unwrap_err()
                .contains("missing unit")
        );
        assert!(
            parse_duration_ns(&[json!("3d")])
                .unwrap_err()
                .contains("unknown unit")
        );
    }

    #[test]
    fn calendar_fields() {
        assert_eq!(date(&[json!(NOV_25_2026)]), Ok(json!([2026, 11, 25])));
        assert_eq!(
            date(&[json!([NOV_25_2026, "UTC"])]),
            Ok(json!([2026, 11, 25]))
        );
        assert_eq!(clock(&[json!(NOV_25_2026)]), Ok(json!([19, 0, 0])));
        assert_eq!(weekday(&[json!(NOV_25_2026)]), Ok(json!("Wednesday")));
        assert!(
            date(&[json!([NOV_25_2026, "Europe/Paris"])])
                .unwrap_err()
                .contains("not supported")
        );
    }

    #[test]
    fn adds_dates_like_go() {
        let jan_31 = parse_rfc3339_ns(&[json!("2027-01-31T10:00:00Z")]).unwrap_or_default();
        let plus_month = add_date(&[jan_31.clone(), json!(0), json!(1), json!(0)]);
        assert_eq!(
            plus_month,
            parse_rfc3339_ns(&[json!("2027-03-03T10:00:00Z")])
        );
        let minus = add_date(&[jan_31, json!(-1), json!(-2), json!(1)]);
        assert_eq!(minus, parse_rfc3339_ns(&[json!("2025-12-02T10:00:00Z")]));
        for huge in [json!(i64::MAX), json!(i64::MIN)] {
            for position in 1..4 {
                let mut args = vec![json!(0), json!(0), json!(0), json!(0)];
                args[position] = huge.clone();
                assert!(add_date(&args).is_err(), "{args:?}");
            }
        }
    }
}
