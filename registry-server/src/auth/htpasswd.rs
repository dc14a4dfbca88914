//! htpasswd files with bcrypt hashes (`htpasswd -B`), as Distribution reads them.
//!
//! Checking a bcrypt hash takes tens of milliseconds by design, so a successful check is remembered (as a SHA-256 of
//! the password, never the password) and the check runs off the request threads.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

use crate::errors::{RegistryError, Result};

/// Users and their bcrypt hashes.
#[derive(Default)]
pub struct Htpasswd {
    hashes: HashMap<String, String>,
    verified: Mutex<HashSet<(String, [u8; 32])>>,
}

impl Htpasswd {
    /// Reads `user:hash` lines; blank lines and `#` comments are skipped, other hash formats refused.
    pub fn read(path: &Path) -> Result<Htpasswd> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            RegistryError::Config(format!("cannot read htpasswd file {}: {e}", path.display()))
        })?;
        Htpasswd::parse(&text)
            .map_err(|reason| RegistryError::Config(format!("{}: {reason}", path.display())))
    }

    fn parse(text: &str) -> std::result::Result<Htpasswd, String> {
        let mut hashes = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: expected `user:hash`", number + 1))?;
            if !["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
                return Err(format!(
                    "line {}: user {user:?} has no bcrypt hash; create entries with `htpasswd -B`",
                    number + 1
                ));
            }
            hashes.insert(user.to_string(), hash.to_string());
        }
        Ok(Htpasswd {
            hashes,
            verified: Mutex::default(),
        })
    }

    /// Whether `password` is `user`'s.
    pub async fn verify(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.hashes.get(user).cloned() else {
            return false;
        };
        let key = (user.to_string(), Sha256::digest(password.as_bytes()).into());
        if self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key)
        {
            return true;
        }
        let password = password.to_string();
        let ok =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false);
        if ok {
            self.verified
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_bcrypt_entries() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let file = Htpasswd::parse(&format!("# users\nalice:{hash}\n\n")).unwrap();
        assert!(file.verify("alice", "s3cret").await);
        assert!(file.verify("alice", "s3cret").await, "remembered");
        assert!(!file.verify("alice", "wrong").await);
        assert!(!file.verify("bob", "s3cret").await);
    }

    #[test]
    fn refuses_other_hash_formats() {
        let error = Htpasswd::parse("alice:{SHA}abc").err().unwrap();
        assert!(error.contains("htpasswd -B"), "{error}");
        assert!(Htpasswd::parse("no colon").is_err());
    }
}
