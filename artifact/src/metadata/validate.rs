//! The rules a metadata document must follow, each broken one reported with its field path.

use std::collections::HashSet;

use super::model::{ExecutionMode, Metadata, Operation, PolicyType, ProtocolVersion, Rule};
use crate::error::Problem;

impl Metadata {
    /// Checks every rule Kubewarden checks, and returns every problem found.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        if self.execution_mode == ExecutionMode::KubewardenWapc
            && self.protocol_version != Some(ProtocolVersion::V1)
        {
            problems.push(Problem::new(
                "protocolVersion",
                "a kubewarden-wapc policy must declare protocol version `v1`",
            ));
        }
        if self.rules.is_empty() && self.policy_type == PolicyType::Kubernetes {
            problems.push(Problem::new(
                "rules",
                "a kubernetes policy needs at least one rule",
            ));
        }
        for (index, rule) in self.rules.iter().enumerate() {
            validate_rule(rule, &format!("rules[{index}]"), &mut problems);
        }
        for (index, resource) in self.context_aware_resources.iter().enumerate() {
            let path = format!("contextAwareResources[{index}]");
            if resource.api_version.trim().is_empty() {
                problems.push(Problem::new(
                    format!("{path}.apiVersion"),
                    "must not be empty",
                ));
            }
            if resource.kind.trim().is_empty() {
                problems.push(Problem::new(format!("{path}.kind"), "must not be empty"));
            }
        }
        for (index, capability) in self.host_capabilities.iter().flatten().enumerate() {
            if capability.trim().is_empty() {
                problems.push(Problem::new(
                    format!("hostCapabilities[{index}]"),
                    "must not be empty",
                ));
            }
        }
        for key in self.annotations.keys() {
            if key.trim().is_empty() {
                problems.push(Problem::new(
                    "annotations",
                    "an annotation key must not be empty",
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn validate_rule(rule: &Rule, path: &str, problems: &mut Vec<Problem>) {
    let wildcard_ops: Vec<bool> = rule
        .operations
        .iter()
        .map(|op| *op == Operation::All)
        .collect();
    let lists: [(&str, Vec<bool>); 3] = [
        ("apiGroups", wildcards(&rule.api_groups)),
        ("apiVersions", wildcards(&rule.api_versions)),
        ("operations", wildcard_ops),
    ];
    for (field, is_wildcard) in lists {
        check_list(&is_wildcard, &format!("{path}.{field}"), problems);
    }
    let resources_path = format!("{path}.resources");
    if rule.resources.is_empty() {
        problems.push(Problem::new(resources_path, "must list at least one value"));
    } else if let Err(message) = check_resources(&rule.resources) {
        problems.push(Problem::new(resources_path, message));
    }
}

fn wildcards(values: &[String]) -> Vec<bool> {
    values.iter().map(|value| value == "*").collect()
}

fn check_list(is_wildcard: &[bool], path: &str, problems: &mut Vec<Problem>) {
    if is_wildcard.is_empty() {
        problems.push(Problem::new(path, "must list at least one value"));
    } else if is_wildcard.len() > 1 && is_wildcard.iter().any(|w| *w) {
        problems.push(Problem::new(
            path,
            "`*` must be the only value when it is used",
        ));
    }
}

/// The resource rules of Kubernetes' admission registration validation.
fn check_resources(resources: &[String]) -> Result<(), String> {
    let mut wildcard_sub_of: HashSet<&str> = HashSet::new();
    let mut wildcard_resource_for: HashSet<&str> = HashSet::new();
    let mut has_double_wildcard = false;
    let mut has_single_wildcard = false;
    let mut has_plain_resource = false;
    for resource in resources {
        if resource.is_empty() {
            return Err("an empty resource is not allowed".into());
        }
        match resource.as_str() {
            "*/*" => has_double_wildcard = true,
            "*" => has_single_wildcard = true,
            _ => {}
        }
        let Some((res, sub)) = resource.split_once('/') else {
            has_plain_resource |= resource != "*";
            continue;
        };
        if wildcard_sub_of.contains(res) {
            return Err(format!(
                "`{res}/*` is present, so `{resource}` must not be listed"
            ));
        }
        if wildcard_resource_for.contains(sub) {
            return Err(format!(
                "`*/{sub}` is present, so `{resource}` must not be listed"
            ));
        }
        if sub == "*" {
            wildcard_sub_of.insert(res);
        }
        if res == "*" {
            wildcard_resource_for.insert(sub);
        }
    }
    if has_double_wildcard && resources.len() > 1 {
        return Err("`*/*` is present, so no other resource may be listed".into());
    }
    if has_single_wildcard && has_plain_resource {
        return Err(
            "`*` is present, so no other resource without a subresource may be listed".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::ContextAwareResource;

    fn rule(groups: &[&str], resources: &[&str], operations: &[Operation]) -> Rule {
        Rule {
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
            api_versions: vec!["v1".into()],
            resources: resources.iter().map(|s| s.to_string()).collect(),
            operations: operations.to_vec(),
        }
    }

    fn metadata(rules: Vec<Rule>) -> Metadata {
        Metadata {
            protocol_version: Some(ProtocolVersion::V1),
            rules,
            annotations: Default::default(),
            mutating: false,
            background_audit: true,
            execution_mode: ExecutionMode::KubewardenWapc,
            policy_type: PolicyType::Kubernetes,
            context_aware_resources: Default::default(),
            host_capabilities: None,
            minimum_kubewarden_version: None,
        }
    }

    fn paths(m: &Metadata) -> Vec<String> {
        m.validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn a_plain_rule_passes() {
        assert_eq!(
            metadata(vec![rule(&[""], &["pods"], &[Operation::Create])]).validate(),
            Ok(())
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut m = metadata(vec![
            rule(&["", "*"], &["pods"], &[Operation::Create]),
            rule(&[], &[], &[Operation::All, Operation::Delete]),
        ]);
        m.protocol_version = None;
        m.context_aware_resources.insert(ContextAwareResource {
            api_version: "v1".into(),
            kind: " ".into(),
        });
        assert_eq!(
            paths(&m),
            vec![
                "protocolVersion",
                "rules[0].apiGroups",
                "rules[1].apiGroups",
                "rules[1].operations",
                "rules[1].resources",
                "contextAwareResources[0].kind",
            ]
        );
    }

    #[test]
    fn empty_rules_are_refused_for_kubernetes_policies_only() {
        let mut m = metadata(vec![]);
        assert_eq!(paths(&m), vec!["rules"]);
        m.policy_type = PolicyType::Raw;
        assert_eq!(m.validate(), Ok(()));
    }

    #[test]
    fn rego_policies_need_no_protocol_version() {
        let mut m = metadata(vec![rule(&[""], &["pods"], &[Operation::Create])]);
        m.execution_mode = ExecutionMode::Gatekeeper;
        m.protocol_version = Some(ProtocolVersion::Unknown);
        assert_eq!(m.validate(), Ok(()));
    }

    #[test]
    fn resource_wildcards_follow_kubernetes() {
        let ok: &[&[&str]] = &[&["*", "a/b", "a/*", "*/b"], &["a/*", "a"], &["*/*"]];
        let bad: &[&[&str]] = &[
            &["*", "a"],
            &["a/*", "a/x"],
            &["*/a", "x/a"],
            &["*/*", "pods"],
            &[""],
        ];
        for resources in ok {
            assert_eq!(
                check_resources(&to_strings(resources)),
                Ok(()),
                "{resources:?}"
            );
        }
        for resources in bad {
            assert!(
                check_resources(&to_strings(resources)).is_err(),
                "{resources:?}"
            );
        }
    }

    fn to_strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }
}
