//! `palisade verify`: check a policy's signatures against keys or a verification config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use signing::config::VerificationConfig;
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
    #[arg(long, value_name = "FILE", conflicts_with = "verification_config")]
    key: Vec<PathBuf>,
    /// An annotation the signatures must carry (repeatable): KEY=VALUE.
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE", value_parser = parse_annotation)]
    annotations: Vec<(String, String)>,
    /// A verification config in Kubewarden's format (allOf / anyOf of pubKey, genericIssuer, githubAction).
    #[arg(long, value_name = "FILE")]
    verification_config: Option<PathBuf>,
    /// The trust root for certificate (keyless) signatures: a Sigstore trusted_root.json or a PEM CA bundle.
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryOptions,
    /// How to print the report.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let reference = registry_ref(&args.reference)?;
    let annotations: BTreeMap<String, String> = args.annotations.into_iter().collect();
    let config = match (&args.verification_config, args.key.is_empty()) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            VerificationConfig::from_yaml(&text).with_context(|| path.display().to_string())?
        }
        (None, false) => {
            let keys = args
                .key
                .iter()
                .map(|path| {
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            VerificationConfig::for_keys(&keys, &annotations)?
        }
        (None, true) => {
            return Err(UsageError(
                "say what to verify against: --key FILE or --verification-config FILE".into(),
            )
            .into());
        }
    };
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
    let verified = checked.verified?;
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
