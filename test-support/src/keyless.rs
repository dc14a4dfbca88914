//! A private Sigstore instance, for real keyless signatures made offline: a Fulcio-like certificate authority that
//! issues short-lived certificates (identity in the SAN, OIDC issuer and source repository in Fulcio's extensions)
//! with an SCT embedded by its own CT log, a Rekor-like transparency log that answers each entry with a signed entry
//! timestamp and an inclusion proof under a signed checkpoint, and the `trusted_root.json` that trusts these three.
//!
//! [`SigstoreInstance::sign_manifest`] signs a manifest digest the way `cosign sign` v3 does (a Sigstore bundle
//! v0.3: a DSSE envelope around an in-toto statement, logged as a `dsse` entry); [`SigstoreInstance::sign_payload`]
//! signs a simple-signing payload the way cosign's `.sig` layout does (logged as a `hashedrekord` entry, returned as
//! the layer annotations cosign writes). Nothing is mocked: each key is a real P-256 key and every signature,
//! proof and timestamp verifies as the public-good instance's do.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PublicKeyData as _, SanType, SigningKey as _,
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use x509_cert::der::{Decode as _, Encode as _};

/// Fulcio's OIDC issuer extension (DER UTF8String).
const ISSUER_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 8];
/// Fulcio's source repository URI extension (DER UTF8String).
const SOURCE_REPOSITORY_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 12];
/// RFC 6962's embedded SCT list extension.
const SCT_LIST_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];
/// The OIDC issuer of GitHub Actions.
const GITHUB_ACTIONS: &str = "https://token.actions.githubusercontent.com";
/// When every key of the trusted root became valid.
const VALID_FROM: &str = "2020-01-01T00:00:00Z";
/// The transparency log's name, in its checkpoints.
const LOG_ORIGIN: &str = "rekor.palisade.test";
/// Entries already in the log before the first signature, so that inclusion proofs have hashes.
const EARLIER_ENTRIES: usize = 5;

/// Who a certificate is issued to: the identity Fulcio puts in its SAN, the OIDC issuer that vouched for it and,
/// for CI workflows, the source repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessSigner {
    /// The SAN: an email address, or a URI (a CI workflow).
    pub identity: SignerIdentity,
    /// The OIDC issuer.
    pub issuer: String,
    /// The source repository URI (`https://github.com/owner/repo`), for CI workflows.
    pub source_repository: Option<String>,
}

/// A certificate's subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerIdentity {
    /// An email address (`rfc822Name`).
    Email(String),
    /// A URI.
    Uri(String),
}

impl KeylessSigner {
    /// A person who signed in at `issuer` as `email`.
    pub fn email(email: &str, issuer: &str) -> KeylessSigner {
        KeylessSigner {
            identity: SignerIdentity::Email(email.to_string()),
            issuer: issuer.to_string(),
            source_repository: None,
        }
    }

    /// The release workflow of the GitHub repository `owner/repo`, in GitHub Actions.
    pub fn github_workflow(repository: &str) -> KeylessSigner {
        KeylessSigner {
            identity: SignerIdentity::Uri(format!(
                "https://github.com/{repository}/.github/workflows/release.yml@refs/tags/v1.0.0"
            )),
            issuer: GITHUB_ACTIONS.to_string(),
            source_repository: Some(format!("https://github.com/{repository}")),
        }
    }
}

/// A keyless signature in cosign's `.sig` layout: the values of the layer annotations cosign writes.
#[derive(Debug, Clone)]
pub struct SigLayerSignature {
    /// `dev.cosignproject.cosign/signature`: the base64 DER signature over the payload.
    pub signature: String,
    /// `dev.sigstore.cosign/certificate`: the signing certificate, PEM.
    pub certificate: String,
    /// `dev.sigstore.cosign/chain`: the certificate authority, PEM.
    pub chain: String,
    /// `dev.sigstore.cosign/bundle`: the Rekor bundle (signed entry timestamp and entry), JSON.
    pub bundle: String,
}

/// A transparency-log entry as the log answers it.
struct LoggedEntry {
    index: usize,
    integrated_time: u64,
    signed_entry_timestamp: Vec<u8>,
    tree_size: usize,
    root_hash: [u8; 32],
    proof: Vec<[u8; 32]>,
    checkpoint: String,
}

/// A certificate authority, a CT log and a transparency log of our own, and the trusted root naming them.
pub struct SigstoreInstance {
    authority_key: KeyPair,
    authority_params: CertificateParams,
    authority_der: Vec<u8>,
    authority_pem: String,
    ct_log: Arc<KeyPair>,
    rekor: Arc<KeyPair>,
    /// The leaf hashes of every entry of the transparency log, in order.
    log: Arc<Mutex<Vec<[u8; 32]>>>,
}

fn fail(what: &str, err: impl std::fmt::Display) -> ! {
    panic!("{what}: {err}")
}

fn p256_key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap_or_else(|e| fail("generating a key", e))
}

fn sign(key: &KeyPair, message: &[u8]) -> Vec<u8> {
    key.sign(message).unwrap_or_else(|e| fail("signing", e))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_else(|e| fail("reading the clock", e))
}

/// A DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let length = content.len().to_be_bytes();
    let significant = length
        .iter()
        .skip_while(|b| **b == 0)
        .copied()
        .collect::<Vec<_>>();
    if content.len() < 0x80 {
        out.push(content.len() as u8);
    } else {
        out.push(0x80 | significant.len() as u8);
        out.extend(significant);
    }
    out.extend_from_slice(content);
    out
}

/// A TLS vector with a 16-bit length.
fn tls_u16(content: &[u8]) -> Vec<u8> {
    let length = u16::try_from(content.len()).unwrap_or_else(|e| fail("a TLS vector", e));
    [&length.to_be_bytes()[..], content].concat()
}

/// A certificate in PEM.
fn pem_of(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// RFC 6962's Merkle tree hash of `leaves` (leaf hashes).
fn tree_hash(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves {
        [] => sha256(b""),
        [leaf] => *leaf,
        _ => {
            let split = split_point(leaves.len());
            let (left, right) = leaves.split_at(split);
            node_hash(&tree_hash(left), &tree_hash(right))
        }
    }
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    sha256(&[&[1u8][..], left, right].concat())
}

/// The largest power of two smaller than `n` (n > 1).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962's audit path of leaf `index` in `leaves`.
fn audit_path(index: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let split = split_point(leaves.len());
    let (left, right) = leaves.split_at(split);
    if index < split {
        let mut path = audit_path(index, left);
        path.push(tree_hash(right));
        path
    } else {
        let mut path = audit_path(index - split, right);
        path.push(tree_hash(left));
        path
    }
}

impl Default for SigstoreInstance {
    fn default() -> Self {
        SigstoreInstance::new()
    }
}

impl SigstoreInstance {
    /// A new instance: fresh keys, and a log holding a few earlier entries.
    pub fn new() -> SigstoreInstance {
        let earlier = (0..EARLIER_ENTRIES)
            .map(|i| sha256(&[&[0u8][..], format!("earlier entry {i}").as_bytes()].concat()))
            .collect();
        SigstoreInstance::with_logs(
            Arc::new(p256_key()),
            Arc::new(p256_key()),
            Arc::new(Mutex::new(earlier)),
        )
    }

    fn with_logs(
        ct_log: Arc<KeyPair>,
        rekor: Arc<KeyPair>,
        log: Arc<Mutex<Vec<[u8; 32]>>>,
    ) -> SigstoreInstance {
        let authority_key = p256_key();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "palisade.test");
        params
            .distinguished_name
            .push(DnType::CommonName, "fulcio.palisade.test");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let certificate = params
            .self_signed(&authority_key)
            .unwrap_or_else(|e| fail("making the certificate authority", e));
        SigstoreInstance {
            authority_der: certificate.der().to_vec(),
            authority_pem: pem_of(certificate.der()),
            authority_key,
            authority_params: params,
            ct_log,
            rekor,
            log,
        }
    }

    /// Another certificate authority that this instance's trusted root does not name, with the same CT and
    /// transparency logs: what someone running their own Fulcio could make.
    pub fn rogue_authority(&self) -> SigstoreInstance {
        SigstoreInstance::with_logs(self.ct_log.clone(), self.rekor.clone(), self.log.clone())
    }

    /// The `trusted_root.json` trusting this instance's certificate authority, CT log and transparency log.
    pub fn trusted_root_json(&self) -> Vec<u8> {
        let key = |pair: &KeyPair| {
            let spki = pair.subject_public_key_info();
            (STANDARD.encode(&spki), STANDARD.encode(sha256(&spki)))
        };
        let (rekor_key, rekor_id) = key(&self.rekor);
        let (ct_key, ct_id) = key(&self.ct_log);
        let log = |url: &str, raw: &str, id: &str| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": raw,
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": VALID_FROM},
                },
                "logId": {"keyId": id},
            })
        };
        let root = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&format!("https://{LOG_ORIGIN}"), &rekor_key, &rekor_id)],
            "certificateAuthorities": [{
                "subject": {"organization": "palisade.test", "commonName": "fulcio.palisade.test"},
                "uri": "https://fulcio.palisade.test",
                "certChain": {"certificates": [{"rawBytes": STANDARD.encode(&self.authority_der)}]},
                "validFor": {"start": VALID_FROM},
            }],
            "ctlogs": [log("https://ctfe.palisade.test", &ct_key, &ct_id)],
            "timestampAuthorities": [],
        });
        serde_json::to_vec_pretty(&root).unwrap_or_else(|e| fail("the trusted root", e))
    }

    /// Signs `manifest_digest` (`sha256:…`) as `signer`, the way `cosign sign` v3 does: an in-toto statement with
    /// predicate type `https://sigstore.dev/cosign/sign/v1` in a DSSE envelope, signed with a fresh key certified
    /// for `signer`, logged as a `dsse` entry; returns the Sigstore bundle v0.3 JSON.
    pub fn sign_manifest(&self, signer: &KeylessSigner, manifest_digest: &str) -> Vec<u8> {
        let hex = manifest_digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| fail("a manifest digest", manifest_digest));
        let statement = format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"digest":{{"sha256":"{hex}"}},"annotations":{{}}}}],"predicateType":"https://sigstore.dev/cosign/sign/v1"}}"#
        );
        let payload_type = "application/vnd.in-toto+json";
        let key = p256_key();
        let certificate = self.certify(signer, &key);
        let pae = [
            format!(
                "DSSEv1 {} {payload_type} {} ",
                payload_type.len(),
                statement.len()
            )
            .as_bytes(),
            statement.as_bytes(),
        ]
        .concat();
        let signature = STANDARD.encode(sign(&key, &pae));
        let envelope = json!({
            "payloadType": payload_type,
            "payload": STANDARD.encode(&statement),
            "signatures": [{"sig": signature}],
        });
        let envelope_json =
            serde_json::to_vec(&envelope).unwrap_or_else(|e| fail("the envelope", e));
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": hex::encode(sha256(&envelope_json))},
                "payloadHash": {"algorithm": "sha256", "value": hex::encode(sha256(statement.as_bytes()))},
                "signatures": [{
                    "signature": signature,
                    "verifier": STANDARD.encode(pem_of(&certificate)),
                }],
            },
        });
        let body = serde_json::to_vec(&body).unwrap_or_else(|e| fail("the entry", e));
        let entry = self.log_entry(&body);
        let bundle = json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": STANDARD.encode(&certificate)},
                "tlogEntries": [{
                    "logIndex": entry.index.to_string(),
                    "logId": {"keyId": STANDARD.encode(self.rekor_log_id())},
                    "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                    "integratedTime": entry.integrated_time.to_string(),
                    "inclusionPromise": {"signedEntryTimestamp": STANDARD.encode(&entry.signed_entry_timestamp)},
                    "inclusionProof": {
                        "logIndex": entry.index.to_string(),
                        "rootHash": STANDARD.encode(entry.root_hash),
                        "treeSize": entry.tree_size.to_string(),
                        "hashes": entry.proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
                        "checkpoint": {"envelope": entry.checkpoint},
                    },
                    "canonicalizedBody": STANDARD.encode(&body),
                }],
                "timestampVerificationData": {},
            },
            "dsseEnvelope": envelope,
        });
        serde_json::to_vec(&bundle).unwrap_or_else(|e| fail("the bundle", e))
    }

    /// Signs `payload` (cosign's simple-signing JSON) as `signer`, the way cosign's `.sig` layout does: with a
    /// fresh key certified for `signer`, logged as a `hashedrekord` entry; returns the layer's annotations.
    pub fn sign_payload(&self, signer: &KeylessSigner, payload: &[u8]) -> SigLayerSignature {
        let key = p256_key();
        let certificate = self.certify(signer, &key);
        let signature = STANDARD.encode(sign(&key, payload));
        let certificate_pem = pem_of(&certificate);
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(sha256(payload))}},
                "signature": {
                    "content": signature,
                    "publicKey": {"content": STANDARD.encode(&certificate_pem)},
                },
            },
        });
        let body = serde_json::to_vec(&body).unwrap_or_else(|e| fail("the entry", e));
        let entry = self.log_entry(&body);
        let bundle = json!({
            "SignedEntryTimestamp": STANDARD.encode(&entry.signed_entry_timestamp),
            "Payload": {
                "body": STANDARD.encode(&body),
                "integratedTime": entry.integrated_time,
                "logIndex": entry.index,
                "logID": hex::encode(self.rekor_log_id()),
            },
        });
        SigLayerSignature {
            signature,
            certificate: certificate_pem,
            chain: self.authority_pem.clone(),
            bundle: bundle.to_string(),
        }
    }

    fn rekor_log_id(&self) -> [u8; 32] {
        sha256(&self.rekor.subject_public_key_info())
    }

    /// A certificate for `key` naming `signer`, valid for ten minutes from five minutes ago, with an SCT from
    /// the CT log over its precertificate (the certificate without the SCT list).
    fn certify(&self, signer: &KeylessSigner, key: &KeyPair) -> Vec<u8> {
        let issued = now() - Duration::from_secs(300);
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.not_before = epoch + issued;
        params.not_after = epoch + issued + Duration::from_secs(600);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        let ia5 = |text: &str| {
            text.to_string()
                .try_into()
                .unwrap_or_else(|e| fail("a SAN", e))
        };
        params.subject_alt_names = vec![match &signer.identity {
            SignerIdentity::Email(email) => SanType::Rfc822Name(ia5(email)),
            SignerIdentity::Uri(uri) => SanType::URI(ia5(uri)),
        }];
        let utf8 = |text: &str| der(0x0c, text.as_bytes());
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            ISSUER_OID,
            utf8(&signer.issuer),
        )];
        if let Some(repository) = &signer.source_repository {
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    SOURCE_REPOSITORY_OID,
                    utf8(repository),
                ));
        }
        let issuer = Issuer::from_params(&self.authority_params, &self.authority_key);
        let issue = |params: &CertificateParams| {
            params
                .signed_by(key, &issuer)
                .unwrap_or_else(|e| fail("issuing a certificate", e))
                .der()
                .to_vec()
        };
        // rcgen writes custom extensions last and in order, so the certificate with the SCT list appended is
        // the precertificate plus that extension, as RFC 6962 requires.
        let precertificate = issue(&params);
        let tbs = x509_cert::Certificate::from_der(&precertificate)
            .and_then(|certificate| certificate.tbs_certificate().to_der())
            .unwrap_or_else(|e| fail("reading the precertificate", e));
        let sct_list = self.sct_list(&tbs, issued.as_millis() as u64);
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                SCT_LIST_OID,
                der(0x04, &sct_list),
            ));
        issue(&params)
    }

    /// The TLS-encoded SCT list of one timestamp from the CT log over the precertificate `tbs`.
    fn sct_list(&self, tbs: &[u8], timestamp_ms: u64) -> Vec<u8> {
        let issuer_key_hash = sha256(&self.authority_key.subject_public_key_info());
        let tbs_length = u32::try_from(tbs.len()).unwrap_or_else(|e| fail("a precertificate", e));
        let signed = [
            &[0u8, 0][..], // v1, certificate_timestamp
            &timestamp_ms.to_be_bytes(),
            &1u16.to_be_bytes(), // precert_entry
            &issuer_key_hash,
            &tbs_length.to_be_bytes()[1..],
            tbs,
            &tls_u16(&[]), // no extensions
        ]
        .concat();
        let signature = sign(&self.ct_log, &signed);
        let sct = [
            &[0u8][..], // v1
            &sha256(&self.ct_log.subject_public_key_info()),
            &timestamp_ms.to_be_bytes(),
            &tls_u16(&[]),
            &[4, 3], // sha256, ecdsa
            &tls_u16(&signature),
        ]
        .concat();
        tls_u16(&tls_u16(&sct))
    }

    /// Appends `body` to the transparency log, integrated a minute ago: its signed entry timestamp, and its
    /// inclusion proof in the tree it ends, under a signed checkpoint.
    fn log_entry(&self, body: &[u8]) -> LoggedEntry {
        let integrated_time = (now() - Duration::from_secs(60)).as_secs();
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(|e| fail("the transparency log", e));
        log.push(sha256(&[&[0u8][..], body].concat()));
        let index = log.len() - 1;
        let root_hash = tree_hash(&log);
        let proof = audit_path(index, &log);
        let tree_size = log.len();
        drop(log);
        let promise: Value = json!({
            "body": STANDARD.encode(body),
            "integratedTime": integrated_time,
            "logID": hex::encode(self.rekor_log_id()),
            "logIndex": index,
        });
        let signed_entry_timestamp = sign(
            &self.rekor,
            &serde_json::to_vec(&promise).unwrap_or_else(|e| fail("the promise", e)),
        );
        let note = format!(
            "{LOG_ORIGIN} - 1\n{tree_size}\n{}\n",
            STANDARD.encode(root_hash)
        );
        let note_signature = [
            &self.rekor_log_id()[..4],
            &sign(&self.rekor, note.as_bytes()),
        ]
        .concat();
        let checkpoint = format!(
            "{note}\n— {LOG_ORIGIN} {}\n",
            STANDARD.encode(note_signature)
        );
        LoggedEntry {
            index,
            integrated_time,
            signed_entry_timestamp,
            tree_size,
            root_hash,
            proof,
            checkpoint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_paths_lead_to_the_root() {
        let leaves: Vec<[u8; 32]> = (0..7u8).map(|i| sha256(&[0, i])).collect();
        for index in 0..leaves.len() {
            // RFC 9162's verification, written out: combine the path from the leaf up.
            let (mut fn_, mut sn) = (index, leaves.len() - 1);
            let mut hash = leaves[index];
            for sibling in audit_path(index, &leaves) {
                if fn_ % 2 == 1 || fn_ == sn {
                    hash = node_hash(&sibling, &hash);
                    while fn_ % 2 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                } else {
                    hash = node_hash(&hash, &sibling);
                }
                fn_ >>= 1;
                sn >>= 1;
            }
            assert_eq!(hash, tree_hash(&leaves), "leaf {index}");
        }
    }
}
