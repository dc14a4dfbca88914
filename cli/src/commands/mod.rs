//! One module per subcommand.

mod annotate;
mod completions;
mod inspect;
mod strip;

use clap::Subcommand;

/// An error in how palisade was called or in its environment (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Embed policy metadata in a Wasm module.
    Annotate(annotate::Args),
    /// Show a module's metadata, producers and digest.
    Inspect(inspect::Args),
    /// Remove the policy metadata from a module.
    Strip(strip::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
}

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Annotate(args) => annotate::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Strip(args) => strip::run(args),
        Command::Completions(args) => completions::run(args),
    }
}
