//! A Kubernetes `ValidatingAdmissionPolicy` and its binding as a Kubewarden `ClusterAdmissionPolicy`
//! running Kubewarden's CEL policy (`palisade scaffold vap`), as `kwctl scaffold vap` converts them:
//! the CEL expressions, variables, parameters and failure policy become the CEL policy's settings,
//! the match constraints its rules, the binding's namespace selector and metadata the resource's.

use artifact::metadata::{Operation, Rule};
use artifact::scaffold::manifest::API_VERSION;
use serde::Serialize;
use serde_norway::{Mapping, Value};

use crate::error::EvaluatorError;

/// The CEL policy kwctl uses by default.
pub const DEFAULT_CEL_POLICY: &str = "ghcr.io/kubewarden/policies/cel-policy:latest";

/// The converted resource and what its reader should know.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The ClusterAdmissionPolicy.
    pub resource: CelClusterAdmissionPolicy,
    /// Parts of the ValidatingAdmissionPolicy the CEL policy does not support, and risky choices.
    pub warnings: Vec<String>,
}

/// A `ClusterAdmissionPolicy` of the CEL policy, in kwctl's field order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CelClusterAdmissionPolicy {
    api_version: &'static str,
    kind: &'static str,
    metadata: Value,
    spec: CelSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct CelSpec {
    module: String,
    settings: Mapping,
    rules: Vec<Rule>,
    mutating: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    match_policy: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_selector: Option<Value>,
}

fn invalid(message: String) -> EvaluatorError {
    EvaluatorError::InvalidInput(message)
}

/// The `spec` of a document that must be of `kind` (`admissionregistration.k8s.io/v1`).
fn spec_of<'a>(document: &'a Value, kind: &str) -> Result<&'a Value, EvaluatorError> {
    let found = document.get("kind").and_then(Value::as_str);
    if found != Some(kind) {
        return Err(invalid(format!(
            "expected a {kind}, found {}",
            found.map_or_else(|| "no `kind`".to_owned(), |found| format!("a {found}"))
        )));
    }
    Ok(document.get("spec").unwrap_or(&Value::Null))
}

fn field(value: &Value, key: &str) -> Option<Value> {
    value.get(key).filter(|found| !found.is_null()).cloned()
}

/// Converts `policy` (a ValidatingAdmissionPolicy) bound by `binding` into a ClusterAdmissionPolicy
/// running the CEL policy module `cel_policy`.
pub fn convert(
    cel_policy: &str,
    policy: &Value,
    binding: &Value,
) -> Result<Converted, EvaluatorError> {
    let spec = spec_of(policy, "ValidatingAdmissionPolicy")?;
    let binding_spec = spec_of(binding, "ValidatingAdmissionPolicyBinding")?;
    let mut warnings = Vec::new();
    match cel_policy.rsplit_once(':') {
        Some((_, tag)) if !tag.contains('/') && tag != "latest" => {}
        _ if cel_policy.contains('@') => {}
        _ => warnings.push(format!(
            "{cel_policy}: the latest CEL policy may change under you: pin a version"
        )),
    }
    for (key, what) in [
        ("auditAnnotations", "auditAnnotations"),
        ("matchConditions", "matchConditions"),
    ] {
        if field(spec, key).is_some() {
            warnings.push(format!(
                "{what} are not supported by Kubewarden's CEL policy yet: ignored"
            ));
        }
    }
    let mut settings = Mapping::new();
    if let Some(failure_policy) = field(spec, "failurePolicy") {
        settings.insert("failurePolicy".into(), failure_policy);
    }
    if let Some(variables) = field(spec, "variables") {
        settings.insert("variables".into(), variables);
    }
    match (field(spec, "paramKind"), field(binding_spec, "paramRef")) {
        (Some(kind), Some(reference)) => {
            settings.insert("paramKind".into(), kind);
            settings.insert("paramRef".into(), reference);
        }
        (None, None) => {}
        _ => {
            return Err(invalid(
                "the policy's paramKind and the binding's paramRef go together: give both or neither"
                    .into(),
            ));
        }
    }
    if let Some(validations) = field(spec, "validations") {
        settings.insert("validations".into(), validations);
    }
    let constraints = field(spec, "matchConstraints").unwrap_or(Value::Null);
    let rules = match field(&constraints, "resourceRules") {
        Some(Value::Sequence(rules)) => rules.iter().map(rule).collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                "matchConstraints.resourceRules is not a list".into(),
            ));
        }
        None => Vec::new(),
    };
    let namespace_selector = field(binding_spec, "matchResources")
        .and_then(|resources| field(&resources, "namespaceSelector"));
    Ok(Converted {
        resource: CelClusterAdmissionPolicy {
            api_version: API_VERSION,
            kind: "ClusterAdmissionPolicy",
            metadata: field(binding, "metadata").unwrap_or_else(|| Value::Mapping(Mapping::new())),
            spec: CelSpec {
                module: cel_policy.to_owned(),
                settings,
                rules,
                mutating: false,
                match_policy: field(&constraints, "matchPolicy"),
                namespace_selector,
                object_selector: field(&constraints, "objectSelector"),
            },
        },
        warnings,
    })
}

/// One of `matchConstraints.resourceRules` as a Kubewarden rule.
fn rule(resource_rule: &Value) -> Result<Rule, EvaluatorError> {
    let strings = |key: &str| -> Result<Vec<String>, EvaluatorError> {
        match field(resource_rule, key) {
            None => Ok(Vec::new()),
            Some(value) => serde_norway::from_value(value).map_err(|err| {
                invalid(format!(
                    "matchConstraints.resourceRules: `{key}` is not a list of strings: {err}"
                ))
            }),
        }
    };
    let operations = strings("operations")?
        .iter()
        .map(|operation| {
            serde_norway::from_value::<Operation>(Value::String(operation.clone())).map_err(|_| {
                invalid(format!(
                    "matchConstraints.resourceRules: unknown operation `{operation}` (expected CREATE, UPDATE, DELETE, CONNECT or *)"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Rule {
        api_groups: strings("apiGroups")?,
        api_versions: strings("apiVersions")?,
        resources: strings("resources")?,
        operations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_norway::from_str(text).unwrap_or_else(|err| panic!("{err}"))
    }

    const POLICY: &str = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n\
        metadata: {name: replicas}\nspec:\n  failurePolicy: Fail\n  paramKind: {apiVersion: v1, kind: ConfigMap}\n  \
        matchConstraints:\n    resourceRules:\n    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}\n  \
        variables:\n  - {name: replicas, expression: object.spec.replicas}\n  \
        validations:\n  - {expression: 'variables.replicas <= 5', message: too many}\n";
    const BINDING: &str = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n\
        metadata: {name: replicas-binding}\nspec:\n  policyName: replicas\n  paramRef: {name: limits, namespace: default}\n  \
        matchResources:\n    namespaceSelector: {matchLabels: {env: prod}}\n";

    #[test]
    fn a_policy_and_its_binding_become_a_cel_cluster_admission_policy() -> Result<(), EvaluatorError>
    {
        let converted = convert(DEFAULT_CEL_POLICY, &yaml(POLICY), &yaml(BINDING))?;
        let text = serde_norway::to_string(&converted.resource).unwrap_or_default();
        assert_eq!(
            text,
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata:\n  name: replicas-binding\nspec:\n  \
             module: ghcr.io/kubewarden/policies/cel-policy:latest\n  settings:\n    failurePolicy: Fail\n    variables:\n    \
             - name: replicas\n      expression: object.spec.replicas\n    paramKind:\n      apiVersion: v1\n      kind: ConfigMap\n    \
             paramRef:\n      name: limits\n      namespace: default\n    validations:\n    - expression: variables.replicas <= 5\n      \
             message: too many\n  rules:\n  - apiGroups:\n    - apps\n    apiVersions:\n    - v1\n    resources:\n    - deployments\n    \
             operations:\n    - CREATE\n    - UPDATE\n  mutating: false\n  namespaceSelector:\n    matchLabels:\n      env: prod\n"
        );
        assert_eq!(converted.warnings.len(), 1, "{:?}", converted.warnings);
        assert!(converted.warnings[0].contains("pin a version"));
        Ok(())
    }

    #[test]
    fn mismatched_parameters_wrong_kinds_and_operations_are_refused() {
        let without_ref = BINDING.replace("  paramRef: {name: limits, namespace: default}\n", "");
        let refused = convert(
            "ghcr.io/kubewarden/policies/cel-policy:v1.0.0",
            &yaml(POLICY),
            &yaml(&without_ref),
        );
        assert!(refused.is_err_and(|err| {
            err.to_string()
                .contains("paramKind and the binding's paramRef")
        }));
        let swapped = convert(DEFAULT_CEL_POLICY, &yaml(BINDING), &yaml(POLICY));
        assert!(swapped.is_err_and(|err| err.to_string().contains(
            "expected a ValidatingAdmissionPolicy, found a ValidatingAdmissionPolicyBinding"
        )));
        let teleport = POLICY.replace("[CREATE, UPDATE]", "[TELEPORT]");
        let unknown = convert(DEFAULT_CEL_POLICY, &yaml(&teleport), &yaml(BINDING));
        assert!(unknown.is_err_and(|err| err.to_string().contains("unknown operation `TELEPORT`")));
    }

    #[test]
    fn unsupported_parts_are_named_and_a_pinned_module_is_quiet() -> Result<(), EvaluatorError> {
        let with_extras = format!(
            "{POLICY}  auditAnnotations: [{{key: a, valueExpression: 'x'}}]\n  matchConditions: [{{name: m, expression: 'true'}}]\n"
        );
        let converted = convert(
            "ghcr.io/kubewarden/policies/cel-policy:v1.0.0",
            &yaml(&with_extras),
            &yaml(BINDING),
        )?;
        assert_eq!(converted.warnings.len(), 2, "{:?}", converted.warnings);
        assert!(
            converted
                .warnings
                .iter()
                .all(|warning| warning.contains("ignored"))
        );
        Ok(())
    }
}
