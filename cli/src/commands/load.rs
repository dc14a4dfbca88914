//! `palisade load`: policies from a tarball into the local store.

use std::path::PathBuf;

use serde::Serialize;

use crate::options::StoreOptions;
use crate::output::{OutputFormat, print_structured};

/// Import the policies of a bundle (an OCI image layout tarball, as `palisade save` writes) into the
/// local store. Every digest is checked first: a damaged bundle imports nothing.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tarball.
    bundle: PathBuf,
    #[command(flatten)]
    store: StoreOptions,
    /// How to print the result.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

#[derive(Serialize)]
struct Report {
    loaded: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = args.store.open()?;
    let loaded = artifact::distribute::load(&store, &args.bundle)?;
    let report = Report {
        loaded: loaded.iter().map(ToString::to_string).collect(),
    };
    match args.output {
        OutputFormat::Text => {
            for reference in &report.loaded {
                println!("loaded {reference}");
            }
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
