//! Kubewarden's `wasi` execution mode: a WASI preview 1 command whose `_start` reads the
//! operation from argv (`validate` or `validate-settings`), the JSON payload from stdin, and
//! writes its JSON answer to stdout.

use serde_json::Value;
use wasmtime::{InstancePre, Linker, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use crate::admission::{SettingsValidationResponse, ValidationRequest, ValidationResponse};
use crate::engine::{Engine, Limiter, classify};
use crate::error::EvaluatorError;
use crate::gate::AdmittedModule;
use crate::wasi_sandbox::sandbox;

/// How much of the policy's stderr is kept for an error message.
const STDERR_BYTES: usize = 64 * 1024;

struct WasiState {
    limiter: Limiter,
    wasi: WasiP1Ctx,
}

/// A compiled WASI policy, run in a fresh instance for each operation. Cheap to clone.
#[derive(Clone)]
pub struct WasiPolicy {
    engine: Engine,
    instance_pre: InstancePre<WasiState>,
}

impl std::fmt::Debug for WasiPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiPolicy")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Compiles and links a WASI (preview 1) policy module; it must export `_start`.
    pub fn load_wasi(&self, module: &AdmittedModule) -> Result<WasiPolicy, EvaluatorError> {
        let module = self.compile(module.bytes())?;
        if !module.exports().any(|export| export.name() == "_start") {
            return Err(EvaluatorError::MissingExport("_start".into()));
        }
        let mut linker: Linker<WasiState> = Linker::new(&self.inner);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut WasiState| &mut state.wasi)
            .map_err(|err| EvaluatorError::Link(format!("{err:#}")))?;
        let instance_pre = linker
            .instantiate_pre(&module)
            .map_err(|err| EvaluatorError::Link(format!("{err:#}")))?;
        Ok(WasiPolicy {
            engine: self.clone(),
            instance_pre,
        })
    }
}

impl WasiPolicy {
    /// Runs `_start` with argv `[policy, operation]` and `input` on stdin; returns stdout.
    pub fn run(&self, operation: &str, input: &[u8]) -> Result<Vec<u8>, EvaluatorError> {
        let config = &self.engine.config;
        // One byte over the cap tells a full pipe from an answer of exactly the cap.
        let stdout = MemoryOutputPipe::new(config.max_response_bytes.saturating_add(1));
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        let wasi = sandbox(&[operation])
            .stdin(MemoryInputPipe::new(input.to_vec()))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build_p1();
        let mut store = self.engine.evaluation_store(
            WasiState {
                limiter: Limiter::new(config),
                wasi,
            },
            |state| &mut state.limiter,
        );

        let memory_exceeded = |store: &Store<WasiState>| store.data().limiter.memory_exceeded;
        let instance = self
            .instance_pre
            .instantiate(&mut store)
            .map_err(|err| classify(memory_exceeded(&store), &err, config))?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(|err| EvaluatorError::Link(format!("`_start`: {err}")))?;
        let exit = match start.call(&mut store, ()) {
            Ok(()) => 0,
            Err(err) => match err.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(classify(memory_exceeded(&store), &err, config)),
            },
        };
        drop(store);
        let answer = stdout.contents();
        if answer.len() > config.max_response_bytes {
            return Err(EvaluatorError::ResponseTooLarge {
                limit: config.max_response_bytes,
                size: answer.len(),
            });
        }
        if exit != 0 {
            let message = String::from_utf8_lossy(&stderr.contents())
                .trim()
                .to_owned();
            return Err(EvaluatorError::Guest {
                operation: operation.to_owned(),
                message: if message.is_empty() {
                    format!("exited with status {exit}")
                } else {
                    format!("exited with status {exit}: {message}")
                },
            });
        }
        Ok(answer.to_vec())
    }

    /// The `validate-settings` operation.
    pub fn validate_settings(
        &self,
        settings: &Value,
    ) -> Result<SettingsValidationResponse, EvaluatorError> {
        crate::wapc::call_json(
            "validate-settings",
            "settings",
            settings,
            |operation, payload| self.run(operation, payload),
        )
    }

    /// The `validate` operation, failures as errors.
    pub fn validate(
        &self,
        request: &ValidationRequest,
    ) -> Result<ValidationResponse, EvaluatorError> {
        crate::wapc::call_json("validate", "request", request, |operation, payload| {
            self.run(operation, payload)
        })
    }

    /// The `validate` operation, every failure of the policy a rejection with code 500.
    pub fn evaluate(&self, request: &ValidationRequest) -> ValidationResponse {
        self.validate(request)
            .unwrap_or_else(|err| ValidationResponse::from_failure(&err))
    }
}
