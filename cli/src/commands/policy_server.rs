//! `palisade policy-server`: serve the policies of a `policies.yml` as a Kubernetes admission webhook.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use evaluator::gate::LocalStore;
use evaluator::server::{PoliciesFile, ServerState, StartOptions};
use http_server::{Listener, TlsConfig};

use crate::capability_options::CapabilityOptions;
use crate::evaluation_options::{DeadlineOptions, ModuleCacheOptions};
use crate::exit::UsageError;
use crate::isolation_options::IsolationOptions;
use crate::options::{RegistryOptions, StoreOptions};
use crate::policies_reload::ReloadTriggers;
use crate::precompiled_options::PrecompiledOptions;
use crate::verification_options::VerificationOptions;

/// Serve policies as a Kubernetes admission webhook (Kubewarden policy-server's API and policies.yml).
///
/// Start-up pulls, verifies and compiles every policy in parallel and refuses to start if one fails (exit 1),
/// unless --continue-on-errors. Every policy must meet the verification flags; without any, the server refuses
/// to start (exit 2) unless --insecure-skip-verification. Endpoints: POST /validate/{id} (AdmissionReview v1),
/// POST /validate_raw/{id} ({"request": …}), GET /readiness (the live generation, and why the last reload
/// failed if it did), GET /policies (JSON: the live generation, each policy's module, digest, state and
/// whether the last reload loaded or reused it), GET /metrics (Prometheus).
///
/// Hot reload: on SIGHUP, and when the content of the policies file changes (its folder is watched, so a
/// Kubernetes ConfigMap's symlink swap is seen; --no-watch-policies turns this off), the new generation is
/// built beside the live one and swapped in whole. A policy whose digest and configuration did not change is
/// reused, not pulled, verified or compiled again; tags are resolved again, digests never. A reload is all or
/// nothing, even with --continue-on-errors: if a policy fails, or the file no longer parses, the live
/// generation keeps serving and the logs, /readiness, /policies and /metrics say why. Requests in flight
/// finish on the generation they started on.
///
/// Stops on Ctrl-C or SIGTERM, letting requests in flight finish. Logs go to standard error (PALISADE_LOG=error|warn|info|debug|trace),
/// one JSON object a line with PALISADE_LOG_FORMAT=json.
#[derive(Debug, clap::Args)]
#[command(mut_arg("timeout", |arg| {
    arg.help("The default per-evaluation deadline (a policy's timeoutEvalSeconds overrides it)")
}))]
#[command(mut_arg("store", |arg| {
    arg.alias("policies-download-dir").help(
        "The local store registry policies are kept in once downloaded: a later start or reload takes a \
         policy whose digest it holds from there (its signatures are still checked) \
         [default: $PALISADE_STORE, else ~/.local/share/palisade/store] \
         (Kubewarden's --policies-download-dir works too.)",
    )
}))]
pub struct Args {
    /// The policies, in Kubewarden policy-server's format (id → module, settings, allowedToMutate,
    /// policyMode, timeoutEvalSeconds, contextAwareResources).
    #[arg(long, value_name = "FILE")]
    policies: PathBuf,
    /// Do not watch the policies file for changes (SIGHUP still reloads it).
    #[arg(long)]
    no_watch_policies: bool,
    /// The address to listen on (port 0: any free port, printed at start-up).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:3000")]
    addr: String,
    /// Serve HTTPS with this certificate chain (PEM, leaf first).
    #[arg(long, alias = "cert-file", value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// ... and this private key (PEM).
    #[arg(long, alias = "key-file", value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Start even when policies fail to load; their requests are rejected with code 500 saying why.
    #[arg(long)]
    continue_on_errors: bool,
    #[command(flatten)]
    deadline: DeadlineOptions,
    /// How many evaluations run at once [default: the number of cores].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    #[command(flatten)]
    isolation: IsolationOptions,
    #[command(flatten)]
    cache: ModuleCacheOptions,
    #[command(flatten)]
    verification: VerificationOptions,
    /// Serve the policies without verifying their signatures (development only; warns on every use).
    #[arg(long, conflicts_with_all = ["key", "verification_config", "certificate_identity", "github_owner"])]
    insecure_skip_verification: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    store: StoreOptions,
    /// Download every registry policy again, even one the store holds.
    #[arg(long)]
    refresh: bool,
    #[command(flatten)]
    capabilities: CapabilityOptions,
    #[command(flatten)]
    precompiled: PrecompiledOptions,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.policies)
        .map_err(|err| UsageError(format!("reading {}: {err}", args.policies.display())))?;
    let file =
        PoliciesFile::from_yaml(&text).with_context(|| args.policies.display().to_string())?;
    let admission = args.verification.admission(
        args.insecure_skip_verification,
        &format!("every policy of {}", args.policies.display()),
    )?;
    let cache = args.cache.module_cache()?.map(Arc::new);
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let store = args.store.keeping()?;
    let options = StartOptions {
        remote: args.registry.remote_with(store.clone())?,
        admission,
        store: store.map(|store| LocalStore {
            store,
            refresh: args.refresh,
        }),
        engine: args.deadline.engine_config(),
        cache,
        precompiled: args
            .precompiled
            .trust(|| args.verification.trust_root())?
            .map(Arc::new),
        continue_on_errors: args.continue_on_errors,
        workers,
        isolation: args.isolation.limits(),
        allowed_capabilities: args.capabilities.allowed().to_vec(),
        context_resources: args.capabilities.context_resources()?,
    };
    crate::runtime::get()?.block_on(serve(args, file, options))
}

async fn serve(args: Args, file: PoliciesFile, options: StartOptions) -> anyhow::Result<()> {
    // The certificate and key are checked before the (slower) start-up.
    let acceptor = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig { cert, key }.acceptor()?),
        _ => None,
    };
    // Set up before the start-up, so that a SIGHUP during it does not stop the server.
    let triggers = ReloadTriggers::new(&args.policies, !args.no_watch_policies)?;
    let state = Arc::new(ServerState::start(&file, options).await?);
    for (id, reason) in state.failed() {
        eprintln!(
            "warning: policy {id} is not served (its requests get a 500 rejection): {reason}"
        );
    }
    let listener = Listener::bind(&args.addr, acceptor).await?;
    let ids = state.policy_ids().join(", ");
    println!(
        "policy-server listening on {}://{} (policies: {ids})",
        listener.scheme(),
        listener.local_addr()
    );
    let reloading = tokio::spawn(triggers.run(Arc::clone(&state), file.digest.clone()));
    let served = evaluator::server::serve(listener, state, http_server::shutdown_signal()).await;
    reloading.abort();
    served?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_needs_both_files() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let err = Cli::try_parse_from(["p", "--policies", "p.yml", "--tls-cert", "c.pem"])
            .map(|_| ())
            .map_err(|err| err.to_string());
        assert!(err.is_err_and(|e| e.contains("--tls-key")));
    }
}
