//! Reading a builtin's JSON arguments, and writing numbers back, with messages naming what is wrong.

use serde_json::Value;

/// The arguments, if there are exactly `N`.
pub(super) fn arity<const N: usize>(args: &[Value]) -> Result<&[Value; N], String> {
    args.try_into()
        .map_err(|_| format!("takes {N} argument(s), got {}", args.len()))
}

/// Argument `position` (1-based, for messages) as a string.
pub(super) fn string(value: &Value, position: usize) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("operand {position} must be a string, got {}", kind(value)))
}

/// Argument `position` as a whole number (a float with no fraction counts).
pub(super) fn integer(value: &Value, position: usize) -> Result<i64, String> {
    value
        .as_i64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        })
        .ok_or_else(|| format!("operand {position} must be an integer, got {value}"))
}

/// Argument `position` as an array (or set) of strings.
pub(super) fn strings(value: &Value, position: usize) -> Result<Vec<&str>, String> {
    let items = value.as_array().ok_or_else(|| {
        format!(
            "operand {position} must be an array or set, got {}",
            kind(value)
        )
    })?;
    items.iter().map(|item| string(item, position)).collect()
}

/// The Rego name of a value's type, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON number for `value`: an integer when it is whole and fits, else a float.
pub(super) fn number(value: f64) -> Result<Value, String> {
    if value.fract() == 0.0 && value.abs() < 9.2e18 {
        return Ok(Value::from(value as i64));
    }
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .ok_or_else(|| format!("{value} is not a finite number"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn arguments_are_checked() {
        assert!(arity::<2>(&[json!(1)]).is_err());
        assert_eq!(integer(&json!(3.0), 1), Ok(3));
        assert!(integer(&json!(3.5), 1).is_err());
        assert!(
            string(&json!(1), 2)
                .unwrap_err()
                .contains("operand 2 must be a string")
        );
        assert_eq!(number(2.0), Ok(json!(2)));
        assert_eq!(number(0.5), Ok(json!(0.5)));
    }
}
