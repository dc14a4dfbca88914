//! Host capabilities offered to waPC policies under the binding `kubewarden`, with Kubewarden's
//! names (`namespace/operation`) and JSON payloads and answers, each allow-listed per policy.
//!
//! | capability | module |
//! | --- | --- |
//! | `tracing/log` | [`logging`] |
//! | `oci/v1/verify`, `oci/v2/verify` | [`verify`] |
//! | `oci/v1/manifest_digest`, `oci/v1/oci_manifest`, `oci/v1/oci_manifest_config` | [`oci`] |
//! | `net/v1/dns_lookup_host` | [`net`] |
//! | `crypto/v1/is_certificate_trusted` | [`crypto`] |
//! | `kubernetes/list_resources_by_namespace`, `kubernetes/list_resources_all`, `kubernetes/get_resource` | [`kubernetes`] |
//!
//! [`session`] records the calls a policy makes and their answers, and replays them, in kwctl's
//! session format.
//!
//! A refused or failed call is a host error handed to the guest with a message saying why; it
//! never stops the evaluation or the host.

mod blocking;
pub mod crypto;
mod handler;
pub mod kubernetes;
pub mod logging;
pub mod net;
pub mod oci;
mod payload;
pub mod session;
pub mod verify;

pub use handler::{BINDING, CAPABILITIES, KubewardenCapabilities, TRACING_LOG, check_pattern};
pub use kubernetes::ContextResources;
pub use oci::Registry;
