//! Where an engine's compiled modules come from besides compiling: a verified precompiled referrer's
//! (deserialised in place of compiling exactly the Wasm each names), or a recording of what it compiles
//! (what `palisade precompile` publishes). `precompiled.rs` verifies referrers and publishes them; this is
//! the part the engine holds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use artifact::oci::Digest;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use signing::config::VerificationConfig;
use signing::trust::TrustRoot;

use crate::error::EvaluatorError;

/// Where a module came from: the `source` label of `palisade_precompiled_modules_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SourceLabel {
    source: &'static str,
}

/// A module deserialised from a verified referrer.
const FROM_REFERRER: SourceLabel = SourceLabel { source: "referrer" };
/// A module compiled (no referrer, or one that was refused).
const COMPILED: SourceLabel = SourceLabel { source: "compiled" };

/// The keys (or verification config) a policy server trusts to sign precompiled modules, and how many
/// modules it loaded from referrers they signed and how many it compiled.
#[derive(Debug)]
pub struct PrecompiledTrust {
    config: VerificationConfig,
    trust_root: Option<TrustRoot>,
    modules: Family<SourceLabel, Counter>,
}

impl PrecompiledTrust {
    /// Trusts what meets `config` (keyless requirements against `trust_root`).
    pub fn new(config: VerificationConfig, trust_root: Option<TrustRoot>) -> PrecompiledTrust {
        PrecompiledTrust {
            config,
            trust_root,
            modules: Family::default(),
        }
    }

    /// Trusts a signature by any one of `public_keys` (PEM).
    pub fn for_keys(public_keys: &[String]) -> Result<PrecompiledTrust, EvaluatorError> {
        let config = VerificationConfig::for_any_key(public_keys).map_err(|err| {
            EvaluatorError::InvalidInput(format!("the keys trusted for precompiled modules: {err}"))
        })?;
        Ok(PrecompiledTrust::new(config, None))
    }

    /// What a referrer's signatures must meet.
    pub(crate) fn config(&self) -> &VerificationConfig {
        &self.config
    }

    /// The trust root keyless requirements are checked against.
    pub(crate) fn trust_root(&self) -> Option<&TrustRoot> {
        self.trust_root.as_ref()
    }

    /// How many modules were deserialised from verified referrers.
    pub fn loaded(&self) -> u64 {
        self.modules.get_or_create(&FROM_REFERRER).get()
    }

    /// How many modules were compiled (no referrer, or one that was refused).
    pub fn compiled(&self) -> u64 {
        self.modules.get_or_create(&COMPILED).get()
    }

    /// Serves both counts in `registry`, as `palisade_precompiled_modules_total{source="referrer|compiled"}`.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "palisade_precompiled_modules",
            "Modules loaded from a verified precompiled referrer (source=referrer) or compiled (source=compiled)",
            self.modules.clone(),
        );
    }
}

/// What an engine does besides compiling: take modules from a verified referrer, or record what it
/// compiles (for `precompile`).
#[derive(Debug, Clone)]
pub(crate) enum Precompiled {
    /// Deserialise these in place of compiling the Wasm of the same digest.
    Verified {
        modules: Arc<BTreeMap<Digest, Vec<u8>>>,
        trust: Arc<PrecompiledTrust>,
    },
    /// Keep every compiled module, serialised, by the digest of its Wasm.
    Recording(Arc<Mutex<Vec<CompiledModule>>>),
}

impl Precompiled {
    /// The module compiled from `wasm`, deserialised from a verified referrer, if it holds one.
    pub(crate) fn load(&self, engine: &wasmtime::Engine, wasm: &[u8]) -> Option<wasmtime::Module> {
        let Precompiled::Verified { modules, trust } = self else {
            return None;
        };
        let input = Digest::sha256_of(wasm);
        let compiled = modules.get(&input)?;
        // SAFETY: `compiled` is a layer of a referrer whose signature by a key trusted for precompiled
        // modules was verified, whose digest matched, which was made for this engine's configuration and
        // which says it is the compilation of exactly `wasm` (see `find`). wasmtime also checks the
        // version and configuration it was compiled with.
        match unsafe { wasmtime::Module::deserialize(engine, compiled) } {
            Ok(module) => {
                trust.modules.get_or_create(&FROM_REFERRER).inc();
                Some(module)
            }
            Err(err) => {
                tracing::warn!(module = %input, error = %format!("{err:#}"), "wasmtime refused a verified precompiled module; compiling");
                None
            }
        }
    }

    /// Notes that `wasm` had to be compiled into `module`.
    pub(crate) fn compiled(&self, wasm: &[u8], module: &wasmtime::Module) {
        match self {
            Precompiled::Verified { trust, .. } => {
                trust.modules.get_or_create(&COMPILED).inc();
            }
            Precompiled::Recording(recorded) => match module.serialize() {
                Ok(serialized) => {
                    if let Ok(mut recorded) = recorded.lock() {
                        recorded.push(CompiledModule {
                            input: Digest::sha256_of(wasm),
                            serialized,
                        });
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %format!("{err:#}"), "could not serialise a compiled module")
                }
            },
        }
    }
}

/// One module compiled by `precompile`: wasmtime's serialisation, and the digest of the Wasm compiled.
#[derive(Debug, Clone)]
pub struct CompiledModule {
    /// The digest of the Wasm compiled.
    pub input: Digest,
    /// wasmtime's serialised module.
    pub serialized: Vec<u8>,
}
