//! `palisade verify`: check a policy's signatures against keys or a verification config, in a registry or as a
//! file with its Sigstore bundle.

use std::path::{Path, PathBuf};

use anyhow::bail;
use artifact::oci::{Algorithm, Digest};
use artifact::reference::PolicyRef;
use evaluator::gate::Verification;
use signing::sigstore_verifier::Signed;

use crate::exit::UsageError;
use crate::options::{RegistryOptions, StoreOptions};
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::block_on;
use crate::verification_options::{HOW_TO_VERIFY, VerificationOptions};

/// Verify the signatures of a policy in a registry (both cosign layouts: the `.sig` tag and Sigstore bundle
/// referrers). A policy loaded from palisade's archive (`palisade load`) is verified against the
/// signatures the archive carried, from the local store, with no registry. A FILE (a path, not a reference) is
/// verified against its Sigstore bundle (cosign sign-blob, attest-blob, GitHub artifact attestations). Exits 0
/// when the requirements are met, 1 when they are not.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST], or a FILE to check against its bundle
    /// (or the file's sha256:DIGEST, with --bundle).
    reference: String,
    /// For a FILE: its Sigstore bundle (default: FILE.sigstore.json beside it).
    #[arg(long, value_name = "BUNDLE")]
    bundle: Option<PathBuf>,
    #[command(flatten)]
    verification: VerificationOptions,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    store: StoreOptions,
    #[command(flatten)]
    output: OutputOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // As Sigstore clients take it: `sha256:<hex>` that names no file is the digest of what was signed.
    let digest = args
        .reference
        .parse::<Digest>()
        .ok()
        .filter(|d| d.algorithm() == Algorithm::Sha256 && !Path::new(&args.reference).exists());
    if let Some(digest) = digest {
        return run_file(&args, Path::new(&args.reference), Some(&digest));
    }
    let reference = match PolicyRef::parse(&args.reference) {
        Ok(PolicyRef::Registry(reference)) => reference,
        Ok(PolicyRef::File(path)) => return run_file(&args, &path, None),
        Ok(PolicyRef::Layout(_)) => {
            return Err(UsageError(format!(
                "{}: an OCI layout carries no signatures; verify the policy in a registry, or a file with its bundle",
                args.reference
            ))
            .into());
        }
        // A path that does not exist: say so, as for any file that cannot be read.
        Err(_) if !args.reference.contains("://") => {
            return run_file(&args, Path::new(&args.reference), None);
        }
        Err(err) => return Err(err.into()),
    };
    if args.bundle.is_some() {
        return Err(UsageError(
            "--bundle is for a FILE; a registry policy's bundles are found as its referrers".into(),
        )
        .into());
    }
    let Some(Verification { config, trust_root }) = args.verification.verification()? else {
        return Err(UsageError(format!("say what to verify against: {HOW_TO_VERIFY}")).into());
    };
    let remote = args.registry.remote_serving(&args.store)?;
    let checked = block_on(
        format!("verifying {reference}"),
        signing::registry::check(&remote, &reference, &config, Some(&trust_root)),
    )??;
    if args.output.format != OutputFormat::Text {
        print_structured(args.output.format, &checked.report)?;
    }
    let in_github_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let verified = match checked.verified {
        Ok(verified) => verified,
        Err(err) => {
            if in_github_actions {
                // One annotated line on the workflow run; the full message follows on standard error.
                eprintln!("::error title=palisade verify::{reference} is not verified");
            }
            return Err(err.into());
        }
    };
    if in_github_actions {
        eprintln!(
            "::notice title=palisade verify::verified {}",
            reference.with_digest(verified.manifest_digest().clone())
        );
    }
    if args.output.format == OutputFormat::Text {
        println!(
            "verified {}",
            reference.with_digest(verified.manifest_digest().clone())
        );
        for requirement in checked.report.requirements.iter().filter(|r| r.is_met()) {
            println!("  {}", requirement.requirement);
        }
    }
    if !checked.report.verified {
        bail!("{reference}: the report says not verified");
    }
    Ok(())
}

/// `palisade verify FILE`: the file against its Sigstore bundle and the requirements of the flags.
fn run_file(args: &Args, file: &Path, digest: Option<&Digest>) -> anyhow::Result<()> {
    let bundle = match (&args.bundle, digest) {
        (Some(bundle), _) => bundle.clone(),
        (None, Some(_)) => {
            return Err(UsageError("a digest needs its bundle: --bundle FILE".into()).into());
        }
        (None, None) => signing::local::bundle_path(file),
    };
    let Some(config) = args.verification.config()? else {
        return Err(UsageError(format!("say what to verify against: {HOW_TO_VERIFY}")).into());
    };
    let read = |path: &Path, what: &str, hint: &str| {
        std::fs::read(path).map_err(|e| {
            UsageError(format!(
                "cannot read the {what} {}: {e}{hint}",
                path.display()
            ))
        })
    };
    let artifact = match digest {
        Some(_) => Vec::new(),
        None => read(file, "file", "")?,
    };
    let signed = match digest {
        Some(digest) => Signed::Digest(digest),
        None => Signed::Bytes(&artifact),
    };
    let bundle_json = read(&bundle, "bundle", " (name it with --bundle FILE)")?;
    let trust_root = args.verification.trust_root()?;
    let report = signing::file::verify_file(
        &file.display().to_string(),
        signed,
        &bundle.display().to_string(),
        &bundle_json,
        &config,
        &trust_root,
    );
    if args.output.format != OutputFormat::Text {
        print_structured(args.output.format, &report)?;
    }
    let report = report.into_verified()?;
    if args.output.format == OutputFormat::Text {
        println!(
            "verified {} ({}) with {}",
            report.file, report.digest, report.bundle
        );
        for requirement in &report.requirements {
            if let Some(checked) = &requirement.checked {
                println!("  {}: {}", requirement.requirement, checked.summary());
            }
        }
    }
    Ok(())
}
