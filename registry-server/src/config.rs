//! The registry's configuration: a YAML file, then `PALISADE_REGISTRY_*` environment variables, then flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_server::TlsConfig;
use serde::Deserialize;

use crate::auth::AuthConfig;
use crate::errors::{RegistryError, Result};
use crate::storage::{SharedStorageOptions, StorageKind};
use crate::trust::TrustEntry;

/// Everything `palisade serve` can be told.
///
/// ```yaml
/// root: /var/lib/palisade/registry   # where blobs, manifests and uploads live (one server)
/// storage: s3://policies/registry    # or: blobs in an object store, shared by replicas…
/// database: postgres://palisade@db/registry   # …with everything else in PostgreSQL (both or neither)
/// database_max_connections: 16       # per replica
/// redirect: false                    # true: blob downloads get a presigned URL of the bucket (307), not the bytes
/// addr: 0.0.0.0:5000                 # where to listen
/// upload_ttl_secs: 86400             # abandoned uploads are removed after this long
/// max_manifest_bytes: 4194304        # larger manifests are refused (413)
/// max_blob_bytes: 10737418240        # larger blobs are refused (413); unlimited if absent
/// max_requests_in_flight: 512        # more answer 429 TOOMANYREQUESTS; unlimited if absent
/// tls: { cert: /etc/palisade/tls.crt, key: /etc/palisade/tls.key }   # serve HTTPS
/// hub: true                          # serve the web hub at /hub (browse and search the policies)
/// trust:                             # tags published only once a trusted signer vouched for them (see `trust`)
///   - { prefix: trusted/, mode: enforce, verification_config: /etc/palisade/verification-config.yml }
/// auth:
///   anonymous: [pull]                # what clients without credentials may do
///   htpasswd: /etc/palisade/htpasswd # users, bcrypt (`htpasswd -B`)
///   rules:                           # what users may do (default: everything, for any user)
///     - { prefix: team-a, users: [alice], actions: [pull, push, delete] }
///     - { prefix: "", users: ["*"], actions: [pull] }
///   token: { service: palisade-registry, ttl_secs: 300, secret_file: /etc/palisade/token-secret }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The storage folder (when neither `storage` nor `database` is set).
    pub root: PathBuf,
    /// The object store of a shared registry, `s3://BUCKET/PREFIX`; needs `database`.
    pub storage: Option<String>,
    /// The PostgreSQL URL of a shared registry; needs `storage`.
    pub database: Option<String>,
    /// Connections to PostgreSQL each replica may hold.
    pub database_max_connections: u32,
    /// Answer blob downloads from a shared registry with a presigned URL of its S3 bucket (`307`).
    pub redirect: bool,
    /// The object store's settings (endpoint, region, credentials), from the `AWS_*` environment variables only:
    /// never in a file.
    #[serde(skip)]
    pub object_store_options: Vec<(String, String)>,
    /// The address to listen on, `HOST:PORT`.
    pub addr: String,
    /// Seconds after which an untouched upload session is removed.
    pub upload_ttl_secs: u64,
    /// The largest manifest accepted, in bytes.
    pub max_manifest_bytes: usize,
    /// The largest blob accepted, in bytes; unlimited if `None`.
    pub max_blob_bytes: Option<u64>,
    /// Requests answered at once; more answer `429 TOOMANYREQUESTS`. Unlimited if `None`.
    pub max_requests_in_flight: Option<usize>,
    /// Who may do what; anonymous pull only by default.
    pub auth: AuthConfig,
    /// Serve HTTPS with this certificate and key; plain HTTP if absent.
    pub tls: Option<TlsConfig>,
    /// Serve the web hub (`/hub`: browse and search the policies) beside the registry API.
    pub hub: bool,
    /// Trust policies by repository prefix: in `enforce` mode a tag appears only once a signature satisfies the
    /// prefix's verification config; in `audit` mode each result is reported.
    pub trust: Vec<TrustEntry>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            root: PathBuf::from("registry-data"),
            storage: None,
            database: None,
            database_max_connections: 16,
            redirect: false,
            object_store_options: Vec::new(),
            addr: "127.0.0.1:5000".to_string(),
            upload_ttl_secs: 24 * 60 * 60,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_blob_bytes: None,
            max_requests_in_flight: None,
            auth: AuthConfig::default(),
            tls: None,
            hub: true,
            trust: Vec::new(),
        }
    }
}

/// The environment variables that override the file, in the order of the fields they set.
pub const ENV_VARS: [&str; 10] = [
    "PALISADE_REGISTRY_ROOT",
    "PALISADE_REGISTRY_STORAGE",
    "PALISADE_REGISTRY_DATABASE",
    "PALISADE_REGISTRY_ADDR",
    "PALISADE_REGISTRY_UPLOAD_TTL_SECS",
    "PALISADE_REGISTRY_MAX_MANIFEST_BYTES",
    "PALISADE_REGISTRY_MAX_BLOB_BYTES",
    "PALISADE_REGISTRY_MAX_REQUESTS_IN_FLIGHT",
    "PALISADE_REGISTRY_TLS_CERT",
    "PALISADE_REGISTRY_TLS_KEY",
];

impl Config {
    /// The configuration in `file` (the defaults if `None`) with the `PALISADE_REGISTRY_*` overrides `lookup`
    /// finds (the CLI passes the process environment).
    pub fn load(file: Option<&Path>, lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut config = match file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env(lookup)?;
        Ok(config)
    }

    /// Reads a YAML configuration file; fields it leaves out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RegistryError::Config(format!("cannot read {}: {e}", path.display())))?;
        Config::from_yaml(&text)
            .map_err(|e| RegistryError::Config(format!("{}: {e}", path.display())))
    }

    /// Parses a YAML configuration.
    pub fn from_yaml(text: &str) -> Result<Config> {
        serde_norway::from_str(text).map_err(|e| RegistryError::Config(e.to_string()))
    }

    /// Applies the `PALISADE_REGISTRY_*` overrides that `lookup` finds (pass `|k| std::env::var(k).ok()`).
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<()> {
        let [
            root,
            storage,
            database,
            addr,
            ttl,
            manifest,
            blob,
            in_flight,
            cert,
            key,
        ] = ENV_VARS;
        if let Some(value) = lookup(root) {
            self.root = PathBuf::from(value);
        }
        if let Some(value) = lookup(storage) {
            self.storage = Some(value);
        }
        if let Some(value) = lookup(database) {
            self.database = Some(value);
        }
        for name in OBJECT_STORE_ENV_VARS {
            if let Some(value) = lookup(name) {
                self.object_store_options
                    .push((name.to_ascii_lowercase(), value));
            }
        }
        if let Some(value) = lookup(addr) {
            self.addr = value;
        }
        if let Some(value) = lookup(ttl) {
            self.upload_ttl_secs = number(ttl, &value)?;
        }
        if let Some(value) = lookup(manifest) {
            self.max_manifest_bytes = number(manifest, &value)?;
        }
        if let Some(value) = lookup(blob) {
            self.max_blob_bytes = Some(number(blob, &value)?);
        }
        if let Some(value) = lookup(in_flight) {
            self.max_requests_in_flight = Some(number(in_flight, &value)?);
        }
        match (lookup(cert), lookup(key)) {
            (Some(cert), Some(key)) => {
                self.tls = Some(TlsConfig {
                    cert: cert.into(),
                    key: key.into(),
                })
            }
            (None, None) => {}
            _ => {
                return Err(RegistryError::Config(format!(
                    "set both {cert} and {key}, or neither"
                )));
            }
        }
        Ok(())
    }

    /// Where content lives: a folder, or an object store and a database shared by replicas.
    pub fn storage_kind(&self) -> Result<StorageKind> {
        match (&self.storage, &self.database) {
            (None, None) if self.redirect => Err(RegistryError::Config(
                "redirect: true needs a shared registry (storage: s3://… and database): a folder has no URL to send \
                 clients to"
                    .into(),
            )),
            (None, None) => Ok(StorageKind::Folder(self.root.clone())),
            (Some(storage), Some(database)) => Ok(StorageKind::Shared(SharedStorageOptions {
                objects: storage.clone(),
                object_options: self.object_store_options.clone(),
                database: database.clone(),
                max_connections: self.database_max_connections,
                redirect: self.redirect,
            })),
            (Some(_), None) => Err(RegistryError::Config(
                "storage (an object store) needs database (a PostgreSQL URL) too: replicas share both".into(),
            )),
            (None, Some(_)) => Err(RegistryError::Config(
                "database (PostgreSQL) needs storage (an object store, s3://BUCKET/PREFIX) too: replicas share both"
                    .into(),
            )),
        }
    }

    /// How long an untouched upload session is kept.
    pub fn upload_ttl(&self) -> Duration {
        Duration::from_secs(self.upload_ttl_secs)
    }
}

/// The environment variables that configure the object store (read as `object_store` reads them: the name in lower
/// case). AWS's own names, so that AWS, Garage, Ceph and MinIO need nothing of ours.
pub const OBJECT_STORE_ENV_VARS: [&str; 12] = [
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ALLOW_HTTP",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| {
        RegistryError::Config(format!("{name}={value:?} is not a non-negative integer"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let mut config = Config::from_yaml("root: /data\nmax_blob_bytes: 10\n").unwrap();
        assert_eq!(config.root, PathBuf::from("/data"));
        assert_eq!(config.addr, Config::default().addr);
        config
            .apply_env(|key| (key == "PALISADE_REGISTRY_ADDR").then(|| "0.0.0.0:80".to_string()))
            .unwrap();
        assert_eq!(config.addr, "0.0.0.0:80");
        assert_eq!(config.max_blob_bytes, Some(10));
    }

    #[test]
    fn shared_storage_needs_both_stores_and_takes_aws_settings_from_the_environment() {
        let mut config = Config::from_yaml("storage: s3://b/p\n").unwrap();
        let alone = config.storage_kind().unwrap_err().to_string();
        assert!(alone.contains("needs database"), "{alone}");
        config
            .apply_env(|key| match key {
                "PALISADE_REGISTRY_DATABASE" => Some("postgres://db/r".into()),
                "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:3900".into()),
                _ => None,
            })
            .unwrap();
        let StorageKind::Shared(options) = config.storage_kind().unwrap() else {
            panic!("a folder");
        };
        assert_eq!(options.database, "postgres://db/r");
        assert_eq!(
            options.object_options,
            [(
                "aws_endpoint_url".to_string(),
                "http://127.0.0.1:3900".to_string()
            )]
        );
        assert!(Config::from_yaml("aws_secret_access_key: x\n").is_err());
        let folder = Config::from_yaml("redirect: true\n").unwrap();
        let refused = folder.storage_kind().unwrap_err().to_string();
        assert!(
            refused.contains("redirect: true needs a shared registry"),
            "{refused}"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let unknown = Config::from_yaml("rooot: /x\n").unwrap_err().to_string();
        assert!(unknown.contains("rooot"), "{unknown}");
        let mut config = Config::default();
        let bad = config
            .apply_env(|key| {
                (key == "PALISADE_REGISTRY_UPLOAD_TTL_SECS").then(|| "soon".to_string())
            })
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("PALISADE_REGISTRY_UPLOAD_TTL_SECS=\"soon\""),
            "{bad}"
        );
    }
}
