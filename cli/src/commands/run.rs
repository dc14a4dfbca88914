//! `palisade run`: evaluate a policy on one admission request, locally.

use std::collections::BTreeMap;

use anyhow::Context;
use evaluator::ValidationRequest;
use evaluator::server::group::GroupConfig;
use evaluator::server::{PoliciesFile, ServerState};
use serde::Serialize;
use serde_json::Value;

use crate::evaluation_options::{EvaluationOptions, LoadedEvaluation, Workload};
use crate::exit::UsageError;
use crate::output::{OutputFormat, print_structured};

/// Evaluate a policy on an AdmissionReview and print the AdmissionResponse, as kwctl does.
///
/// The policy is a file or a reference (registry://…, HOST/REPO:TAG, oci-layout://…). A policy from a
/// registry runs only once its signatures meet the verification flags (fail closed: without any, exit 2),
/// and only the verified module runs; with verification flags, a file is verified by the Sigstore bundle next
/// to it (FILE.sigstore.json). --insecure-skip-verification skips verification, for development, with a warning.
/// The execution mode comes from `--execution-mode`, else the module's metadata
/// (`kubewarden-wapc` when it has none).
/// The settings are validated first, as kwctl does: settings the policy refuses, or a policy that fails
/// while checking them, exit 1 with "Provided settings are not valid: …" and the policy's message.
/// A policy rejecting the request is a result (exit 0), as is one failing while it evaluates the
/// request (a rejection with code 500); exit 1 when the policy cannot be verified or loaded.
///
/// A YAML file (`.yml`, `.yaml`) holding a Kubewarden AdmissionPolicyGroup or ClusterAdmissionPolicyGroup runs that
/// group, as kwctl does: every member fetched, verified like any policy and its settings validated, then the
/// group's expression evaluated, each member only when the verdict depends on it; a rejection carries the group's
/// message and each rejecting member as a cause.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    evaluation: EvaluationOptions,
    /// How to print the result.
    #[arg(short, long, value_enum, default_value_t)]
    output: RunOutput,
}

/// How `run` prints its result: kwctl's line by default, so that scripts written for kwctl read it unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
enum RunOutput {
    /// The AdmissionResponse on one line of JSON, as kwctl prints it (its fields in kwctl's order).
    #[default]
    Response,
    /// A summary for people.
    Text,
    /// The whole AdmissionReview (apiVersion, kind, response), as policy-server answers.
    Json,
    /// That AdmissionReview as YAML.
    Yaml,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if is_resource_file(&args.evaluation.policy) {
        return run_group(args);
    }
    let loaded = args.evaluation.load(Workload::Once)?;
    loaded.validate_settings()?;
    let LoadedEvaluation {
        policy,
        review,
        settings,
        allowed_to_mutate,
    } = loaded;
    let answer = policy.evaluate(&ValidationRequest {
        request: review.request.clone(),
        settings,
    });
    let review_response = review.response(&answer, allowed_to_mutate);
    print(
        args.output,
        &args.evaluation.policy,
        &review.uid,
        &review_response,
    )
}

/// Whether the policy argument names a Kubernetes resource file rather than a module, as kwctl tells them.
fn is_resource_file(policy: &str) -> bool {
    policy.ends_with(".yml") || policy.ends_with(".yaml")
}

/// Runs the policy group of the resource file the policy argument names.
fn run_group(args: Args) -> anyhow::Result<()> {
    let path = &args.evaluation.policy;
    let text = std::fs::read_to_string(path)
        .map_err(|err| UsageError(format!("reading {path}: {err}")))?;
    let (id, group) = GroupConfig::from_resource(&text).with_context(|| path.clone())?;
    let (options, review) = args.evaluation.group_start()?;
    let file = PoliciesFile {
        policies: BTreeMap::new(),
        groups: BTreeMap::from([(id.clone(), group)]),
        digest: None,
    };
    let (answer, allowed_to_mutate) = crate::runtime::get()?.block_on(async {
        let state = ServerState::start(&file, options).await?;
        evaluator::server::answer(&state, &id, &review.request).await
    })?;
    let review_response = review.response(&answer, allowed_to_mutate);
    print(args.output, path, &review.uid, &review_response)
}

/// Prints the AdmissionReview answer as `--output` asks.
fn print(output: RunOutput, name: &str, uid: &str, review_response: &Value) -> anyhow::Result<()> {
    match output {
        RunOutput::Response => println!(
            "{}",
            serde_json::to_string(&KwctlResponse::of(&review_response["response"]))?
        ),
        RunOutput::Text => print_text(name, uid, &review_response["response"]),
        RunOutput::Json => print_structured(OutputFormat::Json, review_response)?,
        RunOutput::Yaml => print_structured(OutputFormat::Yaml, review_response)?,
    }
    Ok(())
}

/// An AdmissionResponse laid out as kwctl prints it: its fields in kwctl's order, `auditAnnotations` and
/// `warnings` always present (`null` when the policy gave none), `patchType`, `patch` and `status` only when set.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KwctlResponse<'a> {
    uid: &'a Value,
    allowed: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_type: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<KwctlStatus<'a>>,
    audit_annotations: Option<&'a Value>,
    warnings: Option<&'a Value>,
}

/// The `status` of a refusal, in kwctl's order: message, details (a group's causes), then code.
#[derive(Serialize)]
struct KwctlStatus<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<KwctlDetails<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a Value>,
}

/// The `details` of a group's refusal: its causes.
#[derive(Serialize)]
struct KwctlDetails<'a> {
    causes: Vec<KwctlCause<'a>>,
}

/// One cause, in kwctl's order, with the `reason` it always prints (`null`).
#[derive(Serialize)]
struct KwctlCause<'a> {
    reason: Option<&'a Value>,
    message: Option<&'a Value>,
    field: Option<&'a Value>,
}

impl<'a> KwctlResponse<'a> {
    /// kwctl's layout of the AdmissionReview `response` that palisade built.
    fn of(response: &'a Value) -> Self {
        KwctlResponse {
            uid: &response["uid"],
            allowed: &response["allowed"],
            patch_type: response.get("patchType"),
            patch: response.get("patch"),
            status: response.get("status").map(|status| KwctlStatus {
                message: status.get("message"),
                details: status.get("details").map(|details| KwctlDetails {
                    causes: details["causes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|cause| KwctlCause {
                            reason: cause.get("reason"),
                            message: cause.get("message"),
                            field: cause.get("field"),
                        })
                        .collect(),
                }),
                code: status.get("code"),
            }),
            audit_annotations: response.get("auditAnnotations"),
            warnings: response.get("warnings"),
        }
    }
}

/// A summary of the AdmissionReview `response` for people.
fn print_text(policy: &str, uid: &str, response: &Value) {
    let verdict = if response["allowed"] == Value::Bool(true) {
        "accepted"
    } else {
        "rejected"
    };
    println!("{verdict}: {policy} (uid {uid})");
    if let Some(code) = response["status"].get("code") {
        println!("  code     {code}");
    }
    if let Some(message) = response["status"].get("message").and_then(Value::as_str) {
        println!("  message  {message}");
    }
    for cause in response["status"]["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let field = cause["field"].as_str().unwrap_or_default();
        let message = cause["message"].as_str().unwrap_or_default();
        println!("  cause    {field}: {message}");
    }
    for warning in response["warnings"].as_array().into_iter().flatten() {
        println!("  warning  {}", warning.as_str().unwrap_or_default());
    }
    if let Some(patch) = response.get("patch").and_then(Value::as_str) {
        println!("  patch    {patch} (JSONPatch, base64)");
    }
}
