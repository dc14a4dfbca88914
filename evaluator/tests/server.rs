//! The policy server without a socket (`tower::ServiceExt::oneshot` on `server::app`), its start-up through
//! the gate against a real registry-server on 127.0.0.1, and its answers to misbehaving policies and bad input.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use artifact::oci::policy::PolicyArtifact;
use artifact::reference::RegistryRef;
use axum::http::StatusCode;
use evaluator::gate::{Admission, Verification};
use evaluator::server::{BreakerOptions, IsolationLimits, PoliciesFile, ServerState, StartOptions};
use evaluator::{EvaluatorError, ModuleCache};
use serde_json::{Value, json};
use signing::config::VerificationConfig;
use signing::keys::PrivateKey;
use signing::registry::Layout;
use test_support::{RegistryServer, compile_fixture, testdata_file};

mod server_harness;

use server_harness::{file_module, get, options, post, remote};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn key_verification(key: &PrivateKey) -> Result<Admission, signing::SigningError> {
    Ok(Admission::Verify(Verification {
        config: VerificationConfig::for_keys(&[key.public_key().to_pem()], &BTreeMap::new())?,
        trust_root: signing::trust::TrustRoot::production().unwrap(),
    }))
}

/// Pushes the fixture `name` to `registry` as `policies/NAME:v1`; returns the reference.
async fn push(
    registry: &RegistryServer,
    name: &str,
) -> Result<RegistryRef, Box<dyn std::error::Error>> {
    let reference: RegistryRef =
        format!("registry://{}/policies/{name}:v1", registry.host()).parse()?;
    let artifact = PolicyArtifact::build(compile_fixture(name), None, None)?;
    remote().push(&artifact, &reference).await?;
    Ok(reference)
}

/// `policies.yml` with `id: module` pairs (and any extra YAML per policy).
fn policies(entries: &[(&str, String, &str)]) -> Result<PoliciesFile, EvaluatorError> {
    let mut text = String::new();
    for (id, module, extra) in entries {
        text.push_str(&format!("{id}:\n  module: {module}\n{extra}"));
    }
    PoliciesFile::from_yaml(&text)
}

fn review() -> Result<String, std::io::Error> {
    std::fs::read_to_string(testdata_file("requests/pod-create.json"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_policy_stops_the_start_and_is_never_compiled() -> TestResult {
    let registry = RegistryServer::start();
    let signed = push(&registry, "wapc-accept").await?;
    let unsigned = push(&registry, "wapc-reject").await?;
    let key = PrivateKey::generate()?;
    signing::registry::sign(
        &remote(),
        &signed,
        &key,
        &BTreeMap::new(),
        &[Layout::SignatureTag],
    )
    .await?;
    let file = policies(&[
        ("signed", signed.to_string(), ""),
        ("unsigned", unsigned.to_string(), ""),
    ])?;

    let cache_dir = test_support::tempdir();
    let cache = Arc::new(ModuleCache::new(cache_dir.path())?);
    let err = ServerState::start(
        &file,
        options(key_verification(&key)?, Some(Arc::clone(&cache))),
    )
    .await
    .map(|_| ())
    .map_err(|err| err.to_string());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("policy unsigned: refusing to run")
                && e.contains("no signatures found")
                && !e.contains("policy signed")),
        "{err:?}"
    );
    // The unsigned module never reached the compiler: only the signed one was compiled.
    assert_eq!(cache.misses(), 1);
    assert_eq!(cache_dir.path().read_dir()?.count(), 1);

    // With --continue-on-errors it starts, and the unsigned policy's requests get a 500 saying why.
    let state = Arc::new(
        ServerState::start(
            &file,
            StartOptions {
                continue_on_errors: true,
                ..options(key_verification(&key)?, Some(Arc::clone(&cache)))
            },
        )
        .await?,
    );
    assert_eq!(cache.misses(), 1, "the signed module came from the cache");
    let (status, body) = post(&state, "/validate/unsigned", &review()?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 500);
    let message = body["response"]["status"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("policy unsigned could not be loaded") && message.contains("not verified"),
        "{message}"
    );
    let (_, body) = post(&state, "/validate/signed", &review()?).await?;
    assert_eq!(body["response"]["allowed"], true);

    // Signed, the policy loads and the server starts.
    signing::registry::sign(
        &remote(),
        &unsigned,
        &key,
        &BTreeMap::new(),
        &[Layout::Bundle],
    )
    .await?;
    let state = Arc::new(ServerState::start(&file, options(key_verification(&key)?, None)).await?);
    let (status, body) = post(&state, "/validate/unsigned", &review()?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 403);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_policy_needs_its_bundle_when_verifying() -> TestResult {
    let dir = test_support::tempdir();
    let file = policies(&[("local", file_module(dir.path(), "wapc-accept"), "")])?;
    let key = PrivateKey::generate()?;
    let err = ServerState::start(&file, options(key_verification(&key)?, None))
        .await
        .map(|_| ())
        .map_err(|err| err.to_string());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("no Sigstore bundle")),
        "{err:?}"
    );

    let module = compile_fixture("wapc-accept");
    let bundle = signing::bundle::sign(
        &key,
        &artifact::oci::Digest::sha256_of(&module),
        &BTreeMap::new(),
    );
    std::fs::write(
        signing::local::bundle_path(&dir.path().join("wapc-accept.wasm")),
        bundle.to_bytes(),
    )?;
    let state = Arc::new(ServerState::start(&file, options(key_verification(&key)?, None)).await?);
    let (_, body) = post(&state, "/validate/local", &review()?).await?;
    assert_eq!(body["response"]["allowed"], true);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn misbehaving_policies_cost_one_request_each() -> TestResult {
    let dir = test_support::tempdir();
    let file = policies(&[
        ("accept", file_module(dir.path(), "wapc-accept"), ""),
        ("trap", file_module(dir.path(), "wapc-validate-trap"), ""),
        (
            "loop",
            file_module(dir.path(), "wapc-validate-loop"),
            "  timeoutEvalSeconds: 1\n",
        ),
        ("mutate", file_module(dir.path(), "wapc-mutate"), ""),
        (
            "mutate-allowed",
            file_module(dir.path(), "wapc-mutate"),
            "  allowedToMutate: true\n",
        ),
        (
            "monitor",
            file_module(dir.path(), "wapc-reject"),
            "  policyMode: monitor\n",
        ),
    ])?;
    let state = Arc::new(
        ServerState::start(&file, options(Admission::InsecureSkipVerification, None)).await?,
    );
    let review = review()?;

    for _ in 0..2 {
        let (status, body) = post(&state, "/validate/trap", &review).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["response"]["status"]["code"], 500);
        assert!(
            body["response"]["status"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("trapped"),
            "{body}"
        );
        let (_, body) = post(&state, "/validate/accept", &review).await?;
        assert_eq!(
            body["response"]["allowed"], true,
            "the next request is served"
        );
    }
    let (_, body) = post(&state, "/validate/loop", &review).await?;
    assert_eq!(body["response"]["status"]["code"], 500);
    assert!(
        body["response"]["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("timed out after 1s"),
        "the per-policy timeoutEvalSeconds applies: {body}"
    );
    let (_, body) = post(&state, "/validate/accept", &review).await?;
    assert_eq!(body["response"]["allowed"], true);

    let (_, body) = post(&state, "/validate/mutate", &review).await?;
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 500);
    assert!(body["response"].get("patch").is_none());
    let (_, body) = post(&state, "/validate/mutate-allowed", &review).await?;
    assert_eq!(body["response"]["allowed"], true);
    assert_eq!(body["response"]["patchType"], "JSONPatch");

    let (_, body) = post(&state, "/validate/monitor", &review).await?;
    assert_eq!(
        body["response"]["allowed"], true,
        "monitor mode never rejects"
    );

    let (status, metrics) = get(&state, "/metrics").await?;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "palisade_policy_evaluations_total{policy=\"trap\",outcome=\"error\"} 2",
        "palisade_policy_evaluations_total{policy=\"accept\",outcome=\"accepted\"} 3",
        "palisade_policy_evaluations_total{policy=\"mutate\",outcome=\"error\"} 1",
        "palisade_policy_evaluations_total{policy=\"monitor\",outcome=\"rejected\"} 1",
        "palisade_policy_evaluation_duration_seconds_count{policy=\"loop\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_clear_http_errors() -> TestResult {
    let dir = test_support::tempdir();
    let file = policies(&[("reject", file_module(dir.path(), "wapc-reject"), "")])?;
    let state = Arc::new(
        ServerState::start(&file, options(Admission::InsecureSkipVerification, None)).await?,
    );

    let (status, body) = post(&state, "/validate/nope", &review()?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"],
        "no policy with id `nope` (this server has: reject)"
    );
    let (status, _) = post(&state, "/validate_raw/nope", "{}").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for bad in [
        "not json",
        r#"{"kind":"AdmissionReview"}"#,
        r#"{"request":{"uid":7}}"#,
    ] {
        let (status, body) = post(&state, "/validate/reject", bad).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("invalid input")),
            "{body}"
        );
    }
    let (status, _) = post(&state, "/validate_raw/reject", r#"{"request": 1}"#).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Raw: any JSON request; the uid is echoed when there is one.
    let (status, body) = post(
        &state,
        "/validate_raw/reject",
        r#"{"request": {"uid": "r1", "anything": [1, 2]}}"#,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"response": {"uid": "r1", "allowed": false, "status": {"code": 403, "message": "rejected by the fixture policy"}}})
    );

    let (status, text) = get(&state, "/readiness").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.starts_with("ready: generation 1 (loaded at "),
        "{text}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_policy_is_refused_when_the_registry_is_unreachable() -> TestResult {
    // Nothing listens there once the server is dropped: verification cannot be done, so nothing runs.
    let host = RegistryServer::start().host();
    let file = policies(&[("gone", format!("registry://{host}/policies/gone:v1"), "")])?;
    let key = PrivateKey::generate()?;
    let err = ServerState::start(&file, options(key_verification(&key)?, None))
        .await
        .map(|_| ())
        .map_err(|err| err.to_string());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("policy gone: refusing to run")),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_never_block_the_reactor() -> TestResult {
    let dir = test_support::tempdir();
    let file = policies(&[(
        "loop",
        file_module(dir.path(), "wapc-validate-loop"),
        "  timeoutEvalSeconds: 1\n",
    )])?;
    let state = Arc::new(
        ServerState::start(&file, options(Admission::InsecureSkipVerification, None)).await?,
    );
    // As many spinning evaluations as reactor threads (and workers): if they ran on the reactor,
    // nothing else would be answered until their deadline.
    let review = review()?;
    let spinning: Vec<_> = (0..2)
        .map(|_| {
            let (state, review) = (Arc::clone(&state), review.clone());
            tokio::spawn(async move {
                post(&state, "/validate/loop", &review)
                    .await
                    .map(|(_, body)| body)
                    .map_err(|err| err.to_string())
            })
        })
        .collect();
    // Let them start spinning, then ask for readiness and metrics from the same reactor threads.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let probe = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let ready = get(&state, "/readiness")
                .await
                .map_err(|err| err.to_string())?;
            let metrics = get(&state, "/metrics")
                .await
                .map_err(|err| err.to_string())?;
            Ok::<_, String>((ready.0, metrics.0))
        })
    };
    let (ready, metrics) = probe.await??;
    assert_eq!((ready, metrics), (StatusCode::OK, StatusCode::OK));
    assert!(
        spinning.iter().all(|task| !task.is_finished()),
        "readiness and metrics answered while the policies were still spinning"
    );
    for task in spinning {
        let body = task.await??;
        assert_eq!(body["response"]["status"]["code"], 500);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn large_reviews_are_taken() -> TestResult {
    let dir = test_support::tempdir();
    let file = policies(&[("accept", file_module(dir.path(), "wapc-accept"), "")])?;
    let state = Arc::new(
        ServerState::start(&file, options(Admission::InsecureSkipVerification, None)).await?,
    );
    // A 3 MiB ConfigMap in object and oldObject: over axum's default body limit.
    let data = "x".repeat(3 * 1024 * 1024);
    let review = json!({"request": {"uid": "big", "object": {"data": {"blob": data}}, "oldObject": {"data": {"blob": data}}}});
    let (status, body) = post(&state, "/validate/accept", &review.to_string()).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], true);
    Ok(())
}

/// `contextAwareResources` in `policies.yml` grants a policy the `kubernetes/*` capabilities for those
/// kinds, answered from the server's resources file: `wapc-context` lists Namespaces while it validates.
#[tokio::test(flavor = "multi_thread")]
async fn policies_yml_grants_kubernetes_resources() -> TestResult {
    let dir = test_support::tempdir();
    let module = file_module(dir.path(), "wapc-context");
    let file = policies(&[
        (
            "granted",
            module.clone(),
            "  contextAwareResources:\n  - apiVersion: v1\n    kind: Namespace\n",
        ),
        ("not-granted", module, ""),
    ])?;
    let resources = evaluator::host_capabilities::ContextResources::from_file(&testdata_file(
        "requests/context-resources.yml",
    ))?;
    let state = Arc::new(
        ServerState::start(
            &file,
            StartOptions {
                context_resources: Some(Arc::new(resources)),
                ..options(Admission::InsecureSkipVerification, None)
            },
        )
        .await?,
    );
    granted_and_refused(&state).await
}

/// `hostCapabilities` in `policies.yml` grants one policy host capabilities the server's flags do not:
/// `wapc-dns` resolves `localhost` through `net/v1/dns_lookup_host` while it validates.
#[tokio::test(flavor = "multi_thread")]
async fn policies_yml_grants_host_capabilities_per_policy() -> TestResult {
    let dir = test_support::tempdir();
    let module = file_module(dir.path(), "wapc-dns");
    let file = policies(&[
        (
            "granted",
            module.clone(),
            "  hostCapabilities: [\"net/*\"]\n",
        ),
        ("not-granted", module, ""),
    ])?;
    let options = options(Admission::InsecureSkipVerification, None);
    let state = Arc::new(ServerState::start(&file, options).await?);
    granted_and_refused(&state).await
}

/// The policy `granted` accepts, the same policy `not-granted` is refused what it asks the host (code 403).
async fn granted_and_refused(state: &Arc<ServerState>) -> TestResult {
    let review = review()?;
    let (status, granted) = post(state, "/validate/granted", &review).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(granted["response"]["allowed"], true, "{granted}");
    let (_, refused) = post(state, "/validate/not-granted", &review).await?;
    assert_eq!(refused["response"]["allowed"], false, "{refused}");
    assert_eq!(refused["response"]["status"]["code"], 403, "{refused}");
    Ok(())
}

/// A policy's `message` replaces its rejection message, the policy's own kept as a cause, as Kubewarden's
/// policy-server does; a mutation the policy may not make is such a rejection too; acceptances and
/// policies without `message` are unchanged.
#[tokio::test(flavor = "multi_thread")]
async fn policies_yml_message_replaces_rejection_messages() -> TestResult {
    let dir = test_support::tempdir();
    let custom = "  message: not in this cluster\n";
    let file = policies(&[
        ("reject", file_module(dir.path(), "wapc-reject"), custom),
        ("mutate", file_module(dir.path(), "wapc-mutate"), custom),
        ("accept", file_module(dir.path(), "wapc-accept"), custom),
        ("plain", file_module(dir.path(), "wapc-reject"), ""),
    ])?;
    let options = options(Admission::InsecureSkipVerification, None);
    let state = Arc::new(ServerState::start(&file, options).await?);
    let review = review()?;
    let (_, plain) = post(&state, "/validate/plain", &review).await?;
    let own = plain["response"]["status"]["message"].clone();
    assert!(own.is_string(), "{plain}");
    assert!(
        plain["response"]["status"].get("details").is_none(),
        "{plain}"
    );

    let (_, rejected) = post(&state, "/validate/reject", &review).await?;
    let status = &rejected["response"]["status"];
    assert_eq!(status["message"], "not in this cluster", "{rejected}");
    assert_eq!(
        status["details"]["causes"],
        json!([{ "message": own }]),
        "{rejected}"
    );

    let (_, mutated) = post(&state, "/validate/mutate", &review).await?;
    let status = &mutated["response"]["status"];
    assert_eq!(mutated["response"]["allowed"], false, "{mutated}");
    assert_eq!(status["message"], "not in this cluster", "{mutated}");
    let cause = status["details"]["causes"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(cause.contains("not allowed to mutate"), "{mutated}");

    let (_, accepted) = post(&state, "/validate/accept", &review).await?;
    assert_eq!(accepted["response"]["allowed"], true, "{accepted}");
    assert!(accepted["response"].get("status").is_none(), "{accepted}");
    Ok(())
}

/// A server with the policy `healthy` (accepts) beside `others` (id, fixture), `workers` workers shared
/// under `limits`, every evaluation's deadline 200 ms.
async fn isolated(
    dir: &Path,
    others: &[(&str, &str)],
    workers: usize,
    limits: IsolationLimits,
) -> Result<Arc<ServerState>, Box<dyn std::error::Error>> {
    let mut entries = vec![("healthy", file_module(dir, "wapc-accept"), "")];
    for (id, fixture) in others {
        entries.push((id, file_module(dir, fixture), ""));
    }
    let file = policies(&entries)?;
    let options = StartOptions {
        workers,
        isolation: limits,
        ..options(Admission::InsecureSkipVerification, None)
    };
    Ok(Arc::new(ServerState::start(&file, options).await?))
}

type Answer = Result<(StatusCode, Value), String>;

/// `count` clients posting `body` to `path` at once; each answer comes with its place in the order the
/// answers arrived.
fn clients(
    state: &Arc<ServerState>,
    path: &str,
    body: &str,
    count: usize,
) -> Vec<tokio::task::JoinHandle<(usize, Answer)>> {
    let arrived = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    (0..count)
        .map(|_| {
            let (state, path, body) = (Arc::clone(state), path.to_string(), body.to_string());
            let arrived = Arc::clone(&arrived);
            tokio::spawn(async move {
                let answer = post(&state, &path, &body)
                    .await
                    .map_err(|err| err.to_string());
                let place = arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                (place, answer)
            })
        })
        .collect()
}

/// The value of the metric line starting with `series` (0 when absent).
async fn metric(state: &Arc<ServerState>, series: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let (_, text) = get(state, "/metrics").await?;
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0))
}

/// `status.code` and `status.message` of an AdmissionReview answer.
fn status(body: &Value) -> (i64, &str) {
    let status = &body["response"]["status"];
    (
        status["code"].as_i64().unwrap_or_default(),
        status["message"].as_str().unwrap_or_default(),
    )
}

const NO_BREAKER: BreakerOptions = BreakerOptions {
    timeouts: 0,
    window: Duration::from_secs(60),
    cool_down: Duration::from_secs(30),
};

/// Waits (at most 2.5 s) until at least `count` requests of `policy` wait in its queue; returns the metric's
/// series.
async fn wait_for_queued(
    state: &Arc<ServerState>,
    policy: &str,
    count: f64,
) -> Result<String, Box<dyn std::error::Error>> {
    let queued = format!("palisade_policy_queued_requests{{policy=\"{policy}\"}}");
    for _ in 0..500 {
        if metric(state, &queued).await? >= count {
            return Ok(queued);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!("{count} requests of {policy} never waited in its queue").into())
}

/// Asks the `healthy` policy `times` times, one after the other; each must accept.
async fn healthy_answers(state: &Arc<ServerState>, review: &str, times: usize) -> TestResult {
    for _ in 0..times {
        let (status, body) = post(state, "/validate/healthy", review).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["response"]["allowed"], true, "{body}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_looping_policy_delays_only_its_own_requests() -> TestResult {
    let dir = test_support::tempdir();
    let limits = IsolationLimits {
        breaker: NO_BREAKER,
        ..IsolationLimits::default()
    };
    // Two workers: the looping policy holds both until its first requests run into their deadline; from then
    // on, slow, it runs aside from them, one request at a time (its default share).
    let state = isolated(dir.path(), &[("loop", "wapc-validate-loop")], 2, limits).await?;
    let review = review()?;
    let looping = clients(&state, "/validate/loop", &review, 16);
    // Once most of the 16 wait in the looping policy's queue (one runs), the healthy policy is asked 20 times.
    let queued = wait_for_queued(&state, "loop", 8.0).await?;
    healthy_answers(&state, &review, 20).await?;
    // Each looping request takes its 200 ms deadline on one worker: most are still waiting.
    let finished = looping.iter().filter(|task| task.is_finished()).count();
    assert!(
        finished < 16 && metric(&state, &queued).await? > 0.0,
        "the healthy policy answered 20 times while the looping one still had requests waiting ({finished} of 16 done)"
    );
    for task in looping {
        let (_, answer) = task.await?;
        let (http, body) = answer?;
        assert_eq!(http, StatusCode::OK);
        let (code, message) = status(&body);
        assert!(
            code == 500 && message.contains("timed out"),
            "every looping request ran into its deadline: {body}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_policy_runs_aside_from_the_workers() -> TestResult {
    let dir = test_support::tempdir();
    let limits = IsolationLimits {
        breaker: NO_BREAKER,
        ..IsolationLimits::default()
    };
    // One worker. The looping policy's first request runs on it and into its 200 ms deadline: from then on the
    // policy is slow, and its requests run one at a time on a thread of their own, never on the worker.
    let state = isolated(dir.path(), &[("loop", "wapc-validate-loop")], 1, limits).await?;
    let review = review()?;
    let (_, first) = post(&state, "/validate/loop", &review).await?;
    assert!(status(&first).1.contains("timed out"), "{first}");
    let looping = clients(&state, "/validate/loop", &review, 8);
    wait_for_queued(&state, "loop", 7.0).await?;
    // Were a looping request on the worker, each healthy request would wait for one to end (FIFO), and the
    // eight looping requests would end before the twentieth healthy answer.
    healthy_answers(&state, &review, 20).await?;
    let finished = looping.iter().filter(|task| task.is_finished()).count();
    assert!(
        finished < 4,
        "the healthy policy answered 20 times while the looping one ran aside ({finished} of 8 done)"
    );
    for task in looping {
        let (_, answer) = task.await?;
        let (_, body) = answer?;
        assert!(status(&body).1.contains("timed out"), "{body}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_policies_cost_only_their_own_requests() -> TestResult {
    let dir = test_support::tempdir();
    let hostile = [
        ("loop", "wapc-validate-loop", "timed out"),
        ("oom", "wapc-validate-oom", "memory limit"),
        ("recursion", "wapc-validate-recursion", "trapped"),
        ("flood", "wapc-validate-flood", "timed out"),
        ("huge", "wapc-validate-huge", "too large"),
    ];
    let others: Vec<_> = hostile
        .iter()
        .map(|(id, fixture, _)| (*id, *fixture))
        .collect();
    let limits = IsolationLimits {
        breaker: NO_BREAKER,
        ..IsolationLimits::default()
    };
    let state = isolated(dir.path(), &others, 4, limits).await?;
    let review = review()?;
    let attacks: Vec<_> = hostile
        .iter()
        .map(|(id, _, expected)| {
            let tasks = clients(&state, &format!("/validate/{id}"), &review, 4);
            (*id, *expected, tasks)
        })
        .collect();
    for _ in 0..10 {
        let (_, body) = post(&state, "/validate/healthy", &review).await?;
        assert_eq!(body["response"]["allowed"], true, "{body}");
    }
    for (id, expected, tasks) in attacks {
        for task in tasks {
            let (_, answer) = task.await?;
            let (http, body) = answer?;
            assert_eq!(http, StatusCode::OK, "{id}");
            let (code, message) = status(&body);
            assert!(
                code == 500 && message.contains(expected),
                "{id}: expected a 500 rejection saying `{expected}`: {body}"
            );
        }
    }
    let (_, body) = post(&state, "/validate/healthy", &review).await?;
    assert_eq!(body["response"]["allowed"], true, "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_is_answered_503_at_once() -> TestResult {
    let dir = test_support::tempdir();
    let limits = IsolationLimits {
        policy_workers: Some(1),
        queue: 2,
        breaker: NO_BREAKER,
        ..IsolationLimits::default()
    };
    let state = isolated(dir.path(), &[("loop", "wapc-validate-loop")], 2, limits).await?;
    let review = review()?;
    // Two run (the policy is not known to be slow yet: it may use both workers), two wait, four are refused.
    let tasks = clients(&state, "/validate/loop", &review, 8);
    let mut refused = Vec::new();
    let mut timed_out = Vec::new();
    for task in tasks {
        let (place, answer) = task.await?;
        let (http, body) = answer?;
        if http == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(
                body["error"],
                "policy loop is overloaded: 2 of its requests already wait for an evaluation worker; try again later"
            );
            refused.push(place);
        } else {
            assert_eq!(status(&body).0, 500, "{body}");
            timed_out.push(place);
        }
    }
    assert_eq!((refused.len(), timed_out.len()), (4, 4));
    assert!(
        refused.iter().max() < timed_out.iter().min(),
        "the refusals came before any evaluation ended: refused {refused:?}, evaluated {timed_out:?}"
    );
    let refusals = "palisade_policy_refusals_total{policy=\"loop\",reason=\"queue_full\"}";
    assert_eq!(metric(&state, refusals).await?, 4.0);
    let (_, body) = post(&state, "/validate/healthy", &review).await?;
    assert_eq!(body["response"]["allowed"], true, "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_waited_too_long_is_answered_503() -> TestResult {
    let dir = test_support::tempdir();
    let limits = IsolationLimits {
        policy_workers: Some(1),
        queue_timeout: Duration::from_millis(500),
        breaker: NO_BREAKER,
        ..IsolationLimits::default()
    };
    let state = isolated(dir.path(), &[("loop", "wapc-validate-loop")], 2, limits).await?;
    // Eight at once, 200 ms each, one at a time: the first runs at once, the last would start after 1.4 s.
    let (mut evaluated, mut refused) = (0, 0);
    for task in clients(&state, "/validate/loop", &review()?, 8) {
        let (_, answer) = task.await?;
        match answer? {
            (StatusCode::OK, body) => {
                assert!(status(&body).1.contains("timed out"), "{body}");
                evaluated += 1;
            }
            (http, body) => {
                assert_eq!(http, StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(
                    body["error"],
                    "policy loop is overloaded: the request waited 500ms for an evaluation worker; try again later"
                );
                refused += 1;
            }
        }
    }
    assert!(
        evaluated >= 1 && refused >= 1,
        "{evaluated} evaluated, {refused} refused"
    );
    let refusals = "palisade_policy_refusals_total{policy=\"loop\",reason=\"queue_timeout\"}";
    assert_eq!(metric(&state, refusals).await?, f64::from(refused));
    assert_eq!(
        metric(&state, "palisade_policy_queued_requests{policy=\"loop\"}").await?,
        0.0,
        "nothing is left waiting"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_breaker_opens_fails_fast_and_closes_when_the_policy_behaves() -> TestResult {
    let dir = test_support::tempdir();
    let cool_down = Duration::from_millis(300);
    let limits = IsolationLimits {
        policy_workers: Some(1),
        queue: 16,
        queue_timeout: Duration::from_secs(10),
        breaker: BreakerOptions {
            timeouts: 2,
            window: Duration::from_secs(60),
            cool_down,
        },
    };
    let state = isolated(
        dir.path(),
        &[("flaky", "wapc-validate-slow-when-large")],
        2,
        limits,
    )
    .await?;
    // The policy accepts small requests and loops on large ones.
    let small = review()?;
    let large =
        json!({"request": {"uid": "large", "object": {"data": {"blob": "x".repeat(8192)}}}})
            .to_string();
    let state_is = |name: &str| {
        format!("palisade_policy_circuit_breaker_state{{policy=\"flaky\",state=\"{name}\"}}")
    };
    let ask = |body: String| {
        let state = Arc::clone(&state);
        async move {
            let (_, answer) = post(&state, "/validate/flaky", &body).await?;
            Ok::<_, Box<dyn std::error::Error>>(answer)
        }
    };

    // Six at once: two run into the deadline side by side (the policy is not known to be slow yet), which opens
    // the breaker (a third may have started between the two timeouts); those still waiting then fail fast
    // instead of running.
    let mut codes = Vec::new();
    for task in clients(&state, "/validate/flaky", &large, 6) {
        let (_, answer) = task.await?;
        let (_, body) = answer?;
        let (code, message) = status(&body);
        codes.push(code);
        assert!(
            (code == 500 && message.contains("timed out"))
                || (code == 503 && message.contains("policy flaky is failing fast")),
            "{body}"
        );
    }
    let timed_out = codes.iter().filter(|code| **code == 500).count();
    assert!(
        (2..=3).contains(&timed_out) && codes.iter().all(|code| [500, 503].contains(code)),
        "{codes:?}"
    );
    assert_eq!(metric(&state, &state_is("open")).await?, 1.0);
    assert_eq!(metric(&state, &state_is("closed")).await?, 0.0);

    // Open: even a request it would accept is not run.
    let answer = ask(small.clone()).await?;
    assert_eq!(answer["response"]["allowed"], false);
    let (code, message) = status(&answer);
    assert!(
        code == 503 && message.contains("tried again in"),
        "{answer}"
    );

    // After the cool-down one trial runs; it loops, so the breaker opens again.
    tokio::time::sleep(cool_down + Duration::from_millis(100)).await;
    let answer = ask(large.clone()).await?;
    assert!(status(&answer).1.contains("timed out"), "{answer}");
    assert_eq!(metric(&state, &state_is("open")).await?, 1.0);
    assert_eq!(status(&ask(small.clone()).await?).0, 503);

    // The next trial behaves: the breaker closes and requests run again.
    tokio::time::sleep(cool_down + Duration::from_millis(100)).await;
    let answer = ask(small.clone()).await?;
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    assert_eq!(metric(&state, &state_is("closed")).await?, 1.0);
    assert_eq!(metric(&state, &state_is("open")).await?, 0.0);
    // One timeout is below the threshold: it stays closed.
    assert!(status(&ask(large).await?).1.contains("timed out"));
    let answer = ask(small).await?;
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    let refusals = "palisade_policy_refusals_total{policy=\"flaky\",reason=\"circuit_open\"}";
    // The first six's fast failures, and one after each of the two openings.
    assert_eq!(metric(&state, refusals).await?, (6 - timed_out + 2) as f64);
    Ok(())
}
