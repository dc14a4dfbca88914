//! The registry half of `sign` and `verify`: what to fetch and what to push, on `client::remote`.
//!
//! Signing writes cosign's `sha256-<hex>.sig` image (what Kubewarden reads), merging with the signatures
//! already there and checking afterwards that a concurrent signer did not drop ours; and, on request, a
//! Sigstore bundle as an OCI 1.1 referrer, with the `sha256-<hex>` referrers-tag index for registries
//! without the referrers API. Verification collects the signatures of both layouts and evaluates them.

use std::collections::BTreeMap;

use artifact::oci::{Digest, media_types as oci_types};
use artifact::reference::RegistryRef;
use client::remote::{FetchedManifest, Remote, Repository};

use crate::Blob;
use crate::bundle;
use crate::config::VerificationConfig;
use crate::error::{Result, SigningError};
use crate::keys::PrivateKey;
use crate::simple_signing;
use crate::trust::TrustRoot;
use crate::verify::{
    Evidence, Report, VerifiedArtifact, evaluate_with_trust_root, verify_with_trust_root,
};
use artifact::cosign::{BUNDLE_PREDICATE_TYPE_ANNOTATION, COSIGN_SIGN_PREDICATE};

/// How many times a signature is merged again when another signer overwrote the `.sig` tag meanwhile.
const MERGE_ATTEMPTS: usize = 5;

/// Where `sign` stores the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// cosign's `sha256-<hex>.sig` tag (read by Kubewarden, and by cosign before v3).
    SignatureTag,
    /// A Sigstore bundle v0.3 referrer (cosign v3's default).
    Bundle,
}

/// What `sign` pushed.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The manifest digest signed.
    pub manifest_digest: Digest,
    /// The `.sig` tag written, if that layout was asked for.
    pub signature_tag: Option<String>,
    /// The bundle referrer's manifest digest, if that layout was asked for.
    pub referrer: Option<Digest>,
}

/// Signs what `reference` points to now (by digest) with `key`, in each of `layouts`.
pub async fn sign(
    remote: &Remote,
    reference: &RegistryRef,
    key: &PrivateKey,
    annotations: &BTreeMap<String, String>,
    layouts: &[Layout],
) -> Result<Signed> {
    let repository = remote.repository(reference).await?;
    let policy = repository.resolve().await?;
    let manifest_digest = policy.digest();
    let mut signed = Signed {
        manifest_digest: manifest_digest.clone(),
        signature_tag: None,
        referrer: None,
    };
    if layouts.contains(&Layout::SignatureTag) {
        let docker_reference = docker_reference(reference);
        let signature = simple_signing::sign(key, &docker_reference, &manifest_digest, annotations);
        let tag = artifact::cosign::signature_tag(&manifest_digest);
        push_layers(
            &repository,
            &tag,
            &simple_signing::layers_of(std::slice::from_ref(&signature)),
        )
        .await?;
        signed.signature_tag = Some(tag);
    }
    if layouts.contains(&Layout::Bundle) {
        let bundle = bundle::sign(key, &manifest_digest, annotations);
        signed.referrer = Some(push_bundle(&repository, &policy, &bundle).await?);
    }
    Ok(signed)
}

/// The repository as cosign names it in payloads and statement subjects: `registry/repository`, without tag or
/// digest.
pub fn docker_reference(reference: &RegistryRef) -> String {
    format!("{}/{}", reference.registry, reference.repository)
}

/// Attaches `bundle` as an OCI 1.1 referrer of `policy` (the manifest it is about), created now; on registries
/// whose referrers API does not list it, also merges it into the `sha256-<hex>` fallback index. Returns the
/// referrer manifest's digest.
pub(crate) async fn push_bundle(
    repository: &Repository,
    policy: &FetchedManifest,
    bundle: &bundle::Bundle,
) -> Result<Digest> {
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let referrer = bundle::referrer(bundle, policy.descriptor(), Some(&created))?;
    push_referrer(repository, &policy.digest(), &referrer).await
}

/// Pushes `referrer` (its blobs, then its manifest by digest) as a referrer of `manifest_digest`; on registries
/// whose referrers API does not list it, also merges it into the `sha256-<hex>` fallback index. Returns the
/// referrer manifest's digest.
pub async fn push_referrer(
    repository: &Repository,
    manifest_digest: &Digest,
    referrer: &bundle::Referrer,
) -> Result<Digest> {
    for blob in &referrer.blobs {
        repository
            .push_blob(&blob.descriptor.digest, &blob.content)
            .await?;
    }
    let name = referrer.manifest_digest.to_string();
    repository
        .push_manifest(&name, &referrer.manifest_bytes, oci_types::OCI_MANIFEST)
        .await?;
    let listed = repository.referrers(manifest_digest, None).await?;
    if !listed.iter().any(|d| d.digest == referrer.manifest_digest) {
        let tag = artifact::cosign::referrers_tag(manifest_digest);
        let existing = repository.manifest(&tag).await?;
        let index = bundle::merge_referrers_index(
            existing.as_ref().map(|m| m.bytes.as_slice()),
            &referrer.index_descriptor(),
        )?;
        repository
            .push_manifest(&tag, &index, oci_types::OCI_INDEX)
            .await?;
    }
    Ok(referrer.manifest_digest.clone())
}

/// Merges `layers` into the cosign signature image at `tag` (`.sig` or `.att`) and pushes it, until a read-back
/// shows every one of them there: a concurrent writer that replaced the tag meanwhile never makes one get lost.
pub(crate) async fn push_layers(repository: &Repository, tag: &str, layers: &[Blob]) -> Result<()> {
    for _ in 0..MERGE_ATTEMPTS {
        let existing = match repository.manifest(tag).await? {
            Some(fetched) => Some(simple_signing::parse_manifest(&fetched.bytes)?),
            None => None,
        };
        let image = simple_signing::merge_layers(existing.as_ref(), layers)?;
        if image.added > 0 {
            for blob in &image.blobs {
                repository
                    .push_blob(&blob.descriptor.digest, &blob.content)
                    .await?;
            }
            repository
                .push_manifest(tag, &image.manifest_bytes, oci_types::OCI_MANIFEST)
                .await?;
        }
        if let Some(now) = repository.manifest(tag).await?
            && simple_signing::missing_layers(&simple_signing::parse_manifest(&now.bytes)?, layers)
                .is_empty()
        {
            return Ok(());
        }
    }
    Err(SigningError::MalformedManifest(format!(
        "{tag} kept changing under concurrent writers: what was added was not kept after {MERGE_ATTEMPTS} merges; try again"
    )))
}

/// The outcome of checking a policy in a registry.
#[derive(Debug)]
pub struct Checked {
    /// The full report (passed or not), for `--output json`.
    pub report: Report,
    /// The verified artifact, or why it is not verified.
    pub verified: Result<VerifiedArtifact>,
}

/// Fetches the policy at `reference` and every signature of both layouts, and evaluates `config`
/// (keyless requirements against `trust_root`).
pub async fn check(
    remote: &Remote,
    reference: &RegistryRef,
    config: &VerificationConfig,
    trust_root: Option<&TrustRoot>,
) -> Result<Checked> {
    let repository = remote.repository(reference).await?;
    let policy = repository.resolve().await?;
    let manifest_digest = policy.digest();
    let evidence = collect_evidence(&repository, &manifest_digest).await?;
    let name = reference.to_string();
    let report = evaluate_with_trust_root(&name, &manifest_digest, &evidence, config, trust_root)?;
    let verified = verify_with_trust_root(
        &name,
        &manifest_digest,
        &policy.bytes,
        &evidence,
        config,
        trust_root,
    );
    Ok(Checked { report, verified })
}

/// Every signature attached to `manifest_digest`: the `.sig` image's layers and the bundle referrers.
async fn collect_evidence(repository: &Repository, manifest_digest: &Digest) -> Result<Evidence> {
    let mut evidence = Evidence::new();
    if let Some(image) = repository
        .manifest(&artifact::cosign::signature_tag(manifest_digest))
        .await?
    {
        let image = simple_signing::parse_manifest(&image.bytes)?;
        for layer in simple_signing::signature_layers(&image) {
            let blob = repository.blob(&layer.digest).await?;
            evidence.add_simple_signing_layer(layer, &blob);
        }
    }
    for referrer in repository.referrers(manifest_digest, None).await? {
        // Attestation bundles (SBOMs, provenance) are not signatures; they say so in the referrer's
        // annotations, and a bundle whose annotation lies is refused by its signed statement.
        let attestation = referrer
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(BUNDLE_PREDICATE_TYPE_ANNOTATION))
            .is_some_and(|predicate| predicate != COSIGN_SIGN_PREDICATE);
        if !bundle::is_bundle_referrer(&referrer) || attestation {
            continue;
        }
        let Some(fetched) = repository.manifest(&referrer.digest.to_string()).await? else {
            continue;
        };
        let manifest = simple_signing::parse_manifest(&fetched.bytes)?;
        let layer = bundle::bundle_layer(&manifest)?;
        let blob = repository.blob(&layer.digest).await?;
        evidence.add_bundle(Some(referrer.digest.clone()), layer, &blob);
    }
    Ok(evidence)
}
