//! `palisade annotate`: embed metadata in a module.

use std::path::PathBuf;

use artifact::annotate::{AnnotateRequest, annotate_file_with_protocol};
use artifact::metadata::ProtocolVersion;
use evaluator::{Engine, EngineConfig};
use serde::Serialize;

use crate::output::{OutputFormat, print_structured};

/// Embed policy metadata in a Wasm module (replacing any already there).
///
/// A waPC module is asked for its protocol version (its `protocol_version` operation), which is
/// recorded as `protocolVersion`, as kwctl does; a module that cannot answer is not annotated.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Wasm module.
    module: PathBuf,
    /// The metadata file, YAML or JSON (kwctl's `--metadata-path` works too).
    #[arg(short, long, alias = "metadata-path", value_name = "FILE")]
    metadata: PathBuf,
    /// A Markdown file with usage documentation (kwctl's `--usage-path` works too).
    #[arg(short, long, alias = "usage-path", value_name = "FILE")]
    usage: Option<PathBuf>,
    /// Where to write the annotated module (may be MODULE itself).
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
    metadata: &'a artifact::metadata::Metadata,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let annotated = annotate_file_with_protocol(
        &AnnotateRequest {
            module: args.module.clone(),
            metadata: args.metadata.clone(),
            usage: args.usage,
            output: args.output_path.clone(),
        },
        reported_protocol_version,
    )?;
    for key in &annotated.ignored_keys {
        eprintln!(
            "warning: {}: unknown key `{key}` ignored",
            args.metadata.display()
        );
    }
    let metadata = &annotated.metadata;
    match args.format {
        OutputFormat::Text => println!(
            "annotated {} -> {} ({}, {} rule{}, {} bytes)",
            args.module.display(),
            args.output_path.display(),
            metadata.execution_mode,
            metadata.rules.len(),
            if metadata.rules.len() == 1 { "" } else { "s" },
            annotated.size
        ),
        format => print_structured(
            format,
            &Report {
                output: &args.output_path,
                size: annotated.size,
                metadata,
            },
        )?,
    }
    Ok(())
}

/// The protocol version a waPC module reports when its `protocol_version` operation runs. The
/// module is the user's own local file, run in the evaluator's sandbox with its limits and no host
/// capabilities, as `kwctl annotate` does.
fn reported_protocol_version(module: &[u8]) -> Result<Option<ProtocolVersion>, String> {
    // One instance: a pool of them would cost more to reserve (a thousand mprotect calls) than the
    // whole question.
    let config = EngineConfig {
        pooling: false,
        ..EngineConfig::default()
    };
    Engine::new(config)
        .and_then(|engine| engine.wapc_protocol_version(module))
        .map(Some)
        .map_err(|err| err.to_string())
}
