//! Streaming to and from the object store: content is written as one object (one request when small, a multipart
//! upload when large, never held whole in memory) and read back as a stream.

use artifact::oci::Hasher;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::errors::Result;
use crate::storage::backend::ByteStream;
use crate::storage::body::CheckedBody;

/// Below this, content is buffered and written in one request; above, it goes up in parts of this size (S3's
/// smallest part is 5 MiB).
const PART: usize = 8 << 20;

/// Parts being uploaded at once.
const PARTS_IN_FLIGHT: usize = 4;

/// One object being written. Nothing is visible at its key until [`ObjectWriter::finish`]; dropping it or calling
/// [`ObjectWriter::abort`] leaves nothing behind.
pub struct ObjectWriter<'a> {
    objects: &'a dyn ObjectStore,
    key: Path,
    buffered: Vec<u8>,
    multipart: Option<WriteMultipart>,
    written: u64,
}

impl<'a> ObjectWriter<'a> {
    /// A writer of the object at `key`.
    pub fn new(objects: &'a dyn ObjectStore, key: Path) -> ObjectWriter<'a> {
        ObjectWriter {
            objects,
            key,
            buffered: Vec::new(),
            multipart: None,
            written: 0,
        }
    }

    /// Appends `chunk`.
    pub async fn put(&mut self, chunk: Bytes) -> Result<()> {
        self.written += chunk.len() as u64;
        if let Some(multipart) = &mut self.multipart {
            multipart.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            multipart.put(chunk);
            return Ok(());
        }
        self.buffered.extend_from_slice(&chunk);
        if self.buffered.len() >= PART {
            let mut multipart = WriteMultipart::new_with_chunk_size(
                self.objects.put_multipart(&self.key).await?,
                PART,
            );
            multipart.put(Bytes::from(std::mem::take(&mut self.buffered)));
            self.multipart = Some(multipart);
        }
        Ok(())
    }

    /// Makes the object visible; returns its size.
    pub async fn finish(self) -> Result<u64> {
        match self.multipart {
            Some(multipart) => {
                multipart.finish().await?;
            }
            None => {
                self.objects
                    .put(&self.key, PutPayload::from(self.buffered))
                    .await?;
            }
        }
        Ok(self.written)
    }

    /// Gives up, removing the parts already sent.
    pub async fn abort(self) {
        if let Some(multipart) = self.multipart {
            let _ = multipart.abort().await;
        }
    }
}

/// Writes a request body to `key`, feeding every byte to `hasher`; returns its size. On error nothing is left.
pub async fn write_body(
    objects: &dyn ObjectStore,
    key: Path,
    body: &mut CheckedBody,
    hasher: &mut Hasher,
) -> Result<u64> {
    let mut writer = ObjectWriter::new(objects, key);
    let sent = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            writer.put(chunk).await?;
        }
        Ok(())
    }
    .await;
    match sent {
        Ok(()) => writer.finish().await,
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

/// Streams bytes `start..end` of the object at `key`.
pub async fn read(
    objects: &dyn ObjectStore,
    key: &Path,
    start: u64,
    end: u64,
) -> Result<ByteStream> {
    if start >= end {
        return Ok(futures_util::stream::empty().boxed());
    }
    let options = GetOptions {
        range: Some(GetRange::Bounded(start..end)),
        ..GetOptions::default()
    };
    let stream = objects.get_opts(key, options).await?.into_stream();
    Ok(stream
        .map(|chunk| chunk.map_err(std::io::Error::other))
        .boxed())
}

/// Deletes the object at `key`, if there is one.
pub async fn delete(objects: &dyn ObjectStore, key: &Path) -> Result<()> {
    match objects.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
