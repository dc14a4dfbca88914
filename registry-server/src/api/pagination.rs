//! `n` and `last` pagination of sorted lists, with the `Link` header pointing at the next page.

use crate::errors::{RegistryError, Result};

/// The largest page served, whatever `n` asks for.
pub const MAX_PAGE: usize = 10_000;

/// One page of a sorted list: the entries after `last`, at most `n`, and the `last` of the next page if any.
pub fn page(
    sorted: Vec<String>,
    n: Option<&str>,
    last: Option<&str>,
) -> Result<(Vec<String>, Option<String>)> {
    let n = match n {
        None => MAX_PAGE,
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| {
                RegistryError::QueryInvalid(format!(
                    "`n` must be a non-negative integer, not {n:?}"
                ))
            })?
            .min(MAX_PAGE),
    };
    let mut rest: Vec<String> = match last {
        Some(last) => sorted
            .into_iter()
            .filter(|entry| entry.as_str() > last)
            .collect(),
        None => sorted,
    };
    if rest.len() <= n {
        return Ok((rest, None));
    }
    rest.truncate(n);
    let next = rest.last().cloned();
    Ok((rest, next.filter(|_| n > 0)))
}

/// The `Link` header value for the next page of `path`.
pub fn link(path: &str, n: usize, last: &str) -> String {
    format!("<{path}?n={n}&last={last}>; rel=\"next\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<String> {
        ["a", "b", "c", "d"].map(String::from).to_vec()
    }

    #[test]
    fn pages_follow_last() {
        assert_eq!(
            page(items(), Some("2"), None).unwrap(),
            (vec!["a".into(), "b".into()], Some("b".into()))
        );
        assert_eq!(
            page(items(), Some("2"), Some("b")).unwrap(),
            (vec!["c".into(), "d".into()], None)
        );
        assert_eq!(
            page(items(), None, Some("c")).unwrap(),
            (vec!["d".into()], None)
        );
        assert_eq!(page(items(), Some("0"), None).unwrap(), (vec![], None));
        assert!(page(items(), Some("-1"), None).is_err());
    }
}
