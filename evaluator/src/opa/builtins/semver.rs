//! Semantic-version builtins: `semver.is_valid`, `semver.compare` (precedence: build metadata
//! is ignored, a pre-release sorts before its release).

use semver::Version;
use serde_json::Value;

use super::args::{arity, string};

pub(super) fn is_valid(args: &[Value]) -> Result<Value, String> {
    let [value] = arity(args)?;
    Ok(value
        .as_str()
        .is_some_and(|value| Version::parse(value).is_ok())
        .into())
}

/// -1, 0 or 1 as `a` is lower than, equal to or higher than `b`.
pub(super) fn compare(args: &[Value]) -> Result<Value, String> {
    let [a, b] = arity(args)?;
    let parse = |value: &Value, position| {
        let text = string(value, position)?;
        Version::parse(text).map_err(|err| format!("{text:?} is not a semantic version: {err}"))
    };
    let (a, b) = (parse(a, 1)?, parse(b, 2)?);
    let order = (a.major, a.minor, a.patch, &a.pre).cmp(&(b.major, b.minor, b.patch, &b.pre));
    Ok((order as i8).into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn validates_and_compares() {
        assert_eq!(is_valid(&[json!("1.2.3-rc.1+build")]), Ok(json!(true)));
        assert_eq!(is_valid(&[json!("1.2")]), Ok(json!(false)));
        assert_eq!(is_valid(&[json!(1)]), Ok(json!(false)));
        assert_eq!(compare(&[json!("1.2.3"), json!("1.10.0")]), Ok(json!(-1)));
        assert_eq!(
            compare(&[json!("2.0.0"), json!("2.0.0-rc.1")]),
            Ok(json!(1))
        );
        assert_eq!(compare(&[json!("1.0.0+a"), json!("1.0.0+b")]), Ok(json!(0)));
        assert!(
            compare(&[json!("x"), json!("1.0.0")])
                .unwrap_err()
                .contains("not a semantic version")
        );
    }
}
