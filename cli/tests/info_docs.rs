//! `palisade info` (version, Rego builtins, default locations) and `palisade docs` (the Markdown
//! reference of every command).

use serde_json::Value;
use test_support::{Palisade, tempdir};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

#[test]
fn info_names_the_version_builtins_and_the_folders_in_use() {
    let dir = tempdir();
    let cli = Palisade::new(BIN, dir.path());
    let json: Value = serde_json::from_str(&cli.ok(&["info", "-o", "json"]))
        .unwrap_or_else(|err| panic!("not JSON: {err}"));
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    let builtins = json["regoBuiltins"].as_array().cloned().unwrap_or_default();
    assert!(
        builtins.contains(&Value::from("sprintf")) && builtins.len() > 50,
        "{json}"
    );
    let path = |relative: &str| Value::from(dir.path().join(relative).display().to_string());
    assert_eq!(json["store"], path("store"), "PALISADE_STORE");
    assert_eq!(
        json["dockerConfig"],
        path("docker/config.json"),
        "DOCKER_CONFIG"
    );
    assert_eq!(
        json["moduleCache"],
        path("cache/palisade/modules"),
        "XDG_CACHE_HOME"
    );
    assert!(
        json["sigstoreTrustRoot"]
            .as_str()
            .is_some_and(|text| text.contains("--trust-root"))
    );

    let text = cli.ok(&["info"]);
    assert!(
        text.starts_with(&format!(
            "palisade version: {}\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(text.contains("\n  - sprintf\n"), "{text}");
    assert!(
        text.contains(&format!(
            "Policy store: {}/store (not there)",
            dir.path().display()
        )),
        "{text}"
    );
}

#[test]
fn docs_document_every_command() {
    let dir = tempdir();
    let cli = Palisade::new(BIN, dir.path());
    cli.ok(&["docs", "--output", "cli.md"]);
    let markdown = std::fs::read_to_string(dir.path().join("cli.md"))
        .unwrap_or_else(|err| panic!("reading cli.md: {err}"));
    assert!(
        markdown.starts_with("# Command-Line Help for `palisade`"),
        "{markdown}"
    );
    for command in [
        "run",
        "scaffold manifest",
        "scaffold artifacthub",
        "docs",
        "info",
    ] {
        assert!(
            markdown.contains(&format!("## `palisade {command}`")),
            "{command}"
        );
    }
    assert!(markdown.contains("--replay-host-capabilities-interactions"));
    assert_eq!(
        cli.ok(&["docs"]),
        markdown,
        "standard output without --output"
    );

    let err = cli.fails(&["docs", "-o", "no/such/folder/cli.md"]);
    assert!(err.contains("writing no/such/folder/cli.md"), "{err}");
}
