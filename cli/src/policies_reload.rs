//! What makes `palisade policy-server` reload its `policies.yml`: SIGHUP, and (unless `--no-watch-policies`)
//! a change of the file's content.
//!
//! The file's folder is watched, not the file: Kubernetes updates a mounted ConfigMap by swapping the
//! folder's `..data` symlink, which changes no file the policies path names. Events are debounced (an editor
//! or a ConfigMap swap makes several), then the file is read and reloaded only when its content hash
//! changed; SIGHUP reloads whatever the hash (tags are resolved again). A file that no longer reads or parses
//! is a failed reload, recorded like any other: the live generation keeps serving. The server logs each
//! reload's report or failure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use artifact::oci::Digest;
use evaluator::EvaluatorError;
use evaluator::server::{PoliciesFile, ServerState};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// How long the folder must stay quiet after a change before the file is read.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The reload triggers of a server, set up before it serves.
pub struct ReloadTriggers {
    path: PathBuf,
    hangup: tokio::signal::unix::Signal,
    changes: mpsc::UnboundedReceiver<()>,
    /// Kept alive while the triggers are: dropping it stops the watch.
    _watcher: Option<notify::RecommendedWatcher>,
}

impl ReloadTriggers {
    /// Listens for SIGHUP and, when `watch`, for changes in the folder of `path`.
    pub fn new(path: &Path, watch: bool) -> anyhow::Result<ReloadTriggers> {
        let hangup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
        let (sender, changes) = mpsc::unbounded_channel();
        let watcher = if watch {
            Some(watch_folder(path, sender)?)
        } else {
            None
        };
        Ok(ReloadTriggers {
            path: path.to_path_buf(),
            hangup,
            changes,
            _watcher: watcher,
        })
    }

    /// Reloads `state` on each trigger, one reload at a time, until the triggers end; `served` is the digest
    /// of the text the live generation was read from.
    pub async fn run(mut self, state: Arc<ServerState>, served: Option<Digest>) {
        let mut last = served;
        loop {
            let forced = tokio::select! {
                Some(()) = self.hangup.recv() => {
                    tracing::info!(policies = %self.path.display(), "SIGHUP: reloading the policies");
                    true
                }
                Some(()) = self.changes.recv() => {
                    while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, self.changes.recv()).await {}
                    false
                }
                else => return,
            };
            reload(&state, &self.path, forced, &mut last).await;
        }
    }
}

/// Reads and parses the file and reloads `state` with it, unless the trigger was a change and the content is
/// the one last tried (`last`, updated).
async fn reload(state: &ServerState, path: &Path, forced: bool, last: &mut Option<Digest>) {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(source) => {
            // Whatever comes back next is read again, even the same content.
            *last = None;
            let cause = EvaluatorError::Io {
                path: path.to_path_buf(),
                source,
            };
            state.refuse_reload(&cause);
            return;
        }
    };
    let digest = Digest::sha256_of(&text);
    if !forced && last.as_ref() == Some(&digest) {
        return;
    }
    *last = Some(digest);
    let parsed = String::from_utf8(text)
        .map_err(|err| EvaluatorError::Config(format!("policies file: {err}")))
        .and_then(|text| PoliciesFile::from_yaml(&text));
    match parsed {
        Ok(file) => {
            // The server logs the report, or each policy that failed and why.
            let _ = state.reload(&file).await;
        }
        Err(err) => {
            state.refuse_reload(&err);
        }
    }
}

/// Watches the folder of `path` (not recursively), sending one message per event that may change it (reads
/// are not: the server's own read of the file would trigger another).
fn watch_folder(
    path: &Path,
    changes: mpsc::UnboundedSender<()>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = match event {
            Ok(event) => !matches!(event.kind, EventKind::Access(_)),
            // A watch error (an overflowed queue) may hide a change: read the file again.
            Err(_) => true,
        };
        if relevant {
            let _ = changes.send(());
        }
    })
    .context("watching the policies file")?;
    watcher
        .watch(folder, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {} for changes", folder.display()))?;
    Ok(watcher)
}
