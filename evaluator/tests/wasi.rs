//! The `wasi` execution mode: argv, stdin and stdout, and its failures as 500 rejections.

use std::time::Duration;

use evaluator::{
    AdmittedModule, Engine, EngineConfig, EvaluatorError, Policy, ValidationRequest, WasiPolicy,
};
use serde_json::json;
use test_support::compile_fixture;

fn engine() -> Engine {
    engine_with_cap(1024)
}

fn engine_with_cap(max_response_bytes: usize) -> Engine {
    Engine::new(EngineConfig {
        deadline: Duration::from_millis(200),
        max_response_bytes,
        ..EngineConfig::default()
    })
    .unwrap_or_else(|err| panic!("building the engine: {err}"))
}

fn load(engine: &Engine, fixture: &str) -> WasiPolicy {
    engine
        .load_wasi(&AdmittedModule::insecure(
            "fixture",
            compile_fixture(fixture),
        ))
        .unwrap_or_else(|err| panic!("loading {fixture}: {err}"))
}

fn request() -> ValidationRequest {
    ValidationRequest {
        request: json!({"uid": "1", "operation": "CREATE"}),
        settings: json!({}),
    }
}

#[test]
fn accept_policy_accepts() -> Result<(), EvaluatorError> {
    let engine = engine();
    assert!(load(&engine, "wasi-accept").validate(&request())?.accepted);
    Ok(())
}

#[test]
fn argv_and_stdin_reach_the_policy() -> Result<(), EvaluatorError> {
    let engine = engine();
    let policy = load(&engine, "wasi-reject");
    assert!(policy.validate_settings(&json!({}))?.valid);
    let answer = policy.validate(&request())?;
    assert!(!answer.accepted);
    assert_eq!(answer.code, Some(418));
    assert_eq!(
        answer.message.as_deref(),
        Some("rejected by the WASI fixture")
    );
    Ok(())
}

#[test]
fn a_nonzero_exit_is_a_500_with_stderr() {
    let engine = engine();
    let policy = load(&engine, "wasi-exit");
    match policy.validate(&request()) {
        Err(EvaluatorError::Guest { message, .. }) => {
            assert_eq!(message, "exited with status 3: bad things happened");
        }
        other => panic!("expected a guest error, got {other:?}"),
    }
    let answer = policy.evaluate(&request());
    assert_eq!((answer.accepted, answer.code), (false, Some(500)));
    assert!(load(&engine, "wasi-accept").evaluate(&request()).accepted);
}

#[test]
fn a_looping_policy_times_out() {
    let engine = engine();
    let policy = load(&engine, "wasi-loop");
    assert!(matches!(
        policy.validate(&request()),
        Err(EvaluatorError::Timeout(_))
    ));
    assert!(load(&engine, "wasi-accept").evaluate(&request()).accepted);
}

#[test]
fn an_answer_over_the_cap_is_refused() {
    // wasi-reject's 70-byte answer is over a 64-byte cap.
    let engine = engine_with_cap(64);
    assert!(matches!(
        load(&engine, "wasi-reject").validate(&request()),
        Err(EvaluatorError::ResponseTooLarge { limit: 64, .. })
    ));
}

#[test]
fn the_wrong_mode_is_refused_at_load() {
    let engine = engine();
    assert!(matches!(
        engine.load_wasi(&AdmittedModule::insecure("fixture", compile_fixture("wapc-accept"))),
        Err(EvaluatorError::MissingExport(name)) if name == "_start"
    ));
    assert!(matches!(
        Policy::load(&engine, "rego", &AdmittedModule::insecure("fixture", compile_fixture("opa-deny"))),
        Err(EvaluatorError::UnsupportedMode(mode)) if mode == "rego"
    ));
    assert!(matches!(
        Policy::load(
            &engine,
            "wasi",
            &AdmittedModule::insecure("fixture", compile_fixture("wasi-accept"))
        ),
        Ok(Policy::Wasi(_))
    ));
}
