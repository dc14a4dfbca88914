//! `palisade annotate`: embed metadata in a module.

use std::path::PathBuf;

use anyhow::Context;
use artifact::annotate::{AnnotateRequest, annotate_file_with_protocol};
use artifact::metadata::ProtocolVersion;
use artifact::wasm::{DetectedAbi, detect_abi};
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
    /// The metadata file, YAML or JSON.
    #[arg(short, long, value_name = "FILE")]
    metadata: PathBuf,
    /// A Markdown file with usage documentation.
    #[arg(short, long, value_name = "FILE")]
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
    let protocol_version = reported_protocol_version(&args.module)?;
    let annotated = annotate_file_with_protocol(
        &AnnotateRequest {
            module: args.module.clone(),
            metadata: args.metadata.clone(),
            usage: args.usage,
            output: args.output_path.clone(),
        },
        protocol_version,
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

/// The protocol version a waPC module reports; `None` for other modules (and for files that are
/// not modules, which annotating then refuses with its own message).
fn reported_protocol_version(module: &std::path::Path) -> anyhow::Result<Option<ProtocolVersion>> {
    let Ok(bytes) = std::fs::read(module) else {
        return Ok(None);
    };
    if !matches!(detect_abi(&bytes), Ok(Some(DetectedAbi::Wapc))) {
        return Ok(None);
    }
    let version = Engine::new(EngineConfig::default())?
        .wapc_protocol_version(&bytes)
        .with_context(|| {
            format!(
                "{}: asking the policy for its protocol version (protocol_version)",
                module.display()
            )
        })?;
    Ok(Some(version))
}
