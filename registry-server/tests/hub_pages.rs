//! What a policy's hub page gives its author and its operators, in process (`oneshot`): the usage Markdown rendered
//! and sanitised, hostile markup inert in every field shown, the diff between two tags (page and JSON), the
//! `ClusterAdmissionPolicy` pinned by digest and the `palisade run` command, the `artifacthub-pkg.yml` that
//! `palisade scaffold artifacthub` writes, the packages and licenses of attached SPDX and CycloneDX SBOMs, and clear
//! answers to bad requests.

mod common;

use artifact::reference::PolicyRef;
use artifact::scaffold::artifacthub::{artifacthub_document, artifacthub_package};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::policies::{annotated, metadata, push_policy, push_policy_created, push_referrer};
use common::{Client, OCI_MANIFEST, Registry, Reply};
use registry_server::Storage;
use serde_json::{Value, json};

const HOST: &str = "hub.test:5000";

const V1: &str = r#"
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations: ["CREATE"]
mutating: false
protocolVersion: v1
contextAwareResources:
  - apiVersion: v1
    kind: Namespace
annotations:
  io.kubewarden.policy.title: pod-guard
  io.kubewarden.policy.version: 1.0.0
  io.kubewarden.policy.category: Security
  io.kubewarden.policy.severity: medium
  io.kubewarden.policy.usage: |
    # Settings

    - `replicas`: how many pods at most
    - **mode**: `strict` or `lenient`

    ```yaml
    replicas: 3
    ```

    See [the docs](https://docs.example/pod-guard) or [the tags](#tags).
"#;

/// V1 with a rule added, mutation on, the context-aware resource removed, a host capability added and the category
/// changed.
const V2: &str = r#"
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations: ["CREATE"]
  - apiGroups: ["apps"]
    apiVersions: ["v1"]
    resources: ["deployments"]
    operations: ["CREATE", "UPDATE"]
mutating: true
protocolVersion: v1
hostCapabilities: ["oci/v1/verify"]
annotations:
  io.kubewarden.policy.title: pod-guard
  io.kubewarden.policy.version: 2.0.0
  io.kubewarden.policy.category: Best practices
  io.kubewarden.policy.severity: medium
"#;

/// Markup where a policy's author controls text: the title, description, severity, an annotation, the rules,
/// the context-aware resources and the usage Markdown (scripts, `javascript:` links in several spellings, event
/// handlers, styles, frames, forms, entities).
const HOSTILE: &str = r#"
rules:
  - apiGroups: ["<svg onload=alert(5)>"]
    apiVersions: ["v1"]
    resources: ["<img src=x onerror=alert(6)>"]
    operations: ["CREATE"]
mutating: false
executionMode: opa
contextAwareResources:
  - apiVersion: "v1\"><script>alert(7)</script>"
    kind: "<b onmouseover=alert(8)>Namespace</b>"
annotations:
  io.kubewarden.policy.title: "<script>alert('title')</script>"
  io.kubewarden.policy.description: "<img src=x onerror=alert(1)>"
  io.kubewarden.policy.severity: "<script>alert(9)</script>"
  io.example/x: "</td><script>alert(4)</script>"
  io.kubewarden.policy.usage: |
    # <script>alert(10)</script> Heading

    [click](javascript:alert(11)) [case](JaVaScRiPt:alert(12)) [entity](&#106;avascript:alert(13))
    [spaced]( javascript:alert(24)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)

    <img src=x onerror=alert(14)> <a href="javascript:alert(15)" onclick="alert(16)">raw</a>
    <div style="background:url(javascript:alert(17))" onmouseover="alert(18)">styled</div>

    &lt;script&gt;alert(19)&lt;/script&gt;

    <iframe src="https://evil.example"></iframe><form action="https://evil.example"><input name=x></form>
    <svg><script>alert(25)</script></svg><math><mi xlink:href="javascript:alert(26)">x</mi></math>

    ![pixel](https://tracker.example/pixel.png "a pixel")
"#;

fn text(reply: &Reply) -> String {
    String::from_utf8(reply.body.clone()).unwrap()
}

/// A GET as a browser reaching the registry as [`HOST`].
async fn get(registry: &Client, uri: &str) -> Reply {
    registry
        .send(Method::GET, uri, &[("host", HOST)], Body::empty())
        .await
}

async fn api(registry: &Client, uri: &str) -> Value {
    let reply = get(registry, uri).await;
    assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", text(&reply));
    reply.json()
}

async fn page(registry: &Client, uri: &str) -> String {
    let reply = get(registry, uri).await;
    assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", text(&reply));
    assert!(
        reply
            .header("content-security-policy")
            .contains("default-src 'none'")
    );
    text(&reply)
}

/// Pushes `yaml`'s policy as `repo:tag`; returns its digest.
async fn push(registry: &Client, repo: &str, tag: &str, yaml: &str) -> String {
    let metadata = metadata(yaml);
    push_policy(registry, repo, tag, &annotated(&metadata), Some(&metadata)).await
}

/// The tags of `html`, from `<` to its `>` (outside quoted attribute values): every `<` the hub writes outside a
/// tag is escaped, so anything else found here is markup a browser would build.
fn tags(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let mut quoted = false;
        let end = rest[start..]
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '>' && !quoted
            })
            .map(|(i, _)| start + i + 1)
            .unwrap_or(rest.len());
        found.push(&rest[start..end]);
        rest = &rest[end..];
    }
    found
}

/// The attributes of a tag: name, and value if it has one.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let inner = tag.trim_start_matches('<').trim_end_matches('>');
    let mut attributes = Vec::new();
    let mut rest = inner
        .trim_start_matches(|c: char| !c.is_whitespace())
        .trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                value = quoted[..end].to_string();
                rest = quoted.get(end + 1..).unwrap_or("");
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                value = after[..end].to_string();
                rest = &after[end..];
            }
        }
        attributes.push((name, value));
        rest = rest.trim_start();
    }
    attributes
}

/// Asserts that `html` holds only the markup the hub writes itself: its one script and style, no element that
/// loads or runs anything, no event handler or style attribute, and links only to the web or the hub.
fn assert_inert(html: &str, uri: &str) {
    let tags = tags(html);
    let named = |name: &str| {
        tags.iter()
            .filter(|t| {
                t.to_ascii_lowercase()
                    .strip_prefix(&format!("<{name}"))
                    .is_some_and(|rest| rest.starts_with([' ', '>', '/']))
            })
            .count()
    };
    assert_eq!(
        named("script"),
        1,
        "only the hub's own script on {uri}:\n{html}"
    );
    assert_eq!(named("style"), 1, "only the hub's own style on {uri}");
    assert_eq!(named("input"), 1, "only the search box on {uri}");
    for element in [
        "img",
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "link",
        "base",
        "div style",
    ] {
        assert_eq!(named(element), 0, "<{element}> on {uri}:\n{html}");
    }
    for tag in &tags {
        for (name, value) in attributes(tag) {
            assert!(
                !name.starts_with("on") && name != "style" && !name.contains(':'),
                "attribute {name} in {tag} on {uri}"
            );
            if ["href", "src", "action", "xlink:href", "formaction"].contains(&name.as_str()) {
                assert!(
                    ["https://", "http://", "/", "#", "?"]
                        .iter()
                        .any(|scheme| value.starts_with(scheme)),
                    "{name}={value:?} in {tag} on {uri}"
                );
            }
        }
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("href=\"javascript"), "{uri}");
    assert!(!lower.contains("href=\"data:"), "{uri}");
}

#[tokio::test]
async fn usage_markdown_is_rendered() {
    let registry = Registry::new();
    push(&registry, "team/pod-guard", "v1", V1).await;
    let html = page(&registry, "/hub/policies/team/pod-guard").await;
    let rendered = "<div class=\"usage\">\n<h3>Settings</h3>\n<ul>\n\
        <li><code>replicas</code>: how many pods at most</li>\n\
        <li><strong>mode</strong>: <code>strict</code> or <code>lenient</code></li>\n</ul>\n\
        <pre><code>replicas: 3\n</code></pre>\n\
        <p>See <a href=\"https://docs.example/pod-guard\" rel=\"noopener noreferrer\">the docs</a> or \
        <a href=\"#tags\" rel=\"noopener noreferrer\">the tags</a>.</p>\n</div>";
    assert!(html.contains(rendered), "{html}");
    assert_inert(&html, "/hub/policies/team/pod-guard");

    let detail = api(&registry, "/hub/api/policies/team/pod-guard").await;
    assert!(
        detail["usage"]
            .as_str()
            .unwrap()
            .starts_with("# Settings\n")
    );
    let usage_html = detail["usage_html"].as_str().unwrap();
    assert!(rendered.contains(usage_html.trim_end()), "{usage_html}");
}

#[tokio::test]
async fn hostile_markup_is_inert_in_every_field() {
    let registry = Registry::new();
    let v1 = push(&registry, "evil", "v1", HOSTILE).await;
    push(
        &registry,
        "evil",
        "v2",
        &HOSTILE
            .replace("alert(9)", "alert(90)")
            .replace("mutating: false", "mutating: true"),
    )
    .await;
    let sbom = br#"{"spdxVersion":"SPDX-2.3","packages":[
        {"name":"<script>alert(20)</script>","versionInfo":"\"><svg onload=alert(22)>","licenseDeclared":"<img src=x onerror=alert(21)>"}]}"#;
    push_referrer(&registry, "evil", &v1, "application/spdx+json", sbom).await;

    let evil_tag = "%3Cscript%3Ealert(23)%3C%2Fscript%3E";
    for uri in [
        "/hub".to_string(),
        "/hub?q=%3Cscript%3E".to_string(),
        "/hub/policies/evil?tag=v1".to_string(),
        "/hub/policies/evil?tag=v2".to_string(),
        "/hub/diff/evil?from=v1&to=v2".to_string(),
        format!("/hub/diff/evil?from={evil_tag}"),
        format!("/hub/policies/evil?tag={evil_tag}"),
        format!("/hub/diff/evil?from=v1&to={evil_tag}"),
    ] {
        let reply = get(&registry, &uri).await;
        assert!(
            reply.status == StatusCode::OK || reply.status == StatusCode::NOT_FOUND,
            "{uri}: {}",
            reply.status
        );
        assert_inert(&text(&reply), &uri);
    }

    let html = page(&registry, "/hub/policies/evil?tag=v1").await;
    for shown_as_text in [
        "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;/td&gt;&lt;script&gt;alert(4)&lt;/script&gt;",
        "&lt;svg onload=alert(5)&gt;",
        "&lt;b onmouseover=alert(8)&gt;Namespace&lt;/b&gt;",
        "<td>&lt;script&gt;alert(20)&lt;/script&gt;</td><td>&quot;&gt;&lt;svg onload=alert(22)&gt;</td>\
         <td>&lt;img src=x onerror=alert(21)&gt;</td>",
        // An entity in the Markdown stays text.
        "<p>&lt;script&gt;alert(19)&lt;/script&gt;</p>",
        // The title cannot name a Kubernetes object: the resource is named after the repository.
        "name: evil",
    ] {
        assert!(
            html.contains(shown_as_text),
            "{shown_as_text} not in:\n{html}"
        );
    }
    // Links that are not to the web keep their text only; the image is a link to it, not loaded.
    assert!(
        html.contains("<a rel=\"noopener noreferrer\">click</a>"),
        "{html}"
    );
    assert!(
        html.contains(
            "<a href=\"https://tracker.example/pixel.png\" title=\"a pixel\" rel=\"noopener noreferrer\">pixel</a>"
        ),
        "{html}"
    );

    let detail = api(&registry, "/hub/api/policies/evil?tag=v1").await;
    let usage_html = detail["usage_html"].as_str().unwrap();
    assert_inert(
        &format!("<script></script><style></style><input>{usage_html}"),
        "usage_html",
    );
    assert_eq!(
        detail["title"], "<script>alert('title')</script>",
        "JSON keeps the text"
    );
    assert_eq!(
        detail["sbom_packages"][0]["packages"][0]["name"],
        "<script>alert(20)</script>"
    );
    let unknown = get(&registry, &format!("/hub/api/diff/evil?from={evil_tag}")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.header("content-type"), "application/json");
}

#[tokio::test]
async fn the_diff_shows_what_changed_between_two_tags() {
    let registry = Registry::new();
    let v1 = push(&registry, "team/pod-guard", "v1", V1).await;
    let v2 = push(&registry, "team/pod-guard", "v2", V2).await;
    push(&registry, "team/pod-guard", "latest", V2).await;

    let diff = api(&registry, "/hub/api/diff/team/pod-guard?from=v1&to=v2").await;
    assert_eq!(diff["from"]["tag"], "v1");
    assert_eq!(diff["from"]["digest"], v1.as_str());
    assert_eq!(diff["to"]["digest"], v2.as_str());
    assert_eq!(diff["same_manifest"], false);
    let changes = diff["changes"].as_array().unwrap();
    let of_metadata: Vec<&Value> = changes
        .iter()
        .filter(|c| c["field"] != "annotations")
        .collect();
    assert_eq!(
        of_metadata,
        [
            &json!({"field": "mutating", "kind": "changed", "from": "false", "to": "true"}),
            &json!({"field": "rules", "kind": "added", "from": null,
                    "to": r#"{"apiGroups":["apps"],"apiVersions":["v1"],"resources":["deployments"],"operations":["CREATE","UPDATE"]}"#}),
            &json!({"field": "contextAwareResources", "kind": "removed", "from": "v1/Namespace", "to": null}),
            &json!({"field": "hostCapabilities", "kind": "added", "from": null, "to": "oci/v1/verify"}),
        ],
        "{diff:#}"
    );
    let annotation = |key: &str| {
        changes
            .iter()
            .find(|c| c["field"] == "annotations" && c["key"] == key)
            .cloned()
    };
    assert_eq!(
        annotation("io.kubewarden.policy.category"),
        Some(
            json!({"field": "annotations", "key": "io.kubewarden.policy.category", "kind": "changed",
                    "from": "Security", "to": "Best practices"})
        )
    );
    assert_eq!(
        annotation("io.kubewarden.policy.usage").map(|c| c["kind"].clone()),
        Some(json!("removed"))
    );
    assert_eq!(
        annotation("io.kubewarden.policy.severity"),
        None,
        "unchanged"
    );

    let html = page(&registry, "/hub/diff/team/pod-guard?from=v1&to=v2").await;
    for expected in [
        "<h1>Changes in team/pod-guard</h1>",
        "<tr><td>mutating</td><td>changed</td><td><pre>false</pre></td><td><pre>true</pre></td></tr>",
        "<tr><td>rules</td><td>added</td><td></td><td><pre>{&quot;apiGroups&quot;:[&quot;apps&quot;],&quot;apiVersions&quot;:[&quot;v1&quot;],&quot;resources&quot;:[&quot;deployments&quot;],&quot;operations&quot;:[&quot;CREATE&quot;,&quot;UPDATE&quot;]}</pre></td></tr>",
        "<tr><td>contextAwareResources</td><td>removed</td><td><pre>v1/Namespace</pre></td><td></td></tr>",
        "<tr><td>annotations <code>io.kubewarden.policy.category</code></td><td>changed</td><td><pre>Security</pre></td><td><pre>Best practices</pre></td></tr>",
        "<option selected>v1</option>",
    ] {
        assert!(html.contains(expected), "{expected} not in:\n{html}");
    }

    // `to` defaults to the tag the policy's page shows first; the page links its comparison with the previous
    // tag that names another manifest (`latest` and `v2` name the same one).
    let defaulted = api(&registry, "/hub/api/diff/team/pod-guard?from=v1").await;
    assert_eq!(defaulted["to"]["tag"], "latest");
    let html = page(&registry, "/hub/policies/team/pod-guard?tag=v2").await;
    assert!(
        html.contains("<a href=\"/hub/diff/team/pod-guard?from=v1&amp;to=v2\">Compare with the previous tag</a>"),
        "{html}"
    );
    let detail = api(&registry, "/hub/api/policies/team/pod-guard?tag=v1").await;
    assert_eq!(
        detail["compare_with_previous"],
        Value::Null,
        "the first tag"
    );
    let same = api(&registry, "/hub/api/diff/team/pod-guard?from=v2&to=latest").await;
    assert_eq!(same["same_manifest"], true);
    assert_eq!(same["changes"], json!([]));
    assert!(
        page(&registry, "/hub/diff/team/pod-guard?from=v2&to=latest")
            .await
            .contains("nothing changed")
    );
}

#[tokio::test]
async fn the_cluster_admission_policy_is_pinned_by_digest() {
    let registry = Registry::new();
    let digest = push(&registry, "team/pod-guard", "v1", V1).await;
    let detail = api(&registry, "/hub/api/policies/team/pod-guard").await;
    let install = &detail["install"];
    let module = format!("registry://{HOST}/team/pod-guard@{digest}");
    assert_eq!(install["module"], module.as_str());
    let yaml = install["cluster_admission_policy"].as_str().unwrap();
    let resource: Value = serde_norway::from_str(yaml).unwrap();
    assert_eq!(
        resource,
        json!({
            "apiVersion": "policies.kubewarden.io/v1",
            "kind": "ClusterAdmissionPolicy",
            "metadata": {
                "annotations": {"io.kubewarden.policy.category": "Security", "io.kubewarden.policy.severity": "medium"},
                "name": "pod-guard",
            },
            "spec": {
                "module": module,
                "settings": {},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "operations": ["CREATE"]}],
                "mutating": false,
            },
        })
    );
    let notes = install["notes"].as_array().unwrap();
    assert!(
        notes.len() == 1
            && notes[0]
                .as_str()
                .unwrap()
                .contains("contextAwareResources is left empty"),
        "what the policy reads is the operator's decision: {notes:?}"
    );
    let run = install["run"].as_str().unwrap();
    assert_eq!(
        run,
        format!(
            "palisade run {module} --request-path request.json --verification-config verification-config.yml"
        )
    );
    let Ok(PolicyRef::Registry(reference)) = PolicyRef::parse(&module) else {
        panic!("{module} is not a registry reference");
    };
    assert_eq!(
        reference.digest.map(|d| d.to_string()),
        Some(digest.clone())
    );
    assert_eq!(reference.registry, HOST);

    let html = page(&registry, "/hub/policies/team/pod-guard").await;
    assert!(
        html.contains(
            "<pre><code>apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\n"
        ),
        "{html}"
    );
    assert!(html.contains(&format!("  module: {module}\n")));
    assert!(html.contains(&format!("<pre><code>{run}</code></pre>")));

    // Without metadata, the page says why there is no resource; the run command is still there.
    push_policy(
        &registry,
        "bare",
        "v1",
        common::policies::EMPTY_MODULE,
        None,
    )
    .await;
    let bare = api(&registry, "/hub/api/policies/bare").await;
    assert_eq!(bare["install"]["cluster_admission_policy"], Value::Null);
    assert!(
        bare["install"]["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("No ClusterAdmissionPolicy: ")
    );
    assert!(
        bare["install"]["run"]
            .as_str()
            .unwrap()
            .starts_with("palisade run registry://")
    );
}

/// The expected output of `palisade scaffold artifacthub -m metadata/artifacthub.yml` in the CLI's golden session,
/// without the questions it was also given, at `created_at`.
fn golden_artifacthub(created_at: &str) -> String {
    let session = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cli/tests/cmd/scaffold.md"
    ))
    .unwrap();
    let command = "$ palisade scaffold artifacthub --metadata-path metadata/artifacthub.yml --questions-path metadata/questions-ui.yml\n";
    let start = session.find(command).unwrap() + command.len();
    let output = &session[start..start + session[start..].find("\n```").unwrap()];
    let mut lines = Vec::new();
    let mut in_questions = false;
    for line in output.trim_end().lines() {
        if line.starts_with("  kubewarden/questions-ui:") {
            in_questions = true;
            continue;
        }
        if in_questions && line.starts_with("    ") {
            continue;
        }
        in_questions = false;
        lines.push(if line == "createdAt: [..]" {
            format!("createdAt: {created_at}")
        } else {
            line.to_string()
        });
    }
    lines.join("\n") + "\n"
}

#[tokio::test]
async fn artifacthub_package_is_what_palisade_scaffold_writes() {
    let registry = Registry::new();
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cli/tests/cmd/scaffold.in/metadata/artifacthub.yml"
    ))
    .unwrap();
    let published = metadata(&yaml);
    let created = "2026-01-02T03:04:05Z";
    push_policy_created(
        &registry,
        "policies/pod-guard",
        "v1.2.0",
        &annotated(&published),
        Some(&published),
        Some(created),
    )
    .await;

    let reply = get(
        &registry,
        "/hub/artifacthub-pkg/policies/pod-guard?tag=v1.2.0",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", text(&reply));
    assert_eq!(
        reply.header("content-type"),
        "application/yaml; charset=utf-8"
    );
    assert_eq!(
        reply.header("content-disposition"),
        "attachment; filename=\"artifacthub-pkg.yml\""
    );
    let document = text(&reply);
    assert_eq!(document, golden_artifacthub(created));
    let time = chrono::DateTime::parse_from_rfc3339(created)
        .unwrap()
        .to_utc();
    let same = artifacthub_document(&artifacthub_package(&published, time, None).unwrap()).unwrap();
    assert_eq!(document, same);
    let parsed: Value = serde_norway::from_str(&document).unwrap();
    assert_eq!(parsed["version"], "1.2.0");
    assert_eq!(
        parsed["containersImages"][0]["image"],
        "ghcr.io/palisade-example/policies/pod-guard:v1.2.0"
    );

    let detail = api(&registry, "/hub/api/policies/policies/pod-guard").await;
    assert_eq!(
        detail["artifacthub_package"],
        json!({"url": "/hub/artifacthub-pkg/policies/pod-guard?tag=v1.2.0", "problem": null})
    );
    let html = page(&registry, "/hub/policies/policies/pod-guard").await;
    assert!(html.contains(
        "<a href=\"/hub/artifacthub-pkg/policies/pod-guard?tag=v1.2.0\" download=\"artifacthub-pkg.yml\">"
    ));

    // Metadata without what Artifact Hub needs: the page says what is missing, the download is a 422 saying it.
    push(&registry, "team/pod-guard", "v1", V1).await;
    let refused = get(&registry, "/hub/artifacthub-pkg/team/pod-guard?tag=v1").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("`io.kubewarden.policy.ociUrl`"),
        "{message}"
    );
    let detail = api(&registry, "/hub/api/policies/team/pod-guard").await;
    assert_eq!(detail["artifacthub_package"]["url"], Value::Null);
    assert_eq!(detail["artifacthub_package"]["problem"], message.as_str());
    assert!(
        page(&registry, "/hub/policies/team/pod-guard")
            .await
            .contains("needs the annotation `io.kubewarden.policy.ociUrl`")
    );
}

/// Real SBOMs of `pod-guard`, written by `palisade sbom` (see testdata/sbom/README.md).
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../testdata/sbom/documents/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Pushes `document` as cosign's `.sbom` image of `subject`.
async fn push_cosign_sbom(registry: &Client, repo: &str, subject: &str, document: &[u8]) {
    let config = registry.push_blob(repo, b"{}").await;
    let layer = registry.push_blob(repo, document).await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2 },
        "layers": [{ "mediaType": "application/vnd.cyclonedx+json", "digest": layer, "size": document.len() }],
    });
    let tag = format!("{}.sbom", subject.replace(':', "-"));
    registry
        .put_manifest(repo, &tag, OCI_MANIFEST, &manifest)
        .await;
}

#[tokio::test]
async fn sbom_packages_and_licenses_from_spdx_and_cyclonedx() {
    let registry = Registry::new();
    let digest = push(&registry, "team/pod-guard", "v1", V1).await;
    let (_, spdx_layer) = push_referrer(
        &registry,
        "team/pod-guard",
        &digest,
        "application/spdx+json",
        &fixture("pod-guard.spdx.json"),
    )
    .await;
    push_cosign_sbom(
        &registry,
        "team/pod-guard",
        &digest,
        &fixture("pod-guard.cdx.json"),
    )
    .await;

    let detail = api(&registry, "/hub/api/policies/team/pod-guard").await;
    let sboms = detail["sbom_packages"].as_array().unwrap();
    assert_eq!(sboms.len(), 2, "{detail:#}");
    let rows = |sbom: &Value| -> Vec<(String, String, String)> {
        sbom["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let field = |name: &str| p[name].as_str().unwrap_or("-").to_string();
                (field("name"), field("version"), field("license"))
            })
            .collect()
    };
    let crates = [
        ("itoa", "1.0.19", "MIT OR Apache-2.0"),
        ("libc", "0.2.191", "MIT OR Apache-2.0"),
        ("memchr", "2.8.3", "Unlicense OR MIT"),
        ("ryu", "1.0.23", "Apache-2.0 OR BSL-1.0"),
    ];
    let expected = |policy_license: &str| {
        let mut all = vec![(
            "pod-guard".to_string(),
            "1.2.0".to_string(),
            policy_license.to_string(),
        )];
        all.extend(
            crates
                .iter()
                .map(|(n, v, l)| (n.to_string(), v.to_string(), l.to_string())),
        );
        all
    };
    let cosign = &sboms[0];
    assert_eq!(cosign["kind"], "cosign-sbom");
    assert_eq!(cosign["format"], "CycloneDX 1.6");
    assert_eq!(cosign["problem"], Value::Null);
    assert_eq!(rows(cosign), expected("Apache-2.0"));
    let spdx = &sboms[1];
    assert_eq!(spdx["kind"], "spdx");
    assert_eq!(spdx["format"], "SPDX-2.3");
    assert_eq!(spdx["document"], spdx_layer.as_str());
    assert_eq!(rows(spdx), expected("Apache-2.0"));

    let html = page(&registry, "/hub/policies/team/pod-guard").await;
    assert!(html.contains("<caption>5 packages</caption>"), "{html}");
    assert!(html.contains("<tr><td>memchr</td><td>2.8.3</td><td>Unlicense OR MIT</td></tr>"));

    // Read once: the listing is saved under the document's digest, for every server.
    let key = format!(
        "hub/sbom-packages-v1/sha256/{}",
        &spdx_layer["sha256:".len()..]
    );
    assert!(registry.storage.derived(&key).await.unwrap().is_some());
}

#[tokio::test]
async fn unreadable_sboms_are_noted_not_failed() {
    let registry = Registry::new();
    let digest = push(&registry, "team/pod-guard", "v1", V1).await;
    push_referrer(
        &registry,
        "team/pod-guard",
        &digest,
        "application/vnd.cyclonedx+json",
        b"{\"bomFormat\": \"CycloneDX\", \"components\": [tru",
    )
    .await;
    let too_large = vec![b' '; 16 * 1024 * 1024 + 1];
    push_referrer(
        &registry,
        "team/pod-guard",
        &digest,
        "application/spdx+json",
        &too_large,
    )
    .await;

    let reply = get(&registry, "/hub/policies/team/pod-guard").await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = text(&reply);
    assert!(
        html.contains("the SBOM document cannot be read: "),
        "{html}"
    );
    assert!(
        html.contains("more than the 16777216 the hub reads"),
        "{html}"
    );
    let detail = api(&registry, "/hub/api/policies/team/pod-guard").await;
    let problems: Vec<&str> = detail["sbom_packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["problem"].as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 2, "{detail:#}");
    assert!(problems.iter().all(|p| p.starts_with("the SBOM document ")));
}

#[tokio::test]
async fn bad_requests_get_clear_answers() {
    let registry = Registry::new();
    push(&registry, "team/pod-guard", "v1", V1).await;
    push(&registry, "team/pod-guard", "v2", V2).await;
    for (uri, status, says) in [
        (
            "/hub/api/diff/team/pod-guard",
            StatusCode::BAD_REQUEST,
            "`from` must name the tag",
        ),
        (
            "/hub/api/diff/team/pod-guard?to=v2&from=",
            StatusCode::BAD_REQUEST,
            "`from` must name the tag",
        ),
        (
            "/hub/api/diff/team/pod-guard?from=v9",
            StatusCode::NOT_FOUND,
            "manifest v9 is not in this repository",
        ),
        (
            "/hub/api/diff/team/pod-guard?from=v1&to=v9",
            StatusCode::NOT_FOUND,
            "v9",
        ),
        (
            "/hub/api/diff/team/nothing?from=v1",
            StatusCode::NOT_FOUND,
            "team/nothing",
        ),
        (
            "/hub/api/diff/Bad..Name?from=v1",
            StatusCode::BAD_REQUEST,
            "invalid repository name",
        ),
        (
            "/hub/artifacthub-pkg/team/pod-guard?tag=v9",
            StatusCode::NOT_FOUND,
            "v9",
        ),
        (
            "/hub/artifacthub-pkg/team/nothing",
            StatusCode::NOT_FOUND,
            "team/nothing",
        ),
    ] {
        let reply = get(&registry, uri).await;
        assert_eq!(reply.status, status, "{uri}: {}", text(&reply));
        let message = reply.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(says), "{uri}: {message}");
    }
    for (uri, status, says) in [
        (
            "/hub/diff/team/pod-guard",
            StatusCode::BAD_REQUEST,
            "`from` must name the tag",
        ),
        (
            "/hub/diff/team/pod-guard?from=v9",
            StatusCode::NOT_FOUND,
            "manifest v9 is not in this repository",
        ),
        (
            "/hub/diff/team/nothing?from=v1",
            StatusCode::NOT_FOUND,
            "No policy in repository team/nothing",
        ),
    ] {
        let reply = get(&registry, uri).await;
        assert_eq!(reply.status, status, "{uri}");
        assert!(text(&reply).contains(says), "{uri}: {}", text(&reply));
    }
    let twice = get(&registry, "/hub/api/diff/team/pod-guard?from=v1&from=v2").await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST, "{}", text(&twice));
}
