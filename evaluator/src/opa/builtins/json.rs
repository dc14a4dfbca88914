//! JSON and YAML builtins: `json.marshal`, `json.unmarshal`, `json.is_valid`, `json.patch` and
//! the `yaml.*` counterparts.

use serde_json::Value;

use super::args::{arity, string};

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

/// `json.patch(object, operations)`: RFC 6902 operations; a `path` may be a JSON pointer or an
/// array of keys.
pub(super) fn patch(args: &[Value]) -> Result<Value, String> {
    let [object, operations] = arity(args)?;
    let operations = operations
        .as_array()
        .ok_or("operand 2 must be an array of patch operations")?
        .iter()
        .map(|operation| {
            let mut operation = operation.clone();
            for key in ["path", "from"] {
                if let Some(Value::Array(segments)) = operation.get(key) {
                    let pointer = pointer(segments);
                    operation[key] = Value::String(pointer);
                }
            }
            operation
        })
        .collect::<Vec<_>>();
    let operations: json_patch::Patch = serde_json::from_value(Value::Array(operations))
        .map_err(|err| format!("invalid patch: {err}"))?;
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &operations).map_err(|err| err.to_string())?;
    Ok(patched)
}

/// A JSON pointer from keys (`["a", "b/c", 0]` → `/a/b~1c/0`).
fn pointer(segments: &[Value]) -> String {
    segments
        .iter()
        .map(|segment| {
            let segment = match segment {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            format!("/{}", segment.replace('~', "~0").replace('/', "~1"))
        })
        .collect()
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
    fn patches_objects() {
        let object = json!({"metadata": {"labels": {"a": "1"}}});
        let operations = json!([
            {"op": "add", "path": "/metadata/labels/b", "value": "2"},
            {"op": "remove", "path": ["metadata", "labels", "a"]},
        ]);
        assert_eq!(
            patch(&[object.clone(), operations]),
            Ok(json!({"metadata": {"labels": {"b": "2"}}}))
        );
        let failing = json!([{"op": "test", "path": "/metadata", "value": 1}]);
        assert!(patch(&[object.clone(), failing]).is_err());
        assert!(
            patch(&[object, json!([{"op": "frobnicate"}])])
                .unwrap_err()
                .contains("invalid patch")
        );
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
