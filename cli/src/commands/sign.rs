//! `palisade sign`: sign a policy in a registry, as cosign does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::signing_options::SigningTarget;

use serde::Serialize;
use signing::registry::Layout;

use crate::options::{RegistryOptions, parse_annotation};
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::block_on;

/// Sign the policy a reference points to (by digest) with a cosign key: the `sha256-<hex>.sig` tag that
/// Kubewarden and cosign read, merged with the signatures already there; with --bundle also a Sigstore
/// bundle as an OCI 1.1 referrer, cosign v3's layout. A local module file is signed by a Sigstore bundle
/// written next to it (FILE.sigstore.json), which `run` and `policy-server` verify before loading the file.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: SigningTarget,
    /// An annotation to sign along (repeatable): KEY=VALUE.
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE", value_parser = parse_annotation)]
    annotations: Vec<(String, String)>,
    /// Also attach a Sigstore bundle as an OCI 1.1 referrer.
    #[arg(long)]
    bundle: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Serialize)]
struct Report {
    immutable_ref: String,
    signature_tag: Option<String>,
    referrer: Option<String>,
}

#[derive(Serialize)]
struct FileReport<'a> {
    file: &'a Path,
    bundle: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let annotations: BTreeMap<String, String> = args.annotations.into_iter().collect();
    if let Some(file) = args.target.local_file() {
        let key = args.target.private_key()?;
        let report = FileReport {
            bundle: signing::local::sign_file(&file, &key, &annotations)?,
            file: &file,
        };
        match args.output.format {
            OutputFormat::Text => println!(
                "signed {}\n  bundle in {}",
                file.display(),
                report.bundle.display()
            ),
            format => print_structured(format, &report)?,
        }
        return Ok(());
    }
    let reference = args.target.reference()?;
    let key = args.target.private_key()?;
    let mut layouts = vec![Layout::SignatureTag];
    if args.bundle {
        layouts.push(Layout::Bundle);
    }
    let remote = args.registry.remote()?;
    let signed = block_on(
        format!("signing {reference}"),
        signing::registry::sign(&remote, &reference, &key, &annotations, &layouts),
    )??;
    let report = Report {
        immutable_ref: reference.with_digest(signed.manifest_digest).to_string(),
        signature_tag: signed.signature_tag,
        referrer: signed.referrer.map(|d| d.to_string()),
    };
    match args.output.format {
        OutputFormat::Text => {
            println!("signed {}", report.immutable_ref);
            if let Some(tag) = &report.signature_tag {
                println!("  signature in tag {tag}");
            }
            if let Some(referrer) = &report.referrer {
                println!("  bundle in referrer {referrer}");
            }
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
