//! No memory leaks across 100,000 evaluations (issue 7): accepting, rejecting and trapping
//! guests, each evaluation in a fresh instance, the resident set size read from
//! `/proc/self/statm` after a warm-up and at the end. Memory is what is asserted, never time.

use evaluator::{AdmittedModule, Engine, EngineConfig, ValidationRequest, WapcPolicy};
use serde_json::json;
use test_support::compile_fixture;

const EVALUATIONS: usize = 100_000;
const WARMUP: usize = 2_000;
/// Growth allowed between the warm-up and the end: allocator noise, not one copy per evaluation
/// (a leak of even 200 bytes per evaluation would exceed it).
const ALLOWED_GROWTH: u64 = 16 * 1024 * 1024;

/// The resident set size of this process, in bytes (Linux).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm")
        .unwrap_or_else(|err| panic!("this test reads /proc/self/statm (Linux): {err}"));
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or_else(|| panic!("unexpected /proc/self/statm: {statm}"));
    pages * 4096
}

fn load(engine: &Engine, fixture: &str) -> WapcPolicy {
    engine
        .load_wapc(&AdmittedModule::insecure(fixture, compile_fixture(fixture)))
        .unwrap_or_else(|err| panic!("{fixture}: {err}"))
}

#[test]
fn a_hundred_thousand_evaluations_leak_nothing() {
    let engine = Engine::new(EngineConfig::default()).unwrap_or_else(|err| panic!("{err}"));
    let accept = load(&engine, "wapc-accept");
    let reject = load(&engine, "wapc-reject");
    let trap = load(&engine, "wapc-trap");
    let request = ValidationRequest {
        request: json!({"uid": "1", "operation": "CREATE", "object": {"kind": "Pod"}}),
        settings: json!({}),
    };
    let mut counts = [0usize; 3];
    let mut evaluate = |index: usize| {
        // 8 accepting, 1 rejecting, 1 trapping in every 10.
        let (slot, policy) = match index % 10 {
            8 => (1, &reject),
            9 => (2, &trap),
            _ => (0, &accept),
        };
        let answer = policy.evaluate(&request);
        match slot {
            0 => assert!(answer.accepted, "{answer:?}"),
            1 => assert_eq!(answer.code, Some(403)),
            _ => assert_eq!(answer.code, Some(500)),
        }
        counts[slot] += 1;
    };
    for index in 0..WARMUP {
        evaluate(index);
    }
    let before = resident_bytes();
    for index in WARMUP..EVALUATIONS {
        evaluate(index);
    }
    let after = resident_bytes();
    assert_eq!(counts.iter().sum::<usize>(), EVALUATIONS);
    assert_eq!(counts[2], EVALUATIONS / 10);
    let growth = after.saturating_sub(before);
    assert!(
        growth <= ALLOWED_GROWTH,
        "the resident set grew by {growth} bytes over {} evaluations ({before} -> {after})",
        EVALUATIONS - WARMUP
    );
}
