//! Trust enforced by the registry (`trust:` in `enforce` mode), in process: a tag waits, invisible, until a
//! signature that satisfies the prefix's verification config arrives, in either of cosign's layouts; each way a
//! signature can fall short leaves the tag waiting and says why. Keyless signatures are real ones, made offline by a
//! private Sigstore instance (`test_support::SigstoreInstance`) whose trusted root the prefix trusts.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use artifact::oci::Digest;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::signatures::{push_bundle, push_sig};
use common::{Client, OCI_MANIFEST, Registry, SharedServers};
use registry_server::auth::{AuthConfig, Rule};
use registry_server::trust::{TrustEntry, TrustMode, TrustPolicy};
use registry_server::{AppState, Auth, Limits, LocalStorage, app};
use signing::keys::PrivateKey;
use signing::{bundle, simple_signing};
use test_support::{KeylessSigner, SigstoreInstance};

const REPO: &str = "trusted/app";

/// A verification config requiring a signature by `key`, with `extra` lines appended to its requirement.
fn key_config(key: &PrivateKey, extra: &str) -> String {
    let pem = key.public_key().to_pem();
    let indented: String = pem.lines().map(|l| format!("      {l}\n")).collect();
    format!("apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{indented}{extra}")
}

/// A folder registry whose `trusted/` prefix enforces `config`, open to anyone.
fn enforcing(config: &str) -> (Client, tempfile::TempDir) {
    enforcing_with_root(config, None)
}

/// [`enforcing`], with a Sigstore trusted root (`trusted_root.json` bytes) for keyless signatures.
fn enforcing_with_root(config: &str, trust_root: Option<&[u8]>) -> (Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = state_on(dir.path(), config, trust_root, Auth::open());
    let client = Registry::on(dir.path()).with_router(app(state));
    (client, dir)
}

fn state_on(
    root: &std::path::Path,
    config: &str,
    trust_root: Option<&[u8]>,
    auth: Auth,
) -> AppState<LocalStorage> {
    let mut state = AppState::new(Arc::new(LocalStorage::new(root)), limits(), auth);
    state.trust = Arc::new(policy(root, config, trust_root));
    state
}

fn policy(dir: &std::path::Path, config: &str, trust_root: Option<&[u8]>) -> TrustPolicy {
    let path = dir.join("verification-config.yml");
    std::fs::write(&path, config).unwrap();
    let trust_root = trust_root.map(|bytes| {
        let path = dir.join("trusted_root.json");
        std::fs::write(&path, bytes).unwrap();
        path
    });
    TrustPolicy::load(&[TrustEntry {
        prefix: "trusted/".into(),
        mode: TrustMode::Enforce,
        verification_config: path,
        trust_root,
    }])
    .unwrap()
}

fn limits() -> Limits {
    Limits {
        max_manifest_bytes: 1 << 20,
        max_requests_in_flight: None,
    }
}

/// Signs `digest` with `key` in cosign's `.sig` layout, naming `repository`.
async fn sign(
    registry: &Client,
    key: &PrivateKey,
    repository: &str,
    digest: &Digest,
    annotations: &[(&str, &str)],
) {
    let annotations = to_map(annotations);
    let signature = simple_signing::sign(
        key,
        &format!("127.0.0.1:5000/{repository}"),
        digest,
        &annotations,
    );
    push_sig(registry, REPO, digest, &signature).await;
}

/// Signs `digest` with `key` as a Sigstore bundle attached as a referrer.
async fn sign_bundle(registry: &Client, key: &PrivateKey, digest: &Digest, manifest_size: usize) {
    let signed = bundle::sign(key, digest, &BTreeMap::new());
    push_bundle(registry, REPO, &signed, digest, manifest_size).await;
}

fn to_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Pushes an image under `tag`; returns its digest and manifest size.
async fn push(registry: &Client, tag: &str, layer: &[u8]) -> (Digest, usize) {
    let (digest, bytes) = registry.push_image(REPO, tag, &[layer]).await;
    (digest.parse().unwrap(), bytes.len())
}

/// The digest `tag` names for clients, or the error message of its `404`.
async fn pulled(registry: &Client, tag: &str) -> Result<Digest, String> {
    let reply = registry.get(&format!("/v2/{REPO}/manifests/{tag}")).await;
    if reply.status == StatusCode::OK {
        Ok(reply.header("docker-content-digest").parse().unwrap())
    } else {
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        Err(reply.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_string())
    }
}

/// Why `tag` waits, as `GET /trust/pending` says.
async fn why_pending(registry: &Client, tag: &str) -> String {
    let reply = registry.get("/trust/pending").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    let entry = body["pending"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["repository"] == REPO && w["tag"] == tag)
        .unwrap_or_else(|| panic!("{tag} is not pending: {body:#}"))
        .clone();
    entry["failure"].as_str().unwrap_or_default().to_string()
}

async fn tags(registry: &Client) -> Vec<String> {
    let reply = registry.get(&format!("/v2/{REPO}/tags/list")).await;
    reply.json()["tags"]
        .as_array()
        .map(|t| t.iter().map(|t| t.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_tag_waits_until_a_trusted_signature_arrives() {
    let key = PrivateKey::generate().unwrap();
    let (registry, _dir) = enforcing(&key_config(&key, ""));
    let (digest, _) = push(&registry, "v1", b"one").await;

    let message = pulled(&registry, "v1").await.unwrap_err();
    assert!(
        message.contains("awaits a signature") && message.contains("trusted/"),
        "{message}"
    );
    assert!(!tags(&registry).await.contains(&"v1".to_string()));
    assert!(
        why_pending(&registry, "v1")
            .await
            .contains("no signatures found")
    );

    sign(&registry, &key, REPO, &digest, &[]).await;
    assert_eq!(pulled(&registry, "v1").await, Ok(digest.clone()));
    assert!(tags(&registry).await.contains(&"v1".to_string()));
    assert!(
        registry.get("/trust/pending").await.json()["pending"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Moving the tag to an unsigned digest keeps it on the last verified one until the new one verifies.
    let (unsigned, _) = push(&registry, "v1", b"two").await;
    assert_eq!(pulled(&registry, "v1").await, Ok(digest.clone()));
    sign(&registry, &key, REPO, &unsigned, &[]).await;
    assert_eq!(pulled(&registry, "v1").await, Ok(unsigned));
}

#[tokio::test]
async fn a_signature_that_arrives_first_publishes_the_tag_at_once() {
    let key = PrivateKey::generate().unwrap();
    let (registry, _dir) = enforcing(&key_config(&key, ""));
    // The same content pushed by digest first, signed, then tagged.
    let (digest, _) = push(&registry, "staging", b"content").await;
    sign(&registry, &key, REPO, &digest, &[]).await;
    let (tagged, _) = push(&registry, "v2", b"content").await;
    assert_eq!(tagged, digest);
    assert_eq!(pulled(&registry, "v2").await, Ok(digest));
}

#[tokio::test]
async fn a_sigstore_bundle_referrer_publishes_the_tag() {
    let key = PrivateKey::generate().unwrap();
    let (registry, _dir) = enforcing(&key_config(&key, ""));
    let (digest, size) = push(&registry, "v1", b"one").await;
    sign_bundle(&registry, &key, &digest, size).await;
    assert_eq!(pulled(&registry, "v1").await, Ok(digest));
}

#[tokio::test]
async fn each_way_a_signature_falls_short_leaves_the_tag_pending_and_says_why() {
    let key = PrivateKey::generate().unwrap();
    let other = PrivateKey::generate().unwrap();
    let two_of_two = {
        let pem = |k: &PrivateKey| {
            k.public_key()
                .to_pem()
                .lines()
                .map(|l| format!("        {l}\n"))
                .collect::<String>()
        };
        format!(
            "apiVersion: v1\nanyOf:\n  minimumMatches: 2\n  signatures:\n    - kind: pubKey\n      key: |\n{}    - kind: pubKey\n      key: |\n{}",
            pem(&key),
            pem(&other)
        )
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "another-digest",
            key_config(&key, ""),
            "a signature of another artifact",
        ),
        (
            "another-key",
            key_config(&key, ""),
            "does not match the signed content",
        ),
        (
            "replayed",
            key_config(&key, ""),
            "copied from another repository",
        ),
        (
            "no-annotation",
            key_config(&key, "    annotations:\n      env: prod\n"),
            "env",
        ),
        (
            "one-short",
            two_of_two,
            "anyOf needs 2 requirement(s) met, 1 are",
        ),
    ];
    for (case, config, says) in cases {
        let (registry, _dir) = enforcing(&config);
        let (digest, _) = push(&registry, "v1", case.as_bytes()).await;
        match case {
            "another-digest" => {
                let (elsewhere, _) = push(&registry, "other", b"elsewhere").await;
                let signature = simple_signing::sign(
                    &key,
                    "127.0.0.1:5000/trusted/app",
                    &elsewhere,
                    &BTreeMap::new(),
                );
                push_sig(&registry, REPO, &digest, &signature).await;
            }
            "another-key" => sign(&registry, &other, REPO, &digest, &[]).await,
            "replayed" => sign(&registry, &key, "team/app", &digest, &[]).await,
            "no-annotation" => sign(&registry, &key, REPO, &digest, &[("env", "dev")]).await,
            "one-short" => sign(&registry, &key, REPO, &digest, &[]).await,
            _ => unreachable!(),
        }
        assert!(
            pulled(&registry, "v1").await.is_err(),
            "{case}: the tag must stay pending"
        );
        let why = why_pending(&registry, "v1").await;
        assert!(why.contains(says), "{case}: {why}");
    }
}

#[tokio::test]
async fn a_pending_manifest_is_shown_by_digest_only_to_those_who_may_push() {
    let key = PrivateKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", bcrypt::hash("alice-pw", 4).unwrap()),
    )
    .unwrap();
    let auth = AuthConfig {
        anonymous: vec![registry_server::auth::Action::Pull],
        htpasswd: Some(htpasswd),
        rules: vec![Rule {
            prefix: "".into(),
            users: vec!["alice".into()],
            actions: vec![
                registry_server::auth::Action::Pull,
                registry_server::auth::Action::Push,
            ],
        }],
        ..Default::default()
    };
    let state = state_on(
        dir.path(),
        &key_config(&key, ""),
        None,
        Auth::from_config(&auth, false).unwrap(),
    );
    let registry = Registry::on(dir.path()).with_router(app(state));
    let alice = {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:alice-pw")
        )
    };
    let with_alice = [("authorization", alice.as_str())];
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": common::sha256(b"{}"), "size": 2 },
        "layers": [],
    });
    let blob = registry
        .send(
            Method::POST,
            &format!("/v2/{REPO}/blobs/uploads/?digest={}", common::sha256(b"{}")),
            &with_alice,
            Body::from(&b"{}"[..]),
        )
        .await;
    assert_eq!(blob.status, StatusCode::CREATED);
    let put = registry
        .send(
            Method::PUT,
            &format!("/v2/{REPO}/manifests/v1"),
            &[
                ("authorization", alice.as_str()),
                ("content-type", OCI_MANIFEST),
            ],
            Body::from(serde_json::to_vec(&manifest).unwrap()),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    assert!(
        put.header("warning")
            .starts_with("299 - \"tag v1 is stored but not published"),
        "{}",
        put.header("warning")
    );
    let digest = put.header("docker-content-digest").to_string();
    let by_digest = format!("/v2/{REPO}/manifests/{digest}");
    assert_eq!(
        registry.get(&by_digest).await.status,
        StatusCode::NOT_FOUND,
        "anonymous"
    );
    assert_eq!(
        registry
            .send(Method::GET, &by_digest, &with_alice, Body::empty())
            .await
            .status,
        StatusCode::OK,
        "a client that may push reads it, to sign it"
    );
    let listed = registry.get("/trust/pending").await.json();
    assert!(
        listed["pending"].as_array().unwrap().is_empty(),
        "anonymous clients see no waiting tag"
    );
    let listed = registry
        .send(Method::GET, "/trust/pending", &with_alice, Body::empty())
        .await
        .json();
    assert_eq!(listed["pending"][0]["tag"], "v1");
}

#[tokio::test]
async fn a_tag_pushed_and_signed_at_once_through_two_replicas_ends_published_once_on_the_verified_digest()
 {
    let key = PrivateKey::generate().unwrap();
    let servers = SharedServers::start();
    let dir = tempfile::tempdir().unwrap();
    let config = key_config(&key, "");
    let replicas: Vec<Client> = servers
        .replicas("trust", 2)
        .await
        .into_iter()
        .map(|(storage, client)| {
            let mut state = AppState::new(storage, limits(), Auth::open());
            state.trust = Arc::new(policy(dir.path(), &config, None));
            client.with_router(app(state))
        })
        .collect();
    for round in 0..8 {
        let tag = format!("r{round}");
        let signed_content = format!("signed {round}");
        let unsigned_content = format!("unsigned {round}");
        // The signed content is pushed by digest, then a tag push, its signature and a rival unsigned push race.
        let (a, b) = (&replicas[round % 2], &replicas[(round + 1) % 2]);
        let (signed, _) = a
            .push_image(REPO, &format!("base{round}"), &[signed_content.as_bytes()])
            .await;
        let signed: Digest = signed.parse().unwrap();
        let (signed_layers, unsigned_layers) =
            ([signed_content.as_bytes()], [unsigned_content.as_bytes()]);
        let rival_tag = format!("{tag}-rival");
        let tag_push = a.push_image(REPO, &tag, &signed_layers);
        let signing = sign(b, &key, REPO, &signed, &[]);
        let rival = b.push_image(REPO, &rival_tag, &unsigned_layers);
        tokio::join!(tag_push, signing, rival);
        for replica in &replicas {
            assert_eq!(
                pulled(replica, &tag).await,
                Ok(signed.clone()),
                "round {round}"
            );
            assert!(pulled(replica, &format!("{tag}-rival")).await.is_err());
        }
    }
}

#[tokio::test]
async fn without_a_trust_policy_nothing_waits() {
    let registry = Registry::new();
    let (digest, _) = push(&registry, "v1", b"plain").await;
    assert_eq!(pulled(&registry, "v1").await, Ok(digest));
    assert!(
        registry.get("/trust/pending").await.json()["pending"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// The OIDC issuer of the keyless signers below.
const ISSUER: &str = "https://accounts.palisade.test";

/// A keyless requirement: alice, as vouched for by [`ISSUER`].
const ALICE: &str = "apiVersion: v1\nallOf:\n  - kind: genericIssuer\n    issuer: https://accounts.palisade.test\n    subject:\n      equal: alice@example.com\n";

/// A keyless requirement: a GitHub Actions workflow of `palisade/policies`.
const POLICIES_WORKFLOW: &str =
    "apiVersion: v1\nallOf:\n  - kind: githubAction\n    owner: palisade\n    repo: policies\n";

fn alice() -> KeylessSigner {
    KeylessSigner::email("alice@example.com", ISSUER)
}

/// Where a keyless signature is pushed: as a Sigstore bundle referrer (cosign v3), or in the `.sig` layout.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Bundle,
    SigTag,
}

/// Signs `digest` keylessly as `signer` through `sigstore`, and pushes the signature in `layout`.
async fn sign_keyless(
    registry: &Client,
    sigstore: &SigstoreInstance,
    signer: &KeylessSigner,
    layout: Layout,
    (digest, manifest_size): &(Digest, usize),
) {
    match layout {
        Layout::Bundle => {
            let json = sigstore.sign_manifest(signer, &digest.to_string());
            push_keyless_bundle(registry, &json, digest, *manifest_size).await;
        }
        Layout::SigTag => {
            let signature = keyless_sig(sigstore, signer, digest);
            push_sig(registry, REPO, digest, &signature).await;
        }
    }
}

async fn push_keyless_bundle(registry: &Client, json: &[u8], digest: &Digest, size: usize) {
    let signed = bundle::Bundle::parse(json).unwrap();
    push_bundle(registry, REPO, &signed, digest, size).await;
}

/// A keyless `.sig` layer signature of `digest` in this repository, as cosign writes it.
fn keyless_sig(
    sigstore: &SigstoreInstance,
    signer: &KeylessSigner,
    digest: &Digest,
) -> simple_signing::Signature {
    let payload =
        simple_signing::Payload::new(&format!("127.0.0.1:5000/{REPO}"), digest, &BTreeMap::new())
            .to_bytes();
    let signed = sigstore.sign_payload(signer, &payload);
    simple_signing::Signature {
        payload,
        signature: signed.signature,
        certificate: Some(signed.certificate),
        chain: Some(signed.chain),
        bundle: Some(signed.bundle),
        rfc3161_timestamp: None,
    }
}

#[tokio::test]
async fn a_keyless_signature_in_either_layout_publishes_the_tag() {
    let sigstore = SigstoreInstance::new();
    let root = sigstore.trusted_root_json();
    for (config, signer) in [
        (ALICE, alice()),
        (
            POLICIES_WORKFLOW,
            KeylessSigner::github_workflow("palisade/policies"),
        ),
    ] {
        for layout in [Layout::Bundle, Layout::SigTag] {
            let (registry, _dir) = enforcing_with_root(config, Some(&root));
            let pushed = push(&registry, "v1", b"keyless").await;
            assert!(pulled(&registry, "v1").await.is_err());
            sign_keyless(&registry, &sigstore, &signer, layout, &pushed).await;
            assert_eq!(
                pulled(&registry, "v1").await,
                Ok(pushed.0.clone()),
                "{layout:?} {signer:?}: {}",
                why_pending(&registry, "v1").await
            );
        }
    }
}

#[tokio::test]
async fn a_keyless_signature_by_another_identity_issuer_or_authority_leaves_the_tag_pending_and_says_why()
 {
    let sigstore = SigstoreInstance::new();
    let rogue = sigstore.rogue_authority();
    let root = sigstore.trusted_root_json();
    let cases: Vec<(&str, &str, KeylessSigner, &SigstoreInstance, &str)> = vec![
        (
            "another identity",
            ALICE,
            KeylessSigner::email("mallory@example.com", ISSUER),
            &sigstore,
            "its SubjectAltName is \"mallory@example.com\", required alice@example.com",
        ),
        (
            "another issuer",
            ALICE,
            KeylessSigner::email("alice@example.com", "https://accounts.evil.test"),
            &sigstore,
            "its OIDC issuer is \"https://accounts.evil.test\", required https://accounts.palisade.test",
        ),
        (
            "another workflow",
            POLICIES_WORKFLOW,
            KeylessSigner::github_workflow("palisade-evil/policies"),
            &sigstore,
            "its GitHub workflow repository is \"palisade-evil/policies\", required palisade/policies",
        ),
        (
            "another certificate authority",
            ALICE,
            alice(),
            &rogue,
            "certificate chain validation failed",
        ),
    ];
    for (case, config, signer, instance, says) in cases {
        for layout in [Layout::Bundle, Layout::SigTag] {
            let (registry, _dir) = enforcing_with_root(config, Some(&root));
            let pushed = push(&registry, "v1", case.as_bytes()).await;
            sign_keyless(&registry, instance, &signer, layout, &pushed).await;
            assert!(
                pulled(&registry, "v1").await.is_err(),
                "{case} ({layout:?}): the tag must stay pending"
            );
            let why = why_pending(&registry, "v1").await;
            assert!(why.contains(says), "{case} ({layout:?}): {why}");
        }
    }
}

/// Edits the first transparency-log entry of a bundle's JSON.
fn with_entry(json: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut bundle: serde_json::Value = serde_json::from_slice(json).unwrap();
    edit(&mut bundle["verificationMaterial"]["tlogEntries"][0]);
    serde_json::to_vec(&bundle).unwrap()
}

/// Flips the lowest bit of the first byte of a base64 field.
fn flip_base64(field: &mut serde_json::Value) {
    flip_base64_at(field, 0);
}

/// Flips the lowest bit of byte `at` of a base64 field.
fn flip_base64_at(field: &mut serde_json::Value, at: usize) {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(field.as_str().unwrap()).unwrap();
    bytes[at] ^= 1;
    *field = engine.encode(bytes).into();
}

#[tokio::test]
async fn a_keyless_bundle_whose_log_entry_does_not_match_leaves_the_tag_pending_and_says_why() {
    let sigstore = SigstoreInstance::new();
    let root = sigstore.trusted_root_json();
    let other_artifact = format!("sha256:{}", "1".repeat(64));
    let cases: Vec<(&str, &str)> = vec![
        // The genuine, logged entry of alice's signature of another manifest, under this signature.
        ("entry of another artifact", "DSSE payload hash mismatch"),
        // The entry's body, as if the log had recorded something else.
        ("body altered", "SET verification failed"),
        // A hash of the path from the entry to the signed tree head.
        (
            "inclusion proof altered",
            "inclusion proof verification failed",
        ),
        // The log's signature of the tree head (the checkpoint).
        (
            "checkpoint signature altered",
            "No valid Rekor signature found on checkpoint",
        ),
        // The signed entry timestamp, by the log's key, over another integration time.
        ("integration time altered", "SET verification failed"),
        // Only the promise, no proof of inclusion: cosign v3's bundles must carry one.
        ("inclusion proof removed", "must have an inclusion proof"),
    ];
    for (case, says) in cases {
        let (registry, _dir) = enforcing_with_root(ALICE, Some(&root));
        let (digest, size) = push(&registry, "v1", case.as_bytes()).await;
        let genuine = sigstore.sign_manifest(&alice(), &digest.to_string());
        let tampered = match case {
            "entry of another artifact" => {
                let elsewhere = sigstore.sign_manifest(&alice(), &other_artifact);
                let elsewhere: serde_json::Value = serde_json::from_slice(&elsewhere).unwrap();
                with_entry(&genuine, |entry| {
                    *entry = elsewhere["verificationMaterial"]["tlogEntries"][0].clone();
                })
            }
            "body altered" => with_entry(&genuine, |entry| {
                flip_base64(&mut entry["canonicalizedBody"]);
            }),
            "inclusion proof altered" => with_entry(&genuine, |entry| {
                flip_base64(&mut entry["inclusionProof"]["hashes"][0]);
            }),
            "checkpoint signature altered" => with_entry(&genuine, |entry| {
                let checkpoint = &mut entry["inclusionProof"]["checkpoint"]["envelope"];
                let (note, signature_line) =
                    checkpoint.as_str().unwrap().split_once("\n\n").unwrap();
                let (name, signature) = signature_line.trim_end().rsplit_once(' ').unwrap();
                let mut signature = serde_json::Value::from(signature);
                flip_base64_at(&mut signature, 10);
                *checkpoint = format!("{note}\n\n{name} {}\n", signature.as_str().unwrap()).into();
            }),
            "integration time altered" => with_entry(&genuine, |entry| {
                let time: u64 = entry["integratedTime"].as_str().unwrap().parse().unwrap();
                entry["integratedTime"] = (time - 1).to_string().into();
            }),
            "inclusion proof removed" => with_entry(&genuine, |entry| {
                entry.as_object_mut().unwrap().remove("inclusionProof");
            }),
            _ => unreachable!(),
        };
        push_keyless_bundle(&registry, &tampered, &digest, size).await;
        assert!(
            pulled(&registry, "v1").await.is_err(),
            "{case}: the tag must stay pending"
        );
        let why = why_pending(&registry, "v1").await;
        assert!(why.contains(says), "{case}: {why}");

        // The same signature with its entry as logged publishes the tag.
        push_keyless_bundle(&registry, &genuine, &digest, size).await;
        assert_eq!(pulled(&registry, "v1").await, Ok(digest), "{case}");
    }
}

#[tokio::test]
async fn a_keyless_sig_layer_whose_rekor_bundle_is_for_another_payload_leaves_the_tag_pending() {
    let sigstore = SigstoreInstance::new();
    let (registry, _dir) = enforcing_with_root(ALICE, Some(&sigstore.trusted_root_json()));
    let (digest, _) = push(&registry, "v1", b"sig layer").await;
    let other: Digest = format!("sha256:{}", "2".repeat(64)).parse().unwrap();
    let mut signature = keyless_sig(&sigstore, &alice(), &digest);
    signature.bundle = keyless_sig(&sigstore, &alice(), &other).bundle;
    push_sig(&registry, REPO, &digest, &signature).await;
    assert!(pulled(&registry, "v1").await.is_err());
    let why = why_pending(&registry, "v1").await;
    assert!(why.contains("hashedrekord"), "{why}");
}
