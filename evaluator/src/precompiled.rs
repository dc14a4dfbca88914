//! Signed precompiled modules, shared through the registry: a policy compiled once for an engine
//! configuration, pushed as an OCI referrer of the policy's manifest and signed, so that every replica
//! of a policy server with the same engine loads it instead of compiling.
//!
//! # The artifact
//!
//! An OCI image manifest (Kubewarden has no such thing; this format is palisade's):
//! - `subject`: the policy manifest;
//! - `artifactType`: [`media_types::precompiled_artifact_type`] of wasmtime's module format version, the
//!   target (`x86_64-linux`) and the first 12 hex digits of the engine-configuration hash, e.g.
//!   `application/vnd.palisade.wasmtime.48.x86_64-linux.1a2b3c4d5e6f`: a server asks the registry for
//!   the referrers of its own type only;
//! - the empty config (`application/vnd.oci.empty.v1+json`);
//! - one layer ([`media_types::PRECOMPILED_LAYER`]) per module the host compiles for the policy: wasmtime's
//!   serialised module, annotated with [`INPUT_ANNOTATION`], the digest of the Wasm it is the compilation
//!   of (the policy's module itself; a Rego policy also has the pre-initialised module the host derives
//!   from it);
//! - annotations: [`SOURCE_ANNOTATION`] (the digest of the policy's Wasm layer), [`WASMTIME_ANNOTATION`],
//!   [`TARGET_ANNOTATION`], [`ENGINE_ANNOTATION`] (the full engine-configuration hash,
//!   [`crate::cache`]'s notion) and the creation time (to the millisecond).
//!
//! Its manifest digest is signed as any policy is: cosign's `sha256-<hex>.sig` image.
//!
//! # Publishing again
//!
//! [`publish`] is idempotent, as a CI job run again expects: when the policy manifest already has a
//! referrer of this engine that the signing key's public key verifies exactly as a server would ([`verify`],
//! the server's own checks) and whose layers are the compilations of exactly the Wasm this compilation
//! covers, it is reported as reused and nothing is pushed. Anything else (another signer, a damaged layer,
//! other inputs) gets a new referrer, signed. Signing is deterministic (ECDSA with RFC 6979 nonces), and an
//! identical signature layer is never appended twice to the `.sig` image.
//!
//! The engine hash covers what changes compiled code: wasmtime's version, the compiler's settings and the
//! CPU features it compiles for (detected on the host), not the deadline, memory limit or allocator of a
//! server. A module precompiled on a machine whose CPU has other features is refused, and compiled.
//!
//! # Loading
//!
//! Deserialising a compiled module runs code this process did not compile from validated Wasm; besides
//! the private module cache (`cache.rs`), it only ever happens here, on bytes [`find`] verified: a signature by a key trusted for
//! precompiled modules ([`PrecompiledTrust`]) on the referrer's manifest, that manifest's subject equal to
//! the policy's verified manifest digest, its source annotation equal to the digest of the admitted module,
//! its artifact type and engine hash equal to this engine's, each layer's bytes equal to its digest. Only
//! then is there a [`VerifiedPrecompiled`] (which nothing else can make), and an engine only takes it
//! ([`Engine::with_precompiled`]) for the [`AdmittedModule`] it was compiled from; it deserialises a layer
//! only in place of compiling exactly the Wasm whose digest the layer names. Anything else is logged and
//! the module is compiled as usual.
//!
//! A `VerifiedPrecompiled` cannot be made from parts:
//!
//! ```compile_fail
//! let found = evaluator::precompiled::VerifiedPrecompiled { referrer: String::new(), digest: "sha256:00".parse().unwrap(), source: "sha256:00".parse().unwrap(), modules: Default::default() };
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types};
use artifact::reference::{PolicyRef, RegistryRef};
use client::remote::Remote;
use signing::bundle::Referrer;
use signing::keys::PrivateKey;
use signing::registry::Layout;

use crate::engine::{Engine, EngineConfig};
use crate::error::{EvaluatorError, Refusal};
use crate::gate::{self, Admission, AdmittedModule, Provenance};
use crate::module_source::Precompiled;
pub use crate::module_source::{CompiledModule, PrecompiledTrust};
use crate::policy::Policy;

/// Manifest annotation: the digest of the policy module (its Wasm layer) the artifact was compiled from.
pub const SOURCE_ANNOTATION: &str = "io.palisade.precompiled.source";
/// Layer annotation: the digest of the Wasm this layer is the compilation of.
pub const INPUT_ANNOTATION: &str = "io.palisade.precompiled.input";
/// Manifest annotation: wasmtime's module format version (its major version).
pub const WASMTIME_ANNOTATION: &str = "io.palisade.precompiled.wasmtime";
/// Manifest annotation: the target the code was compiled for (`x86_64-linux`).
pub const TARGET_ANNOTATION: &str = "io.palisade.precompiled.target";
/// Manifest annotation: the full engine-configuration hash (hex SHA-256).
pub const ENGINE_ANNOTATION: &str = "io.palisade.precompiled.engine";

/// How many hex digits of the engine hash the artifact type carries.
const SHORT_HASH: usize = 12;

/// What compiled code of an engine is compatible with: code compiled by one engine loads into another
/// only when all three are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineIdentity {
    /// wasmtime's module format version (its major version, as wasmtime records it in compiled code).
    pub wasmtime: String,
    /// The target: `ARCH-OS` of this build.
    pub target: String,
    /// The engine-configuration hash, hex.
    pub hash: String,
}

impl EngineIdentity {
    /// The `artifactType` of this engine's precompiled referrers.
    pub fn artifact_type(&self) -> String {
        let short = self.hash.get(..SHORT_HASH).unwrap_or(&self.hash);
        media_types::precompiled_artifact_type(&self.wasmtime, &self.target, short)
    }
}

impl Engine {
    /// What this engine's compiled code is compatible with.
    pub fn identity(&self) -> EngineIdentity {
        EngineIdentity {
            wasmtime: wasmtime::ModuleVersionStrategy::default()
                .as_str()
                .to_string(),
            target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
            hash: hex::encode(crate::cache::engine_hash(&self.inner)),
        }
    }

    /// This engine for loading `module`, deserialising what `found` holds in place of compiling it (and
    /// counting both in `trust`); `found` is dropped, with a warning, unless it was compiled from `module`.
    pub fn with_precompiled(
        &self,
        module: &AdmittedModule,
        found: Option<VerifiedPrecompiled>,
        trust: Arc<PrecompiledTrust>,
    ) -> Engine {
        let source = Digest::sha256_of(module.bytes());
        let modules = match found {
            Some(found) if found.source == source => found.modules,
            Some(found) => {
                tracing::warn!(policy = %module.source(), referrer = %found.referrer, "the precompiled module was compiled from another module; compiling");
                BTreeMap::new()
            }
            None => BTreeMap::new(),
        };
        let mut engine = self.clone();
        engine.precompiled = Some(Precompiled::Verified {
            modules: Arc::new(modules),
            trust,
        });
        engine
    }
}

/// What [`publish`] pushed, or found already there.
#[derive(Debug, Clone)]
pub struct Published {
    /// The policy manifest the referrer is about.
    pub subject: Digest,
    /// The digest of the policy's module.
    pub source: Digest,
    /// The referrer manifest pushed and signed, or the one reused.
    pub referrer: Digest,
    /// Whether `referrer` was there already, signed by the key: nothing was pushed.
    pub reused: bool,
    /// Its artifact type.
    pub artifact_type: String,
    /// The engine it was compiled for.
    pub engine: EngineIdentity,
    /// The signature tag written (or, when reused, the referrer's `.sig` tag).
    pub signature_tag: String,
    /// How many compiled modules it holds.
    pub modules: usize,
}

/// A precompiled referrer that passed every check of [`find`]: the compiled modules it holds, by the
/// digest of the Wasm each was compiled from. There is no other way to one.
#[derive(Debug)]
pub struct VerifiedPrecompiled {
    referrer: String,
    digest: Digest,
    source: Digest,
    modules: BTreeMap<Digest, Vec<u8>>,
}

impl VerifiedPrecompiled {
    /// The referrer it was verified from (`repository@digest`).
    pub fn referrer(&self) -> &str {
        &self.referrer
    }
}

/// Compiles the policy at `reference` (resolved to its digest, admitted as `admission` says) for an engine
/// of `config`, as a policy server with that configuration would, pushes the compiled modules as a
/// referrer of the policy's manifest and signs it with `key`; or, when the manifest already has such a
/// referrer that `key` signed, holding the compilations of the same Wasm, reports it as reused and pushes
/// nothing.
pub async fn publish(
    remote: &Remote,
    reference: &RegistryRef,
    admission: &Admission,
    config: EngineConfig,
    key: &PrivateKey,
) -> Result<Published, EvaluatorError> {
    let failed = |cause: Refusal| EvaluatorError::Publish {
        policy: reference.to_string(),
        cause,
    };
    let subject = remote
        .manifest_digest(reference)
        .await
        .map_err(|err| failed(err.into()))?;
    let pinned = reference.with_digest(subject.clone());
    let module = gate::admit(
        remote,
        &PolicyRef::Registry(pinned.clone()),
        admission,
        None,
    )
    .await?;
    let engine = Engine::new(config)?;
    let compiled =
        tokio::task::spawn_blocking(move || compile(&engine, &module).map(|c| (engine, module, c)))
            .await
            .map_err(|err| {
                EvaluatorError::Compile(format!("compiling the policy panicked: {err}"))
            })?;
    let (engine, module, compiled) = compiled?;
    let identity = engine.identity();
    let artifact_type = identity.artifact_type();
    let source = Digest::sha256_of(module.bytes());
    let repository = remote
        .repository(&pinned)
        .await
        .map_err(|err| failed(err.into()))?;
    let signer = PrecompiledTrust::for_keys(&[key.public_key().to_pem()])?;
    let inputs: BTreeSet<Digest> = compiled.iter().map(|m| m.input.clone()).collect();
    let expected = Expected {
        subject: &subject,
        source: &source,
        identity: &identity,
        artifact_type: &artifact_type,
        inputs: Some(&inputs),
    };
    let search = first_verified(remote, &repository, &pinned, &expected, &signer)
        .await
        .map_err(|err| failed(err.into()))?;
    for refusal in &search.refused {
        tracing::debug!(policy = %pinned, error = %refusal.describe(), "not reusing a precompiled referrer");
    }
    if let Some(found) = search.found {
        let digest = found.digest;
        return Ok(Published {
            subject,
            source,
            signature_tag: artifact::cosign::signature_tag(&digest),
            referrer: digest,
            reused: true,
            artifact_type,
            engine: identity,
            modules: found.modules.len(),
        });
    }
    let policy = repository
        .resolve()
        .await
        .map_err(|err| failed(err.into()))?;
    // To the millisecond: what another signer publishes even a moment later is a referrer of its own.
    let created = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let artifact = referrer(&identity, policy.descriptor(), &source, &compiled, &created)?;
    let digest = signing::registry::push_referrer(&repository, &subject, &artifact)
        .await
        .map_err(|err| failed(err.into()))?;
    let signed = signing::registry::sign(
        remote,
        &pinned.with_digest(digest.clone()),
        key,
        &BTreeMap::new(),
        &[Layout::SignatureTag],
    )
    .await
    .map_err(|err| failed(err.into()))?;
    Ok(Published {
        subject,
        source,
        referrer: digest,
        reused: false,
        artifact_type,
        engine: identity,
        signature_tag: signed.signature_tag.unwrap_or_default(),
        modules: compiled.len(),
    })
}

/// Loads `module` as a policy server does (the execution mode its metadata names) with `engine`, and
/// returns every module compiled on the way.
pub fn compile(
    engine: &Engine,
    module: &AdmittedModule,
) -> Result<Vec<CompiledModule>, EvaluatorError> {
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let mut recording = engine.clone();
    recording.precompiled = Some(Precompiled::Recording(Arc::clone(&recorded)));
    let host_calls = Arc::new(crate::host_capabilities::KubewardenCapabilities::default());
    Policy::load_by_metadata(&recording, module, host_calls)?;
    let compiled = recorded
        .lock()
        .map(|recorded| recorded.clone())
        .map_err(|_| EvaluatorError::Compile("the compiled modules were lost".into()))?;
    Ok(compiled)
}

/// The referrer manifest (and its blobs) of `compiled`, the compilation of the module `source` of the
/// policy manifest `subject` by an engine of `identity`.
pub fn referrer(
    identity: &EngineIdentity,
    subject: Descriptor,
    source: &Digest,
    compiled: &[CompiledModule],
    created: &str,
) -> Result<Referrer, EvaluatorError> {
    let config = Descriptor::of(media_types::OCI_EMPTY, media_types::EMPTY_JSON);
    let mut blobs = vec![signing::Blob {
        descriptor: config.clone(),
        content: media_types::EMPTY_JSON.to_vec(),
    }];
    let mut layers = Vec::new();
    for module in compiled {
        let mut layer = Descriptor::of(media_types::PRECOMPILED_LAYER, &module.serialized);
        layer.annotations = Some(BTreeMap::from([(
            INPUT_ANNOTATION.to_string(),
            module.input.to_string(),
        )]));
        layers.push(layer.clone());
        blobs.push(signing::Blob {
            descriptor: layer,
            content: module.serialized.clone(),
        });
    }
    let mut manifest = ImageManifest::new(config, layers);
    manifest.artifact_type = Some(identity.artifact_type());
    manifest.subject = Some(Descriptor {
        artifact_type: None,
        annotations: None,
        urls: None,
        ..subject
    });
    manifest.annotations = Some(BTreeMap::from([
        (SOURCE_ANNOTATION.to_string(), source.to_string()),
        (WASMTIME_ANNOTATION.to_string(), identity.wasmtime.clone()),
        (TARGET_ANNOTATION.to_string(), identity.target.clone()),
        (ENGINE_ANNOTATION.to_string(), identity.hash.clone()),
        (
            artifact::oci::policy::CREATED_ANNOTATION.to_string(),
            created.to_string(),
        ),
    ]));
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|err| EvaluatorError::Compile(format!("writing the referrer manifest: {err}")))?;
    Ok(Referrer {
        manifest_digest: Digest::sha256_of(&manifest_bytes),
        manifest,
        manifest_bytes,
        blobs,
    })
}

/// `engine` for loading `module`, admitted from `source`: with `trust`, it loads what the first verified
/// precompiled referrer of the module's manifest holds ([`find`]) and counts what it compiles; without,
/// it is `engine` as it is.
pub async fn engine_for(
    remote: &Remote,
    source: &PolicyRef,
    module: &AdmittedModule,
    engine: Engine,
    trust: Option<&Arc<PrecompiledTrust>>,
) -> Engine {
    let Some(trust) = trust else {
        return engine;
    };
    let found = match source {
        PolicyRef::Registry(reference) => find(remote, reference, module, &engine, trust).await,
        PolicyRef::File(_) | PolicyRef::Layout(_) => None,
    };
    engine.with_precompiled(module, found, Arc::clone(trust))
}

/// The first precompiled referrer of `module`'s verified manifest (in the repository of `reference`) made
/// for `engine` that passes every check; each refused candidate is logged with the reason, at warn.
/// `None` when the module did not come from a verified registry manifest or no candidate passes.
pub async fn find(
    remote: &Remote,
    reference: &RegistryRef,
    module: &AdmittedModule,
    engine: &Engine,
    trust: &PrecompiledTrust,
) -> Option<VerifiedPrecompiled> {
    let Provenance::Registry { manifest_digest } = module.provenance() else {
        tracing::debug!(policy = %module.source(), "not a verified registry policy: no precompiled module looked for");
        return None;
    };
    let identity = engine.identity();
    let artifact_type = identity.artifact_type();
    let repository = match remote.repository(reference).await {
        Ok(repository) => repository,
        Err(err) => {
            tracing::warn!(policy = %module.source(), error = %err, "could not look for precompiled modules; compiling");
            return None;
        }
    };
    let source = Digest::sha256_of(module.bytes());
    let expected = Expected {
        subject: manifest_digest,
        source: &source,
        identity: &identity,
        artifact_type: &artifact_type,
        inputs: None,
    };
    let search = match first_verified(remote, &repository, reference, &expected, trust).await {
        Ok(search) => search,
        Err(err) => {
            tracing::warn!(policy = %module.source(), error = %err, "could not list the precompiled modules; compiling");
            return None;
        }
    };
    for refusal in &search.refused {
        tracing::warn!(policy = %module.source(), error = %refusal.describe(), "precompiled module refused; compiling");
    }
    match search.found {
        Some(found) => {
            tracing::info!(policy = %module.source(), referrer = %found.referrer, "loading the verified precompiled module");
            Some(found)
        }
        None => {
            tracing::info!(policy = %module.source(), artifact_type, "no verified precompiled module for this engine; compiling");
            None
        }
    }
}

/// What a precompiled referrer must say to be loaded.
struct Expected<'a> {
    subject: &'a Digest,
    source: &'a Digest,
    identity: &'a EngineIdentity,
    artifact_type: &'a str,
    /// The Wasm its layers must be the compilations of, exactly (for [`publish`] to reuse it); a server
    /// takes any subset and compiles the rest.
    inputs: Option<&'a BTreeSet<Digest>>,
}

/// What looking through a policy manifest's precompiled referrers found.
struct Search {
    /// The first that passed every check.
    found: Option<VerifiedPrecompiled>,
    /// The ones refused before it, each with why.
    refused: Vec<EvaluatorError>,
}

/// Looks through the referrers of `expected.subject` (in `repository`, the repository of `reference`) of
/// the artifact type expected for the first that [`verify`] passes. Fails only when they cannot be listed.
async fn first_verified(
    remote: &Remote,
    repository: &client::remote::Repository,
    reference: &RegistryRef,
    expected: &Expected<'_>,
    trust: &PrecompiledTrust,
) -> Result<Search, client::ClientError> {
    let candidates = repository
        .referrers(expected.subject, Some(expected.artifact_type))
        .await?;
    let mut search = Search {
        found: None,
        refused: Vec::new(),
    };
    for candidate in candidates
        .iter()
        .filter(|c| c.artifact_type.as_deref() == Some(expected.artifact_type))
    {
        let at = reference.with_digest(candidate.digest.clone());
        match verify(remote, repository, &at, expected, trust).await {
            Ok(found) => {
                search.found = Some(found);
                break;
            }
            Err(err) => search.refused.push(err),
        }
    }
    Ok(search)
}

/// Verifies the referrer at `at` against `trust` and `expected`, and fetches its layers.
async fn verify(
    remote: &Remote,
    repository: &client::remote::Repository,
    at: &RegistryRef,
    expected: &Expected<'_>,
    trust: &PrecompiledTrust,
) -> Result<VerifiedPrecompiled, EvaluatorError> {
    let refused = |reason: String| EvaluatorError::PrecompiledRefused {
        referrer: at.to_string(),
        reason,
    };
    let checked = signing::registry::check(remote, at, trust.config(), trust.trust_root())
        .await
        .map_err(|err| refused(err.to_string()))?;
    let verified = checked.verified.map_err(|err| refused(err.to_string()))?;
    let manifest = verified.manifest();
    let subject = manifest.subject.as_ref().map(|s| &s.digest);
    if subject != Some(expected.subject) {
        return Err(refused(format!(
            "its subject is {}, not the policy's verified manifest {}",
            subject.map_or("missing".to_string(), ToString::to_string),
            expected.subject
        )));
    }
    if manifest.artifact_type.as_deref() != Some(expected.artifact_type) {
        return Err(refused(format!(
            "its artifact type is {:?}, not this engine's {}",
            manifest.artifact_type, expected.artifact_type
        )));
    }
    let annotation = |key: &str| {
        manifest
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(key))
            .map(String::as_str)
    };
    let source = expected.source.to_string();
    if annotation(SOURCE_ANNOTATION) != Some(source.as_str()) {
        return Err(refused(format!(
            "it was compiled from {}, not from the admitted module {source}",
            annotation(SOURCE_ANNOTATION).unwrap_or("an unnamed module")
        )));
    }
    if annotation(ENGINE_ANNOTATION) != Some(expected.identity.hash.as_str()) {
        return Err(refused(format!(
            "it was compiled for the engine {}, not this engine {}",
            annotation(ENGINE_ANNOTATION).unwrap_or("(unnamed)"),
            expected.identity.hash
        )));
    }
    let mut layers = BTreeMap::new();
    for layer in &manifest.layers {
        if layer.media_type != media_types::PRECOMPILED_LAYER {
            continue;
        }
        let input = layer
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(INPUT_ANNOTATION))
            .and_then(|input| input.parse::<Digest>().ok())
            .ok_or_else(|| refused(format!("its layer {} names no input", layer.digest)))?;
        layers.insert(input, layer);
    }
    if layers.is_empty() {
        return Err(refused(format!(
            "it holds no {} layer",
            media_types::PRECOMPILED_LAYER
        )));
    }
    if let Some(inputs) = expected.inputs
        && !layers.keys().eq(inputs.iter())
    {
        let list = |digests: &mut dyn Iterator<Item = &Digest>| {
            digests
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(refused(format!(
            "it holds the compilations of {}, not of {}",
            list(&mut layers.keys()),
            list(&mut inputs.iter())
        )));
    }
    let mut modules = BTreeMap::new();
    for (input, layer) in layers {
        let bytes = repository
            .blob(&layer.digest)
            .await
            .map_err(|err| refused(err.to_string()))?;
        if !layer.digest.matches(&bytes) || bytes.len() as u64 != layer.size {
            return Err(refused(format!(
                "its layer is not {} ({} bytes)",
                layer.digest, layer.size
            )));
        }
        modules.insert(input, bytes);
    }
    Ok(VerifiedPrecompiled {
        referrer: at.to_string(),
        digest: verified.manifest_digest().clone(),
        source: expected.source.clone(),
        modules,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_engine_hash_ignores_settings_that_do_not_change_compiled_code()
    -> Result<(), EvaluatorError> {
        let default = Engine::new(EngineConfig::default())?.identity();
        // The deadline, limits and allocator are the host's business, not the compiled code's: a server
        // with any of them finds what `precompile` made with the defaults.
        for config in [
            EngineConfig {
                deadline: Duration::from_secs(30),
                max_response_bytes: 1024,
                pool_instances: 4,
                ..EngineConfig::default()
            },
            EngineConfig {
                memory_limit: 64 * 1024 * 1024,
                ..EngineConfig::default()
            },
            EngineConfig {
                pooling: false,
                ..EngineConfig::default()
            },
        ] {
            assert_eq!(Engine::new(config)?.identity(), default);
        }
        assert_eq!(default.hash.len(), 64);
        assert!(
            default
                .artifact_type()
                .ends_with(&default.hash[..SHORT_HASH])
        );
        Ok(())
    }
}
