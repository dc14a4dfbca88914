//! The hub's trust, diff and safety as a user meets them in a browser: a real `palisade serve` process with a
//! `trust:` configuration (`trusted/` enforced, `audited/` audited), policies pushed and signed with `palisade`, and
//! the pages read in a headless Chromium (test_support::Browser): a tag waits off the hub until a trusted signature
//! publishes it; the diff page shows what changed; and markup in every field the hub shows (metadata, annotations,
//! rules, the usage Markdown, SBOM packages, a signature's annotations, the search query, a repository name) stays
//! text, with the Content-Security-Policy and without it.

mod running;

use running::Running;
use serde_json::{Value, json};
use test_support::{Browser, Csp, Palisade};

/// `palisade serve` with trust prefixes, the work folder of its clients and a browser on its hub (dropped in this
/// order: the browser, the server, then the folder).
struct Hub {
    browser: Browser,
    server: Running,
    cli: Palisade,
    dir: tempfile::TempDir,
}

impl Hub {
    /// A registry open to anonymous clients whose `trusted/` (enforce) and `audited/` (audit) prefixes trust
    /// signatures by `trusted.key` that carry the annotation `env=prod`.
    fn start() -> Hub {
        let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
        let cli = cli.with_env("COSIGN_PASSWORD", "hub");
        cli.ok(&["key", "generate", "--output-prefix", "trusted"]);
        let key = std::fs::read_to_string(dir.path().join("trusted.pub")).unwrap();
        let indented: String = key.lines().map(|l| format!("      {l}\n")).collect();
        let verification = dir.path().join("verification.yml");
        std::fs::write(
            &verification,
            format!(
                "apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{indented}    annotations:\n      env: prod\n"
            ),
        )
        .unwrap();
        let config = dir.path().join("registry.yml");
        let rule = |prefix: &str, mode: &str| {
            format!(
                "  - prefix: {prefix}\n    mode: {mode}\n    verification_config: {}\n",
                verification.display()
            )
        };
        std::fs::write(
            &config,
            format!(
                "root: {}\naddr: 127.0.0.1:0\nauth:\n  anonymous: [pull, push, delete]\ntrust:\n{}{}",
                dir.path().join("registry").display(),
                rule("trusted/", "enforce"),
                rule("audited/", "audit")
            ),
        )
        .unwrap();
        let server = Running::start(
            dir.path(),
            &["serve", "--config", config.to_str().unwrap()],
            &[],
        );
        let browser = Browser::open(&format!("http://{}/hub", server.addr));
        Hub {
            browser,
            server,
            cli,
            dir,
        }
    }

    /// Closes the browser and stops the server, which must stop cleanly.
    fn stop(self) {
        drop(self.browser);
        self.server.stop();
    }

    /// `registry://HOST/{name}`.
    fn reference(&self, name: &str) -> String {
        format!("registry://{}/{name}", self.server.addr)
    }

    /// Signs `name` (`REPOSITORY@DIGEST` or `REPOSITORY:TAG`) with `trusted.key` and `annotations`.
    fn sign(&self, name: &str, annotations: &[&str]) {
        let reference = self.reference(name);
        let mut args = vec!["sign", reference.as_str(), "--key", "trusted.key"];
        for annotation in annotations {
            args.extend(["-a", annotation]);
        }
        self.cli.ok(&args);
    }

    /// The page at `path` in the browser, as served; asserts that it ran nothing and logged no error.
    fn show(&self, path: &str) -> Value {
        self.visit(path, None, Csp::Enforced)
    }

    /// The hub's list after typing `query` into its search box.
    fn search(&self, query: &str) -> Value {
        self.visit("/hub", Some(query), Csp::Enforced)
    }

    /// The page at `path` (with `search` typed into its search box) in the browser under `csp`; asserts that no
    /// markup it shows could run or ran, and that the console logged nothing but the document's own error status.
    fn visit(&self, path: &str, search: Option<&str>, csp: Csp) -> Value {
        let url = format!("http://{}{path}", self.server.addr);
        let shown = self.browser.visit(&url, search, csp);
        let context = format!("{path} {search:?} {csp:?}: {shown:#}");
        assert_eq!(shown["injected"], json!([]), "{context}");
        assert_eq!(shown["dialogs"], json!([]), "{context}");
        assert_eq!(shown["xss"], Value::Null, "{context}");
        assert_ne!(shown["title"], "pwned", "{context}");
        assert_eq!(shown["styled"], true, "{context}");
        // Expected: an error page's own status, a search the hub refuses (`400`) and the favicon the hub does not
        // have (the browser asks for one whatever the page says, and says so unless it remembers the answer).
        let status = shown["status"]
            .as_u64()
            .unwrap_or_else(|| panic!("{context}"));
        let failed_load = |status: u64, url: &str| {
            let reason = if status == 400 {
                "Bad Request"
            } else {
                "Not Found"
            };
            format!(
                "network: Failed to load resource: the server responded with a status of {status} ({reason}) (http://{}{url}",
                self.server.addr
            )
        };
        let allowed = [
            failed_load(status, &format!("{path})")),
            failed_load(404, "/favicon.ico)"),
        ];
        let refused_search = failed_load(400, "/hub?q=");
        let errors: Vec<&str> = shown["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|error| {
                let expected = allowed.iter().any(|a| a == error)
                    || (search.is_some() && error.starts_with(&refused_search));
                !expected
            })
            .collect();
        assert!(errors.is_empty(), "console errors: {context}");
        shown
    }

    /// The fingerprint the hub names `trusted.pub` by: `pubKey sha256:` and the first 16 hex digits.
    fn signer(&self) -> String {
        let key = std::fs::read_to_string(self.dir.path().join("trusted.pub")).unwrap();
        format!(
            "pubKey sha256:{}",
            &test_support::public_key_fingerprint(&key)[..16]
        )
    }
}

fn text(shown: &Value) -> &str {
    shown["text"].as_str().unwrap_or_default()
}

#[test]
fn an_unsigned_policy_waits_off_the_hub_until_a_trusted_signature_publishes_it() {
    let hub = Hub::start();
    hub.cli.push_two_policies(&hub.server.addr);
    let digest = hub
        .cli
        .push("policy.wasm", &hub.reference("trusted/pod-guard:v1"));

    let listed = hub.show("/hub");
    assert_eq!(
        listed["repositories"],
        json!(["policies/deployment-defaults", "policies/pod-guard"]),
        "the waiting tag is not listed: {listed:#}"
    );
    assert!(
        listed["links"]
            .as_array()
            .unwrap()
            .contains(&json!({"text": "Tags waiting for a signature", "href": "/hub/pending"})),
        "{listed:#}"
    );
    let found = hub.search("guard");
    assert_eq!(
        found["repositories"],
        json!(["policies/pod-guard"]),
        "{found:#}"
    );
    let page = hub.show("/hub/policies/trusted/pod-guard");
    assert_eq!(page["status"], 404, "{page:#}");

    let waiting = hub.show("/hub/pending");
    assert!(
        text(&waiting).contains(&format!(
            "trusted/pod-guard:v1\ttrusted/pod-guard@{digest}\tno signatures found for {digest}"
        )),
        "the tag, the digest to sign and why: {waiting:#}"
    );

    // Signed by the trusted key without the annotation its rule requires: still waiting, and the page says why.
    hub.sign(&format!("trusted/pod-guard@{digest}"), &[]);
    let waiting = hub.show("/hub/pending");
    assert!(
        text(&waiting).contains("annotation env=prod is missing"),
        "{waiting:#}"
    );
    assert_eq!(
        hub.search("guard")["repositories"],
        json!(["policies/pod-guard"])
    );

    hub.sign(&format!("trusted/pod-guard@{digest}"), &["env=prod"]);
    let listed = hub.show("/hub");
    assert_eq!(
        listed["repositories"],
        json!([
            "policies/deployment-defaults",
            "policies/pod-guard",
            "trusted/pod-guard"
        ]),
        "{listed:#}"
    );
    let page = hub.show("/hub/policies/trusted/pod-guard");
    assert_eq!(page["h1"], "pod-guard");
    assert!(
        text(&page).contains(&format!(
            "Checked against the trust policy of prefix trusted/ (enforce).\n\nVerified by:\n\n{} with annotations env=prod\n",
            hub.signer()
        )),
        "{page:#}"
    );
    assert_eq!(
        hub.search("verified:true")["repositories"],
        json!(["trusted/pod-guard"])
    );
    let unverified = hub.search("guard verified:false");
    assert_eq!(unverified["repositories"], json!([]), "{unverified:#}");
    let waiting = hub.show("/hub/pending");
    assert!(
        text(&waiting).contains("No tag you may push to waits for a signature."),
        "{waiting:#}"
    );
    hub.stop();
}

#[test]
fn the_diff_page_shows_the_rules_and_annotations_that_changed() {
    let hub = Hub::start();
    hub.cli
        .push("policy.wasm", &hub.reference("policies/pod-guard:v1"));
    let metadata = std::fs::read_to_string(hub.dir.path().join("metadata/wapc.yml")).unwrap();
    let changed = metadata
        .replace(
            "[\"CREATE\", \"UPDATE\"]",
            "[\"CREATE\", \"UPDATE\", \"DELETE\"]",
        )
        .replace("version: 1.2.0", "version: 1.3.0");
    assert_ne!(changed, metadata);
    std::fs::write(hub.dir.path().join("v2.yml"), changed).unwrap();
    hub.cli.ok(&[
        "annotate",
        "wapc-accept.wasm",
        "-m",
        "v2.yml",
        "-o",
        "v2.wasm",
    ]);
    hub.cli
        .push("v2.wasm", &hub.reference("policies/pod-guard:v2"));

    let page = hub.show("/hub/policies/policies/pod-guard?tag=v2");
    let compare = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|link| link["text"] == "Compare with the previous tag")
        .unwrap_or_else(|| panic!("no link to the diff: {page:#}"));
    assert_eq!(
        compare["href"],
        "/hub/diff/policies/pod-guard?from=v1&to=v2"
    );

    let diff = hub.show(compare["href"].as_str().unwrap());
    assert_eq!(diff["status"], 200, "{diff:#}");
    assert_eq!(diff["h1"], "Changes in policies/pod-guard");
    let shown = text(&diff);
    for row in [
        "rules\tremoved\t\n{\"apiGroups\":[\"\"],\"apiVersions\":[\"v1\"],\"resources\":[\"pods\"],\"operations\":[\"CREATE\",\"UPDATE\"]}",
        "rules\tadded\t\t\n{\"apiGroups\":[\"\"],\"apiVersions\":[\"v1\"],\"resources\":[\"pods\"],\"operations\":[\"CREATE\",\"UPDATE\",\"DELETE\"]}",
        "annotations io.kubewarden.policy.version\tchanged\t\n1.2.0\n\t\n1.3.0",
    ] {
        assert!(shown.contains(row), "{row:?} in {diff:#}");
    }
    assert!(!shown.contains("io.kubewarden.policy.title"), "{diff:#}");
    hub.stop();
}

/// Markup that would run if a page wrote it as HTML rather than text: each sets `window.__xss`, the document's title
/// or opens a dialog, inline, from an event handler, through an attribute it breaks out of or a frame.
const PAYLOADS: &str = concat!(
    "<script>window.__xss='script'</script> ",
    "<img src=x onerror=\"window.__xss='img'\"> ",
    "<svg onload=\"window.__xss='svg'\"></svg> ",
    "<iframe srcdoc=\"<script>parent.__xss='iframe'</script>\"></iframe> ",
    "\"><script>alert('attribute')</script> ",
    "'><img src=x onerror=alert('quote')> ",
    "</title><script>document.title='pwned'</script> ",
    "<details open ontoggle=alert('toggle')></details> ",
    "&lt;b&gt;entity&lt;/b&gt; &#60;script&#62;alert('numeric')&#60;/script&#62;"
);

/// `PAYLOADS` after a word naming the field that carries them.
fn payload(field: &str) -> String {
    format!("{field} {PAYLOADS}")
}

/// Usage Markdown trying every way raw HTML, links and images have to run script or load something.
const USAGE: &str = r#"# Settings <script>window.__xss='heading'</script>

<script>window.__xss='usage script'</script>

<img src=x onerror="window.__xss='usage img'">

<svg onload="window.__xss='usage svg'"><circle r="1"/></svg>

<iframe src="javascript:alert('usage iframe')"></iframe>

<details open ontoggle="alert('usage details')"><summary>more</summary></details>

<math><mtext><table><mglyph><style><img src=x onerror="alert('mutation')"></style></mglyph></table></mtext></math>

<form action="javascript:alert('form')"><button formaction="javascript:alert('button')">go</button></form>

<object data="javascript:alert('object')"></object><embed src="javascript:alert('embed')">

<meta http-equiv="refresh" content="0;url=javascript:alert('refresh')"><base href="javascript:alert('base')//">

<div style="background:url(javascript:alert('style'))">styled</div>

[markdown link](javascript:alert('markdown')) and [data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
and <a href="jav&#x09;ascript:alert('tab')">tab link</a> and <javascript:alert('autolink')>
and ![an image](javascript:alert('image')) and [titled](https://example.com/ "a\" onmouseover=\"alert('title')")

&lt;script&gt;alert('entity')&lt;/script&gt; stays text.

[safe link](https://example.com/docs)
"#;

/// The metadata of a waPC policy with markup in every field the hub shows; `version` tells the two tags apart (their
/// rules, an annotation and the context-aware resources change).
fn xss_metadata(version: &str) -> Value {
    let operations = if version == "v1" {
        json!(["CREATE"])
    } else {
        json!(["CREATE", "UPDATE"])
    };
    json!({
        "rules": [{
            "apiGroups": ["", "<script>alert('group')</script>"],
            "apiVersions": ["v1"],
            "resources": [format!("pods<img src=x onerror=alert('resource {version}')>")],
            "operations": operations,
        }],
        "mutating": false,
        "protocolVersion": "v1",
        "contextAwareResources": [{
            "apiVersion": "v1",
            "kind": format!("Namespace<svg onload=alert('kind {version}')>"),
        }],
        "annotations": {
            "io.kubewarden.policy.title": payload(&format!("title {version}")),
            "io.kubewarden.policy.description": payload("description"),
            "io.kubewarden.policy.author": payload("author"),
            "io.kubewarden.policy.license": payload("license"),
            "io.kubewarden.policy.category": payload("category"),
            "io.kubewarden.policy.severity": payload("severity"),
            "io.kubewarden.policy.version": payload("version"),
            "io.kubewarden.policy.source": "javascript:alert('source')",
            "io.kubewarden.policy.url": "https://example.com/\"><script>alert('url')</script>",
            "xss.example/<img src=x onerror=alert('key')>": payload(&format!("annotation {version}")),
        },
    })
}

/// A CycloneDX SBOM whose version, packages and licenses carry markup.
fn xss_sbom() -> Value {
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6<script>alert('spec')</script>",
        "components": [{
            "name": payload("package"),
            "version": "1.0<img src=x onerror=alert('package version')>",
            "licenses": [{"license": {"name": payload("package license")}}],
        }],
    })
}

/// The page at `path` without, then with, its Content-Security-Policy (each visit asserting that nothing ran or
/// could run); what it shows with it.
fn inert(hub: &Hub, path: &str, search: Option<&str>) -> Value {
    let bare = hub.visit(path, search, Csp::Bypassed);
    let shown = hub.visit(path, search, Csp::Enforced);
    assert_eq!(bare["text"], shown["text"], "{path} {search:?}");
    shown
}

fn assert_shows(shown: &Value, texts: &[&str]) {
    for expected in texts {
        assert!(
            text(shown).contains(expected),
            "{expected:?} shown as text in {shown:#}"
        );
    }
}

#[test]
fn markup_in_every_field_the_hub_shows_stays_text() {
    let hub = Hub::start();
    let dir = hub.dir.path();
    std::fs::write(dir.join("usage.md"), USAGE).unwrap();
    for version in ["v1", "v2"] {
        let metadata = dir.join(format!("xss-{version}.json"));
        std::fs::write(&metadata, xss_metadata(version).to_string()).unwrap();
        let metadata = metadata.to_str().unwrap().to_string();
        let module = format!("xss-{version}.wasm");
        hub.cli.ok(&[
            "annotate",
            "wapc-accept.wasm",
            "-m",
            &metadata,
            "-u",
            "usage.md",
            "-o",
            &module,
        ]);
        hub.cli
            .push(&module, &hub.reference(&format!("policies/xss:{version}")));
    }
    std::fs::write(dir.join("xss.cdx.json"), xss_sbom().to_string()).unwrap();
    hub.cli.ok(&[
        "sbom",
        "attach",
        &hub.reference("policies/xss:v2"),
        "xss.cdx.json",
    ]);
    // Signed by the trusted key with an annotation the rule does not want: the verdict quotes it.
    let signed_env = "env=<img src=x onerror=alert('signature')>";
    for repository in ["audited/xss", "trusted/xss"] {
        let digest = hub
            .cli
            .push("xss-v1.wasm", &hub.reference(&format!("{repository}:v1")));
        hub.sign(&format!("{repository}@{digest}"), &[signed_env]);
    }
    let rejected =
        "annotation env is \"<img src=x onerror=alert('signature')>\", required \"prod\"";

    let listed = inert(&hub, "/hub", None);
    assert_eq!(
        listed["repositories"],
        json!(["audited/xss", "policies/xss"]),
        "{listed:#}"
    );
    assert_shows(
        &listed,
        &[
            &payload("title v2"),
            &payload("title v1"),
            &payload("description"),
        ],
    );
    let found = inert(&hub, "/hub", Some("v2"));
    assert_eq!(found["repositories"], json!(["policies/xss"]), "{found:#}");
    assert_shows(&found, &[&payload("title v2"), &payload("description")]);
    let query = "nothing\"><script>alert('query')</script>";
    let none = inert(&hub, "/hub", Some(query));
    assert_shows(&none, &[&format!("No policy matches {query}.")]);
    let refused = inert(&hub, "/hub", Some("mode:<svg/onload=alert('filter')>"));
    assert_shows(&refused, &["not \"<svg/onload=alert('filter')>\""]);
    let paged = inert(&hub, "/hub?q=%3Cscript%3Ealert%28&per_page=1", None);
    assert_eq!(paged["repositories"], json!(["audited/xss"]), "{paged:#}");
    assert!(
        paged["links"].as_array().unwrap().contains(
            &json!({"text": "Next", "href": "/hub?q=%3Cscript%3Ealert%28&page=2&per_page=1"})
        ),
        "{paged:#}"
    );
    let encoded: String = url_encoded(query);
    let reflected = inert(&hub, &format!("/hub?q={encoded}"), None);
    assert_eq!(
        reflected["title"],
        format!("Search: {query} · Palisade hub")
    );

    let page = inert(&hub, "/hub/policies/policies/xss", None);
    assert_eq!(page["h1"], payload("title v2"));
    assert_eq!(
        page["title"],
        format!("{} · Palisade hub", payload("title v2"))
    );
    assert_shows(
        &page,
        &[
            &payload("description"),
            &payload("author"),
            &payload("license"),
            &payload("category"),
            &payload("severity"),
            &payload("version"),
            "javascript:alert('source')",
            "xss.example/<img src=x onerror=alert('key')>",
            &payload("annotation v2"),
            "pods<img src=x onerror=alert('resource v2')>",
            "<script>alert('group')</script>",
            "v1/Namespace<svg onload=alert('kind v2')>",
            "<script>alert('entity')</script> stays text.",
            "Packages of the CycloneDX 1.6<script>alert('spec')</script> SBOM",
            "\n1 package\n",
            &payload("package"),
            "1.0<img src=x onerror=alert('package version')>",
            &payload("package license"),
        ],
    );
    let links = page["links"].as_array().unwrap();
    let href = |text: &str| {
        links
            .iter()
            .find(|link| link["text"] == text)
            .map(|link| link["href"].clone())
            .unwrap_or_else(|| panic!("no link {text:?}: {page:#}"))
    };
    let home = "https://example.com/\"><script>alert('url')</script>";
    assert_eq!(
        href(home),
        home,
        "the home page is a link, its quote kept in the address"
    );
    assert_eq!(href("safe link"), "https://example.com/docs");
    assert_eq!(href("titled"), "https://example.com/");
    for dropped in [
        "markdown link",
        "data link",
        "tab link",
        "javascript:alert('autolink')",
        "an image",
    ] {
        assert_eq!(
            href(dropped),
            Value::Null,
            "{dropped} keeps its text, not its address"
        );
    }
    // The SBOM the page links to downloads as bytes, not as a page of the hub's origin.
    let sbom = links
        .iter()
        .filter_map(|link| link["href"].as_str())
        .find(|href| href.starts_with("/v2/policies/xss/blobs/"))
        .unwrap_or_else(|| panic!("no SBOM download: {page:#}"));
    let (status, headers, body) = hub.server.request("GET", sbom, "");
    assert!(status.contains(" 200 "), "{status}");
    assert!(
        headers
            .to_lowercase()
            .contains("content-type: application/octet-stream"),
        "{headers}"
    );
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), xss_sbom());
    let older = inert(&hub, "/hub/policies/policies/xss?tag=v1", None);
    assert_eq!(older["h1"], payload("title v1"));

    let diff = inert(&hub, "/hub/diff/policies/xss?from=v1&to=v2", None);
    assert_eq!(diff["status"], 200, "{diff:#}");
    assert_shows(
        &diff,
        &[
            &payload("title v1"),
            &payload("title v2"),
            &payload("annotation v1"),
            &payload("annotation v2"),
            "Namespace<svg onload=alert('kind v1')>",
            "pods<img src=x onerror=alert('resource v2')>",
        ],
    );
    let unknown = inert(
        &hub,
        &format!("/hub/diff/policies/xss?from={encoded}"),
        None,
    );
    assert_eq!(unknown["status"], 404, "{unknown:#}");
    assert_shows(&unknown, &[query]);
    let name = "policies/<script>alert('name')</script>";
    let missing = inert(&hub, &format!("/hub/policies/{}", url_encoded(name)), None);
    assert_eq!(missing["status"], 400, "{missing:#}");
    assert_shows(&missing, &[name]);

    let audited = inert(&hub, "/hub/policies/audited/xss", None);
    assert_shows(&audited, &["Not verified: ", rejected]);
    let waiting = inert(&hub, "/hub/pending", None);
    assert_shows(&waiting, &["trusted/xss:v1", rejected]);
    hub.stop();
}

/// `text` percent-encoded for a URL's path or query.
fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
