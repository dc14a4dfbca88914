//! What a module's exports say about how it is meant to be run.

use wasmparser::{Parser, Payload};

use crate::error::{ArtifactError, Result};
use crate::metadata::ExecutionMode;

/// The calling convention a module's exports reveal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectedAbi {
    /// Exports `opa_*` functions: a Rego policy built by `opa build -t wasm` (mode `opa` or `gatekeeper`).
    Rego,
    /// Exports `__guest_call`: a waPC guest (mode `kubewarden-wapc`).
    Wapc,
    /// Exports `_start` and nothing of the above: a WASI command (mode `wasi`).
    Wasi,
}

impl DetectedAbi {
    /// Whether `mode` is a way to run a module with this ABI.
    pub fn allows(self, mode: ExecutionMode) -> bool {
        match self {
            DetectedAbi::Rego => mode.is_rego(),
            DetectedAbi::Wapc => mode == ExecutionMode::KubewardenWapc,
            DetectedAbi::Wasi => mode == ExecutionMode::Wasi,
        }
    }

    /// The mode to use when the metadata does not say; `None` when the ABI allows several.
    pub fn default_mode(self) -> Option<ExecutionMode> {
        match self {
            DetectedAbi::Rego => None,
            DetectedAbi::Wapc => Some(ExecutionMode::KubewardenWapc),
            DetectedAbi::Wasi => Some(ExecutionMode::Wasi),
        }
    }

    /// What the exports were, for messages.
    pub fn evidence(self) -> &'static str {
        match self {
            DetectedAbi::Rego => "it exports `opa_*` functions (a Rego policy)",
            DetectedAbi::Wapc => "it exports `__guest_call` (a waPC guest)",
            DetectedAbi::Wasi => "it exports `_start` and no `__guest_call` (a WASI command)",
        }
    }
}

/// Detects the ABI from the export section; `None` when the exports fit none.
pub fn detect_abi(bytes: &[u8]) -> Result<Option<DetectedAbi>> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|err| ArtifactError::Invalid(err.to_string()))?;
        if let Payload::ExportSection(reader) = payload {
            for export in reader {
                let export = export.map_err(|err| ArtifactError::Invalid(err.to_string()))?;
                names.push(export.name);
            }
            break;
        }
        if let Payload::CodeSectionStart { .. } = payload {
            break;
        }
    }
    Ok(if names.iter().any(|name| name.starts_with("opa_")) {
        Some(DetectedAbi::Rego)
    } else if names.contains(&"__guest_call") {
        Some(DetectedAbi::Wapc)
    } else if names.contains(&"_start") {
        Some(DetectedAbi::Wasi)
    } else {
        None
    })
}
