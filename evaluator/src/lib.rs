//! The evaluation host: runs Kubewarden admission policies compiled to WebAssembly on wasmtime.
//!
//! Every evaluation gets a fresh store and instance (nothing leaks between requests), a deadline
//! (epoch interruption), a memory cap and a cap on the size of the policy's answer. A policy that
//! times out, traps, runs out of memory or answers garbage costs one rejected request (code 500),
//! never the host.
//!
//! ```no_run
//! use evaluator::gate::{Verification, admit_file};
//! use evaluator::{Engine, EngineConfig, ValidationRequest};
//! # fn main() -> Result<(), evaluator::EvaluatorError> {
//! # let config = signing::config::VerificationConfig::default();
//! # let trust_root = signing::trust::TrustRoot::production().expect("the built-in root");
//! let engine = Engine::new(EngineConfig::default())?;
//! // Only a module that passed the gate loads: here one verified by `policy.wasm.sigstore.json`.
//! let module = admit_file("policy.wasm".as_ref(), &Verification { config, trust_root })?;
//! let policy = engine.load_wapc(&module)?;
//! let request = ValidationRequest { request: serde_json::json!({"uid": "1"}), settings: serde_json::json!({}) };
//! let answer = policy.evaluate(&request);
//! println!("accepted: {}", answer.accepted);
//! # Ok(()) }
//! ```

pub mod admission;
pub mod background;
pub mod bench;
pub mod cache;
pub mod engine;
mod error;
pub mod gate;
pub mod host_call;
pub mod host_capabilities;
mod module_source;
pub mod opa;
mod policy;
mod policy_log;
pub mod precompiled;
pub mod scaffold;
pub mod server;
pub mod wapc;
pub mod wasi;
mod wasi_sandbox;

pub use admission::{
    AdmissionReview, SettingsValidationResponse, ValidationRequest, ValidationResponse,
};
pub use cache::ModuleCache;
pub use engine::{Engine, EngineConfig};
pub use error::{EvaluatorError, Refusal};
pub use gate::AdmittedModule;
pub use host_call::HostCallHandler;
pub use host_capabilities::KubewardenCapabilities;
pub use opa::{OpaPolicy, RegoMode};
pub use policy::Policy;
pub use policy_log::POLICY_LOG_TARGET;
pub use wapc::WapcPolicy;
pub use wasi::WasiPolicy;
