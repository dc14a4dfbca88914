//! `palisade run`: evaluate a policy on one admission request, locally.

use evaluator::ValidationRequest;
use serde_json::Value;

use crate::evaluation_options::{EvaluationOptions, LoadedEvaluation};
use crate::output::{OutputFormat, print_structured};

/// Evaluate a policy on an AdmissionReview and print the AdmissionReview response.
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
    /// How to print the result: a summary (text) or the AdmissionReview response.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = args.evaluation.load()?;
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
        OutputFormat::Text => print_text(name, &review.uid, &review_response["response"]),
        format => print_structured(format, &review_response)?,
    }
    Ok(())
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
