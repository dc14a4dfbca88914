//! String builtins: `concat`, `contains`, `startswith`, `endswith`, `lower`, `upper`, `split`,
//! `replace`, `strings.replace_n`, `strings.reverse`, the `trim` family, `sprintf`,
//! `format_int`, `indexof`, `indexof_n`, `substring`, `strings.any_prefix_match`,
//! `strings.any_suffix_match`.

use serde_json::Value;

use super::args::{arity, integer, string, strings};

pub(super) fn concat(args: &[Value]) -> Result<Value, String> {
    let [delimiter, items] = arity(args)?;
    Ok(strings(items, 2)?.join(string(delimiter, 1)?).into())
}

pub(super) fn contains(args: &[Value]) -> Result<Value, String> {
    let [text, search] = arity(args)?;
    Ok(string(text, 1)?.contains(string(search, 2)?).into())
}

pub(super) fn startswith(args: &[Value]) -> Result<Value, String> {
    let [text, prefix] = arity(args)?;
    Ok(string(text, 1)?.starts_with(string(prefix, 2)?).into())
}

pub(super) fn endswith(args: &[Value]) -> Result<Value, String> {
    let [text, suffix] = arity(args)?;
    Ok(string(text, 1)?.ends_with(string(suffix, 2)?).into())
}

pub(super) fn lower(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    Ok(string(text, 1)?.to_lowercase().into())
}

pub(super) fn upper(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    Ok(string(text, 1)?.to_uppercase().into())
}

/// Go's `strings.Split`: an empty delimiter splits into characters.
pub(super) fn split(args: &[Value]) -> Result<Value, String> {
    let [text, delimiter] = arity(args)?;
    let (text, delimiter) = (string(text, 1)?, string(delimiter, 2)?);
    let parts: Vec<Value> = if delimiter.is_empty() {
        text.chars().map(|c| c.to_string().into()).collect()
    } else {
        text.split(delimiter).map(Value::from).collect()
    };
    Ok(parts.into())
}

pub(super) fn replace(args: &[Value]) -> Result<Value, String> {
    let [text, old, new] = arity(args)?;
    Ok(string(text, 1)?
        .replace(string(old, 2)?, string(new, 3)?)
        .into())
}

/// `strings.replace_n(patterns, text)`: at each position the first pattern (in key order) that
/// matches is replaced, like Go's `strings.Replacer`.
pub(super) fn replace_n(args: &[Value]) -> Result<Value, String> {
    let [patterns, text] = arity(args)?;
    let patterns = patterns
        .as_object()
        .ok_or("operand 1 must be an object of strings")?;
    let pairs = patterns
        .iter()
        .filter(|(old, _)| !old.is_empty())
        .map(|(old, new)| Ok((old.as_str(), string(new, 1)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let mut rest = string(text, 2)?;
    let mut out = String::with_capacity(rest.len());
    while let Some(c) = rest.chars().next() {
        match pairs.iter().find(|(old, _)| rest.starts_with(old)) {
            Some((old, new)) => {
                out.push_str(new);
                rest = &rest[old.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    Ok(out.into())
}

pub(super) fn reverse(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    Ok(string(text, 1)?.chars().rev().collect::<String>().into())
}

fn cut_set(args: &[Value]) -> Result<(&str, Vec<char>), String> {
    let [text, cutset] = arity(args)?;
    Ok((string(text, 1)?, string(cutset, 2)?.chars().collect()))
}

pub(super) fn trim(args: &[Value]) -> Result<Value, String> {
    let (text, cutset) = cut_set(args)?;
    Ok(text.trim_matches(cutset.as_slice()).into())
}

pub(super) fn trim_left(args: &[Value]) -> Result<Value, String> {
    let (text, cutset) = cut_set(args)?;
    Ok(text.trim_start_matches(cutset.as_slice()).into())
}

pub(super) fn trim_right(args: &[Value]) -> Result<Value, String> {
    let (text, cutset) = cut_set(args)?;
    Ok(text.trim_end_matches(cutset.as_slice()).into())
}

pub(super) fn trim_prefix(args: &[Value]) -> Result<Value, String> {
    let [text, prefix] = arity(args)?;
    let text = string(text, 1)?;
    Ok(text.strip_prefix(string(prefix, 2)?).unwrap_or(text).into())
}

pub(super) fn trim_suffix(args: &[Value]) -> Result<Value, String> {
    let [text, suffix] = arity(args)?;
    let text = string(text, 1)?;
    Ok(text.strip_suffix(string(suffix, 2)?).unwrap_or(text).into())
}

pub(super) fn trim_space(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    Ok(string(text, 1)?.trim().into())
}

/// `format_int(number, base)`: the number truncated toward zero, in base 2, 8, 10 or 16.
pub(super) fn format_int(args: &[Value]) -> Result<Value, String> {
    let [number, base] = arity(args)?;
    let number = number.as_f64().ok_or("operand 1 must be a number")?.trunc();
    let magnitude = number.abs() as u128;
    let digits = match integer(base, 2)? {
        2 => format!("{magnitude:b}"),
        8 => format!("{magnitude:o}"),
        10 => format!("{magnitude}"),
        16 => format!("{magnitude:x}"),
        other => {
            return Err(format!(
                "operand 2 must be one of 2, 8, 10, 16, got {other}"
            ));
        }
    };
    let sign = if number < 0.0 { "-" } else { "" };
    Ok(format!("{sign}{digits}").into())
}

/// `indexof(text, search)`: the index in characters of the first match, or -1.
pub(super) fn indexof(args: &[Value]) -> Result<Value, String> {
    let [text, search] = arity(args)?;
    let text = string(text, 1)?;
    Ok(match text.find(string(search, 2)?) {
        Some(byte) => text[..byte].chars().count() as i64,
        None => -1,
    }
    .into())
}

/// `indexof_n(text, search)`: the indexes in characters of every match, overlapping ones too.
pub(super) fn indexof_n(args: &[Value]) -> Result<Value, String> {
    let [text, search] = arity(args)?;
    let (text, search) = (string(text, 1)?, string(search, 2)?);
    let chars: Vec<char> = text.chars().collect();
    let search: Vec<char> = search.chars().collect();
    if search.is_empty() {
        return Err("empty search string".into());
    }
    let found: Vec<Value> = chars
        .windows(search.len())
        .enumerate()
        .filter(|(_, window)| *window == search.as_slice())
        .map(|(index, _)| Value::from(index))
        .collect();
    Ok(found.into())
}

/// A string, or an array (or set) of strings, as a list.
fn one_or_many(value: &Value, position: usize) -> Result<Vec<&str>, String> {
    match value {
        Value::String(text) => Ok(vec![text.as_str()]),
        other => strings(other, position),
    }
}

/// `strings.any_prefix_match(search, base)`: whether any of `search` starts with any of `base`.
pub(super) fn any_prefix_match(args: &[Value]) -> Result<Value, String> {
    let [search, base] = arity(args)?;
    let (search, base) = (one_or_many(search, 1)?, one_or_many(base, 2)?);
    Ok(search
        .iter()
        .any(|text| base.iter().any(|prefix| text.starts_with(prefix)))
        .into())
}

/// `strings.any_suffix_match(search, base)`: whether any of `search` ends with any of `base`.
pub(super) fn any_suffix_match(args: &[Value]) -> Result<Value, String> {
    let [search, base] = arity(args)?;
    let (search, base) = (one_or_many(search, 1)?, one_or_many(base, 2)?);
    Ok(search
        .iter()
        .any(|text| base.iter().any(|suffix| text.ends_with(suffix)))
        .into())
}

/// `substring(text, offset, length)` in characters; a negative length runs to the end.
pub(super) fn substring(args: &[Value]) -> Result<Value, String> {
    let [text, offset, length] = arity(args)?;
    let text = string(text, 1)?;
    let offset = usize::try_from(integer(offset, 2)?).map_err(|_| "negative offset".to_owned())?;
    let chars = text.chars().skip(offset);
    let result: String = match usize::try_from(integer(length, 3)?) {
        Ok(length) => chars.take(length).collect(),
        Err(_) => chars.collect(),
    };
    Ok(result.into())
}

/// `sprintf(format, values)` with Go's `fmt` verbs. As in OPA, whole numbers format as
/// integers, other numbers as floats, strings as themselves and anything else as its Rego text
/// (`["a", 1]`, `{"k": true}`).
pub(super) fn sprintf(args: &[Value]) -> Result<Value, String> {
    let [format, values] = arity(args)?;
    let format = string(format, 1)?;
    let values = values.as_array().ok_or("operand 2 must be an array")?;
    Ok(go_format(format, &values.iter().map(Arg::from).collect::<Vec<_>>()).into())
}

/// A `sprintf` operand as Go's `fmt` sees it.
#[derive(Debug, Clone)]
enum Arg {
    Int(i128),
    Float(f64),
    Str(String),
}

impl From<&Value> for Arg {
    fn from(value: &Value) -> Arg {
        match value {
            Value::String(text) => Arg::Str(text.clone()),
            Value::Number(number) => match (number.as_i64(), number.as_u64()) {
                (Some(int), _) => Arg::Int(int.into()),
                (_, Some(int)) => Arg::Int(int.into()),
                _ => Arg::Float(number.as_f64().unwrap_or_default()),
            },
            other => Arg::Str(rego_text(other)),
        }
    }
}

impl Arg {
    fn type_name(&self) -> &'static str {
        match self {
            Arg::Int(_) => "int",
            Arg::Float(_) => "float64",
            Arg::Str(_) => "string",
        }
    }
}

/// A value as Rego prints it: JSON with `", "` and `": "` separators.
fn rego_text(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(rego_text).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("{}: {}", Value::from(key.as_str()), rego_text(value)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

/// The largest width or precision `sprintf` honours (Go's limit).
const MAX_WIDTH: usize = 1_000_000;

/// One `%` directive: flags, width, precision.
#[derive(Debug, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

fn go_format(format: &str, args: &[Arg]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        spec.width = digits(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(digits(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        // A width or precision over a million is refused (the operand used up), not honoured.
        let too_large = |value: Option<usize>| value.is_some_and(|value| value > MAX_WIDTH);
        match args.get(next_arg) {
            Some(_) if too_large(spec.width) => out.push_str("%!(BADWIDTH)"),
            Some(_) if too_large(spec.precision) => out.push_str("%!(BADPREC)"),
            Some(arg) => out.push_str(&pad(&spec, format_arg(verb, arg, &spec))),
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
        next_arg += 1;
    }
    if next_arg < args.len() {
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|arg| {
                format!(
                    "{}={}",
                    arg.type_name(),
                    format_arg('v', arg, &Spec::default())
                )
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut value: Option<usize> = None;
    while let Some(digit) = chars.peek().and_then(|c| c.to_digit(10)) {
        value = Some(
            value
                .unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(digit as usize),
        );
        chars.next();
    }
    value
}

fn format_arg(verb: char, arg: &Arg, spec: &Spec) -> String {
    let sign = |negative: bool| match (negative, spec.plus) {
        (true, _) => "-",
        (false, true) => "+",
        (false, false) => "",
    };
    match (verb, arg) {
        ('v' | 'd', Arg::Int(int)) => format!("{}{}", sign(*int < 0), int.unsigned_abs()),
        ('b', Arg::Int(int)) => format!("{}{:b}", sign(*int < 0), int.unsigned_abs()),
        ('o', Arg::Int(int)) => format!("{}{:o}", sign(*int < 0), int.unsigned_abs()),
        ('x', Arg::Int(int)) => format!("{}{:x}", sign(*int < 0), int.unsigned_abs()),
        ('X', Arg::Int(int)) => format!("{}{:X}", sign(*int < 0), int.unsigned_abs()),
        ('c', Arg::Int(int)) => u32::try_from(*int)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}')
            .to_string(),
        ('f' | 'F', Arg::Float(float)) => {
            let text = format!("{:.*}", spec.precision.unwrap_or(6), float.abs());
            format!("{}{text}", sign(float.is_sign_negative()))
        }
        ('e' | 'E', Arg::Float(float)) => {
            let text = go_exponent(&format!("{:.*e}", spec.precision.unwrap_or(6), float.abs()));
            let text = if verb == 'E' {
                text.to_uppercase()
            } else {
                text
            };
            format!("{}{text}", sign(float.is_sign_negative()))
        }
        ('v' | 'g' | 'G', Arg::Float(float)) => {
            format!(
                "{}{}",
                sign(float.is_sign_negative()),
                go_shortest(float.abs())
            )
        }
        ('v' | 's', Arg::Str(text)) => match spec.precision {
            Some(precision) => text.chars().take(precision).collect(),
            None => text.clone(),
        },
        ('q', Arg::Str(text)) => Value::from(text.as_str()).to_string(),
        ('x', Arg::Str(text)) => hex::encode(text),
        ('X', Arg::Str(text)) => hex::encode_upper(text),
        ('t', Arg::Str(text)) if text == "true" || text == "false" => text.clone(),
        (verb, arg) => format!(
            "%!{verb}({}={})",
            arg.type_name(),
            format_arg('v', arg, &Spec::default())
        ),
    }
}

/// Pads to the width: spaces on the left (right with `-`), zeros after the sign with `0`.
fn pad(spec: &Spec, text: String) -> String {
    let Some(width) = spec.width else {
        return text;
    };
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let fill = width - len;
    if spec.minus {
        format!("{text}{}", " ".repeat(fill))
    } else if spec.zero && text.starts_with(['-', '+']) {
        format!("{}{}{}", &text[..1], "0".repeat(fill), &text[1..])
    } else if spec.zero {
        format!("{}{text}", "0".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

/// Go's `%v` for a non-negative float: the shortest digits, in exponent form when the exponent
/// is below -4 or at least 6 (`1e+06`, `0.0001`, `1.5e-05`).
fn go_shortest(float: f64) -> String {
    if float == 0.0 {
        return "0".into();
    }
    let scientific = format!("{float:e}");
    let exponent: i32 = scientific
        .split_once('e')
        .and_then(|(_, exponent)| exponent.parse().ok())
        .unwrap_or(0);
    if !(-4..6).contains(&exponent) {
        go_exponent(&scientific)
    } else {
        format!("{float}")
    }
}

/// Rust's `1.5e6` as Go writes it: `1.5e+06`.
fn go_exponent(scientific: &str) -> String {
    match scientific.split_once('e') {
        Some((mantissa, exponent)) => {
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.abs())
        }
        None => scientific.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call(builtin: super::super::Builtin, args: Value) -> Value {
        let args = args.as_array().cloned().unwrap_or_default();
        builtin(&args).unwrap_or_else(|err| panic!("{args:?}: {err}"))
    }

    #[test]
    fn basic_string_operations() {
        assert_eq!(call(concat, json!([", ", ["a", "b"]])), json!("a, b"));
        assert_eq!(call(contains, json!(["nginx:1.27", ":"])), json!(true));
        assert_eq!(
            call(startswith, json!(["registry.io/x", "registry.io/"])),
            json!(true)
        );
        assert_eq!(call(endswith, json!(["x.yaml", ".json"])), json!(false));
        assert_eq!(call(lower, json!(["ÀB"])), json!("àb"));
        assert_eq!(call(upper, json!(["ab"])), json!("AB"));
        assert_eq!(call(split, json!(["a.b.c", "."])), json!(["a", "b", "c"]));
        assert_eq!(call(split, json!(["ab", ""])), json!(["a", "b"]));
        assert_eq!(call(replace, json!(["a-b-c", "-", "+"])), json!("a+b+c"));
        assert_eq!(
            call(replace_n, json!([{"<": "&lt;", ">": "&gt;"}, "<a>"])),
            json!("&lt;a&gt;")
        );
        assert_eq!(call(reverse, json!(["abc"])), json!("cba"));
        assert!(concat(&[json!(","), json!("not a list")]).is_err());
    }

    #[test]
    fn trimming() {
        assert_eq!(call(trim, json!(["xxhixx", "x"])), json!("hi"));
        assert_eq!(call(trim_left, json!(["xxhix", "x"])), json!("hix"));
        assert_eq!(call(trim_right, json!(["xhixx", "x"])), json!("xhi"));
        assert_eq!(call(trim_prefix, json!(["v1.2", "v"])), json!("1.2"));
        assert_eq!(call(trim_suffix, json!(["a.json", ".json"])), json!("a"));
        assert_eq!(call(trim_space, json!(["  a \n"])), json!("a"));
    }

    #[test]
    fn numbers_and_positions() {
        assert_eq!(call(format_int, json!([255, 16])), json!("ff"));
        assert_eq!(call(format_int, json!([-5.9, 2])), json!("-101"));
        assert!(format_int(&[json!(1), json!(7)]).is_err());
        assert_eq!(call(indexof, json!(["héllo", "l"])), json!(2));
        assert_eq!(call(indexof, json!(["abc", "z"])), json!(-1));
        assert_eq!(call(indexof_n, json!(["aéaéa", "a"])), json!([0, 2, 4]));
        assert_eq!(call(indexof_n, json!(["aaa", "aa"])), json!([0, 1]));
        assert!(indexof_n(&[json!("a"), json!("")]).is_err());
        let prefix = |search: Value, base: Value| call(any_prefix_match, json!([search, base]));
        assert_eq!(
            prefix(
                json!("registry.io/nginx"),
                json!(["docker.io/", "registry.io/"])
            ),
            json!(true)
        );
        assert_eq!(prefix(json!(["a", "b"]), json!("c")), json!(false));
        let suffix = |search: Value, base: Value| call(any_suffix_match, json!([search, base]));
        assert_eq!(
            suffix(json!(["x.yaml", "y.json"]), json!(".json")),
            json!(true)
        );
        assert_eq!(suffix(json!("x.yaml"), json!([".json"])), json!(false));
        assert_eq!(call(substring, json!(["héllo", 1, 3])), json!("éll"));
        assert_eq!(call(substring, json!(["hello", 2, -1])), json!("llo"));
        assert_eq!(call(substring, json!(["hello", 9, 2])), json!(""));
        assert!(substring(&[json!("a"), json!(-1), json!(1)]).is_err());
    }

    #[test]
    fn sprintf_follows_go_fmt() {
        let cases = [
            (
                json!(["%s has %d replicas", ["web", 3]]),
                "web has 3 replicas",
            ),
            (
                json!(["%v and %v", [["a", 1], {"k": true}]]),
                r#"["a", 1] and {"k": true}"#,
            ),
            (
                json!(["%v %v %v", [1.5, 1000000.5, 0.00001]]),
                "1.5 1.0000005e+06 1e-05",
            ),
            (
                json!(["%.2f|%5d|%-4s|%05d|%x", [1.23456, 42, "ab", -7, 255]]),
                "1.23|   42|ab  |-0007|ff",
            ),
            (json!(["%q %e", ["a\"b", 1234.5]]), r#""a\"b" 1.234500e+03"#),
            (json!(["100%% %s", ["sure"]]), "100% sure"),
            (json!(["%d", ["x"]]), "%!d(string=x)"),
            (json!(["%s %s", ["one"]]), "one %!s(MISSING)"),
            (json!(["%s", ["one", 2]]), "one%!(EXTRA int=2)"),
            (json!(["%v", [true]]), "true"),
            (
                json!(["%2000000d|%.2000000f", [1, 1.5]]),
                "%!(BADWIDTH)|%!(BADPREC)",
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(call(sprintf, args.clone()), json!(expected), "{args}");
        }
    }
}
