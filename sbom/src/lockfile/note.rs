//! What a document says the inputs could not establish.

use serde::Serialize;

use super::dependency::Ecosystem;
use crate::element::Element;

/// A sentence the document carries about what the inputs could not establish; when it declares
/// attributes of some components unknown (FSCT's "known unknowns"), which ones of which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Note {
    /// The sentence, as the document writes it.
    pub text: String,
    /// The components it is about and their attributes it declares unknown.
    #[serde(skip)]
    pub unknown: Option<(Subject, &'static [Element])>,
}

/// The components a [`Note`] declares something unknown of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The policy itself.
    Policy,
    /// The dependencies of one ecosystem.
    Dependencies(Ecosystem),
    /// The toolchain entries (the module's `producers` section).
    Toolchain,
    /// Every component, the policy included.
    Everything,
}

impl Note {
    /// A note that declares nothing unknown.
    pub fn new(text: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            unknown: None,
        }
    }

    /// A note declaring `elements` of the components `about` unknown.
    pub fn unknown(text: impl Into<String>, about: Subject, elements: &'static [Element]) -> Note {
        Note {
            text: text.into(),
            unknown: Some((about, elements)),
        }
    }

    /// Whether it declares `element` unknown for the components `subject` names.
    pub fn declares_unknown(&self, subject: Subject, element: Element) -> bool {
        self.unknown.is_some_and(|(about, elements)| {
            (about == Subject::Everything || about == subject) && elements.contains(&element)
        })
    }
}
