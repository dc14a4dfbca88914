//! Push and pull as users run them: a module file to a registry, a registry policy into the local store,
//! policies into an archive (`palisade load` is [`crate::store::archive::load`]).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::Result;
use crate::layout::Layout;
use crate::remote::{Attachments, Remote};
use crate::store::Store;
use crate::store::archive::{self, ArchiveFormat, ArchivedPolicy, SaveOptions};
use artifact::ArtifactError;
use artifact::files;
use artifact::oci::Digest;
use artifact::oci::policy::PolicyArtifact;
use artifact::reference::{DEFAULT_TAG, LayoutRef, PolicyRef, RegistryRef};
use artifact::wasm::{self, SectionMap};

/// What to push: a module file, or a policy already packaged in an OCI image layout.
#[derive(Debug, Clone)]
pub enum PushSource {
    /// A Wasm module file, packaged on the way.
    Module(PathBuf),
    /// A policy in a layout folder (after `palisade save` and an air gap), pushed byte for byte so
    /// that its digest, and the signatures made on it, stay valid.
    Layout(LayoutRef),
}

/// The outcome of a push: the immutable reference (`…@sha256:…`), in the destination's syntax.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The destination, pinned to the manifest digest.
    pub immutable_ref: String,
    /// The manifest digest.
    pub digest: Digest,
}

/// Pushes `source` to `target` (a registry or a layout folder); a module is packaged with `created` as its
/// creation time (`SOURCE_DATE_EPOCH` for reproducible pushes). A module without policy metadata is refused
/// unless `force`: a policy without metadata cannot be inspected, audited or run right.
pub async fn push(
    remote: &Remote,
    source: &PushSource,
    target: &PolicyRef,
    force: bool,
    created: SystemTime,
) -> Result<Pushed> {
    let artifact = match source {
        PushSource::Module(module) => package(module, force, created)?,
        PushSource::Layout(layout) => Layout::open(&layout.folder)?.policy(&layout.name)?,
    };
    let digest = artifact.digest();
    let immutable_ref = match target {
        PolicyRef::Registry(registry) => {
            remote.push(&artifact, registry).await?;
            registry.with_digest(digest.clone()).to_string()
        }
        PolicyRef::Layout(layout) => {
            Layout::create(&layout.folder)?.add(&layout.name, &artifact)?;
            format!("{target}@{digest}")
        }
        PolicyRef::File(_) => {
            return Err(ArtifactError::InvalidReference {
                reference: target.to_string(),
                reason: "a policy is pushed to a registry or to an OCI image layout \
                         (oci-layout://FOLDER:NAME), not to a file"
                    .into(),
            }
            .into());
        }
    };
    Ok(Pushed {
        immutable_ref,
        digest,
    })
}

/// The artifact of a module file.
fn package(module: &Path, force: bool, created: SystemTime) -> Result<PolicyArtifact> {
    let bytes = files::read(module)?;
    let map = SectionMap::scan(&bytes).map_err(|err| err.in_file(module))?;
    let metadata = wasm::read_metadata(&map).map_err(|err| err.in_file(module))?;
    if metadata.is_none() && !force {
        return Err(ArtifactError::NoMetadata.in_file(module).into());
    }
    let created = humantime::format_rfc3339_seconds(created).to_string();
    Ok(PolicyArtifact::build(
        bytes,
        metadata.as_ref(),
        Some(&created),
    )?)
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
    /// The policy itself, every piece checked.
    pub artifact: PolicyArtifact,
    /// Whether the store already had it (no registry was asked).
    pub from_store: bool,
}

/// Pulls a policy into the store (and to `output`), recording which signatures its registry holds for it.
/// A policy pinned by digest, or by a tag other than `latest`, is served from the store when it is there,
/// unless `refresh`; `latest` asks the registry, since it is meant to move, unless it was loaded from an
/// archive (which is then what the user chose to have).
pub async fn pull(remote: &Remote, store: &Store, request: PullRequest<'_>) -> Result<Pulled> {
    let key = request.source.to_string();
    let movable =
        request.source.digest.is_none() && request.source.tag.as_deref() == Some(DEFAULT_TAG);
    let loaded = store.loaded(request.source)?;
    let cached = match (store.resolve(&key)?, loaded) {
        (_, Some(digest)) if !request.refresh => Some(digest),
        (Some(digest), _) if !request.refresh && !movable => Some(digest),
        _ => None,
    };
    let (artifact, from_store) = match cached {
        Some(digest) => (store.artifact(&digest)?, true),
        None => {
            let (pulled, imported) =
                download(remote, store, request.source, request.source).await?;
            imported?;
            (pulled, false)
        }
    };
    if let Some(output) = request.output {
        files::write_atomic(output, |out| out.write_all(&artifact.module))?;
    }
    Ok(Pulled {
        reference: request.source.with_digest(artifact.digest()),
        artifact,
        from_store,
    })
}

/// Fetches a policy to run it, downloading it only when the store does not hold it: the policy at `source`
/// whose manifest digest is `digest` (the one its verified signatures name) or, without it, the digest
/// `source` pins, the one an archive loaded it at, or else the one the registry answers to a HEAD request.
/// The store's copy is used unless `refresh`, and only whole and intact: a damaged one is downloaded again
/// (and said so). A download is imported into the store under `source`, with the signatures its registry
/// holds, as `palisade pull` records them; a store that cannot be written costs a warning, not the policy.
/// A policy loaded from an archive is always served from the store, with what the archive carried.
pub async fn fetch(
    remote: &Remote,
    store: &Store,
    source: &RegistryRef,
    digest: Option<&Digest>,
    refresh: bool,
) -> Result<Pulled> {
    let loaded = store.loaded(source)?;
    let digest = match (digest.or(source.digest.as_ref()), &loaded) {
        (Some(digest), _) => digest.clone(),
        (None, Some(digest)) => digest.clone(),
        (None, None) => remote.manifest_digest(source).await?,
    };
    let pinned = source.with_digest(digest.clone());
    let from_archive = loaded.as_ref() == Some(&digest);
    if (from_archive || !refresh) && store.has_blob(&digest) {
        match store.artifact(&digest) {
            Ok(artifact) => {
                tracing::info!(policy = %pinned, store = %store.root().display(), "the store holds the policy: not downloading it");
                return Ok(Pulled {
                    reference: pinned,
                    artifact,
                    from_store: true,
                });
            }
            Err(err) if from_archive => return Err(err),
            Err(err) => {
                tracing::warn!(policy = %pinned, error = %err, "the store's copy of the policy is damaged: downloading it again");
            }
        }
    }
    let (artifact, imported) = download(remote, store, source, &pinned).await?;
    match imported {
        Ok(()) => {
            tracing::info!(policy = %pinned, store = %store.root().display(), "downloaded the policy into the store");
        }
        Err(err) => {
            tracing::warn!(policy = %pinned, error = %err, "cannot keep the policy in the store: it will be downloaded again next time");
        }
    }
    Ok(Pulled {
        reference: pinned,
        artifact,
        from_store: false,
    })
}

/// Pulls `from` with the signatures its registry holds and imports it into the store under `source`. The
/// import's outcome is returned beside the policy: whether a store that cannot be written matters is the
/// caller's choice.
async fn download(
    remote: &Remote,
    store: &Store,
    source: &RegistryRef,
    from: &RegistryRef,
) -> Result<(PolicyArtifact, Result<()>)> {
    let (pulled, signatures) = remote.pull_with_signatures(from).await?;
    let imported = store.import_artifact(&source.to_string(), &pulled, signatures.as_deref());
    Ok((pulled, imported))
}

/// Writes `references` (pulled into the store first where needed) to an archive at `out`, as `options`
/// say; palisade's format carries what is attached to each policy in its repository (read from the
/// store for a policy loaded there from an archive, when `remote` has the store).
pub async fn save(
    remote: &Remote,
    store: &Store,
    references: &[RegistryRef],
    options: SaveOptions<'_>,
    out: &Path,
) -> Result<Vec<Pulled>> {
    let mut policies = Vec::new();
    let mut pulled = Vec::new();
    for reference in references {
        let request = PullRequest {
            source: reference,
            refresh: false,
            output: None,
        };
        let outcome = pull(remote, store, request).await?;
        let attachments = match options.format {
            ArchiveFormat::Palisade => {
                remote
                    .attachments(&outcome.reference, &outcome.artifact.digest())
                    .await?
            }
            ArchiveFormat::Kwctl => Attachments::default(),
        };
        policies.push(ArchivedPolicy {
            reference: reference.clone(),
            artifact: outcome.artifact.clone(),
            attachments,
        });
        pulled.push(outcome);
    }
    archive::save(&policies, options, out)?;
    Ok(pulled)
}
