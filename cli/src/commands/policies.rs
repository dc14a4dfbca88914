//! `palisade policies`: the policies in the local store.

use crate::options::StoreOptions;
use crate::output::{OutputFormat, OutputOptions, print_structured};

/// List the policies in the local store.
///
/// SIGNED says whether the registry held a signature for the policy (a cosign `.sig` image or a Sigstore
/// bundle referrer) when it was pulled, `-` when that is unknown (loaded from a bundle); `palisade
/// verify` checks signatures.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: StoreOptions,
    #[command(flatten)]
    output: OutputOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let summaries = args.store.open()?.summaries()?;
    if args.output.format != OutputFormat::Text {
        return print_structured(args.output.format, &summaries);
    }
    if summaries.is_empty() {
        println!("no policies in the store: fetch one with `palisade pull REF`");
        return Ok(());
    }
    let width = summaries
        .iter()
        .map(|s| s.entry.reference.len())
        .max()
        .unwrap_or(0)
        .max(9);
    println!(
        "{:<width$}  {:<19}  {:>10}  {:<8}  {:<6}  TITLE",
        "REFERENCE", "DIGEST", "SIZE", "MUTATING", "SIGNED"
    );
    for summary in summaries {
        let digest = summary.entry.digest.to_string();
        println!(
            "{:<width$}  {:<19}  {:>10}  {:<8}  {:<6}  {}",
            summary.entry.reference,
            &digest[..digest.len().min(19)],
            summary.size,
            yes_no(summary.mutating),
            yes_no(summary.signed),
            summary.title.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// `yes`, `no`, or `-` for unknown.
fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}
