//! What WASI (preview 1) shows a policy: nothing of the host. No preopened folders (every path
//! call fails), no environment variables, no sockets, argv the program name (followed by the
//! operation in the `wasi` execution mode); clocks and random are the host's own. The `wasi`
//! execution mode and the waPC host (whose TinyGo and Rust guests import WASI beside waPC)
//! both build their context here.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// `argv[0]` of every policy.
pub(crate) const PROGRAM_NAME: &str = "policy";

/// How much a stream of [`PolicyLog`] takes at once (it is always ready for more).
const WRITE_PERMIT: usize = 64 * 1024;

/// A context builder with nothing of the host in it and argv `[PROGRAM_NAME, args…]`. Stdin is
/// empty and stdout/stderr are discarded unless the caller sets them.
pub(crate) fn sandbox(args: &[&str]) -> WasiCtxBuilder {
    let mut builder = WasiCtxBuilder::new();
    builder
        .arg(PROGRAM_NAME)
        .args(args)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    builder
}

/// A guest's stdout or stderr written to the policy log (tracing target `palisade::policy`, one
/// event per line, field `stream`), at most `cap` bytes per evaluation: the rest is dropped and
/// the cut noted once. Clones share the stream; a last partial line is logged when the last
/// clone goes (with the store).
#[derive(Clone)]
pub(crate) struct PolicyLog(Arc<Mutex<LogLines>>);

struct LogLines {
    stream: &'static str,
    cap: usize,
    remaining: usize,
    partial: Vec<u8>,
}

impl PolicyLog {
    /// A log for the stream named `stream` (`stdout`, `stderr`) taking at most `cap` bytes.
    pub(crate) fn new(stream: &'static str, cap: usize) -> PolicyLog {
        PolicyLog(Arc::new(Mutex::new(LogLines {
            stream,
            cap,
            remaining: cap,
            partial: Vec::new(),
        })))
    }

    fn append(&self, bytes: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(bytes);
    }
}

impl LogLines {
    fn append(&mut self, bytes: &[u8]) {
        if self.remaining == 0 {
            return;
        }
        let kept = bytes.len().min(self.remaining);
        self.remaining -= kept;
        self.partial.extend_from_slice(&bytes[..kept]);
        while let Some(end) = self.partial.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.emit(&line);
        }
        if kept < bytes.len() {
            self.flush();
            tracing::warn!(
                target: crate::policy_log::POLICY_LOG_TARGET,
                stream = self.stream,
                "policy output cut: more than {} bytes on {}",
                self.cap,
                self.stream
            );
        }
    }

    fn flush(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.emit(&line);
        }
    }

    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        tracing::info!(target: crate::policy_log::POLICY_LOG_TARGET, stream = self.stream, "{}", text.trim_end());
    }
}

impl Drop for LogLines {
    fn drop(&mut self) {
        self.flush();
    }
}

impl IsTerminal for PolicyLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PolicyLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for PolicyLog {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for PolicyLog {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for PolicyLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
