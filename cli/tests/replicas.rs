//! `palisade serve --storage s3://… --database postgres://…` as an operator runs it: two replicas (real processes)
//! on one Garage bucket and one PostgreSQL database, both started by the test; an upload begun on one replica and
//! finished on the other, a policy pushed through one and pulled through the other, a replica killed mid-upload.

mod replicated;

use replicated::{Replica, Shared};
use test_support::Palisade;

/// An upload's location with the `digest` query parameter that completes it.
fn with_digest(location: &str, digest: &str) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}digest={digest}")
}

fn sha256(bytes: &[u8]) -> String {
    artifact::oci::Digest::sha256_of(bytes).to_string()
}

#[test]
fn replicas_share_uploads_tags_and_policies_and_survive_the_loss_of_one() {
    let shared = Shared::start();
    let a = shared.replica();
    let b = shared.replica();

    // A chunked upload started on one replica, continued on the other, finished on the first.
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let digest = sha256(&content);
    let (status, location) = a.send("POST /v2/team/blobs/uploads/", &[], b"");
    assert_eq!(status, 202);
    let (status, location) = b.send(
        &format!("PATCH {location}"),
        &[("Content-Range", "0-999999")],
        &content[..1_000_000],
    );
    assert_eq!(status, 202);
    let (status, location) = a.send(
        &format!("PATCH {location}"),
        &[("Content-Range", "1000000-1999999")],
        &content[1_000_000..2_000_000],
    );
    assert_eq!(status, 202);
    let (status, _) = b.send(
        &format!("PUT {}", with_digest(&location, &digest)),
        &[("Content-Range", "2000000-2999999")],
        &content[2_000_000..],
    );
    assert_eq!(status, 201);
    assert_eq!(a.body(&format!("/v2/team/blobs/{digest}")), content);

    // The same chunk offered twice (a client retrying against another replica) is refused the second time.
    let (_, location) = a.send("POST /v2/team/blobs/uploads/", &[], b"");
    let (status, _) = a.send(
        &format!("PATCH {location}"),
        &[("Content-Range", "0-9")],
        b"0123456789",
    );
    assert_eq!(status, 202);
    let (status, _) = b.send(
        &format!("PATCH {location}"),
        &[("Content-Range", "0-9")],
        b"0123456789",
    );
    assert_eq!(status, 416, "a chunk out of order");

    // A policy pushed through one replica is pulled through the other, by tag and by digest.
    let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    let pushed = cli.push(
        "policy.wasm",
        &format!("registry://{}/policies/guard:v1", a.addr),
    );
    let pulled = cli.ok(&[
        "pull",
        &format!("registry://{}/policies/guard:v1", b.addr),
        "-O",
        "pulled.wasm",
    ]);
    assert!(pulled.contains(&pushed), "{pulled}");
    assert_eq!(
        std::fs::read(dir.path().join("pulled.wasm")).unwrap(),
        std::fs::read(dir.path().join("policy.wasm")).unwrap()
    );
    let tags = String::from_utf8(b.body("/v2/policies/guard/tags/list")).unwrap();
    assert!(tags.contains("\"v1\""), "{tags}");

    // An upload whose replica dies goes on through another.
    let (_, location) = a.send("POST /v2/team/blobs/uploads/", &[], b"");
    let (status, location) = a.send(
        &format!("PATCH {location}"),
        &[("Content-Range", "0-4")],
        b"hello",
    );
    assert_eq!(status, 202);
    a.kill();
    let (status, _) = b.send(
        &format!("PUT {}", with_digest(&location, &sha256(b"hello, world"))),
        &[("Content-Range", "5-11")],
        b", world",
    );
    assert_eq!(status, 201);
    assert_eq!(
        b.body(&format!("/v2/team/blobs/{}", sha256(b"hello, world"))),
        b"hello, world"
    );
}

#[test]
fn shared_storage_needs_both_stores_and_reachable_ones() {
    let dir = test_support::tempdir();
    let cli = Palisade::new(env!("CARGO_BIN_EXE_palisade"), dir.path());
    let alone = cli.run(&["serve", "--storage", "s3://bucket/prefix"]);
    assert_eq!(alone.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert!(stderr.contains("needs database"), "{stderr}");

    let bad_url = cli.run(&[
        "serve",
        "--storage",
        "bucket",
        "--database",
        "postgres://x/y",
    ]);
    assert_eq!(bad_url.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad_url.stderr);
    assert!(stderr.contains("storage URL \"bucket\""), "{stderr}");

    let nowhere = cli.run(&[
        "serve",
        "--storage",
        "s3://bucket/prefix",
        "--database",
        "postgres://postgres@127.0.0.1:1/registry",
    ]);
    assert_ne!(nowhere.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&nowhere.stderr);
    assert!(stderr.contains("the registry's database"), "{stderr}");
}

#[test]
fn a_folder_registry_migrates_to_shared_storage_and_back() {
    let shared = Shared::start();
    let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    let cli = cli
        .with_env("AWS_ENDPOINT_URL", &shared.garage.endpoint())
        .with_env("AWS_REGION", &shared.garage.region)
        .with_env("AWS_ACCESS_KEY_ID", &shared.garage.key_id)
        .with_env("AWS_SECRET_ACCESS_KEY", &shared.garage.secret)
        .with_env("AWS_ALLOW_HTTP", "true");
    let folder = dir.path().join("registry");
    let pushed = {
        let served = Replica::serve(&["--root", folder.to_str().unwrap()], &[]);
        cli.push(
            "policy.wasm",
            &format!("registry://{}/policies/guard:v1", served.addr),
        )
    };
    let storage = shared.storage();
    let migrate = |from: &str, to: &str| {
        cli.ok(&[
            "registry",
            "migrate",
            "--from",
            from,
            "--to",
            to,
            "--database",
            &shared.database,
        ])
    };
    let copied = migrate("registry", &storage);
    assert!(
        copied.starts_with("copied 1 repositories: 1 tags, 1 manifests, 2 blobs ("),
        "{copied}"
    );
    let again = migrate("registry", &storage);
    assert!(
        again.contains("0 blobs (0 bytes); 2 blobs were there already"),
        "{again}"
    );

    let replica = shared.replica();
    let pulled = cli.ok(&[
        "pull",
        &format!("registry://{}/policies/guard:v1", replica.addr),
        "-O",
        "from-shared.wasm",
    ]);
    assert!(pulled.contains(&pushed), "{pulled}");

    let back = cli.run(&[
        "registry",
        "migrate",
        "--from",
        &storage,
        "--to",
        "back",
        "--database",
        &shared.database,
        "-o",
        "json",
    ]);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&back.stdout).unwrap();
    assert_eq!(
        (report["manifests"].as_u64(), report["blobs"].as_u64()),
        (Some(1), Some(2))
    );
    let served = Replica::serve(&["--root", dir.path().join("back").to_str().unwrap()], &[]);
    let tags = String::from_utf8(served.body("/v2/policies/guard/tags/list")).unwrap();
    assert!(tags.contains("\"v1\""), "{tags}");
    assert_eq!(
        std::fs::read(dir.path().join("from-shared.wasm")).unwrap(),
        std::fs::read(dir.path().join("policy.wasm")).unwrap()
    );

    for (args, problem) in [
        (
            vec!["--from", "registry", "--to", &storage],
            "give its PostgreSQL database with --database",
        ),
        (
            vec!["--from", "nowhere", "--to", "elsewhere"],
            "--from nowhere: no such folder",
        ),
        (
            vec!["--from", "registry", "--to", "registry"],
            "name the same storage",
        ),
    ] {
        let failed = cli.run(&[&["registry", "migrate"][..], &args].concat());
        assert_eq!(failed.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(stderr.contains(problem), "{args:?}: {stderr}");
    }
}
