//! `palisade digest`: what a reference points to now.

use serde::Serialize;

use crate::options::{RegistryOptions, registry_ref};
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::block_on;

/// Print the manifest digest a reference points to, as REF@sha256:… (REF in the form given, with or
/// without `registry://`, as kwctl prints it).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: registry://HOST[:PORT]/REPOSITORY[:TAG].
    reference: String,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Serialize)]
struct Report {
    immutable_ref: String,
    digest: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let reference = registry_ref(&args.reference)?;
    let remote = args.registry.remote()?;
    let digest = block_on(
        format!("resolving {reference}"),
        remote.manifest_digest(&reference),
    )??;
    let report = Report {
        immutable_ref: reference.with_digest(digest.clone()).to_string(),
        digest: digest.to_string(),
    };
    match args.output.format {
        OutputFormat::Text if !args.reference.starts_with("registry://") => {
            println!("{}", report.immutable_ref.trim_start_matches("registry://"))
        }
        OutputFormat::Text => println!("{}", report.immutable_ref),
        format => print_structured(format, &report)?,
    }
    Ok(())
}
