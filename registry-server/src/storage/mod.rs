//! Where the registry keeps blobs, manifests, tags, referrers and upload sessions.
//!
//! [`Storage`] is what the HTTP layer needs; [`LocalStorage`] implements it on a local folder. Implementations must
//! never make partial or unverified content visible, and must keep every update (tag, link, referrer) atomic.

mod backend;
mod fsutil;
mod local;

pub use backend::{BlobContent, ByteStream, Storage, StoredManifest, Upload};
pub use local::{GcOptions, GcReport, LocalStorage};
