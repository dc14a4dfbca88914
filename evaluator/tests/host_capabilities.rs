//! The host capabilities through a real waPC guest (`host-call.wat`, which forwards each call to
//! the host and hands back the answer or the host error), against a registry-server on loopback,
//! the system resolver and a file of Kubernetes resources.

use std::collections::BTreeMap;
use std::sync::Arc;

use artifact::metadata::ContextAwareResource;
use artifact::reference::RegistryRef;
use client::remote::credentials::DockerConfig;
use client::remote::{Remote, RemoteOptions};
use evaluator::host_capabilities::{ContextResources, Registry};
use evaluator::{
    AdmittedModule, Engine, EngineConfig, EvaluatorError, KubewardenCapabilities, WapcPolicy,
};
use serde_json::{Value, json};
use signing::keys::PrivateKey;
use signing::registry::Layout;
use test_support::{RegistryServer, compile_fixture, put_blob, put_manifest};

fn engine() -> Engine {
    Engine::new(EngineConfig {
        pooling: false,
        ..EngineConfig::default()
    })
    .unwrap_or_else(|err| panic!("engine: {err}"))
}

fn guest(engine: &Engine, capabilities: KubewardenCapabilities) -> WapcPolicy {
    engine
        .load_wapc_with(
            &AdmittedModule::insecure("host-call.wat", compile_fixture("host-call")),
            Arc::new(capabilities),
        )
        .unwrap_or_else(|err| panic!("loading host-call.wat: {err}"))
}

/// Calls capability `name` through the guest: the answer as JSON, or the host error's text.
fn call(policy: &WapcPolicy, name: &str, payload: &Value) -> Result<Value, String> {
    match policy.call(name, payload.to_string().as_bytes()) {
        Ok(answer) if answer.is_empty() => Ok(Value::Null),
        Ok(answer) => serde_json::from_slice(&answer)
            .map_err(|err| panic!("{name} answered something not JSON: {err}")),
        Err(EvaluatorError::Guest { message, .. }) => Err(message),
        Err(other) => panic!("{name}: the evaluation itself failed: {other}"),
    }
}

fn remote() -> Remote {
    Remote::new(RemoteOptions {
        docker_config: DockerConfig::new(test_support::tempdir().path().join("config.json")),
        sources: Default::default(),
    })
}

/// An image in the registry: a JSON config and one layer; returns its reference and digest.
fn push_image(server: &RegistryServer) -> (String, String) {
    let host = server.host();
    let config = br#"{"architecture":"amd64","os":"linux","config":{"User":"65533"}}"#;
    let layer = b"not really a tarball";
    let config_digest = put_blob(&host, "app/web", config);
    let layer_digest = put_blob(&host, "app/web", layer);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    });
    let digest = put_manifest(&host, "app/web", Some("1.0"), &manifest);
    (format!("{host}/app/web:1.0"), digest)
}

fn sign(image: &str, key: &PrivateKey) {
    let reference: RegistryRef = match image.parse() {
        Ok(artifact::reference::PolicyRef::Registry(reference)) => reference,
        other => panic!("{image}: {other:?}"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("runtime: {err}"));
    let annotations = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
    runtime
        .block_on(signing::registry::sign(
            &remote(),
            &reference,
            key,
            &annotations,
            &[Layout::SignatureTag],
        ))
        .unwrap_or_else(|err| panic!("signing {image}: {err}"));
}

#[test]
fn oci_capabilities_read_the_registry() {
    let server = RegistryServer::start();
    let (image, digest) = push_image(&server);
    let engine = engine();
    let policy = guest(
        &engine,
        KubewardenCapabilities::allowing(["oci/*"]).with_registry(Registry::new(remote(), None)),
    );

    let answer = call(&policy, "oci/v1/manifest_digest", &json!(image));
    assert_eq!(answer, Ok(json!({"digest": digest})));

    let manifest = call(&policy, "oci/v1/oci_manifest", &json!(image))
        .unwrap_or_else(|err| panic!("oci_manifest: {err}"));
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["layers"][0]["size"], 20);

    let both = call(&policy, "oci/v1/oci_manifest_config", &json!(image))
        .unwrap_or_else(|err| panic!("oci_manifest_config: {err}"));
    assert_eq!(both["digest"], digest);
    assert_eq!(both["manifest"], manifest);
    assert_eq!(both["config"]["config"]["User"], "65533");

    let missing = format!("{}/app/web:2.0", server.host());
    let err = call(&policy, "oci/v1/manifest_digest", &json!(missing))
        .expect_err("a missing tag is a host error");
    assert!(err.contains("oci/v1/manifest_digest:"), "{err}");
}

#[test]
fn oci_verify_v1_and_v2_answer_is_trusted_with_the_digest() {
    let server = RegistryServer::start();
    let (image, digest) = push_image(&server);
    let key = PrivateKey::generate().unwrap_or_else(|err| panic!("key: {err}"));
    sign(&image, &key);
    let public = key.public_key().to_pem();
    let engine = engine();
    let policy = guest(
        &engine,
        KubewardenCapabilities::allowing(["oci/v1/verify", "oci/v2/verify"])
            .with_registry(Registry::new(remote(), None)),
    );

    let v1 = json!({"SigstorePubKeyVerify": {"image": image, "pub_keys": [public], "annotations": {"env": "prod"}}});
    assert_eq!(
        call(&policy, "oci/v1/verify", &v1),
        Ok(json!({"is_trusted": true, "digest": digest}))
    );
    let v2 = json!({"type": "SigstorePubKeyVerify", "image": image, "pub_keys": [public], "annotations": null});
    assert_eq!(
        call(&policy, "oci/v2/verify", &v2),
        Ok(json!({"is_trusted": true, "digest": digest}))
    );

    // Another key, or an annotation the signer did not put: not trusted, and the guest is told why.
    let stranger = PrivateKey::generate()
        .unwrap_or_else(|err| panic!("key: {err}"))
        .public_key()
        .to_pem();
    let other_key = json!({"type": "SigstorePubKeyVerify", "image": image, "pub_keys": [stranger], "annotations": null});
    let err = call(&policy, "oci/v2/verify", &other_key).expect_err("another key");
    assert!(
        err.contains("verification of") && err.contains("failed"),
        "{err}"
    );
    let staging = json!({"type": "SigstorePubKeyVerify", "image": image, "pub_keys": [public], "annotations": {"env": "staging"}});
    let err = call(&policy, "oci/v2/verify", &staging).expect_err("unmet annotation");
    assert!(err.contains("env"), "{err}");

    // Keyless without a trust root can never be met: refused, not "trusted".
    let keyless = json!({"type": "SigstoreKeylessVerify", "image": image, "keyless": [{"issuer": "https://issuer.example", "subject": "me@example.com"}], "annotations": null});
    assert!(call(&policy, "oci/v2/verify", &keyless).is_err());
}

#[test]
fn dns_lookup_of_localhost() {
    let engine = engine();
    let policy = guest(
        &engine,
        KubewardenCapabilities::allowing(["net/v1/dns_lookup_host"]),
    );
    let answer = call(&policy, "net/v1/dns_lookup_host", &json!("localhost"))
        .unwrap_or_else(|err| panic!("dns lookup: {err}"));
    let ips = answer["ips"].as_array().cloned().unwrap_or_default();
    assert!(
        ips.iter().any(|ip| ip == "127.0.0.1" || ip == "::1"),
        "{answer}"
    );
}

#[test]
fn kubernetes_resources_come_from_the_file_for_allowed_kinds_only() {
    let resources = ContextResources::from_file(&test_support::testdata_file(
        "requests/context-resources.yml",
    ))
    .unwrap_or_else(|err| panic!("{err}"));
    let engine = engine();
    let capabilities = KubewardenCapabilities::allowing(["kubernetes/*"]).with_context_resources(
        Arc::new(resources),
        [ContextAwareResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
        }],
    );
    let policy = guest(&engine, capabilities);
    let namespaces = call(
        &policy,
        "kubernetes/list_resources_all",
        &json!({"api_version": "v1", "kind": "Namespace", "label_selector": "team=payments"}),
    )
    .unwrap_or_else(|err| panic!("list: {err}"));
    assert_eq!(namespaces["kind"], "NamespaceList");
    assert_eq!(namespaces["items"].as_array().map(Vec::len), Some(1));
    let one = call(
        &policy,
        "kubernetes/get_resource",
        &json!({"api_version": "v1", "kind": "Namespace", "name": "payments", "disable_cache": false}),
    )
    .unwrap_or_else(|err| panic!("get: {err}"));
    assert_eq!(one["metadata"]["labels"]["team"], "payments");
    let err = call(
        &policy,
        "kubernetes/list_resources_by_namespace",
        &json!({"api_version": "apps/v1", "kind": "Deployment", "namespace": "payments"}),
    )
    .expect_err("Deployments are not in contextAwareResources");
    assert!(err.contains("contextAwareResources"), "{err}");
}

#[test]
fn refusals_reach_the_guest_as_host_errors_and_the_host_carries_on() {
    let engine = engine();
    let policy = guest(&engine, KubewardenCapabilities::default());
    for (name, expected) in [
        ("oci/v1/verify", "not available to this policy"),
        ("net/v1/dns_lookup_host", "not available to this policy"),
        (
            "crypto/v1/is_certificate_trusted",
            "not available to this policy",
        ),
        ("kubernetes/get_resource", "not available to this policy"),
        (
            "oci/v7/teleport",
            "unknown host capability kubewarden/oci/v7/teleport",
        ),
    ] {
        let err = call(&policy, name, &json!({})).expect_err(name);
        assert!(err.contains(expected), "{name}: {err}");
    }
    let crypto = guest(
        &engine,
        KubewardenCapabilities::allowing(["crypto/v1/is_certificate_trusted"]),
    );
    let err = call(
        &crypto,
        "crypto/v1/is_certificate_trusted",
        &json!({"cert": {"encoding": "Der", "data": [0, 1, 2]}}),
    )
    .expect_err("garbage certificate");
    assert!(err.contains("does not parse"), "{err}");
    // The same policy keeps serving.
    assert_eq!(
        call(
            &policy,
            "tracing/log",
            &json!({"level": "info", "message": "still here"})
        ),
        Ok(Value::Null)
    );
}

/// A context-aware policy (`wapc-context.wat` lists Namespaces while it validates) accepts with
/// the resources file and the kind in its `contextAwareResources`, and rejects without either.
#[test]
fn a_context_aware_policy_reads_the_resources_file() {
    let engine = engine();
    let module = AdmittedModule::insecure("wapc-context", compile_fixture("wapc-context"));
    let request = evaluator::ValidationRequest {
        request: json!({"uid": "1", "operation": "CREATE"}),
        settings: json!({}),
    };
    let metadata: artifact::metadata::Metadata = serde_json::from_value(json!({
        "mutating": false,
        "contextAwareResources": [{"apiVersion": "v1", "kind": "Namespace"}],
    }))
    .unwrap_or_else(|err| panic!("metadata: {err}"));
    let resources = || {
        ContextResources::from_file(&test_support::testdata_file(
            "requests/context-resources.yml",
        ))
        .unwrap_or_else(|err| panic!("{err}"))
    };
    let evaluate = |metadata: Option<&artifact::metadata::Metadata>,
                    resources: Option<ContextResources>| {
        let capabilities =
            KubewardenCapabilities::for_policy(metadata, &[], resources, Registry::default());
        evaluator::Policy::load_with(&engine, "kubewarden-wapc", &module, Arc::new(capabilities))
            .unwrap_or_else(|err| panic!("wapc-context: {err}"))
            .evaluate(&request)
    };
    assert!(evaluate(Some(&metadata), Some(resources())).accepted);
    let without_file = evaluate(Some(&metadata), None);
    assert_eq!(
        (without_file.accepted, without_file.code),
        (false, Some(403))
    );
    assert!(!evaluate(None, Some(resources())).accepted);
}
