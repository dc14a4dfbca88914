//! Runs the async registry client from a host call, which comes from a blocking thread (the
//! policy runs synchronously inside wasmtime).
//!
//! Every call shares one runtime, built on the first call and kept for the process: the call's future is spawned on
//! it, and its worker threads drive the client's I/O and timers, while the calling thread waits for the answer on a
//! channel. Waiting on a channel, unlike `block_on`, works whether or not the caller is itself on a runtime's thread
//! (`palisade run`, or the policy server's blocking pool), and costs no thread of its own; the future owns what it
//! uses.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The host calls' runtime: two workers are plenty for the registry requests of policies.
fn runtime() -> Result<&'static Runtime, String> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("palisade-host-calls")
        .enable_all()
        .build()
        .map_err(|err| format!("starting the registry client's runtime: {err}"))?;
    Ok(RUNTIME.get_or_init(|| built))
}

/// Runs `future` to completion on the host calls' runtime, waiting for it.
pub(crate) fn run<F>(future: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        // The caller waits for this answer; it cannot have gone.
        let _ = answer.send(future.await);
    });
    // The sender is dropped without sending only if the future panicked.
    answered
        .recv()
        .map_err(|_| "the registry client failed unexpectedly".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_a_future_inside_and_outside_a_runtime() -> Result<(), String> {
        assert_eq!(super::run(async { 2 + 2 })?, 4);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|err| err.to_string())?;
        let inside = runtime.block_on(async { super::run(async { "inside" }) })?;
        assert_eq!(inside, "inside");
        Ok(())
    }

    #[test]
    fn a_future_that_panics_is_an_error_not_a_hang() {
        let failed = super::run(async {
            if true {
                panic!("a bug in the client");
            }
        });
        assert_eq!(
            failed,
            Err("the registry client failed unexpectedly".to_owned())
        );
    }

    #[test]
    fn every_call_shares_one_runtime_and_its_timers_run() -> Result<(), String> {
        let first = super::runtime()?;
        let slept = super::run(async {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            "slept"
        })?;
        assert_eq!(slept, "slept");
        assert!(std::ptr::eq(first, super::runtime()?));
        Ok(())
    }
}
