//! Kubewarden's policy protocol types and the Kubernetes `AdmissionReview` v1 envelope.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::EvaluatorError;

/// The payload of the `validate` operation: the admission request and the policy's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRequest {
    /// The `request` field of an `AdmissionReview` (an `AdmissionRequest`).
    pub request: Value,
    /// The policy's settings (`{}` when there are none).
    pub settings: Value,
}

/// A policy's answer to `validate`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ValidationResponse {
    /// Whether the request is allowed.
    pub accepted: bool,
    /// Why it was rejected, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The HTTP-like status code of a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The object as the policy would have it (mutating policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutated_object: Option<Value>,
    /// Annotations for the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// Warnings returned to the API client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// What led to a rejection, one entry each (`status.details.causes`): the members of a policy
    /// group that rejected. Set by the server, never read from a policy's answer.
    #[serde(skip)]
    pub causes: Vec<StatusCause>,
}

/// One cause of a rejection, as Kubernetes' `StatusCause` has it: the field it concerns (for a
/// policy group's member, `spec.policies.MEMBER`; none for a policy's own message) and why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct StatusCause {
    /// The field of the resource (or of the group) the cause concerns; empty: none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ValidationResponse {
    /// The rejection of a policy that mutated the object without being allowed to.
    pub fn mutation_refused() -> ValidationResponse {
        ValidationResponse {
            accepted: false,
            message: Some("the policy mutated the object but is not allowed to mutate".into()),
            code: Some(500),
            ..ValidationResponse::default()
        }
    }

    /// A rejection with `message` in place of its own (Kubewarden's `message` of a policy), the
    /// replaced one kept as the last cause; an acceptance unchanged.
    pub fn with_rejection_message(mut self, message: &str) -> ValidationResponse {
        if self.accepted {
            return self;
        }
        let replaced = self.message.replace(message.to_owned());
        self.causes.push(StatusCause {
            field: String::new(),
            message: Some(replaced.unwrap_or_default()),
        });
        self
    }

    /// The rejection that stands for a failed evaluation: code 500, or 503 for a policy failed fast
    /// (its circuit breaker open).
    pub fn from_failure(error: &EvaluatorError) -> ValidationResponse {
        let code = match error {
            EvaluatorError::CircuitOpen { .. } => 503,
            _ => 500,
        };
        ValidationResponse {
            accepted: false,
            message: Some(error.to_string()),
            code: Some(code),
            ..ValidationResponse::default()
        }
    }
}

/// A policy's answer to `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SettingsValidationResponse {
    /// Whether the settings are acceptable.
    pub valid: bool,
    /// Why they are not, if they are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A Kubernetes `AdmissionReview` (admission.k8s.io/v1) as received from the API server, or a raw
/// (non-Kubernetes) request evaluated the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionReview {
    /// The `request` object.
    pub request: Value,
    /// `request.uid`, echoed in the response.
    pub uid: String,
    /// A raw request: a mutation is a patch against the whole request, not against its `object`.
    raw: bool,
}

/// What a request document holds, as kwctl's `--request-path` and `--raw` read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestForm {
    /// An `AdmissionReview` or the `AdmissionRequest` it carries.
    #[default]
    Kubernetes,
    /// Any JSON document, evaluated as it is (Kubewarden's `validate_raw`).
    Raw,
}

impl AdmissionReview {
    /// Reads a request document as kwctl does: with `kind: AdmissionReview` it is unwrapped to its
    /// `request`, and anything else is the `AdmissionRequest` itself (which must have a string
    /// `uid`). A document without `kind` holding a `request` object and no `uid` is taken for the
    /// review it obviously is. A [`RequestForm::Raw`] document is evaluated as it is.
    pub fn from_request_document(
        bytes: &[u8],
        form: RequestForm,
    ) -> Result<AdmissionReview, EvaluatorError> {
        let document: Value = serde_json::from_slice(bytes).map_err(|err| {
            EvaluatorError::InvalidInput(format!("the request is not JSON: {err}"))
        })?;
        if form == RequestForm::Raw {
            return Ok(AdmissionReview::raw(document));
        }
        let kind = document.get("kind");
        let is_review = match kind {
            Some(Value::String(kind)) => kind == "AdmissionReview",
            Some(_) => false,
            None => {
                document.get("request").is_some_and(Value::is_object)
                    && document.get("uid").is_none()
            }
        };
        if is_review {
            return AdmissionReview::from_value(document);
        }
        if let Some(Value::String(kind)) = kind {
            return Err(EvaluatorError::InvalidInput(format!(
                "expected an AdmissionReview or an AdmissionRequest, found kind {kind}"
            )));
        }
        if !document.is_object() {
            return Err(EvaluatorError::InvalidInput(
                "expected an AdmissionReview or an AdmissionRequest, found a JSON value that is not an object".into(),
            ));
        }
        let uid = document
            .get("uid")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                EvaluatorError::InvalidInput("the AdmissionRequest has no string `uid`".into())
            })?
            .to_owned();
        Ok(AdmissionReview {
            request: document,
            uid,
            raw: false,
        })
    }

    /// A raw (non-Kubernetes) request, evaluated as it is; its `uid`, if any, is echoed.
    pub fn raw(request: Value) -> AdmissionReview {
        let uid = request
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        AdmissionReview {
            request,
            uid,
            raw: true,
        }
    }

    /// Parses an `AdmissionReview` v1 document; `request` must be an object with a string `uid`.
    pub fn from_json(bytes: &[u8]) -> Result<AdmissionReview, EvaluatorError> {
        let document: Value = serde_json::from_slice(bytes).map_err(|err| {
            EvaluatorError::InvalidInput(format!("the AdmissionReview is not JSON: {err}"))
        })?;
        AdmissionReview::from_value(document)
    }

    /// Like [`AdmissionReview::from_json`], from a parsed document.
    pub fn from_value(mut document: Value) -> Result<AdmissionReview, EvaluatorError> {
        if let Some(kind) = document.get("kind").and_then(Value::as_str)
            && kind != "AdmissionReview"
        {
            return Err(EvaluatorError::InvalidInput(format!(
                "expected kind AdmissionReview, found {kind}"
            )));
        }
        let request = match document.get_mut("request") {
            Some(request @ Value::Object(_)) => request.take(),
            Some(_) => {
                return Err(EvaluatorError::InvalidInput(
                    "the AdmissionReview's `request` is not an object".into(),
                ));
            }
            None => {
                return Err(EvaluatorError::InvalidInput(
                    "the AdmissionReview has no `request`".into(),
                ));
            }
        };
        let uid = request
            .get("uid")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                EvaluatorError::InvalidInput(
                    "the AdmissionReview's request has no string `uid`".into(),
                )
            })?
            .to_owned();
        Ok(AdmissionReview {
            request,
            uid,
            raw: false,
        })
    }

    /// The `AdmissionReview` v1 response carrying `answer`.
    ///
    /// A `mutated_object` in an accepting answer becomes a JSON Patch against `request.object` (the
    /// whole request, for a raw one) (`patch`, base64, with `patchType: JSONPatch`) when
    /// `allowed_to_mutate`; otherwise the
    /// request is rejected with code 500, since the policy did what it may not.
    pub fn response(&self, answer: &ValidationResponse, allowed_to_mutate: bool) -> Value {
        let mut patch = None;
        let refused;
        let answer = match (&answer.mutated_object, answer.accepted) {
            (Some(mutated), true) if allowed_to_mutate => {
                let original = if self.raw {
                    self.request.clone()
                } else {
                    self.request.get("object").cloned().unwrap_or(Value::Null)
                };
                let operations = json_patch::diff(&original, mutated);
                if !operations.0.is_empty() {
                    patch = Some(serde_json::to_vec(&operations).unwrap_or_default());
                }
                answer
            }
            (Some(_), true) => {
                refused = ValidationResponse::mutation_refused();
                &refused
            }
            _ => answer,
        };
        let mut response = json!({ "uid": self.uid, "allowed": answer.accepted });
        if answer.message.is_some() || answer.code.is_some() {
            let mut status = serde_json::Map::new();
            if let Some(message) = &answer.message {
                status.insert("message".into(), json!(message));
            }
            if let Some(code) = answer.code {
                status.insert("code".into(), json!(code));
            }
            if !answer.causes.is_empty() {
                status.insert("details".into(), json!({ "causes": answer.causes }));
            }
            response["status"] = Value::Object(status);
        }
        if let Some(warnings) = &answer.warnings {
            response["warnings"] = json!(warnings);
        }
        if let Some(annotations) = &answer.audit_annotations {
            response["auditAnnotations"] = json!(annotations);
        }
        if let Some(patch) = patch {
            response["patchType"] = json!("JSONPatch");
            response["patch"] = json!(BASE64_STANDARD.encode(patch));
        }
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON Patch of an AdmissionReview `response`, decoded.
    fn decoded_patch(response: &Value) -> Result<Value, EvaluatorError> {
        let patch = BASE64_STANDARD
            .decode(response["patch"].as_str().unwrap_or_default())
            .map_err(|err| EvaluatorError::InvalidInput(err.to_string()))?;
        serde_json::from_slice(&patch).map_err(|err| EvaluatorError::InvalidInput(err.to_string()))
    }

    #[test]
    fn parses_a_review_and_builds_its_response() -> Result<(), EvaluatorError> {
        let review = AdmissionReview::from_json(
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"abc","operation":"CREATE"}}"#,
        )?;
        assert_eq!(review.uid, "abc");
        let answer = ValidationResponse {
            accepted: false,
            message: Some("no".into()),
            code: Some(403),
            warnings: Some(vec!["careful".into()]),
            ..ValidationResponse::default()
        };
        let response = review.response(&answer, false);
        assert_eq!(response["response"]["uid"], "abc");
        assert_eq!(response["response"]["allowed"], false);
        assert_eq!(response["response"]["status"]["code"], 403);
        assert_eq!(response["response"]["status"]["message"], "no");
        assert_eq!(response["response"]["warnings"][0], "careful");
        Ok(())
    }

    #[test]
    fn accepted_response_has_no_status() -> Result<(), EvaluatorError> {
        let review = AdmissionReview::from_value(json!({"request": {"uid": "u"}}))?;
        let response = review.response(
            &ValidationResponse {
                accepted: true,
                ..ValidationResponse::default()
            },
            false,
        );
        assert!(response["response"].get("status").is_none());
        Ok(())
    }

    #[test]
    fn a_mutation_becomes_a_json_patch_when_allowed() -> Result<(), EvaluatorError> {
        let review = AdmissionReview::from_value(json!({"request": {
            "uid": "u",
            "object": {"metadata": {"name": "p"}, "spec": {"replicas": 1}}
        }}))?;
        let answer = ValidationResponse {
            accepted: true,
            mutated_object: Some(json!({"metadata": {"name": "p"}, "spec": {"replicas": 2}})),
            ..ValidationResponse::default()
        };
        let response = &review.response(&answer, true)["response"];
        assert_eq!(response["allowed"], true);
        assert_eq!(response["patchType"], "JSONPatch");
        assert_eq!(
            decoded_patch(response)?,
            json!([{"op": "replace", "path": "/spec/replicas", "value": 2}])
        );

        let refused = &review.response(&answer, false)["response"];
        assert_eq!(refused["allowed"], false);
        assert_eq!(refused["status"]["code"], 500);
        assert!(refused.get("patch").is_none());

        // Same object: nothing to patch.
        let unchanged = ValidationResponse {
            mutated_object: review.request.get("object").cloned(),
            ..answer
        };
        assert!(
            review.response(&unchanged, true)["response"]
                .get("patch")
                .is_none()
        );
        Ok(())
    }

    #[test]
    fn rejects_malformed_reviews() {
        for bad in [
            &b"not json"[..],
            br#"{"kind":"Pod","request":{"uid":"u"}}"#,
            br#"{"request":"x"}"#,
            br#"{}"#,
            br#"{"request":{"uid":7}}"#,
        ] {
            assert!(matches!(
                AdmissionReview::from_json(bad),
                Err(EvaluatorError::InvalidInput(_))
            ));
        }
    }

    #[test]
    fn a_request_document_is_a_review_or_the_request_itself() -> Result<(), EvaluatorError> {
        let request = json!({"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"}});
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request});
        for document in [&review, &request, &json!({"request": request})] {
            let bytes = serde_json::to_vec(document)
                .map_err(|err| EvaluatorError::InvalidInput(err.to_string()))?;
            let parsed = AdmissionReview::from_request_document(&bytes, RequestForm::Kubernetes)?;
            assert_eq!(parsed.request, request, "{document}");
            assert_eq!(parsed.uid, "u");
        }
        for (bad, why) in [
            (&b"[1]"[..], "not an object"),
            (br#"{"kind":"Pod","uid":"u"}"#, "found kind Pod"),
            (br#"{"kind":"AdmissionReview"}"#, "has no `request`"),
            (
                br#"{"operation":"CREATE"}"#,
                "AdmissionRequest has no string `uid`",
            ),
            (b"{", "not JSON"),
        ] {
            match AdmissionReview::from_request_document(bad, RequestForm::Kubernetes) {
                Err(EvaluatorError::InvalidInput(message)) => {
                    assert!(message.contains(why), "{message}")
                }
                other => panic!("{}: {other:?}", String::from_utf8_lossy(bad)),
            }
        }
        Ok(())
    }

    #[test]
    fn a_raw_request_is_taken_as_it_is_and_patched_whole() -> Result<(), EvaluatorError> {
        let review = AdmissionReview::from_request_document(
            br#"{"user":"tonio","action":"eats","resource":"banana"}"#,
            RequestForm::Raw,
        )?;
        assert_eq!(review.uid, "");
        assert_eq!(review.request["resource"], "banana");
        let answer = ValidationResponse {
            accepted: true,
            mutated_object: Some(json!({"user":"tonio","action":"eats","resource":"rice"})),
            ..ValidationResponse::default()
        };
        let response = &review.response(&answer, true)["response"];
        assert_eq!(
            decoded_patch(response)?,
            json!([{"op": "replace", "path": "/resource", "value": "rice"}])
        );
        assert_eq!(AdmissionReview::raw(json!({"uid": "r"})).uid, "r");
        Ok(())
    }

    #[test]
    fn parses_a_full_validation_response() -> Result<(), serde_json::Error> {
        let answer: ValidationResponse = serde_json::from_str(
            r#"{"accepted":true,"mutated_object":{"a":1},"audit_annotations":{"k":"v"},"warnings":["w"]}"#,
        )?;
        assert!(answer.accepted);
        assert_eq!(answer.mutated_object, Some(json!({"a":1})));
        assert_eq!(
            answer.audit_annotations.as_ref().and_then(|a| a.get("k")),
            Some(&"v".to_owned())
        );
        Ok(())
    }
}
