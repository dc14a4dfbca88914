//! The web hub as a user meets it: `palisade serve` in a real process, a policy pushed, signed and given an SBOM with
//! `palisade`, then found through HTTP on the loopback port, and searched as you type in a headless Chromium (Debian
//! package `chromium`, driven over the DevTools protocol with Node.js: test_support::Browser).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use test_support::Browser;

/// A `palisade serve` process on 127.0.0.1 over a temporary folder, stopped with SIGTERM when dropped.
struct Served {
    child: Child,
    addr: String,
    first_lines: String,
    _root: tempfile::TempDir,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let root = test_support::tempdir();
        let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--anonymous",
                "pull,push,delete",
            ])
            .args(extra)
            .arg("--root")
            .arg(root.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("starting palisade serve: {err}"));
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first_lines = String::new();
        out.read_line(&mut first_lines).unwrap();
        let addr = first_lines
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.strip_suffix("/v2/\n"))
            .unwrap_or_else(|| panic!("unexpected first line: {first_lines}"))
            .to_string();
        if !extra.contains(&"--no-hub") {
            out.read_line(&mut first_lines).unwrap();
        }
        Served {
            child,
            addr,
            first_lines,
            _root: root,
        }
    }

    /// `GET path`: the status code and the body.
    fn get(&self, path: &str) -> (u16, String) {
        let reply = test_support::http(&self.addr, &format!("GET {path}"), &[], b"");
        (reply.status, reply.text())
    }

    fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("{path}: {err}: {body}"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn a_pushed_signed_policy_is_found_in_the_hub() {
    let served = Served::start(&[]);
    assert!(
        served
            .first_lines
            .ends_with(&format!("\nhub at http://{}/hub\n", served.addr)),
        "{}",
        served.first_lines
    );
    let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    let cli = cli.with_env("COSIGN_PASSWORD", "hub test");
    let reference = format!("registry://{}/policies/pod-guard:v1", served.addr);
    let digest = cli.push("policy.wasm", &reference);

    let found = served.json("/hub/api/policies?q=kind%3APod+mode%3Awapc+guard");
    let policies = found["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1, "{found:#}");
    assert_eq!(policies[0]["repository"], "policies/pod-guard");
    assert_eq!(policies[0]["title"], "pod-guard");
    assert_eq!(policies[0]["digest"], digest.as_str());
    assert_eq!(policies[0]["signed"], false);
    assert!(
        served.json("/hub/api/policies?q=mutating%3Atrue")["policies"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    cli.ok(&["key", "generate"]);
    cli.ok(&["sign", &reference, "--key", "cosign.key", "--bundle"]);
    cli.ok(&["sbom", "policy.wasm", "-o", "policy.spdx.json"]);
    cli.ok(&["sbom", "attach", &reference, "policy.spdx.json"]);

    let detail = served.json("/hub/api/policies/policies/pod-guard");
    let pull = format!("palisade pull {}/policies/pod-guard:v1", served.addr);
    assert_eq!(detail["pull"], pull.as_str());
    assert_eq!(detail["version"], "1.2.0");
    assert_eq!(
        detail["author"],
        "Palisade Authors <authors@palisade.example>"
    );
    assert_eq!(detail["execution_mode"], "kubewarden-wapc");
    assert_eq!(
        detail["context_aware_resources"],
        serde_json::json!(["v1/Namespace"])
    );
    let kinds: Vec<&str> = detail["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cosign", "sigstore-bundle"], "{detail:#}");
    let sbom_url = detail["sboms"][0]["url"].as_str().unwrap();
    let (status, sbom) = served.get(sbom_url);
    assert_eq!(status, 200);
    let written = std::fs::read_to_string(dir.path().join("policy.spdx.json")).unwrap();
    assert_eq!(sbom, written, "the SBOM downloads as attached");

    let (status, html) = served.get("/hub/policies/policies/pod-guard");
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("<pre><code>{pull}</code></pre>")),
        "{html}"
    );
    assert!(html.contains("sigstore-bundle"));
    let (status, listing) = served.get("/hub?q=signed%3Atrue");
    assert_eq!(status, 200);
    assert!(
        listing.contains("<span class=\"badge ok\">signed</span>"),
        "{listing}"
    );
}

#[test]
fn no_hub_serves_the_registry_alone() {
    let served = Served::start(&["--no-hub"]);
    assert!(
        !served.first_lines.contains("hub at"),
        "{}",
        served.first_lines
    );
    assert_eq!(served.get("/v2/").0, 200);
    assert_eq!(served.get("/hub").0, 404);
    assert_eq!(served.get("/").0, 404);
}

#[test]
fn the_search_box_searches_as_you_type_in_a_browser() {
    let served = Served::start(&[]);
    let (_dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    cli.push_two_policies(&served.addr);
    let browser = Browser::open(&format!("http://{}/hub", served.addr));
    let shown = browser.search_hub("deployment");
    assert_eq!(
        shown["search"], "?q=deployment",
        "the address follows the search"
    );
    assert_eq!(
        shown["repositories"],
        serde_json::json!(["policies/deployment-defaults"])
    );
    assert_eq!(
        shown["styled"], true,
        "the style passes the Content-Security-Policy"
    );
    assert_eq!(shown["errors"], serde_json::json!([]), "no console errors");
}
