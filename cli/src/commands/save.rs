//! `palisade save`: policies into one archive, for an air gap.

use std::path::{Path, PathBuf};

use anyhow::Context;
use client::store::archive::{ArchiveFormat, SaveOptions};
use serde::Serialize;

use crate::exit::UsageError;
use crate::options::{RegistryOptions, StoreOptions, registry_ref};
use crate::output::{OutputFormat, parse_format_not_file, print_structured};
use crate::progress::Activity;

/// Write policies (pulled first where the store lacks them) to an archive.
///
/// palisade's archive (the default) is an OCI image layout tarball whose entries are named
/// HOST/REPOSITORY:TAG; it carries each policy with its signatures (`.sig` images, Sigstore bundle
/// referrers), attestations and SBOMs, and the trust root given with --trust-root, so that `palisade
/// load` on the far side of an air gap gives `palisade verify` and `palisade run` all they need.
/// `--format kwctl` writes what `kwctl save` writes, for `kwctl load` (modules only: no signatures).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policies: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]…
    #[arg(required = true)]
    references: Vec<String>,
    /// The archive to write.
    #[arg(short = 'O', long = "output-path", value_name = "FILE")]
    output_path: PathBuf,
    /// The archive format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Compress palisade's archive with gzip (also when the file name ends in .tar.gz or .tgz; kwctl's
    /// always is).
    #[arg(long)]
    gzip: bool,
    /// A Sigstore trust root (trusted_root.json or ClientTrustConfig) to carry along, for
    /// keyless verification on the far side.
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    store: StoreOptions,
    /// How to print the result: text, json or yaml (kwctl's `-o FILE` is `-O FILE` here).
    #[arg(short, long, value_parser = parse_format_not_file, default_value = "text")]
    output: OutputFormat,
}

/// The archive formats, as `--format` takes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// An OCI image layout tarball with signatures, attestations and SBOMs.
    #[default]
    Palisade,
    /// `kwctl save`'s gzip tarball of the modules.
    Kwctl,
}

#[derive(Serialize)]
struct Report {
    bundle: PathBuf,
    format: ArchiveFormat,
    policies: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let references = args
        .references
        .iter()
        .map(|text| registry_ref(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.format == Format::Kwctl && args.trust_root.is_some() {
        return Err(UsageError(
            "kwctl's archive carries modules only: --trust-root needs palisade's format".into(),
        )
        .into());
    }
    let trust_root = args
        .trust_root
        .as_deref()
        .map(read_trust_root)
        .transpose()?;
    let options = SaveOptions {
        format: match args.format {
            Format::Palisade => ArchiveFormat::Palisade,
            Format::Kwctl => ArchiveFormat::Kwctl,
        },
        gzip: args.gzip || gzip_by_name(&args.output_path),
        trust_root: trust_root.as_deref(),
    };
    let activity = Activity::new(args.output == OutputFormat::Text);
    let store = args.store.open()?;
    let remote = args
        .registry
        .remote()?
        .with_progress(activity.clone())
        .with_store(store.clone());
    let saved = activity.run(
        format!("saving {} policies", references.len()),
        client::distribute::save(&remote, &store, &references, options, &args.output_path),
    )??;
    let report = Report {
        bundle: args.output_path,
        format: options.format,
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

/// The trust root file, checked to be one `--trust-root` reads.
fn read_trust_root(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .map_err(|err| UsageError(format!("--trust-root {}: {err}", path.display())))?;
    signing::trust::TrustRoot::from_file_bytes(&bytes)
        .with_context(|| format!("--trust-root {}", path.display()))?;
    Ok(bytes)
}

/// Whether the file name asks for gzip: `.tar.gz` or `.tgz`.
fn gzip_by_name(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}
