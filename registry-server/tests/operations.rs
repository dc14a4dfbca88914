//! Operations endpoints: `/healthz`, `/readyz`, `/metrics`, request ids.

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
    let ready = registry.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body),
        (StatusCode::OK, b"ready\n".to_vec()),
        "a folder is always ready (a shared storage's readiness is in tests/faults.rs)"
    );

    let metrics = registry.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("palisade_registry_http_requests_total{method=\"GET\",code=\"200\"} 3"),
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

/// Sends one raw HTTP/1.1 request on a new connection and returns the whole reply.
async fn raw_request(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_an_upload_in_flight() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let root = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = registry_server::Config {
        root: root.path().to_path_buf(),
        auth: registry_server::auth::AuthConfig {
            anonymous: registry_server::auth::Action::ALL.to_vec(),
            ..Default::default()
        },
        ..Default::default()
    };
    let state = registry_server::AppState::from_config(&config).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(registry_server::serve(
        listener,
        state,
        config.upload_ttl(),
        async {
            let _ = stopped.await;
        },
    ));

    let close = "Host: x\r\nConnection: close\r\n";
    let started = raw_request(
        addr,
        &format!("POST /v2/g/blobs/uploads/ HTTP/1.1\r\n{close}Content-Length: 0\r\n\r\n"),
    )
    .await;
    let location = started
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap()
        .to_string();

    let mut upload = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("PATCH {location} HTTP/1.1\r\n{close}Content-Length: 10\r\n\r\n");
    upload.write_all(head.as_bytes()).await.unwrap();
    upload.write_all(b"first").await.unwrap();
    let in_flight = "palisade_registry_http_requests_in_flight 2";
    while !raw_request(addr, &format!("GET /metrics HTTP/1.1\r\n{close}\r\n"))
        .await
        .contains(in_flight)
    {
        tokio::task::yield_now().await;
    }

    stop.send(()).unwrap();
    upload.write_all(b"+last").await.unwrap();
    let mut reply = String::new();
    upload.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
    assert!(reply.to_lowercase().contains("range: 0-9"), "{reply}");
    server.await.unwrap().unwrap();
    let id = location.rsplit('/').next().unwrap();
    assert_eq!(
        std::fs::read(root.path().join("uploads").join(id).join("data")).unwrap(),
        b"first+last"
    );
}

#[tokio::test]
async fn requests_past_the_cap_answer_429() {
    use std::sync::Arc;
    use tower::ServiceExt;

    let root = tempfile::tempdir().unwrap();
    let limits = registry_server::Limits {
        max_manifest_bytes: 1 << 20,
        max_requests_in_flight: Some(1),
    };
    let storage = Arc::new(registry_server::LocalStorage::new(root.path()));
    let router = registry_server::app(registry_server::AppState::new(
        storage,
        limits,
        registry_server::Auth::open(),
    ));
    let send = |method: Method, uri: &str, body: Body| {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .unwrap();
        router.clone().oneshot(request)
    };
    let started = send(Method::POST, "/v2/c/blobs/uploads/", Body::empty())
        .await
        .unwrap();
    let location = started.headers()["location"].to_str().unwrap().to_string();

    let (chunks, receiver) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
    let body = Body::from_stream(tokio_stream_of(receiver));
    let slow = tokio::spawn(send(Method::PATCH, &location, body));
    loop {
        let metrics = send(Method::GET, "/metrics", Body::empty()).await.unwrap();
        let text = axum::body::to_bytes(metrics.into_body(), usize::MAX)
            .await
            .unwrap();
        if String::from_utf8_lossy(&text).contains("in_flight 2") {
            break;
        }
        tokio::task::yield_now().await;
    }
    let busy = send(Method::GET, "/v2/", Body::empty()).await.unwrap();
    assert_eq!(busy.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(busy.headers()["retry-after"], "1");
    let body = axum::body::to_bytes(busy.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("TOOMANYREQUESTS"));
    assert_eq!(
        send(Method::GET, "/healthz", Body::empty())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    chunks
        .send(Ok(bytes::Bytes::from_static(b"data")))
        .await
        .unwrap();
    drop(chunks);
    assert_eq!(slow.await.unwrap().unwrap().status(), StatusCode::ACCEPTED);
    assert_eq!(
        send(Method::GET, "/v2/", Body::empty())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

/// The items of `receiver` as a stream.
fn tokio_stream_of<T: Send + 'static>(
    receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}
