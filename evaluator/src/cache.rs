//! The on-disk cache of compiled modules, keyed by the module's digest and by wasmtime's
//! compatibility hash of the engine: the wasmtime version, the target and compiler flags, the
//! tunables and the Wasm features. Another wasmtime or another engine configuration looks for
//! another entry, so it never loads a stale one.
//!
//! An entry is `sha256(payload) ‖ payload`, where the payload is wasmtime's serialised module.
//! An entry whose checksum does not match (truncated, corrupt) or that wasmtime refuses (another
//! wasmtime version or configuration) is ignored and rebuilt. The folder must be writable only by
//! the user running the host: a well-formed entry planted there would be trusted as compiled code.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::error::EvaluatorError;

/// A folder of precompiled modules.
#[derive(Debug)]
pub struct ModuleCache {
    dir: PathBuf,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ModuleCache {
    /// Uses (and creates) `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Result<ModuleCache, EvaluatorError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| EvaluatorError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(ModuleCache {
            dir,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many compilations the cache saved.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many modules had to be compiled (no entry, or an entry that was not usable).
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The entry file for `module` compiled by `engine`: the key covers the module and
    /// `precompile_compatibility_hash`, which hashes the wasmtime version with the configuration.
    pub(crate) fn entry_path(&self, engine: &wasmtime::Engine, module: &[u8]) -> PathBuf {
        let mut key = Sha256::new();
        key.update(Sha256::digest(module));
        key.update(engine_hash(engine));
        self.dir
            .join(format!("{}.cwasm", hex::encode(key.finalize())))
    }

    /// The compiled module: from the cache when a sound entry exists, else compiled and stored.
    pub(crate) fn compile(
        &self,
        engine: &wasmtime::Engine,
        module: &[u8],
    ) -> Result<wasmtime::Module, EvaluatorError> {
        let path = self.entry_path(engine, module);
        if let Some(compiled) = load(engine, &path) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(compiled);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let compiled = wasmtime::Module::new(engine, module)
            .map_err(|err| EvaluatorError::Compile(format!("{err:#}")))?;
        if let Err(err) = store(&path, &compiled) {
            tracing::warn!(path = %path.display(), error = %err, "could not write the module cache entry");
        }
        Ok(compiled)
    }
}

/// The engine-configuration hash: SHA-256 over wasmtime's `precompile_compatibility_hash` (the wasmtime
/// version, target, compiler flags, tunables and Wasm features), stable across processes. Compiled code
/// made by one engine loads into another only when their hashes are equal: the cache keys and the
/// precompiled referrers (`precompiled.rs`) both name it.
pub(crate) fn engine_hash(engine: &wasmtime::Engine) -> [u8; 32] {
    let mut config = ShaHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut config);
    config.0.finalize().into()
}

/// Reads and checks an entry; `None` when it is missing or not usable.
fn load(engine: &wasmtime::Engine, path: &Path) -> Option<wasmtime::Module> {
    let bytes = std::fs::read(path).ok()?;
    let (checksum, payload) = bytes.split_at_checked(32)?;
    if Sha256::digest(payload).as_slice() != checksum {
        tracing::warn!(path = %path.display(), "ignoring a corrupt module cache entry");
        return None;
    }
    // SAFETY: the payload is byte for byte what `Module::serialize` wrote into this private
    // cache (the checksum rules out corruption), and wasmtime itself checks that it was made by
    // this wasmtime version with a compatible configuration before using it.
    match unsafe { wasmtime::Module::deserialize(engine, payload) } {
        Ok(module) => Some(module),
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "ignoring an unusable module cache entry");
            None
        }
    }
}

/// Writes an entry atomically (a temporary file renamed into place).
fn store(path: &Path, module: &wasmtime::Module) -> Result<(), String> {
    let payload = module.serialize().map_err(|err| format!("{err:#}"))?;
    let mut entry = Sha256::digest(&payload).to_vec();
    entry.extend_from_slice(&payload);
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, &entry).map_err(|err| err.to_string())?;
    std::fs::rename(&temporary, path).map_err(|err| {
        let _ = std::fs::remove_file(&temporary);
        err.to_string()
    })
}

/// Feeds `Hash` output into SHA-256, so that the key is stable across processes.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_the_module_and_are_stable() -> Result<(), EvaluatorError> {
        let dir = test_support::tempdir();
        let cache = ModuleCache::new(dir.path())?;
        let engine = wasmtime::Engine::default();
        let a = cache.entry_path(&engine, b"\0asm\x01\0\0\0");
        assert_eq!(a, cache.entry_path(&engine, b"\0asm\x01\0\0\0"));
        assert_ne!(a, cache.entry_path(&engine, b"\0asm\x01\0\0\0\0"));
        let mut other = wasmtime::Config::new();
        other.epoch_interruption(true);
        let other =
            wasmtime::Engine::new(&other).map_err(|err| EvaluatorError::Engine(err.to_string()))?;
        assert_ne!(a, cache.entry_path(&other, b"\0asm\x01\0\0\0"));
        Ok(())
    }

    #[test]
    fn another_wasmtime_version_has_other_keys() -> Result<(), EvaluatorError> {
        let dir = test_support::tempdir();
        let cache = ModuleCache::new(dir.path())?;
        let module = b"\0asm\x01\0\0\0";
        let ours = cache.entry_path(&wasmtime::Engine::default(), module);
        // Another wasmtime release differs from this one only by the version it records.
        let mut config = wasmtime::Config::new();
        config
            .module_version(wasmtime::ModuleVersionStrategy::Custom(
                "48.0.0-other".into(),
            ))
            .map_err(|err| EvaluatorError::Engine(err.to_string()))?;
        let other = wasmtime::Engine::new(&config)
            .map_err(|err| EvaluatorError::Engine(err.to_string()))?;
        assert_ne!(ours, cache.entry_path(&other, module));
        Ok(())
    }

    #[test]
    fn an_entry_of_another_engine_is_never_loaded() -> Result<(), EvaluatorError> {
        let dir = test_support::tempdir();
        let cache = ModuleCache::new(dir.path())?;
        let module = test_support::compile_fixture("wapc-accept");
        let plain = wasmtime::Engine::default();
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let interruptible = wasmtime::Engine::new(&config)
            .map_err(|err| EvaluatorError::Engine(err.to_string()))?;
        cache.compile(&plain, &module)?;
        cache.compile(&interruptible, &module)?;
        assert_eq!((cache.hits(), cache.misses()), (0, 2));
        cache.compile(&interruptible, &module)?;
        cache.compile(&plain, &module)?;
        assert_eq!((cache.hits(), cache.misses()), (2, 2));
        let entries = std::fs::read_dir(dir.path())
            .map_err(|source| EvaluatorError::Io {
                path: dir.path().into(),
                source,
            })?
            .count();
        assert_eq!(entries, 2);
        Ok(())
    }
}
