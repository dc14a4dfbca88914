//! Content digests (`sha256:<hex>`, `sha512:<hex>`): strict parsing and canonical display.

use std::fmt;
use std::str::FromStr;

use crate::error::ArtifactError;

/// A digest algorithm this project computes and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the algorithm every OCI client uses by default.
    Sha256,
    /// SHA-512, allowed by the OCI image specification.
    Sha512,
}

impl Algorithm {
    /// Both algorithms, in the order they are preferred.
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// The name used in digest strings and storage paths (`sha256`, `sha512`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The number of lowercase hex characters of an encoded digest.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The algorithm called `name`, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A verified-shape content digest: an algorithm and its lowercase hex encoding.
///
/// Parsing is strict (no upper case, no whitespace, exact length) so that one content has exactly one digest string,
/// which is what makes digests usable as file names and map keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// A digest from an algorithm and its hex encoding, checked like a parsed one.
    pub fn new(algorithm: Algorithm, hex: impl Into<String>) -> Result<Digest, ArtifactError> {
        let hex = hex.into();
        check_hex(algorithm, &hex).map_err(|reason| ArtifactError::InvalidDigest {
            digest: format!("{algorithm}:{hex}"),
            reason,
        })?;
        Ok(Digest { algorithm, hex })
    }

    /// The digest of a finished hash: its bytes, hex-encoded.
    pub(super) fn from_hash(algorithm: Algorithm, hash: &[u8]) -> Digest {
        Digest {
            algorithm,
            hex: hex::encode(hash),
        }
    }

    /// The digest's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex encoding, without the algorithm prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

fn check_hex(algorithm: Algorithm, hex: &str) -> Result<(), String> {
    if hex.len() != algorithm.hex_len() {
        return Err(format!(
            "a {algorithm} digest has {} hex characters, this one has {}",
            algorithm.hex_len(),
            hex.len()
        ));
    }
    if let Some(bad) = hex.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(format!(
            "expected lowercase hex characters (0-9, a-f), found {bad:?}"
        ));
    }
    Ok(())
}

impl FromStr for Digest {
    type Err = ArtifactError;

    fn from_str(s: &str) -> Result<Digest, ArtifactError> {
        let invalid = |reason: String| ArtifactError::InvalidDigest {
            digest: s.to_string(),
            reason,
        };
        let (name, hex) = s.split_once(':').ok_or_else(|| {
            invalid(
                "expected `<algorithm>:<hex>`, such as `sha256:` followed by 64 hex characters"
                    .into(),
            )
        })?;
        let algorithm = Algorithm::from_name(name).ok_or_else(|| {
            invalid(format!(
                "unsupported algorithm {name:?}: expected `sha256` or `sha512`"
            ))
        })?;
        check_hex(algorithm, hex).map_err(invalid)?;
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256_EMPTY: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays_the_same_string() {
        let digest: Digest = SHA256_EMPTY.parse().unwrap();
        assert_eq!(digest.algorithm(), Algorithm::Sha256);
        assert_eq!(digest.to_string(), SHA256_EMPTY);
        let sha512 = format!("sha512:{}", "ab".repeat(64));
        assert_eq!(
            sha512.parse::<Digest>().unwrap().algorithm(),
            Algorithm::Sha512
        );
    }

    #[test]
    fn rejects_what_is_not_canonical() {
        for (input, expected) in [
            ("e3b0c442", "expected `<algorithm>:<hex>`"),
            (
                "md5:d41d8cd98f00b204e9800998ecf8427e",
                "unsupported algorithm \"md5\"",
            ),
            ("sha256:abc", "has 64 hex characters, this one has 3"),
            (
                &SHA256_EMPTY.to_uppercase().replace("SHA256", "sha256"),
                "lowercase hex",
            ),
            (
                &format!("sha512:{}", "a".repeat(64)),
                "has 128 hex characters",
            ),
        ] {
            let message = input.parse::<Digest>().unwrap_err().to_string();
            assert!(message.contains(expected), "{input}: {message}");
        }
    }

    #[test]
    fn round_trips_through_json() {
        let digest: Digest = SHA256_EMPTY.parse().unwrap();
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{SHA256_EMPTY}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<Digest>("\"sha256:00\"").is_err());
    }
}
