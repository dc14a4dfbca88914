//! The registry half of `attest` and `verify-attestation`, on `client::remote` and the pushing helpers of
//! [`crate::registry`] (the same merge-and-retry as for `.sig`, the same bundle referrer and fallback index).

use artifact::oci::Digest;
use artifact::reference::RegistryRef;
use client::remote::{Remote, Repository};
use serde::Serialize;
use serde_json::Value;

use super::{Checked, Source, att_layer, attestation_layers, check_envelope};
use crate::bundle::{self, Bundle, Envelope};
use crate::error::Result;
use crate::keys::{PrivateKey, PublicKey};
use crate::registry::{docker_reference, push_bundle, push_layers};
use crate::simple_signing;
use artifact::cosign::CERTIFICATE_ANNOTATION;
use artifact::cosign::attestation_tag;

/// What `attest` pushed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attested {
    /// The manifest digest attested.
    pub manifest_digest: Digest,
    /// The predicate type.
    pub predicate_type: String,
    /// The `.att` tag written.
    pub attestation_tag: String,
    /// The bundle referrer's manifest digest, when that layout was asked for.
    pub referrer: Option<Digest>,
}

/// Attests what `reference` points to now (by digest) with `key`: the `.att` image (merged with the attestations
/// there, re-read and retried when another writer moved the tag), and with `with_bundle` a bundle referrer too.
pub async fn attest(
    remote: &Remote,
    reference: &RegistryRef,
    key: &PrivateKey,
    predicate_type: &str,
    predicate: Value,
    with_bundle: bool,
) -> Result<Attested> {
    let repository = remote.repository(reference).await?;
    let policy = repository.resolve().await?;
    let manifest_digest = policy.digest();
    let bundle = super::sign(
        key,
        &docker_reference(reference),
        &manifest_digest,
        predicate_type,
        predicate,
    );
    let tag = attestation_tag(&manifest_digest);
    push_layers(&repository, &tag, &[att_layer(&bundle)?]).await?;
    let referrer = match with_bundle {
        true => Some(push_bundle(&repository, &policy, &bundle).await?),
        false => None,
    };
    Ok(Attested {
        manifest_digest,
        predicate_type: predicate_type.to_string(),
        attestation_tag: tag,
        referrer,
    })
}

/// The attestations of a policy and whether each verified.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The reference checked.
    pub reference: String,
    /// The manifest digest it resolved to.
    pub manifest_digest: Digest,
    /// The predicate type asked for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Every attestation found, in both layouts (`.att` layers first, then bundle referrers).
    pub attestations: Vec<Checked>,
    /// Whether at least one verified.
    pub verified: bool,
}

impl Report {
    /// The attestations that verified.
    pub fn verified(&self) -> impl Iterator<Item = &Checked> {
        self.attestations.iter().filter(|a| a.verified)
    }
}

/// Fetches every attestation of the policy at `reference` (both layouts) and checks each against `keys` and
/// `predicate_type`. One that cannot be fetched or read is reported with the reason, never hiding the others.
pub async fn check(
    remote: &Remote,
    reference: &RegistryRef,
    keys: &[PublicKey],
    predicate_type: Option<&str>,
) -> Result<Report> {
    let repository = remote.repository(reference).await?;
    let manifest_digest = repository.resolve().await?.digest();
    let mut attestations = Vec::new();
    for (source, found) in collect(&repository, &manifest_digest).await? {
        attestations.push(match found {
            Ok(stored) => check_envelope(
                source,
                &stored.envelope,
                stored.hint.as_deref(),
                keys,
                &manifest_digest,
                predicate_type,
            ),
            Err(reason) => Checked::unreadable(source, reason),
        });
    }
    Ok(Report {
        reference: reference.to_string(),
        verified: attestations.iter().any(|a| a.verified),
        manifest_digest,
        predicate_type: predicate_type.map(str::to_string),
        attestations,
    })
}

/// An envelope as stored: on its own in an `.att` layer, or in a bundle (with its key hint); with the signing
/// certificate (DER) of keyless attestations (the layer's certificate annotation, or the bundle's).
pub(crate) struct Stored {
    pub(crate) envelope: Envelope,
    pub(crate) hint: Option<String>,
    pub(crate) certificate: Option<Vec<u8>>,
}

/// Every attestation attached to `manifest_digest`: the `.att` layers and the bundle referrers whose statement is
/// not a plain signature; each with its content or why it could not be read.
pub(crate) async fn collect(
    repository: &Repository,
    manifest_digest: &Digest,
) -> Result<Vec<(Source, std::result::Result<Stored, String>)>> {
    let mut found = Vec::new();
    if let Some(image) = repository
        .manifest(&attestation_tag(manifest_digest))
        .await?
    {
        let image = simple_signing::parse_manifest(&image.bytes)?;
        for layer in attestation_layers(&image) {
            let source = Source::AttestationTag {
                layer: layer.digest.clone(),
            };
            let stored = match repository.blob(&layer.digest).await {
                Ok(blob) => Envelope::parse(&blob)
                    .map(|envelope| Stored {
                        envelope,
                        hint: None,
                        certificate: layer
                            .annotations
                            .as_ref()
                            .and_then(|a| a.get(CERTIFICATE_ANNOTATION))
                            .and_then(|text| pem::parse(text).ok())
                            .map(|p| p.contents().to_vec()),
                    })
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            found.push((source, stored));
        }
    }
    for (manifest, bundle_digest, read) in bundle_referrers(repository, manifest_digest).await? {
        let stored = read.and_then(|bundle| {
            let envelope = bundle.envelope().map_err(|e| e.to_string())?.clone();
            Ok(Stored {
                hint: bundle.key_hint().map(str::to_string),
                certificate: bundle.certificate_der().ok().flatten(),
                envelope,
            })
        });
        if let Ok(stored) = &stored
            && stored
                .envelope
                .statement()
                .is_ok_and(|s| !super::is_attestation(&s))
        {
            continue;
        }
        let source = Source::Referrer {
            manifest,
            bundle: bundle_digest,
        };
        found.push((source, stored));
    }
    Ok(found)
}

/// A bundle referrer: its manifest digest, its bundle blob's digest (when the manifest was read), and the bundle.
pub(crate) type FoundBundle = (Digest, Option<Digest>, std::result::Result<Bundle, String>);

/// Every Sigstore bundle referrer of `manifest_digest` (plain signatures and attestations alike).
pub(crate) async fn bundle_referrers(
    repository: &Repository,
    manifest_digest: &Digest,
) -> Result<Vec<FoundBundle>> {
    let mut found = Vec::new();
    for referrer in repository.referrers(manifest_digest, None).await? {
        if !bundle::is_bundle_referrer(&referrer) {
            continue;
        }
        let manifest = match repository.manifest(&referrer.digest.to_string()).await {
            Ok(Some(fetched)) => fetched,
            Ok(None) => {
                found.push((
                    referrer.digest,
                    None,
                    Err("the referrer manifest is listed but gone".to_string()),
                ));
                continue;
            }
            Err(e) => {
                found.push((referrer.digest, None, Err(e.to_string())));
                continue;
            }
        };
        let layer = simple_signing::parse_manifest(&manifest.bytes)
            .and_then(|m| bundle::bundle_layer(&m).cloned());
        let layer = match layer {
            Ok(layer) => layer,
            Err(e) => {
                found.push((referrer.digest, None, Err(e.to_string())));
                continue;
            }
        };
        let read = match repository.blob(&layer.digest).await {
            Ok(blob) => Bundle::parse(&blob).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        found.push((referrer.digest, Some(layer.digest), read));
    }
    Ok(found)
}
