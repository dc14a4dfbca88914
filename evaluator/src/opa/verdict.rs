//! What a Rego policy's result set means for the admission request, in each execution mode.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde::Deserialize;
use serde_json::Value;

use crate::admission::ValidationResponse;
use crate::error::EvaluatorError;

/// `opa` mode: the entrypoint evaluates to an `AdmissionReview`; its `response` is the verdict
/// (`allowed`, `status.message`/`code`, `warnings`, `auditAnnotations`, and for a mutating
/// policy a base64 JSON Patch, applied here to `request.object`).
pub(super) fn opa(results: &Value, request: &Value) -> Result<ValidationResponse, EvaluatorError> {
    let response = first_result(results)
        .and_then(|result| result.get("response"))
        .ok_or_else(|| malformed("the result has no `response` (an AdmissionReview's)".into()))?;
    let response = OpaResponse::deserialize(response).map_err(|err| {
        malformed(format!(
            "the `response` is not an admission response: {err}"
        ))
    })?;
    let status = response.status.unwrap_or_default();
    let mutated_object = match response.patch {
        Some(patch) => Some(apply_patch(&patch, request)?),
        None => None,
    };
    Ok(ValidationResponse {
        accepted: response.allowed,
        message: status.message,
        code: status.code,
        mutated_object,
        audit_annotations: response.audit_annotations,
        warnings: response.warnings,
        causes: Vec::new(),
    })
}

/// `gatekeeper` mode: the entrypoint (`violation`) evaluates to a list of violations, each with
/// a `msg`; none (or an undefined result) accepts, any rejects with the messages joined.
pub(super) fn gatekeeper(results: &Value) -> Result<ValidationResponse, EvaluatorError> {
    let Some(result) = first_result(results) else {
        return Ok(accepted());
    };
    let violations = Vec::<Violation>::deserialize(result)
        .map_err(|err| malformed(format!("expected a list of violations: {err}")))?;
    if violations.is_empty() {
        return Ok(accepted());
    }
    let messages: Vec<String> = violations.into_iter().filter_map(|v| v.msg).collect();
    Ok(ValidationResponse {
        accepted: false,
        message: Some(messages.join(", ")),
        ..ValidationResponse::default()
    })
}

/// `[0].result` of a result set; `None` when the set is empty (the entrypoint is undefined).
fn first_result(results: &Value) -> Option<&Value> {
    results.get(0).and_then(|binding| binding.get("result"))
}

fn accepted() -> ValidationResponse {
    ValidationResponse {
        accepted: true,
        ..ValidationResponse::default()
    }
}

fn malformed(reason: String) -> EvaluatorError {
    EvaluatorError::MalformedResponse {
        operation: "eval".into(),
        reason,
    }
}

fn apply_patch(patch: &str, request: &Value) -> Result<Value, EvaluatorError> {
    let bytes = BASE64_STANDARD
        .decode(patch)
        .map_err(|err| malformed(format!("the `patch` is not base64: {err}")))?;
    let patch: json_patch::Patch = serde_json::from_slice(&bytes)
        .map_err(|err| malformed(format!("the `patch` is not a JSON Patch: {err}")))?;
    let mut object = request.get("object").cloned().unwrap_or(Value::Null);
    json_patch::patch(&mut object, &patch)
        .map_err(|err| malformed(format!("the `patch` does not apply to the object: {err}")))?;
    Ok(object)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpaResponse {
    allowed: bool,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    patch: Option<String>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    #[serde(default)]
    audit_annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
struct Status {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<u16>,
}

#[derive(Deserialize)]
struct Violation {
    #[serde(default)]
    msg: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn opa_reads_the_admission_response() -> Result<(), EvaluatorError> {
        let results = json!([{"result": {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "1", "allowed": false, "status": {"message": "no", "code": 403},
                         "warnings": ["careful"]}}}]);
        let answer = opa(&results, &json!({}))?;
        assert!(!answer.accepted);
        assert_eq!(answer.message.as_deref(), Some("no"));
        assert_eq!(answer.code, Some(403));
        assert_eq!(answer.warnings, Some(vec!["careful".to_owned()]));
        Ok(())
    }

    #[test]
    fn opa_applies_a_patch_to_the_object() -> Result<(), EvaluatorError> {
        let patch = BASE64_STANDARD
            .encode(br#"[{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]"#);
        let results = json!([{"result": {"response": {"allowed": true, "patchType": "JSONPatch", "patch": patch}}}]);
        let request = json!({"object": {"metadata": {"name": "x"}}});
        let answer = opa(&results, &request)?;
        assert_eq!(
            answer.mutated_object,
            Some(json!({"metadata": {"name": "x", "labels": {"a": "b"}}}))
        );
        Ok(())
    }

    #[test]
    fn opa_without_a_response_is_malformed() {
        for results in [
            json!([]),
            json!([{"result": true}]),
            json!([{"result": {"response": {"x": 1}}}]),
        ] {
            assert!(
                matches!(
                    opa(&results, &json!({})),
                    Err(EvaluatorError::MalformedResponse { .. })
                ),
                "{results}"
            );
        }
    }

    #[test]
    fn gatekeeper_joins_violations() -> Result<(), EvaluatorError> {
        let answer =
            gatekeeper(&json!([{"result": [{"msg": "one"}, {"msg": "two", "details": {}}]}]))?;
        assert!(!answer.accepted);
        assert_eq!(answer.message.as_deref(), Some("one, two"));
        assert!(gatekeeper(&json!([{"result": []}]))?.accepted);
        assert!(gatekeeper(&json!([]))?.accepted);
        assert!(matches!(
            gatekeeper(&json!([{"result": "no"}])),
            Err(EvaluatorError::MalformedResponse { .. })
        ));
        Ok(())
    }
}
