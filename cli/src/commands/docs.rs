//! `palisade docs`: the Markdown reference of every command, as `kwctl docs` writes its own (the
//! same generator, clap-markdown, so the layout is the same).

use std::path::PathBuf;

use anyhow::Context;

/// Write the Markdown documentation of every palisade command and flag.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write it to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: Args, command_line: &clap::Command) -> anyhow::Result<()> {
    let markdown = clap_markdown::help_markdown_command(command_line);
    match args.output {
        Some(path) => std::fs::write(&path, markdown)
            .with_context(|| format!("writing {}", path.display()))?,
        None => print!("{markdown}"),
    }
    Ok(())
}
