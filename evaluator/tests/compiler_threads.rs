//! `background::lower_compiler_threads` makes rayon's global pool, where wasmtime compiles in parallel, run at a
//! lower priority. A test binary of its own: in one where a compilation ran first, the global pool would
//! already exist with the default priority.

#[cfg(target_os = "linux")]
#[test]
fn the_compiler_threads_run_at_a_lower_priority() {
    evaluator::background::lower_compiler_threads();
    // SAFETY: getpriority takes plain integers; 0 names the calling thread.
    let nice = rayon::broadcast(|_| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) });
    assert!(nice.iter().all(|&value| value >= 10), "{nice:?}");
}
