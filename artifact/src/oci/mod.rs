//! OCI formats shared by the client and the bundled registry: content digests and media types.

mod digest;
pub mod media_types;
pub mod names;

pub use digest::{Algorithm, Digest};
