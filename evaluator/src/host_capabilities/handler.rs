//! Kubewarden's host capabilities for one policy: what it may call, and each call served by the
//! capability's module.

use std::collections::BTreeSet;
use std::sync::Arc;

use artifact::metadata::{ContextAwareResource, Metadata};

use super::kubernetes::{self, ContextResources};
use super::oci::{self, Registry};
use super::{crypto, logging, net, verify};
use crate::host_call::HostCallHandler;

/// The binding under which Kubewarden guests call the host.
pub const BINDING: &str = "kubewarden";

/// The capability through which Kubewarden SDKs send their log records.
pub const TRACING_LOG: &str = "tracing/log";

/// Every capability this host serves, as `namespace/operation`.
pub const CAPABILITIES: [&str; 12] = [
    TRACING_LOG,
    verify::V1_VERIFY,
    verify::V2_VERIFY,
    oci::MANIFEST_DIGEST,
    oci::OCI_MANIFEST,
    oci::OCI_MANIFEST_CONFIG,
    net::DNS_LOOKUP_HOST,
    crypto::IS_CERTIFICATE_TRUSTED,
    kubernetes::LIST_RESOURCES_BY_NAMESPACE,
    kubernetes::LIST_RESOURCES_ALL,
    kubernetes::GET_RESOURCE,
    // Kubernetes' authorization check is not served offline; listed so that it is refused by name
    // (a replayed session answers it).
    kubernetes::CAN_I,
];

/// Checks one allow-list entry as `policies.yml`'s `hostCapabilities` and `--allow-capability` take it:
/// `*`, a capability this host serves (`oci/v1/verify`), or a prefix of some ending in `/*` (`oci/*`,
/// `oci/v1/*`). A typo would silently grant nothing, so it is refused, naming what is known.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let known = |name: &&str| match pattern.strip_suffix('*') {
        Some(prefix) => prefix.ends_with('/') && name.starts_with(prefix),
        None => *name == pattern,
    };
    if pattern == "*" || CAPABILITIES.iter().any(known) {
        return Ok(());
    }
    let reason = if pattern.contains('*') && !pattern.ends_with("/*") {
        "a wildcard must be a whole last segment (`oci/*`, `oci/v1/*`) or `*`"
    } else {
        "it names no host capability"
    };
    Err(format!(
        "host capability `{pattern}`: {reason} (known: {})",
        CAPABILITIES.join(", ")
    ))
}

/// Kubewarden's host capabilities for one policy: an allow-list of capabilities, the Kubernetes
/// kinds the policy may read (its `contextAwareResources`), the resources it reads them from,
/// and the registry client of the `oci` capabilities.
#[derive(Debug, Clone)]
pub struct KubewardenCapabilities {
    allowed: BTreeSet<String>,
    context_aware: BTreeSet<ContextAwareResource>,
    resources: Arc<ContextResources>,
    registry: Registry,
}

impl Default for KubewardenCapabilities {
    /// Only `tracing/log`.
    fn default() -> Self {
        KubewardenCapabilities::allowing([TRACING_LOG])
    }
}

impl KubewardenCapabilities {
    /// Allows the capabilities named: `namespace/operation` (`oci/v1/verify`), a prefix ending in
    /// `/*` (`oci/*`), or `*` for all of them.
    pub fn allowing<I, S>(names: I) -> KubewardenCapabilities
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        KubewardenCapabilities {
            allowed: names.into_iter().map(Into::into).collect(),
            context_aware: BTreeSet::new(),
            resources: Arc::new(ContextResources::default()),
            registry: Registry::default(),
        }
    }

    /// Serves the `kubernetes/*` capabilities from `resources`, for the kinds in
    /// `context_aware` only (Kubewarden's `contextAwareResources` metadata).
    pub fn with_context_resources(
        mut self,
        resources: Arc<ContextResources>,
        context_aware: impl IntoIterator<Item = ContextAwareResource>,
    ) -> KubewardenCapabilities {
        self.resources = resources;
        self.context_aware = context_aware.into_iter().collect();
        self
    }

    /// Reaches registries (the `oci/*` capabilities) through `registry`.
    pub fn with_registry(mut self, registry: Registry) -> KubewardenCapabilities {
        self.registry = registry;
        self
    }

    /// The capabilities of a policy run offline (`palisade run`, `palisade bench`):
    /// `tracing/log` and `allowed`; with `resources`, the `kubernetes/*` capabilities too, for
    /// the kinds its metadata lists in `contextAwareResources`.
    pub fn for_policy(
        metadata: Option<&Metadata>,
        allowed: &[String],
        resources: Option<ContextResources>,
        registry: Registry,
    ) -> KubewardenCapabilities {
        let kinds = metadata
            .map(|metadata| metadata.context_aware_resources.clone())
            .unwrap_or_default();
        KubewardenCapabilities::granting(kinds, allowed, resources.map(Arc::new), registry)
    }

    /// `tracing/log` and `allowed`; with `resources`, the `kubernetes/*` capabilities too, for the
    /// `granted` kinds only (what `policies.yml` grants a policy in `policy-server`).
    pub fn granting(
        granted: impl IntoIterator<Item = ContextAwareResource>,
        allowed: &[String],
        resources: Option<Arc<ContextResources>>,
        registry: Registry,
    ) -> KubewardenCapabilities {
        let names = std::iter::once(TRACING_LOG).chain(allowed.iter().map(String::as_str));
        let mut capabilities = KubewardenCapabilities::allowing(names).with_registry(registry);
        if let Some(resources) = resources {
            capabilities.allowed.insert("kubernetes/*".to_owned());
            capabilities = capabilities.with_context_resources(resources, granted);
        }
        capabilities
    }

    /// Whether the capability `name` (`namespace/operation`) is allowed.
    pub fn allows(&self, name: &str) -> bool {
        self.allowed.iter().any(|pattern| {
            pattern == "*"
                || pattern == name
                || pattern
                    .strip_suffix('*')
                    .is_some_and(|prefix| prefix.ends_with('/') && name.starts_with(prefix))
        })
    }

    /// Whether the policy may read Kubernetes resources of `api_version`/`kind`.
    pub(crate) fn may_read(&self, api_version: &str, kind: &str) -> Result<(), String> {
        kubernetes::may_read(&self.context_aware, api_version, kind)
    }

    fn serve(&self, name: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        match name {
            TRACING_LOG => logging::log(payload),
            verify::V1_VERIFY => verify::v1(&self.registry, payload),
            verify::V2_VERIFY => verify::v2(&self.registry, payload),
            oci::MANIFEST_DIGEST => oci::manifest_digest(&self.registry, payload),
            oci::OCI_MANIFEST => oci::manifest(&self.registry, payload),
            oci::OCI_MANIFEST_CONFIG => oci::manifest_and_config(&self.registry, payload),
            net::DNS_LOOKUP_HOST => net::dns_lookup_host(payload),
            crypto::IS_CERTIFICATE_TRUSTED => crypto::is_certificate_trusted(payload),
            kubernetes::LIST_RESOURCES_BY_NAMESPACE => {
                kubernetes::list_by_namespace(&self.context_aware, &self.resources, payload)
            }
            kubernetes::LIST_RESOURCES_ALL => {
                kubernetes::list_all(&self.context_aware, &self.resources, payload)
            }
            kubernetes::GET_RESOURCE => {
                kubernetes::get(&self.context_aware, &self.resources, payload)
            }
            _ => Err(format!(
                "host capability {BINDING}/{name} is not served by this host"
            )),
        }
    }
}

impl HostCallHandler for KubewardenCapabilities {
    fn host_call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        let name = self.admit(binding, namespace, operation)?;
        self.serve(&name, payload)
            .map_err(|message| format!("{name}: {message}"))
    }
}

impl KubewardenCapabilities {
    /// The capability `namespace/operation` a call asks for, once its binding, name and the
    /// allow-list are checked (the payload is not looked at yet).
    pub(crate) fn admit(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
    ) -> Result<String, String> {
        let name = format!("{namespace}/{operation}");
        if binding != BINDING {
            return Err(format!(
                "host capability {binding}/{name} is not available (unknown binding `{binding}`)"
            ));
        }
        if !CAPABILITIES.contains(&name.as_str()) {
            return Err(format!("unknown host capability {BINDING}/{name}"));
        }
        if !self.allows(&name) {
            return Err(format!(
                "host capability {BINDING}/{name} is not available to this policy (not allow-listed)"
            ));
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_known_capabilities() {
        for good in [
            "*",
            "oci/*",
            "oci/v1/*",
            "oci/v1/verify",
            "kubernetes/*",
            "tracing/log",
        ] {
            assert_eq!(check_pattern(good), Ok(()), "{good}");
        }
        for (bad, reason) in [
            ("oci/v1/verfy", "names no host capability"),
            ("oci", "names no host capability"),
            ("storage/*", "names no host capability"),
            ("oci/v1/oci_*", "a wildcard must be a whole last segment"),
            ("oci*", "a wildcard must be a whole last segment"),
            ("", "names no host capability"),
        ] {
            let err = check_pattern(bad).err().unwrap_or_default();
            assert!(
                err.contains(reason) && err.contains("known: tracing/log"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn logs_are_served_and_everything_else_refused_unless_allowed() {
        let host = KubewardenCapabilities::default();
        assert_eq!(
            host.host_call(
                "kubewarden",
                "tracing",
                "log",
                br#"{"level":"info","message":"hi"}"#
            ),
            Ok(Vec::new())
        );
        assert!(
            host.host_call("kubewarden", "tracing", "log", b"not json")
                .is_err_and(|err| err.contains("malformed"))
        );
        assert!(
            host.host_call("kubewarden", "oci", "v1/verify", b"{}")
                .is_err_and(|err| err.contains("not available to this policy"))
        );
        assert!(
            host.host_call("myBinding", "sample", "hello", b"")
                .is_err_and(|err| err.contains("unknown binding"))
        );
        assert!(
            host.host_call("kubewarden", "oci", "v9/teleport", b"")
                .is_err_and(
                    |err| err.contains("unknown host capability kubewarden/oci/v9/teleport")
                )
        );
        let nothing = KubewardenCapabilities::allowing(Vec::<String>::new());
        assert!(
            nothing
                .host_call("kubewarden", "tracing", "log", b"{}")
                .is_err()
        );
        let can_i = KubewardenCapabilities::allowing(["*"]);
        assert!(
            can_i
                .host_call("kubewarden", "kubernetes", "can_i", b"{}")
                .is_err_and(|err| err.contains("not served"))
        );
    }

    #[test]
    fn a_file_of_resources_grants_the_kubernetes_capabilities() -> Result<(), String> {
        let plain = KubewardenCapabilities::for_policy(
            None,
            &["net/*".to_owned()],
            None,
            Registry::default(),
        );
        assert!(plain.allows(TRACING_LOG) && plain.allows("net/v1/dns_lookup_host"));
        assert!(!plain.allows(kubernetes::GET_RESOURCE));
        let resources =
            ContextResources::parse("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")?;
        let metadata: Metadata = serde_json::from_value(serde_json::json!({
            "mutating": false,
            "contextAwareResources": [{"apiVersion": "v1", "kind": "Namespace"}],
        }))
        .map_err(|err| err.to_string())?;
        let with_resources = KubewardenCapabilities::for_policy(
            Some(&metadata),
            &[],
            Some(resources),
            Registry::default(),
        );
        let answer = with_resources.host_call(
            BINDING,
            "kubernetes",
            "get_resource",
            br#"{"api_version":"v1","kind":"Namespace","name":"team-a"}"#,
        )?;
        assert!(String::from_utf8_lossy(&answer).contains("team-a"));
        assert!(with_resources.may_read("v1", "Secret").is_err());
        Ok(())
    }

    #[test]
    fn patterns_allow_a_namespace_or_everything() {
        let oci = KubewardenCapabilities::allowing(["oci/*"]);
        assert!(oci.allows("oci/v1/verify"));
        assert!(oci.allows("oci/v1/manifest_digest"));
        assert!(!oci.allows("net/v1/dns_lookup_host"));
        assert!(!KubewardenCapabilities::allowing(["oc*"]).allows("oci/v1/verify"));
        let all = KubewardenCapabilities::allowing(["*"]);
        assert!(CAPABILITIES.iter().all(|name| all.allows(name)));
    }
}
