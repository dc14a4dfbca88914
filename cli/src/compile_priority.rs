//! The policy server's compilations yield to its answers: wasmtime compiles a module's functions in parallel on
//! rayon's global thread pool, and a reload that compiles a changed policy would otherwise take every core
//! from the requests being answered (p99 of `/validate` several times higher while it compiles). The pool's
//! threads run at a lower priority (nice 10, Linux, where the nice value is per thread), so a compilation uses
//! what the answers leave; at start-up nothing else runs and it compiles at full speed.

/// The nice value of the compiler's threads.
#[cfg(target_os = "linux")]
const COMPILER_NICE: libc::c_int = 10;

/// Builds rayon's global pool with threads of a lower priority. Best effort: a pool already built, or a
/// priority that cannot be set, leaves compilations as they were (logged).
pub fn lower() {
    let built = rayon::ThreadPoolBuilder::new()
        .thread_name(|index| format!("compiler-{index}"))
        .start_handler(|_| lower_this_thread())
        .build_global();
    if let Err(err) = built {
        tracing::debug!(error = %err, "the compiler's threads keep their priority");
    }
}

#[cfg(target_os = "linux")]
fn lower_this_thread() {
    // SAFETY: setpriority takes plain integers; on Linux `who` 0 with PRIO_PROCESS names the calling thread.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, COMPILER_NICE) };
    if result != 0 {
        let err = std::io::Error::last_os_error();
        tracing::debug!(error = %err, "a compiler thread keeps its priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_thread() {}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn the_pools_threads_run_at_a_lower_priority() {
        super::lower();
        let nice = rayon::broadcast(|_| {
            // SAFETY: getpriority takes plain integers; 0 names the calling thread.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
        });
        assert!(
            nice.iter().all(|&value| value >= super::COMPILER_NICE),
            "{nice:?}"
        );
    }
}
