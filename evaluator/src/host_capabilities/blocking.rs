//! Runs the async registry client from a host call, which comes from a blocking thread (the
//! policy runs synchronously inside wasmtime).

use std::future::Future;

/// Runs `future` to completion on a fresh single-threaded runtime in a thread of its own, so
/// that it works whether or not the caller is inside a tokio runtime, and no runtime outlives it.
pub(crate) fn run<F>(future: F) -> Result<F::Output, String>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|err| format!("starting the registry client's runtime: {err}"))?;
                Ok(runtime.block_on(future))
            })
            .join()
            .map_err(|_| "the registry client failed unexpectedly".to_owned())?
    })
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
}
