//! A request body as storage takes it in: chunk by chunk, refusing it as soon as it breaks off, outgrows what its
//! headers declare or the blob size limit, or ends short; and refused whole if its digest is not the one announced.
//! One home for these rules, whatever stores the bytes.

use artifact::oci::Digest;
use bytes::Bytes;
use futures_util::StreamExt;

use super::backend::Upload;
use crate::errors::{RegistryError, Result};

/// The chunks of an upload's body, checked as they arrive.
pub struct CheckedBody {
    upload: Upload,
    /// Where the body starts in the blob (the bytes an upload session already holds).
    start: u64,
    limit: u64,
    received: u64,
    done: bool,
    /// A chunk read ahead by [`CheckedBody::is_empty`], which [`CheckedBody::next`] yields first.
    pending: Option<Bytes>,
}

impl CheckedBody {
    /// The body of `upload`, which continues a blob of `start` bytes that may grow to `limit` bytes.
    pub fn new(upload: Upload, start: u64, limit: u64) -> CheckedBody {
        CheckedBody {
            upload,
            start,
            limit,
            received: 0,
            done: false,
            pending: None,
        }
    }

    /// Whether the body holds no bytes at all (checked as [`CheckedBody::next`] checks it); reads ahead to the first
    /// chunk with bytes, which `next` then yields.
    pub async fn is_empty(&mut self) -> Result<bool> {
        while self.pending.is_none() {
            match self.next().await {
                None => return Ok(true),
                Some(chunk) => self.pending = Some(chunk?).filter(|chunk| !chunk.is_empty()),
            }
        }
        Ok(false)
    }

    /// The next chunk; `None` once the whole body, as long as declared, has arrived.
    pub async fn next(&mut self) -> Option<Result<Bytes>> {
        if let Some(chunk) = self.pending.take() {
            return Some(Ok(chunk));
        }
        if self.done {
            return None;
        }
        let Some(chunk) = self.upload.body.next().await else {
            self.done = true;
            return match self.upload.declared_len {
                Some(declared) if self.received < declared => {
                    Some(Err(RegistryError::SizeInvalid(format!(
                        "the body has {} bytes, its headers declare {declared}",
                        self.received
                    ))))
                }
                _ => None,
            };
        };
        let checked = self.check(chunk);
        if checked.is_err() {
            self.done = true;
        }
        Some(checked)
    }

    fn check(&mut self, chunk: std::io::Result<Bytes>) -> Result<Bytes> {
        let chunk = chunk.map_err(|e| {
            RegistryError::BlobUploadInvalid(format!(
                "the request body broke off after {} bytes: {e}",
                self.received
            ))
        })?;
        self.received += chunk.len() as u64;
        if let Some(declared) = self.upload.declared_len
            && self.received > declared
        {
            return Err(RegistryError::SizeInvalid(format!(
                "the body is longer than the {declared} bytes its headers declare"
            )));
        }
        if self.start + self.received > self.limit {
            return Err(RegistryError::TooLarge {
                what: "the blob",
                limit: self.limit,
            });
        }
        Ok(chunk)
    }
}

/// Refuses content whose digest is not the one announced.
pub fn check_digest(actual: &Digest, expected: &Digest) -> Result<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(RegistryError::DigestInvalid(format!(
            "the uploaded content has digest {actual}, not {expected}: nothing was stored"
        )))
    }
}
