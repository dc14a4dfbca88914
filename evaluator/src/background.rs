//! Work that must yield to the server's answers runs on threads of a lower scheduling priority (nice 10, on
//! Linux, where the nice value is per thread): the evaluations of a policy that was seen to be slow
//! ([`BackgroundPool`]), and wasmtime's parallel compilation during a reload ([`lower_compiler_threads`]).
//! When the cores are shared, the answers of healthy policies come first and background work takes what they
//! leave (about a tenth of a contended core); when the cores are idle, as at start-up, it runs at full speed.

use crate::error::EvaluatorError;

/// The nice value of background threads: nice 0 answers get about ten times their share of a core.
#[cfg(target_os = "linux")]
const BACKGROUND_NICE: libc::c_int = 10;

/// A pool of low-priority threads.
#[derive(Debug)]
pub struct BackgroundPool {
    name: &'static str,
    pool: rayon::ThreadPool,
}

impl BackgroundPool {
    /// `threads` threads named after `name` (`name-0`, `name-1`…), each at the background priority.
    pub fn new(name: &'static str, threads: usize) -> Result<BackgroundPool, EvaluatorError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(move |index| format!("{name}-{index}"))
            .start_handler(|_| lower_this_thread())
            .panic_handler(move |_| tracing::error!(pool = name, "a background task panicked"))
            .build()
            .map_err(|err| {
                EvaluatorError::Startup(format!("starting the {name} threads failed: {err}"))
            })?;
        Ok(BackgroundPool { name, pool })
    }

    /// Runs `work` on one of the pool's threads and waits for it without holding the caller's thread. A
    /// panic in `work` is an error here (and logged), not a crash of the server.
    pub async fn run<T, W>(&self, work: W) -> Result<T, EvaluatorError>
    where
        T: Send + 'static,
        W: FnOnce() -> T + Send + 'static,
    {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            // The receiver is gone only when the request that waited for it went away: nothing to tell.
            let _ = done.send(work());
        });
        answer.await.map_err(|_| {
            EvaluatorError::Trap(format!("a task on the {} threads panicked", self.name))
        })
    }
}

/// Builds rayon's global pool, where wasmtime compiles a module's functions in parallel, with threads of the
/// background priority, so that a reload compiling a changed policy takes what the answers leave. The
/// compilations are started from the blocking pool, never from a rayon thread: a thread waiting for its
/// compilation's parallel work then picks up only that work, not another policy's whole compilation on top
/// of its stack. Best effort: a pool already built, or a priority that cannot be set, leaves the threads as
/// they are (logged).
pub fn lower_compiler_threads() {
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
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE) };
    if result != 0 {
        let err = std::io::Error::last_os_error();
        tracing::debug!(error = %err, "a background thread keeps its priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_thread() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn work_runs_at_the_background_priority() -> Result<(), EvaluatorError> {
        let pool = BackgroundPool::new("test", 2)?;
        // SAFETY: getpriority takes plain integers; 0 names the calling thread.
        let nice = pool
            .run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) })
            .await?;
        assert!(nice >= BACKGROUND_NICE, "{nice}");
        Ok(())
    }

    #[tokio::test]
    async fn a_panic_is_an_error_and_the_pool_goes_on() -> Result<(), EvaluatorError> {
        let pool = BackgroundPool::new("test", 1)?;
        let panicked = pool.run(|| -> u8 { panic!("a policy bug") }).await;
        assert!(
            matches!(&panicked, Err(EvaluatorError::Trap(message)) if message.contains("test threads")),
            "{panicked:?}"
        );
        assert_eq!(pool.run(|| 7).await?, 7);
        Ok(())
    }
}
