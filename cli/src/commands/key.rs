//! `palisade key`: cosign key pairs.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::output::{OutputFormat, OutputOptions, print_structured};

/// Manage signing keys.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeyCommand {
    /// Generate an ECDSA P-256 key pair in cosign's format: PREFIX.key (encrypted with the password from
    /// COSIGN_PASSWORD or a prompt) and PREFIX.pub.
    Generate(GenerateArgs),
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Where to write the keys: PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX", default_value = "cosign")]
    output_prefix: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Serialize)]
struct Report {
    private_key: PathBuf,
    public_key: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let KeyCommand::Generate(args) = args.command;
    let private_key = args.output_prefix.with_extension("key");
    let public_key = args.output_prefix.with_extension("pub");
    for path in [&private_key, &public_key] {
        if path.exists() && !args.force {
            bail!("{} exists: remove it or pass --force", path.display());
        }
    }
    let password = crate::password::for_new_key()?;
    let files = signing::keys::generate(password.as_bytes())?;
    artifact::files::write_private(&private_key, files.private_pem.as_bytes())
        .with_context(|| format!("writing {}", private_key.display()))?;
    artifact::files::write_atomic(&public_key, |out| {
        out.write_all(files.public_pem.as_bytes())
    })?;
    let report = Report {
        private_key,
        public_key,
    };
    match args.output.format {
        OutputFormat::Text => println!(
            "wrote {} (private, keep it secret) and {} (public)",
            report.private_key.display(),
            report.public_key.display()
        ),
        format => print_structured(format, &report)?,
    }
    Ok(())
}
