//! `palisade policy-server`: serve the policies of a `policies.yml` as a Kubernetes admission webhook.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use evaluator::gate::LocalStore;
use evaluator::server::{PoliciesFile, ServerState, StartOptions};
use http_server::Listener;

use crate::capability_options::CapabilityOptions;
use crate::evaluation_options::{DeadlineOptions, ModuleCacheOptions};
use crate::exit::UsageError;
use crate::isolation_options::IsolationOptions;
use crate::kubewarden_server_options::{self, KubewardenServerOptions};
use crate::logging::ServerLogOptions;
use crate::options::{RegistryOptions, StoreOptions};
use crate::policies_reload::ReloadTriggers;
use crate::precompiled_options::PrecompiledOptions;
use crate::server_listen_options::ServerListenOptions;
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
///
/// Kubewarden's policy-server flags and KUBEWARDEN_* variables work too (see "Kubewarden policy-server
/// compatibility" below), so the Deployment Kubewarden's controller generates runs it as it is.
#[derive(Debug, clap::Args)]
#[command(mut_arg("timeout", |arg| {
    arg.alias("policy-timeout")
        .env("KUBEWARDEN_POLICY_TIMEOUT")
        .value_parser(crate::kubewarden_server_options::parse_timeout)
        .help(
            "The default per-evaluation deadline: a duration (2s, 500ms) or, as Kubewarden's \
             --policy-timeout takes it, a number of seconds (a policy's timeoutEvalSeconds overrides it)",
        )
}))]
#[command(mut_arg("store", |arg| {
    arg.alias("policies-download-dir").env("KUBEWARDEN_POLICIES_DOWNLOAD_DIR").help(
        "The local store registry policies are kept in once downloaded: a later start or reload takes a \
         policy whose digest it holds from there (its signatures are still checked) \
         [default: $PALISADE_STORE, else ~/.local/share/palisade/store] \
         (Kubewarden's --policies-download-dir works too.)",
    )
}))]
#[command(mut_arg("docker_config", |arg| arg.env("KUBEWARDEN_DOCKER_CONFIG_JSON_PATH")))]
#[command(mut_arg("sources_path", |arg| arg.env("KUBEWARDEN_SOURCES_PATH")))]
#[command(mut_arg("verification_config", |arg| arg.env("KUBEWARDEN_VERIFICATION_CONFIG_PATH")))]
#[command(mut_arg("trust_root", |arg| arg.env("KUBEWARDEN_SIGSTORE_TRUST_CONFIG_PATH")))]
pub struct Args {
    /// The policies, in Kubewarden policy-server's format (id → module, settings, allowedToMutate,
    /// policyMode, timeoutEvalSeconds, contextAwareResources).
    #[arg(
        long,
        env = "KUBEWARDEN_POLICIES",
        value_name = "FILE",
        default_value = "policies.yml"
    )]
    policies: PathBuf,
    /// Do not watch the policies file for changes (SIGHUP still reloads it).
    #[arg(long)]
    no_watch_policies: bool,
    #[command(flatten)]
    listen: ServerListenOptions,
    /// Start even when policies fail to load; their requests are rejected with code 500 saying why.
    #[arg(long, env = "KUBEWARDEN_CONTINUE_ON_ERRORS")]
    continue_on_errors: bool,
    #[command(flatten)]
    deadline: DeadlineOptions,
    /// How many evaluations run at once (a slow policy's run on as many low-priority threads besides)
    /// [default: the number of cores].
    #[arg(long, env = "KUBEWARDEN_WORKERS", value_name = "N")]
    workers: Option<usize>,
    #[command(flatten)]
    isolation: IsolationOptions,
    #[command(flatten)]
    cache: ModuleCacheOptions,
    #[command(flatten)]
    verification: VerificationOptions,
    /// Serve the policies without verifying their signatures (development only; warns on every use).
    #[arg(
        long,
        env = "PALISADE_INSECURE_SKIP_VERIFICATION",
        conflicts_with_all = ["key", "verification_config", "certificate_identity", "github_owner"]
    )]
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
    #[command(flatten)]
    kubewarden: KubewardenServerOptions,
}

impl Args {
    /// The logging flags it takes (Kubewarden's), for the log setup.
    pub fn log_options(&self) -> ServerLogOptions {
        self.kubewarden.logs()
    }
}

pub fn run(mut args: Args) -> anyhow::Result<()> {
    args.kubewarden.check()?;
    args.verification
        .keep_tuf_metadata_in(args.kubewarden.sigstore_cache_dir());
    let text = std::fs::read_to_string(&args.policies)
        .map_err(|err| UsageError(format!("reading {}: {err}", args.policies.display())))?;
    let file =
        PoliciesFile::from_yaml(&text).with_context(|| args.policies.display().to_string())?;
    kubewarden_server_options::require_verification(
        &args.verification,
        args.insecure_skip_verification,
        &format!("every policy of {}", args.policies.display()),
    )?;
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
        engine: args.kubewarden.engine_config(&args.deadline),
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
    // The addresses, certificate and key are checked before the (slower) start-up.
    let webhook = args.listen.webhook_address()?;
    let readiness = args.listen.readiness_address()?;
    let acceptor = args.listen.tls()?;
    evaluator::background::lower_compiler_threads();
    // Set up before the start-up, so that a SIGHUP during it does not stop the server.
    let triggers = ReloadTriggers::new(&args.policies, !args.no_watch_policies)?;
    let precompiled = options.precompiled.clone();
    let state = ServerState::start(&file, options).await?;
    if let Some(trust) = precompiled {
        tracing::info!(
            loaded = trust.loaded(),
            compiled = trust.compiled(),
            "modules loaded from signed precompiled referrers, and compiled"
        );
    }
    let state = Arc::new(state.always_accepting(args.kubewarden.always_accepted_namespace()));
    for (id, reason) in state.failed() {
        eprintln!(
            "warning: policy {id} is not served (its requests get a 500 rejection): {reason}"
        );
    }
    let listener = Listener::bind(&webhook, acceptor).await?;
    let readiness = match readiness {
        Some(addr) => Some(Listener::bind(&addr, None).await?),
        None => None,
    };
    let ids = state.policy_ids().join(", ");
    let readiness_line = readiness.as_ref().map_or_else(String::new, |probe| {
        format!(
            "; readiness probe on http://{}/readiness",
            probe.local_addr()
        )
    });
    println!(
        "policy-server listening on {}://{} (policies: {ids}){readiness_line}",
        listener.scheme(),
        listener.local_addr()
    );
    let probing = readiness.map(|probe| {
        let app = evaluator::server::readiness_app(Arc::clone(&state));
        tokio::spawn(http_server::serve(probe, app, std::future::pending()))
    });
    let reloading = tokio::spawn(triggers.run(Arc::clone(&state), file.digest.clone()));
    let served = evaluator::server::serve(listener, state, http_server::shutdown_signal()).await;
    reloading.abort();
    if let Some(probing) = probing {
        probing.abort();
    }
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
