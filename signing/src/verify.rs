//! Verification: the signatures fetched for a policy manifest, checked against a [`VerificationConfig`] by
//! composable [`Verifier`]s, and [`VerifiedArtifact`], which only [`verify`] makes.
//!
//! The caller fetches, this module decides:
//! 1. resolve the reference to its manifest digest and fetch the manifest bytes;
//! 2. fetch the signature manifest at [`crate::artifact::cosign::signature_tag`] and each layer of
//!    [`crate::simple_signing::signature_layers`]: [`Evidence::add_simple_signing_layer`];
//! 3. list the referrers of the digest (API or [`crate::artifact::cosign::referrers_tag`]), and for each
//!    [`crate::bundle::is_bundle_referrer`] fetch its manifest and [`crate::bundle::bundle_layer`]:
//!    [`Evidence::add_bundle`];
//! 4. [`verify`] (or [`evaluate`] for a report that also explains failures).
//!
//! A signature that cannot be read (bad digest, malformed payload or bundle) is kept in the evidence with the
//! reason, so that one bad layer never hides a good one and every failure can be explained.

use std::collections::BTreeMap;
use std::fmt;

use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types as oci_types};
use serde::Serialize;

use crate::bundle::Bundle;
use crate::config::{Requirement, VerificationConfig};
use crate::error::{Result, SigningError};
use crate::identity::Identity;
use crate::keys::PublicKey;
use crate::simple_signing::{Payload, Signature};
use crate::trust::TrustRoot;
use artifact::cosign::COSIGN_SIGN_PREDICATE;

/// Where a signature was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "layout", rename_all = "camelCase")]
pub enum SignatureSource {
    /// A layer of the `sha256-<hex>.sig` signature manifest (cosign's simple signing, what Kubewarden reads).
    SignatureTag {
        /// The layer (payload) digest.
        layer: Digest,
    },
    /// A Sigstore bundle attached as an OCI 1.1 referrer.
    Referrer {
        /// The referrer manifest's digest, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        manifest: Option<Digest>,
        /// The bundle blob's digest.
        bundle: Digest,
    },
}

impl fmt::Display for SignatureSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureSource::SignatureTag { layer } => write!(f, ".sig layer {layer}"),
            SignatureSource::Referrer {
                manifest: Some(m), ..
            } => write!(f, "bundle referrer {m}"),
            SignatureSource::Referrer { bundle, .. } => write!(f, "bundle {bundle}"),
        }
    }
}

/// One signature found for the artifact, in either layout, reduced to what the verifiers check.
#[derive(Debug, Clone)]
pub struct FoundSignature {
    /// Where it was found.
    pub source: SignatureSource,
    /// Why it cannot be used at all (unreadable), if so.
    pub unusable: Option<String>,
    /// The digest the signature is about (payload `docker-manifest-digest` or statement subject).
    pub subject: Vec<Digest>,
    /// The bytes that were signed (the payload, or the DSSE PAE).
    signed: Vec<u8>,
    /// The DER signature.
    signature: Vec<u8>,
    /// Signed annotations (payload `optional`, or the statement subject's annotations).
    pub annotations: BTreeMap<String, String>,
    /// The predicate type, for bundles.
    pub predicate_type: Option<String>,
    /// The signing certificate (DER), for keyless signatures.
    pub certificate: Option<Vec<u8>>,
    /// The repository the signature names (simple signing's `docker-reference`, a statement subject's name), if
    /// any: `registry.example/policies/x`.
    pub repository: Option<String>,
    /// The bundle JSON, for signatures found as bundles (keyless checks read it whole).
    bundle_json: Option<Vec<u8>>,
    /// A `.sig` layer with a certificate, whole: keyless checks read its annotations.
    keyless_layer: Option<Signature>,
}

impl FoundSignature {
    fn unusable(source: SignatureSource, reason: String) -> FoundSignature {
        FoundSignature {
            source,
            unusable: Some(reason),
            subject: Vec::new(),
            signed: Vec::new(),
            signature: Vec::new(),
            annotations: BTreeMap::new(),
            predicate_type: None,
            certificate: None,
            repository: None,
            bundle_json: None,
            keyless_layer: None,
        }
    }

    fn from_simple_signing(source: SignatureSource, signature: &Signature) -> FoundSignature {
        let parsed = Payload::parse(&signature.payload).and_then(|payload| {
            Ok((
                payload.manifest_digest()?,
                payload.annotations(),
                signature.signature_der()?,
                payload.critical.identity.docker_reference,
            ))
        });
        let certificate = signature
            .certificate
            .as_deref()
            .and_then(|pem_text| pem::parse(pem_text).ok())
            .map(|p| p.contents().to_vec());
        match parsed {
            Ok((digest, annotations, der, repository)) => FoundSignature {
                source,
                unusable: None,
                subject: vec![digest],
                signed: signature.payload.clone(),
                signature: der,
                annotations,
                predicate_type: None,
                repository: Some(repository),
                keyless_layer: signature.certificate.is_some().then(|| signature.clone()),
                certificate,
                bundle_json: None,
            },
            Err(e) => FoundSignature::unusable(source, e.to_string()),
        }
    }

    fn from_bundle(source: SignatureSource, bundle: &Bundle, json: &[u8]) -> FoundSignature {
        let parsed = (|| {
            let statement = bundle.statement()?;
            Ok::<_, SigningError>((
                statement,
                bundle.signed_bytes()?,
                bundle.signature_der()?,
                bundle.certificate_der()?,
            ))
        })();
        match parsed {
            // An SBOM or provenance attestation vouches for a document about the artifact, not for
            // running it; `verify-attestation` checks those.
            Ok((statement, ..)) if statement.predicate_type != COSIGN_SIGN_PREDICATE => {
                FoundSignature::unusable(
                    source,
                    format!(
                        "an attestation (predicate type {}), not a signature",
                        statement.predicate_type
                    ),
                )
            }
            Ok((statement, signed, signature, certificate)) => {
                let subject = statement.subject_digests();
                let annotations = subject
                    .first()
                    .map(|d| statement.annotations_of(d))
                    .unwrap_or_default();
                let repository = statement.subject.iter().find_map(|s| s.name.clone());
                FoundSignature {
                    source,
                    unusable: None,
                    subject,
                    signed,
                    signature,
                    annotations,
                    predicate_type: Some(statement.predicate_type),
                    certificate,
                    repository,
                    bundle_json: Some(json.to_vec()),
                    keyless_layer: None,
                }
            }
            Err(e) => FoundSignature::unusable(source, e.to_string()),
        }
    }

    /// Checks the signature with `key`: the signed bytes, the signature and that it is about `expected`.
    pub fn check_key(&self, key: &PublicKey, expected: &Digest) -> std::result::Result<(), String> {
        if let Some(reason) = &self.unusable {
            return Err(reason.clone());
        }
        key.verify(&self.signed, &self.signature)
            .map_err(|e| e.to_string())?;
        if !self.subject.contains(expected) {
            return Err(format!(
                "signed for {} and not for {expected} (a signature of another artifact)",
                self.subject
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(())
    }
}

/// The signatures fetched for one manifest digest.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    signatures: Vec<FoundSignature>,
}

impl Evidence {
    /// No signatures yet.
    pub fn new() -> Evidence {
        Evidence::default()
    }

    /// Adds a layer of the `.sig` signature manifest and its fetched blob. A layer whose blob does not match its
    /// digest, or that is not a signature, is recorded as unusable.
    pub fn add_simple_signing_layer(&mut self, descriptor: &Descriptor, blob: &[u8]) {
        let source = SignatureSource::SignatureTag {
            layer: descriptor.digest.clone(),
        };
        let found = match Signature::from_layer(descriptor, blob) {
            Ok(signature) => FoundSignature::from_simple_signing(source, &signature),
            Err(e) => FoundSignature::unusable(source, e.to_string()),
        };
        self.signatures.push(found);
    }

    /// Adds a simple-signing signature already read (from a layer, or made locally).
    pub fn add_signature(&mut self, signature: &Signature) {
        let source = SignatureSource::SignatureTag {
            layer: Digest::sha256_of(&signature.payload),
        };
        self.signatures
            .push(FoundSignature::from_simple_signing(source, signature));
    }

    /// Adds a Sigstore bundle: the bundle layer's descriptor and fetched blob, and the referrer manifest's
    /// digest when known.
    pub fn add_bundle(&mut self, referrer: Option<Digest>, descriptor: &Descriptor, blob: &[u8]) {
        let source = SignatureSource::Referrer {
            manifest: referrer,
            bundle: descriptor.digest.clone(),
        };
        if !descriptor.digest.matches(blob) || descriptor.size != blob.len() as u64 {
            let reason = SigningError::LayerDigestMismatch {
                digest: descriptor.digest.to_string(),
            };
            self.signatures
                .push(FoundSignature::unusable(source, reason.to_string()));
            return;
        }
        let found = match Bundle::parse(blob) {
            Ok(bundle) => FoundSignature::from_bundle(source, &bundle, blob),
            Err(e) => FoundSignature::unusable(source, e.to_string()),
        };
        self.signatures.push(found);
    }

    /// The signatures, in the order they were added.
    pub fn signatures(&self) -> &[FoundSignature] {
        &self.signatures
    }

    /// Holds the signatures to `repository` (a path, `policies/x`): one that names another repository (signed
    /// there and copied here, a replay) becomes unusable, saying so. One that names none (cosign's bundles) is kept.
    pub fn bind_to_repository(&mut self, repository: &str) {
        for signature in &mut self.signatures {
            let Some(named) = signature.repository.as_deref() else {
                continue;
            };
            if signature.unusable.is_none() && repository_path(named) != repository {
                signature.unusable = Some(format!(
                    "signed for repository {named}, not {repository} (a signature copied from another repository)"
                ));
            }
        }
    }
}

/// The repository path of `reference` without its registry host: `registry.example:5000/policies/x` →
/// `policies/x`. The first part is a host when it has a `.` or a `:`, or is `localhost` (as docker reads names).
pub fn repository_path(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => rest,
        _ => reference,
    }
}

/// A check of one signature: composable like sigstore-rs' verification constraints.
pub trait Verifier: fmt::Debug + Send + Sync {
    /// What this verifier requires, for reports.
    fn describe(&self) -> String;
    /// Whether `signature` meets the requirement for the manifest `expected`: the authenticated signing times the
    /// check established (a transparency log's integrated time, RFC 3161 timestamps; RFC 3339), none for a key
    /// signature; the error says why not.
    fn check(
        &self,
        signature: &FoundSignature,
        expected: &Digest,
    ) -> std::result::Result<Vec<String>, String>;
}

/// A signature by this key, over the expected digest.
#[derive(Debug, Clone)]
pub struct PublicKeyVerifier {
    key: PublicKey,
}

impl PublicKeyVerifier {
    /// Requires a signature by `key`.
    pub fn new(key: PublicKey) -> PublicKeyVerifier {
        PublicKeyVerifier { key }
    }
}

impl Verifier for PublicKeyVerifier {
    fn describe(&self) -> String {
        format!("signed by key sha256:{}", &self.key.fingerprint()[..16])
    }

    fn check(
        &self,
        signature: &FoundSignature,
        expected: &Digest,
    ) -> std::result::Result<Vec<String>, String> {
        signature
            .check_key(&self.key, expected)
            .map(|()| Vec::new())
    }
}

/// Signed annotations that must be present with these values.
#[derive(Debug, Clone)]
pub struct AnnotationVerifier {
    annotations: BTreeMap<String, String>,
}

impl AnnotationVerifier {
    /// Requires `annotations`.
    pub fn new(annotations: BTreeMap<String, String>) -> AnnotationVerifier {
        AnnotationVerifier { annotations }
    }
}

impl Verifier for AnnotationVerifier {
    fn describe(&self) -> String {
        format!(
            "annotations {}",
            self.annotations
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    fn check(
        &self,
        signature: &FoundSignature,
        _expected: &Digest,
    ) -> std::result::Result<Vec<String>, String> {
        annotations_met(&self.annotations, &signature.annotations).map(|()| Vec::new())
    }
}

/// Whether every `required` annotation is among the `signed` ones with its value; the error names the first
/// that is not.
pub(crate) fn annotations_met(
    required: &BTreeMap<String, String>,
    signed: &BTreeMap<String, String>,
) -> std::result::Result<(), String> {
    for (key, value) in required {
        match signed.get(key) {
            Some(found) if found == value => {}
            Some(found) => {
                return Err(format!("annotation {key} is {found:?}, required {value:?}"));
            }
            None => return Err(format!("annotation {key}={value} is missing")),
        }
    }
    Ok(())
}

/// A keyless requirement (`genericIssuer`, `githubAction`): a Sigstore bundle whose Fulcio certificate chains to
/// the trust root, names the required identity, and was valid when the Rekor entry was made.
#[derive(Debug, Clone)]
pub struct KeylessVerifier {
    description: String,
    identity: Identity,
    trust_root: Option<TrustRoot>,
}

impl KeylessVerifier {
    /// Requires a keyless signature by `identity`, checked against `trust_root` (without one, never met).
    pub fn new(
        description: String,
        identity: Identity,
        trust_root: Option<TrustRoot>,
    ) -> KeylessVerifier {
        KeylessVerifier {
            description,
            identity,
            trust_root,
        }
    }
}

impl Verifier for KeylessVerifier {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn check(
        &self,
        signature: &FoundSignature,
        expected: &Digest,
    ) -> std::result::Result<Vec<String>, String> {
        if let Some(reason) = &signature.unusable {
            return Err(reason.clone());
        }
        if signature.certificate.is_none() {
            return Err("no certificate: not a keyless signature".into());
        }
        let Some(trust_root) = &self.trust_root else {
            return Err(
                "a keyless signature needs a trust root (a Sigstore trusted_root.json) to be checked"
                    .into(),
            );
        };
        if !signature.subject.contains(expected) {
            return Err(format!("signed for another artifact, not {expected}"));
        }
        if let Some(json) = &signature.bundle_json {
            return trust_root
                .verify_keyless_bundle(json, expected, &self.identity)
                .map(|checked| checked.verified_times);
        }
        let Some(layer) = &signature.keyless_layer else {
            return Err("no certificate: not a keyless signature".into());
        };
        trust_root
            .verify_keyless_simple_signing(layer, &self.identity)
            .map(|checked| checked.verified_times)
    }
}

/// All of several verifiers (a key and annotations, typically).
#[derive(Debug)]
pub struct AllVerifiers(pub Vec<Box<dyn Verifier>>);

impl Verifier for AllVerifiers {
    fn describe(&self) -> String {
        self.0
            .iter()
            .map(|v| v.describe())
            .collect::<Vec<_>>()
            .join(" and ")
    }

    fn check(
        &self,
        signature: &FoundSignature,
        expected: &Digest,
    ) -> std::result::Result<Vec<String>, String> {
        let mut times = Vec::new();
        for verifier in &self.0 {
            times.extend(verifier.check(signature, expected)?);
        }
        Ok(times)
    }
}

/// The verifier of one config requirement; keyless requirements are checked against `trust_root`.
pub fn verifier_for(
    requirement: &Requirement,
    trust_root: Option<&TrustRoot>,
) -> Result<Box<dyn Verifier>> {
    let mut verifiers: Vec<Box<dyn Verifier>> = Vec::new();
    if let Requirement::PubKey { key, .. } = requirement {
        verifiers.push(Box::new(PublicKeyVerifier::new(PublicKey::from_pem(
            key.as_bytes(),
        )?)));
    }
    if let Some(identity) = Identity::of(requirement) {
        verifiers.push(Box::new(KeylessVerifier::new(
            requirement.describe(),
            identity,
            trust_root.cloned(),
        )));
    }
    let annotations = requirement.annotations();
    if !annotations.is_empty() {
        verifiers.push(Box::new(AnnotationVerifier::new(annotations)));
    }
    Ok(Box::new(AllVerifiers(verifiers)))
}

/// Which group of the config a requirement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Group {
    /// `allOf`: must be met.
    AllOf,
    /// `anyOf`: counts towards `minimumMatches`.
    AnyOf,
}

/// The outcome of one requirement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequirementResult {
    /// `allOf` or `anyOf`.
    pub group: Group,
    /// The requirement, described.
    pub requirement: String,
    /// The signatures that met it.
    pub satisfied_by: Vec<SignatureSource>,
    /// When those signatures were made, as their transparency-log entries or timestamps authenticate it (RFC 3339);
    /// empty for key signatures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed_at: Vec<String>,
    /// Each other signature and why it did not meet it.
    pub rejected: Vec<Rejection>,
}

impl RequirementResult {
    /// Whether at least one signature met the requirement.
    pub fn is_met(&self) -> bool {
        !self.satisfied_by.is_empty()
    }
}

/// A signature that did not meet a requirement, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    /// The signature.
    pub signature: SignatureSource,
    /// Why.
    pub reason: String,
}

/// The full outcome of evaluating a config, passed or not (for `--output json` and messages).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The reference that was verified, as given.
    pub reference: String,
    /// The manifest digest the signatures were checked against.
    pub manifest_digest: Digest,
    /// How many signatures were found (both layouts).
    pub signatures_found: usize,
    /// One entry per requirement, `allOf` first.
    pub requirements: Vec<RequirementResult>,
    /// `anyOf.minimumMatches` (0 without `anyOf`).
    pub minimum_matches: u8,
    /// Whether the config is met.
    pub verified: bool,
    /// When not verified: which requirement failed and why, in one paragraph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Evaluates `config` against the signatures in `evidence` for `manifest_digest`; never fails because a
/// signature is bad (that is in the report), only when a key in the config is invalid. Keyless requirements are
/// never met: use [`evaluate_with_trust_root`].
pub fn evaluate(
    reference: &str,
    manifest_digest: &Digest,
    evidence: &Evidence,
    config: &VerificationConfig,
) -> Result<Report> {
    evaluate_with_trust_root(reference, manifest_digest, evidence, config, None)
}

/// [`evaluate`], checking keyless requirements against `trust_root`.
pub fn evaluate_with_trust_root(
    reference: &str,
    manifest_digest: &Digest,
    evidence: &Evidence,
    config: &VerificationConfig,
    trust_root: Option<&TrustRoot>,
) -> Result<Report> {
    let mut requirements = Vec::new();
    for (group, requirement) in grouped(config) {
        let verifier = verifier_for(requirement, trust_root)?;
        let mut result = RequirementResult {
            group,
            requirement: requirement.describe(),
            satisfied_by: Vec::new(),
            signed_at: Vec::new(),
            rejected: Vec::new(),
        };
        for signature in evidence.signatures() {
            match verifier.check(signature, manifest_digest) {
                Ok(times) => {
                    result.satisfied_by.push(signature.source.clone());
                    for time in times {
                        if !result.signed_at.contains(&time) {
                            result.signed_at.push(time);
                        }
                    }
                }
                Err(reason) => result.rejected.push(Rejection {
                    signature: signature.source.clone(),
                    reason,
                }),
            }
        }
        requirements.push(result);
    }
    let minimum_matches = config.any_of.as_ref().map_or(0, |a| a.minimum_matches);
    let mut failures = Vec::new();
    if evidence.signatures().is_empty() {
        failures.push(format!(
            "no signatures found for {manifest_digest} (neither a .sig tag nor a bundle referrer)"
        ));
    }
    let outcomes: Vec<Outcome> = requirements
        .iter()
        .map(|r| Outcome {
            group: r.group,
            requirement: &r.requirement,
            unmet: (!r.is_met()).then(|| explain(r)),
        })
        .collect();
    failures.extend(config_failures(config, &outcomes));
    let verified = failures.is_empty();
    Ok(Report {
        reference: reference.to_string(),
        manifest_digest: manifest_digest.clone(),
        signatures_found: evidence.signatures().len(),
        requirements,
        minimum_matches,
        verified,
        failure: (!verified).then(|| failures.join("; ")),
    })
}

/// The config's requirements with their group, `allOf` first.
pub(crate) fn grouped(config: &VerificationConfig) -> impl Iterator<Item = (Group, &Requirement)> {
    let all_of = config.all_of.iter().flatten().map(|r| (Group::AllOf, r));
    let any_of = config
        .any_of
        .iter()
        .flat_map(|a| a.signatures.iter())
        .map(|r| (Group::AnyOf, r));
    all_of.chain(any_of)
}

/// One requirement's outcome, as [`config_failures`] reads it.
pub(crate) struct Outcome<'a> {
    /// `allOf` or `anyOf`.
    pub group: Group,
    /// The requirement, described.
    pub requirement: &'a str,
    /// When not met: why, as ` (…)` or empty.
    pub unmet: Option<String>,
}

/// What keeps `config` from being met: each unmet `allOf` requirement, and `anyOf` when fewer than
/// `minimumMatches` of its requirements are met.
pub(crate) fn config_failures(
    config: &VerificationConfig,
    outcomes: &[Outcome<'_>],
) -> Vec<String> {
    let mut failures = Vec::new();
    for outcome in outcomes.iter().filter(|o| o.group == Group::AllOf) {
        if let Some(why) = &outcome.unmet {
            failures.push(format!(
                "allOf requirement `{}` not met{why}",
                outcome.requirement
            ));
        }
    }
    if let Some(any_of) = &config.any_of {
        let any: Vec<&Outcome<'_>> = outcomes
            .iter()
            .filter(|o| o.group == Group::AnyOf)
            .collect();
        let met = any.iter().filter(|o| o.unmet.is_none()).count();
        if met < usize::from(any_of.minimum_matches) {
            let detail = any
                .iter()
                .filter_map(|o| Some(format!("`{}`{}", o.requirement, o.unmet.as_ref()?)))
                .collect::<Vec<_>>()
                .join("; ");
            failures.push(format!(
                "anyOf needs {} requirement(s) met, {met} are: {detail}",
                any_of.minimum_matches
            ));
        }
    }
    failures
}

fn explain(result: &RequirementResult) -> String {
    if result.rejected.is_empty() {
        return String::new();
    }
    format!(
        " ({})",
        result
            .rejected
            .iter()
            .map(|r| format!("{}: {}", r.signature, r.reason))
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// One requirement that passed, and the signatures that met it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Satisfied {
    /// `allOf` or `anyOf`.
    pub group: Group,
    /// The requirement, described.
    pub requirement: String,
    /// The signatures that met it.
    pub signatures: Vec<SignatureSource>,
}

/// A policy manifest whose signatures met a verification config. There is no public constructor: [`verify`] is
/// the only way to get one, so code that takes a `VerifiedArtifact` only ever runs verified policies.
#[derive(Debug, Clone)]
pub struct VerifiedArtifact {
    reference: String,
    manifest_digest: Digest,
    manifest: ImageManifest,
    satisfied: Vec<Satisfied>,
}

impl VerifiedArtifact {
    /// The reference as given to [`verify`].
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The verified manifest digest: pull by this digest, never by tag.
    pub fn manifest_digest(&self) -> &Digest {
        &self.manifest_digest
    }

    /// The verified manifest.
    pub fn manifest(&self) -> &ImageManifest {
        &self.manifest
    }

    /// The requirements that were met and by which signatures.
    pub fn satisfied(&self) -> &[Satisfied] {
        &self.satisfied
    }

    /// Checks that `module` (the pulled Wasm bytes) is the Wasm layer of the verified manifest, so that what was
    /// verified is exactly what runs. Returns the layer's descriptor.
    pub fn check_module(&self, module: &[u8]) -> Result<&Descriptor> {
        let layer = self
            .manifest
            .layers
            .iter()
            .find(|l| l.media_type == oci_types::WASM_LAYER)
            .ok_or_else(|| SigningError::NotVerified {
                reference: self.reference.clone(),
                reason: format!(
                    "the verified manifest {} has no {} layer",
                    self.manifest_digest,
                    oci_types::WASM_LAYER
                ),
            })?;
        if !layer.digest.matches(module) || layer.size != module.len() as u64 {
            return Err(SigningError::NotVerified {
                reference: self.reference.clone(),
                reason: format!(
                    "the module is not the verified layer {} of manifest {} (its digest is {})",
                    layer.digest,
                    self.manifest_digest,
                    Digest::sha256_of(module)
                ),
            });
        }
        Ok(layer)
    }
}

/// Verifies the policy at `reference` (for messages): `manifest_bytes` must hash to `manifest_digest` (so a
/// manifest swapped after signing is caught), and the signatures in `evidence` must meet `config`. Keyless
/// requirements are never met: use [`verify_with_trust_root`].
pub fn verify(
    reference: &str,
    manifest_digest: &Digest,
    manifest_bytes: &[u8],
    evidence: &Evidence,
    config: &VerificationConfig,
) -> Result<VerifiedArtifact> {
    verify_with_trust_root(
        reference,
        manifest_digest,
        manifest_bytes,
        evidence,
        config,
        None,
    )
}

/// [`verify`], checking keyless requirements against `trust_root` (read from a file: never fetched).
pub fn verify_with_trust_root(
    reference: &str,
    manifest_digest: &Digest,
    manifest_bytes: &[u8],
    evidence: &Evidence,
    config: &VerificationConfig,
    trust_root: Option<&TrustRoot>,
) -> Result<VerifiedArtifact> {
    if !manifest_digest.matches(manifest_bytes) {
        return Err(SigningError::NotVerified {
            reference: reference.to_string(),
            reason: format!(
                "the manifest fetched is not {manifest_digest} (it hashes to {}): it changed after the digest was resolved",
                Digest::compute(manifest_digest.algorithm(), manifest_bytes)
            ),
        });
    }
    let manifest: ImageManifest =
        serde_json::from_slice(manifest_bytes).map_err(|e| SigningError::NotVerified {
            reference: reference.to_string(),
            reason: format!("the manifest {manifest_digest} is not an OCI image manifest: {e}"),
        })?;
    let report =
        evaluate_with_trust_root(reference, manifest_digest, evidence, config, trust_root)?;
    if let Some(failure) = report.failure {
        return Err(SigningError::NotVerified {
            reference: reference.to_string(),
            reason: failure,
        });
    }
    Ok(VerifiedArtifact {
        reference: reference.to_string(),
        manifest_digest: manifest_digest.clone(),
        manifest,
        satisfied: report
            .requirements
            .into_iter()
            .filter(|r| r.is_met())
            .map(|r| Satisfied {
                group: r.group,
                requirement: r.requirement,
                signatures: r.satisfied_by,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AnyOf;
    use crate::keys::PrivateKey;
    use crate::{bundle, simple_signing};

    fn policy() -> (Vec<u8>, Digest) {
        let module = b"\0asm\x01\0\0\0".to_vec();
        let config = Descriptor::of(oci_types::WASM_CONFIG, b"{}");
        let manifest =
            ImageManifest::new(config, vec![Descriptor::of(oci_types::WASM_LAYER, &module)]);
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = Digest::sha256_of(&bytes);
        (bytes, digest)
    }

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn key_config(key: &PrivateKey, required: &[(&str, &str)]) -> VerificationConfig {
        VerificationConfig::for_keys(&[key.public_key().to_pem()], &annotations(required)).unwrap()
    }

    #[test]
    fn a_simple_signing_signature_verifies_and_names_what_it_met() {
        let (manifest, digest) = policy();
        let key = PrivateKey::generate().unwrap();
        let signature =
            simple_signing::sign(&key, "r/p", &digest, &annotations(&[("env", "prod")]));
        let mut evidence = Evidence::new();
        evidence.add_simple_signing_layer(&signature.descriptor(), &signature.payload);
        let verified = verify(
            "r/p:1",
            &digest,
            &manifest,
            &evidence,
            &key_config(&key, &[("env", "prod")]),
        )
        .unwrap();
        assert_eq!(verified.manifest_digest(), &digest);
        assert_eq!(verified.satisfied().len(), 1);
        assert!(verified.check_module(b"\0asm\x01\0\0\0").is_ok());
        assert!(verified.check_module(b"\0asm\x01\0\0\x01").is_err());
    }

    #[test]
    fn a_bundle_verifies() {
        let (manifest, digest) = policy();
        let key = PrivateKey::generate().unwrap();
        let bundle = bundle::sign(&key, &digest, &annotations(&[("env", "prod")]));
        let bytes = bundle.to_bytes();
        let mut evidence = Evidence::new();
        evidence.add_bundle(
            None,
            &Descriptor::of(artifact::cosign::SIGSTORE_BUNDLE_V03, &bytes),
            &bytes,
        );
        verify(
            "r/p:1",
            &digest,
            &manifest,
            &evidence,
            &key_config(&key, &[("env", "prod")]),
        )
        .unwrap();
    }

    #[test]
    fn an_attestation_bundle_is_not_a_signature() {
        let (manifest, digest) = policy();
        let key = PrivateKey::generate().unwrap();
        let bundle = bundle::attest(
            &key,
            "r/p",
            &digest,
            artifact::cosign::SPDX_PREDICATE,
            serde_json::json!({}),
        );
        let bytes = bundle.to_bytes();
        let mut evidence = Evidence::new();
        evidence.add_bundle(
            None,
            &Descriptor::of(artifact::cosign::SIGSTORE_BUNDLE_V03, &bytes),
            &bytes,
        );
        let err = verify(
            "r/p:1",
            &digest,
            &manifest,
            &evidence,
            &key_config(&key, &[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("an attestation"), "{err}");
    }

    #[test]
    fn failures_name_the_check() {
        let (manifest, digest) = policy();
        let key = PrivateKey::generate().unwrap();
        let signature = simple_signing::sign(&key, "r/p", &digest, &annotations(&[("env", "dev")]));
        let mut evidence = Evidence::new();
        evidence.add_signature(&signature);

        // Annotation not met.
        let err = verify(
            "r/p",
            &digest,
            &manifest,
            &evidence,
            &key_config(&key, &[("env", "prod")]),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains(r#"annotation env is "dev", required "prod""#),
            "{err}"
        );
        // Wrong key.
        let stranger = PrivateKey::generate().unwrap();
        let err = verify(
            "r/p",
            &digest,
            &manifest,
            &evidence,
            &key_config(&stranger, &[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("signature check failed"), "{err}");
        // Manifest swapped.
        let err = verify("r/p", &digest, b"{}", &evidence, &key_config(&key, &[])).unwrap_err();
        assert!(
            err.to_string()
                .contains("changed after the digest was resolved"),
            "{err}"
        );
        // Replay: a valid signature of another policy.
        let other = Digest::sha256_of(b"another manifest");
        let replay = simple_signing::sign(&key, "r/p", &other, &BTreeMap::new());
        let mut evidence = Evidence::new();
        evidence.add_signature(&replay);
        let err = verify("r/p", &digest, &manifest, &evidence, &key_config(&key, &[])).unwrap_err();
        assert!(
            err.to_string().contains("a signature of another artifact"),
            "{err}"
        );
        // Nothing at all.
        let err = verify(
            "r/p",
            &digest,
            &manifest,
            &Evidence::new(),
            &key_config(&key, &[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no signatures found"), "{err}");
    }

    #[test]
    fn a_bad_layer_does_not_hide_a_good_one() {
        let (_manifest, digest) = policy();
        let key = PrivateKey::generate().unwrap();
        let good = simple_signing::sign(&key, "r/p", &digest, &BTreeMap::new());
        let mut evidence = Evidence::new();
        evidence.add_simple_signing_layer(&good.descriptor(), b"tampered");
        evidence.add_simple_signing_layer(&good.descriptor(), &good.payload);
        let report = evaluate("r/p", &digest, &evidence, &key_config(&key, &[])).unwrap();
        assert!(report.verified);
        assert_eq!(report.requirements[0].rejected.len(), 1);
        assert!(
            report.requirements[0].rejected[0]
                .reason
                .contains("does not match its content")
        );
    }

    #[test]
    fn any_of_counts_minimum_matches() {
        let (manifest, digest) = policy();
        let alice = PrivateKey::generate().unwrap();
        let bob = PrivateKey::generate().unwrap();
        let carol = PrivateKey::generate().unwrap();
        let mut evidence = Evidence::new();
        evidence.add_signature(&simple_signing::sign(
            &alice,
            "r/p",
            &digest,
            &BTreeMap::new(),
        ));
        evidence.add_signature(&simple_signing::sign(
            &bob,
            "r/p",
            &digest,
            &BTreeMap::new(),
        ));
        let requirement = |k: &PrivateKey| Requirement::PubKey {
            owner: None,
            key: k.public_key().to_pem(),
            annotations: None,
        };
        let config = |minimum_matches| VerificationConfig {
            all_of: None,
            any_of: Some(AnyOf {
                minimum_matches,
                signatures: vec![requirement(&alice), requirement(&bob), requirement(&carol)],
            }),
        };
        let verified = verify("r/p", &digest, &manifest, &evidence, &config(2)).unwrap();
        assert_eq!(verified.satisfied().len(), 2);
        let err = verify("r/p", &digest, &manifest, &evidence, &config(3)).unwrap_err();
        assert!(
            err.to_string()
                .contains("anyOf needs 3 requirement(s) met, 2 are"),
            "{err}"
        );
    }

    #[test]
    fn keyless_requirements_are_never_silently_met() {
        let (manifest, digest) = policy();
        let key = PrivateKey::generate().unwrap();
        let mut evidence = Evidence::new();
        evidence.add_signature(&simple_signing::sign(
            &key,
            "r/p",
            &digest,
            &BTreeMap::new(),
        ));
        let config = VerificationConfig::from_yaml(
            "apiVersion: v1\nallOf:\n  - kind: githubAction\n    owner: kubewarden\n",
        )
        .unwrap();
        let err = verify("r/p", &digest, &manifest, &evidence, &config).unwrap_err();
        assert!(err.to_string().contains("not a keyless signature"), "{err}");
    }

    #[test]
    fn report_serializes_for_json_output() {
        let (_, digest) = policy();
        let key = PrivateKey::generate().unwrap();
        let mut evidence = Evidence::new();
        evidence.add_signature(&simple_signing::sign(
            &key,
            "r/p",
            &digest,
            &BTreeMap::new(),
        ));
        let report = evaluate("r/p", &digest, &evidence, &key_config(&key, &[])).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["verified"], true);
        assert_eq!(json["requirements"][0]["group"], "allOf");
        assert_eq!(
            json["requirements"][0]["satisfiedBy"][0]["layout"],
            "signatureTag"
        );
    }
}
