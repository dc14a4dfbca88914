//! Evaluation benchmarks (issue 7's targets: a fresh-instance `validate` of the accept-all WAT
//! guest under 5 µs p50; start-up of 50 policies with a warm module cache under 100 ms).
//!
//! - `validate/*`: one `validate` per iteration, each in a fresh store and instance (request
//!   serialised, guest called, answer parsed), beside the baseline `baseline/bare-instantiate`:
//!   wasmtime instantiating an empty module from an `InstancePre` in a fresh store, with the same
//!   engine configuration (pooling). The ratio of the medians is what the host adds.
//! - `validate/gatekeeper-happy`, `validate/opa-no-default-namespace`: the same for the Rego
//!   policies of ../shared/policies (instances from the pre-initialised module);
//!   `validate-reused/*` evaluates them in one instance kept across iterations, which is what
//!   `kwctl bench` measures.
//! - `startup/50-policies-*`: an engine and 50 distinct waPC policies loaded (compiled and
//!   linked), with no cache (`cold`) and from a warm on-disk module cache (`warm-cache`).
//!
//! `cargo bench -p palisade-evaluator --bench evaluate`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use evaluator::{
    AdmittedModule, Engine, EngineConfig, ModuleCache, OpaPolicy, Policy, RegoMode,
    ValidationRequest,
};
use serde_json::json;

fn engine() -> Engine {
    Engine::new(EngineConfig::default()).unwrap_or_else(|err| panic!("engine: {err}"))
}

fn request() -> ValidationRequest {
    let path = test_support::testdata_file("requests/pod-create.json");
    let bytes =
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let review = evaluator::AdmissionReview::from_json(&bytes)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    ValidationRequest {
        request: review.request,
        settings: json!({}),
    }
}

/// wasmtime alone: a fresh store and an instance of an empty module, with the engine
/// configuration the host uses (pooling allocator, epoch interruption).
fn bare_instantiate(c: &mut Criterion) {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_core_instances(32)
        .total_memories(32)
        .total_tables(32)
        .max_memory_size(256 * 1024 * 1024)
        .linear_memory_keep_resident(1024 * 1024)
        .pagemap_scan(wasmtime::Enabled::Auto)
        .table_keep_resident(64 * 1024);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    let engine = wasmtime::Engine::new(&config).unwrap_or_else(|err| panic!("engine: {err}"));
    let module = wasmtime::Module::new(&engine, test_support::compile_wat("(module (memory 1))"))
        .unwrap_or_else(|err| panic!("module: {err}"));
    let linker = wasmtime::Linker::<()>::new(&engine);
    let instance_pre = linker
        .instantiate_pre(&module)
        .unwrap_or_else(|err| panic!("link: {err}"));
    c.bench_function("baseline/bare-instantiate", |b| {
        b.iter(|| {
            let mut store = wasmtime::Store::new(&engine, ());
            store.set_epoch_deadline(1_000);
            instance_pre
                .instantiate(&mut store)
                .unwrap_or_else(|err| panic!("instantiate: {err}"))
        })
    });
}

fn validate(c: &mut Criterion) {
    let engine = engine();
    let request = request();
    let accept = engine
        .load_wapc(&AdmittedModule::insecure(
            "wapc-accept",
            test_support::compile_fixture("wapc-accept"),
        ))
        .unwrap_or_else(|err| panic!("wapc-accept: {err}"));
    c.bench_function("validate/wat-accept", |b| {
        b.iter(|| accept.validate(&request))
    });

    let (Some(happy), Some(no_default_namespace)) = (
        shared_rego(
            &engine,
            "gatekeeper_always_happy_policy.wasm",
            RegoMode::Gatekeeper,
        ),
        shared_rego(&engine, "no-default-namespace-rego.wasm", RegoMode::Opa),
    ) else {
        return;
    };
    let rego = [
        ("gatekeeper-happy", happy),
        ("opa-no-default-namespace", no_default_namespace),
    ];
    for (name, policy) in &rego {
        c.bench_function(&format!("validate/{name}"), |b| {
            b.iter(|| policy.validate(&request))
        });
    }
    // What `kwctl bench` measures: one instance for all the evaluations.
    for (name, policy) in &rego {
        let mut instance = policy
            .reused_instance()
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        c.bench_function(&format!("validate-reused/{name}"), |b| {
            b.iter(|| instance.validate(&request))
        });
    }
}

/// The Rego policy `name` of ../shared/policies, loaded for `mode`; `None` when that folder is
/// absent (its benchmarks are skipped).
fn shared_rego(engine: &Engine, name: &str, mode: RegoMode) -> Option<OpaPolicy> {
    let path = test_support::shared_policy(&format!("the {name} benchmarks"), name)?;
    let bytes =
        std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    let policy = engine
        .load_opa(&AdmittedModule::insecure(name, bytes), mode)
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    Some(policy)
}

/// 50 distinct accept-all guests (each with its own data segment, so 50 different digests).
fn fifty_modules() -> Vec<AdmittedModule> {
    let source = std::fs::read_to_string(test_support::testdata_file("policies/wapc-accept.wat"))
        .unwrap_or_else(|err| panic!("wapc-accept.wat: {err}"));
    (0..50)
        .map(|index| {
            let text = source.replacen(
                "(memory (export \"memory\") 1)",
                &format!(
                    "(memory (export \"memory\") 1)\n  (data (i32.const 900) \"policy {index}\")"
                ),
                1,
            );
            AdmittedModule::insecure(format!("policy-{index}"), test_support::compile_wat(&text))
        })
        .collect()
}

fn start(modules: &[AdmittedModule], cache: Option<&Arc<ModuleCache>>) -> Vec<Policy> {
    let mut engine = engine();
    if let Some(cache) = cache {
        engine = engine.with_cache(Arc::clone(cache));
    }
    modules
        .iter()
        .map(|module| {
            Policy::load(&engine, "kubewarden-wapc", module)
                .unwrap_or_else(|err| panic!("{}: {err}", module.source()))
        })
        .collect()
}

fn startup(c: &mut Criterion) {
    let modules = fifty_modules();
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function("50-policies-cold", |b| b.iter(|| start(&modules, None)));
    let folder = test_support::tempdir();
    let cache = Arc::new(
        ModuleCache::new(folder.path()).unwrap_or_else(|err| panic!("module cache: {err}")),
    );
    start(&modules, Some(&cache));
    group.bench_function("50-policies-warm-cache", |b| {
        b.iter(|| start(&modules, Some(&cache)))
    });
    group.finish();
}

criterion_group!(benches, bare_instantiate, validate, startup);
criterion_main!(benches);
