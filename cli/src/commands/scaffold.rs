//! `palisade scaffold`: write documents for trying policies out.

use std::path::{Path, PathBuf};

use anyhow::Context;
use evaluator::scaffold::{AdmissionRequestSpec, Operation, admission_review};
use serde_json::Value;

use super::UsageError;
use crate::output::{OutputFormat, print_structured};

/// Write a document for trying policies out.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Print an AdmissionReview v1 request, as the API server would send it, for `palisade run`.
    ///
    /// `kind`, `resource`, `requestKind` and `requestResource` come from a built-in table of
    /// common kinds (Pod, Deployment, Namespace, Ingress, …); without --object a minimal object
    /// is made; UPDATE without --old-object uses the object as the old one.
    AdmissionRequest(AdmissionRequestArgs),
}

#[derive(Debug, clap::Args)]
struct AdmissionRequestArgs {
    /// The operation.
    #[arg(long, value_enum)]
    operation: OperationArg,
    /// The kind of the object (Pod, Deployment, …).
    #[arg(long)]
    kind: String,
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
    /// How to print the AdmissionReview.
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

/// The AdmissionReview is a document: JSON (what `run` reads) or YAML.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum StructuredFormat {
    Json,
    Yaml,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::AdmissionRequest(args) => admission_request(args),
    }
}

fn read_object(path: &Path) -> anyhow::Result<Value> {
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
    let review = admission_review(&spec).context("scaffolding the admission request")?;
    print_structured(
        match args.output {
            StructuredFormat::Json => OutputFormat::Json,
            StructuredFormat::Yaml => OutputFormat::Yaml,
        },
        &review,
    )
}
