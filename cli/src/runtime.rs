//! The process's one tokio runtime, built on first use: every command's async work (registry calls, both
//! servers) runs on it, however many steps a command takes.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The runtime (multi-threaded, with I/O and timers).
pub fn get() -> anyhow::Result<&'static Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| built))
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_runtime_for_the_process() -> anyhow::Result<()> {
        let first = super::get()?;
        let second = super::get()?;
        assert!(std::ptr::eq(first, second));
        assert_eq!(first.block_on(async { 2 + 2 }), 4);
        Ok(())
    }
}
