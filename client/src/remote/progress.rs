//! How far blob transfers have come, reported to whoever shows it (the CLI draws bars; the library never
//! prints).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;

/// The size of the pieces a body is sent in, so that progress moves while a request is on the wire.
const PIECE: usize = 64 * 1024;

/// Receives the progress of blob transfers, one at a time: `begin`, any number of `at`, then `end`.
pub trait Progress: Send + Sync {
    /// A transfer of `total` bytes starts; `what` names it ("pushing sha256:0123456789ab").
    fn begin(&self, what: &str, total: u64);
    /// `done` bytes of the current transfer have gone through (it may go back when an upload resumes).
    fn at(&self, done: u64);
    /// The current transfer is over, done or failed.
    fn end(&self);
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _what: &str, _total: u64) {}
    fn at(&self, _done: u64) {}
    fn end(&self) {}
}

/// Ends the transfer when dropped, so that a failure or an early return never leaves a bar behind.
pub(super) struct Transfer<'a> {
    progress: &'a dyn Progress,
}

impl<'a> Transfer<'a> {
    /// Begins a transfer of `total` bytes.
    pub(super) fn begin(progress: &'a dyn Progress, what: &str, total: u64) -> Transfer<'a> {
        progress.begin(what, total);
        Transfer { progress }
    }
}

impl Drop for Transfer<'_> {
    fn drop(&mut self) {
        self.progress.end();
    }
}

/// `bytes` as a request body stream of small pieces, reporting `start` plus what has been handed to the
/// connection so far.
pub(super) fn reporting_stream<E>(
    progress: Arc<dyn Progress>,
    bytes: Bytes,
    start: u64,
) -> impl Stream<Item = Result<Bytes, E>> + Send + 'static {
    let pieces: Vec<Bytes> = (0..bytes.len())
        .step_by(PIECE)
        .map(|offset| bytes.slice(offset..bytes.len().min(offset + PIECE)))
        .collect();
    let mut sent = start;
    futures_util::stream::iter(pieces.into_iter().map(move |piece| {
        sent += piece.len() as u64;
        progress.at(sent);
        Ok(piece)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<u64>>);

    impl Progress for Recorded {
        fn begin(&self, _what: &str, _total: u64) {}
        fn at(&self, done: u64) {
            self.0.lock().unwrap().push(done);
        }
        fn end(&self) {}
    }

    #[tokio::test]
    async fn a_stream_reports_every_piece_from_its_start() {
        let recorded = Arc::new(Recorded::default());
        let bytes = Bytes::from(vec![7u8; PIECE * 2 + 10]);
        let pieces: Vec<Result<Bytes, ()>> = reporting_stream(recorded.clone(), bytes.clone(), 100)
            .collect()
            .await;
        let joined: Vec<u8> = pieces
            .into_iter()
            .flat_map(|p| p.unwrap().to_vec())
            .collect();
        assert_eq!(joined, bytes);
        let start = 100;
        assert_eq!(
            *recorded.0.lock().unwrap(),
            [
                start + PIECE as u64,
                start + 2 * PIECE as u64,
                start + 2 * PIECE as u64 + 10
            ]
        );
    }
}
