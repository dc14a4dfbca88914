//! Policy distribution: everything that moves a policy between machines. The formats it moves are `artifact`'s;
//! this crate is the only one that talks to registries, so the registry server never builds it.
//!
//! - [`remote`]: push and pull with registries (credentials, sources, transports, retries);
//! - [`store`]: the local content-addressed store of pulled policies, and the archives that carry them
//!   across an air gap (palisade's and kwctl's);
//! - [`layout`]: OCI image layout folders, on [`blobs`], the digest-named blob folder they share with the store;
//! - [`distribute`]: push a module, pull a policy into the store, save policies to an archive.

pub mod blobs;
pub mod distribute;
pub mod error;
pub mod layout;
pub mod remote;
pub mod store;

pub use error::{ClientError, Result};
