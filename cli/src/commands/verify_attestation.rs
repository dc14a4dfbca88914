//! `palisade verify-attestation`: check the attestations of a policy (both cosign layouts).

use std::path::PathBuf;

use anyhow::bail;
use signing::attestation::predicate_type;
use signing::attestation::registry::check;

use crate::key_files;
use crate::options::{RegistryOptions, registry_ref};
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::block_on;

/// Verify the attestations of a policy in a registry: the `sha256-<hex>.att` tag and Sigstore bundle referrers.
/// Each is checked for a DSSE signature by the key, a statement about the policy's manifest digest and, with
/// --type, the predicate type. Exits 0 when at least one verifies, 1 when none does.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    reference: String,
    /// A public key (cosign.pub); repeatable: an attestation by any of them verifies.
    #[arg(long, value_name = "FILE", required = true)]
    key: Vec<PathBuf>,
    /// Only attestations of this predicate type: spdx, cyclonedx or a URI.
    #[arg(long = "type", value_name = "TYPE")]
    predicate_type: Option<String>,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    output: OutputOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let reference = registry_ref(&args.reference)?;
    let wanted = args
        .predicate_type
        .as_deref()
        .map(predicate_type)
        .transpose()?;
    let keys = key_files::public_keys(&args.key)?;
    let remote = args.registry.remote()?;
    let report = block_on(
        format!("verifying the attestations of {reference}"),
        check(&remote, &reference, &keys, wanted.as_deref()),
    )??;
    match args.output.format {
        OutputFormat::Text => {
            let pinned = reference.with_digest(report.manifest_digest.clone());
            let verified = report.verified().count();
            println!(
                "{pinned}: {verified} of {} attestations verified",
                report.attestations.len()
            );
            for attestation in &report.attestations {
                let predicate = attestation.predicate_type.as_deref().unwrap_or("-");
                match (&attestation.signed_by, &attestation.reason) {
                    (Some(key), _) => println!(
                        "  verified  {predicate}  {}  signed by {key}",
                        attestation.source
                    ),
                    (None, reason) => println!(
                        "  failed    {predicate}  {}: {}",
                        attestation.source,
                        reason.as_deref().unwrap_or("not verified")
                    ),
                }
            }
        }
        format => print_structured(format, &report)?,
    }
    if !report.verified {
        let what = wanted.map(|t| format!(" of type {t}")).unwrap_or_default();
        bail!("no attestation{what} of {reference} verifies with the key(s) given");
    }
    Ok(())
}
