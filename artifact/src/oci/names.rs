//! The grammar of repository names and tags, from the OCI distribution specification.
//!
//! A name or tag that passes is also safe as a relative path: no `..`, no leading `.` or `_`.

/// The longest repository name accepted (many clients cap `host/name` at 255 characters).
pub const MAX_REPOSITORY_LEN: usize = 255;
/// The longest tag the specification allows.
pub const MAX_TAG_LEN: usize = 128;

/// Checks a repository name: `/`-separated components of `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
/// The error says what is wrong.
pub fn check_repository(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > MAX_REPOSITORY_LEN {
        return Err(format!(
            "{} characters, at most {MAX_REPOSITORY_LEN} are allowed",
            name.len()
        ));
    }
    for component in name.split('/') {
        check_component(component).map_err(|reason| format!("component {component:?} {reason}"))?;
    }
    Ok(())
}

/// Checks one path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_component(component: &str) -> Result<(), String> {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return Err("is empty (two `/` in a row, or a leading or trailing `/`)".into());
    };
    if !alnum(first) || !alnum(last) {
        return Err("must start and end with a lowercase letter or digit".into());
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let allowed = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !allowed {
            return Err(format!(
                "has {separator:?}: only lowercase letters, digits and the separators `.`, `_`, `__` or `-` are allowed"
            ));
        }
    }
    Ok(())
}

/// Checks a tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    let first_ok = tag
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = tag
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && tag.len() <= MAX_TAG_LEN {
        Ok(())
    } else {
        Err(format!(
            "invalid tag {tag:?}: expected 1 to {MAX_TAG_LEN} letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_repository_grammar() {
        for name in [
            "a",
            "library/ubuntu",
            "a.b/c_d/e__f/g-h/i---j",
            "0/1",
            "policies/psp-capabilities",
        ] {
            assert_eq!(check_repository(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn rejects_what_the_repository_grammar_excludes() {
        let long = "a".repeat(300);
        for (name, expected) in [
            ("", "empty"),
            ("../etc", "start and end"),
            ("a/../b", "start and end"),
            ("a..b", "\"..\""),
            ("Upper", "start and end"),
            ("a//b", "is empty"),
            ("a/", "is empty"),
            ("a___b", "\"___\""),
            ("a-_b", "\"-_\""),
            ("_catalog", "start and end"),
            (long.as_str(), "300 characters"),
        ] {
            let message = check_repository(name).unwrap_err();
            assert!(message.contains(expected), "{name}: {message}");
        }
    }

    #[test]
    fn tags_follow_their_grammar() {
        for good in ["v1.0.0-rc_1", "_x", "latest", &"a".repeat(128)] {
            assert_eq!(check_tag(good), Ok(()), "{good}");
        }
        for bad in ["", ".hidden", "-x", "a/b", "a:b", &"a".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }
}
