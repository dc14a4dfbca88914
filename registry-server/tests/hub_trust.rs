//! The hub shows trust, not a badge: each policy's verdict against the trust policy of its prefix and who vouched for
//! it, the `verified:` filter, tags that wait kept out, and verdicts made again when the policy changes.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use artifact::oci::Digest;
use common::policies::{annotated, metadata, push_policy};
use common::signatures::{push_bundle, push_sig};
use common::{Client, Registry};
use registry_server::trust::{TrustEntry, TrustMode, TrustPolicy};
use registry_server::{AppState, Auth, Limits, LocalStorage, app};
use serde_json::Value;
use signing::keys::PrivateKey;
use signing::simple_signing;

const POLICY: &str = "rules:\n  - {apiGroups: [\"\"], apiVersions: [v1], resources: [pods], operations: [CREATE]}\nmutating: false\nannotations:\n  io.kubewarden.policy.title: pod-guard\n";

/// A registry on `dir` whose `trusted/` prefix has `mode` with a config requiring a signature by `key`.
fn trusting(dir: &std::path::Path, mode: TrustMode, key: &PrivateKey) -> Client {
    let pem: String = key
        .public_key()
        .to_pem()
        .lines()
        .map(|l| format!("      {l}\n"))
        .collect();
    let config = format!("apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{pem}");
    trusting_config(dir, mode, &config, None)
}

/// A registry on `dir` whose `trusted/` prefix has `mode` with the verification config `config` and, for keyless
/// signatures, the trusted root `root`.
fn trusting_config(
    dir: &std::path::Path,
    mode: TrustMode,
    config: &str,
    root: Option<&[u8]>,
) -> Client {
    let trust_root = root.map(|bytes| {
        let path = dir.join("trusted_root.json");
        std::fs::write(&path, bytes).unwrap();
        path
    });
    let config_path = dir.join("verification-config.yml");
    std::fs::write(&config_path, config).unwrap();
    let config = config_path;
    let limits = Limits {
        max_manifest_bytes: 1 << 20,
        max_requests_in_flight: None,
    };
    let root = dir.join("registry");
    let mut state = AppState::new(Arc::new(LocalStorage::new(&root)), limits, Auth::open());
    state.trust = Arc::new(
        TrustPolicy::load(&[TrustEntry {
            prefix: "trusted/".into(),
            mode,
            verification_config: config,
            trust_root,
        }])
        .unwrap(),
    );
    Registry::on(&root).with_router(app(state))
}

/// Signs `digest` of `repo` with `key` in cosign's `.sig` layout.
async fn sign(registry: &Client, repo: &str, key: &PrivateKey, digest: &str) {
    let digest: Digest = digest.parse().unwrap();
    let signature = simple_signing::sign(
        key,
        &format!("127.0.0.1:5000/{repo}"),
        &digest,
        &BTreeMap::new(),
    );
    push_sig(registry, repo, &digest, &signature).await;
}

async fn api(registry: &Client, uri: &str) -> Value {
    let reply = registry.get(uri).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{uri}");
    reply.json()
}

async fn found(registry: &Client, query: &str) -> Vec<String> {
    api(registry, &format!("/hub/api/policies?q={query}")).await["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["repository"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn audit_shows_each_verdict_and_who_vouched() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate().unwrap();
    let registry = trusting(dir.path(), TrustMode::Audit, &key);
    let guard = metadata(POLICY);
    let module = annotated(&guard);
    let signed = push_policy(&registry, "trusted/signed", "v1", &module, Some(&guard)).await;
    push_policy(&registry, "trusted/unsigned", "v1", &module, Some(&guard)).await;
    push_policy(&registry, "elsewhere/plain", "v1", &module, Some(&guard)).await;
    let stranger = PrivateKey::generate().unwrap();
    let foreign = push_policy(&registry, "trusted/foreign", "v1", &module, Some(&guard)).await;
    sign(&registry, "trusted/foreign", &stranger, &foreign).await;
    assert_eq!(
        found(&registry, "verified%3Atrue").await,
        Vec::<String>::new()
    );
    sign(&registry, "trusted/signed", &key, &signed).await;

    assert_eq!(
        found(&registry, "verified%3Atrue").await,
        ["trusted/signed"]
    );
    assert_eq!(
        found(&registry, "verified%3Afalse").await,
        ["trusted/foreign", "trusted/unsigned"],
        "signed by a key the policy does not trust is not verified"
    );
    assert_eq!(
        found(&registry, "signed%3Atrue").await,
        ["trusted/foreign", "trusted/signed"]
    );
    let listing = api(&registry, "/hub/api/policies").await;
    let verified: BTreeMap<String, Value> = listing["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["repository"].as_str().unwrap().to_string(),
                p["verified"].clone(),
            )
        })
        .collect();
    assert_eq!(
        verified["elsewhere/plain"],
        Value::Null,
        "outside every trust prefix"
    );

    let detail = api(&registry, "/hub/api/policies/trusted/signed").await;
    let fingerprint = key.public_key().fingerprint();
    assert_eq!(detail["trust"]["verified"], true);
    assert_eq!(detail["trust"]["mode"], "audit");
    assert_eq!(
        detail["trust"]["signers"],
        serde_json::json!([format!("pubKey sha256:{}", &fingerprint[..16])])
    );
    let page = String::from_utf8(registry.get("/hub/policies/trusted/signed").await.body).unwrap();
    assert!(page.contains("Verified by:"), "{page}");
    assert!(page.contains(&format!("pubKey sha256:{}", &fingerprint[..16])));
    let unsigned =
        String::from_utf8(registry.get("/hub/policies/trusted/unsigned").await.body).unwrap();
    assert!(
        unsigned.contains("Not verified: no signatures found"),
        "{unsigned}"
    );
}

#[tokio::test]
async fn enforce_keeps_waiting_tags_out_and_a_changed_policy_is_shown_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate().unwrap();
    let registry = trusting(dir.path(), TrustMode::Enforce, &key);
    let guard = metadata(POLICY);
    let digest = push_policy(
        &registry,
        "trusted/guard",
        "v1",
        &annotated(&guard),
        Some(&guard),
    )
    .await;
    assert_eq!(
        found(&registry, "").await,
        Vec::<String>::new(),
        "a waiting tag is not listed"
    );
    sign(&registry, "trusted/guard", &key, &digest).await;
    assert_eq!(found(&registry, "verified%3Atrue").await, ["trusted/guard"]);
    let waiting = String::from_utf8(registry.get("/hub/pending").await.body).unwrap();
    assert!(
        waiting.contains("No tag you may push to waits"),
        "{waiting}"
    );

    // The same folder served under an audit policy that trusts another key: the verdict changes without a push.
    let other = PrivateKey::generate().unwrap();
    let audited = trusting(dir.path(), TrustMode::Audit, &other);
    assert_eq!(found(&audited, "verified%3Afalse").await, ["trusted/guard"]);
}

#[tokio::test]
async fn a_keyless_signer_is_shown_with_its_issuer_and_when_the_log_saw_it() {
    let dir = tempfile::tempdir().unwrap();
    let sigstore = test_support::SigstoreInstance::new();
    let issuer = "https://accounts.palisade.test";
    let config = format!(
        "apiVersion: v1\nallOf:\n  - kind: genericIssuer\n    issuer: {issuer}\n    subject:\n      equal: alice@example.com\n"
    );
    let registry = trusting_config(
        dir.path(),
        TrustMode::Audit,
        &config,
        Some(&sigstore.trusted_root_json()),
    );
    let guard = metadata(POLICY);
    let digest = push_policy(
        &registry,
        "trusted/guard",
        "v1",
        &annotated(&guard),
        Some(&guard),
    )
    .await;
    let signer = test_support::KeylessSigner::email("alice@example.com", issuer);
    let bundle_json = sigstore.sign_manifest(&signer, &digest);
    let signed = signing::bundle::Bundle::parse(&bundle_json).unwrap();
    let manifest = registry
        .get(&format!("/v2/trusted/guard/manifests/{digest}"))
        .await
        .body;
    push_bundle(
        &registry,
        "trusted/guard",
        &signed,
        &digest.parse().unwrap(),
        manifest.len(),
    )
    .await;

    let trust = &api(&registry, "/hub/api/policies/trusted/guard").await["trust"];
    assert_eq!(trust["verified"], true, "{trust}");
    assert_eq!(
        trust["signers"],
        serde_json::json!([format!(
            "genericIssuer {issuer} subject = alice@example.com"
        )])
    );
    let signed_at = trust["signed_at"].as_array().unwrap();
    assert_eq!(signed_at.len(), 1, "{trust}");
    let time = signed_at[0].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    let page = String::from_utf8(registry.get("/hub/policies/trusted/guard").await.body).unwrap();
    assert!(
        page.contains(&format!(
            "Signed at {time}, as the transparency log records it."
        )),
        "{page}"
    );
}
