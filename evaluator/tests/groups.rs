//! Policy groups in the policy server (`server::app` without a socket): real waPC members (the WAT
//! fixtures) combined by an expression and answered as Kubewarden's policy-server answers a group;
//! members verified and their settings validated like any policy before the server starts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use evaluator::ModuleCache;
use evaluator::gate::{Admission, Verification};
use evaluator::server::{
    BreakerOptions, FAIL_FAST_PAUSE, IsolationLimits, PoliciesFile, ServerState, StartOptions,
};
use serde_json::{Value, json};
use signing::config::VerificationConfig;
use signing::keys::PrivateKey;
use test_support::{compile_fixture, testdata_file, write_fixture};

mod server_harness;

use server_harness::{get, options, post};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A group entry of `policies.yml`: `members` are (name, fixture, extra YAML at the member's level).
fn group(dir: &Path, id: &str, head: &str, members: &[(&str, &str, &str)]) -> String {
    let mut text = format!("{id}:\n  message: the group says no\n{head}  policies:\n");
    for (name, fixture, extra) in members {
        let module = write_fixture(dir, fixture);
        text.push_str(&format!(
            "    {name}:\n      module: file://{}\n{extra}",
            module.display()
        ));
    }
    text
}

/// POSTs `body` to `path`; the answer's `response`.
async fn answer(
    state: &Arc<ServerState>,
    path: &str,
    body: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let (_, mut document) = post(state, path, body).await?;
    Ok(document["response"].take())
}

fn review() -> Result<String, std::io::Error> {
    std::fs::read_to_string(testdata_file("requests/pod-create.json"))
}

const REJECTED: &str = "rejected by the fixture policy";

#[tokio::test(flavor = "multi_thread")]
async fn groups_answer_as_kubewarden_and_evaluate_only_what_the_expression_needs() -> TestResult {
    let dir = test_support::tempdir();
    let dir = dir.path();
    let accept = ("accept", "wapc-accept", "");
    let reject = ("reject", "wapc-reject", "");
    let trap = ("trap", "wapc-validate-trap", "");
    // Were it called, this member would hold the request for 30 s.
    let looping = (
        "looping",
        "wapc-validate-loop",
        "      timeoutEvalSeconds: 30\n",
    );
    let text = [
        group(
            dir,
            "both",
            "  expression: accept() && reject()\n",
            &[accept, reject],
        ),
        group(
            dir,
            "either",
            "  expression: reject() || accept()\n",
            &[accept, reject],
        ),
        group(
            dir,
            "short",
            "  expression: accept() || looping() && trap()\n",
            &[accept, looping, trap],
        ),
        group(
            dir,
            "short-and",
            "  expression: reject() && (trap() || looping())\n",
            &[reject, trap, looping],
        ),
        group(
            dir,
            "failing",
            "  expression: trap() || reject()\n",
            &[trap, reject],
        ),
        group(
            dir,
            "mutating",
            "  expression: mutate()\n",
            &[("mutate", "wapc-mutate", "")],
        ),
        group(dir, "negated", "  expression: \"!reject()\"\n", &[reject]),
        group(
            dir,
            "monitored",
            "  expression: reject()\n  policyMode: monitor\n",
            &[reject],
        ),
    ]
    .concat();
    let file = PoliciesFile::from_yaml(&text)?;
    let state = Arc::new(
        ServerState::start(&file, options(Admission::InsecureSkipVerification, None)).await?,
    );
    let review = review()?;

    // Rejected: the group's message, each rejecting member a cause; no code, as Kubewarden answers.
    let both = answer(&state, "/validate/both", &review).await?;
    assert_eq!(both["allowed"], false);
    assert_eq!(
        both["status"],
        json!({
            "message": "the group says no",
            "details": {"causes": [{"field": "spec.policies.reject", "message": REJECTED}]}
        })
    );
    // Accepted: no status, though a member rejected on the way.
    let either = answer(&state, "/validate/either", &review).await?;
    assert_eq!(either["allowed"], true);
    assert!(either.get("status").is_none(), "{either}");

    // Members the verdict does not depend on are never called: neither the loop nor the trap.
    let started = Instant::now();
    let short = answer(&state, "/validate/short", &review).await?;
    assert_eq!(short["allowed"], true);
    assert!(started.elapsed() < Duration::from_secs(10));
    let short_and = answer(&state, "/validate/short-and", &review).await?;
    assert_eq!(
        short_and["status"]["details"]["causes"],
        json!([{"field": "spec.policies.reject", "message": REJECTED}])
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // A member that fails counts as a rejection that says why; causes come in member name order.
    let failing = answer(&state, "/validate/failing", &review).await?;
    let causes = failing["status"]["details"]["causes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(causes.len(), 2, "{failing}");
    assert_eq!(
        causes[0],
        json!({"field": "spec.policies.reject", "message": REJECTED})
    );
    assert_eq!(causes[1]["field"], "spec.policies.trap");
    assert!(
        causes[1]["message"]
            .as_str()
            .is_some_and(|message| message.contains("trap")),
        "{failing}"
    );

    // Groups never mutate: a member's mutation is its rejection.
    let mutating = answer(&state, "/validate/mutating", &review).await?;
    assert_eq!(mutating["allowed"], false);
    assert!(mutating.get("patch").is_none());
    assert_eq!(
        mutating["status"]["details"]["causes"],
        json!([{"field": "spec.policies.mutate", "message": "mutation is not allowed inside of policy group"}])
    );

    let negated = answer(&state, "/validate/negated", &review).await?;
    assert_eq!(negated["allowed"], true);
    let monitored = answer(&state, "/validate/monitored", &review).await?;
    assert_eq!(monitored["allowed"], true);
    assert!(monitored.get("status").is_none(), "{monitored}");

    // The raw endpoint answers the same.
    let raw = answer(
        &state,
        "/validate_raw/both",
        &json!({"request": {"uid": "raw-1", "object": {}}}).to_string(),
    )
    .await?;
    assert_eq!(
        (&raw["uid"], &raw["allowed"]),
        (&json!("raw-1"), &json!(false))
    );
    assert_eq!(raw["status"], both["status"]);

    // Metrics count the group under its id.
    let (_, metrics) = get(&state, "/metrics").await?;
    for line in [
        "palisade_policy_evaluations_total{policy=\"both\",outcome=\"rejected\"} 2",
        "palisade_policy_evaluations_total{policy=\"either\",outcome=\"accepted\"} 1",
        "palisade_policy_evaluation_duration_seconds_count{policy=\"short\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_whose_settings_are_refused_stops_the_start() -> TestResult {
    let dir = test_support::tempdir();
    let text = group(
        dir.path(),
        "picky",
        "  expression: fine() && strict()\n",
        &[
            ("fine", "wapc-accept", ""),
            ("strict", "wapc-settings", "      settings: {replicas: 3}\n"),
        ],
    );
    let file = PoliciesFile::from_yaml(&text)?;
    let options = options(Admission::InsecureSkipVerification, None);
    let err = ServerState::start(&file, options.clone())
        .await
        .map(|_| ())
        .map_err(|err| err.to_string());
    assert_eq!(
        err,
        Err("the policy server cannot start: policy picky/strict: invalid input: the policy rejects its settings: this policy takes no settings".into())
    );

    // With --continue-on-errors the group answers every request with a 500 that says why.
    let state = Arc::new(
        ServerState::start(
            &file,
            StartOptions {
                continue_on_errors: true,
                ..options
            },
        )
        .await?,
    );
    let picky = answer(&state, "/validate/picky", &review()?).await?;
    assert_eq!(picky["allowed"], false);
    assert_eq!(picky["status"]["code"], 500);
    assert_eq!(
        picky["status"]["message"],
        "policy picky could not be loaded: member strict: invalid input: the policy rejects its settings: this policy takes no settings"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_member_stops_the_start_and_is_never_compiled() -> TestResult {
    let dir = test_support::tempdir();
    let text = group(
        dir.path(),
        "guarded",
        "  expression: signed() && unsigned()\n",
        &[
            ("signed", "wapc-accept", ""),
            ("unsigned", "wapc-reject", ""),
        ],
    );
    let file = PoliciesFile::from_yaml(&text)?;
    let key = PrivateKey::generate()?;
    let sign = |fixture: &str| -> std::io::Result<()> {
        let bundle = signing::bundle::sign(
            &key,
            &artifact::oci::Digest::sha256_of(&compile_fixture(fixture)),
            &BTreeMap::new(),
        );
        std::fs::write(
            signing::local::bundle_path(&dir.path().join(format!("{fixture}.wasm"))),
            bundle.to_bytes(),
        )
    };
    let verification = || -> Result<Admission, signing::SigningError> {
        Ok(Admission::Verify(Verification {
            config: VerificationConfig::for_keys(&[key.public_key().to_pem()], &BTreeMap::new())?,
            trust_root: signing::trust::TrustRoot::production()?,
        }))
    };
    sign("wapc-accept")?;
    let cache_dir = test_support::tempdir();
    let cache = Arc::new(ModuleCache::new(cache_dir.path())?);
    let err = ServerState::start(&file, options(verification()?, Some(Arc::clone(&cache))))
        .await
        .map(|_| ())
        .map_err(|err| err.to_string());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("policy guarded/unsigned: refusing to run")
                && e.contains("no Sigstore bundle")
                && !e.contains("guarded/signed")),
        "{err:?}"
    );
    // Only the signed member reached the compiler.
    assert_eq!(cache.misses(), 1);

    sign("wapc-reject")?;
    let state = Arc::new(ServerState::start(&file, options(verification()?, Some(cache))).await?);
    let guarded = answer(&state, "/validate/guarded", &review()?).await?;
    assert_eq!(
        guarded["status"]["details"]["causes"],
        json!([{"field": "spec.policies.unsigned", "message": REJECTED}])
    );
    Ok(())
}

/// A member that runs into its deadline counts towards the group's circuit breaker, as a policy's own timeouts
/// do: a group whose member loops is failed fast once it has timed out often enough, even though each answer
/// was a verdict (`looping() || accept()` accepts after the member's timeout).
#[tokio::test(flavor = "multi_thread")]
async fn a_members_timeouts_open_the_groups_breaker() -> TestResult {
    let dir = test_support::tempdir();
    let text = group(
        dir.path(),
        "guarded",
        "  expression: looping() || accept()\n",
        &[
            ("looping", "wapc-validate-loop", ""),
            ("accept", "wapc-accept", ""),
        ],
    );
    let file = PoliciesFile::from_yaml(&text)?;
    let isolation = IsolationLimits {
        breaker: BreakerOptions {
            timeouts: 2,
            window: Duration::from_secs(60),
            cool_down: Duration::from_secs(60),
        },
        ..IsolationLimits::default()
    };
    let options = StartOptions {
        isolation,
        ..options(Admission::InsecureSkipVerification, None)
    };
    let state = Arc::new(ServerState::start(&file, options).await?);
    for _ in 0..2 {
        let accepted = answer(&state, "/validate/guarded", &review()?).await?;
        assert_eq!(accepted["allowed"], true, "{accepted}");
    }
    // Run, the group would accept: a 503 rejection is the breaker's, given after its pause.
    let asked = Instant::now();
    let failed_fast = answer(&state, "/validate/guarded", &review()?).await?;
    assert_eq!(failed_fast["allowed"], false, "{failed_fast}");
    assert_eq!(failed_fast["status"]["code"], 503, "{failed_fast}");
    assert!(asked.elapsed() >= FAIL_FAST_PAUSE);
    let (_, metrics) = get(&state, "/metrics").await?;
    assert!(
        metrics
            .contains("palisade_policy_circuit_breaker_state{policy=\"guarded\",state=\"open\"} 1"),
        "{metrics}"
    );
    Ok(())
}
