//! A loaded policy of any supported execution mode.

use serde_json::Value;

use crate::admission::{SettingsValidationResponse, ValidationRequest, ValidationResponse};
use crate::engine::Engine;
use crate::error::EvaluatorError;
use crate::gate::AdmittedModule;
use crate::opa::{OpaPolicy, RegoMode};
use crate::wapc::WapcPolicy;
use crate::wasi::WasiPolicy;

/// A policy ready to evaluate, whatever its execution mode.
#[derive(Debug, Clone)]
pub enum Policy {
    /// `kubewarden-wapc`.
    Wapc(WapcPolicy),
    /// `wasi`.
    Wasi(WasiPolicy),
    /// `opa` and `gatekeeper` (Rego).
    Opa(OpaPolicy),
}

impl Policy {
    /// Loads `module`, which passed the gate, for the execution mode named as in Kubewarden's metadata
    /// (`kubewarden-wapc`, `wasi`, `opa`, `gatekeeper`); others are [`EvaluatorError::UnsupportedMode`].
    pub fn load(
        engine: &Engine,
        mode: &str,
        module: &AdmittedModule,
    ) -> Result<Policy, EvaluatorError> {
        Policy::load_with(
            engine,
            mode,
            module,
            std::sync::Arc::new(crate::host_capabilities::KubewardenCapabilities::default()),
        )
    }

    /// [`Policy::load`], a waPC policy's host calls answered by `host_calls` (other modes make
    /// none).
    pub fn load_with(
        engine: &Engine,
        mode: &str,
        module: &AdmittedModule,
        host_calls: std::sync::Arc<dyn crate::host_call::HostCallHandler>,
    ) -> Result<Policy, EvaluatorError> {
        match mode {
            "kubewarden-wapc" => engine.load_wapc_with(module, host_calls).map(Policy::Wapc),
            "wasi" => engine.load_wasi(module).map(Policy::Wasi),
            "opa" => engine.load_opa(module, RegoMode::Opa).map(Policy::Opa),
            "gatekeeper" => engine
                .load_opa(module, RegoMode::Gatekeeper)
                .map(Policy::Opa),
            other => Err(EvaluatorError::UnsupportedMode(other.to_owned())),
        }
    }

    /// [`Policy::load_with`] in the execution mode the module's own metadata names (waPC when it has
    /// none), as the policy server loads its policies.
    pub fn load_by_metadata(
        engine: &Engine,
        module: &AdmittedModule,
        host_calls: std::sync::Arc<dyn crate::host_call::HostCallHandler>,
    ) -> Result<Policy, EvaluatorError> {
        let report = artifact::inspect::inspect(module.bytes())
            .map_err(|err| EvaluatorError::Compile(format!("{}: {err}", module.source())))?;
        let mode = report
            .metadata
            .map(|metadata| metadata.execution_mode)
            .unwrap_or_default();
        Policy::load_with(engine, &mode.to_string(), module, host_calls)
    }

    /// Asks the policy whether `settings` are acceptable.
    pub fn validate_settings(
        &self,
        settings: &Value,
    ) -> Result<SettingsValidationResponse, EvaluatorError> {
        match self {
            Policy::Wapc(policy) => policy.validate_settings(settings),
            Policy::Wasi(policy) => policy.validate_settings(settings),
            Policy::Opa(policy) => policy.validate_settings(settings),
        }
    }

    /// Evaluates a request, failures as errors.
    pub fn validate(
        &self,
        request: &ValidationRequest,
    ) -> Result<ValidationResponse, EvaluatorError> {
        match self {
            Policy::Wapc(policy) => policy.validate(request),
            Policy::Wasi(policy) => policy.validate(request),
            Policy::Opa(policy) => policy.validate(request),
        }
    }

    /// Evaluates a request; every failure of the policy is a rejection with code 500.
    pub fn evaluate(&self, request: &ValidationRequest) -> ValidationResponse {
        match self {
            Policy::Wapc(policy) => policy.evaluate(request),
            Policy::Wasi(policy) => policy.evaluate(request),
            Policy::Opa(policy) => policy.evaluate(request),
        }
    }
}
