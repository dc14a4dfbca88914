//! Number builtins OPA's Wasm runtime leaves to the host: `numbers.range_step`.

use serde_json::Value;

use super::args::{arity, integer};

/// `numbers.range_step(a, b, step)`: the integers from `a` to `b` (both included when reached),
/// `step` apart, counting down when `b < a`.
pub(super) fn range_step(args: &[Value]) -> Result<Value, String> {
    let [from, to, step] = arity(args)?;
    let (from, to, step) = (integer(from, 1)?, integer(to, 2)?, integer(step, 3)?);
    if step <= 0 {
        return Err(format!("step must be a positive number, got {step}"));
    }
    let count = from.abs_diff(to) / step.unsigned_abs() + 1;
    if count > 1_000_000 {
        return Err(format!("the range has {count} numbers, more than 1000000"));
    }
    let direction = if to < from { -step } else { step };
    let numbers: Vec<Value> = (0..count as i64)
        .map(|index| Value::from(from + index * direction))
        .collect();
    Ok(numbers.into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ranges_up_and_down() {
        assert_eq!(
            range_step(&[json!(1), json!(10), json!(3)]),
            Ok(json!([1, 4, 7, 10]))
        );
        assert_eq!(
            range_step(&[json!(5), json!(0), json!(2)]),
            Ok(json!([5, 3, 1]))
        );
        assert_eq!(range_step(&[json!(2), json!(2), json!(1)]), Ok(json!([2])));
        assert!(
            range_step(&[json!(1), json!(3), json!(0)])
                .unwrap_err()
                .contains("positive")
        );
        assert!(range_step(&[json!(0), json!(1_000_000_000), json!(1)]).is_err());
    }
}
