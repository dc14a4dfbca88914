//! Glob builtins: `glob.match(pattern, delimiters, text)` and `glob.quote_meta`. Patterns:
//! `*` (within delimiters), `**` (across them), `?`, `[abc]`, `[a-z]`, `[!…]`, `{a,b}`, `\`.

use regex::Regex;
use serde_json::Value;

use super::args::{arity, kind, string, strings};

/// The characters `glob.quote_meta` escapes.
const META: &str = "*?[]{}\\";

pub(super) fn is_match(args: &[Value]) -> Result<Value, String> {
    let [pattern, delimiters, text] = arity(args)?;
    let delimiters: Vec<&str> = match delimiters {
        Value::Null => Vec::new(),
        Value::Array(items) if items.is_empty() => vec!["."],
        Value::Array(_) => strings(delimiters, 2)?,
        other => {
            return Err(format!(
                "operand 2 must be an array or null, got {}",
                kind(other)
            ));
        }
    };
    let regex = to_regex(string(pattern, 1)?, &delimiters)?;
    Ok(regex.is_match(string(text, 3)?).into())
}

pub(super) fn quote_meta(args: &[Value]) -> Result<Value, String> {
    let [pattern] = arity(args)?;
    let mut quoted = String::new();
    for c in string(pattern, 1)?.chars() {
        if META.contains(c) {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    Ok(quoted.into())
}

/// The glob as an anchored regular expression.
fn to_regex(pattern: &str, delimiters: &[&str]) -> Result<Regex, String> {
    let not_delimiter = if delimiters.is_empty() {
        "(?s:.)".to_owned()
    } else {
        format!("[^{}]", regex::escape(&delimiters.concat()))
    };
    let mut out = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut open_braces = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str("(?s:.)*");
            }
            '*' => out.push_str(&format!("{not_delimiter}*")),
            '?' => out.push_str(&not_delimiter),
            '\\' => match chars.next() {
                Some(escaped) => out.push_str(&regex::escape(&escaped.to_string())),
                None => return Err(format!("pattern {pattern:?} ends with a lone backslash")),
            },
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    out.push('^');
                }
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some('-') => out.push('-'),
                        Some(member) => out.push_str(&regex::escape(&member.to_string())),
                        None => return Err(format!("unclosed `[` in pattern {pattern:?}")),
                    }
                }
                out.push(']');
            }
            '{' => {
                open_braces += 1;
                out.push_str("(?:");
            }
            ',' if open_braces > 0 => out.push('|'),
            '}' if open_braces > 0 => {
                open_braces -= 1;
                out.push(')');
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    if open_braces > 0 {
        return Err(format!("unclosed `{{` in pattern {pattern:?}"));
    }
    out.push('$');
    Regex::new(&out).map_err(|err| format!("invalid pattern {pattern:?}: {err}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn matches(pattern: &str, delimiters: Value, text: &str) -> bool {
        is_match(&[json!(pattern), delimiters, json!(text)]) == Ok(json!(true))
    }

    #[test]
    fn stars_respect_delimiters() {
        assert!(matches("*.github.com", json!([]), "api.github.com"));
        assert!(!matches("*.github.com", json!([]), "a.b.github.com"));
        assert!(matches("**.github.com", json!([]), "a.b.github.com"));
        assert!(matches("*:*", json!([":"]), "ab:cd"));
        assert!(matches("*", Value::Null, "a.b/c"));
        assert!(matches("registry.io/*", json!(["/"]), "registry.io/nginx"));
        assert!(!matches(
            "registry.io/*",
            json!(["/"]),
            "registry.io/a/nginx"
        ));
    }

    #[test]
    fn classes_alternatives_and_escapes() {
        assert!(matches("v?.[0-9]", json!([]), "v1.5"));
        assert!(matches("[!a]at", json!([]), "cat"));
        assert!(!matches("[!c]at", json!([]), "cat"));
        assert!(matches("{nginx,redis}:*", json!([]), "redis:7"));
        assert!(matches("\\*", json!([]), "*"));
        assert!(!matches("\\*", json!([]), "x"));
        assert!(
            is_match(&[json!("[ab"), json!([]), json!("a")])
                .unwrap_err()
                .contains("unclosed")
        );
    }

    #[test]
    fn quotes_meta_characters() {
        assert_eq!(
            quote_meta(&[json!("*.github.com")]),
            Ok(json!("\\*.github.com"))
        );
        assert_eq!(
            quote_meta(&[json!("a[b]{c}?")]),
            Ok(json!("a\\[b\\]\\{c\\}\\?"))
        );
    }
}
