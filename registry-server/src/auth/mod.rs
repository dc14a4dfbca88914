//! Who may do what: anonymous access, htpasswd (bcrypt) users with per-repository-prefix rules, HTTP Basic and the
//! Docker token flow.
//!
//! Every request names one repository and one [`Action`]. Credentials (Basic or a token from [`token`]) say who
//! the client is; the rules say what that identity may do. A client without credentials gets the anonymous actions
//! and, when it needs more, a `401` with a `Bearer` challenge (for the token flow; Basic credentials are taken
//! too). Only one challenge is sent: some clients join repeated `WWW-Authenticate` headers and misread them.

mod action;
mod htpasswd;
pub mod token;

use std::path::PathBuf;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::errors::{RegistryError, Result};
pub use action::Action;
use htpasswd::Htpasswd;
use token::{TokenConfig, Tokens};

/// Grants `actions` on the repositories under `prefix` to `users` (`*`: any authenticated user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A repository name prefix, matched at `/` boundaries (`team` covers `team` and `team/app`); empty: all.
    #[serde(default)]
    pub prefix: String,
    /// User names, or `*` for any authenticated user.
    pub users: Vec<String>,
    /// What they may do.
    pub actions: Vec<Action>,
}

impl Rule {
    fn covers(&self, repo: &str) -> bool {
        let prefix = self.prefix.trim_end_matches('/');
        prefix.is_empty()
            || repo == prefix
            || repo
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// The `auth` section of the configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// What clients without credentials may do, on every repository.
    pub anonymous: Vec<Action>,
    /// An htpasswd file of bcrypt-hashed users (`htpasswd -B`); no users if absent.
    pub htpasswd: Option<PathBuf>,
    /// What users may do; by default, every authenticated user may do everything.
    pub rules: Vec<Rule>,
    /// The token endpoint's settings.
    pub token: TokenConfig,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            anonymous: vec![Action::Pull],
            htpasswd: None,
            rules: vec![Rule {
                prefix: String::new(),
                users: vec!["*".to_string()],
                actions: Action::ALL.to_vec(),
            }],
            token: TokenConfig::default(),
        }
    }
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Identity {
    /// No credentials.
    Anonymous,
    /// A user who gave a valid password.
    User(String),
    /// A bearer token: its subject and the access it grants.
    Token(token::Claims),
}

/// The access policy and the credentials it checks.
pub struct Auth {
    anonymous: Vec<Action>,
    users: Htpasswd,
    rules: Vec<Rule>,
    tokens: Tokens,
}

impl Auth {
    /// The policy `config` describes, reading its htpasswd and secret files; `https` says how clients reach the
    /// token endpoint.
    pub fn from_config(config: &AuthConfig, https: bool) -> Result<Auth> {
        let users = match &config.htpasswd {
            Some(path) => Htpasswd::read(path)?,
            None => Htpasswd::default(),
        };
        Ok(Auth {
            anonymous: config.anonymous.clone(),
            users,
            rules: config.rules.clone(),
            tokens: Tokens::new(&config.token, https)?,
        })
    }

    /// Everyone may do everything: for tests and trusted networks.
    pub fn open() -> Auth {
        Auth {
            anonymous: Action::ALL.to_vec(),
            users: Htpasswd::default(),
            rules: Vec::new(),
            tokens: Tokens::random(TokenConfig::default(), false),
        }
    }

    /// The identity the `Authorization` header proves; an error for wrong credentials.
    pub async fn identify(&self, headers: &HeaderMap) -> Result<Identity> {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(Identity::Anonymous);
        };
        if let Some(token) = value.strip_prefix("Bearer ") {
            return self
                .tokens
                .verify(token.trim())
                .map(Identity::Token)
                .map_err(|_| self.challenge(headers, None));
        }
        if let Some(encoded) = value.strip_prefix("Basic ") {
            let (user, password) =
                decode_basic(encoded.trim()).ok_or_else(|| self.challenge(headers, None))?;
            if self.users.verify(&user, &password).await {
                return Ok(Identity::User(user));
            }
        }
        Err(self.challenge(headers, None))
    }

    /// Whether `identity` may do `action` on `repo`.
    pub fn allows(&self, identity: &Identity, repo: &str, action: Action) -> bool {
        if self.anonymous.contains(&action) {
            return true;
        }
        match identity {
            Identity::Anonymous => false,
            Identity::User(user) => self.user_allows(user, repo, action),
            Identity::Token(claims) => claims.grants(repo, action),
        }
    }

    fn user_allows(&self, user: &str, repo: &str, action: Action) -> bool {
        self.rules.iter().any(|rule| {
            rule.covers(repo)
                && rule.actions.contains(&action)
                && rule.users.iter().any(|u| u == "*" || u == user)
        })
    }

    /// Checks that `identity` may do `action` on `repo`: `401` with a challenge for anonymous clients and tokens
    /// without the scope (so that they fetch one), `403` for users the rules refuse.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        identity: &Identity,
        repo: &str,
        action: Action,
    ) -> Result<()> {
        match identity {
            _ if self.allows(identity, repo, action) => Ok(()),
            Identity::Anonymous => Err(self.challenge(headers, Some((repo, action)))),
            Identity::Token(_) => Err(self.insufficient_scope(headers, repo, action)),
            Identity::User(_) => Err(RegistryError::Denied(format!(
                "you may not {} {repo}",
                action.name()
            ))),
        }
    }

    /// A `401` telling a token holder its token lacks the scope, so that it asks for a new one.
    fn insufficient_scope(&self, headers: &HeaderMap, repo: &str, action: Action) -> RegistryError {
        let bearer = self.bearer(headers, Some((repo, action)));
        RegistryError::Unauthorized {
            challenge: format!("{bearer},error=\"insufficient_scope\""),
        }
    }

    /// Whether anyone without credentials is refused something: then `GET /v2/` asks for credentials, which is how
    /// `docker login` checks them.
    pub fn requires_login(&self) -> bool {
        self.anonymous.len() < Action::ALL.len()
    }

    /// A `401` whose challenges point at the token endpoint, with the scope the request needed.
    pub fn challenge(&self, headers: &HeaderMap, scope: Option<(&str, Action)>) -> RegistryError {
        RegistryError::Unauthorized {
            challenge: self.bearer(headers, scope),
        }
    }

    /// The `Bearer` challenge: where the token endpoint is, and the scope needed.
    fn bearer(&self, headers: &HeaderMap, scope: Option<(&str, Action)>) -> String {
        let mut bearer = format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            self.tokens.realm(headers),
            self.tokens.service()
        );
        if let Some((repo, action)) = scope {
            let actions = if action == Action::Pull {
                "pull".to_string()
            } else {
                format!("pull,{}", action.name())
            };
            bearer.push_str(&format!(",scope=\"repository:{repo}:{actions}\""));
        }
        bearer
    }

    /// The token endpoint's issuer.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The actions `identity` may do on `repo`, among `wanted`.
    pub fn granted(&self, identity: &Identity, repo: &str, wanted: &[Action]) -> Vec<Action> {
        wanted
            .iter()
            .copied()
            .filter(|a| self.allows(identity, repo, *a))
            .collect()
    }
}

fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(rules: Vec<Rule>) -> Auth {
        Auth {
            anonymous: vec![Action::Pull],
            users: Htpasswd::default(),
            rules,
            tokens: Tokens::random(TokenConfig::default(), false),
        }
    }

    #[test]
    fn rules_match_prefixes_at_slashes() {
        let policy = auth(vec![Rule {
            prefix: "team".into(),
            users: vec!["alice".into()],
            actions: vec![Action::Push],
        }]);
        let alice = Identity::User("alice".into());
        assert!(policy.allows(&alice, "team", Action::Push));
        assert!(policy.allows(&alice, "team/app", Action::Push));
        assert!(!policy.allows(&alice, "teammate", Action::Push));
        assert!(!policy.allows(&alice, "team/app", Action::Delete));
        assert!(!policy.allows(&Identity::User("bob".into()), "team/app", Action::Push));
        assert!(policy.allows(&Identity::Anonymous, "anything", Action::Pull));
        assert!(!policy.allows(&Identity::Anonymous, "team", Action::Push));
    }

    #[test]
    fn refusals_challenge_anonymous_clients_and_deny_known_ones() {
        let policy = auth(Vec::new());
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "registry.example:5000".parse().unwrap());
        let anonymous = policy
            .authorize(&headers, &Identity::Anonymous, "app", Action::Push)
            .unwrap_err();
        let RegistryError::Unauthorized { challenge } = anonymous else {
            panic!("{anonymous}")
        };
        assert_eq!(
            challenge,
            "Bearer realm=\"http://registry.example:5000/token\",service=\"palisade-registry\",scope=\"repository:app:pull,push\""
        );
        let user = Identity::User("bob".into());
        assert!(matches!(
            policy.authorize(&headers, &user, "app", Action::Push),
            Err(RegistryError::Denied(_))
        ));
    }
}
