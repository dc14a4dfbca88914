//! What a policy's `module` points to now: the digest that identifies it in a generation, and the source
//! pinned to it, so that the policy loaded is the one whose digest was compared.
//!
//! - a registry reference pinned by digest is taken as written, never resolved again;
//! - a registry tag is resolved with one `HEAD` of its manifest (the manifest digest);
//! - a file is hashed (sha256 of its bytes) on the blocking pool, off the threads that answer requests;
//! - an OCI layout entry is looked up in the layout's index (its manifest digest).

use artifact::oci::Digest;
use artifact::reference::PolicyRef;
use client::layout::Layout;
use client::remote::Remote;

use crate::error::{EvaluatorError, Refusal};

/// A policy source and the digest it had when it was resolved.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The source to load: a registry reference pinned to `digest`, or the file or layout as written.
    pub(crate) source: PolicyRef,
    /// The manifest digest (registry, layout) or the sha256 of the file.
    pub(crate) digest: Digest,
}

/// Resolves `module` (a `policies.yml` module as written). An unreachable registry or an unreadable file
/// is the gate's refusal, as loading the policy would have been.
pub(crate) async fn resolve(remote: &Remote, module: &str) -> Result<Resolved, EvaluatorError> {
    let source =
        PolicyRef::parse(module).map_err(|err| EvaluatorError::InvalidInput(err.to_string()))?;
    let refused = |cause: Refusal| EvaluatorError::NotAdmitted {
        policy: source.to_string(),
        cause,
    };
    let digest = match &source {
        PolicyRef::Registry(reference) => match &reference.digest {
            Some(digest) => digest.clone(),
            None => remote
                .manifest_digest(reference)
                .await
                .map_err(|err| refused(err.into()))?,
        },
        PolicyRef::File(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::read(&path)
                    .map(|bytes| Digest::sha256_of(&bytes))
                    .map_err(|source| EvaluatorError::Io { path, source })
            })
            .await
            .map_err(|err| {
                EvaluatorError::Startup(format!("hashing the policy panicked: {err}"))
            })??
        }
        PolicyRef::Layout(layout) => {
            let entries = Layout::open(&layout.folder)
                .and_then(|opened| opened.entries())
                .map_err(|err| refused(err.into()))?;
            entries
                .into_iter()
                .find(|(name, _)| *name == layout.name)
                .map(|(_, descriptor)| descriptor.digest)
                .ok_or_else(|| {
                    EvaluatorError::InvalidInput(format!(
                        "{source}: the layout has no manifest named {:?}",
                        layout.name
                    ))
                })?
        }
    };
    let source = match source {
        PolicyRef::Registry(reference) => {
            PolicyRef::Registry(reference.with_digest(digest.clone()))
        }
        other => other,
    };
    Ok(Resolved { source, digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote() -> Remote {
        Remote::new(client::remote::RemoteOptions {
            docker_config: client::remote::credentials::DockerConfig::none(),
            sources: client::remote::sources::Sources::default(),
        })
    }

    #[tokio::test]
    async fn a_pinned_reference_is_not_resolved_and_a_file_is_hashed() -> Result<(), EvaluatorError>
    {
        // Nothing listens on port 9 of this machine: a pinned reference must not need it.
        let digest = Digest::sha256_of(b"manifest");
        let pinned = format!("registry://127.0.0.1:9/policies/p:v1@{digest}");
        let resolved = resolve(&remote(), &pinned).await?;
        assert_eq!(resolved.digest, digest);
        assert!(
            resolve(&remote(), "registry://127.0.0.1:9/policies/p:v1")
                .await
                .is_err_and(|err| err.describe().starts_with("refusing to run"))
        );

        let dir = test_support::tempdir();
        let path = dir.path().join("p.wasm");
        std::fs::write(&path, b"module").map_err(|source| EvaluatorError::Io {
            path: path.clone(),
            source,
        })?;
        let file = format!("file://{}", path.display());
        let resolved = resolve(&remote(), &file).await?;
        assert_eq!(resolved.digest, Digest::sha256_of(b"module"));
        let missing = resolve(
            &remote(),
            &format!("file://{}/gone.wasm", dir.path().display()),
        )
        .await;
        assert!(missing.is_err_and(|err| err.describe().contains("gone.wasm")));
        Ok(())
    }
}
