//! Kubewarden's `opa` and `gatekeeper` execution modes: Rego policies compiled with
//! `opa build -t wasm`, run through the OPA Wasm ABI.
//!
//! The host provides the policy's memory (`env.memory`), `opa_abort`, `opa_println` and the
//! builtins the policy lists in its `builtins()` export (`opa_builtin0` … `opa_builtin4`). JSON
//! goes in through `opa_malloc` + `opa_json_parse` and comes out through `opa_json_dump`.
//! Evaluation uses ABI 1.2's one-call `opa_eval` when the module exports it, else the
//! evaluation context (`opa_eval_ctx_new`, `…_set_input`, `…_set_data`, `…_set_entrypoint`,
//! `eval`, `…_get_result`). Entrypoint 0 is evaluated, as Kubewarden does.
//!
//! - `opa`: input `{"request": AdmissionRequest}`, data the settings; the result is an
//!   `AdmissionReview` whose `response` is the verdict.
//! - `gatekeeper`: input `{"parameters": settings, "review": AdmissionRequest}`, data `{}`; the
//!   result is a list of violations (`msg`), none meaning accepted.
//!
//! Each evaluation has an instance of its own, started from the state the OPA runtime's set-up
//! left, which ran once at load (see [`snapshot`]).
//!
//! Settings are not validated by the policy (Rego policies have no such entrypoint): they are
//! always accepted, as Kubewarden does.

mod builtins;
mod guest;
mod host;
mod runtime;
mod snapshot;
mod state;
mod verdict;

pub use builtins::implemented_builtins;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::admission::{SettingsValidationResponse, ValidationRequest, ValidationResponse};
use crate::engine::Engine;
use crate::error::EvaluatorError;
use crate::gate::AdmittedModule;
use runtime::{ReusedInstance, Runtime};

/// How a Rego policy takes its input and what its result means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegoMode {
    /// Kubewarden's `opa` mode: the policy returns an `AdmissionReview`.
    Opa,
    /// Kubewarden's `gatekeeper` mode: the policy returns Gatekeeper violations.
    Gatekeeper,
}

/// The entrypoint evaluated (the first one `opa build -e` was given).
pub const ENTRYPOINT: i32 = 0;

/// A compiled Rego policy, evaluated in a fresh instance each time. Cheap to clone.
#[derive(Clone)]
pub struct OpaPolicy {
    runtime: Runtime,
    mode: RegoMode,
}

impl std::fmt::Debug for OpaPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaPolicy")
            .field("mode", &self.mode)
            .field("entrypoints", &self.runtime.entrypoints)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Compiles a Rego policy, which passed the gate, for `mode`. Refused when the module lacks the OPA Wasm ABI's
    /// exports, does not import its memory, has no entrypoint 0, or calls builtins this host does
    /// not implement ([`EvaluatorError::UnsupportedBuiltins`], naming them).
    pub fn load_opa(
        &self,
        module: &AdmittedModule,
        mode: RegoMode,
    ) -> Result<OpaPolicy, EvaluatorError> {
        let runtime = Runtime::load(self, module.bytes())?;
        if !runtime.entrypoints.values().any(|&id| id == ENTRYPOINT) {
            return Err(EvaluatorError::Link(format!(
                "the Rego policy has no entrypoint {ENTRYPOINT} (its entrypoints: {:?})",
                runtime.entrypoints
            )));
        }
        Ok(OpaPolicy { runtime, mode })
    }
}

impl OpaPolicy {
    /// The execution mode the policy was loaded for.
    pub fn mode(&self) -> RegoMode {
        self.mode
    }

    /// The policy's entrypoints (`policy/violation`, …), by name.
    pub fn entrypoints(&self) -> &BTreeMap<String, i32> {
        &self.runtime.entrypoints
    }

    /// The builtins the policy calls on the host.
    pub fn builtins(&self) -> Vec<&str> {
        self.runtime.builtin_names()
    }

    /// Whether evaluation goes through ABI 1.2's one-call `opa_eval`.
    pub fn uses_opa_eval(&self) -> bool {
        self.runtime.has_fast_path()
    }

    /// Whether instances start from the state the OPA runtime's set-up left at load (else each
    /// instance runs the set-up: the module changes tables or drops segments, which a snapshot
    /// cannot hold).
    pub fn is_pre_initialised(&self) -> bool {
        self.runtime.is_snapshot()
    }

    /// One instance kept for any number of evaluations, as `kwctl bench` measures. Not for
    /// serving requests: an evaluation could see what an earlier one left in memory.
    pub fn reused_instance(&self) -> Result<ReusedOpaInstance, EvaluatorError> {
        Ok(ReusedOpaInstance {
            policy: self.clone(),
            instance: self.runtime.reused_instance()?,
        })
    }

    /// Rego policies cannot check their settings: every settings document is accepted.
    pub fn validate_settings(
        &self,
        _settings: &Value,
    ) -> Result<SettingsValidationResponse, EvaluatorError> {
        Ok(SettingsValidationResponse {
            valid: true,
            message: None,
        })
    }

    /// Evaluates a request, failures as errors.
    pub fn validate(
        &self,
        request: &ValidationRequest,
    ) -> Result<ValidationResponse, EvaluatorError> {
        let (input, data) = self.documents(request)?;
        let results = self.runtime.evaluate(ENTRYPOINT, &data, &input)?;
        self.verdict(&results, request)
    }

    /// The policy's input and data documents for `request`, serialised.
    fn documents(&self, request: &ValidationRequest) -> Result<(Vec<u8>, Vec<u8>), EvaluatorError> {
        // Serialised from borrows: cloning the request into a new document cost a third of an
        // evaluation.
        let no_settings = Value::Object(serde_json::Map::new());
        let settings = match &request.settings {
            Value::Null => &no_settings,
            settings => settings,
        };
        let review = &request.request;
        match self.mode {
            RegoMode::Opa => Ok((
                serialise(&OpaInput { request: review }, "input")?,
                serialise(settings, "data")?,
            )),
            RegoMode::Gatekeeper => Ok((
                serialise(
                    &GatekeeperInput {
                        parameters: settings,
                        review,
                    },
                    "input",
                )?,
                serialise(&no_settings, "data")?,
            )),
        }
    }

    /// The answer the result set `results` gives to `request`.
    fn verdict(
        &self,
        results: &[u8],
        request: &ValidationRequest,
    ) -> Result<ValidationResponse, EvaluatorError> {
        let results: Value = crate::wapc::parse_json("eval", results)?;
        match self.mode {
            RegoMode::Opa => verdict::opa(&results, &request.request),
            RegoMode::Gatekeeper => verdict::gatekeeper(&results),
        }
    }

    /// Evaluates a request; every failure of the policy (timeout, trap, abort, builtin error,
    /// memory, malformed result) is a rejection with code 500 that says which.
    pub fn evaluate(&self, request: &ValidationRequest) -> ValidationResponse {
        self.validate(request).unwrap_or_else(|err| {
            tracing::warn!(error = %err, "policy evaluation failed");
            ValidationResponse::from_failure(&err)
        })
    }
}

/// The `opa` mode's input document.
#[derive(Serialize)]
struct OpaInput<'a> {
    request: &'a Value,
}

/// The `gatekeeper` mode's input document.
#[derive(Serialize)]
struct GatekeeperInput<'a> {
    parameters: &'a Value,
    review: &'a Value,
}

fn serialise(value: &impl Serialize, what: &str) -> Result<Vec<u8>, EvaluatorError> {
    serde_json::to_vec(value).map_err(|err| {
        EvaluatorError::InvalidInput(format!("serialising the policy's {what}: {err}"))
    })
}

/// A Rego policy's instance kept across evaluations (see [`OpaPolicy::reused_instance`]): the
/// policy's heap is reset to where the set-up left it before each one, as Kubewarden does.
pub struct ReusedOpaInstance {
    policy: OpaPolicy,
    instance: ReusedInstance,
}

impl std::fmt::Debug for ReusedOpaInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReusedOpaInstance")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ReusedOpaInstance {
    /// Evaluates a request in the kept instance, failures as errors.
    pub fn validate(
        &mut self,
        request: &ValidationRequest,
    ) -> Result<ValidationResponse, EvaluatorError> {
        let (input, data) = self.policy.documents(request)?;
        let results =
            self.policy
                .runtime
                .evaluate_reused(&mut self.instance, ENTRYPOINT, &data, &input)?;
        self.policy.verdict(&results, request)
    }
}
