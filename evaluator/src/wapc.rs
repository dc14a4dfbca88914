//! The waPC host protocol (Kubewarden's `kubewarden-wapc` execution mode).
//!
//! The host calls the guest's `__guest_call(operation_len, payload_len)`; the guest fetches the
//! operation name and payload with `__guest_request(operation_ptr, payload_ptr)` and answers with
//! `__guest_response(ptr, len)` (returning 1) or `__guest_error(ptr, len)` (returning 0). The
//! guest reaches the host through `__host_call(binding, namespace, operation, payload)` and reads
//! the answer with `__host_response_len`/`__host_response` or `__host_error_len`/`__host_error`.
//!
//! Guests built by TinyGo and Rust std also import WASI preview 1 (`wasi_snapshot_preview1`, and
//! `wasi_unstable` for older TinyGo): every function of it is linked, over the sandboxed context of
//! [`crate::wasi_sandbox`], with stdout and stderr going to the policy log.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::{Caller, Extern, InstancePre, Linker, Memory, Store, TypedFunc};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::admission::{SettingsValidationResponse, ValidationRequest, ValidationResponse};
use crate::engine::{Engine, EngineConfig, Limiter, classify};
use crate::error::EvaluatorError;
use crate::gate::AdmittedModule;
use crate::host_call::{HostCallHandler, NoHostCapabilities};
use crate::wasi_sandbox::{PolicyLog, sandbox};

/// Functions a guest may export to initialise itself, called in this order when present.
pub const START_FUNCTIONS: [&str; 2] = ["_start", "wapc_init"];

/// How much of a guest's stdout, and of its stderr, reaches the log in one evaluation.
pub const OUTPUT_LOG_BYTES: usize = 64 * 1024;

/// What a host function found wrong, remembered to name the failure after the trap.
#[derive(Debug)]
enum Fault {
    ResponseTooLarge(usize),
    BadMemoryAccess(String),
}

/// Per-instance state: lives in one store, dropped with it; [`Session::call`] clears what one
/// call leaves before the next.
struct HostState {
    limiter: Limiter,
    operation: Vec<u8>,
    payload: Vec<u8>,
    response: Option<Vec<u8>>,
    guest_error: Option<String>,
    host_response: Vec<u8>,
    host_error: Vec<u8>,
    fault: Option<Fault>,
    max_response_bytes: usize,
    host_calls: Arc<dyn HostCallHandler>,
    /// Built on the guest's first WASI call ([`wasi_context`]).
    wasi: Option<WasiP1Ctx>,
}

/// A compiled waPC policy, ready to be evaluated any number of times, each time in a fresh
/// instance (or, for benchmarks, in one kept instance: [`WapcPolicy::reused_instance`]). Cheap to clone and shareable across threads.
#[derive(Clone)]
pub struct WapcPolicy {
    engine: Engine,
    instance_pre: InstancePre<HostState>,
    host_calls: Arc<dyn HostCallHandler>,
}

impl std::fmt::Debug for WapcPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WapcPolicy")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Compiles and links a waPC module with the default Kubewarden host capabilities
    /// (`tracing/log` only; see [`crate::host_capabilities::KubewardenCapabilities`]).
    pub fn load_wapc(&self, module: &AdmittedModule) -> Result<WapcPolicy, EvaluatorError> {
        self.load_wapc_with(
            module,
            Arc::new(crate::host_capabilities::KubewardenCapabilities::default()),
        )
    }

    /// Compiles and links a waPC module whose host calls `host_calls` answers.
    pub fn load_wapc_with(
        &self,
        module: &AdmittedModule,
        host_calls: Arc<dyn HostCallHandler>,
    ) -> Result<WapcPolicy, EvaluatorError> {
        self.link_wapc(module.bytes(), host_calls)
    }

    /// Asks a waPC module which Kubewarden protocol it speaks, as `kwctl annotate` does before
    /// recording it in the metadata. The module need not have passed the gate: only its
    /// `protocol_version` operation runs, with no host capabilities.
    pub fn wapc_protocol_version(
        &self,
        module: &[u8],
    ) -> Result<artifact::metadata::ProtocolVersion, EvaluatorError> {
        let answer = self
            .link_wapc(module, Arc::new(NoHostCapabilities))?
            .protocol_version()?;
        match answer.as_str() {
            "v1" => Ok(artifact::metadata::ProtocolVersion::V1),
            other => Err(EvaluatorError::MalformedResponse {
                operation: "protocol_version".into(),
                reason: format!("unknown protocol version {other:?} (expected \"v1\")"),
            }),
        }
    }

    fn link_wapc(
        &self,
        module: &[u8],
        host_calls: Arc<dyn HostCallHandler>,
    ) -> Result<WapcPolicy, EvaluatorError> {
        let module = self.compile(module)?;
        if !module
            .exports()
            .any(|export| export.name() == "__guest_call")
        {
            return Err(EvaluatorError::MissingExport("__guest_call".into()));
        }
        let mut linker = Linker::new(&self.inner);
        add_to_linker(&mut linker).map_err(|err| EvaluatorError::Link(format!("{err:#}")))?;
        let instance_pre = linker
            .instantiate_pre(&module)
            .map_err(|err| EvaluatorError::Link(format!("{err:#}")))?;
        Ok(WapcPolicy {
            engine: self.clone(),
            instance_pre,
            host_calls,
        })
    }
}

impl WapcPolicy {
    /// Calls `operation` with `payload` in a fresh instance and returns the guest's answer.
    ///
    /// Blocking: async code calls it through `spawn_blocking` (as the policy server does), since
    /// `wasmtime-wasi` runs a guest's WASI I/O (`fd_write`, `path_open`, …) on the ambient Tokio
    /// runtime and panics when called on one of its worker threads.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, EvaluatorError> {
        self.instantiate(operation)?
            .call(&self.engine.config, operation, payload)
    }

    /// One instance kept for any number of calls, as `kwctl bench` measures (wapc-rs's host
    /// keeps one). Not for serving requests: a call sees what earlier ones left in the guest.
    pub fn reused_instance(&self) -> Result<ReusedWapcInstance, EvaluatorError> {
        Ok(ReusedWapcInstance {
            session: self.instantiate("start")?,
            policy: self.clone(),
        })
    }

    /// A new instance in its own store, its start functions run; `operation` names what a
    /// failure of theirs stopped.
    fn instantiate(&self, operation: &str) -> Result<Session, EvaluatorError> {
        let config = &self.engine.config;
        let mut store = self.engine.evaluation_store(
            HostState {
                limiter: Limiter::new(config),
                operation: Vec::new(),
                payload: Vec::new(),
                response: None,
                guest_error: None,
                host_response: Vec::new(),
                host_error: Vec::new(),
                fault: None,
                max_response_bytes: config.max_response_bytes,
                host_calls: Arc::clone(&self.host_calls),
                wasi: None,
            },
            |state| &mut state.limiter,
        );

        let instance = self
            .instance_pre
            .instantiate(&mut store)
            .map_err(|err| classify_wapc(&store, err, operation, config))?;
        for start in START_FUNCTIONS {
            if let Some(func) = instance.get_func(&mut store, start) {
                let func = func
                    .typed::<(), ()>(&store)
                    .map_err(|err| EvaluatorError::Link(format!("`{start}`: {err}")))?;
                match func.call(&mut store, ()) {
                    Ok(()) => {}
                    // TinyGo 0.35 and later end `_start` with `proc_exit(0)`: the guest is ready,
                    // as Kubewarden takes it.
                    Err(err)
                        if err
                            .downcast_ref::<I32Exit>()
                            .is_some_and(|exit| exit.0 == 0) => {}
                    Err(err) => return Err(classify_wapc(&store, err, operation, config)),
                }
            }
        }
        let guest_call = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "__guest_call")
            .map_err(|err| EvaluatorError::Link(format!("`__guest_call`: {err}")))?;
        Ok(Session { store, guest_call })
    }

    /// The `protocol_version` operation: the Kubewarden protocol the policy speaks (`"v1"`).
    pub fn protocol_version(&self) -> Result<String, EvaluatorError> {
        let answer = self.call("protocol_version", b"")?;
        parse_json("protocol_version", &answer)
    }

    /// The `validate_settings` operation.
    pub fn validate_settings(
        &self,
        settings: &Value,
    ) -> Result<SettingsValidationResponse, EvaluatorError> {
        call_json(
            "validate_settings",
            "settings",
            settings,
            |operation, payload| self.call(operation, payload),
        )
    }

    /// The `validate` operation, failures as errors.
    pub fn validate(
        &self,
        request: &ValidationRequest,
    ) -> Result<ValidationResponse, EvaluatorError> {
        call_json("validate", "request", request, |operation, payload| {
            self.call(operation, payload)
        })
    }

    /// The `validate` operation, where every failure of the policy (timeout, trap, memory,
    /// malformed answer) becomes a rejection with code 500 that says which.
    pub fn evaluate(&self, request: &ValidationRequest) -> ValidationResponse {
        match self.validate(request) {
            Ok(answer) => answer,
            Err(err) => {
                tracing::warn!(error = %err, "policy evaluation failed");
                ValidationResponse::from_failure(&err)
            }
        }
    }
}

/// A waPC policy's instance kept across calls (see [`WapcPolicy::reused_instance`]): its start
/// functions ran once; each call gets the full deadline, the memory cap holds for the instance.
pub struct ReusedWapcInstance {
    policy: WapcPolicy,
    session: Session,
}

impl std::fmt::Debug for ReusedWapcInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReusedWapcInstance")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ReusedWapcInstance {
    /// Calls `operation` with `payload` in the kept instance, its deadline armed again first.
    pub fn call(&mut self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, EvaluatorError> {
        let config = &self.policy.engine.config;
        self.session
            .store
            .set_epoch_deadline(config.deadline_ticks());
        self.session.call(config, operation, payload)
    }

    /// The `validate` operation in the kept instance, failures as errors.
    pub fn validate(
        &mut self,
        request: &ValidationRequest,
    ) -> Result<ValidationResponse, EvaluatorError> {
        call_json("validate", "request", request, |operation, payload| {
            self.call(operation, payload)
        })
    }
}

/// A live instance in its own store, ready for `__guest_call`.
struct Session {
    store: Store<HostState>,
    guest_call: TypedFunc<(i32, i32), i32>,
}

impl Session {
    /// Calls the guest with `operation` and `payload`, after clearing what an earlier call left
    /// in the host state, and returns its answer.
    fn call(
        &mut self,
        config: &EngineConfig,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, EvaluatorError> {
        let state = self.store.data_mut();
        state.operation = operation.as_bytes().to_vec();
        state.payload = payload.to_vec();
        state.response = None;
        state.guest_error = None;
        state.host_response.clear();
        state.host_error.clear();
        state.fault = None;
        state.limiter.memory_exceeded = false;
        let lengths = (length(operation.len())?, length(payload.len())?);
        let status = self
            .guest_call
            .call(&mut self.store, lengths)
            .map_err(|err| classify_wapc(&self.store, err, operation, config))?;
        let state = self.store.data_mut();
        if status == 1 {
            state
                .response
                .take()
                .ok_or_else(|| EvaluatorError::MalformedResponse {
                    operation: operation.to_owned(),
                    reason: "the guest reported success without calling __guest_response".into(),
                })
        } else {
            Err(EvaluatorError::Guest {
                operation: operation.to_owned(),
                message: state
                    .guest_error
                    .take()
                    .unwrap_or_else(|| format!("__guest_call returned {status}")),
            })
        }
    }
}

/// Calls `operation` through `call` (a fresh instance, a kept one, or a WASI run) with `input` as JSON (`what` names
/// it in errors), and reads the answer as JSON.
pub(crate) fn call_json<I: serde::Serialize, O: serde::de::DeserializeOwned>(
    operation: &str,
    what: &str,
    input: &I,
    call: impl FnOnce(&str, &[u8]) -> Result<Vec<u8>, EvaluatorError>,
) -> Result<O, EvaluatorError> {
    let payload = serde_json::to_vec(input)
        .map_err(|err| EvaluatorError::InvalidInput(format!("serialising the {what}: {err}")))?;
    let answer = call(operation, &payload)?;
    parse_json(operation, &answer)
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    operation: &str,
    answer: &[u8],
) -> Result<T, EvaluatorError> {
    serde_json::from_slice(answer).map_err(|err| EvaluatorError::MalformedResponse {
        operation: operation.to_owned(),
        reason: err.to_string(),
    })
}

fn length(len: usize) -> Result<i32, EvaluatorError> {
    i32::try_from(len)
        .map_err(|_| EvaluatorError::InvalidInput(format!("payload of {len} bytes is too large")))
}

/// Names the failure behind a wasmtime error: a WASI exit, else host-function faults first.
fn classify_wapc(
    store: &Store<HostState>,
    err: wasmtime::Error,
    operation: &str,
    config: &EngineConfig,
) -> EvaluatorError {
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        return EvaluatorError::Exited {
            operation: operation.to_owned(),
            status: exit.0,
        };
    }
    let state = store.data();
    match &state.fault {
        Some(Fault::ResponseTooLarge(size)) => EvaluatorError::ResponseTooLarge {
            limit: state.max_response_bytes,
            size: *size,
        },
        Some(Fault::BadMemoryAccess(what)) => EvaluatorError::Trap(what.clone()),
        None => classify(state.limiter.memory_exceeded, &err, config),
    }
}

fn memory(caller: &mut Caller<'_, HostState>) -> Result<Memory, wasmtime::Error> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => {
            let what = "the guest exports no memory".to_owned();
            caller.data_mut().fault = Some(Fault::BadMemoryAccess(what.clone()));
            Err(wasmtime::Error::msg(what))
        }
    }
}

fn read(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> Result<Vec<u8>, wasmtime::Error> {
    let memory = memory(caller)?;
    let data = memory.data(&caller);
    let range = usize::try_from(ptr)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(start, len)| Some(start..start.checked_add(len)?));
    match range.and_then(|range| data.get(range)) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => {
            let what = format!("guest pointer {ptr} with length {len} is outside its memory");
            caller.data_mut().fault = Some(Fault::BadMemoryAccess(what.clone()));
            Err(wasmtime::Error::msg(what))
        }
    }
}

fn write(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    bytes: &[u8],
) -> Result<(), wasmtime::Error> {
    let memory = memory(caller)?;
    let offset = usize::try_from(ptr).unwrap_or(usize::MAX);
    if memory.write(&mut *caller, offset, bytes).is_err() {
        let what = format!(
            "guest pointer {ptr} with length {} is outside its memory",
            bytes.len()
        );
        caller.data_mut().fault = Some(Fault::BadMemoryAccess(what.clone()));
        return Err(wasmtime::Error::msg(what));
    }
    Ok(())
}

fn checked_len(caller: &mut Caller<'_, HostState>, len: i32) -> Result<(), wasmtime::Error> {
    let size = usize::try_from(len).unwrap_or(usize::MAX);
    if size > caller.data().max_response_bytes {
        caller.data_mut().fault = Some(Fault::ResponseTooLarge(size));
        return Err(wasmtime::Error::msg("response too large"));
    }
    Ok(())
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Links `NAME(ptr)`, which copies one of the host's answer buffers into guest memory, and `NAME_len()`.
fn link_host_buffer(
    linker: &mut Linker<HostState>,
    name: &str,
    buffer: fn(&mut HostState) -> &mut Vec<u8>,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        "wapc",
        name,
        move |mut caller: Caller<'_, HostState>, ptr: i32| {
            let bytes = std::mem::take(buffer(caller.data_mut()));
            let written = write(&mut caller, ptr, &bytes);
            *buffer(caller.data_mut()) = bytes;
            written
        },
    )?;
    linker.func_wrap(
        "wapc",
        &format!("{name}_len"),
        move |mut caller: Caller<'_, HostState>| -> i32 {
            i32::try_from(buffer(caller.data_mut()).len()).unwrap_or(i32::MAX)
        },
    )?;
    Ok(())
}

/// The evaluation's WASI context, built on first use: a context costs about as much as the rest of
/// a small guest's evaluation, and a guest that makes no WASI call need not pay for it.
fn wasi_context(state: &mut HostState) -> &mut WasiP1Ctx {
    state.wasi.get_or_insert_with(|| {
        sandbox(&[])
            .stdout(PolicyLog::new("stdout", OUTPUT_LOG_BYTES))
            .stderr(PolicyLog::new("stderr", OUTPUT_LOG_BYTES))
            .build_p1()
    })
}

/// Registers the waPC host functions (module `wapc`) and WASI preview 1 (modules
/// `wasi_snapshot_preview1` and `wasi_unstable`).
fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_sync(linker, wasi_context)?;
    wasmtime_wasi::p0::add_to_linker_sync(linker, wasi_context)?;
    linker.func_wrap(
        "wapc",
        "__guest_request",
        |mut caller: Caller<'_, HostState>, op_ptr: i32, ptr: i32| {
            let operation = std::mem::take(&mut caller.data_mut().operation);
            let payload = std::mem::take(&mut caller.data_mut().payload);
            let written = write(&mut caller, op_ptr, &operation)
                .and_then(|()| write(&mut caller, ptr, &payload));
            caller.data_mut().operation = operation;
            caller.data_mut().payload = payload;
            written
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__guest_response",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| {
            checked_len(&mut caller, len)?;
            let bytes = read(&mut caller, ptr, len)?;
            caller.data_mut().response = Some(bytes);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__guest_error",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| {
            checked_len(&mut caller, len)?;
            let bytes = read(&mut caller, ptr, len)?;
            caller.data_mut().guest_error = Some(lossy(&bytes));
            Ok(())
        },
    )?;
    linker.func_wrap(
        "wapc",
        "__host_call",
        |mut caller: Caller<'_, HostState>,
         bd_ptr: i32,
         bd_len: i32,
         ns_ptr: i32,
         ns_len: i32,
         op_ptr: i32,
         op_len: i32,
         ptr: i32,
         len: i32| {
            let binding = lossy(&read(&mut caller, bd_ptr, bd_len)?);
            let namespace = lossy(&read(&mut caller, ns_ptr, ns_len)?);
            let operation = lossy(&read(&mut caller, op_ptr, op_len)?);
            let payload = read(&mut caller, ptr, len)?;
            let handler = Arc::clone(&caller.data().host_calls);
            let state = caller.data_mut();
            state.host_response.clear();
            state.host_error.clear();
            match handler.host_call(&binding, &namespace, &operation, &payload) {
                Ok(answer) => {
                    state.host_response = answer;
                    Ok(1)
                }
                Err(message) => {
                    tracing::debug!(%binding, %namespace, %operation, %message, "host call failed");
                    state.host_error = message.into_bytes();
                    Ok(0)
                }
            }
        },
    )?;
    link_host_buffer(linker, "__host_response", |state| &mut state.host_response)?;
    link_host_buffer(linker, "__host_error", |state| &mut state.host_error)?;
    linker.func_wrap(
        "wapc",
        "__console_log",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| {
            checked_len(&mut caller, len)?;
            let message = lossy(&read(&mut caller, ptr, len)?);
            tracing::info!(target: crate::policy_log::POLICY_LOG_TARGET, "{message}");
            Ok(())
        },
    )?;
    Ok(())
}
