//! Attaching SBOMs to a policy in the bundled registry: listed by its referrers API, in both formats.

mod support;

use artifact::reference::{PolicyRef, RegistryRef};
use client::distribute::{PushSource, push};
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use sbom::attach::attach;
use sbom::{Format, Origin, Sbom, creation_time, render};

#[test]
fn both_formats_are_listed_as_referrers_of_the_policy() {
    let registry = test_support::RegistryServer::start();
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    let path = dir.path().join("policy.wasm");
    std::fs::write(&path, &module).unwrap_or_else(|err| panic!("{err}"));
    let text = format!("registry://{}/policies/pod-guard:v1", registry.host());
    let reference = match text.parse::<PolicyRef>() {
        Ok(PolicyRef::Registry(reference)) => reference,
        other => panic!("{other:?}"),
    };
    let remote = Remote::new(RemoteOptions {
        docker_config: DockerConfig::new(dir.path().join("docker")),
        sources: Sources::default(),
    });
    let created = creation_time(Some("1700000000")).unwrap_or_else(|err| panic!("{err}"));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|err| panic!("{err}"));
    runtime.block_on(async {
        let pushed = push(
            &remote,
            &PushSource::Module(path),
            &PolicyRef::Registry(reference.clone()),
            false,
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        )
        .await
        .unwrap_or_else(|err| panic!("pushing: {err}"));
        let pinned: RegistryRef = reference.with_digest(pushed.digest.clone());
        let sbom = Sbom::build(&module, &Origin::Registry(pinned), &Default::default())
            .unwrap_or_else(|err| panic!("{err}"));
        let mut referrers = Vec::new();
        for format in [Format::SpdxJson, Format::CycloneDxJson] {
            let document = render(&sbom, format, created).unwrap_or_else(|err| panic!("{err}"));
            let file = dir.path().join(format!("attached-{}.json", format.name()));
            std::fs::write(&file, &document).unwrap_or_else(|err| panic!("{err}"));
            match format {
                Format::SpdxJson => {
                    test_support::validate_spdx(&file);
                    // A pulled policy with metadata meets the NTIA minimum elements.
                    let report = test_support::ntia_report(&file);
                    assert_eq!(report["isNtiaConformant"], true, "{report}");
                }
                Format::CycloneDxJson => test_support::validate_cyclonedx(&file),
            }
            let attached = attach(&remote, &reference, &document, created)
                .await
                .unwrap_or_else(|err| panic!("attaching {format}: {err}"));
            assert_eq!(attached.subject, pushed.digest);
            assert_eq!(attached.artifact_type, format.media_type());
            assert_eq!(attached.fallback_tag, None);
            referrers.push(attached.referrer);
        }
        let repository = remote
            .repository(&reference)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        for format in [Format::SpdxJson, Format::CycloneDxJson] {
            let listed = repository
                .referrers(&pushed.digest, Some(format.media_type()))
                .await
                .unwrap_or_else(|err| panic!("{err}"));
            assert_eq!(listed.len(), 1, "{format}: {listed:?}");
            assert!(referrers.contains(&listed[0].digest));
            assert_eq!(
                listed[0].artifact_type.as_deref(),
                Some(format.media_type())
            );
        }
    });
}
