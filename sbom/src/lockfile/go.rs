//! Go modules: the `require` directives of `go.mod`, or the module lines of `go.sum`.

use std::path::Path;

use super::{Dependency, Ecosystem, error_at};
use crate::error::Result;

/// Parses `go.mod` text read from `path`: every required module (direct and `// indirect`).
pub fn parse_go_mod(path: &Path, text: &str) -> Result<Vec<Dependency>> {
    let mut dependencies = Vec::new();
    let mut block: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.split("//").next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(directive) = &block {
            if line == ")" {
                block = None;
            } else if directive == "require" {
                dependencies.push(requirement(path, number, line)?);
            }
            continue;
        }
        let (directive, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        if rest == "(" {
            block = Some(directive.to_string());
        } else if directive == "require" {
            dependencies.push(requirement(path, number, rest)?);
        }
    }
    if let Some(directive) = block {
        return Err(error_at(
            path,
            text.lines().count(),
            format!("the `{directive} (` block is not closed"),
        ));
    }
    Ok(dependencies)
}

fn requirement(path: &Path, number: usize, text: &str) -> Result<Dependency> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(module), Some(version), None) if version.starts_with('v') => {
            Ok(Dependency::new(Ecosystem::Golang, module, version))
        }
        _ => Err(error_at(
            path,
            number,
            format!("expected `MODULE vVERSION` in a require directive, found `{text}`"),
        )),
    }
}

/// Parses `go.sum` text read from `path`: one dependency per module and version (the `/go.mod`
/// lines only repeat them).
pub fn parse_go_sum(path: &Path, text: &str) -> Result<Vec<Dependency>> {
    let mut dependencies = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (None, ..) => {}
            (Some(module), Some(version), Some(hash), None) if hash.starts_with("h1:") => {
                if !version.ends_with("/go.mod") {
                    dependencies.push(Dependency::new(Ecosystem::Golang, module, version));
                }
            }
            _ => {
                return Err(error_at(
                    path,
                    index + 1,
                    format!("expected `MODULE VERSION h1:HASH`, found `{line}`"),
                ));
            }
        }
    }
    Ok(dependencies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_mod_blocks_and_single_lines() {
        let text = "module example.com/policy\n\ngo 1.22\n\nrequire github.com/a/b v1.0.0\n\nrequire (\n\tgithub.com/c/d v0.2.0 // indirect\n)\n";
        let deps = parse_go_mod(Path::new("go.mod"), text).ok();
        assert_eq!(
            deps,
            Some(vec![
                Dependency::new(Ecosystem::Golang, "github.com/a/b", "v1.0.0"),
                Dependency::new(Ecosystem::Golang, "github.com/c/d", "v0.2.0"),
            ])
        );
    }

    #[test]
    fn go_sum_skips_go_mod_lines() {
        let text = "github.com/a/b v1.0.0 h1:abc=\ngithub.com/a/b v1.0.0/go.mod h1:def=\n";
        let deps = parse_go_sum(Path::new("go.sum"), text).ok();
        assert_eq!(
            deps,
            Some(vec![Dependency::new(
                Ecosystem::Golang,
                "github.com/a/b",
                "v1.0.0"
            )])
        );
    }

    #[test]
    fn an_unclosed_block_and_a_bad_line_are_named() {
        let unclosed = parse_go_mod(Path::new("go.mod"), "require (\n a/b v1\n");
        assert!(matches!(
            unclosed,
            Err(crate::SbomError::Lockfile { line: 2, .. })
        ));
        let bad = parse_go_mod(Path::new("go.mod"), "module m\nrequire a/b\n");
        assert!(matches!(
            bad,
            Err(crate::SbomError::Lockfile { line: 2, .. })
        ));
    }
}
