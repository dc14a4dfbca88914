//! One `Remote` reaches a registry once: the operations after the first reuse the transport it found and the
//! oci-client that holds its connections and tokens, instead of probing the registry again; a new `Remote`
//! probes it afresh. Counted by the real registry-server's own request metrics.

use artifact::oci::policy::PolicyArtifact;
use artifact::reference::{PolicyRef, RegistryRef};
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use test_support::{RegistryServer, module_of_size};

fn remote() -> Remote {
    Remote::new(RemoteOptions {
        docker_config: DockerConfig::none(),
        sources: Sources::default(),
    })
}

/// Every request the registry has answered so far (the metrics request included), from its `/metrics`.
async fn answered(registry: &RegistryServer) -> u64 {
    let url = format!("http://{}/metrics", registry.host());
    let text = reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|err| panic!("{url}: {err}"))
        .text()
        .await
        .unwrap_or_else(|err| panic!("{url}: {err}"));
    text.lines()
        .filter(|line| line.starts_with("palisade_registry_http_requests_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// How many requests the registry answered for `pull` (and one metrics request).
async fn requests_of(registry: &RegistryServer, remote: &Remote, reference: &RegistryRef) -> u64 {
    let before = answered(registry).await;
    remote
        .pull(reference)
        .await
        .unwrap_or_else(|err| panic!("pulling {reference}: {err}"));
    answered(registry).await - before
}

#[test]
fn operations_after_the_first_reuse_the_connection() {
    let registry = RegistryServer::start();
    let reference = match format!("registry://{}/policies/p:v1", registry.host()).parse() {
        Ok(PolicyRef::Registry(reference)) => reference,
        other => panic!("{other:?}"),
    };
    let artifact = PolicyArtifact::build(module_of_size(4096), None, Some("2023-11-14T22:13:20Z"))
        .unwrap_or_else(|err| panic!("{err}"));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|err| panic!("{err}"));
    runtime.block_on(async {
        let client = remote();
        client
            .push(&artifact, &reference)
            .await
            .unwrap_or_else(|err| panic!("pushing: {err}"));
        let first = requests_of(&registry, &client, &reference).await;
        let second = requests_of(&registry, &client, &reference).await;
        assert_eq!(first, second, "each pull on the same client costs the same");
        let fresh = requests_of(&registry, &remote(), &reference).await;
        assert!(
            fresh > first,
            "a new client probes the registry ({fresh} requests), one that reached it before does not ({first})"
        );
    });
}
