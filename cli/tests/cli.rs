//! Golden CLI tests: every `tests/cmd/*.md` file is a terminal session that must replay exactly.
//!
//! Each runs in `tests/cmd/NAME.in/`, made afresh from the WAT fixtures and `testdata/` before the
//! run (the folders are not committed). Update the expected output with
//! `TRYCMD=overwrite cargo test -p palisade-cli --test cli`, then review the diff.

use std::path::Path;

#[test]
fn cli_sessions() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd");
    for entry in std::fs::read_dir(&cases).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "md") {
            let workdir = path.with_extension("in");
            if workdir.exists() {
                std::fs::remove_dir_all(&workdir).unwrap();
            }
            std::fs::create_dir(&workdir).unwrap();
            test_support::populate_workdir(&workdir);
        }
    }
    // Compiled modules go to a cache of the tests', not the user's.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trycmd-cache");
    trycmd::TestCases::new()
        .default_bin_name("palisade")
        .env("XDG_CACHE_HOME", cache.display().to_string())
        .case("tests/cmd/*.md");
}
