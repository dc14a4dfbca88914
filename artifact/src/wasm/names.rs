//! The `name` custom section, summarized: the module's own name and how many functions are named.

use serde::Serialize;
use wasmparser::{KnownCustom, Name};

use super::sections::SectionMap;

/// What the `name` section says, in short.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NameSummary {
    /// The module's name, if recorded.
    pub module: Option<String>,
    /// How many functions have a debug name.
    pub functions: u32,
}

/// Summarizes the name section; `None` when the module has none. A malformed name section is
/// summarized as far as it can be read, as engines do: it is debug information only.
pub fn read_names(map: &SectionMap<'_>) -> Option<NameSummary> {
    let section = map.custom_sections("name").next()?;
    let KnownCustom::Name(reader) = section.as_known() else {
        return Some(NameSummary::default());
    };
    let mut summary = NameSummary::default();
    for subsection in reader.into_iter().map_while(Result::ok) {
        match subsection {
            Name::Module { name, .. } => summary.module = Some(name.to_string()),
            Name::Function(map) => summary.functions = map.count(),
            _ => {}
        }
    }
    Some(summary)
}
