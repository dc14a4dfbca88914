//! Where things live in the object store, under the configured prefix: `blobs/<algorithm>/<hex>` (verified
//! content, shared by every repository) and `uploads/<session>/…` (the chunks of an upload in progress, and the
//! blob assembled from them before it is verified and copied into place).

use artifact::oci::Digest;
use object_store::path::Path;
use uuid::Uuid;

/// The object keys of one registry.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: Path,
}

impl Keys {
    /// Keys under `prefix` (empty: the bucket's root).
    pub fn new(prefix: Path) -> Keys {
        Keys { prefix }
    }

    /// A blob's verified content.
    pub fn blob(&self, digest: &Digest) -> Path {
        self.prefix
            .clone()
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// An object that is never written: readiness asks for it to learn that the store answers.
    pub fn never_written(&self) -> Path {
        self.prefix.clone().join("readyz")
    }

    /// Every object of upload sessions.
    pub fn uploads(&self) -> Path {
        self.prefix.clone().join("uploads")
    }

    /// Every object of upload session `id`.
    pub fn upload(&self, id: &Uuid) -> Path {
        self.uploads().join(id.simple().to_string())
    }

    /// A new object for the chunk of session `id` that starts at byte `start` (a fresh name each time, so that two
    /// replicas racing for the same offset never write one object).
    pub fn chunk(&self, id: &Uuid, start: u64) -> Path {
        self.upload(id)
            .join(format!("{start:020}-{}", Uuid::new_v4().simple()))
    }

    /// The whole blob of session `id`, assembled from its chunks.
    pub fn assembled(&self, id: &Uuid) -> Path {
        self.upload(id).join("assembled")
    }

    /// The session an object under [`Keys::uploads`] belongs to.
    pub fn session_of(&self, key: &Path) -> Option<Uuid> {
        let uploads = self.uploads();
        let mut rest = key.prefix_match(&uploads)?;
        rest.next()
            .and_then(|part| Uuid::try_parse(part.as_ref()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sit_under_the_prefix_and_name_their_session() {
        let keys = Keys::new(Path::from("team/registry"));
        let digest = Digest::sha256_of(b"x");
        assert_eq!(
            keys.blob(&digest).as_ref(),
            format!("team/registry/blobs/sha256/{}", digest.hex())
        );
        let id = Uuid::new_v4();
        let chunk = keys.chunk(&id, 42);
        assert!(chunk.as_ref().starts_with(keys.upload(&id).as_ref()));
        assert_eq!(keys.session_of(&chunk), Some(id));
        assert_eq!(keys.session_of(&keys.blob(&digest)), None);
    }
}
