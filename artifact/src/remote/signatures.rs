//! Which signatures a registry holds for a manifest: cosign's `sha256-<hex>.sig` image, and Sigstore
//! bundles attached as OCI 1.1 referrers (not the attestation bundles, which sign statements about the
//! policy rather than the policy). Pull records them in the store, so that `palisade policies` can say
//! which policies were signed when they were pulled; checking them is `palisade verify`'s job.

use super::Repository;
use crate::error::Result;
use crate::oci::Digest;

/// The `artifactType` of a Sigstore bundle referrer (cosign v3).
const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The referrer annotation naming a bundle's in-toto predicate type (absent on message signatures).
const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The predicate type cosign v3 gives plain signatures in DSSE bundles.
const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

impl Repository {
    /// The digests of the signature manifests attached to `subject`: the `.sig` image first, then the
    /// signature bundles among its referrers.
    pub async fn signatures(&self, subject: &Digest) -> Result<Vec<Digest>> {
        let mut found = Vec::new();
        let tag = format!("{}-{}.sig", subject.algorithm(), subject.hex());
        if let Some(image) = self.manifest(&tag).await? {
            found.push(image.digest());
        }
        for referrer in self.referrers(subject, Some(SIGSTORE_BUNDLE)).await? {
            let predicate = referrer
                .annotations
                .as_ref()
                .and_then(|annotations| annotations.get(PREDICATE_TYPE_ANNOTATION));
            let is_signature = referrer.artifact_type.as_deref() == Some(SIGSTORE_BUNDLE)
                && predicate.is_none_or(|predicate| predicate == COSIGN_SIGN_PREDICATE);
            if is_signature {
                found.push(referrer.digest);
            }
        }
        Ok(found)
    }
}
