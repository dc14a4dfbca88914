//! `palisade policy-server` reloading its policies as a real process: on SIGHUP, when the file is edited,
//! when a Kubernetes ConfigMap's `..data` symlink is swapped, and a broken file that leaves it serving.

mod running;

use std::path::Path;
use std::time::{Duration, Instant};

use running::Running;
use serde_json::Value;
use test_support::{testdata_file, write_fixture};

/// `policies.yml` text: `accept` (accepts) and, when `with_reject`, `reject` (rejects), both local files in `dir`.
fn policies(dir: &Path, with_reject: bool) -> String {
    let accept = write_fixture(dir, "wapc-accept");
    let mut text = format!("accept:\n  module: file://{}\n", accept.display());
    if with_reject {
        let reject = write_fixture(dir, "wapc-reject");
        text.push_str(&format!("reject:\n  module: file://{}\n", reject.display()));
    }
    text
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
}

fn start(dir: &Path, policies: &str, extra: &[&str]) -> Running {
    let mut args = vec![
        "policy-server",
        "--policies",
        policies,
        "--insecure-skip-verification",
        "--addr",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    Running::start(dir, &args, &[])
}

/// `GET /policies`, parsed.
fn view(server: &Running) -> Value {
    let (status, _, body) = server.request("GET", "/policies", "");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}"))
}

/// Waits (at most 30 s) until `/policies` satisfies `done`; returns it.
fn wait_for(server: &Running, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let view = view(server);
        if done(&view) {
            return view;
        }
        assert!(Instant::now() < deadline, "waited 30 s for {what}: {view}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether policy `id` accepts the pod request.
fn allowed(server: &Running, id: &str) -> bool {
    let review = std::fs::read_to_string(testdata_file("requests/pod-create.json"))
        .unwrap_or_else(|err| panic!("{err}"));
    let (status, _, body) = server.request("POST", &format!("/validate/{id}"), &review);
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}"));
    answer["response"]["allowed"] == true
}

#[test]
fn sighup_reloads_and_unwatched_edits_wait_for_it() {
    let dir = test_support::tempdir();
    let file = dir.path().join("policies.yml");
    write(&file, &policies(dir.path(), false));
    let server = start(dir.path(), "policies.yml", &["--no-watch-policies"]);
    assert_eq!(view(&server)["generation"], 1);

    write(&file, &policies(dir.path(), true));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(view(&server)["generation"], 1, "not watched: no reload");
    let (status, _, _) = server.request("POST", "/validate/reject", "{}");
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    server.signal("HUP");
    let view = wait_for(&server, "generation 2", |view| view["generation"] == 2);
    assert_eq!(view["policies"]["accept"]["origin"], "reused");
    assert_eq!(view["policies"]["reject"]["origin"], "loaded");
    assert!(!allowed(&server, "reject"));
    assert!(allowed(&server, "accept"));
    // SIGHUP reloads even an unchanged file (tags are resolved again): everything reused.
    server.signal("HUP");
    wait_for(&server, "generation 3", |view| view["generation"] == 3);
    let logs = server.stop();
    assert!(
        logs.contains("policies reloaded: generation 2: 1 loaded (reject), 1 reused, 0 removed")
            && logs.contains("policies reloaded: generation 3: 0 loaded, 2 reused, 0 removed"),
        "{logs}"
    );
}

#[test]
fn an_edited_file_is_reloaded_and_a_broken_one_leaves_it_serving() {
    let dir = test_support::tempdir();
    let file = dir.path().join("policies.yml");
    write(&file, &policies(dir.path(), false));
    let server = start(dir.path(), "policies.yml", &[]);

    write(&file, &policies(dir.path(), true));
    wait_for(&server, "the edit", |view| view["generation"] == 2);
    assert!(!allowed(&server, "reject"));

    // The same content written again is no change.
    write(&file, &policies(dir.path(), true));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(view(&server)["generation"], 2);

    // A file that no longer parses: the live generation serves, and says why.
    write(&file, "accept:\n  module: [unclosed\n");
    let failed = wait_for(&server, "the failed reload", |view| {
        view["lastReload"]["result"] == "failure"
    });
    assert_eq!(failed["generation"], 2);
    assert!(allowed(&server, "accept"));
    let (status, _, readiness) = server.request("GET", "/readiness", "");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        readiness.starts_with("ready: generation 2")
            && readiness.contains("last reload failed at ")
            && readiness.contains("invalid configuration: policies file"),
        "{readiness}"
    );
    let (_, _, metrics) = server.request("GET", "/metrics", "");
    assert!(
        metrics.contains("palisade_policy_server_last_reload_success 0")
            && metrics.contains("palisade_policy_server_generation 2"),
        "{metrics}"
    );

    // The file gone is a failed reload too; back, it reloads even with the content it had.
    std::fs::remove_file(&file).unwrap_or_else(|err| panic!("{err}"));
    wait_for(&server, "the missing file", |view| {
        view["lastReload"]["error"]
            .as_str()
            .is_some_and(|error| error.contains("No such file"))
    });
    write(&file, &policies(dir.path(), false));
    let view = wait_for(&server, "the fixed file", |view| {
        view["lastReload"]["result"] == "success"
    });
    assert_eq!(view["generation"], 3);
    let (status, _, _) = server.request("POST", "/validate/reject", "{}");
    assert_eq!(status, "HTTP/1.1 404 Not Found", "removed");
    let logs = server.stop();
    assert!(
        logs.contains("reload failed: the live generation keeps serving")
            && logs.contains("generation 3: 0 loaded, 1 reused, 1 removed (reject)"),
        "{logs}"
    );
}

#[test]
fn a_configmap_symlink_swap_is_reloaded() {
    let dir = test_support::tempdir();
    let mount = dir.path().join("config");
    let version = |name: &str, text: &str| {
        let folder = mount.join(name);
        std::fs::create_dir_all(&folder).unwrap_or_else(|err| panic!("{err}"));
        write(&folder.join("policies.yml"), text);
    };
    let link = |target: &str, at: &str| {
        std::os::unix::fs::symlink(target, mount.join(at)).unwrap_or_else(|err| panic!("{err}"))
    };
    // As the kubelet lays a ConfigMap out: the file is a link through `..data`, itself a link.
    version("..2026_12_07_01", &policies(dir.path(), false));
    link("..2026_12_07_01", "..data");
    link("..data/policies.yml", "policies.yml");
    let server = start(dir.path(), "config/policies.yml", &[]);

    version("..2026_12_07_02", &policies(dir.path(), true));
    link("..2026_12_07_02", "..data_tmp");
    std::fs::rename(mount.join("..data_tmp"), mount.join("..data"))
        .unwrap_or_else(|err| panic!("{err}"));
    let view = wait_for(&server, "the swap", |view| view["generation"] == 2);
    assert_eq!(view["policies"]["reject"]["origin"], "loaded");
    assert!(!allowed(&server, "reject"));
    server.stop();
}
