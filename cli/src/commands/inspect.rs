//! `palisade inspect`: what a module is and what its metadata says.

use anyhow::anyhow;
use artifact::ArtifactError;
use artifact::inspect::{ModuleReport, inspect};
use artifact::metadata::{Metadata, WellKnown};
use std::path::PathBuf;

use crate::verification_options::read_trust_root;
use anyhow::Context;
use serde::Serialize;
use signing::config::VerificationConfig;
use signing::inventory::{Inventory, Signer, Verification};

use crate::exit::UsageError;
use crate::key_files;
use crate::options::{RegistryOptions, StoreOptions, load_module};
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::block_on;

/// Show a module's digest, size, producers and policy metadata.
///
/// With --show-signatures (a registry reference), also every signature and attestation attached to it, in
/// both cosign layouts, without verifying them; with --key, which of them that key verifies.
///
/// Exits 1 (after printing what the module has) when it carries no policy metadata.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A Wasm module file, or a policy in a registry (registry://HOST/REPOSITORY:TAG), pulled into the
    /// local store first.
    module: String,
    /// List the signatures and attestations attached to the policy (registry references only).
    #[arg(long)]
    show_signatures: bool,
    /// With --show-signatures: a public key (cosign.pub) to check each signature with (repeatable).
    #[arg(long, value_name = "FILE", requires = "show_signatures")]
    key: Vec<PathBuf>,
    /// With --show-signatures: a verification config (Kubewarden's format); each signature lists the
    /// requirements it meets.
    #[arg(long, value_name = "FILE", requires = "show_signatures")]
    verification_config: Option<PathBuf>,
    /// The trust root for keyless requirements of --verification-config (a trusted_root.json or ClientTrustConfig;
    /// default: the Sigstore public-good root built in).
    #[arg(long, value_name = "FILE", requires = "verification_config")]
    trust_root: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    store: StoreOptions,
    #[command(flatten)]
    output: OutputOptions,
}

/// What `-o yaml` prints, as kwctl does: the metadata's fields at the top, then the signatures.
#[derive(Serialize)]
struct KwctlReport<'a> {
    #[serde(flatten)]
    metadata: &'a Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    signatures: Option<&'a Inventory>,
}

#[derive(Serialize)]
struct Report<'a> {
    source: &'a str,
    #[serde(flatten)]
    module: &'a ModuleReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    signatures: Option<&'a Inventory>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (module, reference) = load_module(&args.module, &args.registry, &args.store)?;
    let report = inspect(&module).map_err(|err| err.in_file(&args.module))?;
    let inventory = match (args.show_signatures, reference) {
        (false, _) => None,
        (true, None) => {
            return Err(UsageError(format!(
                "{}: --show-signatures needs a policy in a registry (registry://HOST/REPOSITORY:TAG)",
                args.module
            ))
            .into());
        }
        (true, Some(reference)) => {
            let keys = key_files::public_keys(&args.key)?;
            let config = args
                .verification_config
                .as_ref()
                .map(|path| {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    VerificationConfig::from_yaml(&text).with_context(|| path.display().to_string())
                })
                .transpose()?;
            let trust_root = read_trust_root(args.trust_root.as_deref())?;
            let requirements = config.as_ref().map(|c| (c, Some(&trust_root)));
            let remote = args.registry.remote()?;
            Some(block_on(
                format!("listing the signatures of {reference}"),
                signing::inventory::list(&remote, &reference, &keys, requirements),
            )??)
        }
    };
    match args.output.format {
        OutputFormat::Text => {
            print_text(&args.module, &report);
            if let Some(inventory) = &inventory {
                print_signatures(
                    inventory,
                    !args.key.is_empty(),
                    args.verification_config.is_some(),
                );
            }
        }
        OutputFormat::Yaml => {
            if let Some(metadata) = &report.metadata {
                print_structured(
                    OutputFormat::Yaml,
                    &KwctlReport {
                        metadata,
                        signatures: inventory.as_ref(),
                    },
                )?;
            }
        }
        format => print_structured(
            format,
            &Report {
                source: &args.module,
                module: &report,
                signatures: inventory.as_ref(),
            },
        )?,
    }
    match report.metadata {
        Some(_) => Ok(()),
        None => Err(anyhow!(ArtifactError::NoMetadata.in_file(&args.module))),
    }
}

fn print_text(source: &str, report: &ModuleReport) {
    println!("Module");
    field("source", source);
    field("sha256", &report.sha256);
    field("size", &format!("{} bytes", report.size));
    field("custom sections", &list_or_none(&report.custom_sections));
    for (kind, producers) in &report.producers {
        let tools: Vec<String> = producers
            .iter()
            .map(|p| {
                if p.version.is_empty() {
                    p.name.clone()
                } else {
                    format!("{} {}", p.name, p.version)
                }
            })
            .collect();
        field(kind, &tools.join(", "));
    }
    if let Some(names) = &report.names {
        let module = names
            .module
            .as_deref()
            .map(|name| format!("module `{name}`, "))
            .unwrap_or_default();
        field(
            "debug names",
            &format!("{module}{} functions", names.functions),
        );
    }
    if let Some(metadata) = &report.metadata {
        print_metadata(metadata);
    }
}

fn print_metadata(metadata: &Metadata) {
    println!("\nDetails");
    let described = WellKnown::ALL
        .into_iter()
        .filter(|key| *key != WellKnown::Usage);
    for key in described {
        if let Some(value) = metadata.well_known(key) {
            field(key.label(), value);
        }
    }
    field("mutating", yes_no(metadata.mutating));
    field("background audit", yes_no(metadata.background_audit));
    // kwctl's "context aware": whether the policy reads the cluster's resources.
    let context_aware = !metadata.context_aware_resources.is_empty();
    field("context aware", yes_no(context_aware));
    field("execution mode", &metadata.execution_mode.to_string());
    field("policy type", &metadata.policy_type.to_string());
    let protocol = metadata.protocol_version.map(|v| v.to_string());
    field("protocol version", protocol.as_deref().unwrap_or("-"));
    if let Some(version) = &metadata.minimum_kubewarden_version {
        field("minimum Kubewarden", &version.to_string());
    }
    if let Some(capabilities) = &metadata.host_capabilities {
        field("host capabilities", &list_or_none(capabilities));
    }

    let well_known: Vec<&str> = WellKnown::ALL.iter().map(|key| key.key()).collect();
    let others: Vec<_> = metadata
        .annotations
        .iter()
        .filter(|(key, _)| !well_known.contains(&key.as_str()))
        .collect();
    if !others.is_empty() {
        println!("\nAnnotations");
        for (key, value) in others {
            field(key, value);
        }
    }

    println!("\nRules");
    for rule in &metadata.rules {
        let operations: Vec<String> = rule.operations.iter().map(ToString::to_string).collect();
        println!(
            "  - apiGroups: {}; apiVersions: {}; resources: {}; operations: {}",
            quoted(&rule.api_groups),
            quoted(&rule.api_versions),
            quoted(&rule.resources),
            operations.join(", ")
        );
    }
    if metadata.rules.is_empty() {
        println!("  (none)");
    }

    if !metadata.context_aware_resources.is_empty() {
        println!("\nContext-aware resources");
        for resource in &metadata.context_aware_resources {
            println!("  - {resource}");
        }
    }

    if let Some(usage) = metadata.well_known(WellKnown::Usage) {
        println!("\nUsage\n{}", usage.trim_end());
    }
}

fn print_signatures(inventory: &Inventory, with_keys: bool, with_config: bool) {
    println!("\nSignatures of {}", inventory.manifest_digest);
    if inventory.signatures.is_empty() {
        println!("  (none)");
    }
    for entry in &inventory.signatures {
        println!("  - {} {}", entry.kind.label(), entry.location);
        if let Some(reason) = &entry.unreadable {
            field("  unreadable", reason);
            continue;
        }
        let signer = match &entry.signer {
            Signer::Key { hint } => format!("key with hint {hint}"),
            Signer::Certificate { identities, issuer } => format!(
                "certificate for {} issued by {}",
                list_or_none(identities),
                issuer.as_deref().unwrap_or("(no issuer extension)")
            ),
            Signer::NotRecorded => "a key (the layout does not record which)".to_string(),
        };
        field("  signer", &signer);
        if let Some(predicate) = &entry.predicate_type {
            field("  predicate type", predicate);
        }
        let subject: Vec<String> = entry.subject.iter().map(ToString::to_string).collect();
        field("  signed digest", &list_or_none(&subject));
        let annotations: Vec<String> = entry
            .annotations
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        field("  annotations", &list_or_none(&annotations));
        let verification = match &entry.verification {
            Verification::NotVerified if with_keys => "not verified".to_string(),
            Verification::NotVerified => "not verified (pass --key to check)".to_string(),
            Verification::Verified { key } => format!("verified with key {key}"),
            Verification::Failed { reason } => format!("not verified: {reason}"),
        };
        field("  verification", &verification);
        if with_config {
            let met = if entry.satisfies.is_empty() {
                "no requirement of the config".to_string()
            } else {
                entry.satisfies.join("; ")
            };
            field("  meets", &met);
        }
    }
}

fn field(name: &str, value: &str) {
    println!("  {:<20} {value}", format!("{name}:"));
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn list_or_none(values: &[String]) -> String {
    if values.is_empty() {
        "(none)".into()
    } else {
        values.join(", ")
    }
}

/// Rule lists with `""` (the core API group) made visible.
fn quoted(values: &[String]) -> String {
    values
        .iter()
        .map(|value| {
            if value.is_empty() {
                "\"\"".to_string()
            } else {
                value.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
