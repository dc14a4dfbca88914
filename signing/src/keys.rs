//! Cosign key files: the encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt + NaCl secretbox around
//! the PKCS#8 DER of an ECDSA P-256 key), unencrypted PKCS#8 (`PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) private
//! keys, and PKIX (`PUBLIC KEY`) public keys.
//!
//! The encryption and decryption of the key file are the `sigstore` crate's own (`crypto::signing_key::kdf`), the
//! code Kubewarden's kwctl and policy-server read keys with; this module adds the PEM framing, the P-256 keys and
//! error messages that say what is wrong.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::der::Decode as _;
use p256::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
};
use sha2::{Digest as _, Sha256};
use sigstore::crypto::signing_key::kdf;
use sigstore::errors::SigstoreError;
use zeroize::Zeroizing;

use crate::error::{Result, SigningError};

/// The PEM label cosign (since v1.x) and sigstore-rs write encrypted private keys with.
pub const ENCRYPTED_SIGSTORE_PRIVATE_KEY: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label older cosign releases wrote encrypted private keys with; still read.
pub const ENCRYPTED_COSIGN_PRIVATE_KEY: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// An unencrypted PKCS#8 private key.
pub const PRIVATE_KEY: &str = "PRIVATE KEY";
/// An unencrypted SEC1 EC private key (as `openssl ecparam -genkey` writes).
pub const EC_PRIVATE_KEY: &str = "EC PRIVATE KEY";
/// A PKIX (SubjectPublicKeyInfo) public key.
pub const PUBLIC_KEY: &str = "PUBLIC KEY";

/// The two files `cosign generate-key-pair` writes, as text: `cosign.key` and `cosign.pub`.
pub struct KeyPairFiles {
    /// The encrypted private key PEM (`ENCRYPTED SIGSTORE PRIVATE KEY`), the content of `cosign.key`.
    pub private_pem: Zeroizing<String>,
    /// The PKIX public key PEM (`PUBLIC KEY`), the content of `cosign.pub`.
    pub public_pem: String,
}

impl fmt::Debug for KeyPairFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPairFiles")
            .field("private_pem", &"<encrypted>")
            .field("public_pem", &self.public_pem)
            .finish()
    }
}

/// Generates a new ECDSA P-256 key pair and returns its files in cosign's format, the private key encrypted with
/// `password` (which may be empty, as cosign allows).
pub fn generate(password: &[u8]) -> Result<KeyPairFiles> {
    let key = PrivateKey::generate()?;
    Ok(KeyPairFiles {
        private_pem: key.to_encrypted_pem(password)?,
        public_pem: key.public_key().to_pem(),
    })
}

/// What a private key PEM holds, by its label: whether loading it needs a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateKeyKind {
    /// cosign's encrypted format; needs the password (possibly empty).
    Encrypted,
    /// PKCS#8 `PRIVATE KEY`, unencrypted.
    Pkcs8,
    /// SEC1 `EC PRIVATE KEY`, unencrypted.
    Sec1,
}

impl PrivateKeyKind {
    /// The kind of private key `pem` holds, from its PEM label, so that a caller asks for a password only when
    /// one is needed.
    pub fn of_pem(pem: &[u8]) -> Result<PrivateKeyKind> {
        let parsed = parse_pem(pem)?;
        kind_of_label(parsed.tag())
    }
}

fn kind_of_label(label: &str) -> Result<PrivateKeyKind> {
    match label {
        ENCRYPTED_SIGSTORE_PRIVATE_KEY | ENCRYPTED_COSIGN_PRIVATE_KEY => {
            Ok(PrivateKeyKind::Encrypted)
        }
        PRIVATE_KEY => Ok(PrivateKeyKind::Pkcs8),
        EC_PRIVATE_KEY => Ok(PrivateKeyKind::Sec1),
        PUBLIC_KEY => Err(SigningError::MalformedKey(
            "this is a public key (`PUBLIC KEY`); signing needs the private key (cosign.key)"
                .into(),
        )),
        other => Err(SigningError::MalformedKey(format!(
            "unexpected PEM label {other:?}: expected {ENCRYPTED_SIGSTORE_PRIVATE_KEY:?}, {PRIVATE_KEY:?} or {EC_PRIVATE_KEY:?}"
        ))),
    }
}

fn parse_pem(pem: &[u8]) -> Result<pem::Pem> {
    pem::parse(pem).map_err(|e| {
        SigningError::MalformedKey(format!(
            "not a PEM file ({e}); expected `-----BEGIN <LABEL>-----`, base64 lines and `-----END <LABEL>-----`"
        ))
    })
}

/// An ECDSA P-256 private key: signs with SHA-256 and ASN.1 DER signatures, as cosign does.
#[derive(Clone)]
pub struct PrivateKey {
    key: SigningKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public_key", &self.public_key())
            .finish()
    }
}

impl PrivateKey {
    /// A new random key from the operating system's random source.
    pub fn generate() -> Result<PrivateKey> {
        use p256::elliptic_curve::Generate as _;
        let key = SigningKey::try_generate()
            .map_err(|e| SigningError::KeyGeneration(format!("no random numbers: {e}")))?;
        Ok(PrivateKey { key })
    }

    /// Loads a private key PEM of any supported kind. `password` opens an encrypted key (cosign's format) and must
    /// be empty for an unencrypted one.
    pub fn from_pem(pem: &[u8], password: &[u8]) -> Result<PrivateKey> {
        let parsed = parse_pem(pem)?;
        match kind_of_label(parsed.tag())? {
            PrivateKeyKind::Encrypted => {
                let der = decrypt(parsed.contents(), password)?;
                PrivateKey::from_pkcs8_der(&der)
            }
            PrivateKeyKind::Pkcs8 => {
                if !password.is_empty() {
                    return Err(SigningError::MalformedKey(
                        "a password was given but the key is not encrypted (`PRIVATE KEY`); unset COSIGN_PASSWORD or use an encrypted key".into(),
                    ));
                }
                PrivateKey::from_pkcs8_der(parsed.contents())
            }
            PrivateKeyKind::Sec1 => {
                if !password.is_empty() {
                    return Err(SigningError::MalformedKey(
                        "a password was given but the key is not encrypted (`EC PRIVATE KEY`); unset COSIGN_PASSWORD or use an encrypted key".into(),
                    ));
                }
                PrivateKey::from_sec1_der(parsed.contents())
            }
        }
    }

    /// A key from the DER of a PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey> {
        let info = p256::pkcs8::PrivateKeyInfoRef::from_der(der)
            .map_err(|e| SigningError::MalformedKey(format!("not a PKCS#8 private key: {e}")))?;
        check_algorithm(info.algorithm.oid, info.algorithm.parameters_oid().ok())?;
        let key = SigningKey::from_pkcs8_der(der)
            .map_err(|e| SigningError::MalformedKey(format!("invalid P-256 private key: {e}")))?;
        Ok(PrivateKey { key })
    }

    /// A key from the DER of a SEC1 `ECPrivateKey`.
    pub fn from_sec1_der(der: &[u8]) -> Result<PrivateKey> {
        let secret = p256::SecretKey::from_sec1_der(der).map_err(|e| {
            SigningError::UnsupportedKey(format!(
                "not a SEC1 P-256 private key ({e}); other curves are not supported"
            ))
        })?;
        Ok(PrivateKey {
            key: SigningKey::from(secret),
        })
    }

    /// The key in cosign's encrypted format (`ENCRYPTED SIGSTORE PRIVATE KEY`), which cosign, kwctl and
    /// `palisade` load with the same password.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<Zeroizing<String>> {
        let der = self.to_pkcs8_der()?;
        let json = kdf::encrypt(&der, password)
            .map_err(|e| SigningError::KeyGeneration(format!("encryption failed: {e}")))?;
        let pem = pem::Pem::new(ENCRYPTED_SIGSTORE_PRIVATE_KEY, json);
        Ok(Zeroizing::new(pem::encode(&pem)))
    }

    /// The key as an unencrypted PKCS#8 `PRIVATE KEY` PEM.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let der = self.to_pkcs8_der()?;
        Ok(Zeroizing::new(pem::encode(&pem::Pem::new(
            PRIVATE_KEY,
            der.to_vec(),
        ))))
    }

    fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = self
            .key
            .to_pkcs8_der()
            .map_err(|e| SigningError::KeyGeneration(format!("PKCS#8 encoding failed: {e}")))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: *self.key.verifying_key(),
        }
    }

    /// Signs `message` with ECDSA P-256 over its SHA-256, returning the ASN.1 DER signature (what cosign stores,
    /// base64-encoded, in the `dev.cosignproject.cosign/signature` annotation). Deterministic (RFC 6979 nonces):
    /// the same key and message always give the same signature, so signing again adds no second layer.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}

fn decrypt(json: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    match kdf::decrypt(json, password) {
        Ok(der) => Ok(Zeroizing::new(der)),
        // The secretbox failed to open: the derived key is wrong, so the password is.
        Err(SigstoreError::PrivateKeyEncryptError(_)) => Err(SigningError::WrongPassword),
        Err(SigstoreError::SerdeJsonError(e)) => Err(SigningError::MalformedKey(format!(
            "the encrypted key is not cosign's JSON (kdf, cipher, ciphertext): {e}"
        ))),
        Err(SigstoreError::PrivateKeyDecryptError(reason)) => {
            Err(SigningError::MalformedKey(format!(
                "cannot decrypt the key: {reason} (cosign writes scrypt N=32768 or 65536, r=8, p=1 and nacl/secretbox)"
            )))
        }
        Err(other) => Err(SigningError::MalformedKey(format!(
            "cannot decrypt the key: {other}"
        ))),
    }
}

/// The OID of `id-ecPublicKey`.
const EC_PUBLIC_KEY_OID: &str = "1.2.840.10045.2.1";
/// The OID of the P-256 (prime256v1, secp256r1) curve.
const P256_OID: &str = "1.2.840.10045.3.1.7";

fn algorithm_name(oid: &str) -> &str {
    match oid {
        "1.2.840.10045.3.1.7" => "ECDSA P-256",
        "1.3.132.0.34" => "ECDSA P-384",
        "1.3.132.0.35" => "ECDSA P-521",
        "1.3.132.0.10" => "ECDSA secp256k1",
        "1.3.101.112" => "Ed25519",
        "1.2.840.113549.1.1.1" => "RSA",
        other => other,
    }
}

fn check_algorithm(
    algorithm: p256::pkcs8::ObjectIdentifier,
    parameters: Option<p256::pkcs8::ObjectIdentifier>,
) -> Result<()> {
    let algorithm = algorithm.to_string();
    if algorithm != EC_PUBLIC_KEY_OID {
        return Err(SigningError::UnsupportedKey(format!(
            "the key is {}",
            algorithm_name(&algorithm)
        )));
    }
    match parameters.map(|p| p.to_string()) {
        Some(curve) if curve == P256_OID => Ok(()),
        Some(curve) => Err(SigningError::UnsupportedKey(format!(
            "the key is {}",
            algorithm_name(&curve)
        ))),
        None => Err(SigningError::MalformedKey(
            "the EC key names no curve".into(),
        )),
    }
}

/// An ECDSA P-256 public key, as in `cosign.pub`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(sha256 {})", self.fingerprint())
    }
}

impl PublicKey {
    /// Loads a PKIX `PUBLIC KEY` PEM.
    pub fn from_pem(pem: &[u8]) -> Result<PublicKey> {
        let parsed = parse_pem(pem)?;
        if parsed.tag() != PUBLIC_KEY {
            let hint = if kind_of_label(parsed.tag()).is_ok() {
                " (this is a private key: verification needs the public key, cosign.pub)"
            } else {
                ""
            };
            return Err(SigningError::MalformedKey(format!(
                "unexpected PEM label {:?}: expected {PUBLIC_KEY:?}{hint}",
                parsed.tag()
            )));
        }
        PublicKey::from_der(parsed.contents())
    }

    /// A key from the DER of a PKIX `SubjectPublicKeyInfo`.
    pub fn from_der(der: &[u8]) -> Result<PublicKey> {
        let info = p256::pkcs8::spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| SigningError::MalformedKey(format!("not a PKIX public key: {e}")))?;
        check_algorithm(info.algorithm.oid, info.algorithm.parameters_oid().ok())?;
        let key = VerifyingKey::from_public_key_der(der)
            .map_err(|e| SigningError::MalformedKey(format!("invalid P-256 public key: {e}")))?;
        Ok(PublicKey { key })
    }

    /// The PKIX DER encoding.
    pub fn to_der(&self) -> Vec<u8> {
        // Encoding a valid P-256 point as SubjectPublicKeyInfo cannot fail.
        match self.key.to_public_key_der() {
            Ok(doc) => doc.as_bytes().to_vec(),
            Err(_) => Vec::new(),
        }
    }

    /// The `PUBLIC KEY` PEM, as in `cosign.pub`.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new(PUBLIC_KEY, self.to_der()))
    }

    /// The lowercase hex SHA-256 of the DER encoding: a short name for the key in messages and reports.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.to_der()))
    }

    /// The key hint of Sigstore bundles (`verificationMaterial.publicKey.hint`): the standard base64 of the SHA-256
    /// of the DER encoding, as cosign and sigstore-go write it.
    pub fn hint(&self) -> String {
        BASE64.encode(Sha256::digest(self.to_der()))
    }

    /// Checks an ASN.1 DER ECDSA signature over `message` (hashed with SHA-256).
    pub fn verify(&self, message: &[u8], signature_der: &[u8]) -> Result<()> {
        let signature = Signature::from_der(signature_der).map_err(|_| {
            SigningError::MalformedSignature(
                "not an ASN.1 DER ECDSA signature (SEQUENCE of r and s)".into(),
            )
        })?;
        self.key.verify(message, &signature).map_err(|_| {
            SigningError::BadSignature(format!(
                "the signature does not match the signed content with key sha256:{}",
                self.fingerprint()
            ))
        })
    }

    /// Checks a base64 ASN.1 DER signature, the way cosign stores them in annotations and bundles.
    pub fn verify_base64(&self, message: &[u8], signature_b64: &str) -> Result<()> {
        let der = BASE64.decode(signature_b64.trim()).map_err(|e| {
            SigningError::MalformedSignature(format!("the signature is not base64: {e}"))
        })?;
        self.verify(message, &der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_load_with_the_password_only() {
        let files = generate(b"hunter2").unwrap();
        assert!(
            files
                .private_pem
                .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
        );
        assert!(files.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(
            PrivateKeyKind::of_pem(files.private_pem.as_bytes()).unwrap(),
            PrivateKeyKind::Encrypted
        );
        let key = PrivateKey::from_pem(files.private_pem.as_bytes(), b"hunter2").unwrap();
        let public = PublicKey::from_pem(files.public_pem.as_bytes()).unwrap();
        assert_eq!(key.public_key(), public);
        let err = PrivateKey::from_pem(files.private_pem.as_bytes(), b"hunter3").unwrap_err();
        assert!(matches!(err, SigningError::WrongPassword), "{err}");
    }

    #[test]
    fn encrypted_json_has_cosigns_fields() {
        let files = generate(b"").unwrap();
        let pem = pem::parse(files.private_pem.as_bytes()).unwrap();
        let json: serde_json::Value = serde_json::from_slice(pem.contents()).unwrap();
        assert_eq!(json["kdf"]["name"], "scrypt");
        assert_eq!(json["kdf"]["params"]["r"], 8);
        assert_eq!(json["kdf"]["params"]["p"], 1);
        assert_eq!(json["cipher"]["name"], "nacl/secretbox");
        let nonce = BASE64
            .decode(json["cipher"]["nonce"].as_str().unwrap())
            .unwrap();
        assert_eq!(nonce.len(), 24);
        let salt = BASE64
            .decode(json["kdf"]["salt"].as_str().unwrap())
            .unwrap();
        assert_eq!(salt.len(), 32);
        assert!(json["ciphertext"].is_string());
    }

    #[test]
    fn signs_and_verifies_der_signatures() {
        let key = PrivateKey::generate().unwrap();
        let signature = key.sign(b"payload");
        assert_eq!(signature[0], 0x30, "ASN.1 SEQUENCE");
        key.public_key().verify(b"payload", &signature).unwrap();
        let err = key
            .public_key()
            .verify(b"payload!", &signature)
            .unwrap_err();
        assert!(matches!(err, SigningError::BadSignature(_)), "{err}");
        let other = PrivateKey::generate().unwrap();
        assert!(other.public_key().verify(b"payload", &signature).is_err());
        let err = key
            .public_key()
            .verify(b"payload", &signature[1..])
            .unwrap_err();
        assert!(matches!(err, SigningError::MalformedSignature(_)), "{err}");
        let err = key
            .public_key()
            .verify_base64(b"payload", "%%%")
            .unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
    }

    #[test]
    fn pkcs8_round_trip_and_password_mismatch() {
        let key = PrivateKey::generate().unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let loaded = PrivateKey::from_pem(pem.as_bytes(), b"").unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        let err = PrivateKey::from_pem(pem.as_bytes(), b"secret").unwrap_err();
        assert!(err.to_string().contains("not encrypted"), "{err}");
    }

    #[test]
    fn rejects_what_is_not_a_key() {
        for (input, expected) in [
            ("hello", "not a PEM file"),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "unexpected PEM label \"CERTIFICATE\"",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "not a PKCS#8 private key",
            ),
            (
                "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
                "not cosign's JSON",
            ),
        ] {
            let err = PrivateKey::from_pem(input.as_bytes(), b"").unwrap_err();
            assert!(err.to_string().contains(expected), "{input}: {err}");
        }
        let key = PrivateKey::generate().unwrap();
        let err = PrivateKey::from_pem(key.public_key().to_pem().as_bytes(), b"").unwrap_err();
        assert!(err.to_string().contains("this is a public key"), "{err}");
        let err = PublicKey::from_pem(key.to_pkcs8_pem().unwrap().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("this is a private key"), "{err}");
    }

    #[test]
    fn hint_is_base64_sha256_of_der() {
        let key = PrivateKey::generate().unwrap().public_key();
        let hint = BASE64.decode(key.hint()).unwrap();
        assert_eq!(hex::encode(hint), key.fingerprint());
    }
}
