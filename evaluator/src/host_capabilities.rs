//! Host capabilities offered to waPC policies under the binding `kubewarden`, each allow-listed
//! per policy. For now only `tracing/log` is served; the other Kubewarden capabilities are
//! refused with a message naming them.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::wapc::HostCallHandler;

/// The capability through which Kubewarden SDKs send their log records.
pub const TRACING_LOG: &str = "tracing/log";

/// Kubewarden's host capabilities, restricted to an allow-list of `namespace/operation` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubewardenCapabilities {
    allowed: BTreeSet<String>,
}

impl Default for KubewardenCapabilities {
    /// Only `tracing/log`.
    fn default() -> Self {
        KubewardenCapabilities::allowing([TRACING_LOG])
    }
}

impl KubewardenCapabilities {
    /// Allows exactly the capabilities named (`namespace/operation`, e.g. `tracing/log`).
    pub fn allowing<I, S>(names: I) -> KubewardenCapabilities
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        KubewardenCapabilities {
            allowed: names.into_iter().map(Into::into).collect(),
        }
    }
}

/// A log record as the Kubewarden SDKs send it.
#[derive(Debug, Deserialize)]
struct LogRecord {
    #[serde(default)]
    level: String,
    #[serde(default)]
    message: String,
}

impl HostCallHandler for KubewardenCapabilities {
    fn host_call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        let name = format!("{namespace}/{operation}");
        if binding != "kubewarden" {
            return Err(format!(
                "host capability {binding}/{name} is not available (unknown binding `{binding}`)"
            ));
        }
        if !self.allowed.contains(&name) {
            return Err(format!(
                "host capability kubewarden/{name} is not available to this policy"
            ));
        }
        match name.as_str() {
            TRACING_LOG => {
                let record: LogRecord = serde_json::from_slice(payload)
                    .map_err(|err| format!("tracing/log: malformed record: {err}"))?;
                match record.level.as_str() {
                    "error" => tracing::error!(target: "palisade::policy", "{}", record.message),
                    "warning" | "warn" => {
                        tracing::warn!(target: "palisade::policy", "{}", record.message)
                    }
                    "debug" => tracing::debug!(target: "palisade::policy", "{}", record.message),
                    "trace" => tracing::trace!(target: "palisade::policy", "{}", record.message),
                    _ => tracing::info!(target: "palisade::policy", "{}", record.message),
                }
                Ok(Vec::new())
            }
            _ => Err(format!(
                "host capability kubewarden/{name} is not available yet"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_served_and_everything_else_refused() {
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
        let nothing = KubewardenCapabilities::allowing(Vec::<String>::new());
        assert!(
            nothing
                .host_call("kubewarden", "tracing", "log", b"{}")
                .is_err()
        );
        let more = KubewardenCapabilities::allowing(["tracing/log", "oci/v1/verify"]);
        assert!(
            more.host_call("kubewarden", "oci/v1", "verify", b"{}")
                .is_err_and(|err| err.contains("not available yet"))
        );
    }
}
