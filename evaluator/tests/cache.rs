//! The on-disk module cache: reused across engines, corrupt entries ignored and rebuilt.

use std::sync::Arc;

use evaluator::{
    AdmittedModule, Engine, EngineConfig, EvaluatorError, ModuleCache, ValidationRequest,
};
use serde_json::json;
use test_support::compile_fixture;

fn engine(cache: &Arc<ModuleCache>) -> Result<Engine, EvaluatorError> {
    Ok(Engine::new(EngineConfig::default())?.with_cache(Arc::clone(cache)))
}

fn accepts(engine: &Engine, module: &[u8]) -> Result<bool, EvaluatorError> {
    let request = ValidationRequest {
        request: json!({"uid": "1"}),
        settings: json!({}),
    };
    Ok(engine
        .load_wapc(&AdmittedModule::insecure("fixture", module.to_vec()))?
        .validate(&request)?
        .accepted)
}

#[test]
fn a_module_is_compiled_once_and_reused_by_the_next_engine() -> Result<(), EvaluatorError> {
    let dir = test_support::tempdir();
    let cache = Arc::new(ModuleCache::new(dir.path())?);
    let module = compile_fixture("wapc-accept");
    assert!(accepts(&engine(&cache)?, &module)?);
    assert_eq!((cache.hits(), cache.misses()), (0, 1));
    assert!(accepts(&engine(&cache)?, &module)?);
    assert_eq!((cache.hits(), cache.misses()), (1, 1));
    // Another module is another entry.
    let reject = compile_fixture("wapc-reject");
    assert!(!accepts(&engine(&cache)?, &reject)?);
    assert_eq!(cache.misses(), 2);
    Ok(())
}

#[test]
fn corrupt_entries_are_ignored_and_rebuilt() -> Result<(), EvaluatorError> {
    let dir = test_support::tempdir();
    let cache = Arc::new(ModuleCache::new(dir.path())?);
    let module = compile_fixture("wapc-accept");
    let first = engine(&cache)?;
    assert!(accepts(&first, &module)?);
    let Some(entry) = first.cache_entry_path(&module) else {
        panic!("the engine has a cache");
    };
    let good = std::fs::read(&entry).map_err(|source| EvaluatorError::Io {
        path: entry.clone(),
        source,
    })?;

    let mut flipped = good.clone();
    if let Some(byte) = flipped.last_mut() {
        *byte ^= 0xff;
    }
    // A "well-formed" entry whose payload is not a compiled module: the checksum matches.
    let junk = b"not a compiled module".to_vec();
    let mut forged = Vec::new();
    forged.extend_from_slice(&sha256(&junk));
    forged.extend_from_slice(&junk);
    for (what, bytes) in [
        ("garbage", b"garbage".to_vec()),
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("flipped", flipped),
        ("forged", forged),
    ] {
        write(&entry, &bytes)?;
        let misses = cache.misses();
        assert!(accepts(&engine(&cache)?, &module)?, "{what}");
        assert_eq!(cache.misses(), misses + 1, "{what}: the entry was used");
        // Rebuilt: the next engine hits.
        let hits = cache.hits();
        assert!(accepts(&engine(&cache)?, &module)?, "{what}");
        assert_eq!(cache.hits(), hits + 1, "{what}: the entry was not rebuilt");
    }
    Ok(())
}

#[test]
fn invalid_modules_never_come_from_the_cache() -> Result<(), EvaluatorError> {
    let dir = test_support::tempdir();
    let cache = Arc::new(ModuleCache::new(dir.path())?);
    assert!(matches!(
        engine(&cache)?.load_wapc(&AdmittedModule::insecure("fixture", b"not wasm".to_vec())),
        Err(EvaluatorError::Compile(_))
    ));
    assert_eq!(cache.misses(), 0);
    Ok(())
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

fn write(path: &std::path::Path, bytes: &[u8]) -> Result<(), EvaluatorError> {
    std::fs::write(path, bytes).map_err(|source| EvaluatorError::Io {
        path: path.to_path_buf(),
        source,
    })
}
