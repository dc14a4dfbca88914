//! `palisade load`: policies from an archive (palisade's or kwctl's) into the local store.

use std::path::PathBuf;

use crate::exit::UsageError;
use crate::options::StoreOptions;
use crate::output::{OutputFormat, OutputOptions, print_structured};

/// Import the policies of an archive into the local store: palisade's (an OCI image layout tarball, as
/// `palisade save` writes it, gzip-compressed or not) or kwctl's (as `kwctl save` writes it), told apart
/// by their content. Everything is checked first: a damaged archive imports nothing. The policies of
/// palisade's archive come with their signatures, attestations and SBOMs: `palisade verify` and
/// `palisade run` serve them from the store, with no registry.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tarball.
    #[arg(required_unless_present = "input")]
    bundle: Option<PathBuf>,
    /// The tarball, as kwctl's `load --input FILE` names it.
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    input: Option<PathBuf>,
    #[command(flatten)]
    store: StoreOptions,
    #[command(flatten)]
    output: OutputOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = args.store.open()?;
    let bundle = args
        .bundle
        .or(args.input)
        .ok_or_else(|| UsageError("name the tarball to load".into()))?;
    let report = client::store::archive::load(&store, &bundle)?;
    match args.output.format {
        OutputFormat::Text => {
            for reference in &report.policies {
                println!("loaded {reference}");
            }
            if report.attachments > 0 {
                println!(
                    "with {} attached manifests (signatures, attestations, SBOMs), served from the store",
                    report.attachments
                );
            }
            for skipped in &report.skipped {
                println!("skipped {skipped}");
            }
            if let Some(trust_root) = &report.trust_root {
                println!(
                    "trust root {} (pass it to verify and run as --trust-root)",
                    trust_root.display()
                );
            }
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
