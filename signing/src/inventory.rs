//! Every signature and attestation attached to a policy manifest, listed without requiring that any verifies
//! (`palisade inspect REF --show-signatures`): the `.sig` layers, Sigstore bundle referrers and attestations
//! (`.att` layers and attestation bundles), each with who signed it (key hint or certificate identity and issuer),
//! its signed annotations and the digest it is about. Given keys, each entry also says whether one of them
//! verifies it; given a verification config, which of its requirements it meets.

use std::collections::BTreeMap;

use artifact::oci::Digest;
use artifact::reference::RegistryRef;
use client::remote::Remote;
use serde::Serialize;
use x509_cert::der::Decode as _;

use crate::attestation::registry::{bundle_referrers, collect};
use crate::attestation::{Checked, Source, check_envelope, is_attestation, key_name};
use crate::bundle::{Bundle, Statement};
use crate::config::VerificationConfig;
use crate::error::Result;
use crate::identity::{certificate_issuer, certificate_subjects};
use crate::keys::PublicKey;
use crate::simple_signing;
use crate::trust::TrustRoot;
use crate::verify::{Evidence, FoundSignature, SignatureSource};
use artifact::cosign::CERTIFICATE_ANNOTATION;

/// What kind of signature an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// A layer of the `sha256-<hex>.sig` image (cosign simple signing).
    Signature,
    /// A Sigstore bundle referrer with cosign's signature predicate.
    Bundle,
    /// A layer of the `sha256-<hex>.att` image.
    AttestationTag,
    /// A Sigstore bundle referrer with another predicate.
    AttestationBundle,
}

impl Kind {
    /// How text output names it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Signature => ".sig layer",
            Kind::Bundle => "bundle referrer",
            Kind::AttestationTag => "attestation (.att layer)",
            Kind::AttestationBundle => "attestation (bundle referrer)",
        }
    }
}

/// Who signed, as far as the signature says (nothing of it is checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Signer {
    /// A key-signed bundle's key hint (base64 SHA-256 of the public key).
    Key {
        /// The hint.
        hint: String,
    },
    /// A keyless signature's certificate.
    Certificate {
        /// The subject alternative names (email, URI).
        identities: Vec<String>,
        /// The Fulcio OIDC issuer extension.
        issuer: Option<String>,
    },
    /// The layout does not record the key (`.sig` and `.att` layers signed with a key).
    NotRecorded,
}

/// The outcome of checking an entry with the keys given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Verification {
    /// No key was given: nothing was checked.
    NotVerified,
    /// One of the keys verifies it (signature, and about this manifest).
    Verified {
        /// That key (`sha256:` and 16 hex digits of its fingerprint).
        key: String,
    },
    /// None of the keys verifies it.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One signature or attestation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Its kind.
    pub kind: Kind,
    /// The layer digest (`.sig`, `.att`) or the referrer manifest digest (bundles).
    pub location: Digest,
    /// Who signed, as the signature says.
    pub signer: Signer,
    /// The signed annotations.
    pub annotations: BTreeMap<String, String>,
    /// The digests it is about (the signed manifest).
    pub subject: Vec<Digest>,
    /// The predicate type (bundles and attestations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Why it could not be read, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    /// Whether one of the keys given verifies it.
    pub verification: Verification,
    /// The requirements of the verification config given that it meets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub satisfies: Vec<String>,
}

/// Everything attached to a policy manifest.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// The reference listed.
    pub reference: String,
    /// The manifest digest it resolved to.
    pub manifest_digest: Digest,
    /// Signatures first (`.sig`, bundles), then attestations.
    pub signatures: Vec<Entry>,
}

/// A verification config to check the signatures against, with the trust root for its keyless requirements.
pub type Requirements<'a> = (&'a VerificationConfig, Option<&'a TrustRoot>);

/// Lists every signature and attestation of the policy at `reference`; with `keys`, checks each against them;
/// with `requirements`, names the requirements of the config each one meets.
pub async fn list(
    remote: &Remote,
    reference: &RegistryRef,
    keys: &[PublicKey],
    requirements: Option<Requirements<'_>>,
) -> Result<Inventory> {
    let repository = remote.repository(reference).await?;
    let manifest_digest = repository.resolve().await?.digest();
    let mut signatures = Vec::new();

    if let Some(image) = repository
        .manifest(&artifact::cosign::signature_tag(&manifest_digest))
        .await?
    {
        let image = simple_signing::parse_manifest(&image.bytes)?;
        for layer in simple_signing::signature_layers(&image) {
            let mut evidence = Evidence::new();
            match repository.blob(&layer.digest).await {
                Ok(blob) => evidence.add_simple_signing_layer(layer, &blob),
                Err(e) => {
                    signatures.push(unreadable(
                        Kind::Signature,
                        layer.digest.clone(),
                        e.to_string(),
                    ));
                    continue;
                }
            }
            for found in evidence.signatures() {
                signatures.push(from_found(
                    Kind::Signature,
                    layer.digest.clone(),
                    found,
                    keys,
                    &manifest_digest,
                ));
            }
        }
    }

    for (manifest, _, read) in bundle_referrers(&repository, &manifest_digest).await? {
        match read {
            Ok(bundle) if bundle.statement().is_ok_and(|s| is_attestation(&s)) => {}
            Ok(bundle) => signatures.push(from_bundle(manifest, &bundle, keys, &manifest_digest)),
            Err(reason) => signatures.push(unreadable(Kind::Bundle, manifest, reason)),
        }
    }

    for (source, found) in collect(&repository, &manifest_digest).await? {
        let (kind, location) = match &source {
            Source::AttestationTag { layer } => (Kind::AttestationTag, layer.clone()),
            Source::Referrer { manifest, .. } => (Kind::AttestationBundle, manifest.clone()),
        };
        let stored = match found {
            Ok(stored) => stored,
            Err(reason) => {
                signatures.push(unreadable(kind, location, reason));
                continue;
            }
        };
        let statement = match stored.envelope.statement() {
            Ok(statement) => statement,
            Err(e) => {
                signatures.push(unreadable(kind, location, e.to_string()));
                continue;
            }
        };
        let checked = check_envelope(
            source,
            &stored.envelope,
            stored.hint.as_deref(),
            keys,
            &manifest_digest,
            None,
        );
        signatures.push(statement_entry(
            kind,
            location,
            signer(stored.hint.as_deref(), stored.certificate.as_deref()),
            &statement,
            keys,
            checked,
        ));
    }

    if let Some((config, trust_root)) = requirements {
        let checked = crate::registry::check(remote, reference, config, trust_root).await?;
        for requirement in &checked.report.requirements {
            for source in &requirement.satisfied_by {
                let location = match source {
                    SignatureSource::SignatureTag { layer } => layer,
                    SignatureSource::Referrer {
                        manifest: Some(manifest),
                        ..
                    } => manifest,
                    SignatureSource::Referrer { manifest: None, .. } => continue,
                };
                for entry in signatures.iter_mut().filter(|e| &e.location == location) {
                    entry.satisfies.push(requirement.requirement.clone());
                }
            }
        }
    }

    Ok(Inventory {
        reference: reference.to_string(),
        manifest_digest,
        signatures,
    })
}

fn unreadable(kind: Kind, location: Digest, reason: String) -> Entry {
    Entry {
        kind,
        location,
        signer: Signer::NotRecorded,
        annotations: BTreeMap::new(),
        subject: Vec::new(),
        predicate_type: None,
        unreadable: Some(reason),
        verification: Verification::NotVerified,
        satisfies: Vec::new(),
    }
}

fn verification(keys: &[PublicKey], verified_by: Option<String>, reason: String) -> Verification {
    match (keys.is_empty(), verified_by) {
        (true, _) => Verification::NotVerified,
        (false, Some(key)) => Verification::Verified { key },
        (false, None) => Verification::Failed { reason },
    }
}

fn from_found(
    kind: Kind,
    location: Digest,
    found: &FoundSignature,
    keys: &[PublicKey],
    manifest_digest: &Digest,
) -> Entry {
    if let Some(reason) = &found.unusable {
        return unreadable(kind, location, reason.clone());
    }
    let mut reasons = Vec::new();
    let mut verified_by = None;
    for key in keys {
        match found.check_key(key, manifest_digest) {
            Ok(()) => {
                verified_by = Some(key_name(key));
                break;
            }
            Err(reason) => reasons.push(reason),
        }
    }
    Entry {
        kind,
        location,
        signer: found
            .certificate
            .as_deref()
            .map(certificate_signer)
            .unwrap_or(Signer::NotRecorded),
        annotations: found.annotations.clone(),
        subject: found.subject.clone(),
        predicate_type: found.predicate_type.clone(),
        unreadable: None,
        verification: verification(keys, verified_by, reasons.join("; ")),
        satisfies: Vec::new(),
    }
}

fn from_bundle(
    location: Digest,
    bundle: &Bundle,
    keys: &[PublicKey],
    manifest_digest: &Digest,
) -> Entry {
    let statement = match bundle.statement() {
        Ok(statement) => statement,
        Err(e) => return unreadable(Kind::Bundle, location, e.to_string()),
    };
    let Ok(envelope) = bundle.envelope() else {
        return unreadable(Kind::Bundle, location, "no DSSE envelope".to_string());
    };
    let checked = check_envelope(
        Source::Referrer {
            manifest: location.clone(),
            bundle: None,
        },
        envelope,
        bundle.key_hint(),
        keys,
        manifest_digest,
        None,
    );
    statement_entry(
        Kind::Bundle,
        location,
        bundle_signer(bundle),
        &statement,
        keys,
        checked,
    )
}

/// The entry of an in-toto statement whose envelope was checked: what it says, about what, and whether one
/// of `keys` verified it.
fn statement_entry(
    kind: Kind,
    location: Digest,
    signer: Signer,
    statement: &Statement,
    keys: &[PublicKey],
    checked: Checked,
) -> Entry {
    Entry {
        kind,
        location,
        signer,
        annotations: statement
            .subject_digests()
            .first()
            .map(|d| statement.annotations_of(d))
            .unwrap_or_default(),
        subject: statement.subject_digests(),
        predicate_type: Some(statement.predicate_type.clone()),
        unreadable: None,
        verification: verification(keys, checked.signed_by, checked.reason.unwrap_or_default()),
        satisfies: Vec::new(),
    }
}

fn bundle_signer(bundle: &Bundle) -> Signer {
    signer(
        bundle.key_hint(),
        bundle.certificate_der().ok().flatten().as_deref(),
    )
}

/// Who signed: the certificate's identity when there is one, else the key hint, else not recorded.
fn signer(hint: Option<&str>, certificate: Option<&[u8]>) -> Signer {
    match (hint, certificate) {
        (_, Some(der)) => certificate_signer(der),
        (Some(hint), None) if !hint.is_empty() => Signer::Key {
            hint: hint.to_string(),
        },
        _ => Signer::NotRecorded,
    }
}

fn certificate_signer(der: &[u8]) -> Signer {
    match x509_cert::Certificate::from_der(der) {
        Ok(certificate) => Signer::Certificate {
            identities: certificate_subjects(&certificate),
            issuer: certificate_issuer(&certificate),
        },
        Err(_) => Signer::Certificate {
            identities: vec![format!(
                "(unreadable certificate in {CERTIFICATE_ANNOTATION})"
            )],
            issuer: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signers_name_the_certificate_identity_or_the_key() {
        let bundle = Bundle::parse(include_bytes!(
            "../../testdata/signing/cosign-v3-bundle.json"
        ))
        .unwrap();
        match bundle_signer(&bundle) {
            Signer::Certificate { identities, issuer } => {
                assert!(
                    identities
                        .iter()
                        .any(|i| i.starts_with("https://github.com/kubewarden/")),
                    "{identities:?}"
                );
                assert_eq!(
                    issuer.as_deref(),
                    Some("https://token.actions.githubusercontent.com")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            signer(Some("aGludA=="), None),
            Signer::Key {
                hint: "aGludA==".into()
            }
        );
        assert_eq!(signer(None, None), Signer::NotRecorded);
        assert!(matches!(
            signer(None, Some(b"not DER")),
            Signer::Certificate { issuer: None, .. }
        ));
    }

    #[test]
    fn verification_says_not_verified_without_keys() {
        assert_eq!(
            verification(&[], Some("k".into()), String::new()),
            Verification::NotVerified
        );
        let key = crate::keys::PrivateKey::generate().unwrap().public_key();
        assert_eq!(
            verification(std::slice::from_ref(&key), None, "bad".into()),
            Verification::Failed {
                reason: "bad".into()
            }
        );
        assert_eq!(
            verification(&[key], Some("k".into()), String::new()),
            Verification::Verified { key: "k".into() }
        );
    }
}
