//! `palisade strip`: remove the metadata from a module.

use std::path::PathBuf;

use artifact::strip::strip_file;
use serde::Serialize;

use crate::output::{OutputFormat, print_structured};

/// Remove the policy metadata section from a Wasm module; every other byte stays as it was.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Wasm module.
    module: PathBuf,
    /// Where to write the stripped module (may be MODULE itself).
    #[arg(short = 'o', long = "output-path", value_name = "FILE")]
    output_path: PathBuf,
    /// How to print the report.
    #[arg(long = "output", value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct Report<'a> {
    output: &'a PathBuf,
    size: usize,
    had_metadata: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let stripped = strip_file(&args.module, &args.output_path)?;
    match args.format {
        OutputFormat::Text if stripped.had_metadata => println!(
            "stripped {} -> {} ({} bytes)",
            args.module.display(),
            args.output_path.display(),
            stripped.size
        ),
        OutputFormat::Text => println!(
            "{} has no policy metadata; wrote it unchanged to {}",
            args.module.display(),
            args.output_path.display()
        ),
        format => print_structured(
            format,
            &Report {
                output: &args.output_path,
                size: stripped.size,
                had_metadata: stripped.had_metadata,
            },
        )?,
    }
    Ok(())
}
