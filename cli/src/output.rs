//! Output formats shared by every command that prints.

use serde::Serialize;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people.
    #[default]
    Text,
    /// For scripts: one JSON document, shapes documented in the README.
    Json,
    /// For scripts and people: the JSON document as YAML.
    Yaml,
}

/// Prints `value` as JSON or YAML; `Text` is each command's own business.
pub fn print_structured(format: OutputFormat, value: &impl Serialize) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(value)?),
        OutputFormat::Yaml => print!("{}", serde_norway::to_string(value)?),
        OutputFormat::Text => anyhow::bail!("text output is printed by each command"),
    }
    Ok(())
}
