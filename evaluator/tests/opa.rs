//! The `opa` and `gatekeeper` execution modes on real Rego policies built by `opa build -t wasm`
//! (../shared/policies) and on WAT fixtures that misbehave.

use evaluator::{
    AdmissionReview, AdmittedModule, Engine, EngineConfig, EvaluatorError, OpaPolicy, Policy,
    RegoMode, ValidationRequest,
};
use serde_json::json;
use test_support::compile_fixture;

fn engine() -> Engine {
    Engine::new(EngineConfig::default()).unwrap_or_else(|err| panic!("engine: {err}"))
}

/// The Rego policy `name`; `None` when ../shared/policies is absent (`test` is skipped).
fn shared(test: &str, name: &str) -> Option<AdmittedModule> {
    let path = test_support::shared_policy(test, name)?;
    let bytes =
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    Some(AdmittedModule::insecure(name, bytes))
}

fn fixture(name: &str) -> AdmittedModule {
    AdmittedModule::insecure(name, compile_fixture(name))
}

fn load(engine: &Engine, module: &AdmittedModule, mode: RegoMode) -> OpaPolicy {
    engine
        .load_opa(module, mode)
        .unwrap_or_else(|err| panic!("loading {}: {err}", module.source()))
}

/// The `request` of `testdata/requests/FILE`.
fn request(file: &str, settings: serde_json::Value) -> ValidationRequest {
    let path = test_support::testdata_file(&format!("requests/{file}"));
    let bytes =
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let review = AdmissionReview::from_json(&bytes).unwrap_or_else(|err| panic!("{file}: {err}"));
    ValidationRequest {
        request: review.request,
        settings,
    }
}

#[test]
fn gatekeeper_happy_policy_accepts() -> Result<(), EvaluatorError> {
    let test = "gatekeeper_happy_policy_accepts";
    let Some(module) = shared(test, "gatekeeper_always_happy_policy.wasm") else {
        return Ok(());
    };
    let policy = load(&engine(), &module, RegoMode::Gatekeeper);
    assert_eq!(policy.entrypoints().get("policy/violation"), Some(&0));
    // Built with ABI 1.2: evaluated through the one-call `opa_eval`.
    assert!(policy.uses_opa_eval());
    let answer = policy.validate(&request("pod-create.json", json!({})))?;
    assert!(answer.accepted, "{answer:?}");
    assert_eq!(answer.message, None);
    Ok(())
}

#[test]
fn gatekeeper_unhappy_policy_rejects_with_its_message() -> Result<(), EvaluatorError> {
    let test = "gatekeeper_unhappy_policy_rejects_with_its_message";
    let Some(module) = shared(test, "gatekeeper_always_unhappy_policy.wasm") else {
        return Ok(());
    };
    let policy = load(&engine(), &module, RegoMode::Gatekeeper);
    let answer = policy.validate(&request("pod-create.json", json!({})))?;
    assert!(!answer.accepted);
    assert_eq!(answer.message.as_deref(), Some("failing as expected"));
    Ok(())
}

#[test]
fn opa_policy_rejects_the_default_namespace_only() -> Result<(), EvaluatorError> {
    let test = "opa_policy_rejects_the_default_namespace_only";
    let Some(module) = shared(test, "no-default-namespace-rego.wasm") else {
        return Ok(());
    };
    let policy = load(&engine(), &module, RegoMode::Opa);
    // No `opa_eval` export: evaluated through the evaluation context.
    assert!(!policy.uses_opa_eval());
    assert_eq!(policy.entrypoints().get("policy/main"), Some(&0));
    let rejected = policy.validate(&request("pod-create.json", json!({})))?;
    assert!(!rejected.accepted);
    assert_eq!(
        rejected.message.as_deref(),
        Some("you cannot use the default namespace")
    );
    let accepted = policy.validate(&request("pod-create-apps.json", json!({})))?;
    assert!(accepted.accepted, "{accepted:?}");
    Ok(())
}

#[test]
fn builtins_get_their_arguments_and_return_results() -> Result<(), EvaluatorError> {
    // opa-builtins answers sprintf("%d bytes", [units.parse(data)]); in `opa` mode, data is the
    // settings.
    let policy = load(&engine(), &fixture("opa-builtins"), RegoMode::Opa);
    assert_eq!(policy.builtins(), ["sprintf", "units.parse"]);
    let answer = policy.validate(&request("pod-create.json", json!("2Ki")))?;
    assert!(!answer.accepted);
    assert_eq!(answer.message.as_deref(), Some("2048 bytes"));
    Ok(())
}

#[test]
fn a_failing_builtin_is_a_500_naming_it() {
    let policy = load(&engine(), &fixture("opa-builtins"), RegoMode::Opa);
    let answer = policy.evaluate(&request("pod-create.json", json!("lots")));
    assert!(!answer.accepted);
    assert_eq!(answer.code, Some(500));
    let message = answer.message.unwrap_or_default();
    assert!(
        message.contains("Rego builtin `units.parse` failed"),
        "{message}"
    );
    assert!(message.contains("lots"), "{message}");
}

#[test]
fn an_unknown_builtin_is_refused_at_load_naming_it() {
    let path = test_support::testdata_file("policies/opa-builtins.wat");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
        .replace("units.parse", "http.send");
    let module = AdmittedModule::insecure("http-send", test_support::compile_wat(&text));
    let err = engine().load_opa(&module, RegoMode::Opa).err();
    assert!(
        matches!(&err, Some(EvaluatorError::UnsupportedBuiltins(names)) if names == &["http.send"]),
        "{err:?}"
    );
    let message = err.map(|err| err.to_string()).unwrap_or_default();
    assert!(
        message.contains("does not implement: http.send"),
        "{message}"
    );
}

#[test]
fn an_aborting_policy_is_a_500_naming_the_abort() {
    let policy = load(&engine(), &fixture("opa-abort"), RegoMode::Gatekeeper);
    let answer = policy.evaluate(&request("pod-create.json", json!({})));
    assert!(!answer.accepted);
    assert_eq!(answer.code, Some(500));
    assert_eq!(
        answer.message.as_deref(),
        Some(
            "policy failed on `eval`: the policy aborted (opa_abort): internal error: out of cheese"
        )
    );
}

#[test]
fn a_module_without_the_abi_exports_is_refused() {
    let engine = engine();
    let err = engine
        .load_opa(&fixture("wapc-accept"), RegoMode::Opa)
        .err();
    assert!(
        matches!(&err, Some(EvaluatorError::MissingExport(name)) if name == "opa_malloc"),
        "{err:?}"
    );
    // opa-deny has the exports `palisade annotate` looks for, not all those evaluation needs.
    let err = Policy::load(&engine, "gatekeeper", &fixture("opa-deny")).err();
    assert!(
        matches!(&err, Some(EvaluatorError::MissingExport(name)) if name == "opa_json_parse"),
        "{err:?}"
    );
    assert_eq!(
        err.map(|err| err.to_string()).unwrap_or_default(),
        "the policy module does not export `opa_json_parse`"
    );
}

#[test]
fn the_memory_the_host_provides_is_capped() {
    // The fixtures import two pages (128 KiB) of memory.
    let engine = Engine::new(EngineConfig {
        memory_limit: 64 * 1024,
        pooling: false,
        ..EngineConfig::default()
    })
    .unwrap_or_else(|err| panic!("engine: {err}"));
    let err = engine
        .load_opa(&fixture("opa-abort"), RegoMode::Gatekeeper)
        .err();
    assert!(
        matches!(err, Some(EvaluatorError::OutOfMemory(65536))),
        "{err:?}"
    );
}

#[test]
fn policy_load_picks_the_rego_modes_and_settings_are_accepted() -> Result<(), EvaluatorError> {
    let test = "policy_load_picks_the_rego_modes_and_settings_are_accepted";
    let Some(module) = shared(test, "gatekeeper_always_unhappy_policy.wasm") else {
        return Ok(());
    };
    let engine = engine();
    let policy = Policy::load(&engine, "gatekeeper", &module)?;
    assert!(
        policy
            .validate_settings(&json!({"anything": [1, 2]}))?
            .valid
    );
    let answer = policy.evaluate(&request("pod-create.json", json!({})));
    assert_eq!(answer.message.as_deref(), Some("failing as expected"));
    assert!(
        matches!(Policy::load(&engine, "opa", &module)?, Policy::Opa(p) if p.mode() == RegoMode::Opa)
    );
    Ok(())
}

#[test]
fn a_policy_past_its_deadline_is_a_500() {
    let path = test_support::testdata_file("policies/opa-abort.wat");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
        .replace(
            "(call $opa_abort (i32.const 128))",
            "(loop $spin (br $spin))",
        );
    let engine = Engine::new(EngineConfig {
        deadline: std::time::Duration::from_millis(100),
        ..EngineConfig::default()
    })
    .unwrap_or_else(|err| panic!("engine: {err}"));
    let module = AdmittedModule::insecure("opa-loop", test_support::compile_wat(&text));
    let answer = load(&engine, &module, RegoMode::Gatekeeper)
        .evaluate(&request("pod-create.json", json!({})));
    assert_eq!(answer.code, Some(500));
    assert_eq!(
        answer.message.as_deref(),
        Some("policy evaluation timed out after 100ms")
    );
}

#[test]
fn another_abi_major_version_is_refused() {
    let path = test_support::testdata_file("policies/opa-abort.wat");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
        .replace(
            "(global $heap",
            "(global (export \"opa_wasm_abi_version\") i32 (i32.const 2))\n  (global $heap",
        );
    let module = AdmittedModule::insecure("abi-2", test_support::compile_wat(&text));
    let err = engine().load_opa(&module, RegoMode::Gatekeeper).err();
    assert_eq!(
        err.map(|err| err.to_string()).unwrap_or_default(),
        "linking the policy module: the policy needs OPA Wasm ABI 2; this host speaks ABI 1.x"
    );
}

#[test]
fn a_builtin_result_over_the_cap_is_a_500() {
    // With a 99-column field, sprintf's answer is 107 bytes of JSON; the cap is 64.
    let path = test_support::testdata_file("policies/opa-builtins.wat");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
        .replace("%d bytes", "%99d bytes");
    let engine = Engine::new(EngineConfig {
        max_response_bytes: 64,
        ..EngineConfig::default()
    })
    .unwrap_or_else(|err| panic!("engine: {err}"));
    let module = AdmittedModule::insecure("wide", test_support::compile_wat(&text));
    let answer =
        load(&engine, &module, RegoMode::Opa).evaluate(&request("pod-create.json", json!("2Ki")));
    assert_eq!(answer.code, Some(500));
    assert_eq!(
        answer.message.as_deref(),
        Some("Rego builtin `sprintf` failed: its result of 107 bytes is over the 64-byte cap")
    );
}

#[test]
fn a_module_with_its_own_memory_is_refused() {
    let path = test_support::testdata_file("policies/opa-abort.wat");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
        .replace("(import \"env\" \"memory\" (memory 2))", "")
        .replace("(global $heap", "(memory 2)\n  (global $heap");
    let module = AdmittedModule::insecure("own-memory", test_support::compile_wat(&text));
    let err = engine().load_opa(&module, RegoMode::Gatekeeper).err();
    assert_eq!(
        err.map(|err| err.to_string()).unwrap_or_default(),
        "linking the policy module: a Rego policy imports its memory as `env.memory`; this one does not"
    );
}

#[test]
fn consecutive_evaluations_answer_as_each_would_alone() -> Result<(), EvaluatorError> {
    let test = "consecutive_evaluations_answer_as_each_would_alone";
    let Some(module) = shared(test, "no-default-namespace-rego.wasm") else {
        return Ok(());
    };
    let Some(unhappy) = shared(test, "gatekeeper_always_unhappy_policy.wasm") else {
        return Ok(());
    };
    let engine = engine();
    let default_namespace = request("pod-create.json", json!({}));
    let apps = request("pod-create-apps.json", json!({}));
    let alone =
        |request: &ValidationRequest| load(&engine, &module, RegoMode::Opa).validate(request);
    let (rejected, accepted) = (alone(&default_namespace)?, alone(&apps)?);
    assert!(!rejected.accepted && accepted.accepted);

    let policy = load(&engine, &module, RegoMode::Opa);
    assert!(policy.is_pre_initialised());
    for _ in 0..3 {
        assert_eq!(policy.validate(&default_namespace)?, rejected);
        assert_eq!(policy.validate(&apps)?, accepted);
    }
    let gatekeeper = load(&engine, &unhappy, RegoMode::Gatekeeper);
    assert!(gatekeeper.is_pre_initialised());
    for _ in 0..3 {
        let answer = gatekeeper.validate(&apps)?;
        assert_eq!(answer.message.as_deref(), Some("failing as expected"));
    }
    Ok(())
}

/// What opa-stateful answers in an instance started from its set-up state.
const FRESH: Option<&str> = Some("global 2, memory 6");

#[test]
fn every_evaluation_starts_from_the_set_up_state_even_after_a_failure() {
    let engine = engine();
    let policy = load(&engine, &fixture("opa-stateful"), RegoMode::Opa);
    // The start function's global and memory are in the pre-initialised module.
    assert!(policy.is_pre_initialised());
    let answer = |settings| policy.evaluate(&request("pod-create.json", settings));
    assert_eq!(answer(json!({})).message.as_deref(), FRESH);
    assert_eq!(answer(json!({})).message.as_deref(), FRESH);

    let trapped = answer(json!("trap"));
    assert_eq!(trapped.code, Some(500));
    let message = trapped.message.unwrap_or_default();
    assert!(message.contains("unreachable"), "{message}");
    assert_eq!(answer(json!({})).message.as_deref(), FRESH);

    let out_of_memory = policy.validate(&request("pod-create.json", json!("oom")));
    assert!(
        matches!(out_of_memory, Err(EvaluatorError::OutOfMemory(limit)) if limit == engine.config().memory_limit),
        "{out_of_memory:?}"
    );
    assert_eq!(answer(json!({})).message.as_deref(), FRESH);
}

#[test]
fn the_memory_cap_applies_to_pre_initialised_instances() -> Result<(), EvaluatorError> {
    // opa-stateful needs its two pages; a third is the most it may have.
    let engine = Engine::new(EngineConfig {
        memory_limit: 3 * 64 * 1024,
        ..EngineConfig::default()
    })?;
    assert!(engine.uses_pooling());
    let policy = load(&engine, &fixture("opa-stateful"), RegoMode::Opa);
    assert!(policy.is_pre_initialised());
    let answer = policy.validate(&request("pod-create.json", json!({})))?;
    assert_eq!(answer.message.as_deref(), FRESH);
    let out_of_memory = policy.validate(&request("pod-create.json", json!("oom")));
    assert!(
        matches!(out_of_memory, Err(EvaluatorError::OutOfMemory(196_608))),
        "{out_of_memory:?}"
    );
    Ok(())
}

#[test]
fn a_module_a_snapshot_cannot_hold_runs_its_set_up_in_each_instance() {
    // `data.drop` changes what the module's segments hold, which a snapshot does not record.
    let path = test_support::testdata_file("policies/opa-stateful.wat");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
        .replace(
            "(start $set_up)",
            "(start $set_up)\n  (func $forget (data.drop 2))",
        );
    let module = AdmittedModule::insecure("opa-drops", test_support::compile_wat(&text));
    let policy = load(&engine(), &module, RegoMode::Opa);
    assert!(!policy.is_pre_initialised());
    let answer = |settings| policy.evaluate(&request("pod-create.json", settings));
    assert_eq!(answer(json!({})).message.as_deref(), FRESH);
    assert_eq!(answer(json!("trap")).code, Some(500));
    assert_eq!(answer(json!({})).message.as_deref(), FRESH);
}

#[test]
fn a_reused_instance_keeps_what_fresh_ones_do_not() -> Result<(), EvaluatorError> {
    let policy = load(&engine(), &fixture("opa-stateful"), RegoMode::Opa);
    let request = request("pod-create.json", json!({}));
    let mut reused = policy.reused_instance()?;
    assert_eq!(reused.validate(&request)?.message.as_deref(), FRESH);
    // Only the heap is reset between evaluations, as Kubewarden does.
    assert_eq!(
        reused.validate(&request)?.message.as_deref(),
        Some("global 3, memory 7")
    );
    assert_eq!(policy.validate(&request)?.message.as_deref(), FRESH);
    Ok(())
}

#[test]
fn a_reused_instance_answers_as_fresh_ones_do() -> Result<(), EvaluatorError> {
    let test = "a_reused_instance_answers_as_fresh_ones_do";
    let Some(module) = shared(test, "no-default-namespace-rego.wasm") else {
        return Ok(());
    };
    let policy = load(&engine(), &module, RegoMode::Opa);
    let mut reused = policy.reused_instance()?;
    for file in ["pod-create.json", "pod-create-apps.json", "pod-create.json"] {
        let request = request(file, json!({}));
        assert_eq!(reused.validate(&request)?, policy.validate(&request)?);
    }
    Ok(())
}
