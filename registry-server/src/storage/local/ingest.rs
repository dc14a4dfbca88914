//! Streaming a request body to a file, hashing each chunk once on the way.
//!
//! The request task only receives: each chunk goes, without being copied, through short queues to one blocking
//! thread that hashes and another that writes, so receiving, hashing and writing overlap on separate cores (hashing
//! and copying into the page cache are what an upload spends its time on).

use std::io::{IoSlice, Write};
use std::path::Path;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::errors::Result;
use crate::storage::backend::Upload;
use crate::storage::body::CheckedBody;
use crate::storage::fsutil::Fs;
use artifact::oci::Hasher;

/// Bytes gathered before a write: enough that a fast client is not slowed by one system call per network chunk.
const BUFFER: usize = 1 << 20;

/// Chunks in flight between the request and the writer: enough to keep both busy, few enough to bound memory.
const QUEUE: usize = 32;

/// Appends `upload` to `file`, feeding every chunk to `hasher`, and returns the number of bytes written.
///
/// `start` is the file's current length. Fails when the body breaks off, when its length differs from the declared
/// one, or when the blob would grow past `limit` bytes; the caller then rolls the file and the hasher back.
pub async fn append(
    fs: &Fs,
    path: &Path,
    file: tokio::fs::File,
    hasher: &mut Hasher,
    upload: Upload,
    start: u64,
    limit: u64,
) -> Result<u64> {
    let (to_writer, writer_queue) = mpsc::channel::<Bytes>(QUEUE);
    let (to_hasher, hasher_queue) = mpsc::channel::<Bytes>(QUEUE);
    let file = file.into_std().await;
    let writer = tokio::task::spawn_blocking(move || write_all(file, writer_queue));
    let hashing = tokio::task::spawn_blocking({
        let hasher = hasher.clone();
        move || hash_all(hasher, hasher_queue)
    });
    let received = receive(upload, start, limit, to_writer, to_hasher).await;
    let joined = |e: tokio::task::JoinError| fs.err("writing", path, std::io::Error::other(e));
    let written = writer.await.map_err(joined)?;
    let hashed = hashing.await.map_err(joined)?;
    let written = written.map_err(|e| fs.err("writing", path, e))?;
    let received = received?;
    debug_assert_eq!(written, received);
    *hasher = hashed;
    Ok(written)
}

/// Receives the body, checked as it arrives, and hands each chunk to the hasher and the writer; returns the bytes
/// received.
async fn receive(
    upload: Upload,
    start: u64,
    limit: u64,
    to_writer: mpsc::Sender<Bytes>,
    to_hasher: mpsc::Sender<Bytes>,
) -> Result<u64> {
    let mut body = CheckedBody::new(upload, start, limit);
    let mut received: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        received += chunk.len() as u64;
        let hashed = to_hasher.send(chunk.clone()).await;
        if to_writer.send(chunk).await.is_err() || hashed.is_err() {
            // The writer failed; its error is the one to report.
            return Ok(received);
        }
    }
    Ok(received)
}

/// Feeds every queued chunk to `hasher`.
fn hash_all(mut hasher: Hasher, mut queue: mpsc::Receiver<Bytes>) -> Hasher {
    while let Some(chunk) = queue.blocking_recv() {
        hasher.update(&chunk);
    }
    hasher
}

/// Writes every queued chunk to `file`; returns the bytes written.
///
/// Chunks are written in batches of about [`BUFFER`] bytes with one vectored write, without copying them.
fn write_all(mut file: std::fs::File, mut queue: mpsc::Receiver<Bytes>) -> std::io::Result<u64> {
    let mut batch: Vec<Bytes> = Vec::new();
    let mut batched = 0;
    let mut written: u64 = 0;
    loop {
        let next = queue.blocking_recv();
        let done = next.is_none();
        if let Some(chunk) = next {
            batched += chunk.len();
            batch.push(chunk);
        }
        if batched >= BUFFER || batch.len() >= MAX_SLICES || (done && !batch.is_empty()) {
            write_batch(&mut file, &batch)?;
            written += batched as u64;
            batch.clear();
            batched = 0;
        }
        if done {
            return Ok(written);
        }
    }
}

/// Most slices passed to one vectored write (Linux accepts 1024).
const MAX_SLICES: usize = 512;

fn write_batch(file: &mut std::fs::File, batch: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|chunk| IoSlice::new(chunk)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = file.write_vectored(rest)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
}
