//! `palisade precompile`: compile a policy for this engine, push the compiled module as a signed referrer.

use std::path::PathBuf;

use artifact::reference::RegistryRef;
use evaluator::EngineConfig;
use evaluator::gate::Admission;
use serde::Serialize;

use crate::exit::usage_error;
use crate::key_files;
use crate::options::{RegistryOptions, registry_ref};
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::block_on;
use crate::verification_options::VerificationOptions;

/// Compile a policy for this engine configuration (wasmtime version, target, compiler settings) and push the
/// compiled module as an OCI 1.1 referrer of the policy's manifest, signed with KEY (cosign's `.sig` image of
/// the referrer). A policy-server given --precompiled-key with the public key loads it instead of compiling,
/// after verifying it; anything that does not match (engine, signature, module) is compiled as usual. The
/// policy is verified first when verification flags are given (--verification-key, --verification-config…),
/// and pulled unverified, with a warning, when none is. The deadline, memory limit and allocator of a
/// policy-server do not change compiled code: one precompiled module serves every such setting. Run again,
/// it pushes nothing when the policy already has a referrer for this engine that KEY signed, holding the
/// compilations of the same Wasm, and says it reused it.
#[derive(Debug, clap::Args)]
#[command(mut_arg("key", |arg| {
    arg.long("verification-key")
        .short(None)
        .alias(None)
        .help("A public key that must have signed the policy (repeatable: all of them must)")
}))]
pub struct Args {
    /// The policy: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST].
    #[arg(value_name = "REF")]
    reference: String,
    /// The private key that signs the compiled module (cosign.key, or an unencrypted PKCS#8 or SEC1 P-256 key).
    #[arg(long = "key", id = "signing_key", value_name = "FILE")]
    signing_key: PathBuf,
    #[command(flatten)]
    verification: VerificationOptions,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    policy: String,
    source_module: String,
    referrer: String,
    reused: bool,
    artifact_type: String,
    wasmtime: String,
    target: String,
    engine_hash: String,
    modules: usize,
    signature_tag: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let reference: RegistryRef = registry_ref(&args.reference)?;
    let key = key_files::private_key(&args.signing_key).map_err(usage_error)?;
    let admission = match args.verification.verification()? {
        Some(verification) => Admission::Verify(verification),
        None => Admission::InsecureSkipVerification,
    };
    let remote = args.registry.remote()?;
    let published = block_on(
        format!("compiling and publishing {reference}"),
        evaluator::precompiled::publish(
            &remote,
            &reference,
            &admission,
            EngineConfig::default(),
            &key,
        ),
    )??;
    let report = Report {
        policy: reference.with_digest(published.subject).to_string(),
        source_module: published.source.to_string(),
        referrer: published.referrer.to_string(),
        reused: published.reused,
        artifact_type: published.artifact_type,
        wasmtime: published.engine.wasmtime,
        target: published.engine.target,
        engine_hash: published.engine.hash,
        modules: published.modules,
        signature_tag: published.signature_tag,
    };
    match args.output.format {
        OutputFormat::Text => {
            if report.reused {
                println!("already precompiled {}", report.policy);
                println!(
                    "  referrer {} ({}) signed by this key: reused, nothing pushed",
                    report.referrer, report.artifact_type
                );
            } else {
                println!("precompiled {}", report.policy);
                println!("  referrer {} ({})", report.referrer, report.artifact_type);
            }
            println!(
                "  {} compiled module(s) of {}",
                report.modules, report.source_module
            );
            println!("  signature in tag {}", report.signature_tag);
        }
        format => print_structured(format, &report)?,
    }
    Ok(())
}
