//! Registry credentials from the docker config (`config.json`): `auths` entries (user and password, or an
//! identity token), per-registry `credHelpers` and the default `credsStore`, both through the
//! `docker-credential-*` helper programs; and `login` / `logout`, which edit the same file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{ClientError, Result};
use artifact::files;

/// What to present to a registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Nothing: anonymous access.
    Anonymous,
    /// A user name and password (or access token), sent as Basic or exchanged for a Bearer token.
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: String,
    },
    /// An identity token from a `docker login` through an OAuth flow.
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(***)"),
        }
    }
}

/// The docker config file, or none (every registry reached anonymously).
#[derive(Debug, Clone)]
pub struct DockerConfig {
    path: Option<PathBuf>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

impl DockerConfig {
    /// The config in the file `path` (a `config.json`; it need not exist yet).
    pub fn new(path: PathBuf) -> DockerConfig {
        DockerConfig { path: Some(path) }
    }

    /// No config: no credentials for any registry, and nowhere to store any.
    pub fn none() -> DockerConfig {
        DockerConfig { path: None }
    }

    /// The file this config is read from and written to.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn load(&self) -> Result<Map<String, Value>> {
        let Some(path) = self.path.as_deref().filter(|path| path.exists()) else {
            return Ok(Map::new());
        };
        let bytes = files::read(path)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(self.invalid("the top level is not a JSON object".into())),
            Err(err) => Err(self.invalid(err.to_string())),
        }
    }

    fn invalid(&self, reason: String) -> ClientError {
        let file = self
            .path
            .as_deref()
            .unwrap_or(Path::new("(no docker config)"));
        ClientError::CredentialsInvalid(format!("{}: {reason}", file.display()))
    }

    /// The credential for `registry` (`host` or `host:port`).
    pub fn credential(&self, registry: &str) -> Result<Credential> {
        let config = self.load()?;
        if let Some(helper) = config
            .get("credHelpers")
            .and_then(|helpers| helpers.get(registry))
            .and_then(Value::as_str)
        {
            return run_helper(helper, registry);
        }
        let entry = auth_keys(registry)
            .iter()
            .find_map(|key| config.get("auths").and_then(|auths| auths.get(key)));
        if let Some(credential) = entry
            .map(|e| self.parse_entry(registry, e))
            .transpose()?
            .flatten()
        {
            return Ok(credential);
        }
        match config.get("credsStore").and_then(Value::as_str) {
            Some(store) => run_helper(store, registry),
            None => Ok(Credential::Anonymous),
        }
    }

    fn parse_entry(&self, registry: &str, entry: &Value) -> Result<Option<Credential>> {
        if let Some(token) = entry
            .get("identitytoken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            return Ok(Some(Credential::IdentityToken(token.to_string())));
        }
        if let Some(auth) = entry
            .get("auth")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            let decoded = BASE64
                .decode(auth.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    self.invalid(format!(
                        "the `auth` of {registry} is not base64 of `user:password`"
                    ))
                })?;
            let (username, password) = decoded.split_once(':').ok_or_else(|| {
                self.invalid(format!(
                    "the `auth` of {registry} has no `:` between user and password"
                ))
            })?;
            return Ok(Some(Credential::Basic {
                username: username.to_string(),
                password: password.to_string(),
            }));
        }
        let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_string);
        Ok(match (field("username"), field("password")) {
            (Some(username), Some(password)) => Some(Credential::Basic { username, password }),
            _ => None,
        })
    }

    /// Stores a user name and password for `registry`, keeping everything else in the file.
    pub fn login(&self, registry: &str, username: &str, password: &str) -> Result<()> {
        let mut config = self.load()?;
        let auths = config
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(|| self.invalid("`auths` is not an object".into()))?;
        let mut entry = Map::new();
        entry.insert(
            "auth".into(),
            Value::String(BASE64.encode(format!("{username}:{password}"))),
        );
        auths.insert(registry.to_string(), Value::Object(entry));
        self.save(&config)
    }

    /// Forgets the credentials stored in the file for `registry`; says whether there were any.
    pub fn logout(&self, registry: &str) -> Result<bool> {
        let mut config = self.load()?;
        let removed = config
            .get_mut("auths")
            .and_then(Value::as_object_mut)
            .is_some_and(|auths| {
                auth_keys(registry)
                    .iter()
                    .any(|key| auths.remove(key).is_some())
            });
        if removed {
            self.save(&config)?;
        }
        Ok(removed)
    }

    fn save(&self, config: &Map<String, Value>) -> Result<()> {
        let Some(path) = self.path.as_deref() else {
            return Err(self.invalid("there is no file to store credentials in".into()));
        };
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
            files::create_dir_all(folder)?;
        }
        let bytes =
            serde_json::to_vec_pretty(config).map_err(|err| self.invalid(err.to_string()))?;
        Ok(files::write_private(path, &bytes)?)
    }
}

/// The keys docker looks an entry up by: the registry as written, and as a URL.
fn auth_keys(registry: &str) -> Vec<String> {
    let mut keys = vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ];
    if matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    ) {
        keys.push("https://index.docker.io/v1/".into());
    }
    keys
}

/// Asks `docker-credential-NAME get` for the credential of `registry`.
fn run_helper(name: &str, registry: &str) -> Result<Credential> {
    let program = format!("docker-credential-{name}");
    let failed = |reason: String| {
        ClientError::CredentialsInvalid(format!("{program} (for {registry}): {reason}"))
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| {
            failed(format!(
                "cannot run it ({err}); is it installed and on PATH?"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(registry.as_bytes())
            .map_err(|err| failed(format!("cannot write to it: {err}")))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|err| failed(err.to_string()))?;
    if !output.status.success() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        if stdout.contains("credentials not found") {
            return Ok(Credential::Anonymous);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(format!("it failed: {}", stderr.trim())));
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .map_err(|err| failed(format!("unreadable answer: {err}")))?;
    Ok(if answer.username == "<token>" {
        Credential::IdentityToken(answer.secret)
    } else {
        Credential::Basic {
            username: answer.username,
            password: answer.secret,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(json: &str) -> (tempfile::TempDir, DockerConfig) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        (dir, DockerConfig::new(path))
    }

    #[test]
    fn reads_auths_entries() {
        let (_dir, config) = config_with(
            r#"{"auths": {
                "r.example.com": {"auth": "dXNlcjpwYXNzOndvcmQ="},
                "https://t.example.com": {"identitytoken": "tok"},
                "u.example.com": {"username": "u", "password": "p"}
            }}"#,
        );
        assert_eq!(
            config.credential("r.example.com").unwrap(),
            Credential::Basic {
                username: "user".into(),
                password: "pass:word".into()
            }
        );
        assert_eq!(
            config.credential("t.example.com").unwrap(),
            Credential::IdentityToken("tok".into())
        );
        assert!(matches!(
            config.credential("u.example.com").unwrap(),
            Credential::Basic { .. }
        ));
        assert_eq!(
            config.credential("other.example.com").unwrap(),
            Credential::Anonymous
        );
    }

    #[test]
    fn login_and_logout_keep_the_rest_of_the_file() {
        let (_dir, config) =
            config_with(r#"{"auths": {"a.example.com": {"auth": "YTpi"}}, "psFormat": "table"}"#);
        config.login("localhost:5000", "alice", "s3cret").unwrap();
        assert!(
            matches!(config.credential("localhost:5000").unwrap(), Credential::Basic { username, .. } if username == "alice")
        );
        let text = std::fs::read_to_string(config.path().unwrap()).unwrap();
        assert!(
            text.contains("psFormat") && text.contains("a.example.com"),
            "{text}"
        );
        assert!(config.logout("localhost:5000").unwrap());
        assert!(!config.logout("localhost:5000").unwrap());
        assert_eq!(
            config.credential("localhost:5000").unwrap(),
            Credential::Anonymous
        );
    }

    #[test]
    fn a_missing_helper_is_named() {
        let (_dir, config) =
            config_with(r#"{"credHelpers": {"r.example.com": "palisade-test-missing"}}"#);
        let err = config.credential("r.example.com").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-palisade-test-missing") && err.contains("PATH"),
            "{err}"
        );
    }

    #[test]
    fn a_broken_file_is_named() {
        let (_dir, config) = config_with("{not json");
        let err = config.credential("r.example.com").unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
        let (_dir, config) = config_with(r#"{"auths": {"r.example.com": {"auth": "@@@"}}}"#);
        assert!(
            config
                .credential("r.example.com")
                .unwrap_err()
                .to_string()
                .contains("base64")
        );
    }

    #[test]
    fn credentials_do_not_print() {
        let basic = Credential::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{basic:?}").contains("hunter2"));
    }
}
