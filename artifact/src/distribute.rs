//! Push and pull as users run them: a module file to a registry, a registry policy into the local store.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::{ArtifactError, Result};
use crate::files;
use crate::oci::Digest;
use crate::oci::policy::{PolicyArtifact, policy_layer};
use crate::reference::{DEFAULT_TAG, RegistryRef};
use crate::remote::Remote;
use crate::store::Store;
use crate::wasm::{self, SectionMap};

/// The outcome of a push.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The target, pinned to the manifest digest pushed.
    pub reference: RegistryRef,
}

/// Pushes the module at `module` to `target`. A module without policy metadata is refused unless `force`:
/// a policy without metadata cannot be inspected, audited or run with the right mode.
pub async fn push(
    remote: &Remote,
    module: &Path,
    target: &RegistryRef,
    force: bool,
) -> Result<Pushed> {
    let bytes = files::read(module)?;
    let map = SectionMap::scan(&bytes).map_err(|err| err.in_file(module))?;
    let metadata = wasm::read_metadata(&map).map_err(|err| err.in_file(module))?;
    if metadata.is_none() && !force {
        return Err(ArtifactError::NoMetadata.in_file(module));
    }
    let created = created_timestamp()?;
    let artifact = PolicyArtifact::build(bytes, metadata.as_ref(), Some(&created))?;
    let digest = remote.push(&artifact, target).await?;
    Ok(Pushed {
        reference: target.with_digest(digest),
    })
}

/// The creation time for manifests: `$SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn created_timestamp() -> Result<String> {
    let time = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => {
            let seconds: u64 = epoch.trim().parse().map_err(|_| {
                ArtifactError::InvalidEnvironment(format!(
                    "SOURCE_DATE_EPOCH={epoch:?} is not a number of seconds since 1970"
                ))
            })?;
            SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
        }
        Err(_) => SystemTime::now(),
    };
    Ok(humantime::format_rfc3339_seconds(time).to_string())
}

/// What to pull, and where to put the module.
#[derive(Debug, Clone, Copy)]
pub struct PullRequest<'a> {
    /// The policy.
    pub source: &'a RegistryRef,
    /// Ask the registry even when the store has the policy.
    pub refresh: bool,
    /// Also write the module to this file.
    pub output: Option<&'a Path>,
}

/// The outcome of a pull.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The policy, pinned to its manifest digest.
    pub reference: RegistryRef,
    /// The digest of the module layer.
    pub module_digest: Digest,
    /// The module's size in bytes.
    pub size: u64,
    /// Whether the store already had it (no registry was asked).
    pub from_store: bool,
}

/// Pulls a policy into the store (and to `output`). A policy pinned by digest, or by a tag other than
/// `latest`, is served from the store when it is there, unless `refresh`; `latest` always asks the
/// registry, since it is meant to move.
pub async fn pull(remote: &Remote, store: &Store, request: PullRequest<'_>) -> Result<Pulled> {
    let key = request.source.to_string();
    let movable =
        request.source.digest.is_none() && request.source.tag.as_deref() == Some(DEFAULT_TAG);
    let cached = match store.resolve(&key)? {
        Some(digest) if !request.refresh && !movable => Some(digest),
        _ => None,
    };
    let (reference, from_store) = match cached {
        Some(digest) => (request.source.with_digest(digest), true),
        None => {
            let pulled = remote.pull(request.source).await?;
            store.import(&key, &pulled.digest(), &pulled.blobs())?;
            (pulled.reference.clone(), false)
        }
    };
    let manifest_digest = reference
        .digest
        .clone()
        .ok_or_else(|| ArtifactError::NotFound { what: key.clone() })?;
    let manifest = store.manifest(&manifest_digest)?;
    let layer = policy_layer(&manifest)?;
    if let Some(output) = request.output {
        let module = store.blob(&layer.digest)?;
        files::write_atomic(output, |out| out.write_all(&module))?;
    }
    Ok(Pulled {
        module_digest: layer.digest.clone(),
        size: layer.size,
        reference,
        from_store,
    })
}
