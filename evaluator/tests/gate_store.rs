//! The gate with a local store, against a real registry-server: a registry policy is downloaded once, kept in the
//! store with its signatures, and later admitted from there (its signatures still checked), even when the registry
//! can no longer serve its module; `refresh` and a damaged store copy download it again.

use std::collections::BTreeMap;

use artifact::oci::Digest;
use artifact::oci::policy::PolicyArtifact;
use artifact::reference::{PolicyRef, RegistryRef};
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use client::store::Store;
use evaluator::gate::{Admission, LocalStore, Provenance, Verification, admit};
use signing::config::VerificationConfig;
use signing::keys::PrivateKey;
use signing::registry::Layout;
use test_support::{RegistryServer, compile_fixture, http};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn remote() -> Remote {
    Remote::new(RemoteOptions {
        docker_config: DockerConfig::none(),
        sources: Sources::default(),
    })
}

/// `wapc-accept` pushed as `policies/accept:v1` and signed with `key`; returns the reference and the artifact.
async fn push_signed(
    registry: &RegistryServer,
    key: &PrivateKey,
) -> Result<(RegistryRef, PolicyArtifact), Box<dyn std::error::Error>> {
    let reference: RegistryRef =
        format!("registry://{}/policies/accept:v1", registry.host()).parse()?;
    let artifact = PolicyArtifact::build(compile_fixture("wapc-accept"), None, None)?;
    remote().push(&artifact, &reference).await?;
    signing::registry::sign(
        &remote(),
        &reference,
        key,
        &BTreeMap::new(),
        &[Layout::SignatureTag],
    )
    .await?;
    Ok((reference, artifact))
}

fn verification(key: &PrivateKey) -> Result<Admission, signing::SigningError> {
    Ok(Admission::Verify(Verification {
        config: VerificationConfig::for_keys(&[key.public_key().to_pem()], &BTreeMap::new())?,
        trust_root: signing::trust::TrustRoot::production().unwrap(),
    }))
}

/// Makes the registry unable to serve the blob `digest` of `policies/accept`.
fn delete_blob(registry: &RegistryServer, digest: &Digest) {
    let reply = http(
        &registry.host(),
        &format!("DELETE /v2/policies/accept/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(reply.status, 202, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_policy_is_admitted_from_the_store_with_its_signatures_checked() -> TestResult {
    let registry = RegistryServer::start();
    let key = PrivateKey::generate()?;
    let (reference, artifact) = push_signed(&registry, &key).await?;
    let source = PolicyRef::Registry(reference.clone());
    let dir = test_support::tempdir();
    let kept = LocalStore {
        store: Store::open(dir.path())?,
        refresh: false,
    };
    let admission = verification(&key)?;

    // Downloaded once, kept under its reference with the signature its registry holds.
    let admitted = admit(&remote(), &source, &admission, Some(&kept)).await?;
    assert_eq!(admitted.bytes(), &artifact.module[..]);
    let key_text = reference.to_string();
    assert_eq!(kept.store.resolve(&key_text)?, Some(artifact.digest()));
    assert_eq!(kept.store.signatures(&key_text)?.map(|s| s.len()), Some(1));

    // The registry can no longer serve the module: admitted from the store, still verified.
    delete_blob(&registry, &artifact.module_digest);
    let again = admit(&remote(), &source, &admission, Some(&kept)).await?;
    assert_eq!(
        again.provenance(),
        &Provenance::Registry {
            manifest_digest: artifact.digest()
        }
    );
    assert!(admit(&remote(), &source, &admission, None).await.is_err());
    let refreshing = LocalStore {
        refresh: true,
        ..kept.clone()
    };
    let err = admit(&remote(), &source, &admission, Some(&refreshing))
        .await
        .map(|_| ())
        .map_err(|err| err.describe());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("refusing to run")
                && e.contains(&artifact.module_digest.to_string())),
        "{err:?}"
    );

    // Without verification: a tag is resolved by a HEAD request, a digest not at all; both from the store.
    let insecure = Admission::InsecureSkipVerification;
    let by_tag = admit(&remote(), &source, &insecure, Some(&kept)).await?;
    assert_eq!(by_tag.bytes(), &artifact.module[..]);
    let pinned = PolicyRef::Registry(reference.with_digest(artifact.digest()));
    let by_digest = admit(&remote(), &pinned, &insecure, Some(&kept)).await?;
    assert_eq!(by_digest.source(), pinned.to_string());

    // Another key: refused, although the store holds the module.
    let stranger = PrivateKey::generate()?;
    let err = admit(&remote(), &source, &verification(&stranger)?, Some(&kept))
        .await
        .map(|_| ())
        .map_err(|err| err.describe());
    assert!(
        err.as_ref().is_err_and(|e| e.contains("not verified")),
        "{err:?}"
    );

    // A damaged store copy is never admitted: it is downloaded again, which the registry cannot serve.
    let blob = dir
        .path()
        .join("blobs/sha256")
        .join(artifact.module_digest.hex());
    std::fs::write(&blob, b"\0asm\x01\0\0\0")?;
    assert!(
        admit(&remote(), &source, &admission, Some(&kept))
            .await
            .is_err()
    );
    assert!(
        admit(&remote(), &pinned, &insecure, Some(&kept))
            .await
            .is_err()
    );
    Ok(())
}
