//! Annotating a module: check the module and the metadata against each other, then embed it.

use std::path::{Path, PathBuf};

use crate::error::{ArtifactError, Result};
use crate::files;
use crate::metadata::{
    ANNOTATION_PALISADE_VERSION, Metadata, MetadataFile, ProtocolVersion, WellKnown,
};
use crate::wasm::{self, DetectedAbi, SectionMap};

/// What to annotate, with what, and where to write the result.
#[derive(Debug, Clone)]
pub struct AnnotateRequest {
    /// The module to annotate.
    pub module: PathBuf,
    /// The metadata file (YAML or JSON).
    pub metadata: PathBuf,
    /// An optional Markdown file stored as the `io.kubewarden.policy.usage` annotation.
    pub usage: Option<PathBuf>,
    /// Where to write the annotated module; may be the input itself.
    pub output: PathBuf,
}

/// The outcome of an annotation.
#[derive(Debug, Clone)]
pub struct Annotated {
    /// The metadata as embedded.
    pub metadata: Metadata,
    /// Keys of the metadata file that were ignored (unknown to the model; often typos).
    pub ignored_keys: Vec<String>,
    /// The size of the written module.
    pub size: usize,
}

/// Reads the inputs, checks them, and writes the annotated module atomically.
pub fn annotate_file(request: &AnnotateRequest) -> Result<Annotated> {
    annotate_file_with_protocol(request, |_| Ok(None))
}

/// What a waPC module answers when asked for its protocol version (`kwctl annotate` asks every waPC
/// guest): `Ok(None)` records what the metadata file says; `Err` is the reason it could not answer.
pub type ProtocolProbe<'p> =
    &'p dyn Fn(&[u8]) -> std::result::Result<Option<ProtocolVersion>, String>;

/// [`annotate_file`], recording the protocol version a waPC module reports to `probe` (run once the
/// module is known to be valid) instead of what the metadata file says.
pub fn annotate_file_with_protocol(
    request: &AnnotateRequest,
    probe: impl Fn(&[u8]) -> std::result::Result<Option<ProtocolVersion>, String>,
) -> Result<Annotated> {
    let module = files::read(&request.module)?;
    let text = files::read_text(&request.metadata)?;
    let file = MetadataFile::parse(&text).map_err(|err| err.in_file(&request.metadata))?;
    let usage = request.usage.as_deref().map(files::read_text).transpose()?;
    let ignored_keys = file.ignored_keys.clone();
    let metadata = complete_metadata_probing(&module, file, usage, &probe)
        .map_err(|err| attribute(err, &request.module, &request.metadata))?;
    let map = SectionMap::scan(&module).map_err(|err| err.in_file(&request.module))?;
    let spliced = wasm::write_metadata(&map, &metadata)?;
    files::write_atomic(&request.output, |out| spliced.write_to(out))?;
    Ok(Annotated {
        metadata,
        ignored_keys,
        size: spliced.len(),
    })
}

/// Validates `module`, reconciles the metadata with what its exports say, adds the usage text and
/// the tool version, and validates the result.
pub fn complete_metadata(
    module: &[u8],
    file: MetadataFile,
    usage: Option<String>,
) -> Result<Metadata> {
    complete_metadata_probing(module, file, usage, &|_| Ok(None))
}

/// [`complete_metadata`], with the protocol version of a waPC module from `probe`.
pub fn complete_metadata_probing(
    module: &[u8],
    file: MetadataFile,
    usage: Option<String>,
    probe: ProtocolProbe<'_>,
) -> Result<Metadata> {
    SectionMap::scan(module)?;
    wasm::validate_module(module)?;
    let MetadataFile {
        mut metadata,
        declares_execution_mode,
        ..
    } = file;
    let abi = wasm::detect_abi(module)?.ok_or_else(|| {
        ArtifactError::ExecutionModeMismatch(
            "the module exports none of `__guest_call` (waPC), `opa_*` (Rego) or `_start` (WASI): no policy host can run it"
                .into(),
        )
    })?;
    if declares_execution_mode {
        if !abi.allows(metadata.execution_mode) {
            return Err(ArtifactError::ExecutionModeMismatch(format!(
                "the metadata says `executionMode: {}`, but {}: fix `executionMode` or the module",
                metadata.execution_mode,
                abi.evidence()
            )));
        }
    } else {
        metadata.execution_mode = abi.default_mode().ok_or_else(|| {
            ArtifactError::ExecutionModeMismatch(format!(
                "{}: set `executionMode` to `opa` or `gatekeeper` in the metadata",
                abi.evidence()
            ))
        })?;
    }
    if abi == DetectedAbi::Wapc
        && let Some(version) = probe(module).map_err(ArtifactError::ProtocolVersionUnanswered)?
    {
        metadata.protocol_version = Some(version);
    }
    if abi != DetectedAbi::Wapc && metadata.protocol_version.is_none() {
        metadata.protocol_version = Some(ProtocolVersion::Unknown);
    }
    if let Some(usage) = usage {
        metadata
            .annotations
            .insert(WellKnown::Usage.key().into(), usage);
    }
    metadata.annotations.insert(
        ANNOTATION_PALISADE_VERSION.into(),
        env!("CARGO_PKG_VERSION").into(),
    );
    metadata
        .validate()
        .map_err(ArtifactError::MetadataInvalid)?;
    Ok(metadata)
}

/// Module problems belong to the module file, metadata problems to the metadata file.
fn attribute(err: ArtifactError, module: &Path, metadata: &Path) -> ArtifactError {
    match err {
        ArtifactError::MetadataInvalid(_) | ArtifactError::MetadataSyntax(_) => {
            err.in_file(metadata)
        }
        _ => err.in_file(module),
    }
}
