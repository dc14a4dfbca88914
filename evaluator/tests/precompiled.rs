//! Signed precompiled modules against a real registry-server: `publish` pushes and signs the referrer, a
//! server trusting its key loads it instead of compiling, and every referrer that is not exactly right (a
//! flipped byte, another signer, another module, another engine) is refused and the module compiled.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use artifact::oci::policy::PolicyArtifact;
use artifact::reference::RegistryRef;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use evaluator::EngineConfig;
use evaluator::gate::{Admission, AdmittedModule, Verification};
use evaluator::precompiled::{self, EngineIdentity, PrecompiledTrust};
use evaluator::server::{IsolationLimits, PoliciesFile, ServerState, StartOptions, app};
use evaluator::{Engine, EvaluatorError};
use serde_json::Value;
use signing::config::VerificationConfig;
use signing::keys::PrivateKey;
use signing::registry::Layout;
use test_support::{RegistryServer, compile_fixture, testdata_file};
use tower::ServiceExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn remote() -> Remote {
    Remote::new(RemoteOptions {
        docker_config: DockerConfig::none(),
        sources: Sources::default(),
    })
}

fn engine_config() -> EngineConfig {
    EngineConfig {
        deadline: Duration::from_millis(500),
        ..EngineConfig::default()
    }
}

/// A registry with the fixtures `wapc-accept` (`policies/accept:v1`) and `wapc-reject`
/// (`policies/reject:v1`), both signed by `policy_key`.
struct Setup {
    registry: RegistryServer,
    accept: RegistryRef,
    reject: RegistryRef,
    policy_key: PrivateKey,
}

impl Setup {
    async fn new() -> Result<Setup, Box<dyn std::error::Error>> {
        // The refusals' reasons show in a failing test's output.
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let registry = RegistryServer::start();
        let policy_key = PrivateKey::generate()?;
        let accept = push_signed(
            &registry,
            "accept",
            compile_fixture("wapc-accept"),
            &policy_key,
        )
        .await?;
        let reject = push_signed(
            &registry,
            "reject",
            compile_fixture("wapc-reject"),
            &policy_key,
        )
        .await?;
        Ok(Setup {
            registry,
            accept,
            reject,
            policy_key,
        })
    }

    fn admission(&self) -> Result<Admission, Box<dyn std::error::Error>> {
        Ok(Admission::Verify(Verification {
            config: VerificationConfig::for_keys(
                &[self.policy_key.public_key().to_pem()],
                &BTreeMap::new(),
            )?,
            trust_root: signing::trust::TrustRoot::production()?,
        }))
    }

    /// `precompile`s `policy` (verified with the policy key) for the server's engine, signed by `signer`.
    async fn publish(
        &self,
        policy: &RegistryRef,
        signer: &PrivateKey,
    ) -> Result<precompiled::Published, Box<dyn std::error::Error>> {
        let admission = self.admission()?;
        Ok(precompiled::publish(&remote(), policy, &admission, engine_config(), signer).await?)
    }

    /// Starts a server with `accept` as policy `p`, trusting `trusted` for precompiled modules; returns
    /// it with the trust, whose counters say what was loaded and what compiled.
    async fn start(
        &self,
        trusted: &PrivateKey,
    ) -> Result<(Arc<ServerState>, Arc<PrecompiledTrust>), Box<dyn std::error::Error>> {
        self.start_with(&self.accept, trusted).await
    }

    /// [`Setup::start`] with `policy` as `p`.
    async fn start_with(
        &self,
        policy: &RegistryRef,
        trusted: &PrivateKey,
    ) -> Result<(Arc<ServerState>, Arc<PrecompiledTrust>), Box<dyn std::error::Error>> {
        let trust = Arc::new(PrecompiledTrust::for_keys(&[trusted
            .public_key()
            .to_pem()])?);
        let file = PoliciesFile::from_yaml(&format!("p:\n  module: {policy}\n"))?;
        let options = StartOptions {
            remote: remote(),
            admission: self.admission()?,
            store: None,
            engine: engine_config(),
            cache: None,
            precompiled: Some(Arc::clone(&trust)),
            continue_on_errors: false,
            workers: 2,
            isolation: IsolationLimits::default(),
            allowed_capabilities: Vec::new(),
            context_resources: None,
        };
        let state = Arc::new(ServerState::start(&file, options).await?);
        Ok((state, trust))
    }

    /// Pushes `compiled` (made for `identity`, said to come from the module `source`) as a referrer of
    /// `accept` and signs it with `key`.
    async fn attach(
        &self,
        identity: &EngineIdentity,
        source: &artifact::oci::Digest,
        compiled: &[precompiled::CompiledModule],
        key: &PrivateKey,
    ) -> Result<artifact::oci::Digest, Box<dyn std::error::Error>> {
        let repository = remote().repository(&self.accept).await?;
        let policy = repository.resolve().await?;
        let referrer = precompiled::referrer(
            identity,
            policy.descriptor(),
            source,
            compiled,
            "2026-01-01T00:00:00Z",
        )?;
        let digest =
            signing::registry::push_referrer(&repository, &policy.digest(), &referrer).await?;
        signing::registry::sign(
            &remote(),
            &self.accept.with_digest(digest.clone()),
            key,
            &BTreeMap::new(),
            &[Layout::SignatureTag],
        )
        .await?;
        Ok(digest)
    }
}

/// Pushes `module` as `policies/NAME:v1` and signs it with `key`.
async fn push_signed(
    registry: &RegistryServer,
    name: &str,
    module: Vec<u8>,
    key: &PrivateKey,
) -> Result<RegistryRef, Box<dyn std::error::Error>> {
    let reference: RegistryRef =
        format!("registry://{}/policies/{name}:v1", registry.host()).parse()?;
    let artifact = PolicyArtifact::build(module, None, None)?;
    remote().push(&artifact, &reference).await?;
    signing::registry::sign(
        &remote(),
        &reference,
        key,
        &BTreeMap::new(),
        &[Layout::SignatureTag],
    )
    .await?;
    Ok(reference)
}

/// Whether the server's policy `p` accepts the pod-create review.
async fn accepts(state: &Arc<ServerState>) -> Result<bool, Box<dyn std::error::Error>> {
    let review = std::fs::read_to_string(testdata_file("requests/pod-create.json"))?;
    let response = app(Arc::clone(state))
        .oneshot(
            Request::post("/validate/p")
                .header("content-type", "application/json")
                .body(Body::from(review))?,
        )
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let answer: Value = serde_json::from_slice(&bytes)?;
    Ok(answer["response"]["allowed"] == true)
}

/// The server's `/metrics`.
async fn metrics(state: &Arc<ServerState>) -> Result<String, Box<dyn std::error::Error>> {
    let response = app(Arc::clone(state))
        .oneshot(Request::get("/metrics").body(Body::empty())?)
        .await?;
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok(String::from_utf8(bytes.to_vec())?)
}

/// The modules `fixture` compiles to with the server's engine.
fn compile(fixture: &str) -> Result<Vec<precompiled::CompiledModule>, EvaluatorError> {
    let engine = Engine::new(engine_config())?;
    precompiled::compile(
        &engine,
        &AdmittedModule::insecure(fixture, compile_fixture(fixture)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_referrer_is_loaded_instead_of_compiling() -> TestResult {
    let setup = Setup::new().await?;
    let signer = PrivateKey::generate()?;
    let published = setup.publish(&setup.accept, &signer).await?;
    assert_eq!(published.modules, 1);
    assert_eq!(
        published.subject,
        remote().manifest_digest(&setup.accept).await?
    );
    let listed = referrers(&setup.accept, &published).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].digest, published.referrer);

    let (state, trust) = setup.start(&signer).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (1, 0));
    assert!(accepts(&state).await?);
    let served = metrics(&state).await?;
    assert!(
        served.contains("palisade_precompiled_modules_total{source=\"referrer\"} 1"),
        "{served}"
    );

    // Another key is not trusted for it: compiled, and it answers all the same.
    let (state, trust) = setup.start(&PrivateKey::generate()?).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (0, 1));
    assert!(accepts(&state).await?);
    let served = metrics(&state).await?;
    assert!(
        served.contains("palisade_precompiled_modules_total{source=\"compiled\"} 1"),
        "{served}"
    );
    Ok(())
}

/// Where the registry stores the blob `digest`.
fn stored_blob(registry: &RegistryServer, digest: &artifact::oci::Digest) -> std::path::PathBuf {
    registry
        .root()
        .join("blobs")
        .join("sha256")
        .join(digest.hex())
}

/// The referrers of `published`'s subject (in the repository of `policy`) of its artifact type.
async fn referrers(
    policy: &RegistryRef,
    published: &precompiled::Published,
) -> Result<Vec<artifact::oci::manifest::Descriptor>, Box<dyn std::error::Error>> {
    Ok(remote()
        .repository(policy)
        .await?
        .referrers(&published.subject, Some(&published.artifact_type))
        .await?)
}

/// The first layer of the referrer `published` pushed.
async fn compiled_layer(
    policy: &RegistryRef,
    published: &precompiled::Published,
) -> Result<artifact::oci::Digest, Box<dyn std::error::Error>> {
    let repository = remote().repository(policy).await?;
    let manifest = repository
        .manifest(&published.referrer.to_string())
        .await?
        .ok_or("no referrer")?;
    let manifest: artifact::oci::manifest::ImageManifest = serde_json::from_slice(&manifest.bytes)?;
    Ok(manifest.layers[0].digest.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_again_reuses_the_signed_referrer_unless_it_is_damaged() -> TestResult {
    let setup = Setup::new().await?;
    let signer = PrivateKey::generate()?;
    let first = setup.publish(&setup.accept, &signer).await?;
    assert!(!first.reused);
    let again = setup.publish(&setup.accept, &signer).await?;
    assert!(again.reused);
    assert_eq!(again.referrer, first.referrer);
    assert_eq!(again.modules, 1);
    assert_eq!(referrers(&setup.accept, &again).await?.len(), 1);

    // A referrer whose layer the registry lost is not reused: a new one is pushed (with the layer), and
    // the server loads that one.
    let layer = compiled_layer(&setup.accept, &first).await?;
    std::fs::remove_file(stored_blob(&setup.registry, &layer))?;
    let repaired = setup.publish(&setup.accept, &signer).await?;
    assert!(!repaired.reused);
    assert_ne!(repaired.referrer, first.referrer);
    assert_eq!(referrers(&setup.accept, &repaired).await?.len(), 2);
    let (state, trust) = setup.start(&signer).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (1, 0));
    assert!(accepts(&state).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flipped_byte_in_the_compiled_layer_is_refused() -> TestResult {
    let setup = Setup::new().await?;
    let signer = PrivateKey::generate()?;
    let published = setup.publish(&setup.accept, &signer).await?;
    let stored = stored_blob(
        &setup.registry,
        &compiled_layer(&setup.accept, &published).await?,
    );
    let mut bytes = std::fs::read(&stored)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&stored, bytes)?;

    let (state, trust) = setup.start(&signer).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (0, 1));
    assert!(accepts(&state).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signed_compilation_of_another_module_is_refused() -> TestResult {
    let setup = Setup::new().await?;
    let signer = PrivateKey::generate()?;
    let identity = Engine::new(engine_config())?.identity();
    // What `publish` signs for `reject`, attached to `accept` by the trusted signer: it says so itself.
    let reject_module = compile_fixture("wapc-reject");
    let reject_source = artifact::oci::Digest::sha256_of(&reject_module);
    setup
        .attach(&identity, &reject_source, &compile("wapc-reject")?, &signer)
        .await?;
    // And the same compiled module claimed to be `accept`'s: its layer names the Wasm it compiles.
    let accept_source = artifact::oci::Digest::sha256_of(&compile_fixture("wapc-accept"));
    setup
        .attach(&identity, &accept_source, &compile("wapc-reject")?, &signer)
        .await?;

    let (state, trust) = setup.start(&signer).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (0, 1));
    // `accept` still accepts: nothing of `reject` was loaded in its place.
    assert!(accepts(&state).await?);
    // `reject` itself has no referrer: untouched by what was attached to `accept`.
    assert!(
        remote()
            .repository(&setup.reject)
            .await?
            .referrers(
                &remote().manifest_digest(&setup.reject).await?,
                Some(&identity.artifact_type())
            )
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compilation_for_another_engine_is_refused() -> TestResult {
    let setup = Setup::new().await?;
    let signer = PrivateKey::generate()?;
    let ours = Engine::new(engine_config())?.identity();
    let source = artifact::oci::Digest::sha256_of(&compile_fixture("wapc-accept"));
    let compiled = compile("wapc-accept")?;
    // Another engine configuration: another artifact type, never listed for ours.
    let other = EngineIdentity {
        hash: "0".repeat(64),
        ..ours.clone()
    };
    setup.attach(&other, &source, &compiled, &signer).await?;
    // Our artifact type, but the full engine hash is not ours.
    let mut lying = ours.clone();
    lying.hash.replace_range(20.., &"0".repeat(44));
    setup.attach(&lying, &source, &compiled, &signer).await?;

    let (state, trust) = setup.start(&signer).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (0, 1));
    assert!(accepts(&state).await?);

    // The right engine's compilation, signed as well: that one is loaded.
    setup.attach(&ours, &source, &compiled, &signer).await?;
    let (state, trust) = setup.start(&signer).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (1, 0));
    assert!(accepts(&state).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rego_policy_loads_each_module_it_compiles_from_the_referrer() -> TestResult {
    let Some(path) = test_support::shared_policy(
        "a_rego_policy_loads_each_module_it_compiles_from_the_referrer",
        "gatekeeper_always_unhappy_policy.wasm",
    ) else {
        return Ok(());
    };
    let setup = Setup::new().await?;
    let rego = push_signed(
        &setup.registry,
        "rego",
        std::fs::read(path)?,
        &setup.policy_key,
    )
    .await?;
    let signer = PrivateKey::generate()?;
    let published = setup.publish(&rego, &signer).await?;
    // The module as it is instrumented, and the pre-initialised one built after its set-up ran.
    assert_eq!(published.modules, 2);

    let (state, trust) = setup.start_with(&rego, &signer).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (2, 0));
    assert!(!accepts(&state).await?);
    let (state, trust) = setup.start_with(&rego, &setup.policy_key).await?;
    assert_eq!((trust.loaded(), trust.compiled()), (0, 2));
    assert!(!accepts(&state).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_a_missing_policy_fails_naming_it() -> TestResult {
    let setup = Setup::new().await?;
    let missing: RegistryRef =
        format!("registry://{}/policies/missing:v1", setup.registry.host()).parse()?;
    let err = precompiled::publish(
        &remote(),
        &missing,
        &Admission::InsecureSkipVerification,
        engine_config(),
        &setup.policy_key,
    )
    .await
    .map(|_| ())
    .map_err(|err| err.describe());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("policies/missing:v1")),
        "{err:?}"
    );
    Ok(())
}
