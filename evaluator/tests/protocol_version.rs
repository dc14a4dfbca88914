//! `Engine::wapc_protocol_version`: what `palisade annotate` asks a waPC module, as kwctl does.

use artifact::metadata::ProtocolVersion;
use evaluator::{Engine, EngineConfig, EvaluatorError};
use test_support::{compile_fixture, compile_wat};

fn engine() -> Engine {
    Engine::new(EngineConfig {
        pooling: false,
        ..EngineConfig::default()
    })
    .unwrap_or_else(|err| panic!("engine: {err}"))
}

#[test]
fn a_guest_that_speaks_v1_says_so() -> Result<(), EvaluatorError> {
    assert_eq!(
        engine().wapc_protocol_version(&compile_fixture("wapc-accept"))?,
        ProtocolVersion::V1
    );
    Ok(())
}

#[test]
fn a_guest_that_cannot_answer_is_an_error_naming_why() {
    let engine = engine();
    assert!(matches!(
        engine.wapc_protocol_version(&compile_fixture("wapc-trap")),
        Err(EvaluatorError::Trap(_))
    ));
    // host-call.wat answers every operation without a `/` with an error.
    let refused = engine.wapc_protocol_version(&compile_fixture("host-call"));
    assert!(
        matches!(&refused, Err(EvaluatorError::Guest { operation, message })
            if operation == "protocol_version" && message.contains("NAMESPACE/OPERATION")),
        "{refused:?}"
    );
    assert!(matches!(
        engine.wapc_protocol_version(b"not wasm"),
        Err(EvaluatorError::Compile(_))
    ));
}

#[test]
fn an_unknown_version_is_refused() {
    let v2 = compile_wat(
        r#"(module
             (import "wapc" "__guest_response" (func $respond (param i32 i32)))
             (memory (export "memory") 1)
             (data (i32.const 8) "\"v2\"")
             (func (export "__guest_call") (param i32 i32) (result i32)
               (call $respond (i32.const 8) (i32.const 4))
               (i32.const 1)))"#,
    );
    let answer = engine().wapc_protocol_version(&v2);
    assert!(
        matches!(&answer, Err(EvaluatorError::MalformedResponse { reason, .. }) if reason.contains("\"v2\"")),
        "{answer:?}"
    );
}
