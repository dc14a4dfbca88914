//! Verification of one key-signed policy, network excluded: the evidence is built in memory the way
//! `signing::registry::check` builds it from what it fetched. `cargo bench -p palisade-signing`.

use std::collections::BTreeMap;

use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types};
use criterion::{Criterion, criterion_group, criterion_main};
use signing::config::VerificationConfig;
use signing::keys::{PrivateKey, generate};
use signing::simple_signing;
use signing::verify::{Evidence, verify};

fn verification(c: &mut Criterion) {
    let files = generate(b"bench").unwrap_or_else(|err| panic!("{err}"));
    let key = PrivateKey::from_pem(files.private_pem.as_bytes(), b"bench")
        .unwrap_or_else(|err| panic!("{err}"));
    let manifest = ImageManifest::new(
        Descriptor::of(media_types::WASM_CONFIG, b"{}"),
        vec![Descriptor::of(media_types::WASM_LAYER, b"\0asm\x01\0\0\0")],
    );
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap_or_else(|err| panic!("{err}"));
    let digest = Digest::sha256_of(&manifest_bytes);
    let annotations = BTreeMap::from([("env".to_string(), "prod".to_string())]);
    let signature =
        simple_signing::sign(&key, "registry.example/policies/p", &digest, &annotations);
    let image = simple_signing::merge(None, &[signature]).unwrap_or_else(|err| panic!("{err}"));
    let config =
        VerificationConfig::for_keys(std::slice::from_ref(&files.public_pem), &annotations)
            .unwrap_or_else(|err| panic!("{err}"));

    c.bench_function("verify one key-signed .sig layer", |b| {
        b.iter(|| {
            let mut evidence = Evidence::new();
            for layer in simple_signing::signature_layers(&image.manifest) {
                if let Some(blob) = image
                    .blobs
                    .iter()
                    .find(|blob| blob.descriptor.digest == layer.digest)
                {
                    evidence.add_simple_signing_layer(layer, &blob.content);
                }
            }
            verify(
                "registry.example/policies/p:v1",
                &digest,
                &manifest_bytes,
                &evidence,
                &config,
            )
            .unwrap_or_else(|err| panic!("{err}"))
        })
    });
}

criterion_group!(benches, verification);
criterion_main!(benches);
