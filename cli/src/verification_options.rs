//! The verification flags shared by `verify`, `run` and `policy-server`: what a policy's signatures must
//! meet (keys and annotations, keyless identities, or a Kubewarden verification config) and the trust root for
//! keyless signatures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use artifact::reference::PolicyRef;
use evaluator::gate::{Admission, Verification};
use signing::config::{Requirement, Subject, VerificationConfig};
use signing::trust::TrustRoot;
use signing::tuf::TufSource;

use crate::environment;
use crate::exit::{UsageError, usage_error};
use crate::options::parse_annotation;
use crate::progress::block_on;

/// What the signatures must meet.
#[derive(Debug, Clone, clap::Args)]
pub struct VerificationOptions {
    /// A public key that must have signed (repeatable: all of them must).
    /// (kwctl's `-k`/`--verification-key` work too.)
    #[arg(long, short = 'k', alias = "verification-key", value_name = "FILE")]
    key: Vec<PathBuf>,
    /// An annotation the signatures must carry (repeatable): KEY=VALUE.
    /// (kwctl's `--verification-annotation` works too.)
    #[arg(
        short = 'a',
        long = "annotation",
        alias = "verification-annotation",
        value_name = "KEY=VALUE",
        value_parser = parse_annotation
    )]
    annotations: Vec<(String, String)>,
    /// A verification config in Kubewarden's format (allOf / anyOf of pubKey, genericIssuer, githubAction),
    /// instead of the flags above.
    /// (Kubewarden's `--verification-path` and kwctl's `--verification-config-path` work too.)
    #[arg(
        long,
        aliases = ["verification-path", "verification-config-path"],
        value_name = "FILE",
        conflicts_with_all = ["key", "certificate_identity", "github_owner"]
    )]
    verification_config: Option<PathBuf>,
    /// A keyless signature must have a certificate for this identity (an email or URI; with
    /// --certificate-oidc-issuer).
    #[arg(
        long,
        alias = "cert-email",
        value_name = "IDENTITY",
        requires = "certificate_oidc_issuer"
    )]
    certificate_identity: Option<String>,
    /// The OIDC issuer of that certificate (e.g. https://token.actions.githubusercontent.com).
    #[arg(
        long,
        alias = "cert-oidc-issuer",
        value_name = "URL",
        requires = "certificate_identity"
    )]
    certificate_oidc_issuer: Option<String>,
    /// A keyless signature must come from GitHub Actions of this owner (user or organization).
    #[arg(long, value_name = "OWNER")]
    github_owner: Option<String>,
    /// ... and of this repository of the owner.
    #[arg(long, value_name = "REPO", requires = "github_owner")]
    github_repo: Option<String>,
    /// The trust root for certificate (keyless) signatures: a Sigstore trusted_root.json (cosign's
    /// `--trusted-root` works too), or a Sigstore ClientTrustConfig holding one (kwctl's
    /// `--sigstore-trust-config` file; that flag works too). Default: the Sigstore public-good root built in
    /// (never fetched unless --tuf or --tuf-url asks).
    #[arg(
        long,
        aliases = ["sigstore-trust-config", "trusted-root"],
        value_name = "FILE"
    )]
    trust_root: Option<PathBuf>,
    /// Fetch the trust root from Sigstore's public-good TUF repository (https://tuf-repo-cdn.sigstore.dev),
    /// verified from the TUF root built in, instead of using the trust root built in.
    #[arg(long, conflicts_with_all = ["trust_root", "tuf_url"])]
    tuf: bool,
    /// Fetch the trust root from this TUF repository, verified from its initial root.json (--tuf-root; built in
    /// for https://tuf-repo-cdn.sigstore.dev and https://tuf-repo.github.com).
    #[arg(long, value_name = "URL", conflicts_with = "trust_root")]
    tuf_url: Option<String>,
    /// The initial root.json of the --tuf-url repository, trusted as given.
    #[arg(long, value_name = "FILE", requires = "tuf_url")]
    tuf_root: Option<PathBuf>,
    /// Where a trust root fetched through TUF keeps its verified metadata, when not in the user's cache folder
    /// (the policy-server's --sigstore-cache-dir).
    #[arg(skip)]
    tuf_cache: Option<PathBuf>,
    /// The trust root once read or fetched, so that a command fetches it once.
    #[arg(skip)]
    resolved: OnceLock<TrustRoot>,
}

/// The trust root in `path` (a trusted_root.json or a ClientTrustConfig), or the Sigstore public-good root built in
/// when there is none; an unreadable or invalid file is a usage error.
pub fn read_trust_root(path: Option<&Path>) -> anyhow::Result<TrustRoot> {
    let Some(path) = path else {
        return Ok(TrustRoot::production()?);
    };
    let bytes = std::fs::read(path)
        .map_err(|e| UsageError(format!("reading the trust root {}: {e}", path.display())))?;
    TrustRoot::from_file_bytes(&bytes)
        .with_context(|| path.display().to_string())
        .map_err(usage_error)
}

/// Fetches the trust root from the TUF repository `source` (progress on a terminal), keeping its verified
/// metadata in `cache` (none: not kept).
fn fetch_trust_root(source: &TufSource, cache: Option<PathBuf>) -> anyhow::Result<TrustRoot> {
    Ok(block_on(
        format!("fetching the trust root from {}", source.url()),
        TrustRoot::from_tuf(source, cache),
    )??)
}

/// What to tell a user who gave no verification flag.
pub const HOW_TO_VERIFY: &str = "--key, --certificate-identity with --certificate-oidc-issuer, --github-owner, or --verification-config";

impl VerificationOptions {
    /// Keeps the metadata of a trust root fetched through TUF in `dir` instead of `palisade/tuf` in the user's
    /// cache folder (a container's home is often read-only; Kubewarden's controller gives a writable folder).
    pub fn keep_tuf_metadata_in(&mut self, dir: Option<PathBuf>) {
        if dir.is_some() {
            self.tuf_cache = dir;
        }
    }

    /// Whether no flag asks for verification.
    pub fn is_empty(&self) -> bool {
        self.key.is_empty()
            && self.verification_config.is_none()
            && self.certificate_identity.is_none()
            && self.github_owner.is_none()
    }

    /// The verification config these flags describe, or `None` when no flag asks for one.
    pub fn config(&self) -> anyhow::Result<Option<VerificationConfig>> {
        if let Some(path) = &self.verification_config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            return VerificationConfig::from_yaml(&text)
                .with_context(|| path.display().to_string())
                .map(Some);
        }
        let requirements = self.requirements()?;
        if requirements.is_empty() {
            return Ok(None);
        }
        Ok(Some(VerificationConfig::all_of(requirements)?))
    }

    /// The config and trust root, or `None` when no flag asks for verification.
    pub fn verification(&self) -> anyhow::Result<Option<Verification>> {
        let Some(config) = self.config()? else {
            return Ok(None);
        };
        Ok(Some(Verification {
            config,
            trust_root: self.trust_root()?,
        }))
    }

    /// The trust root keyless signatures are checked against (also what a policy's own keyless `oci/*/verify`
    /// calls are): `--trust-root`'s, the one fetched from the TUF repository of --tuf or --tuf-url (once per
    /// command), or the Sigstore public-good production root built in. An unreadable or invalid file is a usage
    /// error; a repository that cannot be reached or does not verify fails the command.
    pub fn trust_root(&self) -> anyhow::Result<TrustRoot> {
        if let Some(root) = self.resolved.get() {
            return Ok(root.clone());
        }
        let root = match self.tuf_source()? {
            Some(source) => {
                let cache = self.tuf_cache.clone().or_else(environment::tuf_cache);
                fetch_trust_root(&source, cache)?
            }
            None => read_trust_root(self.trust_root.as_deref())?,
        };
        Ok(self.resolved.get_or_init(|| root).clone())
    }

    /// The TUF repository --tuf or --tuf-url names, if any; an unreadable --tuf-root, or an unknown URL without
    /// one, is a usage error.
    fn tuf_source(&self) -> anyhow::Result<Option<TufSource>> {
        if self.tuf {
            return Ok(Some(TufSource::PublicGood));
        }
        let Some(url) = &self.tuf_url else {
            return Ok(None);
        };
        let root_json = match &self.tuf_root {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                UsageError(format!("reading the TUF root {}: {e}", path.display()))
            })?),
            None => None,
        };
        let source = TufSource::for_url(url, root_json).map_err(|e| match &self.tuf_root {
            Some(path) => usage_error(anyhow::Error::new(e).context(path.display().to_string())),
            None => UsageError(format!("{e} (--tuf-root FILE)")).into(),
        })?;
        Ok(Some(source))
    }

    /// Fail closed: the verification the flags ask for, or no verification only when `insecure` (with a
    /// warning on standard error, every time); neither is a usage error naming the flags to pass.
    pub fn admission(&self, insecure: bool, what: &str) -> anyhow::Result<Admission> {
        match (self.verification()?, insecure) {
            (Some(verification), _) => Ok(Admission::Verify(verification)),
            (None, true) => {
                eprintln!(
                    "warning: {what} runs WITHOUT signature verification (development only; to verify it pass {HOW_TO_VERIFY})"
                );
                Ok(Admission::InsecureSkipVerification)
            }
            (None, false) => Err(UsageError(format!(
                "{what} must be verified before it runs: pass {HOW_TO_VERIFY} (or --insecure-skip-verification, for development only)"
            ))
            .into()),
        }
    }

    /// [`VerificationOptions::admission`] for one policy: a local file without verification flags is a
    /// development run (unverified, with the warning), a reference never is.
    pub fn admission_for(
        &self,
        source: &PolicyRef,
        insecure: bool,
        what: &str,
    ) -> anyhow::Result<Admission> {
        let unverified_file = matches!(source, PolicyRef::File(_)) && self.is_empty();
        self.admission(insecure || unverified_file, what)
    }

    /// The requirements the individual flags ask for: one per key, one for a certificate identity, one for a
    /// GitHub owner; `-a` annotations apply to each.
    fn requirements(&self) -> anyhow::Result<Vec<Requirement>> {
        let annotations: BTreeMap<String, String> = self.annotations.iter().cloned().collect();
        let constraint = (!annotations.is_empty()).then_some(annotations);
        let mut requirements = Vec::new();
        for path in &self.key {
            let key = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            requirements.push(Requirement::PubKey {
                owner: None,
                key,
                annotations: constraint.clone(),
            });
        }
        if let (Some(identity), Some(issuer)) =
            (&self.certificate_identity, &self.certificate_oidc_issuer)
        {
            requirements.push(Requirement::GenericIssuer {
                issuer: issuer.clone(),
                subject: Subject::Equal(identity.clone()),
                annotations: constraint.clone(),
            });
        }
        if let Some(owner) = &self.github_owner {
            requirements.push(Requirement::GithubAction {
                owner: owner.clone(),
                repo: self.github_repo.clone(),
                annotations: constraint,
            });
        }
        if requirements.is_empty() && !self.annotations.is_empty() {
            return Err(UsageError(format!(
                "-a/--annotation constrains a signature requirement: pass {HOW_TO_VERIFY} too"
            ))
            .into());
        }
        Ok(requirements)
    }
}
