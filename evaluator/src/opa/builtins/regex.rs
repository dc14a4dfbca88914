//! Regular-expression builtins (RE2 syntax, which the `regex` crate shares): `regex.match`,
//! `regex.is_valid`, `regex.split`, `regex.find_n`, `regex.find_all_string_submatch_n`,
//! `regex.replace`.

use regex::Regex;
use serde_json::Value;

use super::args::{arity, integer, string};

fn compile(pattern: &Value) -> Result<Regex, String> {
    let pattern = string(pattern, 1)?;
    Regex::new(pattern).map_err(|err| format!("invalid pattern {pattern:?}: {err}"))
}

/// How many matches `n` asks for: all of them when negative.
fn limit(n: &Value) -> Result<usize, String> {
    Ok(usize::try_from(integer(n, 3)?).unwrap_or(usize::MAX))
}

pub(super) fn is_match(args: &[Value]) -> Result<Value, String> {
    let [pattern, text] = arity(args)?;
    Ok(compile(pattern)?.is_match(string(text, 2)?).into())
}

pub(super) fn is_valid(args: &[Value]) -> Result<Value, String> {
    let [pattern] = arity(args)?;
    Ok(pattern
        .as_str()
        .is_some_and(|pattern| Regex::new(pattern).is_ok())
        .into())
}

pub(super) fn split(args: &[Value]) -> Result<Value, String> {
    let [pattern, text] = arity(args)?;
    let regex = compile(pattern)?;
    Ok(regex
        .split(string(text, 2)?)
        .map(Value::from)
        .collect::<Vec<_>>()
        .into())
}

pub(super) fn find_n(args: &[Value]) -> Result<Value, String> {
    let [pattern, text, n] = arity(args)?;
    let regex = compile(pattern)?;
    let found: Vec<Value> = regex
        .find_iter(string(text, 2)?)
        .take(limit(n)?)
        .map(|found| found.as_str().into())
        .collect();
    Ok(found.into())
}

/// Each match with its groups (`""` for a group that did not take part).
pub(super) fn find_all_string_submatch_n(args: &[Value]) -> Result<Value, String> {
    let [pattern, text, n] = arity(args)?;
    let regex = compile(pattern)?;
    let found: Vec<Value> = regex
        .captures_iter(string(text, 2)?)
        .take(limit(n)?)
        .map(|captures| {
            captures
                .iter()
                .map(|group| group.map_or("", |group| group.as_str()).into())
                .collect::<Vec<Value>>()
                .into()
        })
        .collect();
    Ok(found.into())
}

/// `regex.replace(text, pattern, replacement)`; `$1` and `${name}` expand to groups.
pub(super) fn replace(args: &[Value]) -> Result<Value, String> {
    let [text, pattern, replacement] = arity(args)?;
    let pattern = string(pattern, 2)?;
    let regex = Regex::new(pattern).map_err(|err| format!("invalid pattern {pattern:?}: {err}"))?;
    Ok(regex
        .replace_all(string(text, 1)?, string(replacement, 3)?)
        .into_owned()
        .into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn matching_and_validity() {
        assert_eq!(
            is_match(&[json!("^nginx:[0-9.]+$"), json!("nginx:1.27")]),
            Ok(json!(true))
        );
        assert_eq!(is_match(&[json!("^a$"), json!("b")]), Ok(json!(false)));
        assert!(
            is_match(&[json!("("), json!("b")])
                .unwrap_err()
                .contains("invalid pattern")
        );
        assert_eq!(is_valid(&[json!("[a-z]+")]), Ok(json!(true)));
        assert_eq!(is_valid(&[json!("[a-z")]), Ok(json!(false)));
        assert_eq!(is_valid(&[json!(3)]), Ok(json!(false)));
    }

    #[test]
    fn splitting_finding_replacing() {
        assert_eq!(
            split(&[json!("[,;]"), json!("a,b;c")]),
            Ok(json!(["a", "b", "c"]))
        );
        assert_eq!(
            find_n(&[json!("[0-9]+"), json!("a1b22c333"), json!(2)]),
            Ok(json!(["1", "22"]))
        );
        assert_eq!(
            find_n(&[json!("[0-9]+"), json!("a1b22c333"), json!(-1)]),
            Ok(json!(["1", "22", "333"]))
        );
        assert_eq!(
            find_all_string_submatch_n(&[json!("(\\w+)=(\\w+)?"), json!("a=1 b="), json!(-1)]),
            Ok(json!([["a=1", "a", "1"], ["b=", "b", ""]]))
        );
        assert_eq!(
            replace(&[json!("v1.2"), json!("v(\\d)"), json!("version $1")]),
            Ok(json!("version 1.2"))
        );
    }
}
