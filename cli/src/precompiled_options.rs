//! `policy-server`'s flags naming whom it trusts to sign precompiled modules (`palisade precompile`).

use std::path::PathBuf;

use anyhow::Context;
use evaluator::precompiled::PrecompiledTrust;
use signing::config::VerificationConfig;
use signing::trust::TrustRoot;

use crate::exit::usage_error;
use crate::key_files;

/// Whom the server trusts to sign precompiled modules.
#[derive(Debug, Clone, clap::Args)]
pub struct PrecompiledOptions {
    /// A public key trusted to sign precompiled modules (repeatable: a signature by any one of them will
    /// do). A registry policy whose manifest has a precompiled referrer for this engine signed by it is
    /// loaded from there instead of being compiled; anything that does not verify is compiled, with a
    /// warning.
    #[arg(long, value_name = "FILE")]
    precompiled_key: Vec<PathBuf>,
    /// A verification config (Kubewarden's format) that precompiled modules' signatures must meet, instead
    /// of --precompiled-key.
    #[arg(long, value_name = "FILE", conflicts_with = "precompiled_key")]
    precompiled_verification_config: Option<PathBuf>,
}

impl PrecompiledOptions {
    /// The trust these flags describe, or `None` when no flag names a signer; keyless requirements of a
    /// config are checked against `trust_root`. An unreadable or invalid key or config is a usage error.
    pub fn trust(
        &self,
        trust_root: impl FnOnce() -> anyhow::Result<TrustRoot>,
    ) -> anyhow::Result<Option<PrecompiledTrust>> {
        if let Some(path) = &self.precompiled_verification_config {
            let config = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))
                .and_then(|text| {
                    VerificationConfig::from_yaml(&text).with_context(|| path.display().to_string())
                })
                .map_err(usage_error)?;
            return Ok(Some(PrecompiledTrust::new(config, Some(trust_root()?))));
        }
        if self.precompiled_key.is_empty() {
            return Ok(None);
        }
        let keys = key_files::public_keys(&self.precompiled_key).map_err(usage_error)?;
        let pems: Vec<String> = keys.iter().map(|key| key.to_pem()).collect();
        Ok(Some(
            PrecompiledTrust::for_keys(&pems).map_err(usage_error)?,
        ))
    }
}
