//! Archives both ways: kwctl's (`kwctl save` / `kwctl load`, built here as kwctl's save.rs builds it) and
//! palisade's (an OCI layout, gzip or not, with attachments and a trust root), against a real
//! registry-server; bad archives of every kind import nothing.

use std::io::{Read, Write};
use std::path::Path;

use artifact::oci::policy::PolicyArtifact;
use artifact::reference::{PolicyRef, RegistryRef};
use client::distribute;
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Attachments, Remote, RemoteOptions};
use client::store::Store;
use client::store::archive::{self, ArchiveFormat, ArchivedPolicy, SaveOptions};
use test_support::{RegistryServer, compile_fixture, tempdir};

fn registry_ref(text: &str) -> RegistryRef {
    match text.parse::<PolicyRef>() {
        Ok(PolicyRef::Registry(reference)) => reference,
        other => panic!("{text}: {other:?}"),
    }
}

fn remote() -> Remote {
    Remote::new(RemoteOptions {
        docker_config: DockerConfig::none(),
        sources: Sources::default(),
    })
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A gzip tarball as kwctl's save.rs writes it: `tar::Builder::append_file` of each module, from a file on
/// disk, at its path in kwctl's store, through a `GzEncoder`.
fn kwctl_archive(out: &Path, modules: &[(&str, &[u8])]) {
    let scratch = tempdir();
    let encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(out).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(encoder);
    for (n, (path, module)) in modules.iter().enumerate() {
        let file = scratch.path().join(n.to_string());
        std::fs::write(&file, module).unwrap();
        tar.append_file(path, &mut std::fs::File::open(&file).unwrap())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

/// The files of a tarball.
fn tar_entries(input: impl Read) -> Vec<(String, Vec<u8>)> {
    let mut tar = tar::Archive::new(input);
    tar.entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (path, bytes)
        })
        .collect()
}

/// The files of a gzip tarball, as kwctl's load.rs unpacks it.
fn unpack_gzip(archive: &Path) -> Vec<(String, Vec<u8>)> {
    tar_entries(flate2::read::GzDecoder::new(
        std::fs::File::open(archive).unwrap(),
    ))
}

#[test]
fn a_kwctl_archive_loads_and_one_is_written_back() {
    let dir = tempdir();
    let store = Store::open(dir.path().join("store")).unwrap();
    let (accept, reject) = (
        compile_fixture("wapc-accept"),
        compile_fixture("wapc-reject"),
    );
    let input = dir.path().join("policies.tar.gz");
    kwctl_archive(
        &input,
        &[
            (
                "registry/ghcr.io/kubewarden/tests/pod-privileged:v0.1.9",
                &accept,
            ),
            (
                "https/github.com/kubewarden/pod-privileged-policy/releases/download/v0.1.6/policy.wasm",
                &reject,
            ),
            ("file/tmp/local.wasm", &accept),
            ("registry/ghcr.io/kubewarden/tests/moving:latest", &reject),
        ],
    );

    let loaded = archive::load(&store, &input).unwrap();
    assert_eq!(loaded.format, ArchiveFormat::Kwctl);
    assert_eq!(loaded.policies.len(), 3, "{:?}", loaded.policies);
    assert!(
        loaded.policies[0]
            .starts_with("registry://ghcr.io/kubewarden/tests/pod-privileged:v0.1.9@sha256:")
    );
    assert_eq!(
        loaded.policies[1],
        "https://github.com/kubewarden/pod-privileged-policy/releases/download/v0.1.6/policy.wasm"
    );
    assert!(
        loaded.skipped[0].starts_with("file/tmp/local.wasm"),
        "{:?}",
        loaded.skipped
    );
    let reference = registry_ref("registry://ghcr.io/kubewarden/tests/pod-privileged:v0.1.9");
    let digest = store
        .loaded(&reference)
        .unwrap()
        .expect("served from the store");
    assert_eq!(store.artifact(&digest).unwrap().module, accept);

    // A loaded `latest` is what the archive brought: pull serves it from the store, asking no registry.
    let moving = registry_ref("registry://ghcr.io/kubewarden/tests/moving:latest");
    let request = distribute::PullRequest {
        source: &moving,
        refresh: false,
        output: None,
    };
    let pulled = block_on(distribute::pull(&remote(), &store, request)).unwrap();
    assert!(pulled.from_store && pulled.artifact.module == reject);

    // Read back through a client that has the store: no registry is asked (ghcr.io is not reachable here).
    let pulled = block_on(remote().with_store(store.clone()).pull(&reference)).unwrap();
    assert_eq!(pulled.module, accept);

    // Written back in kwctl's format: the same paths, the bare modules, gzip as kwctl's load wants.
    let output = dir.path().join("again.tar.gz");
    let policy = ArchivedPolicy {
        reference: reference.clone(),
        artifact: pulled,
        attachments: Attachments::default(),
    };
    let options = SaveOptions {
        format: ArchiveFormat::Kwctl,
        gzip: false,
        trust_root: None,
    };
    archive::save(std::slice::from_ref(&policy), options, &output).unwrap();
    assert_eq!(
        unpack_gzip(&output),
        [(
            "registry/ghcr.io/kubewarden/tests/pod-privileged:v0.1.9".to_string(),
            accept.clone()
        )]
    );
    let other = Store::open(dir.path().join("other")).unwrap();
    assert_eq!(
        archive::load(&other, &output).unwrap().policies,
        [loaded.policies[0].clone()]
    );
}

#[test]
fn palisade_archives_carry_attachments_and_the_trust_root() {
    let registry = RegistryServer::start();
    let host = registry.host();
    let dir = tempdir();
    let store = Store::open(dir.path().join("store")).unwrap();
    let reference = registry_ref(&format!("registry://{host}/policies/accept:v1"));
    let artifact = PolicyArtifact::build(compile_fixture("wapc-accept"), None, None).unwrap();
    let remote = remote();
    block_on(remote.push(&artifact, &reference)).unwrap();
    let digest = artifact.digest();

    // A cosign `.sig` image and a Sigstore bundle referrer, as cosign makes them.
    let empty = test_support::put_blob(&host, "policies/accept", b"{}");
    let payload = test_support::put_blob(&host, "policies/accept", b"{\"critical\":{}}");
    let signature = test_support::put_manifest(
        &host,
        "policies/accept",
        Some(&format!("sha256-{}.sig", digest.hex())),
        &serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": payload, "size": 14}]
        }),
    );
    let bundle = test_support::put_blob(&host, "policies/accept", b"{\"bundle\":1}");
    let referrer = test_support::put_manifest(
        &host,
        "policies/accept",
        None,
        &serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "digest": bundle, "size": 12}],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest.to_string(),
                        "size": artifact.manifest_bytes.len()}
        }),
    );

    let trust_root =
        b"{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"}";
    let options = SaveOptions {
        format: ArchiveFormat::Palisade,
        gzip: true,
        trust_root: Some(trust_root),
    };
    let (one, two) = (dir.path().join("one.tar.gz"), dir.path().join("two.tar.gz"));
    for out in [&one, &two] {
        block_on(distribute::save(
            &remote,
            &store,
            std::slice::from_ref(&reference),
            options,
            out,
        ))
        .unwrap();
    }
    assert_eq!(
        std::fs::read(&one).unwrap(),
        std::fs::read(&two).unwrap(),
        "deterministic"
    );
    assert_eq!(std::fs::read(&one).unwrap()[..2], [0x1f, 0x8b], "gzip");
    drop(registry);

    // The far side: a fresh store, no registry.
    let far = Store::open(dir.path().join("far")).unwrap();
    let loaded = archive::load(&far, &one).unwrap();
    assert_eq!(loaded.format, ArchiveFormat::Palisade);
    assert_eq!(
        loaded.policies,
        [reference.with_digest(digest.clone()).to_string()]
    );
    assert_eq!(loaded.attachments, 2);
    assert_eq!(
        std::fs::read(loaded.trust_root.unwrap()).unwrap(),
        trust_root
    );
    let summary = &far.summaries().unwrap()[0];
    assert_eq!(summary.signed, Some(true));
    assert_eq!(
        summary
            .signatures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [signature.clone(), referrer.clone()]
    );

    let offline = remote.clone().with_store(far.clone());
    let repository = block_on(offline.repository(&reference)).unwrap();
    assert_eq!(block_on(repository.resolve()).unwrap().digest(), digest);
    assert_eq!(
        block_on(offline.manifest_digest(&reference)).unwrap(),
        digest
    );
    assert_eq!(block_on(repository.signatures(&digest)).unwrap().len(), 2);
    let referrers = block_on(repository.referrers(&digest, None)).unwrap();
    assert_eq!(referrers[0].digest.to_string(), referrer);
    assert_eq!(
        referrers[0].artifact_type.as_deref(),
        Some("application/vnd.dev.sigstore.bundle.v0.3+json")
    );
    let pinned = reference.with_digest(digest.clone());
    assert_eq!(
        block_on(offline.pull(&pinned)).unwrap().module,
        artifact.module
    );
    let err = block_on(repository.push_manifest("v2", b"{}", "application/json")).unwrap_err();
    assert!(err.to_string().contains("loaded from an archive"), "{err}");

    // Saved again from the far side's store, with no registry: the same archive.
    let again = dir.path().join("again.tar.gz");
    block_on(distribute::save(
        &offline,
        &far,
        std::slice::from_ref(&reference),
        options,
        &again,
    ))
    .unwrap();
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&one).unwrap());

    // Removing the policy takes what was attached to it too.
    far.remove(&reference.to_string()).unwrap();
    let left = walk(&dir.path().join("far/blobs"));
    assert!(left.is_empty(), "{left:?}");
}

fn walk(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap().flatten() {
        if entry.path().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

/// A palisade archive of one policy, uncompressed, as `(path, bytes)` entries.
fn palisade_entries(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let path = dir.join("good.tar");
    let policy = ArchivedPolicy {
        reference: registry_ref("registry://example.com/p:v1"),
        artifact: PolicyArtifact::build(compile_fixture("wapc-accept"), None, None).unwrap(),
        attachments: Attachments::default(),
    };
    let options = SaveOptions {
        format: ArchiveFormat::Palisade,
        gzip: false,
        trust_root: None,
    };
    archive::save(&[policy], options, &path).unwrap();
    tar_entries(std::fs::File::open(&path).unwrap())
}

fn tar_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn bad_archives_are_named_and_import_nothing() {
    let dir = tempdir();
    let entries = palisade_entries(dir.path());
    let good = tar_of(&entries);
    let module_blob = entries
        .iter()
        .filter(|(name, _)| name.starts_with("blobs/"))
        .max_by_key(|(_, bytes)| bytes.len())
        .map(|(name, _)| name.clone())
        .unwrap();
    let without_module: Vec<_> = entries
        .iter()
        .filter(|(name, _)| *name != module_blob)
        .cloned()
        .collect();
    let tampered: Vec<_> = entries
        .iter()
        .map(|(name, bytes)| {
            let mut bytes = bytes.clone();
            if *name == module_blob {
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
            }
            (name.clone(), bytes)
        })
        .collect();
    let not_wasm = tar_of(&[("registry/ghcr.io/org/p:v1".into(), b"hello".to_vec())]);
    let kwctl_bad_name = tar_of(&[(
        "registry/ghcr.io/Org/p:v1".into(),
        compile_fixture("wapc-accept"),
    )]);
    let missing_blob = format!("{module_blob} is missing");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.tar",
            good[..good.len() / 2].to_vec(),
            "end-of-archive marker",
        ),
        ("truncated.tar.gz", gzip(&good)[..300].to_vec(), "truncated"),
        (
            "notes.txt",
            b"these are not the policies you are looking for\n".repeat(20),
            "neither",
        ),
        (
            "garbage.gz",
            gzip(b"not a tarball at all, just words").to_vec(),
            "gzip-compressed tar archive",
        ),
        ("empty.tar", tar_of(&[]), "no files"),
        ("missing.tar", tar_of(&without_module), &missing_blob),
        (
            "tampered.tar",
            tar_of(&tampered),
            "damaged or tampered with",
        ),
        (
            "kwctl.tar.gz",
            gzip(&not_wasm),
            "registry/ghcr.io/org/p:v1: not a WebAssembly module",
        ),
        (
            "kwctl-name.tar.gz",
            gzip(&kwctl_bad_name),
            "registry/ghcr.io/Org/p:v1: not a policy kwctl would have saved",
        ),
    ];
    let store = Store::open(dir.path().join("store")).unwrap();
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = archive::load(&store, &path).unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains(expected),
            "{name}: {err}"
        );
    }
    assert!(store.list().unwrap().is_empty());
    assert!(
        !dir.path().join("store/index.json").exists(),
        "the store is unchanged"
    );
    let missing = archive::load(&store, &dir.path().join("nowhere.tar")).unwrap_err();
    assert!(missing.to_string().contains("nowhere.tar"), "{missing}");
}
