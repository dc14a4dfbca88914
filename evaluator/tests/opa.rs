//! The `opa` and `gatekeeper` execution modes on real Rego policies built by `opa build -t wasm`
//! (../shared/policies) and on WAT fixtures that misbehave.

use std::path::PathBuf;

use evaluator::{
    AdmissionReview, AdmittedModule, Engine, EngineConfig, Error, OpaPolicy, Policy, RegoMode,
    ValidationRequest,
};
use serde_json::json;
use test_support::compile_fixture;

fn engine() -> Engine {
    Engine::new(EngineConfig::default()).unwrap_or_else(|err| panic!("engine: {err}"))
}

fn shared(name: &str) -> AdmittedModule {
    let path: PathBuf = test_support::shared_policies()
        .into_iter()
        .find(|path| path.file_name().is_some_and(|file| file == name))
        .unwrap_or_else(|| panic!("{name} is expected in ../shared/policies"));
    let bytes =
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    AdmittedModule::insecure(name, bytes)
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
fn gatekeeper_happy_policy_accepts() -> Result<(), Error> {
    let policy = load(
        &engine(),
        &shared("gatekeeper_always_happy_policy.wasm"),
        RegoMode::Gatekeeper,
    );
    assert_eq!(policy.entrypoints().get("policy/violation"), Some(&0));
    // Built with ABI 1.2: evaluated through the one-call `opa_eval`.
    assert!(policy.uses_opa_eval());
    let answer = policy.validate(&request("pod-create.json", json!({})))?;
    assert!(answer.accepted, "{answer:?}");
    assert_eq!(answer.message, None);
    Ok(())
}

#[test]
fn gatekeeper_unhappy_policy_rejects_with_its_message() -> Result<(), Error> {
    let policy = load(
        &engine(),
        &shared("gatekeeper_always_unhappy_policy.wasm"),
        RegoMode::Gatekeeper,
    );
    let answer = policy.validate(&request("pod-create.json", json!({})))?;
    assert!(!answer.accepted);
    assert_eq!(answer.message.as_deref(), Some("failing as expected"));
    Ok(())
}

#[test]
fn opa_policy_rejects_the_default_namespace_only() -> Result<(), Error> {
    let policy = load(
        &engine(),
        &shared("no-default-namespace-rego.wasm"),
        RegoMode::Opa,
    );
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
fn builtins_get_their_arguments_and_return_results() -> Result<(), Error> {
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
        matches!(&err, Some(Error::UnsupportedBuiltins(names)) if names == &["http.send"]),
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
        matches!(&err, Some(Error::MissingExport(name)) if name == "opa_malloc"),
        "{err:?}"
    );
    // opa-deny has the exports `palisade annotate` looks for, not all those evaluation needs.
    let err = Policy::load(&engine, "gatekeeper", &fixture("opa-deny")).err();
    assert!(
        matches!(&err, Some(Error::MissingExport(name)) if name == "opa_json_parse"),
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
    assert!(matches!(err, Some(Error::OutOfMemory(65536))), "{err:?}");
}

#[test]
fn policy_load_picks_the_rego_modes_and_settings_are_accepted() -> Result<(), Error> {
    let engine = engine();
    let module = shared("gatekeeper_always_unhappy_policy.wasm");
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
