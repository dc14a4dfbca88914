//! The web hub, in process (`oneshot`, no socket): listing, search and its filters, policy pages and their JSON,
//! signatures and SBOMs with working download links, escaping, freshness after pushes and deletes, access control.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use common::policies::{EMPTY_MODULE, annotated, metadata, push_policy, push_referrer};
use common::{Client, OCI_MANIFEST, Registry, Reply, SharedServers, on_both_storages, sha256};
use registry_server::auth::{Action, Auth, AuthConfig, Rule};
use registry_server::{AppState, Config, Limits, LocalStorage, Storage, app};
use serde_json::{Value, json};

const POD_GUARD: &str = r##"
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations: ["CREATE", "UPDATE"]
mutating: false
executionMode: opa
annotations:
  io.kubewarden.policy.title: pod-guard
  io.kubewarden.policy.description: Refuses privileged pods
  io.kubewarden.policy.author: Palisade Authors
  io.kubewarden.policy.license: Apache-2.0
  io.kubewarden.policy.source: https://palisade.example/src/pod-guard
  io.kubewarden.policy.category: Security
  io.kubewarden.policy.usage: "# Settings\n\nNone. The word replicas appears only here.\n"
"##;

const LABELER: &str = r#"
rules:
  - apiGroups: ["apps"]
    apiVersions: ["v1"]
    resources: ["deployments", "deployments/scale"]
    operations: ["CREATE"]
mutating: true
annotations:
  io.kubewarden.policy.title: labeler
  io.kubewarden.policy.description: Adds an owner label to pods of deployments
"#;

/// Pushes cosign's `.sig` image for `subject`.
async fn push_cosign_signature(registry: &Client, repo: &str, subject: &str) -> String {
    let config = registry.push_blob(repo, b"{}").await;
    let payload = registry.push_blob(repo, b"{\"critical\":{}}").await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2 },
        "layers": [{ "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": payload, "size": 15 }],
    });
    let tag = format!("{}.sig", subject.replace(':', "-"));
    registry
        .put_manifest(repo, &tag, OCI_MANIFEST, &manifest)
        .await;
    tag
}

async fn api(registry: &Client, uri: &str) -> Value {
    let reply = registry.get(uri).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

async fn found(registry: &Client, query: &str) -> Vec<String> {
    let uri = format!(
        "/hub/api/policies?q={}",
        query.replace(' ', "+").replace(':', "%3A")
    );
    api(registry, &uri).await["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["repository"].as_str().unwrap().to_string())
        .collect()
}

fn text(reply: &Reply) -> String {
    String::from_utf8(reply.body.clone()).unwrap()
}

/// A registry on a folder, [`populate`]d.
async fn populated() -> (Registry, String) {
    let registry = Registry::new();
    let digest = populate(&registry).await;
    (registry, digest)
}

/// Pushes two policies, a container image, and a cosign signature of the first policy; returns its digest.
async fn populate(registry: &Client) -> String {
    let guard = metadata(POD_GUARD);
    let labeler = metadata(LABELER);
    let digest = push_policy(
        registry,
        "team/pod-guard",
        "v1.2.0",
        &annotated(&guard),
        Some(&guard),
    )
    .await;
    push_policy(
        registry,
        "team/pod-guard",
        "v1.10.0",
        &annotated(&guard),
        Some(&guard),
    )
    .await;
    push_policy(
        registry,
        "labeler",
        "latest",
        &annotated(&labeler),
        Some(&labeler),
    )
    .await;
    registry.push_image("images/app", "v1", &[b"layer"]).await;
    push_cosign_signature(registry, "team/pod-guard", &digest).await;
    digest
}

#[tokio::test]
async fn lists_policies_and_not_other_artifacts() {
    let (registry, digest) = populated().await;
    push_referrer(
        &registry,
        "team/pod-guard",
        &digest,
        "application/spdx+json",
        b"{\"spdxVersion\":\"SPDX-2.3\"}",
    )
    .await;

    let root = registry.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.header("location"), "/hub");

    let listing = api(&registry, "/hub/api/policies").await;
    let policies = listing["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 2, "{listing:#}");
    let guard = &policies[1];
    assert_eq!(guard["repository"], "team/pod-guard");
    assert_eq!(guard["tag"], "v1.10.0", "the newest version is shown");
    assert_eq!(guard["tags"], 2);
    assert_eq!(guard["title"], "pod-guard");
    assert_eq!(guard["execution_mode"], "opa");
    assert_eq!(guard["mutating"], false);
    assert_eq!(guard["resources"], json!(["pods"]));
    assert_eq!(guard["signed"], true);
    assert_eq!(guard["sbom"], true);
    assert_eq!(guard["page"], "/hub/policies/team/pod-guard");
    assert_eq!(policies[0]["repository"], "labeler");
    assert_eq!(policies[0]["execution_mode"], "kubewarden-wapc");
    assert_eq!(policies[0]["signed"], false);

    let page = registry.get("/hub").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(
        page.header("content-security-policy")
            .contains("default-src 'none'")
    );
    let html = text(&page);
    assert!(html.contains("<a href=\"/hub/policies/team/pod-guard\">team/pod-guard</a>"));
    assert!(html.contains("2 policies"));
    assert!(
        !html.contains("images/app"),
        "container images are not policies"
    );
    assert!(!html.contains(".sig"), "signatures are not policies");
}

/// On every storage: the folder's SQLite (FTS5) and PostgreSQL (`tsvector`) must agree.
async fn search_matches_words_and_filters_by_relevance(registry: &Client) {
    populate(registry).await;
    let registry = registry.clone();
    assert_eq!(found(&registry, "").await, ["labeler", "team/pod-guard"]);
    assert_eq!(found(&registry, "POD-GUARD").await, ["team/pod-guard"]);
    // In the name and title of one, in the description of the other: the name ranks first.
    assert_eq!(found(&registry, "pod").await, ["team/pod-guard", "labeler"]);
    assert_eq!(found(&registry, "labeler pods").await, ["labeler"]);
    assert!(
        found(&registry, "labeler security").await.is_empty(),
        "every word must match"
    );
    assert_eq!(found(&registry, "security").await, ["team/pod-guard"]);
    assert_eq!(found(&registry, "replicas").await, ["team/pod-guard"]);
    assert_eq!(found(&registry, "deployments/scale").await, ["labeler"]);
    assert_eq!(found(&registry, "mutating").await, ["labeler"]);
    assert_eq!(found(&registry, "mutating:true").await, ["labeler"]);
    assert_eq!(found(&registry, "mutating:false").await, ["team/pod-guard"]);
    assert_eq!(found(&registry, "mode:opa").await, ["team/pod-guard"]);
    assert_eq!(found(&registry, "mode:wapc").await, ["labeler"]);
    assert_eq!(found(&registry, "kind:Pod").await, ["team/pod-guard"]);
    let everything = metadata(
        "rules:\n  - {apiGroups: [\"*\"], apiVersions: [\"*\"], resources: [\"*\"], operations: [\"*\"]}\nmutating: false\n",
    );
    push_policy(
        &registry,
        "audit",
        "v1",
        &annotated(&everything),
        Some(&everything),
    )
    .await;
    assert_eq!(
        found(&registry, "kind:pods").await,
        ["team/pod-guard", "audit"],
        "a rule naming pods ranks above a wildcard"
    );
    assert_eq!(
        found(&registry, "kind:Deployment").await,
        ["labeler", "audit"]
    );
    assert_eq!(found(&registry, "signed:true").await, ["team/pod-guard"]);
    assert_eq!(found(&registry, "signed:false label").await, ["labeler"]);
    assert_eq!(found(&registry, "signed:false").await, ["audit", "labeler"]);

    let bad = registry.get("/hub/api/policies?q=mode%3Arego").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let message = bad.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("`mode:` takes opa"), "{message}");
    let page = registry.get("/hub?q=mutating%3Amaybe").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(text(&page).contains("`mutating:` takes true or false, not &quot;maybe&quot;"));

    let html = text(&registry.get("/hub?q=kind%3APod").await);
    assert!(html.contains("2 policies"));
    assert!(
        html.contains("value=\"kind:Pod\""),
        "the search box keeps the query"
    );
}

#[tokio::test]
async fn a_policy_page_shows_everything_with_working_downloads() {
    let (registry, digest) = populated().await;
    let sbom = b"{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"pod-guard\"}";
    let (_, sbom_layer) = push_referrer(
        &registry,
        "team/pod-guard",
        &digest,
        "application/spdx+json",
        sbom,
    )
    .await;
    let (bundle, bundle_layer) = push_referrer(
        &registry,
        "team/pod-guard",
        &digest,
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        b"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"}",
    )
    .await;

    let uri = "/hub/api/policies/team/pod-guard?tag=v1.2.0";
    let reply = registry
        .send(
            Method::GET,
            uri,
            &[("host", "hub.test:5000")],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let detail = reply.json();
    assert_eq!(detail["reference"], "hub.test:5000/team/pod-guard:v1.2.0");
    assert_eq!(
        detail["pull"],
        "palisade pull hub.test:5000/team/pod-guard:v1.2.0"
    );
    assert_eq!(detail["digest"], digest.as_str());
    assert_eq!(detail["title"], "pod-guard");
    assert_eq!(detail["author"], "Palisade Authors");
    assert_eq!(detail["license"], "Apache-2.0");
    assert_eq!(detail["source"], "https://palisade.example/src/pod-guard");
    assert_eq!(detail["execution_mode"], "opa");
    assert_eq!(detail["mutating"], false);
    assert_eq!(detail["rules"][0]["resources"], json!(["pods"]));
    assert_eq!(
        detail["rules"][0]["operations"],
        json!(["CREATE", "UPDATE"])
    );
    assert!(
        detail["usage"]
            .as_str()
            .unwrap()
            .starts_with("# Settings\n")
    );
    assert_eq!(detail["metadata_problem"], Value::Null);
    let tags: Vec<&str> = detail["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v1.2.0", "v1.10.0"]);

    let signatures = detail["signatures"].as_array().unwrap();
    let kinds: Vec<&str> = signatures
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cosign", "sigstore-bundle"]);
    let sig_tag = format!("{}.sig", digest.replace(':', "-"));
    assert_eq!(signatures[0]["tag"], sig_tag.as_str());
    assert_eq!(
        signatures[0]["url"],
        format!("/v2/team/pod-guard/manifests/{sig_tag}").as_str()
    );
    assert_eq!(signatures[1]["manifest"], bundle.as_str());
    assert_eq!(
        signatures[1]["url"],
        format!("/v2/team/pod-guard/blobs/{bundle_layer}").as_str()
    );
    let sboms = detail["sboms"].as_array().unwrap();
    assert_eq!(sboms.len(), 1);
    assert_eq!(sboms[0]["kind"], "spdx");
    let download = registry.get(sboms[0]["url"].as_str().unwrap()).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, sbom);
    assert_eq!(sboms[0]["document"], sbom_layer.as_str());
    let signature = registry.get(signatures[0]["url"].as_str().unwrap()).await;
    assert_eq!(signature.status, StatusCode::OK);

    let page = registry
        .send(
            Method::GET,
            "/hub/policies/team/pod-guard?tag=v1.2.0",
            &[("host", "hub.test:5000")],
            Body::empty(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = text(&page);
    for expected in [
        "<h1>pod-guard</h1>",
        "<pre><code>palisade pull hub.test:5000/team/pod-guard:v1.2.0</code></pre>",
        &format!("<code>{digest}</code>"),
        "<a href=\"https://palisade.example/src/pod-guard\" rel=\"noopener noreferrer\">",
        "<td>&quot;&quot; (core)</td><td>v1</td><td>pods</td><td>CREATE, UPDATE</td>",
        "<div class=\"usage\">\n<h3>Settings</h3>\n<p>None. The word replicas appears only here.</p>\n</div>",
        "<a href=\"/hub/policies/team/pod-guard?tag=v1.2.0\" aria-current=\"page\">v1.2.0</a>",
        &format!("href=\"/v2/team/pod-guard/blobs/{sbom_layer}\" download"),
        "<dt>Execution mode</dt><dd>opa</dd>",
        "<dt>Mutating</dt><dd>no</dd>",
    ] {
        assert!(html.contains(expected), "{expected} missing from:\n{html}");
    }
    assert!(
        !html.contains("# Settings"),
        "the usage is rendered Markdown"
    );
}

#[tokio::test]
async fn markup_in_annotations_is_shown_as_text() {
    let registry = Registry::new();
    let hostile = metadata(
        r#"
rules: []
mutating: false
annotations:
  io.kubewarden.policy.title: "<script>alert('title')</script>"
  io.kubewarden.policy.description: "<img src=x onerror=alert(1)>"
  io.kubewarden.policy.source: "javascript:alert(1)"
  io.kubewarden.policy.url: "https://example.com/\"><script>alert(2)</script>"
  io.kubewarden.policy.usage: "<b>bold</b> and **markdown**\n<script>alert(3)</script>"
  io.example/x: "</td><script>alert(4)</script>"
"#,
    );
    push_policy(
        &registry,
        "evil",
        "v1",
        &annotated(&hostile),
        Some(&hostile),
    )
    .await;
    for uri in ["/hub", "/hub/policies/evil", "/hub?q=script"] {
        let html = text(&registry.get(uri).await);
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the hub's own script on {uri}:\n{html}"
        );
        assert!(!html.contains("<img"), "{uri}");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"),
            "{uri}"
        );
    }
    let html = text(&registry.get("/hub/policies/evil").await);
    assert!(html.contains("<dd>javascript:alert(1)</dd>"), "not a link");
    assert!(!html.contains("href=\"javascript"));
    assert!(html.contains("<b>bold</b> and <strong>markdown</strong>"));
    assert!(html.contains("href=\"https://example.com/&quot;&gt;&lt;script&gt;"));
    let detail = api(&registry, "/hub/api/policies/evil").await;
    assert_eq!(detail["title"], "<script>alert('title')</script>");
}

#[tokio::test]
async fn pages_follow_pushes_and_deletes() {
    let registry = Registry::new();
    assert!(found(&registry, "").await.is_empty());
    assert!(text(&registry.get("/hub").await).contains("No policies yet"));

    let guard = metadata(POD_GUARD);
    let first = push_policy(
        &registry,
        "pod-guard",
        "v1",
        &annotated(&guard),
        Some(&guard),
    )
    .await;
    assert_eq!(found(&registry, "").await, ["pod-guard"]);

    let labeler = metadata(LABELER);
    let second = push_policy(
        &registry,
        "pod-guard",
        "v2",
        &annotated(&labeler),
        Some(&labeler),
    )
    .await;
    let detail = api(&registry, "/hub/api/policies/pod-guard").await;
    assert_eq!(detail["tag"], "v2");
    assert_eq!(detail["title"], "labeler");
    assert_eq!(detail["signatures"], json!([]));
    push_cosign_signature(&registry, "pod-guard", &second).await;
    let detail = api(&registry, "/hub/api/policies/pod-guard").await;
    assert_eq!(detail["signatures"][0]["kind"], "cosign");

    let deleted = registry
        .send(
            Method::DELETE,
            &format!("/v2/pod-guard/manifests/{second}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    let detail = api(&registry, "/hub/api/policies/pod-guard").await;
    assert_eq!(detail["tag"], "v1");
    assert_eq!(detail["digest"], first.as_str());
    let untagged = registry
        .send(
            Method::DELETE,
            "/v2/pod-guard/manifests/v1",
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(untagged.status, StatusCode::ACCEPTED);
    assert!(found(&registry, "").await.is_empty());
    assert_eq!(
        registry.get("/hub/policies/pod-guard").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn modules_without_metadata_are_listed_with_the_reason() {
    let registry = Registry::new();
    push_policy(&registry, "bare", "v1", EMPTY_MODULE, None).await;
    let detail = api(&registry, "/hub/api/policies/bare").await;
    assert_eq!(detail["title"], Value::Null);
    assert_eq!(detail["execution_mode"], Value::Null);
    assert!(
        detail["metadata_problem"]
            .as_str()
            .unwrap()
            .contains("no `io.kubewarden.metadata` section")
    );
    let html = text(&registry.get("/hub/policies/bare").await);
    assert!(html.contains("<h1>bare</h1>"));
    assert!(html.contains("No metadata shown"));
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let (registry, _) = populated().await;
    for (uri, status, needle) in [
        (
            "/hub/api/policies/NOT%20valid",
            StatusCode::BAD_REQUEST,
            "invalid repository name",
        ),
        (
            "/hub/api/policies/missing",
            StatusCode::NOT_FOUND,
            "repository missing is unknown",
        ),
        (
            "/hub/api/policies/images/app",
            StatusCode::NOT_FOUND,
            "images/app",
        ),
        (
            "/hub/api/policies/labeler?tag=v9",
            StatusCode::NOT_FOUND,
            "manifest v9",
        ),
    ] {
        let reply = registry.get(uri).await;
        assert_eq!(reply.status, status, "{uri}");
        let message = reply.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(needle), "{uri}: {message}");
    }
    let page = registry.get("/hub/policies/labeler?tag=v9").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(text(&page).contains("manifest v9 is not in this repository"));
    let page = registry.get("/hub/policies/missing").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(text(&page).contains("No policy in repository missing."));
}

/// A registry on `root` where anonymous clients may do nothing, alice may pull `team/*` and bob may pull
/// everything.
fn secured(root: &std::path::Path) -> axum::Router {
    let htpasswd = root.join("htpasswd");
    let alice = bcrypt::hash("alice-pw", 4).unwrap();
    let bob = bcrypt::hash("bob-pw", 4).unwrap();
    std::fs::write(&htpasswd, format!("alice:{alice}\nbob:{bob}\n")).unwrap();
    let config = AuthConfig {
        anonymous: Vec::new(),
        htpasswd: Some(htpasswd),
        rules: vec![
            Rule {
                prefix: "team".into(),
                users: vec!["alice".into()],
                actions: vec![Action::Pull],
            },
            Rule {
                prefix: "".into(),
                users: vec!["bob".into()],
                actions: vec![Action::Pull],
            },
        ],
        ..Default::default()
    };
    let limits = Limits {
        max_manifest_bytes: 1 << 20,
        max_requests_in_flight: None,
    };
    app(AppState::new(
        Arc::new(LocalStorage::new(root)),
        limits,
        Auth::from_config(&config, false).unwrap(),
    ))
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[tokio::test]
async fn the_hub_applies_the_registry_access_rules() {
    let (open, _) = populated().await;
    let router = secured(open.dir.path());
    let send = |uri: &str, authorization: Option<String>| {
        let mut request = axum::http::Request::builder().uri(uri);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let router = router.clone();
        let request = request.body(Body::empty()).unwrap();
        async move {
            use tower::ServiceExt;
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string());
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, challenge, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    for uri in ["/hub", "/hub/api/policies", "/hub/policies/labeler"] {
        let (status, challenge, _) = send(uri, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            challenge.as_deref(),
            Some("Basic realm=\"Palisade hub\", charset=\"UTF-8\""),
            "{uri}"
        );
        let (status, _, _) = send(uri, Some(basic("alice", "wrong"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let names = |body: &str| -> Vec<String> {
        serde_json::from_str::<Value>(body).unwrap()["policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["repository"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, _, body) = send("/hub/api/policies", Some(basic("alice", "alice-pw"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&body), ["team/pod-guard"]);
    let (status, _, body) = send("/hub/api/policies", Some(basic("bob", "bob-pw"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&body), ["labeler", "team/pod-guard"]);
    let (status, _, _) = send("/hub/policies/labeler", Some(basic("alice", "alice-pw"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "hidden like a missing one");
    let (status, _, html) = send("/hub", Some(basic("alice", "alice-pw"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("team/pod-guard") && !html.contains("labeler"));
}

#[tokio::test]
async fn the_hub_can_be_turned_off() {
    let config = Config::from_yaml("hub: false\n").unwrap();
    assert!(!config.hub);
    assert!(Config::default().hub, "on by default");
    let root = tempfile::tempdir().unwrap();
    let config = Config {
        root: root.path().to_path_buf(),
        ..config
    };
    let router = app(AppState::from_config(&config).unwrap());
    for uri in ["/", "/hub", "/hub/api/policies"] {
        use tower::ServiceExt;
        let request = axum::http::Request::builder()
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn a_module_is_read_once_per_digest() {
    let registry = Registry::new();
    let guard = metadata(POD_GUARD);
    let module = annotated(&guard);
    let digest = push_policy(&registry, "a", "v1", &module, Some(&guard)).await;
    assert_eq!(
        api(&registry, "/hub/api/policies/a").await["title"],
        "pod-guard"
    );
    // Without the module's bytes, only the cached description can still name the policy after the rebuild that
    // the signature's push causes.
    let hex = sha256(&module).trim_start_matches("sha256:").to_string();
    std::fs::remove_file(registry.dir.path().join("blobs/sha256").join(hex)).unwrap();
    push_cosign_signature(&registry, "a", &digest).await;
    let detail = api(&registry, "/hub/api/policies/a").await;
    assert_eq!(
        detail["signatures"][0]["kind"], "cosign",
        "the repository was rebuilt"
    );
    assert_eq!(detail["title"], "pod-guard");
    assert_eq!(detail["metadata_problem"], Value::Null);
}

#[tokio::test]
async fn a_restarted_server_does_not_read_modules_again() {
    let mut registry = Registry::new();
    let guard = metadata(POD_GUARD);
    let module = annotated(&guard);
    push_policy(&registry, "a", "v1", &module, Some(&guard)).await;
    assert_eq!(
        api(&registry, "/hub/api/policies/a").await["title"],
        "pod-guard"
    );
    let hex = sha256(&module).trim_start_matches("sha256:").to_string();
    std::fs::remove_file(registry.dir.path().join("blobs/sha256").join(hex)).unwrap();
    registry.restart();
    let detail = api(&registry, "/hub/api/policies/a").await;
    assert_eq!(
        detail["title"], "pod-guard",
        "the saved description, not the module"
    );
    assert_eq!(detail["metadata_problem"], Value::Null);
}

#[tokio::test]
async fn every_replica_on_shared_storage_shows_what_any_replica_took() {
    let servers = SharedServers::start();
    let replicas = servers.replicas("hub", 2).await;
    let (a, b) = (&replicas[0].1, &replicas[1].1);
    let guard = metadata(POD_GUARD);
    let module = annotated(&guard);
    assert_eq!(found(b, "").await, Vec::<String>::new());
    push_policy(a, "team/guard", "v1", &module, Some(&guard)).await;
    assert_eq!(found(b, "guard").await, ["team/guard"]);
    assert_eq!(api(b, "/hub/api/policies/team/guard").await["tag"], "v1");

    push_policy(a, "team/guard", "v2", &module, Some(&guard)).await;
    assert_eq!(
        api(b, "/hub/api/policies/team/guard").await["tag"],
        "v2",
        "a new tag shows on the other replica at once"
    );
    for tag in ["v1", "v2"] {
        let deleted = b
            .send(
                Method::DELETE,
                &format!("/v2/team/guard/manifests/{tag}"),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(deleted.status, StatusCode::ACCEPTED);
    }
    assert_eq!(
        found(a, "guard").await,
        Vec::<String>::new(),
        "and so does a delete"
    );
    // A third replica, as after a restart, describes the policy from the saved description, not the module.
    push_policy(a, "team/guard", "v3", &module, Some(&guard)).await;
    assert_eq!(found(a, "guard").await, ["team/guard"]);
    let fresh = servers.replicas_of("hub", 1).await.remove(0).1;
    assert_eq!(
        api(&fresh, "/hub/api/policies/team/guard").await["title"],
        "pod-guard"
    );
}

async fn long_lists_come_in_pages_with_links(registry: &Client) {
    let registry = registry.clone();
    let guard = metadata(POD_GUARD);
    let module = annotated(&guard);
    for n in 1..=5 {
        push_policy(&registry, &format!("p{n}"), "v1", &module, Some(&guard)).await;
    }
    let reply = registry
        .get("/hub/api/policies?q=guard&per_page=2&page=2")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(
        (body["total"].as_u64(), body["page"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(body["policies"].as_array().unwrap().len(), 2);
    let link = reply.header("link");
    for (page, rel) in [(1, "first"), (1, "prev"), (3, "next"), (3, "last")] {
        assert!(
            link.contains(&format!(
                "</hub/api/policies?q=guard&page={page}&per_page=2>; rel=\"{rel}\""
            )),
            "{link}"
        );
    }
    let mut all = Vec::new();
    for page in 1..=3 {
        all.push(
            api(
                &registry,
                &format!("/hub/api/policies?q=guard&per_page=2&page={page}"),
            )
            .await,
        );
    }
    let mut names: Vec<String> = all
        .iter()
        .flat_map(|page| page["policies"].as_array().unwrap().clone())
        .map(|p| p["repository"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["p1", "p2", "p3", "p4", "p5"],
        "every policy on exactly one page"
    );
    let last = registry.get("/hub/api/policies?per_page=2&page=3").await;
    assert!(!last.header("link").contains("rel=\"next\""));

    let html = text(&registry.get("/hub?per_page=2").await);
    assert!(html.contains("5 policies, page 1 of 3"), "{html}");
    assert!(
        html.contains("<a rel=\"next\" href=\"/hub?q=&amp;page=2&amp;per_page=2\">Next</a>"),
        "{html}"
    );

    for bad in ["page=0", "page=two", "per_page=-3"] {
        let reply = registry.get(&format!("/hub/api/policies?{bad}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        let name = bad.split('=').next().unwrap();
        assert!(
            reply.json()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")),
            "{bad}"
        );
        assert_eq!(
            registry.get(&format!("/hub?{bad}")).await.status,
            StatusCode::BAD_REQUEST
        );
    }
}

#[tokio::test]
async fn another_process_writing_the_folder_shows_at_once() {
    let registry = Registry::new();
    let guard = metadata(POD_GUARD);
    let module = annotated(&guard);
    push_policy(&registry, "a", "v1", &module, Some(&guard)).await;
    assert_eq!(found(&registry, "guard").await, ["a"]);
    // Another server on the same folder, as `palisade registry gc` or a second `serve` would be.
    let other = Registry::on(registry.dir.path());
    push_policy(&other, "b", "v1", &module, Some(&guard)).await;
    let deleted = other
        .send(Method::DELETE, "/v2/a/manifests/v1", &[], Body::empty())
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert_eq!(found(&registry, "guard").await, ["b"]);
}

#[tokio::test]
async fn a_restart_reads_no_repository_again() {
    let mut registry = Registry::new();
    populate(&registry).await;
    assert_eq!(found(&registry, "").await.len(), 2);
    registry.restart();
    assert_eq!(
        registry.storage.stale_catalog("").await.unwrap(),
        Vec::<(String, u64)>::new(),
        "the catalog on disk is current"
    );

    let servers = SharedServers::start();
    let replicas = servers.replicas("restart", 1).await;
    populate(&replicas[0].1).await;
    assert_eq!(found(&replicas[0].1, "").await.len(), 2);
    let (fresh, client) = servers.replicas_of("restart", 1).await.remove(0);
    assert_eq!(
        fresh.stale_catalog("").await.unwrap(),
        Vec::<(String, u64)>::new(),
        "a new replica finds the shared catalog current"
    );
    assert_eq!(found(&client, "pod").await, ["team/pod-guard", "labeler"]);
}

#[tokio::test]
async fn a_damaged_catalog_file_is_set_aside_and_made_again() {
    let (written, _) = populated().await;
    // A copy of the folder that no server has open, whose catalog file is then damaged.
    let dir = tempfile::tempdir().unwrap();
    for part in ["blobs", "repos"] {
        let copied = std::process::Command::new("cp")
            .arg("-r")
            .arg(written.dir.path().join(part))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(copied.success());
    }
    std::fs::write(dir.path().join("catalog.sqlite3"), vec![0x5a; 8192]).unwrap();

    let registry = Registry::on(dir.path());
    assert_eq!(found(&registry, "").await, ["labeler", "team/pod-guard"]);
    assert!(
        dir.path().join("catalog.sqlite3.unreadable").exists(),
        "the damaged file is kept for inspection"
    );
    let guard = metadata(POD_GUARD);
    push_policy(&registry, "c", "v1", &annotated(&guard), Some(&guard)).await;
    assert_eq!(
        found(&registry, "").await,
        ["c", "labeler", "team/pod-guard"]
    );
}

on_both_storages!(
    search_matches_words_and_filters_by_relevance,
    long_lists_come_in_pages_with_links,
);
