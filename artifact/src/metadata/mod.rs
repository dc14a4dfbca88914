//! The policy metadata model, field for field compatible with Kubewarden's.
//!
//! Serialized with camelCase keys, as `kwctl annotate` writes it into the `io.kubewarden.metadata`
//! custom section. Unknown keys are ignored on read, so older documents (which carry `contextAware`)
//! and newer ones load alike.

mod annotations;
mod model;
mod parse;
mod validate;

pub use crate::error::Problem;
pub use annotations::{
    ANNOTATION_PALISADE_VERSION, KUBEWARDEN_ANNOTATION_KWCTL_VERSION, WellKnown,
};
pub use model::{
    ContextAwareResource, ExecutionMode, Metadata, Operation, PolicyType, ProtocolVersion, Rule,
};
pub use parse::MetadataFile;
