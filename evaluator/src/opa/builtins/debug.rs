//! Debugging builtins: `internal.print` (what Rego's `print(…)` compiles to) and `trace`. Both
//! write to the log (target `palisade::policy`, like `opa_println`) and always succeed.

use serde_json::Value;

use super::args::{arity, string};

/// `internal.print([operands])`: each operand arrives as the set of its values; an undefined
/// one prints `<undefined>`, several values print comma-separated, operands space-separated.
pub(super) fn print(args: &[Value]) -> Result<Value, String> {
    let [operands] = arity(args)?;
    let operands = operands
        .as_array()
        .ok_or("operand 1 must be an array of sets")?;
    tracing::info!(target: crate::policy_log::POLICY_LOG_TARGET, "{}", print_line(operands));
    Ok(Value::Bool(true))
}

fn print_line(operands: &[Value]) -> String {
    let printed: Vec<String> = operands
        .iter()
        .map(|operand| match operand.as_array() {
            Some(values) if values.is_empty() => "<undefined>".to_owned(),
            Some(values) => values.iter().map(text).collect::<Vec<_>>().join(", "),
            None => text(operand),
        })
        .collect();
    printed.join(" ")
}

/// A string as itself, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `trace(note)`: logs the note; always true.
pub(super) fn trace(args: &[Value]) -> Result<Value, String> {
    let [note] = arity(args)?;
    tracing::info!(target: crate::policy_log::POLICY_LOG_TARGET, "trace: {}", string(note, 1)?);
    Ok(Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn prints_operands_and_succeeds() {
        assert_eq!(
            print_line(&[
                json!(["replicas:"]),
                json!([3]),
                json!([]),
                json!(["a", "b"])
            ]),
            "replicas: 3 <undefined> a, b"
        );
        assert_eq!(print(&[json!([["x"]])]), Ok(json!(true)));
        assert!(print(&[json!("x")]).is_err());
        assert_eq!(trace(&[json!("here")]), Ok(json!(true)));
    }
}
