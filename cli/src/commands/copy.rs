//! `palisade copy`: a policy from one registry to another, with its signatures and referrers.

use serde::Serialize;

use crate::options::{RegistryOptions, registry_ref};
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::Activity;

/// Copy a policy between registries, byte for byte, with cosign's `.sig`, `.att` and `.sbom` tags and
/// the OCI 1.1 referrers (signature bundles, SBOMs) attached to it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    source: String,
    /// Where to copy it.
    target: String,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Serialize)]
struct Report {
    immutable_ref: String,
    attached: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let source = registry_ref(&args.source)?;
    let target = registry_ref(&args.target)?;
    let activity = Activity::new(args.output.format == OutputFormat::Text);
    let remote = args.registry.remote()?.with_progress(activity.clone());
    let copied = activity.run(
        format!("copying {source} to {target}"),
        remote.copy(&source, &target),
    )??;
    let report = Report {
        immutable_ref: target.with_digest(copied.digest).to_string(),
        attached: copied.attached,
    };
    match args.output.format {
        OutputFormat::Text => {
            println!("{}", report.immutable_ref);
            for attached in &report.attached {
                println!("  with {attached}");
            }
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
