//! Unit builtins: `units.parse` (SI and binary suffixes: `m` milli, `k`/`K`, `M`, `G`, … and
//! `Ki`, `Mi`, `Gi`, …) and `units.parse_bytes` (`KB`, `KiB`, `K`, …, the `B` optional).

use serde_json::Value;

use super::args::{arity, number, string};

/// The number before the unit and the unit, spaces and surrounding quotes removed.
fn split_unit(text: &str) -> Result<(f64, String), String> {
    let compact: String = text
        .trim_matches('"')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let end = compact
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(compact.len());
    let (digits, unit) = compact.split_at(end);
    let value = digits
        .parse::<f64>()
        .map_err(|_| format!("no amount in {text:?}"))?;
    Ok((value, unit.to_owned()))
}

pub(super) fn parse(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    let text = string(text, 1)?;
    let (value, unit) = split_unit(text)?;
    // `m` (milli) and `M` (mega) differ by case; the other units do not.
    let factor = match unit.as_str() {
        "" => 1.0,
        "m" => 1e-3,
        "M" => 1e6,
        unit => scale(&unit.to_ascii_lowercase())
            .ok_or_else(|| format!("unknown unit {unit:?} in {text:?}"))?,
    };
    number(value * factor)
}

pub(super) fn parse_bytes(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    let text = string(text, 1)?;
    let (value, unit) = split_unit(text)?;
    let unit = unit.to_ascii_lowercase();
    let factor = match unit.strip_suffix('b').unwrap_or(&unit) {
        "" => 1.0,
        "m" => 1e6,
        other => scale(other).ok_or_else(|| format!("unknown unit {unit:?} in {text:?}"))?,
    };
    number((value * factor).trunc())
}

/// The factor of a lower-case decimal (`k`, `g`…) or binary (`ki`, `mi`…) unit; `m` is not here, as
/// `units.parse` reads it as milli and `units.parse_bytes` as mega.
fn scale(unit: &str) -> Option<f64> {
    Some(match unit {
        "k" => 1e3,
        "g" => 1e9,
        "t" => 1e12,
        "p" => 1e15,
        "e" => 1e18,
        "ki" => 1024.0,
        "mi" => 1024f64.powi(2),
        "gi" => 1024f64.powi(3),
        "ti" => 1024f64.powi(4),
        "pi" => 1024f64.powi(5),
        "ei" => 1024f64.powi(6),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_si_and_binary_units() {
        assert_eq!(parse(&[json!("2Gi")]), Ok(json!(2147483648u64)));
        assert_eq!(parse(&[json!("500m")]), Ok(json!(0.5)));
        assert_eq!(parse(&[json!("5M")]), Ok(json!(5000000)));
        assert_eq!(parse(&[json!("1.5k")]), Ok(json!(1500)));
        assert_eq!(parse(&[json!("\"3 K\"")]), Ok(json!(3000)));
        assert_eq!(parse(&[json!("12")]), Ok(json!(12)));
        assert!(parse(&[json!("5Q")]).unwrap_err().contains("unknown unit"));
        assert!(parse(&[json!("Gi")]).unwrap_err().contains("no amount"));
    }

    #[test]
    fn parses_byte_units() {
        assert_eq!(parse_bytes(&[json!("10KB")]), Ok(json!(10000)));
        assert_eq!(parse_bytes(&[json!("1KiB")]), Ok(json!(1024)));
        assert_eq!(parse_bytes(&[json!("4mi")]), Ok(json!(4194304)));
        assert_eq!(parse_bytes(&[json!("1.5K")]), Ok(json!(1500)));
        assert_eq!(parse_bytes(&[json!("7")]), Ok(json!(7)));
        assert!(parse_bytes(&[json!("3 parsecs")]).is_err());
    }
}
