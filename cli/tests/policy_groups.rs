//! `palisade policy-server` serving a policy group of `policies.yml` as users run it (a real server on
//! 127.0.0.1:0, requests over HTTP), refusing to start with an unverified member, and the group's bad
//! input as usage errors.

mod running;

use running::Running;
use test_support::{Palisade, testdata_file, write_fixture};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// `policies.yml` with the group `strict` (`expression`) over the members `accept` and `reject`.
fn write_policies(dir: &std::path::Path, expression: &str) {
    let accept = write_fixture(dir, "wapc-accept");
    let reject = write_fixture(dir, "wapc-reject");
    let text = format!(
        "strict:\n  expression: \"{expression}\"\n  message: the group says no\n  policies:\n    \
         accept:\n      module: file://{}\n    reject:\n      module: file://{}\n",
        accept.display(),
        reject.display()
    );
    std::fs::write(dir.join("policies.yml"), text).unwrap_or_else(|err| panic!("{err}"));
}

#[test]
fn serves_a_group_with_its_members_messages() {
    let dir = test_support::tempdir();
    write_policies(dir.path(), "accept() && (reject() || !accept())");
    let server = Running::start(
        dir.path(),
        &[
            "policy-server",
            "--policies",
            "policies.yml",
            "--insecure-skip-verification",
            "--addr",
            "127.0.0.1:0",
        ],
        &[],
    );
    let review = std::fs::read_to_string(testdata_file("requests/pod-create.json"))
        .unwrap_or_else(|err| panic!("{err}"));
    let (status, _, body) = server.request("POST", "/validate/strict", &review);
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let answer: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}"));
    assert_eq!(
        answer["response"],
        serde_json::json!({
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "allowed": false,
            "status": {
                "message": "the group says no",
                "details": {"causes": [
                    {"field": "spec.policies.reject", "message": "rejected by the fixture policy"}
                ]}
            }
        })
    );
    let (_, _, body) = server.request("GET", "/metrics", "");
    assert!(
        body.contains(
            "palisade_policy_evaluations_total{policy=\"strict\",outcome=\"rejected\"} 1"
        ),
        "{body}"
    );
    server.stop();
}

#[test]
fn an_unverified_member_stops_the_start() {
    let dir = test_support::tempdir();
    let cli = Palisade::new(BIN, dir.path()).with_env("COSIGN_PASSWORD", "pw");
    cli.ok(&["key", "generate", "--output-prefix", "a"]);
    write_policies(dir.path(), "accept() && reject()");
    let err = cli.fails(&[
        "policy-server",
        "--policies",
        "policies.yml",
        "--key",
        "a.pub",
        "--addr",
        "127.0.0.1:0",
    ]);
    for member in ["strict/accept", "strict/reject"] {
        assert!(
            err.contains(&format!("policy {member}: refusing to run"))
                && err.contains("no Sigstore bundle"),
            "{err}"
        );
    }
}

#[test]
fn bad_groups_are_usage_errors_naming_the_group() {
    let dir = test_support::tempdir();
    let cli = Palisade::new(BIN, dir.path());
    for (expression, expected) in [
        (
            "accept() && missing()",
            "policy group strict: the expression calls missing(), which is not a member (members: accept, reject)",
        ),
        (
            "accept() && (reject()",
            "policy group strict: expression \"accept() && (reject()\": column 22: expected `)` closing the `(` at column 13, found the end",
        ),
    ] {
        write_policies(dir.path(), expression);
        let output = cli.run(&[
            "policy-server",
            "--policies",
            "policies.yml",
            "--insecure-skip-verification",
        ]);
        assert_eq!(output.status.code(), Some(2));
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(
            err.contains("policies.yml") && err.contains(expected),
            "{expected}\n{err}"
        );
    }
}

#[test]
fn run_evaluates_a_group_resource_as_kwctl_prints_it() {
    let dir = test_support::tempdir();
    let cli = Palisade::new(BIN, dir.path()).with_env("COSIGN_PASSWORD", "pw");
    cli.ok(&["key", "generate", "--output-prefix", "a"]);
    let mut members = String::new();
    for (name, fixture) in [("accept", "wapc-accept"), ("reject", "wapc-reject")] {
        let module = write_fixture(dir.path(), fixture);
        cli.ok(&["sign", &module.display().to_string(), "--key", "a.key"]);
        members.push_str(&format!(
            "    {name}:\n      module: file://{}\n",
            module.display()
        ));
    }
    let resource = format!(
        "apiVersion: policies.kubewarden.io/v1\nkind: AdmissionPolicyGroup\nmetadata:\n  name: strict\n\
         spec:\n  expression: \"accept() && reject()\"\n  message: the group says no\n  policies:\n{members}"
    );
    std::fs::write(dir.path().join("group.yaml"), resource).unwrap_or_else(|err| panic!("{err}"));
    let request = testdata_file("requests/pod-create.json")
        .display()
        .to_string();
    let out = cli.ok(&["run", "group.yaml", "-r", &request, "--key", "a.pub"]);
    assert_eq!(
        out,
        "{\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\",\"allowed\":false,\"status\":{\"message\":\
         \"the group says no\",\"details\":{\"causes\":[{\"reason\":null,\"message\":\"rejected by the \
         fixture policy\",\"field\":\"spec.policies.reject\"}]}},\"auditAnnotations\":null,\"warnings\":null}\n"
    );

    // Flags about one module do not apply to a group; a resource that is not a group is refused.
    let output = cli.run(&[
        "run",
        "group.yaml",
        "-r",
        &request,
        "--key",
        "a.pub",
        "--settings-json",
        "{}",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--settings-json cannot be used with a policy group"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("policy.yaml"),
        "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\n",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let output = cli.run(&["run", "policy.yaml", "-r", &request, "--key", "a.pub"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("policy.yaml") && err.contains("kind \"ClusterAdmissionPolicy\""),
        "{err}"
    );
}
