//! `palisade completions`: shell completion scripts.

use clap::CommandFactory;
use clap_complete::Shell;

/// Print a completion script for SHELL to standard output.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example (bash): palisade completions bash > /etc/bash_completion.d/palisade"
)]
pub struct Args {
    /// The shell.
    shell: Shell,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut command = crate::Cli::command();
    clap_complete::generate(args.shell, &mut command, "palisade", &mut std::io::stdout());
    Ok(())
}
