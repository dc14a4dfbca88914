//! `palisade registry`: maintenance of the bundled registry's storage.

use std::path::PathBuf;
use std::time::Duration;

use registry_server::storage::{GcOptions, GcReport};
use registry_server::{Config, LocalStorage};

use crate::environment;
use crate::exit::UsageError;
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::block_on;

/// Maintain the storage of `palisade serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RegistryCommand {
    /// Remove the manifests and blobs that no tag reaches (directly, through an index or as a referrer).
    ///
    /// Safe while the registry serves: anything written or checked within the grace period is kept.
    Gc(GcArgs),
}

#[derive(Debug, clap::Args)]
struct GcArgs {
    /// The registry's configuration file, for its storage folder.
    #[arg(long, env = "PALISADE_REGISTRY_CONFIG")]
    config: Option<PathBuf>,
    /// The registry's storage folder (overrides the configuration and PALISADE_REGISTRY_ROOT).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Keep anything newer than this (`30m`, `1h`, `2days`).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// Report what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: OutputOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        RegistryCommand::Gc(args) => gc(args),
    }
}

fn gc(args: GcArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref(), environment::lookup)
        .map_err(|e| UsageError(e.to_string()))?;
    let root = args.root.unwrap_or(config.root);
    let storage = LocalStorage::new(&root);
    let options = GcOptions {
        grace: args.grace,
        dry_run: args.dry_run,
    };
    let message = format!("collecting garbage in {}", root.display());
    let report: GcReport = block_on(message, storage.collect_garbage(&options))??;
    match args.output.format {
        OutputFormat::Text => {
            let verb = if args.dry_run {
                "would remove"
            } else {
                "removed"
            };
            println!(
                "{verb} {} manifests, {} blob links, {} blobs ({} bytes)",
                report.manifests, report.blob_links, report.blobs, report.bytes
            );
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
