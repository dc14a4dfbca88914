//! The signatures the storage holds for a manifest, gathered as `palisade verify` gathers them from a registry:
//! the layers of cosign's `.sig` image and the Sigstore bundles attached as referrers, then held to the repository
//! (a signature naming another repository was copied here: a replay).

use artifact::cosign::signature_tag;
use artifact::oci::Digest;
use artifact::oci::manifest::ImageManifest;
use signing::bundle::{bundle_layer, is_bundle_referrer};
use signing::simple_signing::signature_layers;
use signing::verify::Evidence;

use crate::errors::Result;
use crate::names::{Reference, RepoName, Tag};
use crate::storage::{Storage, WholeBlob, read_whole};

/// The largest signature layer or bundle read: far more than any real one.
const MAX_SIGNATURE_BYTES: u64 = 1024 * 1024;

/// The signatures of `digest` in `repo`, in both layouts.
pub async fn gather<S: Storage>(storage: &S, repo: &RepoName, digest: &Digest) -> Result<Evidence> {
    let mut evidence = Evidence::new();
    if let Ok(tag) = Tag::parse(&signature_tag(digest))
        && let Some(stored) = storage.get_manifest(repo, &Reference::Tag(tag)).await?
        && let Ok(manifest) = serde_json::from_slice::<ImageManifest>(&stored.bytes)
    {
        for layer in signature_layers(&manifest) {
            let blob = read_signature(storage, repo, &layer.digest).await?;
            evidence.add_simple_signing_layer(layer, &blob);
        }
    }
    for referrer in storage.referrers(repo, digest).await? {
        if !is_bundle_referrer(&referrer) {
            continue;
        }
        let Some(stored) = storage
            .get_manifest(repo, &Reference::Digest(referrer.digest.clone()))
            .await?
        else {
            continue;
        };
        let Ok(manifest) = serde_json::from_slice::<ImageManifest>(&stored.bytes) else {
            continue;
        };
        let Ok(layer) = bundle_layer(&manifest) else {
            continue;
        };
        let blob = read_signature(storage, repo, &layer.digest).await?;
        evidence.add_bundle(Some(referrer.digest.clone()), layer, &blob);
    }
    evidence.bind_to_repository(repo.as_str());
    Ok(evidence)
}

/// A signature layer or bundle; empty when missing or too large, which the evidence then records as unusable (its
/// digest does not match).
async fn read_signature<S: Storage>(
    storage: &S,
    repo: &RepoName,
    digest: &Digest,
) -> Result<Vec<u8>> {
    Ok(
        match read_whole(storage, repo, digest, MAX_SIGNATURE_BYTES).await? {
            WholeBlob::Read(bytes) => bytes,
            WholeBlob::Missing | WholeBlob::TooLarge(_) => Vec::new(),
        },
    )
}
