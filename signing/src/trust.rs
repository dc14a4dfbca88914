//! Trust roots for keyless (certificate-based) signatures.
//!
//! A [`TrustRoot`] is Sigstore's `trusted_root.json` (certificate authorities, Rekor logs, CT logs, timestamp
//! authorities, each with its `validFor` window), read from a file — a bare trusted root as `cosign verify
//! --trusted-root` takes it, or a `ClientTrustConfig` holding one (kwctl's `--sigstore-trust-config` file) — or
//! the Sigstore public-good production root built into the library (never fetched), or fetched through a TUF
//! repository only when asked ([`TrustRoot::from_tuf`], in the `tuf` module).
//!
//! Every keyless signature, in every layout, is checked by the one [`SigstoreVerifier`] of its root: Sigstore
//! bundles as they are, and the `.sig` layout's keyless layers as the bundle their annotations make
//! ([`Signature::to_sigstore_bundle`]), and the certificate it accepted must name Kubewarden's [`Identity`].

use std::sync::Arc;

use artifact::cosign::{SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX, SIGSTORE_TRUSTED_ROOT_PREFIX};
use serde::Deserialize;

use crate::error::{Result, SigningError};
use crate::identity::Identity;
use crate::sigstore_verifier::{Checked, Signed, Signer, SigstoreVerifier};
use crate::simple_signing::Signature;

/// The certificate authorities, transparency logs and timestamp authorities keyless signatures are checked
/// against, with the verifier built from them (cheap to clone).
#[derive(Debug, Clone)]
pub struct TrustRoot {
    verifier: Arc<SigstoreVerifier>,
}

/// What tells a JSON trust root file's form: its media type, and whether it wraps a trusted root.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonForm {
    media_type: Option<String>,
    #[serde(alias = "trusted_root")]
    trusted_root: Option<serde_json::Value>,
}

impl TrustRoot {
    /// The Sigstore public-good production trusted root built into the library (never fetched).
    pub fn production() -> Result<TrustRoot> {
        Ok(TrustRoot {
            verifier: Arc::new(SigstoreVerifier::production()?),
        })
    }

    /// Reads Sigstore's `trusted_root.json` (as `cosign verify --trusted-root` takes it).
    pub fn from_trusted_root_json(bytes: &[u8]) -> Result<TrustRoot> {
        let root: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::TrustRoot(format!("not a Sigstore trusted_root.json: {e}"))
        })?;
        TrustRoot::from_trusted_root(root)
    }

    /// Reads the trusted root of Sigstore's `ClientTrustConfig` (media type
    /// `application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`), the file kwctl's `--sigstore-trust-config`
    /// takes; its signing config (where to sign) does not matter to verification.
    pub fn from_client_trust_config_json(bytes: &[u8]) -> Result<TrustRoot> {
        let json: JsonForm = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::TrustRoot(format!("not a Sigstore ClientTrustConfig: {e}"))
        })?;
        if let Some(media_type) = &json.media_type
            && !media_type.starts_with(SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX)
        {
            return Err(SigningError::TrustRoot(format!(
                "mediaType is {media_type:?}, expected {SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX}.v0.1+json"
            )));
        }
        match json.trusted_root {
            Some(root @ serde_json::Value::Object(_)) => TrustRoot::from_trusted_root(root),
            Some(_) => Err(SigningError::TrustRoot(
                "not a Sigstore ClientTrustConfig: its trustedRoot is not an object".into(),
            )),
            None => Err(SigningError::TrustRoot(
                "the ClientTrustConfig has no trustedRoot".into(),
            )),
        }
    }

    /// Reads either JSON form, told apart by content: a `ClientTrustConfig` when its media type says so or it
    /// wraps a `trustedRoot`, else a `trusted_root.json`. A PEM bundle of CA certificates is refused: it holds no
    /// transparency-log or timestamp-authority keys, so it cannot establish when a short-lived certificate
    /// signed.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<TrustRoot> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(SigningError::TrustRoot(
                "not JSON. A PEM file of CA certificates is not enough to verify a keyless signature \
                 (it has no transparency-log or timestamp-authority keys to establish when it was signed): give a \
                 Sigstore trusted_root.json (`cosign trusted-root create` makes one from PEM files) or a \
                 ClientTrustConfig"
                    .into(),
            ));
        }
        let wrapped = serde_json::from_slice::<JsonForm>(bytes).is_ok_and(|form| {
            form.trusted_root.is_some()
                || form.media_type.is_some_and(|media_type| {
                    media_type.starts_with(SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX)
                })
        });
        if wrapped {
            TrustRoot::from_client_trust_config_json(bytes)
        } else {
            TrustRoot::from_trusted_root_json(bytes)
        }
    }

    pub(crate) fn from_trusted_root(root: serde_json::Value) -> Result<TrustRoot> {
        let media_type = root.get("mediaType").and_then(serde_json::Value::as_str);
        if let Some(media_type) = media_type
            && !media_type.starts_with(SIGSTORE_TRUSTED_ROOT_PREFIX)
        {
            return Err(SigningError::TrustRoot(format!(
                "mediaType is {media_type:?}, expected {SIGSTORE_TRUSTED_ROOT_PREFIX}+json"
            )));
        }
        let authorities = root
            .get("certificateAuthorities")
            .and_then(serde_json::Value::as_array);
        if authorities.is_none_or(Vec::is_empty) {
            return Err(SigningError::TrustRoot(
                "no certificateAuthorities, so no keyless signature can be trusted".into(),
            ));
        }
        Ok(TrustRoot {
            verifier: Arc::new(SigstoreVerifier::from_trusted_root(root)?),
        })
    }

    /// The verifier of Sigstore bundles against this root.
    pub fn verifier(&self) -> &SigstoreVerifier {
        &self.verifier
    }

    /// Checks a keyless Sigstore bundle (`bundle_json`) over `manifest_digest` (sha256) and that its certificate
    /// meets `identity`.
    pub fn verify_keyless_bundle(
        &self,
        bundle_json: &[u8],
        manifest_digest: &artifact::oci::Digest,
        identity: &Identity,
    ) -> std::result::Result<Checked, String> {
        self.verifier.verify(
            Signed::Digest(manifest_digest),
            bundle_json,
            Signer::Identity(identity),
        )
    }

    /// Checks a keyless layer of the `.sig` layout (cosign's certificate, chain, Rekor bundle and RFC 3161
    /// timestamp annotations) as the Sigstore bundle they make, over the layer's payload, and that its
    /// certificate meets `identity`.
    pub fn verify_keyless_simple_signing(
        &self,
        signature: &Signature,
        identity: &Identity,
    ) -> std::result::Result<Checked, String> {
        let bundle = signature.to_sigstore_bundle()?;
        self.verifier.verify(
            Signed::Bytes(&signature.payload),
            &bundle,
            Signer::Identity(identity),
        )
    }
}
