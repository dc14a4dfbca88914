//! Hot reload of the policy server (`ServerState::reload`), through the routes of `server::app` without a
//! socket: only what changed is loaded again, a failed reload keeps the live generation serving and says
//! why, a request in flight finishes on the generation it started on, tags are resolved again and digests
//! never.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use artifact::oci::Digest;
use artifact::oci::policy::PolicyArtifact;
use artifact::reference::RegistryRef;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use evaluator::gate::{Admission, Verification};
use evaluator::server::{PoliciesFile, ServerState, StartOptions, app};
use evaluator::{EvaluatorError, ModuleCache};
use serde_json::Value;
use signing::config::VerificationConfig;
use signing::keys::PrivateKey;
use test_support::{RegistryServer, compile_fixture, testdata_file, write_fixture};
use tower::ServiceExt;

mod server_harness;

use server_harness::{file_module, get, options, post, remote};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// POSTs the pod request to `/validate/{id}`.
async fn validate(
    state: &Arc<ServerState>,
    id: &str,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let review = std::fs::read_to_string(testdata_file("requests/pod-create.json"))?;
    post(state, &format!("/validate/{id}"), &review).await
}

/// `GET /policies`, parsed.
async fn policies_view(state: &Arc<ServerState>) -> Result<Value, Box<dyn std::error::Error>> {
    let (status, text) = get(state, "/policies").await?;
    assert_eq!(status, StatusCode::OK, "{text}");
    Ok(serde_json::from_str(&text)?)
}

/// Whether policy `id` allowed the pod request (`true` or `false`), from its answer.
async fn allowed(state: &Arc<ServerState>, id: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let (status, body) = validate(state, id).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    Ok(body["response"]["allowed"].clone())
}

/// Compilations looked up in the module cache so far: a policy reused by a reload is not compiled again.
fn compilations(cache: &ModuleCache) -> u64 {
    cache.hits() + cache.misses()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_what_changed_is_loaded_again() -> TestResult {
    let dir = test_support::tempdir();
    let (accept, reject) = (
        file_module(dir.path(), "wapc-accept"),
        file_module(dir.path(), "wapc-reject"),
    );
    let yaml = |settings: &str, member_settings: &str, extra: &str| {
        format!(
            "keep:\n  module: {accept}\nchange:\n  module: {accept}\n  settings: {settings}\n\
             g:\n  expression: a() || b()\n  message: no\n  policies:\n    a:\n      module: {reject}\n    \
             b:\n      module: {accept}\n      settings: {member_settings}\n{extra}"
        )
    };
    let cache_dir = test_support::tempdir();
    let cache = Arc::new(ModuleCache::new(cache_dir.path())?);
    let file = PoliciesFile::from_yaml(&yaml("{x: 1}", "{}", ""))?;
    let state = Arc::new(
        ServerState::start(
            &file,
            options(
                Admission::InsecureSkipVerification,
                Some(Arc::clone(&cache)),
            ),
        )
        .await?,
    );
    let started = compilations(&cache);
    assert_eq!(started, 4);

    // The same file: every policy and member reused, nothing compiled.
    let report = state.reload(&file).await?;
    assert_eq!(report.generation, 2);
    assert!(report.loaded.is_empty(), "{report}");
    assert_eq!(report.reused, ["change", "g/a", "g/b", "keep"]);
    assert_eq!(compilations(&cache), started);

    // One setting changed: only that policy is loaded again.
    let changed = PoliciesFile::from_yaml(&yaml("{x: 2}", "{}", ""))?;
    let report = state.reload(&changed).await?;
    assert_eq!(
        report.to_string(),
        "generation 3: 1 loaded (change), 3 reused, 0 removed"
    );
    assert_eq!(compilations(&cache), started + 1);
    let view = policies_view(&state).await?;
    assert_eq!(view["generation"], 3);
    assert_eq!(view["lastReload"]["result"], "success");
    assert_eq!(
        view["policiesDigest"],
        Digest::sha256_of(yaml("{x: 2}", "{}", "").as_bytes()).to_string()
    );
    let keep = &view["policies"]["keep"];
    assert_eq!(keep["module"], accept.as_str());
    assert_eq!(keep["status"], "ready");
    assert_eq!(
        (keep["origin"].as_str(), keep["loadedIn"].as_u64()),
        (Some("reused"), Some(1))
    );
    let hashed = Digest::sha256_of(&std::fs::read(dir.path().join("wapc-accept.wasm"))?);
    assert_eq!(keep["digest"], hashed.to_string());
    let change = &view["policies"]["change"];
    assert_eq!(
        (change["origin"].as_str(), change["loadedIn"].as_u64()),
        (Some("loaded"), Some(3))
    );
    assert_eq!(view["policies"]["g"]["origin"], "reused");
    assert_eq!(view["policies"]["g"]["members"]["b"]["origin"], "reused");

    // A member's setting changed: that member, and so its group, are loaded again.
    let report = state
        .reload(&PoliciesFile::from_yaml(&yaml("{x: 2}", "{y: 1}", ""))?)
        .await?;
    assert_eq!(report.loaded, ["g/b"]);
    let view = policies_view(&state).await?;
    assert_eq!(view["policies"]["g"]["origin"], "loaded");
    assert_eq!(view["policies"]["g"]["members"]["a"]["origin"], "reused");
    assert_eq!(allowed(&state, "g").await?, true, "b() accepts");

    // A file whose bytes changed is loaded again under the same policies.yml.
    std::fs::copy(
        dir.path().join("wapc-reject.wasm"),
        dir.path().join("wapc-accept.wasm"),
    )?;
    let same_text = PoliciesFile::from_yaml(&yaml("{x: 2}", "{y: 1}", ""))?;
    let report = state.reload(&same_text).await?;
    assert_eq!(report.loaded, ["change", "g/b", "keep"]);
    assert_eq!(allowed(&state, "keep").await?, false, "the new bytes serve");

    // A policy removed answers 404, one added serves, and metrics follow the ids.
    let added = format!("added:\n  module: {reject}\n");
    let report = state
        .reload(&PoliciesFile::from_yaml(&format!(
            "keep:\n  module: {accept}\n{added}"
        ))?)
        .await?;
    assert_eq!(report.removed, ["change", "g/a", "g/b"]);
    assert_eq!(report.loaded, ["added"]);
    let (status, body) = validate(&state, "change").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"],
        "no policy with id `change` (this server has: added, keep)"
    );
    assert_eq!(allowed(&state, "added").await?, false);
    let (_, metrics) = get(&state, "/metrics").await?;
    for line in [
        "palisade_policy_server_generation 6",
        "palisade_policy_server_reloads_total{result=\"success\"} 5",
        "palisade_policy_server_reloads_total{result=\"failure\"} 0",
        "palisade_policy_server_last_reload_success 1",
        "palisade_policy_server_reload_policies_total{action=\"removed\"} 3",
        "palisade_policy_evaluations_total{policy=\"added\",outcome=\"rejected\"} 1",
        "palisade_policy_queued_requests{policy=\"added\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    Ok(())
}

/// A module of `fixture` in `dir` with its Sigstore bundle signed by `key`.
fn signed_module(dir: &Path, fixture: &str, key: &PrivateKey) -> Result<String, std::io::Error> {
    let path = write_fixture(dir, fixture);
    let bundle = signing::bundle::sign(
        key,
        &Digest::sha256_of(&std::fs::read(&path)?),
        &BTreeMap::new(),
    );
    std::fs::write(signing::local::bundle_path(&path), bundle.to_bytes())?;
    Ok(format!("file://{}", path.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_reload_keeps_the_live_generation_and_says_why() -> TestResult {
    let dir = test_support::tempdir();
    let key = PrivateKey::generate()?;
    let verify = || -> Result<Admission, Box<dyn std::error::Error>> {
        Ok(Admission::Verify(Verification {
            config: VerificationConfig::for_keys(&[key.public_key().to_pem()], &BTreeMap::new())?,
            trust_root: signing::trust::TrustRoot::production()?,
        }))
    };
    let signed = signed_module(dir.path(), "wapc-settings", &key)?;
    let unsigned = file_module(dir.path(), "wapc-accept");
    let good = format!("signed:\n  module: {signed}\n");
    let file = PoliciesFile::from_yaml(&good)?;
    let cache_dir = test_support::tempdir();
    let cache = Arc::new(ModuleCache::new(cache_dir.path())?);
    let state =
        Arc::new(ServerState::start(&file, options(verify()?, Some(Arc::clone(&cache)))).await?);
    let (_, readiness) = get(&state, "/readiness").await?;
    assert!(!readiness.contains("failed"), "{readiness}");

    let failures: [(String, &str); 2] = [
        (
            format!("{good}unsigned:\n  module: {unsigned}\n"),
            "policy unsigned: refusing to run",
        ),
        (
            format!("signed:\n  module: {signed}\n  settings: {{x: 1}}\n"),
            "policy signed: invalid input: the policy rejects its settings: this policy takes no settings",
        ),
    ];
    for (yaml, expected) in &failures {
        let err = state.reload(&PoliciesFile::from_yaml(yaml)?).await;
        let message = err
            .as_ref()
            .map(|_| String::new())
            .unwrap_or_else(|err| err.to_string());
        assert!(
            matches!(err, Err(EvaluatorError::Reload { live: 1, .. }))
                && message.contains(expected),
            "{message}"
        );
        assert!(
            message.starts_with("reload refused, generation 1 keeps serving: "),
            "{message}"
        );
    }
    assert_eq!(
        compilations(&cache),
        2,
        "the unsigned module was never compiled"
    );

    // A file that no longer parses is a failed reload too, recorded by the caller that read it.
    let unparsable = PoliciesFile::from_yaml("- not a map\n").map(|_| ()).err();
    let refused = unparsable.map(|err| state.refuse_reload(&err).to_string());
    assert!(
        refused.as_deref().is_some_and(
            |e| e.contains("generation 1 keeps serving: invalid configuration: policies file")
        ),
        "{refused:?}"
    );

    // The live generation still answers, and every surface says why the last reload failed.
    assert_eq!(allowed(&state, "signed").await?, true);
    let (status, readiness) = get(&state, "/readiness").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        readiness.starts_with("ready: generation 1 (loaded at ")
            && readiness.contains("\nlast reload failed at ")
            && readiness.contains("invalid configuration: policies file"),
        "{readiness}"
    );
    let view = policies_view(&state).await?;
    assert_eq!(view["generation"], 1);
    assert_eq!(view["lastReload"]["result"], "failure");
    assert!(
        view["lastReload"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("policies file")),
        "{view}"
    );
    assert!(view["policies"].get("unsigned").is_none());
    let (_, metrics) = get(&state, "/metrics").await?;
    for line in [
        "palisade_policy_server_generation 1",
        "palisade_policy_server_reloads_total{result=\"failure\"} 3",
        "palisade_policy_server_last_reload_success 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }

    // Fixed, it reloads; the failure is gone from /readiness.
    state
        .reload(&PoliciesFile::from_yaml(&format!(
            "{good}other:\n  module: {signed}\n"
        ))?)
        .await?;
    let (_, readiness) = get(&state, "/readiness").await?;
    assert!(
        readiness.starts_with("ready: generation 2") && !readiness.contains("failed"),
        "{readiness}"
    );
    let (_, metrics) = get(&state, "/metrics").await?;
    assert!(
        metrics.contains("palisade_policy_server_last_reload_success 1"),
        "{metrics}"
    );

    // A server started with --continue-on-errors still reloads all or nothing.
    let both = PoliciesFile::from_yaml(&format!("{good}unsigned:\n  module: {unsigned}\n"))?;
    let lenient = Arc::new(
        ServerState::start(
            &both,
            StartOptions {
                continue_on_errors: true,
                ..options(verify()?, None)
            },
        )
        .await?,
    );
    assert_eq!(lenient.failed().len(), 1);
    let err = lenient
        .reload(&both)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("policy unsigned: refusing to run")),
        "{err:?}"
    );
    let view = policies_view(&lenient).await?;
    assert_eq!(view["policies"]["unsigned"]["status"], "failed");
    assert!(
        view["policies"]["unsigned"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no Sigstore bundle")),
        "{view}"
    );
    // /policies is read-only.
    let response = app(Arc::clone(&lenient))
        .oneshot(Request::post("/policies").body(Body::empty())?)
        .await?;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_flight_finishes_on_the_generation_it_started_on() -> TestResult {
    let dir = test_support::tempdir();
    let accept = file_module(dir.path(), "wapc-accept");
    let slow = file_module(dir.path(), "wapc-validate-loop");
    let file = PoliciesFile::from_yaml(&format!(
        "accept:\n  module: {accept}\nslow:\n  module: {slow}\n  timeoutEvalSeconds: 2\n"
    ))?;
    let state = Arc::new(
        ServerState::start(&file, options(Admission::InsecureSkipVerification, None)).await?,
    );

    let in_flight = tokio::spawn({
        let state = Arc::clone(&state);
        async move {
            validate(&state, "slow")
                .await
                .map_err(|err| err.to_string())
        }
    });
    // The request has taken its generation once its policy's queue exists (it is made on the first request).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !get(&state, "/metrics")
        .await?
        .1
        .contains("palisade_policy_queued_requests{policy=\"slow\"}")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the request never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let without_slow = PoliciesFile::from_yaml(&format!("accept:\n  module: {accept}\n"))?;
    let report = state.reload(&without_slow).await?;
    assert_eq!(report.removed, ["slow"]);
    assert!(
        !in_flight.is_finished(),
        "the swap happened while the request ran"
    );
    let (status, body) = in_flight.await??;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["response"]["status"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("timed out after 2s")),
        "answered by the generation it started on: {body}"
    );
    let (status, _) = validate(&state, "slow").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The removed policy's queue and breaker were still held by that request at the swap: the next reload
    // drops them. Its evaluation counts stay.
    state.reload(&without_slow).await?;
    let (_, metrics) = get(&state, "/metrics").await?;
    assert!(
        !metrics.contains("palisade_policy_queued_requests{policy=\"slow\"}"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("palisade_policy_circuit_breaker_state{policy=\"slow\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("palisade_policy_evaluations_total{policy=\"slow\",outcome=\"error\"} 1"),
        "{metrics}"
    );
    Ok(())
}

/// Pushes the fixture `fixture` to `reference`.
async fn push(fixture: &str, reference: &RegistryRef) -> Result<(), Box<dyn std::error::Error>> {
    let artifact = PolicyArtifact::build(compile_fixture(fixture), None, None)?;
    remote().push(&artifact, reference).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_are_resolved_again_and_digests_never() -> TestResult {
    let registry = RegistryServer::start();
    let tag: RegistryRef = format!("registry://{}/policies/p:v1", registry.host()).parse()?;
    push("wapc-accept", &tag).await?;
    let first = remote().manifest_digest(&tag).await?;
    let pinned = tag.with_digest(first.clone());
    let yaml = format!("tagged:\n  module: {tag}\npinned:\n  module: {pinned}\n");
    let file = PoliciesFile::from_yaml(&yaml)?;
    let state = Arc::new(
        ServerState::start(&file, options(Admission::InsecureSkipVerification, None)).await?,
    );
    assert_eq!(
        policies_view(&state).await?["policies"]["tagged"]["digest"],
        first.to_string()
    );

    let report = state.reload(&file).await?;
    assert_eq!(report.reused, ["pinned", "tagged"]);

    // The tag moves: the tagged policy is loaded again, the pinned one stays.
    push("wapc-reject", &tag).await?;
    let moved = remote().manifest_digest(&tag).await?;
    let report = state.reload(&file).await?;
    assert_eq!(
        (report.loaded.as_slice(), report.reused.as_slice()),
        (&["tagged".to_string()][..], &["pinned".to_string()][..])
    );
    let view = policies_view(&state).await?;
    assert_eq!(view["policies"]["tagged"]["digest"], moved.to_string());
    assert_eq!(view["policies"]["tagged"]["module"], tag.to_string());
    assert_eq!(allowed(&state, "tagged").await?, false);
    assert_eq!(allowed(&state, "pinned").await?, true);

    // Without the registry, a tag cannot be resolved (the reload fails), a digest needs nothing.
    drop(registry);
    let err = state
        .reload(&file)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("policy tagged: refusing to run")),
        "{err:?}"
    );
    let only_pinned = PoliciesFile::from_yaml(&format!("pinned:\n  module: {pinned}\n"))?;
    let report = state.reload(&only_pinned).await?;
    assert_eq!(
        (report.reused.as_slice(), report.removed.as_slice()),
        (&["pinned".to_string()][..], &["tagged".to_string()][..])
    );
    Ok(())
}
