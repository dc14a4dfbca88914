//! Writes an `AdmissionReview` v1 request for trying policies out (`palisade scaffold
//! admission-request`), as the API server would send it: `kind`, `resource`, `requestKind` and
//! `requestResource` from a built-in table of common kinds, `userInfo`, `options`, the objects.
//!
//! The other documents kwctl scaffolds have a module each: [`verification_config`] (the default
//! verification config), [`vap`] (a ValidatingAdmissionPolicy as a Kubewarden policy). Those made
//! from metadata alone (policy resources, Artifact Hub's package file) are the `artifact` crate's
//! (`artifact::scaffold`), which the registry's hub uses too.

pub mod vap;
pub mod verification_config;

use serde_json::{Value, json};

use crate::error::EvaluatorError;

/// An admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// An object is created (`object` is set).
    Create,
    /// An object is changed (`object` and `oldObject`).
    Update,
    /// An object is deleted (`oldObject`).
    Delete,
    /// A connection to a subresource (`pods/exec`, …); no objects unless given.
    Connect,
}

impl Operation {
    /// The name the API server uses (`CREATE`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }

    /// The `options` object the API server attaches (`CreateOptions`…), if any.
    fn options_kind(self) -> Option<&'static str> {
        match self {
            Operation::Create => Some("CreateOptions"),
            Operation::Update => Some("UpdateOptions"),
            Operation::Delete => Some("DeleteOptions"),
            Operation::Connect => None,
        }
    }
}

/// A kind the scaffold knows: its group, version, plural resource and scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownKind {
    /// `Pod`, `Deployment`…
    pub kind: &'static str,
    /// The API group (`""` for the core group).
    pub group: &'static str,
    /// The version (`v1`).
    pub version: &'static str,
    /// The plural resource name (`pods`).
    pub resource: &'static str,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
}

const fn kind(
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    namespaced: bool,
) -> KnownKind {
    KnownKind {
        kind,
        group,
        version,
        resource,
        namespaced,
    }
}

/// The kinds the scaffold fills in by itself.
pub const KNOWN_KINDS: [KnownKind; 21] = [
    kind("Pod", "", "v1", "pods", true),
    kind("Service", "", "v1", "services", true),
    kind("ConfigMap", "", "v1", "configmaps", true),
    kind("Secret", "", "v1", "secrets", true),
    kind("ServiceAccount", "", "v1", "serviceaccounts", true),
    kind(
        "PersistentVolumeClaim",
        "",
        "v1",
        "persistentvolumeclaims",
        true,
    ),
    kind("PersistentVolume", "", "v1", "persistentvolumes", false),
    kind("Namespace", "", "v1", "namespaces", false),
    kind("Node", "", "v1", "nodes", false),
    kind("Deployment", "apps", "v1", "deployments", true),
    kind("StatefulSet", "apps", "v1", "statefulsets", true),
    kind("DaemonSet", "apps", "v1", "daemonsets", true),
    kind("ReplicaSet", "apps", "v1", "replicasets", true),
    kind("Job", "batch", "v1", "jobs", true),
    kind("CronJob", "batch", "v1", "cronjobs", true),
    kind("Ingress", "networking.k8s.io", "v1", "ingresses", true),
    kind(
        "NetworkPolicy",
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        true,
    ),
    kind("Role", "rbac.authorization.k8s.io", "v1", "roles", true),
    kind(
        "RoleBinding",
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        true,
    ),
    kind(
        "ClusterRole",
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        false,
    ),
    kind(
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        false,
    ),
];

/// Looks a kind up in [`KNOWN_KINDS`], ignoring case.
pub fn known_kind(name: &str) -> Result<KnownKind, EvaluatorError> {
    KNOWN_KINDS
        .iter()
        .find(|known| known.kind.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            EvaluatorError::InvalidInput(format!(
                "unknown kind `{name}`: expected an object (--object) of that kind with its apiVersion, or one of {}",
                KNOWN_KINDS
                    .iter()
                    .map(|known| known.kind)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// What to put in the request.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionRequestSpec {
    /// The operation.
    pub operation: Operation,
    /// The kind, one of [`KNOWN_KINDS`]; `None` takes the `kind` of the object (else of the old
    /// object), as `kwctl scaffold admission-request` does.
    pub kind: Option<String>,
    /// The namespace (default: the object's, else `default` for namespaced kinds).
    pub namespace: Option<String>,
    /// The name (default: the object's, else `example`).
    pub name: Option<String>,
    /// The object (`request.object`); a minimal one is made when the operation needs one.
    pub object: Option<Value>,
    /// The old object (`request.oldObject`), for UPDATE and DELETE; a copy of the object or a
    /// minimal one when not given.
    pub old_object: Option<Value>,
    /// The request's uid (default: a random UUID).
    pub uid: Option<String>,
}

/// The user every scaffolded request comes from: a cluster administrator, as `kind` and
/// `kubeadm` clusters name it.
fn user_info() -> Value {
    json!({
        "username": "kubernetes-admin",
        "groups": ["kubeadm:cluster-admins", "system:authenticated"],
    })
}

fn text_at<'a>(object: Option<&'a Value>, pointer: &str) -> Option<&'a str> {
    object
        .and_then(|o| o.pointer(pointer))
        .and_then(Value::as_str)
}

/// The kind asked for, else the one the object (or the old object) says it is.
fn requested_kind(spec: &AdmissionRequestSpec) -> Result<&str, EvaluatorError> {
    if let Some(kind) = &spec.kind {
        return Ok(kind);
    }
    let given = spec.object.as_ref().or(spec.old_object.as_ref());
    text_at(given, "/kind").ok_or_else(|| {
        EvaluatorError::InvalidInput(match given {
            Some(_) => "the object has no `kind`: give the kind (--kind)".to_owned(),
            None => {
                "no kind: give the kind (--kind) or an object (--object) that has one".to_owned()
            }
        })
    })
}

/// The kind of a request: a known one, or, for any other kind (custom resources too), what the
/// object's `apiVersion` and `kind` say, as kwctl takes them: the resource guessed from the kind,
/// namespaced when the object or the request names a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestKind {
    kind: String,
    group: String,
    version: String,
    resource: String,
    namespaced: bool,
}

impl RequestKind {
    /// `v1` for the core group, `GROUP/VERSION` otherwise.
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl From<KnownKind> for RequestKind {
    fn from(known: KnownKind) -> RequestKind {
        RequestKind {
            kind: known.kind.to_owned(),
            group: known.group.to_owned(),
            version: known.version.to_owned(),
            resource: known.resource.to_owned(),
            namespaced: known.namespaced,
        }
    }
}

fn request_kind(spec: &AdmissionRequestSpec) -> Result<RequestKind, EvaluatorError> {
    let name = requested_kind(spec)?;
    let known = known_kind(name);
    let given = spec.object.as_ref().or(spec.old_object.as_ref());
    match (
        known,
        text_at(given, "/kind"),
        text_at(given, "/apiVersion"),
    ) {
        (Ok(known), _, _) => Ok(known.into()),
        (Err(_), Some(declared), Some(api_version)) if declared == name => {
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            Ok(RequestKind {
                kind: declared.to_owned(),
                group: group.to_owned(),
                version: version.to_owned(),
                resource: guess_resource(declared),
                namespaced: spec.namespace.is_some()
                    || text_at(given, "/metadata/namespace").is_some(),
            })
        }
        (Err(unknown), _, _) => Err(unknown),
    }
}

/// The plural resource of a kind, guessed as English plurals go (`Ingress` → `ingresses`, `Policy` →
/// `policies`, `Gateway` → `gateways`; `Endpoints` stays): a CRD's real plural needs its definition.
fn guess_resource(kind: &str) -> String {
    let singular = kind.to_lowercase();
    let consonant_y = singular
        .strip_suffix('y')
        .filter(|stem| stem.ends_with(|c: char| !"aeiou".contains(c)));
    if singular.ends_with("endpoints") {
        singular
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|end| singular.ends_with(end))
    {
        format!("{singular}es")
    } else if let Some(stem) = consonant_y {
        format!("{stem}ies")
    } else {
        format!("{singular}s")
    }
}

/// Builds the `AdmissionReview` v1 document for `spec`.
pub fn admission_review(spec: &AdmissionRequestSpec) -> Result<Value, EvaluatorError> {
    let known = request_kind(spec)?;
    let api_version = known.api_version();
    for (label, object) in [("object", &spec.object), ("old object", &spec.old_object)] {
        let Some(object) = object else { continue };
        if !object.is_object() {
            return Err(EvaluatorError::InvalidInput(format!(
                "the {label} is not a Kubernetes object (a mapping)"
            )));
        }
        if let Some(found) = text_at(Some(object), "/kind")
            && found != known.kind
        {
            return Err(EvaluatorError::InvalidInput(format!(
                "the {label} is a {found}, not a {}",
                known.kind
            )));
        }
    }
    let given = spec.object.as_ref().or(spec.old_object.as_ref());
    let name = spec
        .name
        .clone()
        .or_else(|| text_at(given, "/metadata/name").map(str::to_owned))
        .unwrap_or_else(|| "example".to_owned());
    let namespace = match (known.namespaced, &spec.namespace) {
        (false, Some(namespace)) => {
            return Err(EvaluatorError::InvalidInput(format!(
                "{} is not namespaced: drop the namespace `{namespace}`",
                known.kind
            )));
        }
        (false, None) => None,
        (true, Some(namespace)) => Some(namespace.clone()),
        (true, None) => Some(
            text_at(given, "/metadata/namespace")
                .unwrap_or("default")
                .to_owned(),
        ),
    };
    let minimal = || {
        let mut object = json!({
            "apiVersion": api_version,
            "kind": known.kind,
            "metadata": {"name": name},
        });
        if let Some(namespace) = &namespace {
            object["metadata"]["namespace"] = json!(namespace);
        }
        object
    };
    let (object, old_object) = match spec.operation {
        Operation::Create => (spec.object.clone().unwrap_or_else(minimal), None),
        Operation::Update => {
            let object = spec.object.clone().unwrap_or_else(minimal);
            let old = spec.old_object.clone().unwrap_or_else(|| object.clone());
            (object, Some(old))
        }
        Operation::Delete => {
            if spec.object.is_some() {
                return Err(EvaluatorError::InvalidInput(
                    "a DELETE request has no object: give the deleted object as the old object"
                        .into(),
                ));
            }
            (
                Value::Null,
                Some(spec.old_object.clone().unwrap_or_else(minimal)),
            )
        }
        Operation::Connect => (spec.object.clone().unwrap_or(Value::Null), None),
    };
    let group_version_kind =
        json!({"group": known.group, "version": known.version, "kind": known.kind});
    let group_version_resource =
        json!({"group": known.group, "version": known.version, "resource": known.resource});
    let mut request = json!({
        "uid": spec.uid.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        "kind": group_version_kind,
        "resource": group_version_resource,
        "requestKind": group_version_kind,
        "requestResource": group_version_resource,
        "name": name,
        "operation": spec.operation.as_str(),
        "userInfo": user_info(),
        "object": object,
        "oldObject": old_object,
        "dryRun": false,
        "options": spec.operation.options_kind().map(|kind| json!({"apiVersion": "meta.k8s.io/v1", "kind": kind})),
    });
    if let Some(namespace) = namespace {
        request["namespace"] = json!(namespace);
    }
    Ok(json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": request,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::AdmissionReview;

    fn spec(operation: Operation, kind: &str) -> AdmissionRequestSpec {
        AdmissionRequestSpec {
            operation,
            kind: Some(kind.into()),
            namespace: None,
            name: None,
            object: None,
            old_object: None,
            uid: Some("00000000-0000-4000-8000-000000000000".into()),
        }
    }

    #[test]
    fn a_pod_creation_is_a_valid_review() -> Result<(), EvaluatorError> {
        let review = admission_review(&spec(Operation::Create, "pod"))?;
        let parsed = AdmissionReview::from_value(review.clone())?;
        assert_eq!(parsed.uid, "00000000-0000-4000-8000-000000000000");
        let request = &review["request"];
        assert_eq!(
            request["kind"],
            json!({"group": "", "version": "v1", "kind": "Pod"})
        );
        assert_eq!(request["resource"]["resource"], "pods");
        assert_eq!(request["namespace"], "default");
        assert_eq!(request["object"]["metadata"]["name"], "example");
        assert_eq!(request["oldObject"], Value::Null);
        assert_eq!(request["options"]["kind"], "CreateOptions");
        Ok(())
    }

    #[test]
    fn objects_give_names_and_operations_their_shape() -> Result<(), EvaluatorError> {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}});
        let update = admission_review(&AdmissionRequestSpec {
            object: Some(deployment.clone()),
            ..spec(Operation::Update, "Deployment")
        })?;
        assert_eq!(update["request"]["name"], "web");
        assert_eq!(update["request"]["namespace"], "shop");
        assert_eq!(update["request"]["oldObject"], deployment);
        assert_eq!(update["request"]["resource"]["group"], "apps");

        let delete = admission_review(&spec(Operation::Delete, "Namespace"))?;
        assert_eq!(delete["request"]["object"], Value::Null);
        assert_eq!(delete["request"]["oldObject"]["kind"], "Namespace");
        assert!(delete["request"].get("namespace").is_none());

        let connect = admission_review(&spec(Operation::Connect, "Pod"))?;
        assert_eq!(connect["request"]["options"], Value::Null);
        Ok(())
    }

    #[test]
    fn the_kind_comes_from_the_object_when_not_given() -> Result<(), EvaluatorError> {
        let ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop"}});
        let review = admission_review(&AdmissionRequestSpec {
            kind: None,
            object: Some(ingress),
            ..spec(Operation::Create, "unused")
        })?;
        assert_eq!(review["request"]["resource"]["resource"], "ingresses");
        assert_eq!(review["request"]["kind"]["group"], "networking.k8s.io");
        let deleted = admission_review(&AdmissionRequestSpec {
            kind: None,
            old_object: Some(json!({"kind": "Namespace", "metadata": {"name": "old"}})),
            ..spec(Operation::Delete, "unused")
        })?;
        assert_eq!(deleted["request"]["resource"]["resource"], "namespaces");
        let nothing = admission_review(&AdmissionRequestSpec {
            kind: None,
            ..spec(Operation::Create, "unused")
        });
        assert!(nothing.is_err_and(|err| err.to_string().contains("no kind")));
        let kindless = admission_review(&AdmissionRequestSpec {
            kind: None,
            object: Some(json!({"metadata": {"name": "x"}})),
            ..spec(Operation::Create, "unused")
        });
        assert!(kindless.is_err_and(|err| err.to_string().contains("has no `kind`")));
        Ok(())
    }

    #[test]
    fn other_kinds_are_taken_from_the_object_as_kwctl_takes_them() -> Result<(), EvaluatorError> {
        let widget = json!({"apiVersion": "example.com/v1alpha1", "kind": "Policy", "metadata": {"name": "w", "namespace": "team-a"}});
        let review = admission_review(&AdmissionRequestSpec {
            kind: None,
            object: Some(widget),
            ..spec(Operation::Create, "unused")
        })?;
        let request = &review["request"];
        assert_eq!(
            request["resource"],
            json!({"group": "example.com", "version": "v1alpha1", "resource": "policies"})
        );
        assert_eq!(request["namespace"], "team-a");
        let cluster_wide = admission_review(&AdmissionRequestSpec {
            kind: Some("Gateway".into()),
            object: Some(json!({"apiVersion": "v1", "kind": "Gateway", "metadata": {"name": "g"}})),
            ..spec(Operation::Create, "unused")
        })?;
        assert_eq!(cluster_wide["request"]["resource"]["resource"], "gateways");
        assert!(cluster_wide["request"].get("namespace").is_none());
        assert_eq!(guess_resource("Endpoints"), "endpoints");
        assert_eq!(guess_resource("Ingress"), "ingresses");
        Ok(())
    }

    #[test]
    fn contradictions_are_refused_naming_them() {
        let unknown = admission_review(&spec(Operation::Create, "Widget"));
        assert!(unknown.is_err_and(|err| err.to_string().contains("unknown kind `Widget`")));
        let wrong = admission_review(&AdmissionRequestSpec {
            object: Some(json!({"kind": "Service"})),
            ..spec(Operation::Create, "Pod")
        });
        assert!(wrong.is_err_and(|err| err.to_string().contains("is a Service, not a Pod")));
        let scoped = admission_review(&AdmissionRequestSpec {
            namespace: Some("x".into()),
            ..spec(Operation::Create, "Node")
        });
        assert!(scoped.is_err_and(|err| err.to_string().contains("not namespaced")));
        let deleted = admission_review(&AdmissionRequestSpec {
            object: Some(json!({})),
            ..spec(Operation::Delete, "Pod")
        });
        assert!(deleted.is_err_and(|err| err.to_string().contains("no object")));
        let scalar = admission_review(&AdmissionRequestSpec {
            object: Some(json!(3)),
            ..spec(Operation::Create, "Pod")
        });
        assert!(scalar.is_err_and(|err| err.to_string().contains("not a Kubernetes object")));
    }
}
