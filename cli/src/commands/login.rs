//! `palisade login`: store registry credentials in the docker config.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use client::remote::credentials::DockerConfig;

use crate::exit::UsageError;
use crate::options::RegistryOptions;

/// Store a user name and password (or token) for a registry in the docker config, as `docker login`
/// does. The password is read from standard input, never from the command line.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry: HOST[:PORT].
    registry: String,
    /// The user name.
    #[arg(short, long)]
    username: String,
    /// Read the password from standard input (required when standard input is not a terminal).
    #[arg(long)]
    password_stdin: bool,
    #[command(flatten)]
    registry_options: RegistryOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !args.password_stdin && !stdin.is_terminal() {
        return Err(
            UsageError("pass --password-stdin to read the password from a pipe".into()).into(),
        );
    }
    let password = if args.password_stdin {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password(format!(
            "password for {}@{}: ",
            args.username, args.registry
        ))
        .context("reading the password")?
    };
    if password.is_empty() {
        return Err(UsageError("the password is empty".into()).into());
    }
    let path = args.registry_options.docker_config_path();
    DockerConfig::new(path.clone()).login(&args.registry, &args.username, &password)?;
    println!(
        "credentials for {} stored in {}",
        args.registry,
        path.display()
    );
    Ok(())
}
