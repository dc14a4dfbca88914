//! Evaluation benchmarks (filled in below).

use criterion::{Criterion, criterion_group, criterion_main};

fn fresh_instance_validate(c: &mut Criterion) {
    let engine = evaluator::Engine::new(evaluator::EngineConfig::default())
        .unwrap_or_else(|err| panic!("engine: {err}"));
    let policy = engine
        .load_wapc(&evaluator::AdmittedModule::insecure(
            "wapc-accept",
            test_support::compile_fixture("wapc-accept"),
        ))
        .unwrap_or_else(|err| panic!("policy: {err}"));
    let request = evaluator::ValidationRequest {
        request: serde_json::json!({"uid": "1"}),
        settings: serde_json::json!({}),
    };
    c.bench_function("validate/wat-accept", |b| {
        b.iter(|| policy.evaluate(&request))
    });
}

criterion_group!(benches, fresh_instance_validate);
criterion_main!(benches);
