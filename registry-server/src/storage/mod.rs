//! Where the registry keeps blobs, manifests, tags, referrers and upload sessions.
//!
//! [`Storage`] is what the HTTP layer needs; [`LocalStorage`] implements it on a local folder (one server),
//! [`SharedStorage`] on an object store and PostgreSQL (any number of replicas). Implementations must never make
//! partial or unverified content visible, and must keep every update (tag, link, referrer) atomic.

mod backend;
mod body;
pub mod catalog;
mod collection;
mod copy;
mod fsutil;
mod local;
mod open;
mod shared;
mod whole;

pub use backend::{BlobContent, ByteStream, Storage, StoredManifest, Upload};
pub use collection::{GcOptions, GcReport};
pub use copy::{CopyReport, copy_all};
pub use local::LocalStorage;
pub use open::{OpenedStorage, StorageKind};
pub use shared::{SharedStorage, SharedStorageOptions};
pub use whole::{WholeBlob, read_whole};
