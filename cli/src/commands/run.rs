//! `palisade run`: evaluate a policy on one admission request, locally.

use evaluator::ValidationRequest;
use serde::Serialize;
use serde_json::Value;

use crate::evaluation_options::{EvaluationOptions, LoadedEvaluation, Workload};
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
    let name = &args.evaluation.policy;
    match args.output {
        RunOutput::Response => println!(
            "{}",
            serde_json::to_string(&KwctlResponse::of(&review_response["response"]))?
        ),
        RunOutput::Text => print_text(name, &review.uid, &review_response["response"]),
        RunOutput::Json => print_structured(OutputFormat::Json, &review_response)?,
        RunOutput::Yaml => print_structured(OutputFormat::Yaml, &review_response)?,
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

/// The `status` of a refusal, in kwctl's order: message, then code.
#[derive(Serialize)]
struct KwctlStatus<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a Value>,
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
    for warning in response["warnings"].as_array().into_iter().flatten() {
        println!("  warning  {}", warning.as_str().unwrap_or_default());
    }
    if let Some(patch) = response.get("patch").and_then(Value::as_str) {
        println!("  patch    {patch} (JSONPatch, base64)");
    }
}
