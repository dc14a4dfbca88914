//! `palisade verify`: check a policy's signatures against keys or a verification config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use signing::config::{Requirement, Subject, VerificationConfig};
use signing::trust::TrustRoot;

use crate::commands::UsageError;
use crate::options::{RegistryOptions, parse_annotation, registry_ref};
use crate::output::{OutputFormat, print_structured};
use crate::progress::block_on;

/// Verify the signatures of a policy in a registry (both cosign layouts: the `.sig` tag and Sigstore bundle
/// referrers). Exits 0 when the requirements are met, 1 when they are not.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    reference: String,
    /// A public key that must have signed (repeatable: all of them must).
    #[arg(long, value_name = "FILE")]
    key: Vec<PathBuf>,
    /// An annotation the signatures must carry (repeatable): KEY=VALUE.
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE", value_parser = parse_annotation)]
    annotations: Vec<(String, String)>,
    /// A verification config in Kubewarden's format (allOf / anyOf of pubKey, genericIssuer, githubAction),
    /// instead of the flags above.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "certificate_identity", "github_owner"])]
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
    /// The trust root for certificate (keyless) signatures: a Sigstore trusted_root.json or a PEM CA bundle.
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryOptions,
    /// How to print the report.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// The requirements the flags ask for: one per key, one for a certificate identity, one for a GitHub owner.
fn requirements(
    args: &Args,
    annotations: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<Requirement>> {
    let constraint = (!annotations.is_empty()).then(|| annotations.clone());
    let mut requirements = Vec::new();
    for path in &args.key {
        let key =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        requirements.push(Requirement::PubKey {
            owner: None,
            key,
            annotations: constraint.clone(),
        });
    }
    if let (Some(identity), Some(issuer)) =
        (&args.certificate_identity, &args.certificate_oidc_issuer)
    {
        requirements.push(Requirement::GenericIssuer {
            issuer: issuer.clone(),
            subject: Subject::Equal(identity.clone()),
            annotations: constraint.clone(),
        });
    }
    if let Some(owner) = &args.github_owner {
        requirements.push(Requirement::GithubAction {
            owner: owner.clone(),
            repo: args.github_repo.clone(),
            annotations: constraint,
        });
    }
    if requirements.is_empty() {
        return Err(UsageError(
            "say what to verify against: --key, --certificate-identity with --certificate-oidc-issuer, --github-owner, or --verification-config".into(),
        )
        .into());
    }
    Ok(requirements)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let reference = registry_ref(&args.reference)?;
    let annotations: BTreeMap<String, String> = args.annotations.iter().cloned().collect();
    let config = match &args.verification_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            VerificationConfig::from_yaml(&text).with_context(|| path.display().to_string())?
        }
        None => VerificationConfig::all_of(requirements(&args, &annotations)?)?,
    };
    let keyless = config.requirements().any(|r| {
        matches!(
            r,
            Requirement::GenericIssuer { .. } | Requirement::GithubAction { .. }
        )
    });
    if keyless && args.trust_root.is_none() {
        return Err(
            UsageError("keyless requirements need a trust root: --trust-root FILE".into()).into(),
        );
    }
    let trust_root = args
        .trust_root
        .as_ref()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            TrustRoot::from_file_bytes(&bytes).with_context(|| path.display().to_string())
        })
        .transpose()?;
    let remote = args.registry.remote()?;
    let checked = block_on(
        format!("verifying {reference}"),
        signing::registry::check(&remote, &reference, &config, trust_root.as_ref()),
    )??;
    if args.output != OutputFormat::Text {
        print_structured(args.output, &checked.report)?;
    }
    let in_github_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let verified = match checked.verified {
        Ok(verified) => verified,
        Err(err) => {
            if in_github_actions {
                // One annotated line on the workflow run; the full message follows on standard error.
                eprintln!("::error title=palisade verify::{reference} is not verified");
            }
            return Err(err.into());
        }
    };
    if in_github_actions {
        eprintln!(
            "::notice title=palisade verify::verified {}",
            reference.with_digest(verified.manifest_digest().clone())
        );
    }
    if args.output == OutputFormat::Text {
        println!(
            "verified {}",
            reference.with_digest(verified.manifest_digest().clone())
        );
        for requirement in checked.report.requirements.iter().filter(|r| r.is_met()) {
            println!("  {}", requirement.requirement);
        }
    }
    if !checked.report.verified {
        bail!("{reference}: the report says not verified");
    }
    Ok(())
}
