//! What the policy server's integration tests share: a registry client, the start options they vary, local
//! policies, and requests to `server::app` without a socket (`tower::ServiceExt::oneshot`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use evaluator::gate::Admission;
use evaluator::server::{IsolationLimits, ServerState, StartOptions, app};
use evaluator::{EngineConfig, ModuleCache};
use serde_json::Value;
use test_support::write_fixture;
use tower::ServiceExt;

/// A registry client without credentials or sources.
pub fn remote() -> Remote {
    Remote::new(RemoteOptions {
        docker_config: DockerConfig::none(),
        sources: Sources::default(),
    })
}

/// Start options with `admission` and `cache`: a 200 ms deadline, 2 workers, default isolation, no store, no
/// precompiled modules, no capabilities beyond logging.
pub fn options(admission: Admission, cache: Option<Arc<ModuleCache>>) -> StartOptions {
    StartOptions {
        remote: remote(),
        admission,
        store: None,
        engine: EngineConfig {
            deadline: Duration::from_millis(200),
            ..EngineConfig::default()
        },
        cache,
        precompiled: None,
        continue_on_errors: false,
        workers: 2,
        isolation: IsolationLimits::default(),
        allowed_capabilities: Vec::new(),
        context_resources: None,
    }
}

/// The fixture `fixture` compiled into `dir`, as a `file://` module of `policies.yml`.
#[allow(dead_code, reason = "not every test file runs local policies")]
pub fn file_module(dir: &Path, fixture: &str) -> String {
    format!("file://{}", write_fixture(dir, fixture).display())
}

/// POSTs `body` (JSON) to `path`; the status and the JSON answer.
#[allow(dead_code, reason = "not every test file reads the status")]
pub async fn post(
    state: &Arc<ServerState>,
    path: &str,
    body: &str,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let response = app(Arc::clone(state))
        .oneshot(
            Request::post(path)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))?,
        )
        .await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, serde_json::from_slice(&bytes)?))
}

/// GETs `path`; the status and the text answer.
pub async fn get(
    state: &Arc<ServerState>,
    path: &str,
) -> Result<(StatusCode, String), Box<dyn std::error::Error>> {
    let response = app(Arc::clone(state))
        .oneshot(Request::get(path).body(Body::empty())?)
        .await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, String::from_utf8(bytes.to_vec())?))
}
