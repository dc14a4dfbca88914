//! Serialisation builtins: `json.marshal`, `json.unmarshal`, `json.is_valid` and their `yaml.*`
//! counterparts.

use serde_json::Value;

use super::{arity, string};

/// Compact JSON with object keys sorted, as Go's `encoding/json` writes it.
pub(super) fn marshal(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    serde_json::to_string(value)
        .map(Value::from)
        .map_err(|err| err.to_string())
}

pub(super) fn unmarshal(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    serde_json::from_str(string(text, 1)?).map_err(|err| format!("not JSON: {err}"))
}

pub(super) fn is_valid(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    Ok(text
        .as_str()
        .is_some_and(|text| serde_json::from_str::<Value>(text).is_ok())
        .into())
}

pub(super) fn yaml_marshal(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    serde_norway::to_string(value)
        .map(Value::from)
        .map_err(|err| err.to_string())
}

pub(super) fn yaml_unmarshal(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    serde_norway::from_str(string(text, 1)?).map_err(|err| format!("not YAML: {err}"))
}

pub(super) fn yaml_is_valid(args: &[Value]) -> Result<Value, String> {
    let [text] = arity(args)?;
    Ok(text
        .as_str()
        .is_some_and(|text| serde_norway::from_str::<Value>(text).is_ok())
        .into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_round_trips_with_sorted_keys() {
        assert_eq!(
            marshal(&[json!({"b": 1, "a": [true, null]})]),
            Ok(json!(r#"{"a":[true,null],"b":1}"#))
        );
        assert_eq!(unmarshal(&[json!(r#"{"a": 1}"#)]), Ok(json!({"a": 1})));
        assert!(unmarshal(&[json!("{")]).unwrap_err().contains("not JSON"));
        assert_eq!(is_valid(&[json!("[1, 2]")]), Ok(json!(true)));
        assert_eq!(is_valid(&[json!("[1,")]), Ok(json!(false)));
    }

    #[test]
    fn yaml_round_trips() {
        assert_eq!(
            yaml_marshal(&[json!({"a": [1, "x"]})]),
            Ok(json!("a:\n- 1\n- x\n"))
        );
        assert_eq!(
            yaml_unmarshal(&[json!("a:\n  b: true\n")]),
            Ok(json!({"a": {"b": true}}))
        );
        assert_eq!(yaml_is_valid(&[json!("a: [1")]), Ok(json!(false)));
        assert_eq!(yaml_is_valid(&[json!("a: 1")]), Ok(json!(true)));
    }
}
