//! The wasmtime engine and the limits that apply to every evaluation.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::ModuleCache;
use crate::error::EvaluatorError;
use crate::module_source::Precompiled;

/// How often the epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled table kept resident between instances (zeroed on reuse).
const KEEP_RESIDENT: usize = 64 * 1024;

/// Bytes of each pooled memory kept resident between instances: reset to the module's image
/// on reuse, where the kernel reports them written (`PAGEMAP_SCAN`, Linux 6.7), else all up to
/// the memory's size. A Rego policy's heap starts past 100 KiB of data and runs through a few
/// pages more in each evaluation: returning those to the kernel and faulting them in again cost
/// more than the evaluation itself.
const MEMORY_KEEP_RESIDENT: usize = 1024 * 1024;

/// Limits and tuning shared by every policy loaded in one [`Engine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Wall-clock budget of one evaluation (instantiation, start functions and the call).
    pub deadline: Duration,
    /// The most linear memory one evaluation may use, in bytes.
    pub memory_limit: usize,
    /// The largest answer a policy may return, in bytes.
    pub max_response_bytes: usize,
    /// Use wasmtime's pooling allocator (falls back to on-demand allocation if the machine
    /// cannot reserve the pool).
    pub pooling: bool,
    /// How many instances the pool holds at once (concurrent evaluations).
    pub pool_instances: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            deadline: Duration::from_secs(2),
            memory_limit: 256 * 1024 * 1024,
            max_response_bytes: 8 * 1024 * 1024,
            pooling: true,
            pool_instances: 32,
        }
    }
}

impl EngineConfig {
    /// The deadline in epoch ticks (at least one, plus one for the tick in progress).
    pub fn deadline_ticks(&self) -> u64 {
        let ticks = self.deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
        u64::try_from(ticks).unwrap_or(u64::MAX - 1).max(1) + 1
    }
}

/// A configured wasmtime engine with a background thread that advances the epoch.
///
/// Cheap to clone; the epoch thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: wasmtime::Engine,
    pub(crate) config: Arc<EngineConfig>,
    pooling: bool,
    cache: Option<Arc<ModuleCache>>,
    /// Modules a verified referrer holds, or the recording of what is compiled.
    pub(crate) precompiled: Option<Precompiled>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("pooling", &self.pooling)
            .finish()
    }
}

impl Engine {
    /// Builds an engine with `config`, trying the pooling allocator first when asked.
    pub fn new(config: EngineConfig) -> Result<Engine, EvaluatorError> {
        let (inner, pooling) = if config.pooling {
            match wasmtime::Engine::new(&wasmtime_config(&config, true)) {
                Ok(engine) => (engine, true),
                Err(err) => {
                    tracing::warn!(error = %err, "pooling allocator unavailable, allocating on demand");
                    (build(&config, false)?, false)
                }
            }
        } else {
            (build(&config, false)?, false)
        };
        spawn_epoch_ticker(&inner)?;
        Ok(Engine {
            inner,
            config: Arc::new(config),
            pooling,
            cache: None,
            precompiled: None,
        })
    }

    /// The limits this engine applies.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Whether instances come from the pooling allocator.
    pub fn uses_pooling(&self) -> bool {
        self.pooling
    }

    /// Keeps compiled modules in `cache`, so that a module is compiled once per engine
    /// configuration.
    pub fn with_cache(mut self, cache: Arc<ModuleCache>) -> Engine {
        self.cache = Some(cache);
        self
    }

    /// The module cache, if there is one.
    pub fn cache(&self) -> Option<&ModuleCache> {
        self.cache.as_deref()
    }

    /// The file that caches `module` compiled by this engine, if the engine has a cache.
    pub fn cache_entry_path(&self, module: &[u8]) -> Option<std::path::PathBuf> {
        self.cache
            .as_ref()
            .map(|cache| cache.entry_path(&self.inner, module))
    }

    /// Compiles a module for this engine: from a verified precompiled referrer when the engine holds
    /// one for exactly these bytes, else through the cache when there is one.
    pub(crate) fn compile(&self, module: &[u8]) -> Result<wasmtime::Module, EvaluatorError> {
        // Validate first: a cache entry must never stand in for bytes that are not a module.
        self.validate(module)?;
        if let Some(loaded) = self
            .precompiled
            .as_ref()
            .and_then(|precompiled| precompiled.load(&self.inner, module))
        {
            return Ok(loaded);
        }
        let compiled = match &self.cache {
            Some(cache) => cache.compile(&self.inner, module),
            None => wasmtime::Module::new(&self.inner, module)
                .map_err(|err| EvaluatorError::Compile(format!("{err:#}"))),
        }?;
        if let Some(precompiled) = &self.precompiled {
            precompiled.compiled(module, &compiled);
        }
        Ok(compiled)
    }

    /// Checks that `module` is a module this engine can compile.
    pub(crate) fn validate(&self, module: &[u8]) -> Result<(), EvaluatorError> {
        wasmtime::Module::validate(&self.inner, module)
            .map_err(|err| EvaluatorError::Compile(format!("{err:#}")))
    }
}

impl Engine {
    /// A store for one evaluation: its memory capped by the [`Limiter`] that `limiter` reaches in
    /// `data`, its deadline armed.
    pub(crate) fn evaluation_store<T: 'static>(
        &self,
        data: T,
        limiter: fn(&mut T) -> &mut Limiter,
    ) -> wasmtime::Store<T> {
        let mut store = wasmtime::Store::new(&self.inner, data);
        store.limiter(move |state| limiter(state));
        store.epoch_deadline_trap();
        store.set_epoch_deadline(self.config.deadline_ticks());
        store
    }
}

fn build(config: &EngineConfig, pooling: bool) -> Result<wasmtime::Engine, EvaluatorError> {
    wasmtime::Engine::new(&wasmtime_config(config, pooling))
        .map_err(|err| EvaluatorError::Engine(format!("{err:#}")))
}

fn wasmtime_config(config: &EngineConfig, pooling: bool) -> wasmtime::Config {
    let mut wasm = wasmtime::Config::new();
    wasm.epoch_interruption(true);
    if pooling {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_core_instances(config.pool_instances)
            .total_memories(config.pool_instances)
            .total_tables(config.pool_instances)
            .max_memory_size(config.memory_limit)
            // Reset the pages a freed slot's instance wrote in place rather than returning them
            // to the kernel: no page faults, madvise or TLB flushes for small guests.
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .pagemap_scan(wasmtime::Enabled::Auto)
            .table_keep_resident(KEEP_RESIDENT);
        wasm.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    wasm
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &wasmtime::Engine) -> Result<(), EvaluatorError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("palisade-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(|_| ())
        .map_err(|err| EvaluatorError::Engine(format!("starting the epoch thread: {err}")))
}

/// Names the failure behind a wasmtime error raised while a policy ran.
pub(crate) fn classify(
    memory_exceeded: bool,
    err: &wasmtime::Error,
    config: &EngineConfig,
) -> EvaluatorError {
    if memory_exceeded {
        return EvaluatorError::OutOfMemory(config.memory_limit);
    }
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => EvaluatorError::Timeout(config.deadline),
        Some(trap) => EvaluatorError::Trap(trap.to_string()),
        None => EvaluatorError::Trap(format!("{err:#}")),
    }
}

/// Per-store resource limiter: wasmtime's [`wasmtime::StoreLimits`], remembering whether the
/// memory cap was hit so that the failure can be named.
pub(crate) struct Limiter {
    inner: wasmtime::StoreLimits,
    pub(crate) memory_exceeded: bool,
}

impl Limiter {
    pub(crate) fn new(config: &EngineConfig) -> Limiter {
        Limiter {
            inner: wasmtime::StoreLimitsBuilder::new()
                .memory_size(config.memory_limit)
                .instances(1)
                .trap_on_grow_failure(true)
                .build(),
            memory_exceeded: false,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let answer = self.inner.memory_growing(current, desired, maximum);
        if !matches!(answer, Ok(true)) {
            self.memory_exceeded = true;
        }
        answer
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_ticks_round_up_and_add_one() {
        let mut config = EngineConfig::default();
        assert_eq!(config.deadline_ticks(), 201);
        config.deadline = Duration::from_millis(1);
        assert_eq!(config.deadline_ticks(), 2);
        config.deadline = Duration::ZERO;
        assert_eq!(config.deadline_ticks(), 2);
    }

    #[test]
    fn builds_with_and_without_pooling() -> Result<(), EvaluatorError> {
        let pooled = Engine::new(EngineConfig::default())?;
        let on_demand = Engine::new(EngineConfig {
            pooling: false,
            ..EngineConfig::default()
        })?;
        assert!(!on_demand.uses_pooling());
        assert_eq!(pooled.config().memory_limit, 256 * 1024 * 1024);
        Ok(())
    }
}
