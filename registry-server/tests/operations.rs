//! Operations endpoints: `/healthz`, `/metrics`, request ids.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::Registry;

#[tokio::test]
async fn healthz_metrics_and_request_ids() {
    let registry = Registry::new();
    let health = registry.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, b"ok\n");
    assert_eq!(
        health.header("x-request-id").len(),
        32,
        "an id is generated"
    );

    let echoed = registry
        .send(
            Method::GET,
            "/v2/",
            &[("x-request-id", "abc-123")],
            Body::empty(),
        )
        .await;
    assert_eq!(echoed.header("x-request-id"), "abc-123");
    registry.get("/v2/missing/manifests/latest").await;

    let metrics = registry.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("palisade_registry_http_requests_total{method=\"GET\",code=\"200\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("palisade_registry_http_requests_total{method=\"GET\",code=\"404\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("palisade_registry_http_requests_in_flight 1"),
        "the metrics request itself: {text}"
    );
}
