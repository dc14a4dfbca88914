//! Recording the host calls a policy makes, with their answers, and replaying them later without
//! the cluster or the registries that answered: `--record-host-capabilities-interactions` and
//! `--replay-host-capabilities-interactions`, in kwctl's session format, so that sessions recorded
//! by either tool replay in both.
//!
//! A session is a YAML list of exchanges; each holds the request (kwctl's `CallbackRequestType`,
//! written as a YAML document of its own, tagged with the variant's name) and the host's answer:
//!
//! ```yaml
//! - type: Exchange
//!   request: |
//!     !KubernetesGetResource
//!     api_version: v1
//!     kind: Namespace
//!     name: team-a
//!     namespace: null
//!     disable_cache: false
//!   response:
//!     type: Success          # or `type: Error` with a `message`
//!     payload: '{"apiVersion":"v1","kind":"Namespace",…}'
//! ```
//!
//! Both handlers wrap [`KubewardenCapabilities`], which still decides what the policy may call
//! (allow-list, `contextAwareResources`); refused calls and `tracing/log` are not part of a
//! session, as in kwctl.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::handler::KubewardenCapabilities;
use super::{crypto, kubernetes, net, oci, verify};
use crate::error::EvaluatorError;
use crate::host_call::HostCallHandler;

/// A request a policy makes to the host, named and shaped as kwctl's `CallbackRequestType`.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostRequest {
    OciManifestDigest {
        image: String,
    },
    OciManifest {
        image: String,
    },
    OciManifestAndConfig {
        image: String,
    },
    SigstorePubKeyVerify {
        image: String,
        pub_keys: Vec<String>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        image: String,
        keyless: Vec<KeylessInfo>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessPrefixVerify {
        image: String,
        keyless_prefix: Vec<KeylessPrefixInfo>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreGithubActionsVerify {
        image: String,
        owner: String,
        repo: Option<String>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreCertificateVerify {
        image: String,
        certificate: Vec<u8>,
        certificate_chain: Option<Vec<Vec<u8>>>,
        require_rekor_bundle: bool,
        annotations: Option<BTreeMap<String, String>>,
    },
    #[serde(rename = "DNSLookupHost")]
    DnsLookupHost {
        host: String,
    },
    KubernetesListResourceNamespace {
        api_version: String,
        kind: String,
        namespace: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
        field_masks: Option<BTreeSet<String>>,
    },
    KubernetesListResourceAll {
        api_version: String,
        kind: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
        field_masks: Option<BTreeSet<String>>,
    },
    KubernetesGetResource {
        api_version: String,
        kind: String,
        name: String,
        namespace: Option<String>,
        #[serde(default)]
        disable_cache: bool,
        field_masks: Option<BTreeSet<String>>,
    },
    KubernetesCanI {
        request: SubjectAccessReview,
        #[serde(default)]
        disable_cache: bool,
    },
    CryptoIsCertificateTrusted {
        request: CertificateVerificationRequest,
    },
}

/// A keyless signer: the OIDC issuer and the identity it vouched for.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeylessInfo {
    pub issuer: String,
    pub subject: String,
}

/// A keyless signer whose identity starts with a URL prefix.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeylessPrefixInfo {
    pub issuer: String,
    pub url_prefix: String,
}

/// What `kubernetes/can_i` asks: may this user do this.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectAccessReview {
    pub groups: Option<Vec<String>>,
    pub resource_attributes: ResourceAttributes,
    pub user: String,
}

/// The action `kubernetes/can_i` asks about.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAttributes {
    pub group: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub resource: String,
    pub subresource: Option<String>,
    pub verb: String,
    pub version: Option<String>,
}

/// What `crypto/v1/is_certificate_trusted` asks.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateVerificationRequest {
    pub cert: Certificate,
    pub cert_chain: Option<Vec<Certificate>>,
    pub not_after: Option<String>,
}

/// A certificate, PEM or DER, as bytes.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub encoding: CertificateEncoding,
    pub data: Vec<u8>,
}

/// How a [`Certificate`] is encoded.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateEncoding {
    Der,
    Pem,
}

/// The sigstore requests `oci/v1/verify` takes; `oci/v2/verify` takes them all.
const VERIFY_V1_REQUESTS: [&str; 2] = ["SigstorePubKeyVerify", "SigstoreKeylessVerify"];
const VERIFY_V2_REQUESTS: [&str; 5] = [
    "SigstorePubKeyVerify",
    "SigstoreKeylessVerify",
    "SigstoreKeylessPrefixVerify",
    "SigstoreGithubActionsVerify",
    "SigstoreCertificateVerify",
];

impl HostRequest {
    /// The request the call of capability `name` (`namespace/operation`) with `payload` makes;
    /// `None` for the calls a session leaves out (`tracing/log`).
    pub fn from_call(name: &str, payload: &[u8]) -> Result<Option<HostRequest>, String> {
        let malformed = |err: String| format!("{name}: malformed request: {err}");
        let value: Value =
            serde_json::from_slice(payload).map_err(|err| malformed(err.to_string()))?;
        let (variant, fields) = match name {
            verify::V1_VERIFY => {
                externally_tagged(value, &VERIFY_V1_REQUESTS).map_err(malformed)?
            }
            verify::V2_VERIFY => {
                internally_tagged(value, &VERIFY_V2_REQUESTS).map_err(malformed)?
            }
            oci::MANIFEST_DIGEST => ("OciManifestDigest".to_owned(), json!({"image": value})),
            oci::OCI_MANIFEST => ("OciManifest".to_owned(), json!({"image": value})),
            oci::OCI_MANIFEST_CONFIG => {
                ("OciManifestAndConfig".to_owned(), json!({"image": value}))
            }
            net::DNS_LOOKUP_HOST => ("DNSLookupHost".to_owned(), json!({"host": value})),
            crypto::IS_CERTIFICATE_TRUSTED => (
                "CryptoIsCertificateTrusted".to_owned(),
                json!({"request": without_empty_not_after(value)}),
            ),
            kubernetes::LIST_RESOURCES_BY_NAMESPACE => {
                ("KubernetesListResourceNamespace".to_owned(), value)
            }
            kubernetes::LIST_RESOURCES_ALL => ("KubernetesListResourceAll".to_owned(), value),
            kubernetes::GET_RESOURCE => ("KubernetesGetResource".to_owned(), value),
            kubernetes::CAN_I => ("KubernetesCanI".to_owned(), can_i_fields(value)),
            _ => return Ok(None),
        };
        serde_json::from_value(json!({ variant: fields }))
            .map(Some)
            .map_err(|err| malformed(err.to_string()))
    }

    /// The Kubernetes kind a `kubernetes/*` request reads (`api_version`, `kind`).
    fn kubernetes_kind(&self) -> Option<(&str, &str)> {
        match self {
            HostRequest::KubernetesListResourceNamespace {
                api_version, kind, ..
            }
            | HostRequest::KubernetesListResourceAll {
                api_version, kind, ..
            }
            | HostRequest::KubernetesGetResource {
                api_version, kind, ..
            } => Some((api_version, kind)),
            _ => None,
        }
    }

    /// The request on one line, for error messages.
    fn describe(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{self:?}"))
    }
}

/// `{"Variant": {…}}`, the variant one of `allowed`.
fn externally_tagged(value: Value, allowed: &[&str]) -> Result<(String, Value), String> {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (variant, fields) = map.into_iter().next().unwrap_or_default();
            check_variant(&variant, allowed)?;
            Ok((variant, fields))
        }
        _ => Err(format!(
            "expected one of {} as the only key",
            allowed.join(", ")
        )),
    }
}

/// `{"type": "Variant", …}`, the variant one of `allowed`.
fn internally_tagged(value: Value, allowed: &[&str]) -> Result<(String, Value), String> {
    let Value::Object(mut map) = value else {
        return Err("expected an object with a `type`".into());
    };
    match map.remove("type") {
        Some(Value::String(variant)) => {
            check_variant(&variant, allowed)?;
            Ok((variant, Value::Object(map)))
        }
        _ => Err(format!("expected a `type`: one of {}", allowed.join(", "))),
    }
}

fn check_variant(variant: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&variant) {
        Ok(())
    } else {
        Err(format!(
            "unknown request `{variant}`: expected one of {}",
            allowed.join(", ")
        ))
    }
}

/// Kubewarden's SDK writes a missing expiry check as `""`; kwctl reads it as none.
fn without_empty_not_after(mut value: Value) -> Value {
    if value.get("not_after") == Some(&Value::String(String::new())) {
        value["not_after"] = Value::Null;
    }
    value
}

/// `{subject_access_review, disable_cache}` as kwctl names them: `{request, disable_cache}`.
fn can_i_fields(value: Value) -> Value {
    let mut fields = Map::new();
    if let Value::Object(mut map) = value {
        if let Some(review) = map.remove("subject_access_review") {
            fields.insert("request".into(), review);
        }
        if let Some(disable_cache) = map.remove("disable_cache") {
            fields.insert("disable_cache".into(), disable_cache);
        }
    }
    Value::Object(fields)
}

/// One request and the host's answer, as a session file holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
struct Exchange {
    /// The request, as a YAML document of its own.
    request: String,
    response: Response,
}

/// The host's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
enum Response {
    /// The answer handed to the policy (UTF-8, JSON for every capability).
    Success { payload: String },
    /// The host error handed to the policy.
    Error { message: String },
}

impl Response {
    fn of(answer: &Result<Vec<u8>, String>) -> Result<Response, String> {
        match answer {
            Ok(bytes) => String::from_utf8(bytes.clone())
                .map(|payload| Response::Success { payload })
                .map_err(|_| "the host's answer is not UTF-8 and cannot be recorded".to_owned()),
            Err(message) => Ok(Response::Error {
                message: message.clone(),
            }),
        }
    }

    fn answer(&self) -> Result<Vec<u8>, String> {
        match self {
            Response::Success { payload } => Ok(payload.clone().into_bytes()),
            Response::Error { message } => Err(message.clone()),
        }
    }
}

/// The request a session holds for a call; `None` when the call is not part of sessions
/// (`tracing/log`); `Err` when `capabilities` refuse it, as they would without a session.
fn session_request(
    capabilities: &KubewardenCapabilities,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Option<HostRequest>, String> {
    let name = capabilities.admit(binding, namespace, operation)?;
    let request = HostRequest::from_call(&name, payload)?;
    if let Some((api_version, kind)) = request.as_ref().and_then(HostRequest::kubernetes_kind) {
        capabilities
            .may_read(api_version, kind)
            .map_err(|message| format!("{name}: {message}"))?;
    }
    Ok(request)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Answers host calls through [`KubewardenCapabilities`] and writes each request and answer to a
/// session file as it happens (the file is a valid session at every moment: `[]` until the
/// first call).
#[derive(Debug)]
pub struct Recorder {
    capabilities: KubewardenCapabilities,
    path: PathBuf,
    state: Mutex<RecorderState>,
}

#[derive(Debug)]
struct RecorderState {
    file: File,
    recorded: usize,
}

impl Recorder {
    /// Creates (or empties) the session file `path`.
    pub fn create(
        path: &Path,
        capabilities: KubewardenCapabilities,
    ) -> Result<Recorder, EvaluatorError> {
        let failed = |err: std::io::Error| {
            EvaluatorError::Config(format!(
                "creating the session file {}: {err}",
                path.display()
            ))
        };
        let mut file = File::create(path).map_err(failed)?;
        file.write_all(b"[]\n").map_err(failed)?;
        Ok(Recorder {
            capabilities,
            path: path.to_owned(),
            state: Mutex::new(RecorderState { file, recorded: 0 }),
        })
    }

    fn record(
        &self,
        request: &HostRequest,
        answer: &Result<Vec<u8>, String>,
    ) -> Result<(), String> {
        let failed =
            |err: String| format!("recording the host call in {}: {err}", self.path.display());
        let exchange = Exchange {
            request: serde_norway::to_string(request).map_err(|err| failed(err.to_string()))?,
            response: Response::of(answer).map_err(failed)?,
        };
        let text = serde_norway::to_string(&[exchange]).map_err(|err| failed(err.to_string()))?;
        let mut state = lock(&self.state);
        let state = &mut *state;
        if state.recorded == 0 {
            state
                .file
                .set_len(0)
                .map_err(|err| failed(err.to_string()))?;
            state.file.rewind().map_err(|err| failed(err.to_string()))?;
        }
        state
            .file
            .write_all(text.as_bytes())
            .map_err(|err| failed(err.to_string()))?;
        state.recorded += 1;
        Ok(())
    }
}

impl HostCallHandler for Recorder {
    fn host_call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        let request = session_request(&self.capabilities, binding, namespace, operation, payload)?;
        let answer = self
            .capabilities
            .host_call(binding, namespace, operation, payload);
        if let Some(request) = request {
            self.record(&request, &answer)?;
        }
        answer
    }
}

/// Answers host calls from a session file: each call must be the next one recorded, and gets the
/// recorded answer. After the last one the session starts over, so that `bench`, which evaluates
/// many times, replays a session recorded by one `run`.
#[derive(Debug)]
pub struct Replayer {
    capabilities: KubewardenCapabilities,
    path: PathBuf,
    exchanges: Vec<(HostRequest, Response)>,
    next: Mutex<usize>,
}

impl Replayer {
    /// Reads the session file `path`; `capabilities` decide what the policy may call and answer
    /// `tracing/log`.
    pub fn open(
        path: &Path,
        capabilities: KubewardenCapabilities,
    ) -> Result<Replayer, EvaluatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvaluatorError::Io {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |what: String| {
            EvaluatorError::Config(format!(
                "{}: not a host-capabilities session: {what}",
                path.display()
            ))
        };
        let exchanges: Vec<Exchange> = if text.trim().is_empty() {
            Vec::new()
        } else {
            serde_norway::from_str(&text).map_err(|err| invalid(err.to_string()))?
        };
        let exchanges = exchanges
            .into_iter()
            .enumerate()
            .map(|(index, exchange)| {
                let request = serde_norway::from_str(&exchange.request).map_err(|err| {
                    invalid(format!("the request of exchange {}: {err}", index + 1))
                })?;
                Ok((request, exchange.response))
            })
            .collect::<Result<_, EvaluatorError>>()?;
        Ok(Replayer {
            capabilities,
            path: path.to_owned(),
            exchanges,
            next: Mutex::new(0),
        })
    }

    fn replay(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        if self.exchanges.is_empty() {
            return Err(format!(
                "replaying {}: the session holds no host call, but the policy made {}",
                self.path.display(),
                request.describe()
            ));
        }
        let mut next = lock(&self.next);
        let index = *next % self.exchanges.len();
        let (expected, response) = &self.exchanges[index];
        if expected != request {
            return Err(format!(
                "replaying {}: the policy made {}, but the next host call recorded (exchange {}) is {}",
                self.path.display(),
                request.describe(),
                index + 1,
                expected.describe()
            ));
        }
        *next += 1;
        response.answer()
    }
}

impl HostCallHandler for Replayer {
    fn host_call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        match session_request(&self.capabilities, binding, namespace, operation, payload)? {
            Some(request) => self.replay(&request),
            None => self
                .capabilities
                .host_call(binding, namespace, operation, payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use artifact::metadata::ContextAwareResource;

    use super::*;
    use crate::host_capabilities::{ContextResources, Registry};

    const LIST_NAMESPACES: &[u8] = br#"{"api_version":"v1","kind":"Namespace"}"#;

    fn capabilities(resources: &str) -> KubewardenCapabilities {
        let namespace = ContextAwareResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
        };
        let resources = ContextResources::parse(resources).unwrap_or_else(|err| panic!("{err}"));
        KubewardenCapabilities::granting(
            [namespace],
            &[],
            Some(Arc::new(resources)),
            Registry::default(),
        )
    }

    fn session_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let path = dir.path().join("session.yml");
        std::fs::write(&path, text).unwrap_or_else(|err| panic!("{err}"));
        (dir, path)
    }

    #[test]
    fn requests_are_written_as_kwctl_writes_them() -> Result<(), String> {
        let get = HostRequest::from_call(
            kubernetes::GET_RESOURCE,
            br#"{"api_version":"v1","kind":"Namespace","name":"test-policy","disable_cache":false}"#,
        )?;
        assert_eq!(
            get.as_ref()
                .map(serde_norway::to_string)
                .and_then(Result::ok)
                .as_deref(),
            Some(
                "!KubernetesGetResource\napi_version: v1\nkind: Namespace\nname: test-policy\nnamespace: null\n\
                 disable_cache: false\nfield_masks: null\n"
            )
        );
        let recorded_by_kwctl = "!KubernetesGetResource\napi_version: v1\nkind: Namespace\nname: test-policy\n\
                                 namespace: null\ndisable_cache: false\n";
        assert_eq!(
            serde_norway::from_str::<HostRequest>(recorded_by_kwctl).ok(),
            get
        );
        let dns = HostRequest::from_call(net::DNS_LOOKUP_HOST, br#""example.com""#)?;
        assert_eq!(
            dns.as_ref()
                .map(serde_norway::to_string)
                .and_then(Result::ok)
                .as_deref(),
            Some("!DNSLookupHost\nhost: example.com\n")
        );
        let v2 = HostRequest::from_call(
            verify::V2_VERIFY,
            br#"{"type":"SigstoreGithubActionsVerify","image":"ghcr.io/a/b:1","owner":"kubewarden","repo":null,"annotations":null}"#,
        )?;
        assert!(
            matches!(v2, Some(HostRequest::SigstoreGithubActionsVerify { ref owner, .. }) if owner == "kubewarden")
        );
        let v1 = HostRequest::from_call(
            verify::V1_VERIFY,
            br#"{"SigstorePubKeyVerify":{"image":"ghcr.io/a/b:1","pub_keys":["KEY"],"annotations":null}}"#,
        )?;
        assert!(matches!(v1, Some(HostRequest::SigstorePubKeyVerify { .. })));
        let can_i = HostRequest::from_call(
            kubernetes::CAN_I,
            br#"{"subject_access_review":{"groups":null,"resource_attributes":{"namespace":"a","resource":"pods","verb":"create"},"user":"bob"},"disable_cache":true}"#,
        )?;
        assert!(matches!(
            can_i,
            Some(HostRequest::KubernetesCanI {
                disable_cache: true,
                ..
            })
        ));
        let trusted = HostRequest::from_call(
            crypto::IS_CERTIFICATE_TRUSTED,
            br#"{"cert":{"encoding":"Pem","data":[45,45]},"cert_chain":null,"not_after":""}"#,
        )?;
        assert!(
            matches!(trusted, Some(HostRequest::CryptoIsCertificateTrusted { ref request }) if request.not_after.is_none())
        );
        assert_eq!(HostRequest::from_call("tracing/log", b"{}")?, None);
        Ok(())
    }

    #[test]
    fn malformed_and_foreign_requests_are_refused_by_name() {
        let wrong =
            HostRequest::from_call(verify::V1_VERIFY, br#"{"SigstoreGithubActionsVerify":{}}"#);
        assert!(
            wrong.is_err_and(|err| err.contains("unknown request `SigstoreGithubActionsVerify`"))
        );
        let untyped = HostRequest::from_call(verify::V2_VERIFY, br#"{"image":"x"}"#);
        assert!(untyped.is_err_and(|err| err.contains("expected a `type`")));
        let missing =
            HostRequest::from_call(kubernetes::LIST_RESOURCES_ALL, br#"{"kind":"Namespace"}"#);
        assert!(
            missing
                .is_err_and(|err| err.contains("malformed request") && err.contains("api_version"))
        );
    }

    #[test]
    fn a_recorded_session_replays_the_same_answers() -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
        let path = dir.path().join("session.yml");
        let recorder = Recorder::create(
            &path,
            capabilities("apiVersion: v1\nkind: Namespace\nmetadata: {name: payments}\n"),
        )
        .map_err(|err| err.to_string())?;
        assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some("[]\n"));
        let live = recorder.host_call(
            "kubewarden",
            "kubernetes",
            "list_resources_all",
            LIST_NAMESPACES,
        )?;
        let log = recorder.host_call(
            "kubewarden",
            "tracing",
            "log",
            br#"{"level":"info","message":"hi"}"#,
        );
        assert_eq!(log, Ok(Vec::new()));
        let refused = recorder.host_call(
            "kubewarden",
            "kubernetes",
            "list_resources_all",
            br#"{"api_version":"v1","kind":"Secret"}"#,
        );
        assert!(refused.is_err_and(|err| err.contains("may not read Kubernetes v1/Secret")));
        let text = std::fs::read_to_string(&path).map_err(|err| err.to_string())?;
        assert!(
            text.starts_with("- type: Exchange\n  request: |\n    !KubernetesListResourceAll\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("type: Exchange").count(),
            1,
            "only the served call: {text}"
        );

        // Replayed without the resources: the same answer, again and again (bench replays it).
        let replayer = Replayer::open(&path, capabilities("")).map_err(|err| err.to_string())?;
        for _ in 0..3 {
            assert_eq!(
                replayer.host_call(
                    "kubewarden",
                    "kubernetes",
                    "list_resources_all",
                    LIST_NAMESPACES
                )?,
                live
            );
        }
        Ok(())
    }

    #[test]
    fn replay_refuses_a_call_that_is_not_the_next_recorded() -> Result<(), String> {
        let (_dir, path) = session_file(
            "- type: Exchange\n  request: |\n    !KubernetesGetResource\n    api_version: v1\n    kind: Namespace\n    \
             name: payments\n    namespace: null\n    disable_cache: false\n  response:\n    type: Error\n    message: not found\n",
        );
        let replayer = Replayer::open(&path, capabilities("")).map_err(|err| err.to_string())?;
        let other = replayer.host_call(
            "kubewarden",
            "kubernetes",
            "list_resources_all",
            LIST_NAMESPACES,
        );
        assert!(other.is_err_and(|err| {
            err.contains("the policy made {\"KubernetesListResourceAll\"")
                && err.contains(
                    "the next host call recorded (exchange 1) is {\"KubernetesGetResource\"",
                )
        }),);
        let recorded = replayer.host_call(
            "kubewarden",
            "kubernetes",
            "get_resource",
            br#"{"api_version":"v1","kind":"Namespace","name":"payments"}"#,
        );
        assert_eq!(
            recorded,
            Err("not found".to_owned()),
            "the recorded host error"
        );
        let not_allowed = replayer.host_call(
            "kubewarden",
            "oci",
            "v1/manifest_digest",
            br#""ghcr.io/a/b:1""#,
        );
        assert!(not_allowed.is_err_and(|err| err.contains("not allow-listed")));

        let (_dir, empty) = session_file("[]\n");
        let nothing = Replayer::open(&empty, capabilities("")).map_err(|err| err.to_string())?;
        let call = nothing.host_call(
            "kubewarden",
            "kubernetes",
            "list_resources_all",
            LIST_NAMESPACES,
        );
        assert!(call.is_err_and(|err| err.contains("the session holds no host call")));
        Ok(())
    }

    #[test]
    fn files_that_are_not_sessions_are_refused_naming_them() {
        for (text, expected) in [
            ("{not: a list}", "not a host-capabilities session"),
            (
                "- type: Exchange\n  request: '!Teleport {}'\n  response: {type: Success, payload: ''}\n",
                "the request of exchange 1",
            ),
            (
                "- type: Exchange\n  request: x\n",
                "missing field `response`",
            ),
        ] {
            let (_dir, path) = session_file(text);
            let opened = Replayer::open(&path, capabilities(""));
            assert!(
                opened.is_err_and(|err| err.to_string().contains(expected)),
                "{text}"
            );
        }
        let missing = Replayer::open(Path::new("/nonexistent/session.yml"), capabilities(""));
        assert!(missing.is_err_and(|err| err.to_string().contains("/nonexistent/session.yml")));
        let unwritable = Recorder::create(Path::new("/nonexistent/session.yml"), capabilities(""));
        assert!(unwritable.is_err_and(|err| err.to_string().contains("creating the session file")));
    }
}
