//! `palisade logout`: forget registry credentials.

use anyhow::bail;
use client::remote::credentials::DockerConfig;

use crate::options::RegistryOptions;

/// Remove the credentials stored for a registry in the docker config.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry: HOST[:PORT].
    registry: String,
    #[command(flatten)]
    registry_options: RegistryOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let path = args.registry_options.docker_config_path();
    if !DockerConfig::new(path.clone()).logout(&args.registry)? {
        bail!("no credentials for {} in {}", args.registry, path.display());
    }
    println!(
        "credentials for {} removed from {}",
        args.registry,
        path.display()
    );
    Ok(())
}
