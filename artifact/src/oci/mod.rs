//! OCI formats shared by the client and the bundled registry: content digests and media types.

mod digest;
mod hashing;
pub mod manifest;
pub mod media_types;
pub mod names;
pub mod policy;

pub use digest::{Algorithm, Digest};
pub use hashing::Hasher;
