//! `palisade scaffold`: write the documents kwctl scaffolds: admission requests, policy
//! manifests, the default verification config, Artifact Hub packages.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use artifact::ArtifactError;
use artifact::inspect::inspect;
use artifact::metadata::MetadataFile;
use artifact::reference::PolicyRef;
use artifact::scaffold::artifacthub::{artifacthub_document, artifacthub_package};
use artifact::scaffold::manifest::{ManifestRequest, ManifestType, manifest, parse_settings};
use evaluator::scaffold::vap::{self, DEFAULT_CEL_POLICY};
use evaluator::scaffold::verification_config::default_verification_config;
use evaluator::scaffold::{AdmissionRequestSpec, Operation, admission_review};

use crate::exit::{UsageError, usage_error};
use crate::options::{RegistryOptions, StoreOptions, load_module};
use crate::output::{OutputFormat, print_structured};

/// Write a document for trying policies out.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Print an AdmissionRequest for `palisade run`, as kwctl does (--review: the AdmissionReview v1
    /// the API server would send).
    ///
    /// `kind`, `resource`, `requestKind` and `requestResource` come from a built-in table of
    /// common kinds (Pod, Deployment, Namespace, Ingress, …), for --kind or the kind of --object;
    /// for other kinds (custom resources) from the object's apiVersion and kind, the resource
    /// guessed from the kind; without --object a minimal object is made; UPDATE without --old-object uses the object as the old one.
    AdmissionRequest(AdmissionRequestArgs),
    /// Print a Kubewarden policy resource (ClusterAdmissionPolicy or AdmissionPolicy) for a policy.
    ///
    /// Its rules, `mutating`, `backgroundAudit` and `contextAwareResources` come from the module's
    /// metadata, its name from the policy's title; `spec.module` is the reference as given (pinned
    /// when it names a digest) or the file's `file://` URL. A policy in a registry is pulled first.
    /// Exit 1 when the module has no metadata or its metadata is not valid.
    Manifest(ManifestArgs),
    /// Print Kubewarden's default verification config (policies signed by Kubewarden's GitHub
    /// Actions), for --verification-config.
    VerificationConfig,
    /// Print (or write) an artifacthub-pkg.yml for a policy, from its metadata file.
    ///
    /// Its version, name, description and image come from the `io.kubewarden.policy.*` and
    /// `io.artifacthub.*` annotations; the rules, mutation and context-aware resources become
    /// `kubewarden/*` annotations. `createdAt` is now, or SOURCE_DATE_EPOCH when set.
    #[command(disable_version_flag = true)]
    Artifacthub(ArtifacthubArgs),
    /// Print a Kubernetes ValidatingAdmissionPolicy and its binding as a Kubewarden
    /// ClusterAdmissionPolicy running Kubewarden's CEL policy.
    ///
    /// The validations, variables, parameters and failure policy become the CEL policy's settings,
    /// the match constraints its rules, the binding's namespace selector and metadata the resource's.
    Vap(VapArgs),
}

#[derive(Debug, clap::Args)]
struct VapArgs {
    /// The CEL policy module to run.
    #[arg(long, value_name = "URI", default_value = DEFAULT_CEL_POLICY)]
    cel_policy: String,
    /// The ValidatingAdmissionPolicy, as YAML or JSON.
    #[arg(short, long, value_name = "FILE")]
    policy: PathBuf,
    /// The ValidatingAdmissionPolicyBinding, as YAML or JSON.
    #[arg(short, long, value_name = "FILE")]
    binding: PathBuf,
    /// How to print the resource.
    #[arg(short, long, value_enum, default_value = "yaml")]
    output: StructuredFormat,
}

#[derive(Debug, clap::Args)]
struct ManifestArgs {
    /// The policy: a Wasm module file, or a policy in a registry (registry://HOST/REPOSITORY:TAG,
    /// HOST/REPOSITORY:TAG, …@sha256:…).
    #[arg(value_name = "REF|FILE")]
    policy: String,
    /// The kind of resource.
    #[arg(short = 't', long = "type", value_enum, value_name = "TYPE")]
    kind: ManifestKind,
    /// The policy's settings, as a YAML or JSON file (`spec.settings`).
    #[arg(short, long, value_name = "FILE", conflicts_with = "settings_json")]
    settings_path: Option<PathBuf>,
    /// The policy's settings, inline, as JSON.
    #[arg(long, value_name = "JSON")]
    settings_json: Option<String>,
    /// The resource's name [default: the policy's title annotation].
    #[arg(long, value_name = "NAME")]
    title: Option<String>,
    /// Copy the Kubernetes resources the metadata asks to read into contextAwareResources
    /// (review them: the policy may read them all).
    #[arg(long)]
    allow_context_aware: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    store: StoreOptions,
    /// How to print the resource.
    #[arg(short, long, value_enum, default_value = "yaml")]
    output: StructuredFormat,
}

/// The resource kinds `--type` takes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ManifestKind {
    #[value(name = "ClusterAdmissionPolicy")]
    ClusterAdmissionPolicy,
    #[value(name = "AdmissionPolicy")]
    AdmissionPolicy,
}

#[derive(Debug, clap::Args)]
struct ArtifacthubArgs {
    /// The policy's metadata file [default: metadata.yml, else metadata.yaml].
    #[arg(short, long, value_name = "FILE")]
    metadata_path: Option<PathBuf>,
    /// Ignored, as kwctl ignores it: the version is the metadata's `io.kubewarden.policy.version`.
    #[arg(short, long, value_name = "VERSION")]
    version: Option<String>,
    /// The questions of Rancher's UI [default: questions-ui.yml, questions-ui.yaml, questions.yml or
    /// questions.yaml when present].
    #[arg(short, long, value_name = "FILE")]
    questions_path: Option<PathBuf>,
    /// Write the package to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct AdmissionRequestArgs {
    /// The operation.
    #[arg(long, value_enum)]
    operation: OperationArg,
    /// The kind of the object (Pod, Deployment, …) [default: the `kind` of --object, else of
    /// --old-object].
    #[arg(long)]
    kind: Option<String>,
    /// The namespace [default: the object's, else `default` for namespaced kinds].
    #[arg(long, short = 'n')]
    namespace: Option<String>,
    /// The object's name [default: the object's, else `example`].
    #[arg(long)]
    name: Option<String>,
    /// The object, as YAML or JSON (`request.object`).
    #[arg(long, value_name = "FILE")]
    object: Option<PathBuf>,
    /// The object before the change, as YAML or JSON (`request.oldObject`; UPDATE, DELETE).
    #[arg(long, value_name = "FILE")]
    old_object: Option<PathBuf>,
    /// The request's uid [default: a random UUID].
    #[arg(long)]
    uid: Option<String>,
    /// Print the whole AdmissionReview, as the API server sends it (what policy-server's /validate
    /// takes), instead of the AdmissionRequest alone, which is what kwctl prints.
    #[arg(long)]
    review: bool,
    /// How to print the request.
    #[arg(short, long, value_enum, default_value = "json")]
    output: StructuredFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OperationArg {
    #[value(name = "CREATE", alias = "create")]
    Create,
    #[value(name = "UPDATE", alias = "update")]
    Update,
    #[value(name = "DELETE", alias = "delete")]
    Delete,
    #[value(name = "CONNECT", alias = "connect")]
    Connect,
}

/// A scaffolded document is JSON or YAML.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum StructuredFormat {
    Json,
    Yaml,
}

impl From<StructuredFormat> for OutputFormat {
    fn from(format: StructuredFormat) -> OutputFormat {
        match format {
            StructuredFormat::Json => OutputFormat::Json,
            StructuredFormat::Yaml => OutputFormat::Yaml,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::AdmissionRequest(args) => admission_request(args),
        What::Manifest(args) => policy_manifest(args),
        What::VerificationConfig => {
            println!("{}", default_verification_config());
            Ok(())
        }
        What::Artifacthub(args) => artifacthub(args),
        What::Vap(args) => validating_admission_policy(args),
    }
}

fn validating_admission_policy(args: VapArgs) -> anyhow::Result<()> {
    let policy = read_object(&args.policy)?;
    let binding = read_object(&args.binding)?;
    let converted = vap::convert(&args.cel_policy, &policy, &binding).with_context(|| {
        format!(
            "converting {} bound by {}",
            args.policy.display(),
            args.binding.display()
        )
    })?;
    for warning in &converted.warnings {
        eprintln!("warning: {warning}");
    }
    print_structured(args.output.into(), &converted.resource)
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|err| UsageError(format!("reading {}: {err}", path.display())).into())
}

fn policy_manifest(args: ManifestArgs) -> anyhow::Result<()> {
    let settings = match (&args.settings_path, &args.settings_json) {
        (Some(path), _) => parse_settings(&read_text(path)?)
            .with_context(|| path.display().to_string())
            .map_err(usage_error)?,
        (None, Some(text)) => parse_settings(text)
            .context("--settings-json")
            .map_err(usage_error)?,
        (None, None) => Default::default(),
    };
    let (module, _) = load_module(&args.policy, &args.registry, &args.store)?;
    let module_url = match PolicyRef::parse(&args.policy)? {
        PolicyRef::Registry(reference) => reference.to_string(),
        PolicyRef::File(path) => file_url(&path)?,
        PolicyRef::Layout(_) => {
            return Err(UsageError(format!(
                "{}: a Kubewarden policy resource names a registry or file module, not an OCI layout",
                args.policy
            ))
            .into());
        }
    };
    let metadata = inspect(&module)
        .with_context(|| args.policy.clone())?
        .metadata
        .ok_or_else(|| anyhow!(ArtifactError::NoMetadata.in_file(&args.policy)))?;
    let scaffolded = manifest(ManifestRequest {
        kind: match args.kind {
            ManifestKind::ClusterAdmissionPolicy => ManifestType::ClusterAdmissionPolicy,
            ManifestKind::AdmissionPolicy => ManifestType::AdmissionPolicy,
        },
        module: module_url,
        metadata: &metadata,
        settings,
        title: args.title,
        allow_context_aware: args.allow_context_aware,
    })
    .with_context(|| format!("scaffolding the manifest of {}", args.policy))?;
    for warning in &scaffolded.warnings {
        eprintln!("warning: {warning}");
    }
    print_structured(args.output.into(), &scaffolded.resource)
}

/// The `file://` URL of a local module, as kwctl writes it in `spec.module`.
fn file_url(path: &Path) -> anyhow::Result<String> {
    let absolute = path
        .canonicalize()
        .map_err(|err| UsageError(format!("{}: {err}", path.display())))?;
    Ok(format!("file://{}", absolute.display()))
}

/// The first of `names` that exists in the current folder.
fn first_present(names: &[&str]) -> Option<PathBuf> {
    names.iter().map(PathBuf::from).find(|path| path.exists())
}

fn artifacthub(args: ArtifacthubArgs) -> anyhow::Result<()> {
    let metadata_path = args
        .metadata_path
        .or_else(|| first_present(&["metadata.yml", "metadata.yaml"]))
        .ok_or_else(|| {
            UsageError("no metadata file: pass --metadata-path (metadata.yml is not here)".into())
        })?;
    if args.version.is_some() {
        eprintln!(
            "warning: --version is ignored: the version is the metadata's io.kubewarden.policy.version"
        );
    }
    let questions_path = args.questions_path.or_else(|| {
        first_present(&[
            "questions-ui.yml",
            "questions-ui.yaml",
            "questions.yml",
            "questions.yaml",
        ])
    });
    let metadata = MetadataFile::parse(&read_text(&metadata_path)?)
        .with_context(|| metadata_path.display().to_string())
        .map_err(usage_error)?
        .metadata;
    let questions = questions_path.as_deref().map(read_text).transpose()?;
    let created = sbom::creation_time(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())?;
    let package =
        artifacthub_package(&metadata, created, questions.as_deref()).with_context(|| {
            format!(
                "making the Artifact Hub package of {}",
                metadata_path.display()
            )
        })?;
    let document = artifacthub_document(&package)?;
    match args.output {
        Some(path) => std::fs::write(&path, document)
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{document}"),
    }
    Ok(())
}

/// A YAML or JSON document.
fn read_object<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read(path)
        .map_err(|err| UsageError(format!("reading {}: {err}", path.display())))?;
    serde_norway::from_slice(&text)
        .map_err(|err| UsageError(format!("{}: not JSON or YAML: {err}", path.display())).into())
}

fn admission_request(args: AdmissionRequestArgs) -> anyhow::Result<()> {
    let spec = AdmissionRequestSpec {
        operation: match args.operation {
            OperationArg::Create => Operation::Create,
            OperationArg::Update => Operation::Update,
            OperationArg::Delete => Operation::Delete,
            OperationArg::Connect => Operation::Connect,
        },
        kind: args.kind,
        namespace: args.namespace,
        name: args.name,
        object: args.object.as_deref().map(read_object).transpose()?,
        old_object: args.old_object.as_deref().map(read_object).transpose()?,
        uid: args.uid,
    };
    let mut review = admission_review(&spec).context("scaffolding the admission request")?;
    if args.review {
        print_structured(args.output.into(), &review)
    } else {
        print_structured(args.output.into(), &review["request"].take())
    }
}
