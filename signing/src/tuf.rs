//! Fetching a Sigstore trusted root through a TUF repository (The Update Framework), as Sigstore's clients do:
//! the repository's metadata (root, timestamp, snapshot, targets) is verified from a TUF root the user already
//! trusts, and `trusted_root.json` is taken only if it matches the hash the signed targets metadata pins.
//!
//! Nothing here runs unless asked: [`TrustRoot::production`] is the built-in root, never fetched.

use std::path::PathBuf;

use sigstore_verify::trust_root::{
    SigstoreInstance, TRUSTED_ROOT_TARGET, TrustedRoot, TufBootstrap, TufConfig,
};

use crate::error::{Result, SigningError};
use crate::trust::TrustRoot;

/// Which TUF repository to fetch a trusted root from, and the TUF root that trust in it starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TufSource {
    /// Sigstore's public-good instance (`https://tuf-repo-cdn.sigstore.dev`), from its TUF root built into
    /// the library.
    PublicGood,
    /// GitHub's artifact-attestation instance (`https://tuf-repo.github.com`), from its TUF root built in.
    GitHub,
    /// Another repository, from the initial `root.json` the user trusts.
    Custom {
        /// The repository's base URL (metadata at `URL/N.root.json`, `URL/timestamp.json`…, targets under
        /// `URL/targets/`).
        url: String,
        /// The TUF root metadata (`root.json`) trusted to begin with.
        root_json: Vec<u8>,
    },
}

impl TufSource {
    /// The source for `url`: with `root_json`, that repository from that root; without, one of the known
    /// instances (whose roots are built in) or an error saying the repository's `root.json` is needed.
    pub fn for_url(url: &str, root_json: Option<Vec<u8>>) -> Result<TufSource> {
        let Some(root_json) = root_json else {
            return [TufSource::PublicGood, TufSource::GitHub]
                .into_iter()
                .find(|known| known.url() == url.trim_end_matches('/'))
                .ok_or_else(|| {
                    SigningError::TrustRoot(format!(
                        "{url} is not a TUF repository whose root is built in ({} or {}): give its initial \
                         root.json to trust it",
                        TufSource::PublicGood.url(),
                        TufSource::GitHub.url()
                    ))
                });
        };
        let root: serde_json::Value = serde_json::from_slice(&root_json)
            .map_err(|e| SigningError::TrustRoot(format!("the TUF root.json is not JSON: {e}")))?;
        if root
            .pointer("/signed/_type")
            .and_then(serde_json::Value::as_str)
            != Some("root")
        {
            return Err(SigningError::TrustRoot(
                "the TUF root.json is not TUF root metadata (its signed._type is not \"root\")"
                    .into(),
            ));
        }
        Ok(TufSource::Custom {
            url: url.to_string(),
            root_json,
        })
    }

    /// The repository's base URL.
    pub fn url(&self) -> &str {
        match self {
            TufSource::PublicGood => SigstoreInstance::PublicGood.tuf_url(),
            TufSource::GitHub => SigstoreInstance::GitHub.tuf_url(),
            TufSource::Custom { url, .. } => url,
        }
    }

    fn config(&self) -> TufConfig {
        match self {
            TufSource::PublicGood => TufConfig::for_instance(SigstoreInstance::PublicGood),
            TufSource::GitHub => TufConfig::for_instance(SigstoreInstance::GitHub),
            TufSource::Custom { url, root_json } => {
                TufConfig::custom(url.clone(), TufBootstrap::trusted(root_json))
            }
        }
    }
}

/// The folder of one repository's metadata under the cache folder: its URL, with every character that is not
/// a letter, digit, `-`, `_` or `.` percent-encoded.
fn cache_subfolder(url: &str) -> String {
    url.trim_end_matches('/')
        .bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

impl TrustRoot {
    /// Fetches `trusted_root.json` from the TUF repository `source`, verifying the repository's metadata from
    /// its trusted TUF root. `cache_dir` keeps the verified metadata (one folder per repository URL) so later
    /// fetches download only what changed; `None` keeps nothing. Always goes to the network: an unreachable
    /// repository, metadata that does not verify or has expired, or a target that does not match its hash is
    /// an error naming the repository and what failed.
    pub async fn from_tuf(source: &TufSource, cache_dir: Option<PathBuf>) -> Result<TrustRoot> {
        let url = source.url();
        let config = match cache_dir {
            Some(dir) => source
                .config()
                .with_cache_dir(dir.join(cache_subfolder(url))),
            None => source.config().without_cache(),
        };
        let root = TrustedRoot::from_tuf(config).await.map_err(|e| {
            SigningError::TrustRoot(format!(
                "fetching {TRUSTED_ROOT_TARGET} from the TUF repository {url} failed: {e}"
            ))
        })?;
        let json = serde_json::to_value(&root).map_err(|e| {
            SigningError::TrustRoot(format!(
                "the {TRUSTED_ROOT_TARGET} of the TUF repository {url}: {e}"
            ))
        })?;
        TrustRoot::from_trusted_root(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_instances_need_no_root_json() {
        assert_eq!(
            TufSource::for_url("https://tuf-repo-cdn.sigstore.dev/", None).ok(),
            Some(TufSource::PublicGood)
        );
        assert_eq!(
            TufSource::for_url("https://tuf-repo.github.com", None).ok(),
            Some(TufSource::GitHub)
        );
    }

    #[test]
    fn another_repository_needs_its_root_json() {
        let err = TufSource::for_url("http://127.0.0.1:9/", None)
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("http://127.0.0.1:9/") && e.contains("root.json")),
            "{err:?}"
        );
        let not_root = br#"{"signed": {"_type": "timestamp"}, "signatures": []}"#.to_vec();
        let err = TufSource::for_url("http://127.0.0.1:9", Some(not_root))
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("not TUF root metadata")),
            "{err:?}"
        );
        let err = TufSource::for_url("http://127.0.0.1:9", Some(b"-----BEGIN".to_vec()))
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("not JSON")),
            "{err:?}"
        );
    }

    #[test]
    fn each_repository_has_its_own_cache_folder() {
        assert_eq!(
            cache_subfolder("http://127.0.0.1:8080/repo/"),
            "http%3A%2F%2F127.0.0.1%3A8080%2Frepo"
        );
        assert_ne!(
            cache_subfolder("https://a.example/x"),
            cache_subfolder("https://a.example/y")
        );
    }
}
