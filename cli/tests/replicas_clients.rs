//! Clients through the replicated registry as an operator deploys it (docker-compose.yml): two `palisade serve`
//! replicas on one Garage bucket and one PostgreSQL database, behind a real nginx (Debian package `nginx`) that hands
//! each request to the next replica in turn. skopeo, the oras Python SDK and `palisade push/sign/verify/pull` work
//! through it, whatever replica each of their requests lands on (a token one issued is taken by the other when they
//! share its secret); the hub of one replica shows, in a browser, a policy pushed through the other.

mod replicated;

use std::collections::{BTreeMap, BTreeSet};

use replicated::{Replica, Shared};
use test_support::{Browser, Nginx, ProxiedRequest, oci_clients};

/// Two replicas behind nginx (dropped in this order: nginx, the replicas, then their stores).
struct Balanced {
    nginx: Nginx,
    replicas: [Replica; 2],
    _shared: Shared,
}

impl Balanced {
    /// Replicas open to anonymous clients.
    fn start() -> Balanced {
        let shared = Shared::start();
        let replicas = [shared.replica_with_hub(), shared.replica_with_hub()];
        Balanced::behind_nginx(shared, replicas)
    }

    /// Replicas with the flags `flags`.
    fn with_flags(flags: &[&str]) -> Balanced {
        let shared = Shared::start();
        let replicas = [shared.replica_with(flags), shared.replica_with(flags)];
        Balanced::behind_nginx(shared, replicas)
    }

    fn behind_nginx(shared: Shared, replicas: [Replica; 2]) -> Balanced {
        let nginx = Nginx::start(&[&replicas[0].addr, &replicas[1].addr]);
        Balanced {
            nginx,
            replicas,
            _shared: shared,
        }
    }

    /// The load balancer's `HOST:PORT`, what clients are given.
    fn host(&self) -> String {
        self.nginx.addr.to_string()
    }

    /// Asserts that both replicas answered requests of every kind in `kinds` (`"PATCH"`, `"PUT"`…), and that at
    /// least one upload had its requests answered by both.
    fn assert_both_replicas_served(&self, kinds: &[&str]) {
        let requests = self.nginx.requests();
        let replicas: BTreeSet<&str> = self.replicas.iter().map(|r| r.addr.as_str()).collect();
        for kind in kinds {
            let answered_by: BTreeSet<&str> = requests
                .iter()
                .filter(|request| request.method == *kind)
                .map(|request| request.upstream.as_str())
                .collect();
            assert_eq!(answered_by, replicas, "{kind} requests:\n{requests:#?}");
        }
        let spanning = uploads_by_session(&requests)
            .into_values()
            .filter(|upstreams| upstreams.len() == 2)
            .count();
        assert!(spanning > 0, "no upload went through both:\n{requests:#?}");
    }
}

/// For each upload session, the replicas that answered its requests: the POST that opened it (its answer's
/// `Location` names it) and those to `…/blobs/uploads/ID`.
fn uploads_by_session(requests: &[ProxiedRequest]) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut sessions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for request in requests {
        let session = [&request.uri, &request.location]
            .into_iter()
            .filter_map(|url| url.split_once("/blobs/uploads/"))
            .map(|(_, rest)| rest.split('?').next().unwrap_or(rest))
            .find(|id| !id.is_empty());
        if let Some(id) = session {
            sessions.entry(id).or_default().insert(&request.upstream);
        }
    }
    sessions
}

#[test]
fn skopeo_and_the_oras_sdk_push_and_pull_through_the_load_balancer() {
    let balanced = Balanced::start();
    let work = test_support::tempdir();
    let skopeo = work.path().join("skopeo");
    let oras = work.path().join("oras");
    for dir in [&skopeo, &oras] {
        std::fs::create_dir(dir).unwrap();
    }
    oci_clients::skopeo_round_trip(&balanced.host(), &skopeo);
    oci_clients::oras_round_trip(&balanced.host(), &oras);
    balanced.assert_both_replicas_served(&["GET", "HEAD", "POST", "PATCH", "PUT"]);
}

#[test]
fn skopeo_logs_in_through_the_load_balancer_to_replicas_sharing_a_token_secret() {
    let work = test_support::tempdir();
    let htpasswd = work.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        test_support::htpasswd(&[("alice", "wonderland")]),
    )
    .unwrap();
    let secret = work.path().join("token-secret");
    std::fs::write(&secret, "a secret every replica signs tokens with").unwrap();
    let config = work.path().join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "auth:\n  htpasswd: {}\n  token:\n    secret_file: {}\n",
            htpasswd.display(),
            secret.display()
        ),
    )
    .unwrap();
    let balanced = Balanced::with_flags(&["--no-hub", "--config", config.to_str().unwrap()]);
    let host = balanced.host();

    // The challenge names the token endpoint at the address the client used, not at a replica's.
    let challenge = test_support::http(&host, "GET /v2/", &[], b"");
    assert_eq!(challenge.status, 401);
    let realm = format!("Bearer realm=\"http://{host}/token\"");
    assert!(
        challenge.header("www-authenticate").starts_with(&realm),
        "{}",
        challenge.head
    );

    let source = work.path().join("source");
    let digest = oci_clients::build_oci_layout(&source);
    let source_ref = format!("oci:{}:v1", source.display());
    let remote = format!("docker://{host}/private/image:v1");
    let push = |creds: &[&str]| {
        std::process::Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--dest-tls-verify=false"])
            .args(creds)
            .args([&source_ref, &remote])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run skopeo ({e}): install it with `{}`",
                    oci_clients::SKOPEO_INSTALL
                )
            })
    };
    assert!(!push(&[]).status.success(), "an anonymous push is refused");
    let pushed = push(&["--dest-creds", "alice:wonderland"]);
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let inspected = oci_clients::run_client(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            "alice:wonderland",
            &remote,
        ],
        oci_clients::SKOPEO_INSTALL,
    );
    let manifest = artifact::oci::Digest::sha256_of(&inspected.stdout).to_string();
    assert_eq!(manifest, digest);

    // Every kind of request, token requests among them, went to both: what one replica issued, the other took.
    balanced.assert_both_replicas_served(&["GET", "HEAD", "POST", "PATCH", "PUT"]);
}

#[test]
fn palisade_pushes_signs_verifies_and_pulls_through_the_load_balancer() {
    let balanced = Balanced::start();
    let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    let cli = cli.with_env("COSIGN_PASSWORD", "replicas");
    let host = balanced.host();
    let reference = format!("registry://{host}/policies/pod-guard:v1");
    let digest = cli.push("policy.wasm", &reference);

    for prefix in ["a", "b"] {
        cli.ok(&["key", "generate", "--output-prefix", prefix]);
    }
    let signed = cli.ok(&["sign", &reference, "--key", "a.key"]);
    assert!(signed.contains("signature in tag sha256-"), "{signed}");
    let bundled = cli.ok(&["sign", &reference, "--key", "a.key", "--bundle"]);
    assert!(bundled.contains("bundle in referrer sha256:"), "{bundled}");
    let report: serde_json::Value =
        serde_json::from_str(&cli.ok(&["verify", &reference, "--key", "a.pub", "-o", "json"]))
            .unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["manifestDigest"], digest.as_str(), "{report}");
    assert_eq!(
        report["signaturesFound"], 2,
        "the .sig layer and the bundle: {report}"
    );
    let refused = cli.fails(&["verify", &reference, "--key", "b.pub"]);
    assert!(refused.contains("not verified"), "{refused}");

    let pulled = cli.ok(&["pull", &reference, "-O", "pulled.wasm"]);
    assert!(pulled.contains(&digest), "{pulled}");
    assert_eq!(
        std::fs::read(dir.path().join("pulled.wasm")).unwrap(),
        std::fs::read(dir.path().join("policy.wasm")).unwrap()
    );

    // The hub behind the balancer names the address clients use, and sees both signatures.
    let detail = test_support::http(&host, "GET /hub/api/policies/policies/pod-guard", &[], b"");
    assert_eq!(detail.status, 200, "{}", detail.text());
    let detail: serde_json::Value = serde_json::from_slice(&detail.body).unwrap();
    assert_eq!(
        detail["pull"],
        format!("palisade pull {host}/policies/pod-guard:v1").as_str()
    );
    let signatures = detail["signatures"].as_array().unwrap();
    let kinds: Vec<&str> = signatures
        .iter()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["cosign", "sigstore-bundle"], "{detail:#}");

    balanced.assert_both_replicas_served(&["GET", "HEAD", "POST", "PUT"]);
}

#[test]
fn the_hub_of_one_replica_shows_in_a_browser_a_policy_pushed_through_the_other() {
    let shared = Shared::start();
    let a = shared.replica_with_hub();
    let b = shared.replica_with_hub();
    // B's hub has answered (empty) before the push: what it shows next cannot come from its own first look.
    let before = test_support::http(&b.addr, "GET /hub/api/policies", &[], b"");
    assert_eq!(before.status, 200, "{}", before.text());
    let before: serde_json::Value = serde_json::from_slice(&before.body).unwrap();
    assert_eq!(before["policies"], serde_json::json!([]), "{before}");

    let (_dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    cli.push_two_policies(&a.addr);

    let browser = Browser::open(&format!("http://{}/hub", b.addr));
    let shown = browser.search_hub("deployment");
    assert_eq!(
        shown["repositories"],
        serde_json::json!(["policies/deployment-defaults"]),
        "{shown}"
    );
    assert_eq!(shown["search"], "?q=deployment");
    assert_eq!(shown["errors"], serde_json::json!([]), "no console errors");
}
