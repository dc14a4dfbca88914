//! Incremental hashing of content as it streams in, for either digest algorithm.

use artifact::oci::{Algorithm, Digest};
use sha2::{Digest as _, Sha256, Sha512};

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

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest::new(algorithm, hex)
            .unwrap_or_else(|_| unreachable!("a hash is always valid lowercase hex"))
    }
}

/// The digest of `bytes` with `algorithm`.
pub fn digest_of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
    let mut hasher = Hasher::new(algorithm);
    hasher.update(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_the_reference_values() {
        assert_eq!(
            digest_of(Algorithm::Sha256, b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut split = Hasher::new(Algorithm::Sha512);
        split.update(b"ab");
        split.update(b"c");
        assert_eq!(split.finish(), digest_of(Algorithm::Sha512, b"abc"));
    }
}
