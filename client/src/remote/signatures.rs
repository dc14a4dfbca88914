//! Which signatures a registry holds for a manifest: cosign's `sha256-<hex>.sig` image, and Sigstore
//! bundles attached as OCI 1.1 referrers (not the attestation bundles, which sign statements about the
//! policy rather than the policy). Pull records them in the store, so that `palisade policies` can say
//! which policies were signed when they were pulled; checking them is `palisade verify`'s job.

use super::Repository;
use crate::error::Result;
use artifact::cosign::{
    BUNDLE_PREDICATE_TYPE_ANNOTATION, COSIGN_SIGN_PREDICATE, SIGSTORE_BUNDLE_V03, signature_tag,
};
use artifact::oci::Digest;
use artifact::oci::manifest::Descriptor;

impl Repository {
    /// The digests of the signature manifests attached to `subject`: the `.sig` image first, then the
    /// signature bundles among its referrers.
    pub async fn signatures(&self, subject: &Digest) -> Result<Vec<Digest>> {
        let image = self
            .manifest(&signature_tag(subject))
            .await?
            .map(|image| image.digest());
        let referrers = self.referrers(subject, Some(SIGSTORE_BUNDLE_V03)).await?;
        Ok(signature_digests(image, referrers))
    }
}

/// The signatures among what is attached to a manifest: its `.sig` image, if any, then the bundle
/// referrers that are signatures (not attestations).
pub(crate) fn signature_digests(image: Option<Digest>, referrers: Vec<Descriptor>) -> Vec<Digest> {
    let is_signature = |referrer: &Descriptor| {
        let predicate = referrer
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(BUNDLE_PREDICATE_TYPE_ANNOTATION));
        referrer.artifact_type.as_deref() == Some(SIGSTORE_BUNDLE_V03)
            && predicate.is_none_or(|predicate| predicate == COSIGN_SIGN_PREDICATE)
    };
    image
        .into_iter()
        .chain(
            referrers
                .into_iter()
                .filter(is_signature)
                .map(|referrer| referrer.digest),
        )
        .collect()
}
