//! `palisade registry`: maintenance of the bundled registry's storage.

use std::path::PathBuf;
use std::time::Duration;

use registry_server::storage::{CopyReport, GcOptions, GcReport, SharedStorageOptions};
use registry_server::trust::{self, TrustPolicy};
use registry_server::{Config, OpenedStorage, StorageKind};

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
    /// Safe while the registry serves, on any number of replicas: anything written or checked within the grace
    /// period is kept.
    Gc(GcArgs),
    /// Copy a registry from one storage to another: a folder into an object store and PostgreSQL, or back.
    ///
    /// Every tag, the manifests it reaches (an index's entries, referrers) and their blobs are copied, each checked
    /// against its digest; what no tag reaches is not. Run it again to resume an interrupted copy: what the target
    /// holds is not copied twice. The object store's settings come from the AWS_* variables, as for `serve`.
    Migrate(MigrateArgs),
    /// List the tags of `enforce` trust prefixes that wait for a trusted signature, each checked now, with why
    /// every signature found falls short.
    Pending(TrustArgs),
    /// Check every tag again against the configuration's trust policy, after changing it: publish the waiting tags
    /// whose signatures now satisfy it (or whose prefix no longer enforces one), withdraw the published tags whose
    /// signatures no longer do (they wait again).
    Reverify(TrustArgs),
}

/// Which registry storage to work on: as `palisade serve` is told.
#[derive(Debug, clap::Args)]
struct StorageArgs {
    /// The registry's configuration file.
    #[arg(long, env = "PALISADE_REGISTRY_CONFIG")]
    config: Option<PathBuf>,
    /// The registry's storage folder (overrides the configuration and PALISADE_REGISTRY_ROOT).
    #[arg(long, conflicts_with_all = ["storage", "database"])]
    root: Option<PathBuf>,
    /// A shared registry's object store, s3://BUCKET/PREFIX (needs --database).
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// A shared registry's PostgreSQL database (needs --storage).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

impl StorageArgs {
    /// The storage these arguments, the configuration file and the environment name.
    fn kind(self) -> anyhow::Result<StorageKind> {
        Ok(self.config()?.storage_kind()?)
    }

    /// The configuration file with these arguments and the environment applied.
    fn config(self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref(), environment::lookup)?;
        if let Some(root) = self.root {
            config.root = root;
        }
        config.storage = self.storage.or(config.storage);
        config.database = self.database.or(config.database);
        Ok(config)
    }
}

#[derive(Debug, clap::Args)]
struct TrustArgs {
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    output: OutputOptions,
}

impl TrustArgs {
    /// The storage, opened, and the trust policy of the configuration.
    fn open(self, what: &str) -> anyhow::Result<(OpenedStorage, TrustPolicy, OutputFormat)> {
        let config = self.storage.config()?;
        let policy = TrustPolicy::load(&config.trust)?;
        let kind = config.storage_kind()?;
        let storage = block_on(what.into(), OpenedStorage::open(kind, None))??;
        Ok((storage, policy, self.output.format))
    }
}

#[derive(Debug, clap::Args)]
struct GcArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Keep anything newer than this (`30m`, `1h`, `2days`).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// Report what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Debug, clap::Args)]
struct MigrateArgs {
    /// Where the registry is now: a folder, or an object store (s3://BUCKET/PREFIX).
    #[arg(long, value_name = "FOLDER|URL")]
    from: String,
    /// Where it goes: a folder, or an object store (s3://BUCKET/PREFIX).
    #[arg(long, value_name = "FOLDER|URL")]
    to: String,
    /// The PostgreSQL database of the side that is an object store.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    #[command(flatten)]
    output: OutputOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        RegistryCommand::Gc(args) => gc(args),
        RegistryCommand::Migrate(args) => migrate(args),
        RegistryCommand::Pending(args) => pending(args),
        RegistryCommand::Reverify(args) => reverify(args),
    }
}

fn pending(args: TrustArgs) -> anyhow::Result<()> {
    let (storage, policy, format) = args.open("opening the registry's storage")?;
    let waiting = block_on(
        "checking the waiting tags".into(),
        trust::waiting_in(&storage, &policy),
    )??;
    match format {
        OutputFormat::Text if waiting.is_empty() => println!("no tag waits for a signature"),
        OutputFormat::Text => {
            for tag in &waiting {
                println!(
                    "{}:{} {} (prefix {:?}): {}",
                    tag.repository,
                    tag.tag,
                    tag.digest,
                    tag.prefix,
                    tag.failure
                        .as_deref()
                        .unwrap_or("satisfied now; published at its next check")
                );
            }
        }
        format => print_structured(format, &serde_json::json!({ "pending": waiting }))?,
    }
    Ok(())
}

fn reverify(args: TrustArgs) -> anyhow::Result<()> {
    let (storage, policy, format) = args.open("opening the registry's storage")?;
    let done = block_on(
        "checking every tag".into(),
        trust::reverify_in(&storage, &policy),
    )??;
    match format {
        OutputFormat::Text => {
            for moved in &done.published {
                println!(
                    "published {}:{} ({})",
                    moved.repository, moved.tag, moved.digest
                );
            }
            for moved in &done.withdrawn {
                println!(
                    "withdrew {}:{} ({}): {}",
                    moved.repository,
                    moved.tag,
                    moved.digest,
                    moved.reason.as_deref().unwrap_or_default()
                );
            }
            println!(
                "{} published, {} withdrawn, {} still waiting",
                done.published.len(),
                done.withdrawn.len(),
                done.waiting
            );
        }
        format => print_structured(format, &done)?,
    }
    Ok(())
}

fn gc(args: GcArgs) -> anyhow::Result<()> {
    let options = GcOptions {
        grace: args.grace,
        dry_run: args.dry_run,
    };
    let kind = args.storage.kind()?;
    let collected = async {
        let storage = OpenedStorage::open(kind, None).await?;
        storage.collect_garbage(&options).await
    };
    let report: GcReport = block_on("collecting garbage".into(), collected)??;
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

fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let object_options = Config::load(None, environment::lookup)?.object_store_options;
    let mut database = args.database;
    let mut kind = |location: &str| -> anyhow::Result<StorageKind> {
        if !location.contains("://") {
            return Ok(StorageKind::Folder(PathBuf::from(location)));
        }
        let database = database.take().ok_or_else(|| {
            UsageError(format!(
                "{location} is an object store: give its PostgreSQL database with --database (copying between two \
                 object stores is two migrations, through a folder)"
            ))
        })?;
        Ok(StorageKind::Shared(SharedStorageOptions {
            objects: location.to_string(),
            object_options: object_options.clone(),
            database,
            max_connections: 4,
            redirect: false,
        }))
    };
    let (from, to) = (kind(&args.from)?, kind(&args.to)?);
    if from == to {
        return Err(UsageError("--from and --to name the same storage".into()).into());
    }
    if let StorageKind::Folder(folder) = &from
        && !folder.is_dir()
    {
        return Err(UsageError(format!("--from {}: no such folder", folder.display())).into());
    }
    let message = format!("copying {} to {}", args.from, args.to);
    let copied = async {
        let from = OpenedStorage::open(from, None).await?;
        let to = OpenedStorage::open(to, None).await?;
        from.copy_to(&to, |repository| tracing::info!(repository, "copying"))
            .await
    };
    let report: CopyReport = block_on(message, copied)??;
    match args.output.format {
        OutputFormat::Text => println!(
            "copied {} repositories: {} tags, {} manifests, {} blobs ({} bytes); {} blobs were there already",
            report.repositories,
            report.tags,
            report.manifests,
            report.blobs,
            report.bytes,
            report.blobs_already_there
        ),
        format => print_structured(format, &report)?,
    }
    Ok(())
}
