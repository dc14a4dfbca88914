//! Request metrics (recorded with the Prometheus project's `prometheus-client`, served at `/metrics`), and the
//! middleware that records them and logs each request with an id.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tracing::Instrument;

/// `X-Request-Id`: taken from the request if the client (or a proxy) set one, else generated; echoed back.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Upper bounds of the request-duration histogram's buckets, in seconds: from a cached `HEAD` to a large upload.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 120.0,
];

/// The labels of a request count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MethodAndCode {
    method: String,
    code: u16,
}

/// The label of a request duration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MethodLabel {
    method: String,
}

/// Counters since the server started.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<MethodAndCode, Counter>,
    durations: Family<MethodLabel, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<MethodAndCode, Counter>::default();
        let durations: Family<MethodLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        let in_flight = Gauge::default();
        let mut registry = Registry::default();
        registry.register(
            "palisade_registry_http_requests",
            "HTTP requests answered, by method and status",
            requests.clone(),
        );
        registry.register_with_unit(
            "palisade_registry_http_request_duration",
            "Time spent answering requests",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "palisade_registry_http_requests_in_flight",
            "Requests being answered now",
            in_flight.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            in_flight,
        }
    }
}

impl Metrics {
    fn record(&self, method: &str, code: u16, seconds: f64) {
        self.requests
            .get_or_create(&MethodAndCode {
                method: method.to_string(),
                code,
            })
            .inc();
        self.durations
            .get_or_create(&MethodLabel {
                method: method.to_string(),
            })
            .observe(seconds);
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
    http_server::metrics::response(&metrics.registry)
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
    metrics.in_flight.inc();
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    metrics.in_flight.dec();
    metrics.record(&method, response.status().as_u16(), elapsed.as_secs_f64());
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
        metrics.record("GET", 200, 0.5);
        metrics.record("GET", 200, 0.25);
        let text = http_server::metrics::text(&metrics.registry).unwrap();
        for line in [
            "# TYPE palisade_registry_http_requests_total counter",
            "# TYPE palisade_registry_http_request_duration_seconds histogram",
            "# TYPE palisade_registry_http_requests_in_flight gauge",
            "palisade_registry_http_request_duration_seconds_bucket{method=\"GET\",le=\"0.5\"} 2",
            "palisade_registry_http_request_duration_seconds_count{method=\"GET\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
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
