//! `palisade attest`: sign a statement about a policy (an SBOM, provenance…), as `cosign attest` does.

use std::path::PathBuf;

use serde::Serialize;
use signing::attestation::registry::{Attested, attest};
use signing::attestation::{parse_predicate, predicate_type};

use crate::options::RegistryOptions;
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::block_on;
use crate::signing_options::SigningTarget;

/// Attest the policy a reference points to (by digest): an in-toto v1 statement whose subject is the policy
/// manifest and whose predicate is the file given, signed with a cosign key in a DSSE envelope. Stored in the
/// `sha256-<hex>.att` tag (merged with the attestations already there) and, with --bundle, also as a Sigstore
/// bundle referrer.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SigningTarget,
    /// The predicate: a JSON file (an SPDX or CycloneDX SBOM, provenance…).
    #[arg(long, value_name = "FILE")]
    predicate: PathBuf,
    /// The predicate type: spdx (https://spdx.dev/Document), cyclonedx (https://cyclonedx.org/bom) or a URI.
    #[arg(long = "type", value_name = "TYPE")]
    predicate_type: String,
    /// Also attach the attestation as a Sigstore bundle referrer (cosign v3's layout).
    #[arg(long)]
    bundle: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    immutable_ref: String,
    #[serde(flatten)]
    attested: Attested,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let reference = args.target.reference()?;
    let predicate_type = predicate_type(&args.predicate_type)?;
    let predicate = parse_predicate(&artifact::files::read(&args.predicate)?)
        .map_err(|e| anyhow::anyhow!(e).context(args.predicate.display().to_string()))?;
    let key = args.target.private_key()?;
    let remote = args.registry.remote()?;
    let attested = block_on(
        format!("attesting {reference}"),
        attest(
            &remote,
            &reference,
            &key,
            &predicate_type,
            predicate,
            args.bundle,
        ),
    )?
    .map_err(|e| anyhow::anyhow!(e).context(format!("attesting {reference}")))?;
    let report = Report {
        immutable_ref: reference
            .with_digest(attested.manifest_digest.clone())
            .to_string(),
        attested,
    };
    match args.output.format {
        OutputFormat::Text => {
            println!(
                "attested {} ({})",
                report.immutable_ref, report.attested.predicate_type
            );
            println!("  attestation in tag {}", report.attested.attestation_tag);
            if let Some(referrer) = &report.attested.referrer {
                println!("  bundle in referrer {referrer}");
            }
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
