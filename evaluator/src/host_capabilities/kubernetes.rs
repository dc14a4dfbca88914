//! `kubernetes/list_resources_by_namespace`, `kubernetes/list_resources_all` and
//! `kubernetes/get_resource`, served from a file of resources ([`ContextResources`]) so that
//! context-aware policies run offline. A policy reads only the kinds its metadata lists in
//! `contextAwareResources`.
//!
//! Requests are Kubewarden's (`api_version`, `kind`, `namespace`, `name`, `label_selector`,
//! `field_selector`); lists are answered as Kubernetes does (`{"apiVersion", "kind":
//! "<Kind>List", "metadata", "items"}`), `get_resource` with the object. Label selectors take
//! `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`; field selectors take
//! `path=v`, `path==v`, `path!=v` over dotted paths (`metadata.name`, `status.phase`).

use std::collections::BTreeSet;
use std::path::Path;

use artifact::metadata::ContextAwareResource;
use serde::Deserialize;
use serde_json::{Value, json};

use super::payload;
use crate::error::EvaluatorError;

/// The capability listing the resources of one namespace.
pub const LIST_RESOURCES_BY_NAMESPACE: &str = "kubernetes/list_resources_by_namespace";
/// The capability listing the resources of the whole cluster.
pub const LIST_RESOURCES_ALL: &str = "kubernetes/list_resources_all";
/// The capability answering one resource.
pub const GET_RESOURCE: &str = "kubernetes/get_resource";
/// Kubernetes' authorization check (`SubjectAccessReview`): not served offline, only replayed.
pub const CAN_I: &str = "kubernetes/can_i";

/// The Kubernetes objects the `kubernetes/*` capabilities are served from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextResources {
    objects: Vec<Value>,
}

impl ContextResources {
    /// Reads a YAML or JSON file of Kubernetes objects: a list, a `kind: List` (`items`), or
    /// YAML documents separated by `---`.
    pub fn from_file(path: &Path) -> Result<ContextResources, EvaluatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvaluatorError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ContextResources::parse(&text)
            .map_err(|err| EvaluatorError::InvalidInput(format!("{}: {err}", path.display())))
    }

    /// Parses the text of such a file; every object needs `apiVersion`, `kind` and
    /// `metadata.name`.
    pub fn parse(text: &str) -> Result<ContextResources, String> {
        let mut objects = Vec::new();
        for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
            let document = Value::deserialize(document)
                .map_err(|err| format!("document {}: not YAML or JSON: {err}", index + 1))?;
            match document {
                Value::Null => {}
                Value::Array(items) => objects.extend(items),
                Value::Object(mut object) => match object.remove("items") {
                    Some(Value::Array(items)) => objects.extend(items),
                    Some(other) => {
                        object.insert("items".into(), other);
                        objects.push(Value::Object(object));
                    }
                    None => objects.push(Value::Object(object)),
                },
                other => {
                    return Err(format!(
                        "document {}: expected Kubernetes objects, found {other}",
                        index + 1
                    ));
                }
            }
        }
        for (index, object) in objects.iter().enumerate() {
            for field in ["/apiVersion", "/kind", "/metadata/name"] {
                if object.pointer(field).and_then(Value::as_str).is_none() {
                    return Err(format!(
                        "object {} has no {}",
                        index + 1,
                        field.trim_start_matches('/').replace('/', ".")
                    ));
                }
            }
        }
        Ok(ContextResources { objects })
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    fn of_kind<'a>(
        &'a self,
        api_version: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Value> {
        self.objects.iter().filter(move |object| {
            object["apiVersion"].as_str() == Some(api_version)
                && object["kind"].as_str() == Some(kind)
        })
    }
}

fn namespace_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
}

#[derive(Debug, Deserialize)]
struct ListRequest {
    api_version: String,
    kind: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    label_selector: Option<String>,
    #[serde(default)]
    field_selector: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GetRequest {
    api_version: String,
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

/// Whether a policy may read Kubernetes resources of `api_version`/`kind`: whether `context_aware`
/// (its `contextAwareResources`) lists them.
pub(crate) fn may_read(
    context_aware: &BTreeSet<ContextAwareResource>,
    api_version: &str,
    kind: &str,
) -> Result<(), String> {
    let wanted = ContextAwareResource {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
    };
    if context_aware.contains(&wanted) {
        Ok(())
    } else {
        Err(format!(
            "the policy may not read Kubernetes {wanted} resources: add it to contextAwareResources in its metadata"
        ))
    }
}

fn list(
    context_aware: &BTreeSet<ContextAwareResource>,
    resources: &ContextResources,
    request: &ListRequest,
) -> Result<Vec<u8>, String> {
    may_read(context_aware, &request.api_version, &request.kind)?;
    let labels = request
        .label_selector
        .as_deref()
        .map(selector::labels)
        .transpose()?;
    let fields = request
        .field_selector
        .as_deref()
        .map(selector::fields)
        .transpose()?;
    let items: Vec<&Value> = resources
        .of_kind(&request.api_version, &request.kind)
        .filter(|object| {
            request
                .namespace
                .as_deref()
                .is_none_or(|namespace| namespace_of(object) == Some(namespace))
        })
        .filter(|object| labels.as_ref().is_none_or(|s| s.matches(object)))
        .filter(|object| fields.as_ref().is_none_or(|s| s.matches(object)))
        .collect();
    payload::answer(&json!({
        "apiVersion": request.api_version,
        "kind": format!("{}List", request.kind),
        "metadata": {"resourceVersion": ""},
        "items": items,
    }))
}

/// `kubernetes/list_resources_by_namespace`.
pub fn list_by_namespace(
    context_aware: &BTreeSet<ContextAwareResource>,
    resources: &ContextResources,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let request: ListRequest = payload::parse(
        payload,
        "{api_version, kind, namespace, label_selector, field_selector}",
    )?;
    if request.namespace.is_none() {
        return Err("malformed request: `namespace` is required".into());
    }
    list(context_aware, resources, &request)
}

/// `kubernetes/list_resources_all`.
pub fn list_all(
    context_aware: &BTreeSet<ContextAwareResource>,
    resources: &ContextResources,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let mut request: ListRequest = payload::parse(
        payload,
        "{api_version, kind, label_selector, field_selector}",
    )?;
    request.namespace = None;
    list(context_aware, resources, &request)
}

/// `kubernetes/get_resource`.
pub fn get(
    context_aware: &BTreeSet<ContextAwareResource>,
    resources: &ContextResources,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let request: GetRequest = payload::parse(payload, "{api_version, kind, name, namespace}")?;
    may_read(context_aware, &request.api_version, &request.kind)?;
    let found = resources
        .of_kind(&request.api_version, &request.kind)
        .find(|object| {
            object.pointer("/metadata/name").and_then(Value::as_str) == Some(&request.name)
                && namespace_of(object) == request.namespace.as_deref()
        });
    match found {
        Some(object) => payload::answer(object),
        None => Err(format!(
            "{}/{} {}{} not found in the context resources",
            request.api_version,
            request.kind,
            request
                .namespace
                .as_deref()
                .map(|namespace| format!("{namespace}/"))
                .unwrap_or_default(),
            request.name
        )),
    }
}

/// Label and field selectors, as `kubectl --selector` and `--field-selector` take them.
mod selector {
    use serde_json::Value;

    /// One requirement of a selector.
    #[derive(Debug, PartialEq)]
    enum Requirement {
        Equals(String, String),
        NotEquals(String, String),
        Exists(String),
        Absent(String),
        In(String, Vec<String>),
        NotIn(String, Vec<String>),
    }

    /// A parsed selector: every requirement must hold.
    #[derive(Debug)]
    pub(super) struct Selector {
        requirements: Vec<Requirement>,
        value_of: fn(&Value, &str) -> Option<String>,
    }

    impl Selector {
        pub(super) fn matches(&self, object: &Value) -> bool {
            self.requirements
                .iter()
                .all(|requirement| match requirement {
                    Requirement::Equals(key, value) => {
                        (self.value_of)(object, key).as_ref() == Some(value)
                    }
                    Requirement::NotEquals(key, value) => {
                        (self.value_of)(object, key).as_ref() != Some(value)
                    }
                    Requirement::Exists(key) => (self.value_of)(object, key).is_some(),
                    Requirement::Absent(key) => (self.value_of)(object, key).is_none(),
                    Requirement::In(key, values) => {
                        (self.value_of)(object, key).is_some_and(|found| values.contains(&found))
                    }
                    Requirement::NotIn(key, values) => {
                        (self.value_of)(object, key).is_none_or(|found| !values.contains(&found))
                    }
                })
        }
    }

    fn label(object: &Value, key: &str) -> Option<String> {
        object
            .pointer("/metadata/labels")
            .and_then(|labels| labels.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn field(object: &Value, path: &str) -> Option<String> {
        let pointer = format!("/{}", path.replace('.', "/"));
        match object.pointer(&pointer)? {
            Value::String(text) => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// Splits on commas outside parentheses.
    fn terms(text: &str) -> Vec<&str> {
        let mut terms = Vec::new();
        let (mut depth, mut start) = (0usize, 0usize);
        for (index, character) in text.char_indices() {
            match character {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    terms.push(&text[start..index]);
                    start = index + 1;
                }
                _ => {}
            }
        }
        terms.push(&text[start..]);
        terms
            .into_iter()
            .map(str::trim)
            .filter(|term| !term.is_empty())
            .collect()
    }

    fn set(key: &str, rest: &str, term: &str) -> Result<(String, Vec<String>), String> {
        let values = rest
            .trim()
            .strip_prefix('(')
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(|| format!("selector `{term}`: expected a list in parentheses"))?;
        Ok((
            key.trim().to_owned(),
            values.split(',').map(|v| v.trim().to_owned()).collect(),
        ))
    }

    fn requirement(term: &str, sets: bool) -> Result<Requirement, String> {
        if let Some((key, value)) = term.split_once("!=") {
            return Ok(Requirement::NotEquals(
                key.trim().into(),
                value.trim().into(),
            ));
        }
        if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
            return Ok(Requirement::Equals(key.trim().into(), value.trim().into()));
        }
        if sets {
            if let Some((key, rest)) = term.split_once(" notin ") {
                let (key, values) = set(key, rest, term)?;
                return Ok(Requirement::NotIn(key, values));
            }
            if let Some((key, rest)) = term.split_once(" in ") {
                let (key, values) = set(key, rest, term)?;
                return Ok(Requirement::In(key, values));
            }
            if let Some(key) = term.strip_prefix('!') {
                return Ok(Requirement::Absent(key.trim().into()));
            }
            if !term.contains(char::is_whitespace) {
                return Ok(Requirement::Exists(term.into()));
            }
        }
        Err(format!("selector `{term}` is not understood"))
    }

    fn parse(
        text: &str,
        sets: bool,
        value_of: fn(&Value, &str) -> Option<String>,
    ) -> Result<Selector, String> {
        let requirements = terms(text)
            .into_iter()
            .map(|term| requirement(term, sets))
            .collect::<Result<_, _>>()?;
        Ok(Selector {
            requirements,
            value_of,
        })
    }

    /// A label selector.
    pub(super) fn labels(text: &str) -> Result<Selector, String> {
        parse(text, true, label)
    }

    /// A field selector.
    pub(super) fn fields(text: &str) -> Result<Selector, String> {
        parse(text, false, field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOURCES: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels: {tier: gold}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: team-a, labels: {app: web, tier: front}}
    status: {phase: Running}
  - apiVersion: v1
    kind: Pod
    metadata: {name: db, namespace: team-b, labels: {app: db}}
    status: {phase: Pending}
"#;

    /// The kinds the policy may read: pods only.
    fn readable() -> BTreeSet<ContextAwareResource> {
        BTreeSet::from([ContextAwareResource {
            api_version: "v1".into(),
            kind: "Pod".into(),
        }])
    }

    fn names(answer: &[u8]) -> Vec<String> {
        let list: Value = serde_json::from_slice(answer).unwrap_or_default();
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.pointer("/metadata/name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn lists_filter_by_namespace_labels_and_fields() -> Result<(), String> {
        let readable = readable();
        let resources = ContextResources::parse(RESOURCES)?;
        assert_eq!(resources.len(), 3);
        let all = list_all(
            &readable,
            &resources,
            br#"{"api_version":"v1","kind":"Pod"}"#,
        )?;
        assert_eq!(names(&all), ["web", "db"]);
        let list: Value = serde_json::from_slice(&all).map_err(|err| err.to_string())?;
        assert_eq!(list["kind"], "PodList");
        assert_eq!(list["apiVersion"], "v1");
        let team_a = list_by_namespace(
            &readable,
            &resources,
            br#"{"api_version":"v1","kind":"Pod","namespace":"team-a","label_selector":null,"field_selector":null}"#,
        )?;
        assert_eq!(names(&team_a), ["web"]);
        for (selector, expected) in [
            ("app=db", vec!["db"]),
            ("app!=db", vec!["web"]),
            ("tier", vec!["web"]),
            ("!tier", vec!["db"]),
            ("app in (web, cache)", vec!["web"]),
            ("app notin (web),app", vec!["db"]),
        ] {
            let payload = json!({"api_version": "v1", "kind": "Pod", "label_selector": selector});
            let answer = list_all(&readable, &resources, payload.to_string().as_bytes())?;
            assert_eq!(names(&answer), expected, "{selector}");
        }
        let running = json!({"api_version": "v1", "kind": "Pod", "field_selector": "status.phase=Running,metadata.namespace==team-a"});
        assert_eq!(
            names(&list_all(
                &readable,
                &resources,
                running.to_string().as_bytes()
            )?),
            ["web"]
        );
        Ok(())
    }

    #[test]
    fn get_finds_one_object_or_says_what_is_missing() -> Result<(), String> {
        let readable = readable();
        let resources = ContextResources::parse(RESOURCES)?;
        let web = get(
            &readable,
            &resources,
            br#"{"api_version":"v1","kind":"Pod","name":"web","namespace":"team-a","disable_cache":false}"#,
        )?;
        let web: Value = serde_json::from_slice(&web).map_err(|err| err.to_string())?;
        assert_eq!(web["status"]["phase"], "Running");
        assert!(
            get(
                &readable,
                &resources,
                br#"{"api_version":"v1","kind":"Pod","name":"web","namespace":"team-b"}"#
            )
            .is_err_and(|err| err.contains("v1/Pod team-b/web not found"))
        );
        Ok(())
    }

    #[test]
    fn kinds_outside_context_aware_resources_are_refused() {
        let readable = readable();
        let resources = ContextResources::parse(RESOURCES).unwrap_or_default();
        assert!(
            list_all(
                &readable,
                &resources,
                br#"{"api_version":"v1","kind":"Namespace"}"#
            )
            .is_err_and(|err| err.contains("may not read Kubernetes v1/Namespace"))
        );
        assert!(
            list_by_namespace(
                &readable,
                &resources,
                br#"{"api_version":"v1","kind":"Pod"}"#
            )
            .is_err_and(|err| err.contains("`namespace` is required"))
        );
        assert!(
            list_all(
                &readable,
                &resources,
                br#"{"api_version":"v1","kind":"Pod","label_selector":"a in b"}"#
            )
            .is_err_and(|err| err.contains("parentheses"))
        );
    }

    #[test]
    fn malformed_files_are_refused_with_the_reason() {
        assert!(
            ContextResources::parse("[1]")
                .is_err_and(|err| err.contains("object 1 has no apiVersion"))
        );
        assert!(
            ContextResources::parse("- apiVersion: v1\n  kind: Pod\n  metadata: {}\n")
                .is_err_and(|err| err.contains("metadata.name"))
        );
        assert!(ContextResources::parse("42").is_err_and(|err| err.contains("document 1")));
        assert!(ContextResources::parse(": : :").is_err());
        assert_eq!(ContextResources::parse("").map(|r| r.len()), Ok(0));
    }
}
