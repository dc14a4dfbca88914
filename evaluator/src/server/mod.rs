//! The policy server: Kubernetes' validating/mutating webhook, serving the policies of a
//! `policies.yml` (Kubewarden policy-server's format).
//!
//! - `POST /validate/{id}`: an `AdmissionReview` v1 in, the `AdmissionReview` response out;
//! - `POST /validate_raw/{id}`: `{"request": …}` (any JSON) in, `{"response": …}` out;
//! - `GET /readiness`: 200 once started (start-up finishes before the socket is served), and as long as a
//!   generation serves; its text names the live generation and, when the last reload failed, when and why;
//! - `GET /policies`: JSON of the live generation (number, when it was loaded, the `policies.yml` digest,
//!   the last reload's result) and, per id, the module as written, its resolved digest, `ready` or
//!   `failed` (and why), and whether this generation `loaded` it or `reused` it (a group lists its members);
//! - `GET /metrics`: Prometheus text (per-policy latency histogram, accepted/rejected/error counts, queues,
//!   circuit breakers, the live generation and the reloads).
//!
//! The policies are served as a [`Generation`]; [`ServerState::reload`] builds the next one beside it and
//! swaps it in whole, or keeps the live one when anything fails ([`reload`]). A request is answered by the
//! generation it started on.
//!
//! Evaluations run on tokio's blocking pool, at most `workers` at once, never on the reactor, and
//! one policy takes at most its share of them ([`isolation`]: a per-policy limit, a bounded queue per
//! policy, whose overflow is HTTP 503, and a circuit breaker that fails a policy that keeps timing out
//! fast, with a 503 rejection after [`FAIL_FAST_PAUSE`]). A policy that fails while evaluating (timeout, trap, out of memory, bad answer)
//! costs that request: HTTP 200 with a rejection whose `status.code` is 500 and whose message
//! says which, as Kubewarden answers; the next request is served. So is a policy that could not
//! be loaded (`--continue-on-errors`). An unknown policy id is HTTP 404 and a malformed body
//! HTTP 400, each with a JSON `{"error": …}`.

mod expression;
pub mod generation;
pub mod group;
mod group_evaluation;
pub mod isolation;
pub mod metrics;
pub mod policies;
mod policy_entry;
pub mod reload;
mod reload_outcome;
mod resolve;
mod slot;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::Listener;
use serde_json::{Value, json};

pub use generation::{Generation, Origin};
pub use isolation::{BreakerOptions, IsolationLimits};
pub use metrics::{Metrics, Outcome};
pub use policies::{PoliciesFile, PolicyConfig, PolicyMode};
pub use reload_outcome::ReloadReport;
pub use state::{ServerState, StartOptions};

use crate::admission::{AdmissionReview, ValidationRequest, ValidationResponse};
use crate::error::EvaluatorError;
use slot::{LoadedPolicy, Slot};

/// How long a request to a policy whose circuit breaker is open waits before its rejection: nothing to a
/// client that would otherwise have waited for the policy's deadline, and a bound on what clients retrying a
/// broken policy in a tight loop (a controller requeueing a rejected write) take from the other policies'
/// answers; without it, 16 such clients made 18,700 rejections a second on two cores.
pub const FAIL_FAST_PAUSE: Duration = Duration::from_millis(10);

/// The largest request body taken: an AdmissionReview carries the object and its old version,
/// each up to the 1.5 MiB etcd allows, with room to spare (axum's default is 2 MiB).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// The routes, over `state` (tested without a socket through `tower::ServiceExt::oneshot`).
pub fn app(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/validate/{id}", post(validate))
        .route("/validate_raw/{id}", post(validate_raw))
        .route("/readiness", get(readiness))
        .route("/policies", get(policies))
        .route("/metrics", get(render_metrics))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

/// The readiness route alone, over `state`: what a separate plain-HTTP port serves to the kubelet's probe
/// while the webhook port speaks HTTPS (Kubewarden's `--readiness-probe-port`).
pub fn readiness_app(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/readiness", get(readiness))
        .with_state(state)
}

/// Serves `state` on `listener` (an [`http_server::Listener`], plain or TLS, or any other) until
/// `shutdown` completes, then lets the requests in flight finish.
pub async fn serve<L>(
    listener: L,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), EvaluatorError>
where
    L: Listener<Addr = SocketAddr>,
{
    Ok(http_server::serve(listener, app(state), shutdown).await?)
}

/// The answer of the policy or group `id` to `request` as `/validate/{id}` makes it, and whether it
/// may mutate, without HTTP (`palisade run` evaluates a policy group resource with it).
pub async fn answer(
    state: &ServerState,
    id: &str,
    request: &Value,
) -> Result<(ValidationResponse, bool), EvaluatorError> {
    let generation = state.live();
    let slot = generation
        .slots
        .get(id)
        .ok_or_else(|| EvaluatorError::InvalidInput(format!("no policy with id `{id}`")))?;
    evaluate(state, id, slot, request).await
}

/// `POST /validate/{id}`.
async fn validate(
    State(state): State<Arc<ServerState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let generation = state.live();
    let slot = match generation.slots.get(&id) {
        Some(slot) => slot,
        None => return unknown_policy(&generation, &id),
    };
    let review = match AdmissionReview::from_json(&body) {
        Ok(review) => review,
        Err(err) => return error(StatusCode::BAD_REQUEST, err.to_string()),
    };
    if is_always_accepted(&state, &review.request) {
        state.metrics.record(&id, Outcome::Accepted, Duration::ZERO);
        let accepted = ValidationResponse {
            accepted: true,
            ..ValidationResponse::default()
        };
        return json_response(review.response(&accepted, false));
    }
    let (answer, allowed_to_mutate) = match evaluate(&state, &id, slot, &review.request).await {
        Ok(evaluated) => evaluated,
        Err(overloaded) => return unavailable(&overloaded),
    };
    json_response(review.response(&answer, allowed_to_mutate))
}

/// `POST /validate_raw/{id}`: `{"request": …}`, where the request is any JSON object (its `uid`,
/// if any, is echoed).
async fn validate_raw(
    State(state): State<Arc<ServerState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let generation = state.live();
    let slot = match generation.slots.get(&id) {
        Some(slot) => slot,
        None => return unknown_policy(&generation, &id),
    };
    let request = match serde_json::from_slice::<Value>(&body) {
        Ok(mut document) => match document.get_mut("request") {
            Some(request @ Value::Object(_)) => request.take(),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "expected {\"request\": {…}}: the body has no `request` object".into(),
                );
            }
        },
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {err}"),
            );
        }
    };
    let review = AdmissionReview::raw(request);
    let (answer, allowed_to_mutate) = match evaluate(&state, &id, slot, &review.request).await {
        Ok(evaluated) => evaluated,
        Err(overloaded) => return unavailable(&overloaded),
    };
    let mut response = review.response(&answer, allowed_to_mutate);
    json_response(json!({ "response": response["response"].take() }))
}

/// Whether `request` (an AdmissionRequest) is about an object in the namespace the server always accepts.
fn is_always_accepted(state: &ServerState, request: &Value) -> bool {
    state
        .always_accepted_namespace
        .as_deref()
        .is_some_and(|namespace| request["namespace"].as_str() == Some(namespace))
}

/// `GET /readiness`: the server only listens once every policy is loaded, and a failed reload leaves the
/// live generation serving, so it is always ready; the text says which generation serves and why the last
/// reload failed, if it did.
async fn readiness(State(state): State<Arc<ServerState>>) -> String {
    state.readiness()
}

/// `GET /policies`.
async fn policies(State(state): State<Arc<ServerState>>) -> Response {
    json_response(state.describe_policies())
}

/// `GET /metrics`.
async fn render_metrics(State(state): State<Arc<ServerState>>) -> Response {
    state.metrics.response()
}

/// Evaluates `request` with the policy in `slot` on the blocking pool, records the outcome, and
/// returns the answer and whether the policy may mutate; or [`EvaluatorError::Overloaded`] when the
/// policy's queue is full.
async fn evaluate(
    state: &ServerState,
    id: &str,
    slot: &Slot,
    request: &Value,
) -> Result<(ValidationResponse, bool), EvaluatorError> {
    let started = Instant::now();
    let (result, mode, allowed_to_mutate, message) = match slot {
        Slot::Ready(policy) => {
            let result = run_on_pool(state, id, Arc::clone(policy), request.clone()).await;
            (
                result,
                policy.mode,
                policy.allowed_to_mutate,
                policy.message.as_deref(),
            )
        }
        Slot::Group(group) => {
            let (mode, group, request) = (group.mode, Arc::clone(group), request.clone());
            let result = state
                .isolation
                .run(id, move || Ok(group.validate(&request)));
            let result = result.await.map(|answer| answer.response);
            (result, mode, false, None)
        }
        Slot::Failed(reason) => {
            state.metrics.record(id, Outcome::Error, started.elapsed());
            let answer = ValidationResponse {
                accepted: false,
                message: Some(format!("policy {id} could not be loaded: {reason}")),
                code: Some(500),
                ..ValidationResponse::default()
            };
            return Ok((answer, false));
        }
    };
    let (answer, mut outcome) = match result {
        Ok(answer) if answer.accepted => (answer, Outcome::Accepted),
        Ok(answer) => (answer, Outcome::Rejected),
        Err(overloaded @ EvaluatorError::Overloaded { .. }) => return Err(overloaded),
        Err(err) => {
            if matches!(err, EvaluatorError::CircuitOpen { .. }) {
                // Not logged: the breaker logged once, when it opened.
                tokio::time::sleep(FAIL_FAST_PAUSE).await;
            } else {
                tracing::warn!(policy = %id, error = %err, "policy evaluation failed");
            }
            (ValidationResponse::from_failure(&err), Outcome::Error)
        }
    };
    if answer.accepted && answer.mutated_object.is_some() && !allowed_to_mutate {
        outcome = Outcome::Error;
    }
    state.metrics.record(id, outcome, started.elapsed());
    if mode == PolicyMode::Monitor && !answer.accepted {
        tracing::info!(policy = %id, message = ?answer.message, "monitor mode: the policy would reject this request");
    }
    Ok(match mode {
        PolicyMode::Protect => match message {
            Some(message) => (
                with_message(answer, message, allowed_to_mutate),
                allowed_to_mutate,
            ),
            None => (answer, allowed_to_mutate),
        },
        PolicyMode::Monitor => (
            ValidationResponse {
                accepted: true,
                ..ValidationResponse::default()
            },
            false,
        ),
    })
}

/// A protecting policy's answer with its `message` (from `policies.yml`) in place of its own when it
/// rejects, a mutation it may not make included, as Kubewarden applies it: last.
fn with_message(
    answer: ValidationResponse,
    message: &str,
    allowed_to_mutate: bool,
) -> ValidationResponse {
    let answer = match answer.mutated_object {
        Some(_) if answer.accepted && !allowed_to_mutate => ValidationResponse::mutation_refused(),
        _ => answer,
    };
    answer.with_rejection_message(message)
}

/// Runs one evaluation of policy `id` on tokio's blocking pool, within the policy's share of the workers.
async fn run_on_pool(
    state: &ServerState,
    id: &str,
    policy: Arc<LoadedPolicy>,
    request: Value,
) -> Result<ValidationResponse, EvaluatorError> {
    state
        .isolation
        .run(id, move || {
            policy.policy.validate(&ValidationRequest {
                request,
                settings: policy.settings.clone(),
            })
        })
        .await
}

fn unknown_policy(generation: &Generation, id: &str) -> Response {
    let known = generation.ids().join(", ");
    error(
        StatusCode::NOT_FOUND,
        format!("no policy with id `{id}` (this server has: {known})"),
    )
}

/// HTTP 503 for a request its policy's full queue refused: Kubernetes then applies the webhook's
/// `failurePolicy`, as it would once its own timeout expired, without the wait.
fn unavailable(overloaded: &EvaluatorError) -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, overloaded.to_string());
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    response
}

fn error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn json_response(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}
