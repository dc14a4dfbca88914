//! `palisade rm`: remove policies from the local store.

use anyhow::bail;
use serde::Serialize;

use crate::options::StoreOptions;
use crate::output::{OutputFormat, OutputOptions, print_structured};

/// Remove a policy from the local store, by reference or by digest prefix; blobs nothing else uses go too.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A reference as `palisade policies` lists it, or the start of a digest (at least 4 characters).
    selector: String,
    #[command(flatten)]
    store: StoreOptions,
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Serialize)]
struct Report {
    removed: Vec<client::store::StoreEntry>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let removed = args.store.open()?.remove(&args.selector)?;
    if removed.is_empty() {
        bail!(
            "no stored policy matches {:?}: see `palisade policies`",
            args.selector
        );
    }
    match args.output.format {
        OutputFormat::Text => {
            for entry in &removed {
                println!("removed {}@{}", entry.reference, entry.digest);
            }
        }
        format => print_structured(format, &Report { removed })?,
    }
    Ok(())
}
