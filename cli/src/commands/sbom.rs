//! `palisade sbom`: a policy's software bill of materials (SPDX 2.3 or CycloneDX 1.6 JSON).

use std::io::Write;
use std::path::{Path, PathBuf};

use ::sbom::attach::attach;
use ::sbom::conformance::{self, Report, Standard, Unknown};
use ::sbom::export::Export;
use ::sbom::fetch::{fetch, fetch_verified};
use ::sbom::lockfile::Toolchain;
use ::sbom::{Format, Options, Origin, Sbom, creation_time, render};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::exit::UsageError;
use crate::key_files;
use crate::options::{RegistryOptions, StoreOptions, load_module, registry_ref};
use crate::output::{OutputFormat, print_structured};
use crate::progress::block_on;

/// Describe a policy as an SBOM: the policy (from its metadata and digests), its toolchain (from
/// the module's `producers` section) and, with --source, the dependencies of its lockfile, with
/// their licenses and hashes.
///
/// For a Rust source with a Cargo.toml, `cargo metadata` (when cargo is on the PATH) tells which
/// crates a wasm32-wasip1 build compiles in; the others stay in the document, marked as build, dev
/// or other-target dependencies. The document goes to standard output, or to the file given with
/// -o. Creation time comes from SOURCE_DATE_EPOCH when it is set: the same inputs then give the same
/// bytes, from any folder; without it each document gets unique IDs.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// A Wasm module file, or a policy in a registry (registry://HOST/REPOSITORY:TAG), pulled into the
    /// local store first.
    #[arg(required = true)]
    module: Option<String>,
    /// The policy's source folder: dependencies are read from its Cargo.lock, go.mod (with go.sum,
    /// or go.sum alone), package-lock.json or packages.lock.json. A folder without any, or whose
    /// lockfiles pin nothing, is an error.
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
    /// Read the lockfiles alone, without running `cargo metadata` (the document then says what
    /// could not be established).
    #[arg(long, requires = "source")]
    lockfile_only: bool,
    /// Accept a --source folder without dependencies (the policy truly has none).
    #[arg(long, requires = "source")]
    allow_no_dependencies: bool,
    /// Who supplies the policy (an organization, `Name <email>`), when its author annotation does
    /// not say.
    #[arg(long, value_name = "NAME")]
    supplier: Option<String>,
    /// Check the SBOM instead of printing it: `ntia` reports, per component, the NTIA minimum
    /// elements it lacks; `fsct3` the CISA FSCT3 baseline attributes (hash, license and copyright
    /// too), with those the document declares unknown; either fails when any is missing (the
    /// document is still written with -o).
    #[arg(long, value_name = "STANDARD", value_enum)]
    check: Option<Check>,
    /// The document format: spdx-json or cyclonedx-json.
    #[arg(long, value_name = "FORMAT", default_value = "spdx-json", value_parser = parse_format)]
    format: Format,
    /// Write the document to FILE instead of standard output.
    #[arg(short = 'o', long = "output-path", value_name = "FILE")]
    output_path: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    store: StoreOptions,
    /// How to print the summary when the document goes to a file (-o).
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// What to do with an SBOM other than writing it.
#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Push an SBOM file as an OCI 1.1 referrer of a policy in a registry (with the referrers-tag
    /// fallback for registries without the referrers API).
    Attach(AttachArgs),
    /// Print (or write) the newest SBOM attached to a policy in a registry; with --verify, only an SBOM
    /// a verified attestation vouches for.
    Fetch(FetchArgs),
    /// Write the SBOM of every tagged policy under a repository prefix to a folder, with an index
    /// (index.csv, index.json) of policy, tag, digest, license, format and signer.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// The registry: HOST[:PORT].
    #[arg(long, value_name = "HOST")]
    registry: String,
    /// Only repositories under this prefix (policies takes policies/a and policies/b/c) [default: all]
    #[arg(long, value_name = "REPO_PREFIX", default_value = "")]
    prefix: String,
    /// The folder to write to: DIR/REPOSITORY/TAG.spdx.json or .cdx.json, DIR/index.csv, DIR/index.json.
    #[arg(short = 'o', long = "output-path", value_name = "DIR")]
    output_path: PathBuf,
    /// A public key (cosign.pub; repeatable): SBOMs vouched for by its attestations are preferred and
    /// their signer recorded.
    #[arg(long, value_name = "FILE")]
    key: Vec<PathBuf>,
    #[command(flatten)]
    registry_options: RegistryOptions,
    /// How to print the index.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

#[derive(Debug, clap::Args)]
struct FetchArgs {
    /// The policy (registry://HOST/REPOSITORY:TAG or @DIGEST).
    reference: String,
    /// Only this format: spdx-json or cyclonedx-json [default: either]
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    format: Option<Format>,
    /// Write the document to FILE instead of standard output.
    #[arg(short = 'o', long = "output-path", value_name = "FILE")]
    output_path: Option<PathBuf>,
    /// Only an SBOM vouched for by an attestation that verifies with --key: the attested predicate, or
    /// an attached SBOM with the same content.
    #[arg(long, requires = "key")]
    verify: bool,
    /// A public key (cosign.pub) for --verify (repeatable: any of them).
    #[arg(long, value_name = "FILE", requires = "verify")]
    key: Vec<PathBuf>,
    #[command(flatten)]
    registry: RegistryOptions,
}

#[derive(Debug, clap::Args)]
struct AttachArgs {
    /// The policy (registry://HOST/REPOSITORY:TAG or @DIGEST).
    reference: String,
    /// The SBOM: an SPDX or CycloneDX JSON document.
    file: PathBuf,
    #[command(flatten)]
    registry: RegistryOptions,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// A standard `--check` checks against.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Check {
    /// The NTIA minimum elements (2021): supplier, name, version, unique identifier and
    /// relationships of every component; author and timestamp of the document.
    Ntia,
    /// CISA's Framing Software Component Transparency (2024), minimum expected: the NTIA elements
    /// plus hash, license and copyright notice; an element the document declares unknown (with
    /// the reason) is reported as such, not as missing.
    Fsct3,
}

impl Check {
    fn standard(self) -> Standard {
        match self {
            Check::Ntia => Standard::Ntia,
            Check::Fsct3 => Standard::Fsct3,
        }
    }
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse::<Format>().map_err(|err| err.to_string())
}

/// What `palisade sbom -o FILE --output json` prints.
#[derive(Serialize)]
struct Summary<'a> {
    file: &'a Path,
    format: &'static str,
    name: &'a str,
    version: Option<&'a str>,
    sha256: String,
    purl: Option<&'a str>,
    toolchain: usize,
    dependencies: usize,
    lockfiles: Vec<&'a str>,
    warnings: &'a [String],
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let source_date_epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    let created = creation_time(source_date_epoch.as_deref())?;
    match args.action {
        Some(Action::Attach(attach)) => return run_attach(attach, created),
        Some(Action::Fetch(fetch)) => return run_fetch(fetch),
        Some(Action::Export(export)) => return run_export(export),
        None => {}
    }
    let Some(name) = args.module.clone() else {
        return Err(UsageError("expected a MODULE or REF (or `attach REF FILE`)".into()).into());
    };
    let (module, origin) = match load_module(&name, &args.registry, &args.store)? {
        (module, Some(reference)) => (module, Origin::Registry(reference)),
        (module, None) => (module, Origin::File(PathBuf::from(&name))),
    };
    let cargo = program_on_path("cargo").filter(|_| !args.lockfile_only);
    let options = Options {
        source: args.source.as_deref(),
        toolchain: Toolchain {
            cargo: cargo.as_deref(),
        },
        supplier: args.supplier.as_deref(),
        allow_no_dependencies: args.allow_no_dependencies,
        reproducible: source_date_epoch.is_some(),
    };
    let sbom = Sbom::build(&module, &origin, &options)
        .map_err(|err| anyhow::anyhow!(err).context(format!("describing {name}")))?;
    for warning in &sbom.warnings {
        eprintln!("warning: {warning}");
    }
    let document = render(&sbom, args.format, created)?;
    if let Some(check) = args.check {
        if let Some(file) = &args.output_path {
            artifact::files::write_atomic(file, |out| out.write_all(&document))?;
        }
        let report = conformance::check(&sbom, check.standard());
        return print_conformance(&report, created, args.output);
    }
    let Some(file) = &args.output_path else {
        std::io::stdout().write_all(&document)?;
        return Ok(());
    };
    artifact::files::write_atomic(file, |out| out.write_all(&document))?;
    let policy = &sbom.policy;
    match args.output {
        OutputFormat::Text => println!(
            "wrote the {} SBOM of {}{} to {} ({} toolchain packages, {} dependencies)",
            args.format,
            policy.name,
            policy
                .version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            file.display(),
            sbom.toolchain.len(),
            sbom.dependencies.len()
        ),
        format => print_structured(
            format,
            &Summary {
                file,
                format: args.format.name(),
                name: &policy.name,
                version: policy.version.as_deref(),
                sha256: policy.sha256.to_string(),
                purl: policy.purl.as_deref(),
                toolchain: sbom.toolchain.len(),
                dependencies: sbom.dependencies.len(),
                lockfiles: sbom.lockfiles.iter().map(|l| l.name.as_str()).collect(),
                warnings: &sbom.warnings,
            },
        )?,
    }
    Ok(())
}

/// The first `name` in the folders of PATH.
fn program_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// What `palisade sbom --check STANDARD --output json` prints.
#[derive(Serialize)]
struct ConformanceSummary<'a> {
    passes: bool,
    timestamp: String,
    #[serde(flatten)]
    report: &'a Report,
}

/// Prints a `--check` report; an error (exit 1) when a component lacks an element.
fn print_conformance(
    report: &Report,
    created: DateTime<Utc>,
    output: OutputFormat,
) -> anyhow::Result<()> {
    let timestamp = created.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let title = report.standard.title();
    match output {
        OutputFormat::Text => {
            let mut document = vec![
                format!("author: {}", report.author),
                format!("timestamp: {timestamp}"),
            ];
            if report.standard == Standard::Fsct3 {
                document.push(format!("type: {}", report.types.join(", ")));
                document.push("primary component: the policy".to_string());
            }
            println!(
                "{title}: {} of {} components complete ({})",
                report.components - report.incomplete(),
                report.components,
                document.join("; ")
            );
            // An element declared unknown for every component is said once.
            let everywhere = report.unknown_everywhere();
            let mut reasons: Vec<&str> = Vec::new();
            if let Some(first) = report.gaps.first()
                && !everywhere.is_empty()
            {
                let line = cite(
                    first
                        .unknown
                        .iter()
                        .filter(|u| everywhere.contains(&u.element)),
                    &mut reasons,
                );
                println!("  every component: declared unknown {line}");
            }
            for gap in &report.gaps {
                let mut said = Vec::new();
                if !gap.missing.is_empty() {
                    let missing: Vec<&str> = gap.missing.iter().map(|e| e.name()).collect();
                    said.push(format!("missing {}", missing.join(", ")));
                }
                let mut unknown = gap
                    .unknown
                    .iter()
                    .filter(|u| !everywhere.contains(&u.element))
                    .peekable();
                if unknown.peek().is_some() {
                    said.push(format!("declared unknown {}", cite(unknown, &mut reasons)));
                }
                if !said.is_empty() {
                    println!(
                        "  {} {}: {}",
                        gap.role,
                        gap.purl.as_deref().unwrap_or(&gap.component),
                        said.join("; ")
                    );
                }
            }
            for (index, reason) in reasons.iter().enumerate() {
                println!("  [{}] {reason}", index + 1);
            }
        }
        format => print_structured(
            format,
            &ConformanceSummary {
                passes: report.passes(),
                timestamp,
                report,
            },
        )?,
    }
    if report.passes() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} of {} components lack {title}",
            report.incomplete(),
            report.components
        )
    }
}

/// `supplier [2], license [2]`: the elements, each with the number of its reason in `reasons`
/// (added there when new).
fn cite<'a>(unknowns: impl Iterator<Item = &'a Unknown>, reasons: &mut Vec<&'a str>) -> String {
    let cited: Vec<String> = unknowns
        .map(|unknown| {
            let index = match reasons.iter().position(|r| *r == unknown.reason) {
                Some(index) => index,
                None => {
                    reasons.push(&unknown.reason);
                    reasons.len() - 1
                }
            };
            format!("{} [{}]", unknown.element.name(), index + 1)
        })
        .collect();
    cited.join(", ")
}

fn run_attach(args: AttachArgs, created: DateTime<Utc>) -> anyhow::Result<()> {
    let reference = registry_ref(&args.reference)?;
    let document = artifact::files::read(&args.file)?;
    let remote = args.registry.remote()?;
    let attached = block_on(
        format!("attaching {} to {reference}", args.file.display()),
        attach(&remote, &reference, &document, created),
    )?
    .map_err(|err| {
        anyhow::anyhow!(err).context(format!("attaching {} to {reference}", args.file.display()))
    })?;
    match args.output {
        OutputFormat::Text => {
            println!(
                "{}/{}@{}",
                reference.registry, reference.repository, attached.referrer
            );
            if let Some(tag) = &attached.fallback_tag {
                eprintln!(
                    "note: the registry does not list referrers; the SBOM is listed in the tag {tag}"
                );
            }
        }
        format => print_structured(format, &attached)?,
    }
    Ok(())
}

fn run_fetch(args: FetchArgs) -> anyhow::Result<()> {
    let reference = registry_ref(&args.reference)?;
    let remote = args.registry.remote()?;
    let fetched = if args.verify {
        let keys = key_files::public_keys(&args.key)?;
        block_on(
            format!("fetching the verified SBOM of {reference}"),
            fetch_verified(&remote, &reference, args.format, &keys),
        )??
    } else {
        block_on(
            format!("fetching the SBOM of {reference}"),
            fetch(&remote, &reference, args.format),
        )??
    };
    let origin = match (&fetched.referrer, &fetched.attestation) {
        (Some(referrer), Some(attestation)) => {
            format!("referrer {referrer}, vouched for by the {attestation}")
        }
        (Some(referrer), None) => format!("referrer {referrer}"),
        (None, Some(attestation)) => format!("the predicate of the {attestation}"),
        (None, None) => "unknown origin".to_string(),
    };
    let signer = fetched
        .signed_by
        .as_deref()
        .map(|key| format!(", signed by {key}"))
        .unwrap_or_default();
    match &args.output_path {
        None => {
            std::io::stdout().write_all(&fetched.document)?;
            if args.verify {
                eprintln!("verified: {origin}{signer}");
            }
        }
        Some(file) => {
            artifact::files::write_atomic(file, |out| out.write_all(&fetched.document))?;
            println!(
                "wrote the {} SBOM of {}/{}@{} ({origin}{signer}) to {}",
                fetched.format,
                reference.registry,
                reference.repository,
                fetched.subject,
                file.display()
            );
        }
    }
    Ok(())
}

fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let keys = key_files::public_keys(&args.key)?;
    let remote = args.registry_options.remote()?;
    let export = Export {
        registry: &args.registry,
        prefix: &args.prefix,
        dir: &args.output_path,
        keys: &keys,
    };
    let rows = block_on(
        format!("exporting the SBOMs of {}/{}", args.registry, args.prefix),
        ::sbom::export::export(&remote, export),
    )?
    .map_err(|err| {
        anyhow::anyhow!(err).context(format!(
            "exporting the SBOMs of {} under {:?}",
            args.registry, args.prefix
        ))
    })?;
    match args.output {
        OutputFormat::Text => {
            let with_sbom = rows.iter().filter(|r| r.file.is_some()).count();
            let signed = rows.iter().filter(|r| r.signed_by.is_some()).count();
            println!(
                "exported {with_sbom} SBOMs of {} tagged policies ({signed} vouched for by a verified attestation) to {}",
                rows.len(),
                args.output_path.display()
            );
            for row in &rows {
                println!(
                    "  {}:{}  {}  {}  {}",
                    row.policy,
                    row.tag,
                    row.format.unwrap_or("no SBOM"),
                    row.license.as_deref().unwrap_or("-"),
                    row.signed_by.as_deref().unwrap_or("unverified")
                );
            }
        }
        format => print_structured(format, &rows)?,
    }
    Ok(())
}
