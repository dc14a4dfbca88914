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

/// `-o`/`--output`, the same flag for every command that prints a result.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputOptions {
    /// How to print the result.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// An `-o`/`--output` format, for the commands where kwctl's `-o` names a file (`pull -o FILE`, `save -o FILE`):
/// anything else than a format is refused with the flag that takes a file here.
pub fn parse_format_not_file(text: &str) -> Result<OutputFormat, String> {
    <OutputFormat as clap::ValueEnum>::from_str(text, true).map_err(|_| {
        format!(
            "`{text}` is not an output format (text, json, yaml); to write to the file {text}, \
             as kwctl's `-o FILE` does, pass `-O {text}` (--output-path)"
        )
    })
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
