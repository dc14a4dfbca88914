//! One Rego module compiled and linked for the OPA Wasm ABI, and its evaluation in a fresh
//! instance (its own store, memory, deadline and memory cap) each time.
//!
//! The OPA runtime's set-up runs once, at load: instances come from the pre-initialised module
//! [`snapshot`] builds, whose memory starts as the set-up left it, copy-on-write. A module whose
//! state a snapshot cannot hold is instantiated as it is, its set-up running in each instance.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::{
    ExternType, Instance, InstancePre, Linker, Memory, MemoryType, Module, Store, TypedFunc,
};

use super::builtins;
use super::guest::{CONTEXT_EXPORTS, FAST_EVAL, Guest, REQUIRED_EXPORTS, typed};
use super::host;
use super::snapshot::{self, Layout};
use super::state::{BuiltinTable, HostState};
use crate::engine::{Engine, Limiter, classify};
use crate::error::EvaluatorError;

/// The major version of the OPA Wasm ABI this host implements (`opa_wasm_abi_version`).
const SUPPORTED_ABI: i32 = 1;

/// How evaluations get their fresh instances.
#[derive(Clone)]
enum Instances {
    /// From the pre-initialised module, which defines its memory: mapped copy-on-write from the
    /// state the set-up left, with nothing to run.
    Snapshot(InstancePre<HostState>),
    /// From the module as it is, with a new memory from the host: the set-up runs each time.
    Setup {
        module: Module,
        memory_type: MemoryType,
    },
}

/// A compiled Rego module with its host functions linked; cheap to clone.
#[derive(Clone)]
pub(super) struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    instances: Instances,
    builtins: Arc<BuiltinTable>,
    fast_path: bool,
    /// The policy's entrypoints, by name.
    pub(super) entrypoints: BTreeMap<String, i32>,
}

impl Runtime {
    /// Compiles `module`, checks that it has the shape of a Rego policy, runs its set-up and
    /// captures the state it leaves (see [`snapshot`]), and reads its builtins and entrypoints
    /// once; a builtin the host does not implement is refused here.
    pub(super) fn load(engine: &Engine, bytes: &[u8]) -> Result<Runtime, EvaluatorError> {
        engine.validate(bytes)?;
        let layout = Layout::read(bytes)?;
        let module = match layout.obstacle() {
            None => engine.compile(&snapshot::instrument(bytes, &layout)?)?,
            Some(reason) => {
                tracing::debug!(reason, "the Rego policy runs its set-up in each instance");
                engine.compile(bytes)?
            }
        };
        let exported = |name: &str| module.exports().any(|export| export.name() == name);
        if let Some(missing) = REQUIRED_EXPORTS.iter().find(|name| !exported(name)) {
            return Err(EvaluatorError::MissingExport((*missing).to_owned()));
        }
        let fast_path = exported(FAST_EVAL);
        if !fast_path && let Some(missing) = CONTEXT_EXPORTS.iter().find(|name| !exported(name)) {
            return Err(EvaluatorError::MissingExport((*missing).to_owned()));
        }
        let memory_type = module
            .imports()
            .find(|import| import.module() == "env" && import.name() == "memory")
            .and_then(|import| match import.ty() {
                ExternType::Memory(memory) => Some(memory),
                _ => None,
            })
            .ok_or_else(|| {
                EvaluatorError::Link(
                    "a Rego policy imports its memory as `env.memory`; this one does not".into(),
                )
            })?;
        let mut linker = Linker::new(&engine.inner);
        host::add_to_linker(&mut linker).map_err(|err| EvaluatorError::Link(format!("{err:#}")))?;
        let mut runtime = Runtime {
            engine: engine.clone(),
            linker,
            instances: Instances::Setup {
                module,
                memory_type,
            },
            builtins: Arc::new(BuiltinTable::new()),
            fast_path,
            entrypoints: BTreeMap::new(),
        };
        let (mut store, mut instance, mut guest) = runtime.instantiate()?;
        let abi_version = instance
            .get_global(&mut store, "opa_wasm_abi_version")
            .and_then(|global| global.get(&mut store).i32());
        if let Some(version) = abi_version.filter(|&version| version != SUPPORTED_ABI) {
            return Err(EvaluatorError::Link(format!(
                "the policy needs OPA Wasm ABI {version}; this host speaks ABI {SUPPORTED_ABI}.x"
            )));
        }
        if layout.obstacle().is_none() {
            let captured = snapshot::capture(&mut store, &instance, guest.memory(), &layout)?;
            let module = engine.compile(&snapshot::build(bytes, &layout, &captured)?)?;
            let instance_pre = runtime
                .linker
                .instantiate_pre(&module)
                .map_err(|err| EvaluatorError::Link(format!("{err:#}")))?;
            runtime.instances = Instances::Snapshot(instance_pre);
            (store, instance, guest) = runtime.instantiate()?;
        }
        let probe = |store: &mut Store<HostState>,
                     export: &str|
         -> Result<BTreeMap<String, i32>, EvaluatorError> {
            let func = typed::<(), i32>(&mut *store, &instance, export)?;
            let json = func
                .call(&mut *store, ())
                .and_then(|value| guest.pull_json(&mut *store, value))
                .map_err(|err| failure(store, err, &runtime.engine))?;
            serde_json::from_slice(&json).map_err(|err| EvaluatorError::MalformedResponse {
                operation: export.to_owned(),
                reason: format!("expected an object of names to ids: {err}"),
            })
        };
        let wanted = probe(&mut store, "builtins")?;
        runtime.entrypoints = probe(&mut store, "entrypoints")?;
        runtime.builtins = Arc::new(builtin_table(wanted)?);
        Ok(runtime)
    }

    /// Whether instances come from the pre-initialised module (else each runs the set-up).
    pub(super) fn is_snapshot(&self) -> bool {
        matches!(self.instances, Instances::Snapshot(_))
    }

    /// The names of the builtins the policy calls on the host.
    pub(super) fn builtin_names(&self) -> Vec<&str> {
        self.builtins
            .values()
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Whether the module has ABI 1.2's one-call `opa_eval`.
    pub(super) fn has_fast_path(&self) -> bool {
        self.fast_path
    }

    /// Evaluates `entrypoint` on `input` with `data` (both JSON documents) in a fresh instance
    /// and returns the result set as JSON (`[{"result": …}]`, `[]` when undefined).
    ///
    /// The instance is new, so its heap starts where the set-up left it: there is no heap
    /// pointer to restore between evaluations. Within the evaluation, the heap pointer after
    /// loading data and input is what `opa_eval` may allocate from.
    pub(super) fn evaluate(
        &self,
        entrypoint: i32,
        data: &[u8],
        input: &[u8],
    ) -> Result<Vec<u8>, EvaluatorError> {
        let (mut store, instance, guest) = self.instantiate()?;
        self.evaluate_in(&mut store, &instance, &guest, entrypoint, data, input)
    }

    /// An instance to evaluate in again and again, with the heap pointer the set-up left.
    pub(super) fn reused_instance(&self) -> Result<ReusedInstance, EvaluatorError> {
        let (mut store, instance, guest) = self.instantiate()?;
        let heap_ptr_set = typed::<i32, ()>(&mut store, &instance, "opa_heap_ptr_set")?;
        let heap = guest
            .heap_ptr(&mut store)
            .map_err(|err| failure(&store, err, &self.engine))?;
        Ok(ReusedInstance {
            store,
            instance,
            guest,
            heap_ptr_set,
            heap,
        })
    }

    /// [`Runtime::evaluate`] in `reused`, its heap pointer reset and its deadline armed again
    /// first.
    pub(super) fn evaluate_reused(
        &self,
        reused: &mut ReusedInstance,
        entrypoint: i32,
        data: &[u8],
        input: &[u8],
    ) -> Result<Vec<u8>, EvaluatorError> {
        let store = &mut reused.store;
        store.set_epoch_deadline(self.engine.config.deadline_ticks());
        reused
            .heap_ptr_set
            .call(&mut *store, reused.heap)
            .map_err(|err| failure(store, err, &self.engine))?;
        self.evaluate_in(
            store,
            &reused.instance,
            &reused.guest,
            entrypoint,
            data,
            input,
        )
    }

    /// Evaluates in `instance`, whatever its heap holds.
    fn evaluate_in(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        guest: &Guest,
        entrypoint: i32,
        data: &[u8],
        input: &[u8],
    ) -> Result<Vec<u8>, EvaluatorError> {
        let result = if self.fast_path {
            evaluate_fast(store, instance, guest, entrypoint, data, input)
        } else {
            evaluate_with_context(store, instance, guest, entrypoint, data, input)
        };
        result.map_err(|err| failure(store, err, &self.engine))
    }

    /// A new store and an instance in it, with its own memory.
    fn instantiate(&self) -> Result<(Store<HostState>, Instance, Guest), EvaluatorError> {
        let state = HostState {
            limiter: Limiter::new(&self.engine.config),
            guest: None,
            builtins: Arc::clone(&self.builtins),
        };
        let mut store = self
            .engine
            .evaluation_store(state, |state| &mut state.limiter);
        let (instance, memory) = match &self.instances {
            Instances::Snapshot(instance_pre) => {
                let instance = instance_pre
                    .instantiate(&mut store)
                    .map_err(|err| failure(&store, err, &self.engine))?;
                let memory = instance
                    .get_memory(&mut store, snapshot::MEMORY_EXPORT)
                    .ok_or_else(|| {
                        EvaluatorError::Link("the pre-initialised module has no memory".into())
                    })?;
                (instance, memory)
            }
            Instances::Setup {
                module,
                memory_type,
            } => {
                let memory = Memory::new(&mut store, memory_type.clone())
                    .map_err(|err| failure(&store, err, &self.engine))?;
                let mut linker = self.linker.clone();
                linker
                    .define(&store, "env", "memory", memory)
                    .map_err(|err| EvaluatorError::Link(format!("{err:#}")))?;
                let instance = linker
                    .instantiate(&mut store, module)
                    .map_err(|err| failure(&store, err, &self.engine))?;
                (instance, memory)
            }
        };
        let guest = Guest::new(
            &mut store,
            &instance,
            memory,
            self.engine.config.max_response_bytes,
        )?;
        store.data_mut().guest = Some(guest.clone());
        Ok((store, instance, guest))
    }
}

/// An instance kept across evaluations, and the heap pointer its set-up left.
pub(super) struct ReusedInstance {
    store: Store<HostState>,
    instance: Instance,
    guest: Guest,
    heap_ptr_set: TypedFunc<i32, ()>,
    heap: i32,
}

/// ABI 1.2: one `opa_eval` call with data, input and the heap to allocate from.
fn evaluate_fast(
    store: &mut Store<HostState>,
    instance: &Instance,
    guest: &Guest,
    entrypoint: i32,
    data: &[u8],
    input: &[u8],
) -> wasmtime::Result<Vec<u8>> {
    let eval = typed::<(i32, i32, i32, i32, i32, i32, i32), i32>(&mut *store, instance, FAST_EVAL)?;
    let data = guest.push_json(&mut *store, data)?;
    let (input, input_len) = guest.write(&mut *store, input)?;
    let heap = guest.heap_ptr(&mut *store)?;
    // Reserved 0, the entrypoint, data, input, its length, the heap, format 0 (JSON).
    let result = eval.call(
        &mut *store,
        (0, entrypoint, data, input, input_len, heap, 0),
    )?;
    guest.read_c_string(&*store, result)
}

/// ABI 1.0: an evaluation context set up call by call, then `eval`.
fn evaluate_with_context(
    store: &mut Store<HostState>,
    instance: &Instance,
    guest: &Guest,
    entrypoint: i32,
    data: &[u8],
    input: &[u8],
) -> wasmtime::Result<Vec<u8>> {
    let [
        ctx_new,
        set_input,
        set_data,
        set_entrypoint,
        get_result,
        eval,
    ] = CONTEXT_EXPORTS;
    let ctx_new = typed::<(), i32>(&mut *store, instance, ctx_new)?;
    let set_input = typed::<(i32, i32), ()>(&mut *store, instance, set_input)?;
    let set_data = typed::<(i32, i32), ()>(&mut *store, instance, set_data)?;
    let set_entrypoint = typed::<(i32, i32), ()>(&mut *store, instance, set_entrypoint)?;
    let get_result = typed::<i32, i32>(&mut *store, instance, get_result)?;
    let eval = typed::<i32, i32>(&mut *store, instance, eval)?;

    let data = guest.push_json(&mut *store, data)?;
    let input = guest.push_json(&mut *store, input)?;
    let ctx = ctx_new.call(&mut *store, ())?;
    set_input.call(&mut *store, (ctx, input))?;
    set_data.call(&mut *store, (ctx, data))?;
    set_entrypoint.call(&mut *store, (ctx, entrypoint))?;
    eval.call(&mut *store, ctx)?;
    let result = get_result.call(&mut *store, ctx)?;
    guest.pull_json(&mut *store, result)
}

/// The implementations of the builtins the policy asks for, or the names of those missing.
fn builtin_table(wanted: BTreeMap<String, i32>) -> Result<BuiltinTable, EvaluatorError> {
    let mut missing = Vec::new();
    let mut table = BuiltinTable::new();
    for (name, id) in wanted {
        match builtins::lookup(&name) {
            Some(builtin) => {
                table.insert(id, (name, builtin));
            }
            None => missing.push(name),
        }
    }
    if missing.is_empty() {
        Ok(table)
    } else {
        Err(EvaluatorError::UnsupportedBuiltins(missing))
    }
}

/// Names the failure behind an error raised while the policy ran: the memory cap, a failure a
/// host function named (abort, builtin, oversized string), else a trap or the deadline.
fn failure(store: &Store<HostState>, err: wasmtime::Error, engine: &Engine) -> EvaluatorError {
    let memory_exceeded = store.data().limiter.memory_exceeded;
    if memory_exceeded {
        return EvaluatorError::OutOfMemory(engine.config.memory_limit);
    }
    match err.downcast::<EvaluatorError>() {
        Ok(named) => named,
        Err(err) => classify(false, &err, &engine.config),
    }
}
