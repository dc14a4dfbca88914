//! Request metrics in the Prometheus text format, and the middleware that records them and logs each request with
//! an id.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

/// `X-Request-Id`: taken from the request if the client (or a proxy) set one, else generated; echoed back.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Counters since the server started.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    durations: Mutex<BTreeMap<String, (f64, u64)>>,
    in_flight: AtomicI64,
}

impl Metrics {
    fn record(&self, method: &str, status: StatusCode, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests
            .entry((method.to_string(), status.as_u16()))
            .or_default() += 1;
        drop(requests);
        let mut durations = self.durations.lock().unwrap_or_else(|p| p.into_inner());
        let entry = durations.entry(method.to_string()).or_default();
        entry.0 += seconds;
        entry.1 += 1;
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP palisade_registry_http_requests_total HTTP requests answered, by method and status.\n");
        out.push_str("# TYPE palisade_registry_http_requests_total counter\n");
        for ((method, code), count) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "palisade_registry_http_requests_total{{method=\"{method}\",code=\"{code}\"}} {count}"
            );
        }
        out.push_str("# HELP palisade_registry_http_request_duration_seconds Time spent answering requests.\n");
        out.push_str("# TYPE palisade_registry_http_request_duration_seconds summary\n");
        for (method, (sum, count)) in self
            .durations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "palisade_registry_http_request_duration_seconds_sum{{method=\"{method}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "palisade_registry_http_request_duration_seconds_count{{method=\"{method}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP palisade_registry_http_requests_in_flight Requests being answered now.\n",
        );
        out.push_str("# TYPE palisade_registry_http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "palisade_registry_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out
    }
}

/// The method as a metric label; methods outside HTTP's standard set count as `OTHER`, so that clients cannot
/// grow the label set without bound.
fn method_label(method: &axum::http::Method) -> String {
    use axum::http::Method;
    let known = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    if known.contains(method) {
        method.to_string()
    } else {
        "OTHER".to_string()
    }
}

/// Serves `GET /metrics`.
pub async fn handler(State(metrics): State<std::sync::Arc<Metrics>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
        .into_response()
}

/// Records every request, logs it in a span carrying its id, and returns the id in `X-Request-Id`.
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_string);
    let method = method_label(request.method());
    let span =
        tracing::info_span!("request", id = %id, method = %method, path = %request.uri().path());
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    metrics.record(&method, response.status(), elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            ms = elapsed.as_millis() as u64,
            "answered"
        )
    });
    if let Ok(value) = HeaderValue::try_from(id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_in_text_format() {
        let metrics = Metrics::default();
        metrics.record("GET", StatusCode::OK, 0.5);
        metrics.record("GET", StatusCode::OK, 0.25);
        let text = metrics.render();
        assert!(
            text.contains("palisade_registry_http_requests_total{method=\"GET\",code=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "palisade_registry_http_request_duration_seconds_sum{method=\"GET\"} 0.75"
            ),
            "{text}"
        );
        assert!(
            text.contains("palisade_registry_http_requests_in_flight 0"),
            "{text}"
        );
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let custom = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&custom), "OTHER");
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
    }
}
