//! `palisade save`: policies into one tarball, for an air gap.

use std::path::PathBuf;

use serde::Serialize;

use crate::options::{RegistryOptions, StoreOptions, registry_ref};
use crate::output::{OutputFormat, print_structured};
use crate::progress::Activity;

/// Write policies (pulled first where the store lacks them) to an OCI image layout tarball.
///
/// Entries are named HOST/REPOSITORY:TAG; `palisade load` imports them into another store, and
/// `palisade push oci-layout://FOLDER:NAME REF` pushes one from the unpacked layout.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policies: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]…
    #[arg(required = true)]
    references: Vec<String>,
    /// The tarball to write.
    #[arg(short = 'O', long = "output-path", value_name = "FILE")]
    output_path: PathBuf,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    store: StoreOptions,
    /// How to print the result.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

#[derive(Serialize)]
struct Report {
    bundle: PathBuf,
    policies: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let references = args
        .references
        .iter()
        .map(|text| registry_ref(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let activity = Activity::new(args.output == OutputFormat::Text);
    let remote = args.registry.remote()?.with_progress(activity.clone());
    let store = args.store.open()?;
    let saved = activity.run(
        format!("saving {} policies", references.len()),
        artifact::distribute::save(&remote, &store, &references, &args.output_path),
    )??;
    let report = Report {
        bundle: args.output_path,
        policies: saved.iter().map(|p| p.reference.to_string()).collect(),
    };
    match args.output {
        OutputFormat::Text => {
            for policy in &report.policies {
                println!("saved {policy}");
            }
            println!("wrote {}", report.bundle.display());
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
