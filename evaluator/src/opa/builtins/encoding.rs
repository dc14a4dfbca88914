//! Encoding builtins: `base64.*`, `base64url.*`, `hex.*` and `urlquery.*` (Go's
//! `url.QueryEscape`: unreserved characters kept, space as `+`, the rest `%XX`).

use base64::Engine as _;
use base64::prelude::{BASE64_STANDARD, BASE64_URL_SAFE, BASE64_URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use super::args::{arity, kind, string};

/// Decoded bytes as a string (invalid UTF-8 replaced, since Rego strings are text).
fn text(bytes: Vec<u8>) -> Value {
    String::from_utf8_lossy(&bytes).into_owned().into()
}

pub(super) fn base64_encode(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    Ok(BASE64_STANDARD.encode(string(value, 1)?).into())
}

pub(super) fn base64_decode(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    BASE64_STANDARD
        .decode(string(value, 1)?)
        .map(text)
        .map_err(|err| format!("not base64: {err}"))
}

pub(super) fn base64_is_valid(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    Ok(value
        .as_str()
        .is_some_and(|value| BASE64_STANDARD.decode(value).is_ok())
        .into())
}

pub(super) fn base64url_encode(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    Ok(BASE64_URL_SAFE.encode(string(value, 1)?).into())
}

pub(super) fn base64url_encode_no_pad(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    Ok(BASE64_URL_SAFE_NO_PAD.encode(string(value, 1)?).into())
}

/// URL-safe base64, padded or not.
pub(super) fn base64url_decode(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    let value = string(value, 1)?;
    BASE64_URL_SAFE
        .decode(value)
        .or_else(|_| BASE64_URL_SAFE_NO_PAD.decode(value))
        .map(text)
        .map_err(|err| format!("not URL-safe base64: {err}"))
}

pub(super) fn hex_encode(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    Ok(hex::encode(string(value, 1)?).into())
}

pub(super) fn hex_decode(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    hex::decode(string(value, 1)?)
        .map(text)
        .map_err(|err| format!("not hex: {err}"))
}

fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn query_unescape(value: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let escaped = tail
                    .get(..2)
                    .and_then(|pair| std::str::from_utf8(pair).ok())
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| format!("invalid escape in {value:?}"))?;
                bytes.push(escaped);
                rest = &tail[2..];
                continue;
            }
            other => bytes.push(other),
        }
        rest = tail;
    }
    String::from_utf8(bytes).map_err(|_| format!("{value:?} does not decode to UTF-8"))
}

pub(super) fn urlquery_encode(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    Ok(query_escape(string(value, 1)?).into())
}

pub(super) fn urlquery_decode(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    query_unescape(string(value, 1)?).map(Value::from)
}

/// `{"a": "1", "b": ["2", "3"]}` → `a=1&b=2&b=3` (keys sorted).
pub(super) fn urlquery_encode_object(args: &[Value]) -> Result<Value, String> {
    let [object] = arity(args)?;
    let object = object
        .as_object()
        .ok_or_else(|| format!("operand 1 must be an object, got {}", kind(object)))?;
    let mut pairs = Vec::new();
    for (key, value) in object {
        let values: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        for value in values {
            let value = value
                .as_str()
                .ok_or_else(|| format!("the value of {key:?} must be a string or strings"))?;
            pairs.push(format!("{}={}", query_escape(key), query_escape(value)));
        }
    }
    Ok(pairs.join("&").into())
}

/// `a=1&b=2&b=3` → `{"a": ["1"], "b": ["2", "3"]}`.
pub(super) fn urlquery_decode_object(args: &[Value]) -> Result<Value, String> {
    let [query] = arity(args)?;
    let mut object: Map<String, Value> = Map::new();
    for pair in string(query, 1)?.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let values = object
            .entry(query_unescape(key)?)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = values {
            values.push(query_unescape(value)?.into());
        }
    }
    Ok(object.into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn base64_variants() {
        assert_eq!(base64_encode(&[json!("hi?>")]), Ok(json!("aGk/Pg==")));
        assert_eq!(base64_decode(&[json!("aGk/Pg==")]), Ok(json!("hi?>")));
        assert!(
            base64_decode(&[json!("***")])
                .unwrap_err()
                .contains("not base64")
        );
        assert_eq!(base64_is_valid(&[json!("aGk=")]), Ok(json!(true)));
        assert_eq!(base64_is_valid(&[json!("aGk")]), Ok(json!(false)));
        assert_eq!(base64url_encode(&[json!("hi?>")]), Ok(json!("aGk_Pg==")));
        assert_eq!(
            base64url_encode_no_pad(&[json!("hi?>")]),
            Ok(json!("aGk_Pg"))
        );
        assert_eq!(base64url_decode(&[json!("aGk_Pg")]), Ok(json!("hi?>")));
        assert_eq!(base64url_decode(&[json!("aGk_Pg==")]), Ok(json!("hi?>")));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex_encode(&[json!("ok")]), Ok(json!("6f6b")));
        assert_eq!(hex_decode(&[json!("6f6b")]), Ok(json!("ok")));
        assert!(hex_decode(&[json!("zz")]).is_err());
    }

    #[test]
    fn url_queries() {
        assert_eq!(
            urlquery_encode(&[json!("a b&c=d/é")]),
            Ok(json!("a+b%26c%3Dd%2F%C3%A9"))
        );
        assert_eq!(
            urlquery_decode(&[json!("a+b%26c%3Dd%2F%C3%A9")]),
            Ok(json!("a b&c=d/é"))
        );
        assert!(
            urlquery_decode(&[json!("%zz")])
                .unwrap_err()
                .contains("invalid escape")
        );
        assert_eq!(
            urlquery_encode_object(&[json!({"b": ["2", "3"], "a": "x y"})]),
            Ok(json!("a=x+y&b=2&b=3"))
        );
        assert_eq!(
            urlquery_decode_object(&[json!("a=x+y&b=2&b=3&c")]),
            Ok(json!({"a": ["x y"], "b": ["2", "3"], "c": [""]}))
        );
    }
}
