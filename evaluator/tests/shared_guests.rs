//! Real waPC guests built by other toolchains (TinyGo, Zig, AssemblyScript, Rust), from
//! `../shared/policies`. They are waPC demos, not Kubewarden policies: they answer `hello` (and
//! the Rust one `echo`), so that is what is checked, with the host call they make.

use std::sync::{Arc, Mutex};

use evaluator::{AdmittedModule, Engine, EngineConfig, EvaluatorError};

/// The guest `name`; `None` when ../shared/policies is absent (`test` is skipped).
fn read(test: &str, name: &str) -> Option<Vec<u8>> {
    let path = test_support::shared_policy(test, name)?;
    Some(std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display())))
}

type Calls = Arc<Mutex<Vec<(String, String, String, Vec<u8>)>>>;

fn hello(test: &str, name: &str, expected: &str) -> Result<(), EvaluatorError> {
    let Some(module) = read(test, name) else {
        return Ok(());
    };
    let engine = Engine::new(EngineConfig::default())?;
    let calls: Calls = Arc::default();
    let seen = Arc::clone(&calls);
    let handler = move |bd: &str, ns: &str, op: &str, payload: &[u8]| {
        if let Ok(mut seen) = seen.lock() {
            seen.push((
                bd.to_owned(),
                ns.to_owned(),
                op.to_owned(),
                payload.to_vec(),
            ));
        }
        Ok(Vec::new())
    };
    let policy = engine.load_wapc_with(
        &AdmittedModule::insecure("fixture", module),
        Arc::new(handler),
    )?;
    // Twice: each call runs in a fresh instance (start functions included).
    for _ in 0..2 {
        let answer = policy.call("hello", b"this is a test")?;
        assert_eq!(String::from_utf8_lossy(&answer), expected, "{name}");
    }
    let calls = calls.lock().map(|calls| calls.clone()).unwrap_or_default();
    assert_eq!(calls.len(), 2, "{name}: host calls {calls:?}");
    for (bd, ns, op, payload) in calls {
        assert_eq!(
            (bd.as_str(), ns.as_str(), op.as_str()),
            ("myBinding", "sample", "hello")
        );
        assert_eq!(payload, b"Simon");
    }
    Ok(())
}

#[test]
fn assemblyscript_guest_says_hello() -> Result<(), EvaluatorError> {
    hello(
        "assemblyscript_guest_says_hello",
        "wapc_hello_as.wasm",
        "Hello",
    )
}

#[test]
fn tinygo_guest_runs_start_and_says_hello() -> Result<(), EvaluatorError> {
    hello(
        "tinygo_guest_runs_start_and_says_hello",
        "wapc_hello_tinygo.wasm",
        "Hello",
    )
}

#[test]
fn zig_guest_says_hello() -> Result<(), EvaluatorError> {
    hello(
        "zig_guest_says_hello",
        "wapc_hello_zig.wasm",
        "Hello, this is a test!",
    )
}

#[test]
fn rust_guest_runs_wapc_init_and_echoes() -> Result<(), EvaluatorError> {
    let test = "rust_guest_runs_wapc_init_and_echoes";
    let Some(module) = read(test, "wapc_wapc_guest_test.wasm") else {
        return Ok(());
    };
    let engine = Engine::new(EngineConfig::default())?;
    let policy = engine.load_wapc(&AdmittedModule::insecure("fixture", module))?;
    // The payload is MessagePack: a fixstr of 11 bytes, "hello world".
    let payload = [&[0xab_u8][..], b"hello world"].concat();
    assert_eq!(policy.call("echo", &payload)?, payload);
    Ok(())
}

#[test]
fn demo_guests_are_not_kubewarden_policies() -> Result<(), EvaluatorError> {
    // Asking a demo guest for a Kubewarden operation is an error from the guest (or a trap),
    // never a panic of the host.
    let engine = Engine::new(EngineConfig::default())?;
    for name in ["wapc_hello_zig.wasm", "wapc_wapc_guest_test.wasm"] {
        let Some(module) = read("demo_guests_are_not_kubewarden_policies", name) else {
            return Ok(());
        };
        let policy = engine.load_wapc(&AdmittedModule::insecure("fixture", module))?;
        let answer = policy.protocol_version();
        assert!(
            answer
                .as_ref()
                .is_err_and(EvaluatorError::is_evaluation_failure),
            "{name}: {answer:?}"
        );
    }
    Ok(())
}
