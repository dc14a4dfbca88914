//! `palisade info`: what this palisade is and where it keeps things, as `kwctl info` prints it
//! for kwctl (version, the Rego builtins it implements, the store and configuration folders).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::environment;
use crate::output::{OutputFormat, OutputOptions, print_structured};

/// Show palisade's version, the Rego builtins it implements, and the files and folders it uses by
/// default (each can be changed by a flag or an environment variable).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    output: OutputOptions,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    version: &'static str,
    rego_builtins: Vec<&'static str>,
    store: Option<PathBuf>,
    sources_file: Option<PathBuf>,
    docker_config: PathBuf,
    module_cache: Option<PathBuf>,
    sigstore_trust_root: &'static str,
}

/// Where keyless verification finds its trust root.
const TRUST_ROOT: &str = "the Sigstore public-good trusted root, built in (never fetched unless --tuf or \
     --tuf-url asks); --trust-root FILE (a Sigstore trusted_root.json or kwctl's --sigstore-trust-config file) \
     replaces it, --tuf fetches it from Sigstore's TUF repository, --tuf-url URL (with --tuf-root FILE) from another";

pub fn run(args: Args) -> anyhow::Result<()> {
    let info = Info {
        version: env!("CARGO_PKG_VERSION"),
        rego_builtins: evaluator::opa::implemented_builtins(),
        store: environment::store_root(),
        sources_file: environment::sources_file(),
        docker_config: environment::docker_config(),
        module_cache: environment::module_cache(),
        sigstore_trust_root: TRUST_ROOT,
    };
    match args.output.format {
        OutputFormat::Text => print_text(&info),
        format => print_structured(format, &info)?,
    }
    Ok(())
}

fn print_text(info: &Info) {
    let shown = |path: &Option<PathBuf>| {
        path.as_deref()
            .map_or_else(|| "none (no home folder)".to_owned(), described)
    };
    println!("palisade version: {}", info.version);
    println!();
    println!("Open Policy Agent/Gatekeeper implemented builtins:");
    for builtin in &info.rego_builtins {
        println!("  - {builtin}");
    }
    println!();
    println!("Policy store: {}", shown(&info.store));
    println!("Sources file: {}", shown(&info.sources_file));
    println!("Docker config: {}", described(&info.docker_config));
    println!("Compiled module cache: {}", shown(&info.module_cache));
    println!("Sigstore trust root: {}", info.sigstore_trust_root);
}

fn described(path: &Path) -> String {
    if path.exists() {
        path.display().to_string()
    } else {
        format!("{} (not there)", path.display())
    }
}
