//! Third-party OCI clients driven against a registry the test started: skopeo (Debian package `skopeo`) and the
//! oras Python SDK (PyPI package `oras`), each through a whole push and pull. A missing client fails the test with
//! what to install.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;
use sha2::{Digest as _, Sha256};

/// How to install skopeo.
pub const SKOPEO_INSTALL: &str = "apt-get install -y skopeo";

/// How to install the oras Python SDK.
pub const ORAS_INSTALL: &str = "apt-get install -y python3 && pip install oras";

/// Runs a client, failing with its output if it fails, and with `install` (how to install it) if it is missing.
pub fn run_client(program: &str, args: &[&str], install: &str) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): install it with `{install}`"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` as a blob of an OCI layout; returns its descriptor.
fn layout_blob(dir: &Path, media_type: &str, bytes: &[u8]) -> serde_json::Value {
    let hex = sha256_hex(bytes);
    crate::write(&dir.join("blobs/sha256").join(&hex), bytes);
    json!({ "mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len() })
}

/// `bytes` gzip-compressed, as layers are pushed (an uncompressed layer would be compressed by skopeo on the way).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .unwrap_or_else(|err| panic!("compressing a layer: {err}"))
}

/// An OCI image layout in `dir` with a three-layer image tagged `v1`; returns the manifest digest.
pub fn build_oci_layout(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("blobs/sha256"))
        .unwrap_or_else(|err| panic!("creating {}: {err}", dir.display()));
    crate::write(
        &dir.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    );
    let layers: Vec<Vec<u8>> = (0..3u8)
        .map(|i| vec![i; 200_000 + usize::from(i) * 12_345])
        .collect();
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_hex(l)))
        .collect();
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config = layout_blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        config.to_string().as_bytes(),
    );
    let layers: Vec<_> = layers
        .iter()
        .map(|l| layout_blob(dir, "application/vnd.oci.image.layer.v1.tar+gzip", &gzip(l)))
        .collect();
    let manifest = json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": layers,
    });
    let mut descriptor = layout_blob(
        dir,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    descriptor["annotations"] = json!({ "org.opencontainers.image.ref.name": "v1" });
    let index = json!({ "schemaVersion": 2, "manifests": [descriptor.clone()] });
    crate::write(&dir.join("index.json"), index.to_string().as_bytes());
    descriptor["digest"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("a descriptor without a digest: {descriptor}"))
}

/// With skopeo, over plain HTTP: copies a multi-layer image from an OCI layout (built in `work/source`) to
/// `host` (`HOST:PORT`), checks that its manifest arrives byte for byte and that its tag is listed, copies it back
/// (to `work/copy`) and checks every blob.
pub fn skopeo_round_trip(host: &str, work: &Path) {
    let source = work.join("source");
    let digest = build_oci_layout(&source);
    let remote = format!("docker://{host}/skopeo/image:v1");
    let source_ref = format!("oci:{}:v1", source.display());
    let skopeo = |args: &[&str]| run_client("skopeo", args, SKOPEO_INSTALL);
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--dest-tls-verify=false",
        &source_ref,
        &remote,
    ]);

    let inspected = skopeo(&["inspect", "--raw", "--tls-verify=false", &remote]);
    assert_eq!(
        format!("sha256:{}", sha256_hex(&inspected.stdout)),
        digest,
        "the manifest arrives byte for byte"
    );
    let tags = skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{host}/skopeo/image"),
    ]);
    let tags: serde_json::Value = serde_json::from_slice(&tags.stdout)
        .unwrap_or_else(|err| panic!("skopeo list-tags: {err}"));
    assert_eq!(tags["Tags"], json!(["v1"]));

    let copy = work.join("copy");
    let copy_ref = format!("oci:{}:v1", copy.display());
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--src-tls-verify=false",
        &remote,
        &copy_ref,
    ]);
    let index = read(&copy.join("index.json"));
    let index: serde_json::Value =
        serde_json::from_slice(&index).unwrap_or_else(|err| panic!("the copy's index: {err}"));
    assert_eq!(index["manifests"][0]["digest"], digest);
    let blobs = source.join("blobs/sha256");
    let entries = std::fs::read_dir(&blobs)
        .unwrap_or_else(|err| panic!("listing {}: {err}", blobs.display()));
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let copied = read(&copy.join("blobs/sha256").join(&name));
        assert_eq!(read(&entry.path()), copied, "{name:?}");
    }
}

/// Pushes, pulls, lists tags and attaches a referrer with the oras SDK; prints OK when every check passed.
const ORAS_SCRIPT: &str = r#"
import hashlib, json, os, sys
import oras.client, oras.oci, requests

host, work = sys.argv[1], sys.argv[2]
client = oras.client.OrasClient(hostname=host, insecure=True)
small, large = os.path.join(work, "policy.wasm"), os.path.join(work, "large.bin")
with open(small, "wb") as f:
    f.write(b"\0asm\1\0\0\0" + bytes(range(256)) * 40)
with open(large, "wb") as f:
    f.write(os.urandom(300_000))
os.chdir(work)
for name, tag, chunked in [("policy.wasm", "v1", False), ("large.bin", "v2", True)]:
    response = client.push(files=[name], target=f"{host}/oras/artifact:{tag}", do_chunked=chunked, chunk_size=65536)
    assert response.status_code == 201, response.text
for tag, name in [("v1", "policy.wasm"), ("v2", "large.bin")]:
    out = os.path.join(work, "pulled-" + tag)
    files = client.pull(target=f"{host}/oras/artifact:{tag}", outdir=out)
    with open(files[0], "rb") as pulled, open(os.path.join(work, name), "rb") as original:
        assert pulled.read() == original.read(), f"{tag} differs"
assert client.get_tags(f"{host}/oras/artifact") == ["v1", "v2"]
assert client.get_tags(f"{host}/oras/artifact", N=1) == ["v1"]

raw = requests.get(f"http://{host}/v2/oras/artifact/manifests/v1",
                   headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
subject = oras.oci.Subject(mediaType=raw.headers["Content-Type"],
                           digest="sha256:" + hashlib.sha256(raw.content).hexdigest(), size=len(raw.content))
sig = os.path.join(work, "signature.json")
with open(sig, "w") as f:
    json.dump({"signed": True}, f)
response = client.push(files=["signature.json"], target=f"{host}/oras/artifact:sig", subject=subject)
assert response.status_code == 201 and response.headers.get("OCI-Subject") == subject.digest, response.headers
referrers = requests.get(f"http://{host}/v2/oras/artifact/referrers/{subject.digest}").json()
assert len(referrers["manifests"]) == 1, referrers
print("OK")
"#;

/// With the oras Python SDK, over plain HTTP to `host` (`HOST:PORT`), working in `work`: pushes a small artifact
/// whole and a larger one in 64 KiB chunks, pulls both back byte for byte, lists tags (whole and paged) and
/// attaches a referrer that the referrers API then lists.
pub fn oras_round_trip(host: &str, work: &Path) {
    let available = Command::new("python3")
        .args(["-c", "import oras.client"])
        .output();
    assert!(
        matches!(&available, Ok(o) if o.status.success()),
        "the oras Python SDK is missing: install it with `{ORAS_INSTALL}`"
    );
    let script = work.join("oras_check.py");
    crate::write(&script, ORAS_SCRIPT.as_bytes());
    let output = run_client(
        "python3",
        &[
            &script.display().to_string(),
            host,
            &work.display().to_string(),
        ],
        ORAS_INSTALL,
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK");
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}
