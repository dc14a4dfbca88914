//! Streaming a request body to a file, hashing each chunk once on the way.

use std::path::Path;

use futures_util::StreamExt;
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::errors::{RegistryError, Result};
use crate::hashing::Hasher;
use crate::storage::Upload;
use crate::storage::fsutil::Fs;

/// Write buffer size: large enough that a fast client is not slowed by one system call per network chunk.
const BUFFER: usize = 1 << 20;

/// Appends `upload` to `file`, feeding every chunk to `hasher`, and returns the number of bytes written.
///
/// `start` is the file's current length. Fails when the body breaks off, when its length differs from the declared
/// one, or when the blob would grow past `limit` bytes; the caller then rolls the file and the hasher back.
pub async fn append(
    fs: &Fs,
    path: &Path,
    file: tokio::fs::File,
    hasher: &mut Hasher,
    mut upload: Upload,
    start: u64,
    limit: u64,
) -> Result<u64> {
    let mut writer = BufWriter::with_capacity(BUFFER, file);
    let mut written: u64 = 0;
    while let Some(chunk) = upload.body.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::BlobUploadInvalid(format!(
                "the request body broke off after {written} bytes: {e}"
            ))
        })?;
        written += chunk.len() as u64;
        if let Some(declared) = upload.declared_len
            && written > declared
        {
            return Err(RegistryError::SizeInvalid(format!(
                "the body is longer than the {declared} bytes its headers declare"
            )));
        }
        if start + written > limit {
            return Err(RegistryError::TooLarge {
                what: "the blob",
                limit,
            });
        }
        hasher.update(&chunk);
        writer
            .write_all(&chunk)
            .await
            .map_err(|e| fs.err("writing", path, e))?;
    }
    if let Some(declared) = upload.declared_len
        && written < declared
    {
        return Err(RegistryError::SizeInvalid(format!(
            "the body has {written} bytes, its headers declare {declared}"
        )));
    }
    writer
        .flush()
        .await
        .map_err(|e| fs.err("writing", path, e))?;
    Ok(written)
}
