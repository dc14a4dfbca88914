//! `palisade serve`: run the bundled OCI registry.

use std::io::Write;
use std::path::PathBuf;

use http_server::TlsConfig;
use registry_server::auth::Action;
use registry_server::{Config, RegistryError, Server};

use crate::environment;

/// Run an OCI registry (Distribution Spec v1.1, with the referrers API) storing under a folder, and the web hub
/// that browses and searches its policies (at /hub; --no-hub turns it off).
///
/// With --storage and --database, blobs go to an object store (S3 or compatible: Garage, Ceph, MinIO, R2) and
/// everything else to PostgreSQL, so that any number of replicas serve the same registry. The object store's
/// endpoint, region and credentials come from the standard AWS_* variables (AWS_ENDPOINT_URL, AWS_REGION,
/// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; AWS_ALLOW_HTTP=true for a plain-HTTP endpoint).
///
/// Settings come from the YAML file given with --config, then PALISADE_REGISTRY_* environment variables, then these
/// flags. Anonymous clients may only pull unless --anonymous says otherwise. Stops on Ctrl-C or SIGTERM after
/// finishing the requests in flight. Logs go to standard error (PALISADE_LOG=error|warn|info|debug|trace), one JSON
/// object a line with PALISADE_LOG_FORMAT=json.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A YAML configuration file.
    #[arg(long, env = "PALISADE_REGISTRY_CONFIG")]
    config: Option<PathBuf>,
    /// The storage folder (blobs, manifests, tags, uploads).
    #[arg(long, conflicts_with_all = ["storage", "database"])]
    root: Option<PathBuf>,
    /// Keep blobs in this object store, shared by replicas: s3://BUCKET/PREFIX (needs --database).
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// Keep tags, manifests, referrers and upload sessions in this PostgreSQL database, shared by replicas:
    /// postgres://USER:PASSWORD@HOST:PORT/DATABASE (needs --storage).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Answer blob downloads with a presigned URL of the S3 bucket (307) instead of streaming them through this
    /// server (needs --storage s3://…).
    #[arg(long)]
    redirect: bool,
    /// Where to listen, HOST:PORT.
    #[arg(long)]
    addr: Option<String>,
    /// What clients without credentials may do: a comma-separated list of pull, push, delete, or `none`.
    #[arg(long, value_delimiter = ',')]
    anonymous: Option<Vec<String>>,
    /// An htpasswd file of bcrypt-hashed users (`htpasswd -B`).
    #[arg(long)]
    htpasswd: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Do not serve the web hub (/hub), only the registry API.
    #[arg(long)]
    no_hub: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = configure(args)?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let runtime = crate::runtime::get()?;
    let server = runtime.block_on(Server::bind(&config))?;
    let addr = server.local_addr();
    let mut banner = format!(
        "serving {} at {scheme}://{addr}/v2/\n",
        server.storage_description()
    );
    if config.hub {
        banner.push_str(&format!("hub at {scheme}://{addr}/hub\n"));
    }
    // One write, whose failure (a reader that took the first line and closed the pipe) must not stop the server.
    let _ = std::io::stdout().write_all(banner.as_bytes());
    Ok(runtime.block_on(server.run_until_signal())?)
}

/// The configuration from the file, the environment and the flags, in that order.
fn configure(args: Args) -> Result<Config, RegistryError> {
    let mut config = Config::load(args.config.as_deref(), environment::lookup)?;
    if let Some(root) = args.root {
        config.root = root;
    }
    if let Some(storage) = args.storage {
        config.storage = Some(storage);
    }
    if let Some(database) = args.database {
        config.database = Some(database);
    }
    if args.redirect {
        config.redirect = true;
    }
    if let Some(addr) = args.addr {
        config.addr = addr;
    }
    if let Some(actions) = args.anonymous {
        config.auth.anonymous = actions
            .iter()
            .filter(|a| a.as_str() != "none")
            .map(|a| a.parse::<Action>())
            .collect::<Result<_, _>>()?;
    }
    if let Some(htpasswd) = args.htpasswd {
        config.auth.htpasswd = Some(htpasswd);
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(TlsConfig { cert, key });
    }
    if args.no_hub {
        config.hub = false;
    }
    Ok(config)
}
