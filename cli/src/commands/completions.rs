//! `palisade completions`: shell completion scripts.

use clap_complete::Shell;

use crate::exit::UsageError;

/// Print a completion script for SHELL to standard output.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example (bash): palisade completions bash > /etc/bash_completion.d/palisade"
)]
pub struct Args {
    /// The shell.
    #[arg(required_unless_present = "shell_flag")]
    shell: Option<Shell>,
    /// The shell, as kwctl's `completions -s SHELL` names it.
    #[arg(
        short = 's',
        long = "shell",
        value_name = "SHELL",
        conflicts_with = "shell"
    )]
    shell_flag: Option<Shell>,
}

pub fn run(args: Args, mut command_line: clap::Command) -> anyhow::Result<()> {
    let shell = args
        .shell
        .or(args.shell_flag)
        .ok_or_else(|| UsageError("name the shell".into()))?;
    clap_complete::generate(shell, &mut command_line, "palisade", &mut std::io::stdout());
    Ok(())
}
