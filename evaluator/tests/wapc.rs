//! The waPC host against the WAT fixtures: answers, settings, and every failure mode turned into
//! a 500 rejection while the engine goes on serving; WASI preview 1 as Kubewarden policies built
//! by TinyGo and Rust std use it (every function they import linked, nothing of the host showing
//! through, real clocks and random, output in the policy log under a cap, `proc_exit` an error).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use evaluator::wapc::OUTPUT_LOG_BYTES;
use evaluator::{
    AdmittedModule, Engine, EngineConfig, EvaluatorError, ValidationRequest, ValidationResponse,
    WapcPolicy,
};
use serde_json::{Value, json};
use test_support::compile_fixture;

fn engine() -> Engine {
    Engine::new(EngineConfig {
        // Short enough to keep the looping guest's test quick; no assertion on time.
        deadline: Duration::from_millis(200),
        memory_limit: 16 * 1024 * 1024,
        max_response_bytes: 64 * 1024,
        ..EngineConfig::default()
    })
    .unwrap_or_else(|err| panic!("building the engine: {err}"))
}

fn load(engine: &Engine, fixture: &str) -> WapcPolicy {
    engine
        .load_wapc(&AdmittedModule::insecure(
            "fixture",
            compile_fixture(fixture),
        ))
        .unwrap_or_else(|err| panic!("loading {fixture}: {err}"))
}

fn request() -> ValidationRequest {
    ValidationRequest {
        request: json!({"uid": "1", "operation": "CREATE", "object": {"kind": "Pod"}}),
        settings: json!({}),
    }
}

#[test]
fn accept_policy_accepts_and_speaks_v1() -> Result<(), EvaluatorError> {
    let engine = engine();
    let policy = load(&engine, "wapc-accept");
    assert_eq!(policy.protocol_version()?, "v1");
    assert!(policy.validate_settings(&json!({}))?.valid);
    let answer = policy.validate(&request())?;
    assert_eq!(
        answer,
        ValidationResponse {
            accepted: true,
            ..ValidationResponse::default()
        }
    );
    Ok(())
}

#[test]
fn reject_policy_rejects_with_its_message_and_code() -> Result<(), EvaluatorError> {
    let engine = engine();
    let answer = load(&engine, "wapc-reject").validate(&request())?;
    assert!(!answer.accepted);
    assert_eq!(answer.code, Some(403));
    assert_eq!(
        answer.message.as_deref(),
        Some("rejected by the fixture policy")
    );
    Ok(())
}

#[test]
fn a_mutating_policy_returns_the_mutated_object() -> Result<(), EvaluatorError> {
    let engine = engine();
    let answer = load(&engine, "wapc-mutate").validate(&request())?;
    assert!(answer.accepted);
    let mutated = answer.mutated_object.unwrap_or_default();
    assert_eq!(mutated["metadata"]["labels"]["mutated"], "yes");
    Ok(())
}

#[test]
fn settings_validation_and_wapc_init() -> Result<(), EvaluatorError> {
    let engine = engine();
    let policy = load(&engine, "wapc-settings");
    assert!(policy.validate_settings(&json!({}))?.valid);
    let refused = policy.validate_settings(&json!({"replicas": 3}))?;
    assert!(!refused.valid);
    assert_eq!(
        refused.message.as_deref(),
        Some("this policy takes no settings")
    );
    // `validate` fails unless wapc_init ran first in the same instance.
    assert!(policy.validate(&request())?.accepted);
    Ok(())
}

#[test]
fn unknown_operation_is_a_guest_error() {
    let engine = engine();
    match load(&engine, "wapc-accept").call("frobnicate", b"") {
        Err(EvaluatorError::Guest { operation, message }) => {
            assert_eq!(operation, "frobnicate");
            assert_eq!(message, "unknown operation");
        }
        other => panic!("expected a guest error, got {other:?}"),
    }
}

/// Evaluates `fixture`, expects a 500 rejection whose message contains `expected`, and checks
/// that the same engine still evaluates the accept policy.
fn fails_with(fixture: &str, expected: &str, matches: fn(&EvaluatorError) -> bool) {
    let engine = engine();
    let policy = load(&engine, fixture);
    let error = match policy.validate(&request()) {
        Err(error) => error,
        Ok(answer) => panic!("{fixture}: expected a failure, got {answer:?}"),
    };
    assert!(matches(&error), "{fixture}: unexpected error {error:?}");
    assert!(error.is_evaluation_failure());
    let answer = policy.evaluate(&request());
    assert!(!answer.accepted);
    assert_eq!(answer.code, Some(500));
    let message = answer.message.unwrap_or_default();
    assert!(message.contains(expected), "{fixture}: message {message:?}");
    // The host carries on: the same policy fails the same way, and a good one still works.
    assert!(!policy.evaluate(&request()).accepted);
    assert!(load(&engine, "wapc-accept").evaluate(&request()).accepted);
}

#[test]
fn a_guest_that_loops_forever_times_out() {
    fails_with("wapc-loop", "timed out", |e| {
        matches!(e, EvaluatorError::Timeout(_))
    });
}

#[test]
fn a_guest_that_grows_memory_without_bound_hits_the_cap() {
    fails_with(
        "wapc-oom",
        "memory limit",
        |e| matches!(e, EvaluatorError::OutOfMemory(limit) if *limit == 16 * 1024 * 1024),
    );
}

#[test]
fn a_guest_that_traps_is_a_500() {
    fails_with("wapc-trap", "trapped", |e| {
        matches!(e, EvaluatorError::Trap(_))
    });
}

#[test]
fn a_guest_that_answers_garbage_is_a_500() {
    fails_with("wapc-garbage", "malformed policy response", |e| {
        matches!(e, EvaluatorError::MalformedResponse { .. })
    });
}

#[test]
fn a_huge_response_is_refused() {
    fails_with("wapc-huge", "too large", |e| {
        matches!(
            e,
            EvaluatorError::ResponseTooLarge {
                limit: 65536,
                size: 0x7fff_ffff
            }
        )
    });
}

#[test]
fn no_state_leaks_between_evaluations() -> Result<(), EvaluatorError> {
    let engine = engine();
    let policy = load(&engine, "wapc-stateful");
    for _ in 0..20 {
        assert!(
            policy.validate(&request())?.accepted,
            "state leaked between evaluations"
        );
    }
    Ok(())
}

#[test]
fn a_reused_instance_keeps_guest_state_between_calls() -> Result<(), EvaluatorError> {
    let engine = engine();
    let policy = load(&engine, "wapc-stateful");
    let mut reused = policy.reused_instance()?;
    assert!(reused.validate(&request())?.accepted);
    let second = reused.validate(&request())?;
    assert_eq!(
        (second.accepted, second.message.as_deref(), second.code),
        (false, Some("state leaked"), Some(409))
    );
    // The kept instance does not touch the policy's fresh ones.
    assert!(policy.validate(&request())?.accepted);
    Ok(())
}

#[test]
fn a_failure_in_a_reused_call_is_reported_and_the_next_call_runs() -> Result<(), EvaluatorError> {
    let engine = engine();
    let mut trapping = load(&engine, "wapc-validate-trap").reused_instance()?;
    assert_eq!(trapping.call("protocol_version", b"")?, b"\"v1\"");
    let trapped = trapping.validate(&request());
    assert!(
        matches!(trapped, Err(EvaluatorError::Trap(_))),
        "{trapped:?}"
    );
    assert_eq!(trapping.call("protocol_version", b"")?, b"\"v1\"");

    // Each call gets the whole deadline: after one ran into it, the next still answers.
    let mut looping = load(&engine, "wapc-validate-loop").reused_instance()?;
    let timed_out = looping.validate(&request());
    assert!(
        matches!(timed_out, Err(EvaluatorError::Timeout(_))),
        "{timed_out:?}"
    );
    assert_eq!(looping.call("protocol_version", b"")?, b"\"v1\"");

    let grown = load(&engine, "wapc-oom")
        .reused_instance()?
        .validate(&request());
    assert!(
        matches!(grown, Err(EvaluatorError::OutOfMemory(limit)) if limit == 16 * 1024 * 1024),
        "{grown:?}"
    );
    Ok(())
}

#[test]
fn concurrent_evaluations_share_one_policy() {
    let engine = engine();
    let policy = load(&engine, "wapc-stateful");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let policy = policy.clone();
            std::thread::spawn(move || (0..25).all(|_| policy.evaluate(&request()).accepted))
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap_or(false));
    }
}

#[test]
fn loading_rejects_invalid_modules() {
    let engine = engine();
    assert!(matches!(
        engine.load_wapc(&AdmittedModule::insecure("fixture", b"not wasm".to_vec())),
        Err(EvaluatorError::Compile(_))
    ));
    let no_guest_call = test_support::compile_wat("(module (memory (export \"memory\") 1))");
    assert!(matches!(
        engine.load_wapc(&AdmittedModule::insecure("fixture", no_guest_call)),
        Err(EvaluatorError::MissingExport(name)) if name == "__guest_call"
    ));
    let unknown_import = test_support::compile_wat(
        r#"(module (import "env" "mystery" (func)) (memory (export "memory") 1)
           (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#,
    );
    match engine.load_wapc(&AdmittedModule::insecure("fixture", unknown_import)) {
        Err(EvaluatorError::Link(message)) => assert!(message.contains("mystery"), "{message}"),
        other => panic!("expected a link error, got {other:?}"),
    }
}

#[test]
fn host_calls_reach_the_handler_and_errors_reach_the_guest() -> Result<(), EvaluatorError> {
    // A guest that forwards its payload to host call myBinding/sample/echo and returns the
    // host's answer, or the host's error as a guest error.
    let module = test_support::compile_wat(
        r#"(module
          (import "wapc" "__guest_request" (func $req (param i32 i32)))
          (import "wapc" "__guest_response" (func $resp (param i32 i32)))
          (import "wapc" "__guest_error" (func $err (param i32 i32)))
          (import "wapc" "__host_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wapc" "__host_response" (func $hresp (param i32)))
          (import "wapc" "__host_response_len" (func $hresp_len (result i32)))
          (import "wapc" "__host_error" (func $herr (param i32)))
          (import "wapc" "__host_error_len" (func $herr_len (result i32)))
          (import "wapc" "__console_log" (func $log (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "myBindingsampleecho")
          (func (export "__guest_call") (param $op i32) (param $len i32) (result i32)
            (call $req (i32.const 100) (i32.const 200))
            (call $log (i32.const 0) (i32.const 9))
            (if (call $call (i32.const 0) (i32.const 9) (i32.const 9) (i32.const 6)
                            (i32.const 15) (i32.const 4) (i32.const 200) (local.get $len))
              (then
                (call $hresp (i32.const 1000))
                (call $resp (i32.const 1000) (call $hresp_len))
                (return (i32.const 1))))
            (call $herr (i32.const 1000))
            (call $err (i32.const 1000) (call $herr_len))
            (i32.const 0)))"#,
    );
    let engine = engine();
    let handler = |binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
        if (binding, namespace, operation) == ("myBinding", "sample", "echo") && payload != b"fail"
        {
            Ok([b"echo: ".as_slice(), payload].concat())
        } else {
            Err(format!("refused {payload:?}"))
        }
    };
    let policy = engine.load_wapc_with(
        &AdmittedModule::insecure("fixture", module.clone()),
        Arc::new(handler),
    )?;
    assert_eq!(policy.call("op", b"hi")?, b"echo: hi");
    match policy.call("op", b"fail") {
        Err(EvaluatorError::Guest { message, .. }) => {
            assert!(message.starts_with("refused"), "{message}")
        }
        other => panic!("expected the host error, got {other:?}"),
    }
    // Without a handler every host call is refused.
    let bare = engine.load_wapc(&AdmittedModule::insecure("fixture", module.clone()))?;
    match bare.call("op", b"hi") {
        Err(EvaluatorError::Guest { message, .. }) => {
            assert!(message.contains("not available"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    Ok(())
}

#[test]
fn kubewarden_log_calls_are_served_by_default() -> Result<(), EvaluatorError> {
    // A guest that logs through kubewarden/tracing/log and accepts only if the host served it.
    let module = test_support::compile_wat(
        r#"(module
          (import "wapc" "__guest_request" (func $req (param i32 i32)))
          (import "wapc" "__guest_response" (func $resp (param i32 i32)))
          (import "wapc" "__guest_error" (func $err (param i32 i32)))
          (import "wapc" "__host_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "kubewardentracinglog")
          (data (i32.const 32) "{\"level\":\"info\",\"message\":\"hello from the guest\"}")
          (data (i32.const 128) "{\"accepted\":true}")
          (data (i32.const 160) "log refused")
          (func (export "__guest_call") (param $op i32) (param $len i32) (result i32)
            (if (call $call (i32.const 0) (i32.const 10) (i32.const 10) (i32.const 7)
                            (i32.const 17) (i32.const 3) (i32.const 32) (i32.const 49))
              (then (call $resp (i32.const 128) (i32.const 17)) (return (i32.const 1))))
            (call $err (i32.const 160) (i32.const 11))
            (i32.const 0)))"#,
    );
    let engine = engine();
    assert!(
        engine
            .load_wapc(&AdmittedModule::insecure("fixture", module.clone()))?
            .validate(&request())?
            .accepted
    );
    // With no capability allowed, the same call is refused and the guest says so.
    let closed = engine.load_wapc_with(
        &AdmittedModule::insecure("fixture", module),
        Arc::new(evaluator::KubewardenCapabilities::allowing(
            Vec::<String>::new(),
        )),
    )?;
    assert!(matches!(
        closed.validate(&request()),
        Err(EvaluatorError::Guest { message, .. }) if message == "log refused"
    ));
    Ok(())
}

/// WASI's "bad file descriptor".
const EBADF: u32 = 8;

/// What `wapc-wasi.wat` saw of WASI in one evaluation (its record, see the fixture).
struct Report(Vec<u8>);

impl Report {
    fn of(policy: &WapcPolicy) -> Report {
        let bytes = policy
            .call("wasi-report", b"")
            .unwrap_or_else(|err| panic!("wasi-report: {err}"));
        assert_eq!(bytes.len(), 256, "the record is 256 bytes");
        Report(bytes)
    }

    fn u32(&self, offset: usize) -> u32 {
        let mut word = [0; 4];
        word.copy_from_slice(&self.0[offset..offset + 4]);
        u32::from_le_bytes(word)
    }

    fn u64(&self, offset: usize) -> u64 {
        let mut word = [0; 8];
        word.copy_from_slice(&self.0[offset..offset + 8]);
        u64::from_le_bytes(word)
    }

    fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        &self.0[offset..offset + len]
    }
}

/// The policy-log events (target `palisade::policy`) emitted while `run` runs, as JSON objects.
fn policy_log<T>(run: impl FnOnce() -> T) -> (T, Vec<Value>) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut buffer) = self.0.lock() {
                buffer.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let answer = tracing::subscriber::with_default(subscriber, run);
    let text = buffer.0.lock().map(|b| b.clone()).unwrap_or_default();
    let events = String::from_utf8_lossy(&text)
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap_or_else(|err| panic!("{err}: {line}"))
        })
        .filter(|event| event["target"] == "palisade::policy")
        .collect();
    (answer, events)
}

/// The messages logged from `stream` (`stdout`, `stderr`).
fn lines<'a>(events: &'a [Value], stream: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|event| event["fields"]["stream"] == stream && event["level"] == "INFO")
        .filter_map(|event| event["fields"]["message"].as_str())
        .collect()
}

#[test]
fn a_guest_importing_what_tinygo_and_rust_std_import_loads_and_answers()
-> Result<(), EvaluatorError> {
    let engine = engine();
    let policy = load(&engine, "wapc-wasi");
    assert_eq!(policy.protocol_version()?, "v1");
    assert!(policy.validate_settings(&json!({}))?.valid);
    assert!(policy.validate(&request())?.accepted);
    Ok(())
}

#[test]
fn clocks_and_random_are_real() {
    let policy = load(&engine(), "wapc-wasi");
    let (first, second) = (Report::of(&policy), Report::of(&policy));
    assert_eq!(first.u32(8), 0, "clock_time_get errno");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let clock = u128::from(first.u64(0));
    let minute = Duration::from_secs(60).as_nanos();
    assert!(
        clock.abs_diff(now) < minute,
        "the guest's clock ({clock} ns) is not the host's ({now} ns)"
    );
    assert_eq!(first.u32(12), 0, "random_get errnos");
    let draws = [
        first.bytes(16, 16),
        first.bytes(32, 16),
        second.bytes(16, 16),
    ];
    assert!(draws.iter().all(|draw| draw.iter().any(|&byte| byte != 0)));
    assert_ne!(draws[0], draws[1], "two draws in one evaluation");
    assert_ne!(draws[0], draws[2], "draws in two evaluations");
}

#[test]
fn nothing_of_the_host_shows_through() {
    let report = Report::of(&load(&engine(), "wapc-wasi"));
    assert_eq!((report.u32(48), report.u32(52)), (0, 0), "environment");
    assert_eq!(report.u32(88), 0, "args_get and environ_get errnos");
    assert_eq!(report.u32(56), 1, "argc");
    assert_eq!(report.bytes(128, report.u32(60) as usize), b"policy\0");
    assert_eq!(
        report.u32(64),
        EBADF,
        "fd_prestat_get(3): no preopened folder"
    );
    assert_eq!(
        report.u32(68),
        EBADF,
        "path_open has no folder to open from"
    );
    assert_eq!((report.u32(72), report.u32(76)), (0, 0), "stdin is empty");
    assert_eq!(report.u32(80), 0, "sched_yield errno");
    assert_eq!(report.u32(84), 0, "fd_write errnos");
}

#[test]
fn stdout_and_stderr_go_to_the_policy_log() {
    let policy = load(&engine(), "wapc-wasi");
    let (answer, events) = policy_log(|| policy.validate(&request()));
    assert!(answer.is_ok_and(|answer| answer.accepted));
    assert_eq!(
        lines(&events, "stdout"),
        ["hello from stdout", "hello from wasi_unstable"]
    );
    // A last line without a newline is logged when the evaluation ends.
    assert_eq!(lines(&events, "stderr"), ["hello from stderr, no newline"]);
}

#[test]
fn stdout_beyond_the_cap_is_cut() {
    let policy = load(&engine(), "wapc-wasi");
    // "flood" writes 100 KiB of `x` after the probe's two stdout lines (18 and 25 bytes).
    let (answer, events) = policy_log(|| policy.call("flood", b""));
    assert!(answer.is_ok(), "{answer:?}");
    let logged: usize = lines(&events, "stdout")
        .iter()
        .map(|line| line.bytes().filter(|&byte| byte == b'x').count())
        .sum();
    assert_eq!(logged, OUTPUT_LOG_BYTES - 18 - 25);
    let cuts: Vec<&Value> = events
        .iter()
        .filter(|event| event["level"] == "WARN")
        .collect();
    assert_eq!(cuts.len(), 1, "{cuts:?}");
    let message = cuts[0]["fields"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("cut"), "{message}");
}

#[test]
fn proc_exit_ends_the_evaluation_with_its_status() -> Result<(), EvaluatorError> {
    let engine = engine();
    // `_start` ends with proc_exit(0), as TinyGo 0.35 and later do: the guest still answers.
    let policy = load(&engine, "wapc-wasi-exit");
    assert_eq!(policy.protocol_version()?, "v1");
    match policy.validate(&request()) {
        Err(EvaluatorError::Exited { operation, status }) => {
            assert_eq!((operation.as_str(), status), ("validate", 3))
        }
        other => panic!("expected the exit, got {other:?}"),
    }
    let rejection = policy.evaluate(&request());
    assert!(!rejection.accepted);
    assert_eq!(rejection.code, Some(500));
    assert_eq!(
        rejection.message.as_deref(),
        Some("policy exited with status 3 during `validate` instead of answering")
    );
    // The host carries on serving, this policy and others.
    assert_eq!(policy.protocol_version()?, "v1");
    assert!(load(&engine, "wapc-wasi").validate(&request())?.accepted);
    Ok(())
}
