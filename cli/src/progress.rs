//! Progress on a terminal, silence in pipes.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner with `message` on standard error; hidden when standard error is not a terminal.
pub fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Runs `future` to completion on a fresh runtime, with a spinner showing `message`.
pub fn block_on<T>(message: String, future: impl Future<Output = T>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let bar = spinner(message);
    let result = runtime.block_on(future);
    bar.finish_and_clear();
    Ok(result)
}
