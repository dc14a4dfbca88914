//! Short-lived signed tokens for the Docker token flow: a client refused with a `Bearer` challenge asks the token
//! endpoint (with Basic credentials, or none) for the scopes it needs, and sends the token with each request.
//!
//! Tokens are HS256 JWTs in the Docker registry token format (`access: [{type, name, actions}]`), signed with a
//! secret from a file (so that tokens survive a restart and work across replicas) or a random one per process.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::action::Action;
use crate::errors::{RegistryError, Result};

/// The `auth.token` section of the configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    /// The token endpoint's URL as clients must reach it; by default `http://<Host header>/token`.
    pub realm: Option<String>,
    /// The service name in challenges and tokens.
    pub service: String,
    /// Seconds a token is valid.
    pub ttl_secs: u64,
    /// A file holding the signing secret (at least 32 bytes); a random secret per process if absent.
    pub secret_file: Option<PathBuf>,
}

impl Default for TokenConfig {
    fn default() -> TokenConfig {
        TokenConfig {
            realm: None,
            service: "palisade-registry".to_string(),
            ttl_secs: 300,
            secret_file: None,
        }
    }
}

/// One grant of a token: actions on a repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Access {
    /// Always `repository` here.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository name.
    pub name: String,
    /// The granted actions (`pull`, `push`, `delete`).
    pub actions: Vec<String>,
}

/// The claims of a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token was issued to (empty for anonymous).
    pub sub: String,
    /// The service it is valid for.
    pub aud: String,
    /// Who issued it.
    pub iss: String,
    /// Expiry, in seconds since the epoch.
    pub exp: u64,
    /// Issue time, in seconds since the epoch.
    pub iat: u64,
    /// What it grants.
    pub access: Vec<Access>,
}

impl Claims {
    /// Whether the token grants `action` on `repo`.
    pub fn grants(&self, repo: &str, action: Action) -> bool {
        self.access.iter().any(|a| {
            a.kind == "repository" && a.name == repo && a.actions.iter().any(|x| x == action.name())
        })
    }
}

/// Issues and checks tokens.
pub struct Tokens {
    config: TokenConfig,
    scheme: &'static str,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The `iss` of tokens this registry issues.
const ISSUER: &str = "palisade-registry";

impl Tokens {
    /// Tokens signed with the configured secret file, or a random secret; `https` for a registry serving TLS.
    pub fn new(config: &TokenConfig, https: bool) -> Result<Tokens> {
        let Some(path) = &config.secret_file else {
            return Ok(Tokens::random(config.clone(), https));
        };
        let secret = std::fs::read(path).map_err(|e| {
            RegistryError::Config(format!("cannot read token secret {}: {e}", path.display()))
        })?;
        if secret.trim_ascii().len() < 32 {
            return Err(RegistryError::Config(format!(
                "token secret {} is shorter than 32 bytes: write at least 32 random bytes to it",
                path.display()
            )));
        }
        Ok(Tokens::with_secret(
            config.clone(),
            https,
            secret.trim_ascii(),
        ))
    }

    /// Tokens signed with a random secret, valid until this process stops.
    pub fn random(config: TokenConfig, https: bool) -> Tokens {
        let secret: Vec<u8> = (0..2)
            .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
            .collect();
        Tokens::with_secret(config, https, &secret)
    }

    fn with_secret(config: TokenConfig, https: bool, secret: &[u8]) -> Tokens {
        Tokens {
            config,
            scheme: if https { "https" } else { "http" },
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.config.service
    }

    /// The token endpoint's URL for a client that sent `headers`.
    pub fn realm(&self, headers: &HeaderMap) -> String {
        if let Some(realm) = &self.config.realm {
            return realm.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(self.scheme);
        format!("{scheme}://{host}/token")
    }

    /// A signed token for `subject` with `access`; returns it with its lifetime in seconds.
    pub fn issue(&self, subject: &str, access: Vec<Access>) -> Result<(String, u64)> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            sub: subject.to_string(),
            aud: self.config.service.clone(),
            iss: ISSUER.to_string(),
            exp: now + self.config.ttl_secs,
            iat: now,
            access,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| RegistryError::Config(format!("cannot sign a token: {e}")))?;
        Ok((token, self.config.ttl_secs))
    }

    /// The claims of a token this registry issued, if it is valid, unexpired and for this service.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[&self.config.service]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| RegistryError::Denied(format!("invalid token: {e}")))
    }
}

/// Parses a `repository:<name>:<actions>` scope into the name and the actions this registry knows.
pub fn parse_scope(scope: &str) -> Option<(String, Vec<Action>)> {
    let rest = scope.strip_prefix("repository:")?;
    let (name, actions) = rest.rsplit_once(':')?;
    let actions = actions
        .split(',')
        .flat_map(|a| {
            if a == "*" {
                Action::ALL.to_vec()
            } else {
                Action::from_name(a).into_iter().collect()
            }
        })
        .collect();
    Some((name.to_string(), actions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_grant_their_access() {
        let tokens = Tokens::random(TokenConfig::default(), false);
        let access = vec![Access {
            kind: "repository".into(),
            name: "app".into(),
            actions: vec!["pull".into()],
        }];
        let (token, ttl) = tokens.issue("alice", access).unwrap();
        assert_eq!(ttl, 300);
        let claims = tokens.verify(&token).unwrap();
        assert!(claims.grants("app", Action::Pull));
        assert!(!claims.grants("app", Action::Push));
        assert!(!claims.grants("other", Action::Pull));
        let stranger = Tokens::random(TokenConfig::default(), false);
        assert!(
            stranger.verify(&token).is_err(),
            "another secret does not verify it"
        );
    }

    #[test]
    fn expired_tokens_are_refused() {
        let tokens = Tokens::random(TokenConfig::default(), false);
        let claims = Claims {
            sub: "alice".into(),
            aud: tokens.service().into(),
            iss: ISSUER.into(),
            exp: 1,
            iat: 0,
            access: Vec::new(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding)
            .unwrap();
        assert!(
            tokens
                .verify(&token)
                .unwrap_err()
                .to_string()
                .contains("xpired")
        );
    }

    #[test]
    fn scopes() {
        assert_eq!(
            parse_scope("repository:team/app:pull,push"),
            Some(("team/app".to_string(), vec![Action::Pull, Action::Push]))
        );
        assert_eq!(
            parse_scope("repository:app:*").unwrap().1,
            Action::ALL.to_vec()
        );
        assert_eq!(parse_scope("registry:catalog:*"), None);
    }
}
