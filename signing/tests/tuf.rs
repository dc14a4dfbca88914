//! `TrustRoot::from_tuf` against real, signed TUF repositories served on 127.0.0.1 (test_support's
//! `TufRepository`): the trusted root it fetches verifies a conformance-suite bundle; a target that does not match
//! its hash, expired timestamp metadata, metadata signed by a key the root does not name and an unreachable
//! repository are each refused with an error saying what failed.

use signing::config::Subject;
use signing::identity::Identity;
use signing::sigstore_verifier::{Signed, Signer};
use signing::trust::TrustRoot;
use signing::tuf::TufSource;
use test_support::{CaseSigner, TufFault, TufRepository, conformance_case, conformance_suite};

const TRUSTED_ROOT: &str = "trusted_root.json";

fn public_good_root() -> Vec<u8> {
    let path = test_support::testdata_file("signing/sigstore-public-good-trusted-root.json");
    std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

fn source_of(repository: &TufRepository) -> TufSource {
    TufSource::for_url(&repository.url, Some(repository.root_json.clone()))
        .unwrap_or_else(|err| panic!("{err}"))
}

/// Fetches from `repository` without a cache; the error text when refused.
async fn fetch(repository: &TufRepository) -> Result<TrustRoot, String> {
    TrustRoot::from_tuf(&source_of(repository), None)
        .await
        .map_err(|err| err.to_string())
}

/// Verifies the suite's `case` (a keyless bundle over the suite's artifact) with `root`.
fn verify_case(root: &TrustRoot, case: &str) -> Result<(), String> {
    let case = conformance_case(&conformance_suite().join(case));
    let CaseSigner::Identity { identity, issuer } = &case.signer else {
        panic!("{} is a keyless case", case.name);
    };
    let identity = Identity::Issuer {
        issuer: issuer.clone(),
        subject: Subject::Equal(identity.clone()),
    };
    root.verifier()
        .verify(
            Signed::Bytes(&case.artifact),
            &case.bundle,
            Signer::Identity(&identity),
        )
        .map(|_| ())
}

#[tokio::test]
async fn the_fetched_root_verifies_a_conformance_bundle() {
    let repository = TufRepository::serve(TRUSTED_ROOT, &public_good_root(), TufFault::None);
    let root = fetch(&repository)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    verify_case(&root, "happy-path-v0.3").unwrap_or_else(|err| panic!("{err}"));
}

#[tokio::test]
async fn the_fetched_root_is_the_one_used() {
    // A case signed under its own CA verifies with its root fetched through TUF, not with the public-good root.
    let case = "intoto-with-custom-trust-root";
    let custom = std::fs::read(conformance_suite().join(case).join("trusted_root.json"))
        .unwrap_or_else(|err| panic!("reading the case's root: {err}"));
    let repository = TufRepository::serve(TRUSTED_ROOT, &custom, TufFault::None);
    let root = fetch(&repository)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    verify_case(&root, case).unwrap_or_else(|err| panic!("{err}"));

    let public_good = TrustRoot::production().unwrap_or_else(|err| panic!("{err}"));
    assert!(verify_case(&public_good, case).is_err());
}

#[tokio::test]
async fn the_cache_keeps_the_verified_metadata_per_repository() {
    let repository = TufRepository::serve(TRUSTED_ROOT, &public_good_root(), TufFault::None);
    let cache = test_support::tempdir();
    TrustRoot::from_tuf(&source_of(&repository), Some(cache.path().to_path_buf()))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let folders: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap_or_else(|err| panic!("reading the cache: {err}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    assert_eq!(folders.len(), 1, "one folder per repository: {folders:?}");
    let kept = &folders[0];
    assert!(
        kept.to_string_lossy().contains("127.0.0.1"),
        "named after the repository URL: {}",
        kept.display()
    );
    for name in ["timestamp.json", "snapshot.json", "targets.json"] {
        assert!(
            kept.join(name).is_file(),
            "{name} kept in {}",
            kept.display()
        );
    }
}

/// Why fetching from a repository broken as `fault` says is refused; the error names the repository.
async fn refusal(fault: TufFault) -> String {
    let repository = TufRepository::serve(TRUSTED_ROOT, &public_good_root(), fault);
    let err = fetch(&repository).await.err().unwrap_or_default();
    assert!(err.contains(&repository.url), "{err}");
    err
}

#[tokio::test]
async fn a_target_that_does_not_match_its_hash_is_refused() {
    let err = refusal(TufFault::TargetMismatch).await;
    assert!(err.contains(TRUSTED_ROOT), "{err}");
    assert!(err.contains("sha256 mismatch"), "{err}");
}

#[tokio::test]
async fn expired_timestamp_metadata_is_refused() {
    let err = refusal(TufFault::ExpiredTimestamp).await;
    assert!(err.contains("timestamp metadata expired"), "{err}");
}

#[tokio::test]
async fn metadata_signed_by_another_key_is_refused() {
    let err = refusal(TufFault::SnapshotWrongKey).await;
    assert!(err.contains("snapshot"), "{err}");
    assert!(err.contains("signature"), "{err}");
}

#[tokio::test]
async fn an_unreachable_repository_is_refused() {
    // A port that was just free: nothing listens there.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|err| panic!("binding: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("address: {err}"));
        format!("http://{addr}")
    };
    let root = TufRepository::serve(TRUSTED_ROOT, &public_good_root(), TufFault::None).root_json;
    let source = TufSource::for_url(&url, Some(root)).unwrap_or_else(|err| panic!("{err}"));
    let err = TrustRoot::from_tuf(&source, None)
        .await
        .err()
        .map(|err| err.to_string())
        .unwrap_or_default();
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("root.json failed"), "{err}");
    assert!(err.to_lowercase().contains("connect"), "{err}");
}
