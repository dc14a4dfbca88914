//! `palisade pull`: fetch a policy into the local store.

use std::path::PathBuf;

use client::distribute::PullRequest;
use evaluator::gate::Verification;
use serde::Serialize;

use crate::options::{RegistryOptions, StoreOptions, registry_ref};
use crate::output::{OutputFormat, parse_format_not_file, print_structured};
use crate::progress::Activity;
use crate::verification_options::VerificationOptions;

/// Pull a policy into the local store, checking every digest.
///
/// Tags other than `latest` and digests are served from the store when present; `latest` and
/// `--refresh` ask the registry. With `verify`'s flags (kwctl's `pull -k KEY`…), the signatures are
/// checked first and only the verified manifest is pulled (exit 1 when they fall short).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    reference: String,
    /// Also write the module to FILE.
    #[arg(long = "output-path", short = 'O', value_name = "FILE")]
    output_path: Option<PathBuf>,
    /// Ask the registry even if the store has the policy.
    #[arg(long)]
    refresh: bool,
    #[command(flatten)]
    verification: VerificationOptions,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    store: StoreOptions,
    /// How to print the result: text, json or yaml (kwctl's `-o FILE` is `-O FILE` here).
    #[arg(short, long, value_parser = parse_format_not_file, default_value = "text")]
    output: OutputFormat,
}

#[derive(Serialize)]
struct Report {
    immutable_ref: String,
    module_digest: String,
    size: u64,
    from_store: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let source = registry_ref(&args.reference)?;
    let activity = Activity::new(args.output == OutputFormat::Text);
    let remote = args.registry.remote()?.with_progress(activity.clone());
    let store = args.store.open()?;
    let source = match args.verification.verification()? {
        None => source,
        Some(Verification { config, trust_root }) => {
            let checked = activity.run(
                format!("verifying {source}"),
                signing::registry::check(&remote, &source, &config, Some(&trust_root)),
            )??;
            source.with_digest(checked.verified?.manifest_digest().clone())
        }
    };
    let request = PullRequest {
        source: &source,
        refresh: args.refresh,
        output: args.output_path.as_deref(),
    };
    let pulled = activity.run(
        format!("pulling {source}"),
        client::distribute::pull(&remote, &store, request),
    )??;
    let report = Report {
        immutable_ref: pulled.reference.to_string(),
        module_digest: pulled.artifact.module_digest.to_string(),
        size: pulled.artifact.module.len() as u64,
        from_store: pulled.from_store,
    };
    match args.output {
        OutputFormat::Text => {
            let origin = if report.from_store {
                " (from the store)"
            } else {
                ""
            };
            println!("{}{origin}", report.immutable_ref);
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
