//! Incremental hashing of content as it streams, for either digest algorithm.

use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::{Digest as _, Sha256, Sha512};

use super::digest::{Algorithm, Digest};
use crate::error::{ArtifactError, Result};

/// A running hash of one algorithm; cloneable so that a failed write can return to an earlier state.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-512 state.
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hasher for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    /// Feeds `bytes` to the hash.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The running state, to resume elsewhere with [`Hasher::resume`] (an upload whose chunks land on different
    /// servers is hashed once, chunk by chunk, wherever each lands).
    pub fn state(&self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.serialize().to_vec(),
            Hasher::Sha512(h) => h.serialize().to_vec(),
        }
    }

    /// The hasher whose [`Hasher::state`] was `state`.
    pub fn resume(algorithm: Algorithm, state: &[u8]) -> Result<Hasher> {
        let invalid = || ArtifactError::InvalidHashState {
            algorithm: algorithm.name(),
        };
        Ok(match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(
                SerializedState::<Sha256>::try_from(state)
                    .ok()
                    .and_then(|state| Sha256::deserialize(&state).ok())
                    .ok_or_else(invalid)?,
            ),
            Algorithm::Sha512 => Hasher::Sha512(
                SerializedState::<Sha512>::try_from(state)
                    .ok()
                    .and_then(|state| Sha512::deserialize(&state).ok())
                    .ok_or_else(invalid)?,
            ),
        })
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest::from_hash(Algorithm::Sha256, &h.finalize()),
            Hasher::Sha512(h) => Digest::from_hash(Algorithm::Sha512, &h.finalize()),
        }
    }
}

impl Digest {
    /// The digest of `bytes` with `algorithm`.
    pub fn compute(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The sha256 digest of `bytes`, the algorithm clients use by default.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::compute(Algorithm::Sha256, bytes)
    }

    /// Whether `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        Digest::compute(self.algorithm(), bytes) == *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_the_reference_values() {
        assert_eq!(
            Digest::sha256_of(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut split = Hasher::new(Algorithm::Sha512);
        split.update(b"ab");
        split.update(b"c");
        let whole = Digest::compute(Algorithm::Sha512, b"abc");
        assert_eq!(split.finish(), whole);
        assert!(whole.matches(b"abc") && !whole.matches(b"abd"));
    }

    #[test]
    fn a_hash_resumes_from_its_state() {
        for algorithm in Algorithm::ALL {
            let mut first = Hasher::new(algorithm);
            first.update(&[7; 1000]);
            let mut resumed = Hasher::resume(algorithm, &first.state()).unwrap();
            resumed.update(b"tail");
            assert_eq!(
                resumed.finish(),
                Digest::compute(algorithm, &[[7; 1000].as_slice(), b"tail"].concat())
            );
            assert!(Hasher::resume(algorithm, b"short").is_err());
        }
    }
}
