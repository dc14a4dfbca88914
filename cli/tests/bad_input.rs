//! Bad input on every surface of annotate, inspect and strip: exit code 1, one line that names the
//! file and the problem, no panic, inputs untouched and no output written.

use std::path::Path;

use test_support::{Palisade, bad_modules, populate_workdir, tempdir};

struct Outcome {
    code: Option<i32>,
    stderr: String,
}

fn palisade(dir: &Path, args: &[&str]) -> Outcome {
    let output = Palisade::new(env!("CARGO_BIN_EXE_palisade"), dir).run(args);
    Outcome {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the command, and checks the failure and that nothing in `dir` changed.
fn assert_refused(dir: &Path, args: &[&str], names: &[&str]) {
    let before = snapshot(dir);
    let outcome = palisade(dir, args);
    assert_eq!(outcome.code, Some(1), "{args:?}: {}", outcome.stderr);
    let line = outcome.stderr.trim_end();
    assert_eq!(
        line.lines().count(),
        1,
        "{args:?}: one line expected, got:\n{line}"
    );
    assert!(line.starts_with("error: "), "{args:?}: {line}");
    for name in names {
        assert!(line.contains(name), "{args:?}: `{name}` not in: {line}");
    }
    assert!(!line.contains("panicked"), "{line}");
    let after = snapshot(dir);
    let changed: Vec<&String> = after
        .iter()
        .filter(|file| !before.contains(file))
        .chain(before.iter().filter(|file| !after.contains(file)))
        .map(|(path, _)| path)
        .collect();
    assert!(changed.is_empty(), "{args:?} changed {changed:?}");
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in walk(dir) {
        files.push((entry.display().to_string(), std::fs::read(&entry).unwrap()));
    }
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|entry| {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[test]
fn broken_modules_are_refused_by_every_command() {
    let dir = tempdir();
    populate_workdir(dir.path());
    let problems = [
        ("not-wasm.wasm", "not a WebAssembly module"),
        ("truncated.wasm", "truncated"),
        ("invalid.wasm", "invalid module"),
        ("overrun.wasm", "declares 100 bytes"),
    ];
    for (module, problem) in problems {
        for args in [
            vec![
                "annotate",
                module,
                "-m",
                "metadata/wapc.yml",
                "-o",
                "out.wasm",
            ],
            vec!["strip", module, "-o", "out.wasm"],
            vec!["inspect", module],
        ] {
            if args[0] != "annotate" && module == "invalid.wasm" {
                continue; // strip and inspect read sections only; validation is annotate's job
            }
            assert_refused(dir.path(), &args, &[module, problem]);
        }
    }
    assert_eq!(bad_modules().len(), problems.len() + 1);
}

#[test]
fn a_metadata_section_that_is_not_json_is_reported_by_inspect() {
    let dir = tempdir();
    populate_workdir(dir.path());
    assert_refused(
        dir.path(),
        &["inspect", "bad-metadata.wasm"],
        &["bad-metadata.wasm", "not valid policy metadata"],
    );
}

#[test]
fn bad_metadata_files_are_refused_with_the_field() {
    let dir = tempdir();
    populate_workdir(dir.path());
    let cases = [
        ("not-yaml.yml", "metadata is not valid"),
        ("wrong-type.yml", "mutating"),
        ("unknown-operation.yml", "PATCH"),
        (
            "empty-rules.yml",
            "rules: a kubernetes policy needs at least one rule",
        ),
        ("wildcard-mixed.yml", "rules[0].apiGroups"),
    ];
    for (file, problem) in cases {
        let metadata = format!("metadata/invalid/{file}");
        for output in ["out.wasm", "wapc-accept.wasm"] {
            assert_refused(
                dir.path(),
                &[
                    "annotate",
                    "wapc-accept.wasm",
                    "-m",
                    &metadata,
                    "-o",
                    output,
                ],
                &[&metadata, problem],
            );
        }
    }
}

#[test]
fn both_wildcard_problems_are_reported_at_once() {
    let dir = tempdir();
    populate_workdir(dir.path());
    let outcome = palisade(
        dir.path(),
        &[
            "annotate",
            "wapc-accept.wasm",
            "-m",
            "metadata/invalid/wildcard-mixed.yml",
            "-o",
            "o.wasm",
        ],
    );
    assert!(
        outcome.stderr.contains("rules[0].apiGroups")
            && outcome.stderr.contains("rules[0].operations")
    );
}

#[test]
fn an_output_in_a_missing_folder_is_refused() {
    let dir = tempdir();
    populate_workdir(dir.path());
    assert_refused(
        dir.path(),
        &[
            "annotate",
            "wapc-accept.wasm",
            "-m",
            "metadata/wapc.yml",
            "-o",
            "missing/out.wasm",
        ],
        &["missing/out.wasm", "does not exist"],
    );
    assert_refused(
        dir.path(),
        &["strip", "wapc-accept.wasm", "-o", "missing/out.wasm"],
        &["missing/out.wasm", "does not exist"],
    );
}

#[test]
fn missing_files_are_named() {
    let dir = tempdir();
    populate_workdir(dir.path());
    assert_refused(
        dir.path(),
        &["inspect", "nowhere.wasm"],
        &["nowhere.wasm: no such file"],
    );
    assert_refused(
        dir.path(),
        &[
            "annotate",
            "wapc-accept.wasm",
            "-m",
            "nowhere.yml",
            "-o",
            "o.wasm",
        ],
        &["reading nowhere.yml"],
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempdir();
    assert_eq!(palisade(dir.path(), &["annotate"]).code, Some(2));
    assert_eq!(
        palisade(dir.path(), &["inspect", "x.wasm", "--output", "xml"]).code,
        Some(2)
    );
    assert_eq!(palisade(dir.path(), &["frobnicate"]).code, Some(2));
}
