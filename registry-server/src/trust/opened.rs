//! The trust operations on a storage opened from a configuration (what `palisade registry pending` and `reverify`
//! work on), whichever storage it is.

use super::reverify::{Reverified, reverify};
use super::rules::TrustPolicy;
use super::waiting::{Waiting, waiting};
use crate::errors::Result;
use crate::storage::OpenedStorage;

/// Every waiting tag of `storage` (see [`waiting`]).
pub async fn waiting_in(storage: &OpenedStorage, policy: &TrustPolicy) -> Result<Vec<Waiting>> {
    match storage {
        OpenedStorage::Folder(storage) => waiting(storage, policy, |_| true).await,
        OpenedStorage::Shared(storage) => waiting(storage, policy, |_| true).await,
    }
}

/// Checks every tag of `storage` again (see [`reverify`]).
pub async fn reverify_in(storage: &OpenedStorage, policy: &TrustPolicy) -> Result<Reverified> {
    match storage {
        OpenedStorage::Folder(storage) => reverify(storage, policy).await,
        OpenedStorage::Shared(storage) => reverify(storage, policy).await,
    }
}
