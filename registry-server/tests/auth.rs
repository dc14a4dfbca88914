//! Access control: anonymous read-only by default, htpasswd users with prefix rules, Basic and Bearer tokens.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use registry_server::auth::{Action, Auth, AuthConfig, Rule};
use registry_server::{AppState, Limits, LocalStorage, app};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    challenge: String,
    body: serde_json::Value,
}

struct Secured {
    _dir: tempfile::TempDir,
    router: Router,
}

impl Secured {
    fn new() -> Secured {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        let alice = bcrypt::hash("alice-pw", 4).unwrap();
        let bob = bcrypt::hash("bob-pw", 4).unwrap();
        std::fs::write(&htpasswd, format!("alice:{alice}\nbob:{bob}\n")).unwrap();
        let config = AuthConfig {
            htpasswd: Some(htpasswd),
            rules: vec![
                Rule {
                    prefix: "team".into(),
                    users: vec!["alice".into()],
                    actions: Action::ALL.to_vec(),
                },
                Rule {
                    prefix: "".into(),
                    users: vec!["*".into()],
                    actions: vec![Action::Pull],
                },
            ],
            ..Default::default()
        };
        let storage = Arc::new(LocalStorage::new(dir.path().join("root")));
        let limits = Limits {
            max_manifest_bytes: 1 << 20,
            max_requests_in_flight: None,
        };
        let router = app(AppState::new(
            storage,
            limits,
            Auth::from_config(&config, false).unwrap(),
        ));
        Secured { _dir: dir, router }
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        authorization: Option<String>,
        body: &'static [u8],
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "registry.test");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        // One challenge only: clients such as the oras Python SDK join repeated headers and then read the
        // last `realm`, which a second (Basic) challenge would turn into a bogus token endpoint.
        assert!(
            response
                .headers()
                .get_all("www-authenticate")
                .iter()
                .count()
                <= 1,
            "one WWW-Authenticate challenge at most"
        );
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Reply {
            status,
            challenge,
            body,
        }
    }

    async fn push(&self, repo: &str, authorization: Option<String>) -> Reply {
        let digest = common::sha256(b"blob");
        self.send(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
            authorization,
            b"blob",
        )
        .await
    }
}

fn basic(user: &str, password: &str) -> Option<String> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Some(format!("Basic {encoded}"))
}

#[tokio::test]
async fn anonymous_clients_read_and_are_challenged_for_more() {
    let registry = Secured::new();
    assert_eq!(
        registry
            .send(Method::GET, "/v2/team/app/tags/list", None, b"")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let refused = registry.push("team/app", None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(
        refused.challenge,
        "Bearer realm=\"http://registry.test/token\",service=\"palisade-registry\",scope=\"repository:team/app:pull,push\""
    );
    let base = registry.send(Method::GET, "/v2/", None, b"").await;
    assert_eq!(
        base.status,
        StatusCode::UNAUTHORIZED,
        "docker login checks credentials here"
    );
    assert_eq!(
        registry
            .send(Method::GET, "/v2/", basic("alice", "alice-pw"), b"")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn basic_credentials_and_prefix_rules() {
    let registry = Secured::new();
    assert_eq!(
        registry
            .push("team/app", basic("alice", "alice-pw"))
            .await
            .status,
        StatusCode::CREATED
    );
    let wrong = registry.push("team/app", basic("alice", "nope")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let outside = registry.push("elsewhere", basic("alice", "alice-pw")).await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    assert_eq!(outside.body["errors"][0]["code"], "DENIED");
    let bob = registry.push("team/app", basic("bob", "bob-pw")).await;
    assert_eq!(bob.status, StatusCode::FORBIDDEN);
    let digest = common::sha256(b"blob");
    let delete = format!("/v2/team/app/blobs/{digest}");
    assert_eq!(
        registry
            .send(Method::DELETE, &delete, basic("bob", "bob-pw"), b"")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        registry
            .send(Method::DELETE, &delete, None, b"")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        registry
            .send(Method::DELETE, &delete, basic("alice", "alice-pw"), b"")
            .await
            .status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn token_flow_grants_what_the_user_may_do() {
    let registry = Secured::new();
    let scope = "/token?service=palisade-registry&scope=repository:team/app:pull,push&scope=repository:other:push";
    let issued = registry
        .send(Method::GET, scope, basic("alice", "alice-pw"), b"")
        .await;
    assert_eq!(issued.status, StatusCode::OK);
    assert_eq!(issued.body["expires_in"], 300);
    let token = issued.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        registry
            .push("team/app", Some(format!("Bearer {token}")))
            .await
            .status,
        StatusCode::CREATED
    );
    let outside = registry
        .push("other", Some(format!("Bearer {token}")))
        .await;
    assert_eq!(
        outside.status,
        StatusCode::UNAUTHORIZED,
        "a token without the scope is sent for another"
    );
    assert!(
        outside.challenge.ends_with(",error=\"insufficient_scope\""),
        "{}",
        outside.challenge
    );

    let anonymous = registry.send(Method::GET, scope, None, b"").await;
    let token = anonymous.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        registry
            .push("team/app", Some(format!("Bearer {token}")))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let read = registry
        .send(
            Method::GET,
            "/v2/team/app/tags/list",
            Some(format!("Bearer {token}")),
            b"",
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "anonymous tokens still read");

    let forged = registry
        .push("team/app", Some("Bearer not.a.token".into()))
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let wrong = registry
        .send(Method::GET, scope, basic("alice", "wrong"), b"")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}
