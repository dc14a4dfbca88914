//! A registry over a temporary folder, driven through `tower::ServiceExt::oneshot` (no socket).

#![allow(dead_code)]

pub mod policies;
pub mod signatures;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use registry_server::storage::{SharedStorage, SharedStorageOptions};
use registry_server::trust::{TrustEntry, TrustMode, TrustPolicy};
use registry_server::{AppState, Auth, Limits, LocalStorage, app};
use sha2::{Digest as _, Sha256, Sha512};
use tower::ServiceExt;

/// One response, fully read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The OCI error code of an error reply.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// A registry on a temporary storage root, or on a given folder.
pub struct Registry {
    pub dir: Root,
    pub storage: Arc<LocalStorage>,
    client: Client,
}

impl std::ops::Deref for Registry {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Requests to a registry, whatever it stores on (cheap to clone, for concurrent requests).
#[derive(Clone)]
pub struct Client {
    pub router: Router,
    /// Where it keeps blobs and upload sessions.
    uploads: StorageArea,
}

/// Where a registry keeps blobs and upload sessions: a folder, or an object store under a prefix.
#[derive(Clone)]
enum StorageArea {
    Folder(std::path::PathBuf),
    Objects(Arc<dyn object_store::ObjectStore>, object_store::path::Path),
}

impl Registry {
    pub fn new() -> Registry {
        Registry::with_root(Root::Temp(tempfile::tempdir().unwrap()))
    }

    /// A registry on a temporary folder whose every repository is under an `audit` trust rule (a signature by a key
    /// of its own): nothing waits, and each verdict is made and shown.
    pub fn audited() -> Registry {
        let mut registry = Registry::new();
        let key = signing::keys::PrivateKey::generate().unwrap();
        let pem: String = key
            .public_key()
            .to_pem()
            .lines()
            .map(|line| format!("      {line}\n"))
            .collect();
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            config.path(),
            format!("apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{pem}"),
        )
        .unwrap();
        let policy = TrustPolicy::load(&[TrustEntry {
            prefix: String::new(),
            mode: TrustMode::Audit,
            verification_config: config.path().to_path_buf(),
            trust_root: None,
        }])
        .unwrap();
        let mut state = AppState::new(registry.storage.clone(), limits(), Auth::open());
        state.trust = Arc::new(policy);
        registry.client.router = app(state);
        registry
    }

    /// A registry storing under `path` (which the caller cleans up).
    pub fn on(path: &std::path::Path) -> Registry {
        Registry::with_root(Root::Given(path.to_path_buf()))
    }

    fn with_root(dir: Root) -> Registry {
        let (storage, router) = router_on(dir.path());
        let uploads = StorageArea::Folder(dir.path().to_path_buf());
        Registry {
            dir,
            storage,
            client: Client { router, uploads },
        }
    }

    /// A client of this folder through another service (a registry configured otherwise).
    pub fn with_router(self, router: Router) -> Client {
        self.client.clone().with_router(router)
    }

    /// A fresh server process on the same folder, as after a restart.
    pub fn restart(&mut self) {
        (self.storage, self.client.router) = router_on(self.dir.path());
    }

    /// Every file under the storage root, relative, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut found = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut found);
        found.sort();
        found
    }
}

impl Client {
    /// The same storage behind another service (a registry configured otherwise).
    pub fn with_router(mut self, router: Router) -> Client {
        self.router = router;
        self
    }

    /// One client that sends its request N to `clients[N % clients.len()]` (its clones share the count), as a
    /// round-robin load balancer in front of replicas does; its storage helpers read the first one's storage.
    pub fn round_robin(clients: &[Client]) -> Client {
        let routers: Vec<Router> = clients.iter().map(|client| client.router.clone()).collect();
        let sent = Arc::new(AtomicUsize::new(0));
        let router =
            Router::new().fallback_service(tower::service_fn(move |request: Request<Body>| {
                let router = routers[sent.fetch_add(1, Ordering::Relaxed) % routers.len()].clone();
                router.oneshot(request)
            }));
        Client {
            router,
            uploads: clients[0].uploads.clone(),
        }
    }

    /// What upload sessions left in the storage: files under `uploads/` or `tmp/`, or objects under `uploads/`.
    pub async fn upload_leftovers(&self) -> Vec<String> {
        self.stored(&["uploads/", "tmp/"], "uploads").await
    }

    /// What an upload's staging left: files under `tmp/`, or assembled objects under `uploads/`.
    pub async fn staging_leftovers(&self) -> Vec<String> {
        let mut found = self.stored(&["tmp/"], "uploads").await;
        if let StorageArea::Objects(..) = &self.uploads {
            found.retain(|key| key.ends_with("/assembled"));
        }
        found
    }

    /// The blobs in the storage: files under `blobs/`, repositories' blob links and staging files, or objects under
    /// `blobs/`.
    pub async fn stored_blobs(&self) -> Vec<String> {
        let mut found = self.stored(&["blobs/", "tmp/"], "blobs").await;
        if let StorageArea::Folder(root) = &self.uploads {
            let mut links = Vec::new();
            walk(root, root, &mut links);
            found.extend(links.into_iter().filter(|f| f.contains("/_blobs/")));
        }
        found
    }

    /// The files of a folder under `folders`, or the objects under `prefix/objects`.
    async fn stored(&self, folders: &[&str], objects_under: &str) -> Vec<String> {
        match &self.uploads {
            StorageArea::Folder(root) => {
                let mut found = Vec::new();
                walk(root, root, &mut found);
                found.retain(|f| folders.iter().any(|folder| f.starts_with(folder)));
                found
            }
            StorageArea::Objects(objects, prefix) => {
                use futures_util::TryStreamExt;
                objects
                    .list(Some(&prefix.clone().join(objects_under)))
                    .map_ok(|meta| meta.location.to_string())
                    .try_collect()
                    .await
                    .unwrap()
            }
        }
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, &[], Body::empty()).await
    }

    /// Pushes a blob in one `POST ?digest=`; returns its digest.
    pub async fn push_blob(&self, repo: &str, content: &[u8]) -> String {
        let digest = sha256(content);
        let reply = self
            .send(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
                &[],
                Body::from(content.to_vec()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        digest
    }

    /// Pushes an image manifest with one config and the given layers under `reference`; returns (digest, bytes).
    pub async fn push_image(
        &self,
        repo: &str,
        reference: &str,
        layers: &[&[u8]],
    ) -> (String, Vec<u8>) {
        let config = self.push_blob(repo, b"{}").await;
        let mut descriptors = Vec::new();
        for layer in layers {
            let digest = self.push_blob(repo, layer).await;
            descriptors.push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": layer.len()
            }));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2 },
            "layers": descriptors,
        });
        self.put_manifest(repo, reference, OCI_MANIFEST, &manifest)
            .await
    }

    /// Starts an upload in `repo` and sends `content[start..end]` for each range as a PATCH, checking each answer;
    /// returns the location to continue at.
    pub async fn patch_chunks(
        &self,
        repo: &str,
        content: &[u8],
        ranges: &[(usize, usize)],
    ) -> String {
        let mut location = self
            .send(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[],
                Body::empty(),
            )
            .await
            .header("location")
            .to_string();
        for &(start, end) in ranges {
            let range = format!("{start}-{}", end - 1);
            let reply = self
                .send(
                    Method::PATCH,
                    &location,
                    &[
                        ("content-range", &range),
                        ("content-length", &(end - start).to_string()),
                    ],
                    Body::from(content[start..end].to_vec()),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::ACCEPTED,
                "{}",
                String::from_utf8_lossy(&reply.body)
            );
            assert_eq!(reply.header("range"), format!("0-{}", end - 1));
            location = reply.header("location").to_string();
        }
        location
    }

    /// Finishes the upload at `location` with `content[start..]` as the last chunk, expecting `201 Created`.
    pub async fn put_last_chunk(&self, location: &str, digest: &str, content: &[u8], start: usize) {
        let range = format!("{start}-{}", content.len() - 1);
        let put = self
            .send(
                Method::PUT,
                &format!("{location}?digest={digest}"),
                &[("content-range", &range)],
                Body::from(content[start..].to_vec()),
            )
            .await;
        assert_eq!(
            put.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&put.body)
        );
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        manifest: &serde_json::Value,
    ) -> (String, Vec<u8>) {
        let bytes = serde_json::to_vec(manifest).unwrap();
        let reply = self
            .send(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{reference}"),
                &[("content-type", media_type)],
                Body::from(bytes.clone()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        (sha256(&bytes), bytes)
    }
}

/// Where a test registry stores.
pub enum Root {
    Temp(tempfile::TempDir),
    Given(std::path::PathBuf),
}

impl Root {
    pub fn path(&self) -> &std::path::Path {
        match self {
            Root::Temp(dir) => dir.path(),
            Root::Given(path) => path,
        }
    }
}

fn walk(root: &std::path::Path, dir: &std::path::Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, found);
        } else {
            found.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

fn router_on(root: &std::path::Path) -> (Arc<LocalStorage>, Router) {
    let storage = Arc::new(LocalStorage::new(root));
    let router = app(AppState::new(storage.clone(), limits(), Auth::open()));
    (storage, router)
}

fn limits() -> Limits {
    Limits {
        max_manifest_bytes: 4 * 1024 * 1024,
        max_requests_in_flight: None,
    }
}

// The servers are test-support's; test-support depends on this crate, so their files are included rather than
// depended on.
#[path = "../../../test-support/src/garage.rs"]
mod garage;
#[path = "../../../test-support/src/ports.rs"]
mod ports;
#[path = "../../../test-support/src/postgres.rs"]
mod postgres;

/// A real S3-compatible store (Garage) and a real PostgreSQL, for registries on [`SharedStorage`]. Each registry
/// gets a database and an object prefix of its own.
pub struct SharedServers {
    pub garage: garage::Garage,
    pub postgres: postgres::Postgres,
}

impl SharedServers {
    pub fn start() -> SharedServers {
        SharedServers {
            garage: garage::Garage::start("registry"),
            postgres: postgres::Postgres::start(),
        }
    }

    /// The storage options of a registry named `name`: its prefix, and its database, which must exist.
    fn options(&self, name: &str) -> SharedStorageOptions {
        SharedStorageOptions {
            objects: format!("s3://{}/{name}", self.garage.bucket),
            object_options: vec![
                ("aws_endpoint".into(), self.garage.endpoint()),
                ("aws_region".into(), self.garage.region.clone()),
                ("aws_access_key_id".into(), self.garage.key_id.clone()),
                ("aws_secret_access_key".into(), self.garage.secret.clone()),
                ("aws_allow_http".into(), "true".into()),
            ],
            database: format!(
                "postgres://postgres@127.0.0.1:{}/{name}",
                self.postgres.port
            ),
            max_connections: 8,
            redirect: false,
        }
    }

    /// A fresh registry named `name` that answers blob downloads with presigned URLs of the bucket.
    pub async fn redirecting(&self, name: &str) -> Client {
        self.postgres.database(name);
        let options = SharedStorageOptions {
            redirect: true,
            ..self.options(name)
        };
        let storage = SharedStorage::connect(&options)
            .await
            .unwrap_or_else(|err| panic!("connecting the shared storage of {name}: {err}"));
        let url = url::Url::parse(&options.objects).unwrap();
        let (objects, prefix) = object_store::parse_url_opts(&url, options.object_options).unwrap();
        Client {
            router: app(AppState::new(Arc::new(storage), limits(), Auth::open())),
            uploads: StorageArea::Objects(Arc::from(objects), prefix),
        }
    }

    /// A fresh registry named `name`.
    pub async fn registry(&self, name: &str) -> Client {
        self.replicas(name, 1).await.remove(0).1
    }

    /// `count` replicas of a fresh registry named `name`: each its own storage (connection pool) and service.
    pub async fn replicas(&self, name: &str, count: usize) -> Vec<(Arc<SharedStorage>, Client)> {
        self.postgres.database(name);
        self.replicas_of(name, count).await
    }

    /// Two replicas of a fresh registry named `name` behind one client whose consecutive requests alternate
    /// between them.
    pub async fn alternating(&self, name: &str) -> Client {
        let replicas: Vec<Client> = self
            .replicas(name, 2)
            .await
            .into_iter()
            .map(|(_, client)| client)
            .collect();
        Client::round_robin(&replicas)
    }

    /// `count` more replicas of the registry named `name`, made earlier with [`SharedServers::replicas`].
    pub async fn replicas_of(&self, name: &str, count: usize) -> Vec<(Arc<SharedStorage>, Client)> {
        let options = self.options(name);
        let mut replicas = Vec::new();
        for _ in 0..count {
            let storage = Arc::new(
                SharedStorage::connect(&options)
                    .await
                    .unwrap_or_else(|err| panic!("connecting the shared storage of {name}: {err}")),
            );
            let url = url::Url::parse(&options.objects).unwrap();
            let (objects, prefix) =
                object_store::parse_url_opts(&url, options.object_options.clone()).unwrap();
            let client = Client {
                router: app(AppState::new(storage.clone(), limits(), Auth::open())),
                uploads: StorageArea::Objects(Arc::from(objects), prefix),
            };
            replicas.push((storage, client));
        }
        replicas
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub fn sha256(content: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(content)))
}

pub fn sha512(content: &[u8]) -> String {
    format!("sha512:{}", hex::encode(Sha512::digest(content)))
}

/// Each case (an `async fn(&Client)`) as a test on a local folder, and on one whose every repository is under an
/// `audit` trust rule (nothing may change for clients); all of them on one pair of shared-storage
/// servers (each case with a database and an object prefix of its own); and all of them again on two replicas of
/// shared storage, the client's consecutive requests alternating between them.
#[allow(unused_macros)]
macro_rules! on_both_storages {
    ($($case:ident),* $(,)?) => {
        mod on_a_local_folder {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(&Registry::new()).await
                }
            )*
        }

        mod on_a_folder_under_an_audit_trust_rule {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(&Registry::audited()).await
                }
            )*
        }

        #[tokio::test]
        async fn every_case_on_shared_storage() {
            let servers = SharedServers::start();
            $(
                $case(&servers.registry(stringify!($case)).await).await;
            )*
        }

        #[tokio::test]
        async fn every_case_on_two_replicas() {
            let servers = SharedServers::start();
            $(
                $case(&servers.alternating(stringify!($case)).await).await;
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_storages;
