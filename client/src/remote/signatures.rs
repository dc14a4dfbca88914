//! Which signatures a registry holds for a manifest: cosign's `sha256-<hex>.sig` image, and Sigstore
//! bundles attached as OCI 1.1 referrers (not the attestation bundles, which sign statements about the
//! policy rather than the policy). Pull records them in the store, so that `palisade policies` can say
//! which policies were signed when they were pulled; checking them is `palisade verify`'s job.

use super::client::Remote;
use super::repository::Repository;
use crate::error::Result;
use artifact::cosign::{SIGSTORE_BUNDLE_V03, signature_digests, signature_tag};
use artifact::oci::Digest;
use artifact::oci::policy::PolicyArtifact;
use artifact::reference::RegistryRef;

impl Remote {
    /// Pulls the policy at `source` as [`Remote::pull`] does, with the digests of the signatures the
    /// registry holds for it (see [`Repository::signatures`]): `None` when the registry could not say.
    pub async fn pull_with_signatures(
        &self,
        source: &RegistryRef,
    ) -> Result<(PolicyArtifact, Option<Vec<Digest>>)> {
        let repository = self.repository(source).await?;
        let artifact = match self.loaded_artifact(source)? {
            Some(artifact) => artifact,
            None => repository.session()?.pull_policy(source).await?,
        };
        let signatures = match repository.signatures(&artifact.digest()).await {
            Ok(signatures) => Some(signatures),
            Err(err) => {
                tracing::warn!(%source, error = %err, "cannot tell whether the policy is signed");
                None
            }
        };
        Ok((artifact, signatures))
    }
}

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
