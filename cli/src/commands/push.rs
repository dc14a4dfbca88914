//! `palisade push`: publish a module to a registry.

use std::path::PathBuf;

use serde::Serialize;

use crate::options::{RegistryOptions, registry_ref};
use crate::output::{OutputFormat, print_structured};
use crate::progress::block_on;

/// Push an annotated policy module to a registry, as Kubewarden does.
///
/// Prints the immutable reference (`REF@sha256:…`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Wasm module.
    module: PathBuf,
    /// Where to push it: registry://HOST[:PORT]/REPOSITORY[:TAG] (or HOST/REPOSITORY:TAG).
    reference: String,
    /// Push a module that has no policy metadata.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    /// How to print the result.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

#[derive(Serialize)]
struct Report {
    immutable_ref: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let target = registry_ref(&args.reference)?;
    let remote = args.registry.remote()?;
    let pushed = block_on(
        format!("pushing {} to {target}", args.module.display()),
        artifact::distribute::push(&remote, &args.module, &target, args.force),
    )??;
    let immutable_ref = pushed.reference.to_string();
    match args.output {
        OutputFormat::Text => println!("{immutable_ref}"),
        format => print_structured(format, &Report { immutable_ref })?,
    }
    Ok(())
}
