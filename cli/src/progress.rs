//! Progress on a terminal, silence in pipes: a spinner naming what a command does and, for each blob it
//! transfers, a bar in bytes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::remote::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What a command shows while it works, on standard error, only when that is a terminal (and, for
/// commands that print `--output json` or `yaml`, only in text mode).
pub struct Activity {
    multi: MultiProgress,
    transfer: Mutex<Option<ProgressBar>>,
}

impl Activity {
    /// Shows progress if `visible` and standard error is a terminal.
    pub fn new(visible: bool) -> Arc<Activity> {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Arc::new(Activity {
            multi: MultiProgress::with_draw_target(target),
            transfer: Mutex::new(None),
        })
    }

    /// Runs `future` to completion on the process's runtime, with a spinner showing `message`.
    pub fn run<T>(&self, message: String, future: impl Future<Output = T>) -> anyhow::Result<T> {
        let runtime = crate::runtime::get()?;
        let spinner = self.multi.add(ProgressBar::no_length());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            spinner.set_style(style);
        }
        spinner.set_message(message);
        spinner.enable_steady_tick(Duration::from_millis(120));
        let result = runtime.block_on(future);
        spinner.finish_and_clear();
        self.end();
        Ok(result)
    }
}

impl Progress for Activity {
    fn begin(&self, what: &str, total: u64) {
        let bar = self.multi.add(ProgressBar::new(total));
        if let Ok(style) = ProgressStyle::with_template(
            "  {msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        if let Ok(mut transfer) = self.transfer.lock()
            && let Some(previous) = transfer.replace(bar)
        {
            previous.finish_and_clear();
        }
    }

    fn at(&self, done: u64) {
        if let Ok(transfer) = self.transfer.lock()
            && let Some(bar) = transfer.as_ref()
        {
            bar.set_position(done);
        }
    }

    fn end(&self) {
        if let Ok(mut transfer) = self.transfer.lock()
            && let Some(bar) = transfer.take()
        {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

/// Runs `future` to completion on the process's runtime, with a spinner showing `message`.
pub fn block_on<T>(message: String, future: impl Future<Output = T>) -> anyhow::Result<T> {
    Activity::new(true).run(message, future)
}
