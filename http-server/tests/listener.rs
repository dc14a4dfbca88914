//! The shared listener on a real loopback socket: it serves a router until shutdown, names the address it
//! cannot bind, and names the TLS file (certificate, key, client certificate authority) it cannot use.

use std::io::{Read, Write};

use axum::Router;
use axum::routing::get;
use http_server::{HttpServerError, Listener, TlsConfig};

#[tokio::test(flavor = "multi_thread")]
async fn serves_until_shutdown_then_returns() {
    let listener = Listener::bind("127.0.0.1:0", None).await.unwrap();
    assert_eq!(listener.scheme(), "http");
    let addr = listener.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = Router::new().route("/", get(|| async { "hello\n" }));
    let server = tokio::spawn(http_server::serve(listener, router, async {
        let _ = stopped.await;
    }));
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hello\n"), "{answer}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_address_in_use_is_named() {
    let taken = Listener::bind("127.0.0.1:0", None).await.unwrap();
    let addr = taken.local_addr().to_string();
    let err = Listener::bind(&addr, None).await.err().unwrap();
    assert!(matches!(err, HttpServerError::Serve { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot serve on {addr}: ")),
        "{err}"
    );
}

#[test]
fn unusable_tls_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = TlsConfig {
        cert: dir.path().join("missing.crt"),
        key: dir.path().join("missing.key"),
    };
    let err = missing.acceptor().err().unwrap();
    assert!(matches!(err, HttpServerError::TlsFile { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.crt"), "{err}");

    let empty = dir.path().join("empty.crt");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let err = TlsConfig {
        cert: empty,
        key: dir.path().join("missing.key"),
    }
    .acceptor()
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .ends_with("empty.crt holds no PEM certificate"),
        "{err}"
    );
}

#[test]
fn unusable_client_certificate_authorities_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let tls = TlsConfig {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&tls.cert, server.cert.pem()).unwrap();
    std::fs::write(&tls.key, server.signing_key.serialize_pem()).unwrap();
    let trusted = dir.path().join("ca.pem");
    std::fs::write(&trusted, server.cert.pem()).unwrap();
    assert!(
        tls.acceptor_verifying_clients(std::slice::from_ref(&trusted))
            .is_ok()
    );

    let missing = dir.path().join("missing-ca.pem");
    let err = tls
        .acceptor_verifying_clients(&[trusted.clone(), missing])
        .err()
        .unwrap();
    assert!(matches!(err, HttpServerError::TlsFile { .. }), "{err:?}");
    assert!(err.to_string().contains("missing-ca.pem"), "{err}");
    assert!(err.is_usage());

    let empty = dir.path().join("empty-ca.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let err = tls.acceptor_verifying_clients(&[empty]).err().unwrap();
    assert!(
        err.to_string()
            .ends_with("empty-ca.pem holds no PEM certificate"),
        "{err}"
    );
}
