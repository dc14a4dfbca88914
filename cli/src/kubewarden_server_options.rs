//! The flags of Kubewarden's policy-server that `palisade policy-server` takes besides its own, each also read
//! from the variable Kubewarden's reads, so that the Deployment Kubewarden's controller generates (variables
//! only, no arguments) and scripts written for policy-server run it unchanged: the logging flags, no global
//! deadline, the namespace always accepted; flags for what palisade does anyway are accepted and said so,
//! flags for what it does not do are refused saying what to do instead. (Where it listens is
//! [`crate::server_listen_options`]; the others are aliases of palisade's own flags.)

use std::path::PathBuf;
use std::time::Duration;

use evaluator::EngineConfig;

use crate::evaluation_options::DeadlineOptions;
use crate::exit::UsageError;
use crate::logging::ServerLogOptions;
use crate::verification_options::{HOW_TO_VERIFY, VerificationOptions};

/// The deadline of --disable-timeout-protection: the engine needs one, and a day is none in practice (the API
/// server abandons a webhook call after 30 s at most).
const UNPROTECTED_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);

/// Kubewarden policy-server's flags that palisade's own do not cover.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Kubewarden policy-server compatibility")]
pub struct KubewardenServerOptions {
    #[command(flatten)]
    logs: ServerLogOptions,
    /// No global deadline (--timeout), as Kubewarden's: a policy runs until it ends, unless its
    /// timeoutEvalSeconds sets one. (The engine needs a deadline: this one is 24 hours.)
    #[arg(long, env = "KUBEWARDEN_DISABLE_TIMEOUT_PROTECTION")]
    disable_timeout_protection: bool,
    /// Accept every AdmissionReview about an object in this namespace without evaluating it (Kubewarden's
    /// controller sets its own namespace, so that a broken policy cannot lock out what would fix it);
    /// /validate_raw requests are always evaluated.
    #[arg(
        long,
        env = "KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE",
        value_name = "NAMESPACE"
    )]
    always_accept_admission_reviews_on_namespace: Option<String>,
    /// Where the trust root fetched with --tuf or --tuf-url keeps its TUF metadata, instead of the user's cache
    /// folder (Kubewarden's controller always sets it; without --tuf nothing is downloaded: the trust root is
    /// built in, or --sigstore-trust-config's).
    #[arg(long, env = "KUBEWARDEN_SIGSTORE_CACHE_DIR", value_name = "DIR")]
    sigstore_cache_dir: Option<PathBuf>,
    /// Accepted: palisade always serves its metrics on /metrics, in Prometheus text (Kubewarden's exports
    /// them over OTLP to a collector; scrape /metrics instead).
    #[arg(long, env = "KUBEWARDEN_ENABLE_METRICS")]
    enable_metrics: bool,
    /// Accepted: palisade does not connect to Kubernetes; context-aware policies read the resources of
    /// --context-resources.
    #[arg(long, env = "KUBEWARDEN_IGNORE_KUBERNETES_CONNECTION_FAILURE")]
    ignore_kubernetes_connection_failure: bool,
    /// Refused: palisade serves no pprof profiles (profile a policy with `palisade bench`; per-policy
    /// latencies are on /metrics).
    #[arg(long, env = "KUBEWARDEN_ENABLE_PPROF")]
    enable_pprof: bool,
    /// Refused: palisade does not detach itself (run it under a service manager or a container, or in the
    /// background with `nohup … &`); so are --daemon-pid-file, --daemon-stdout-file, --daemon-stderr-file.
    #[arg(long, env = "KUBEWARDEN_DAEMON")]
    daemon: bool,
    #[arg(
        long,
        env = "KUBEWARDEN_DAEMON_PID_FILE",
        value_name = "FILE",
        hide = true
    )]
    daemon_pid_file: Option<PathBuf>,
    #[arg(
        long,
        env = "KUBEWARDEN_DAEMON_STDOUT_FILE",
        value_name = "FILE",
        hide = true
    )]
    daemon_stdout_file: Option<PathBuf>,
    #[arg(
        long,
        env = "KUBEWARDEN_DAEMON_STDERR_FILE",
        value_name = "FILE",
        hide = true
    )]
    daemon_stderr_file: Option<PathBuf>,
}

impl KubewardenServerOptions {
    /// Refuses what palisade does not do, saying what to do instead; logs what it accepts without acting on.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.enable_pprof {
            return Err(UsageError(
                "--enable-pprof (KUBEWARDEN_ENABLE_PPROF): palisade serves no pprof profiles; unset it \
                 (profile a policy with `palisade bench`; per-policy latencies are on /metrics)"
                    .into(),
            )
            .into());
        }
        if self.daemon
            || self.daemon_pid_file.is_some()
            || self.daemon_stdout_file.is_some()
            || self.daemon_stderr_file.is_some()
        {
            return Err(UsageError(
                "--daemon and --daemon-* (KUBEWARDEN_DAEMON*): palisade policy-server does not detach \
                 itself; unset them and run it in the foreground under a service manager or a container, or \
                 in the background with `nohup palisade policy-server … > out.log 2> err.log &`"
                    .into(),
            )
            .into());
        }
        if self.enable_metrics {
            tracing::info!(
                "--enable-metrics: metrics are always served on /metrics (Prometheus text)"
            );
        }
        if self.ignore_kubernetes_connection_failure {
            tracing::info!(
                "--ignore-kubernetes-connection-failure: palisade does not connect to Kubernetes"
            );
        }
        Ok(())
    }

    /// The logging flags, for the log setup.
    pub fn logs(&self) -> ServerLogOptions {
        self.logs
    }

    /// The engine's configuration: `deadline`'s, or a day's with --disable-timeout-protection.
    pub fn engine_config(&self, deadline: &DeadlineOptions) -> EngineConfig {
        let config = deadline.engine_config();
        if self.disable_timeout_protection {
            EngineConfig {
                deadline: UNPROTECTED_DEADLINE,
                ..config
            }
        } else {
            config
        }
    }

    /// The namespace whose AdmissionReviews are accepted without evaluating, if any.
    pub fn always_accepted_namespace(&self) -> Option<String> {
        self.always_accept_admission_reviews_on_namespace.clone()
    }

    /// Where TUF metadata is kept (--sigstore-cache-dir), if given.
    pub fn sigstore_cache_dir(&self) -> Option<PathBuf> {
        self.sigstore_cache_dir.clone()
    }
}

/// Fail closed, saying how: with no verification flag and no --insecure-skip-verification, a usage error that
/// names the flags and what to set in a Deployment of Kubewarden's controller (which runs policies unverified
/// when it is given no verification config; palisade does not).
pub fn require_verification(
    verification: &VerificationOptions,
    insecure: bool,
    what: &str,
) -> anyhow::Result<()> {
    if insecure || !verification.is_empty() {
        return Ok(());
    }
    Err(UsageError(format!(
        "{what} must be verified before it runs: pass {HOW_TO_VERIFY}. In a Deployment of Kubewarden's \
         controller, give the PolicyServer a spec.verificationConfig (it sets \
         KUBEWARDEN_VERIFICATION_CONFIG_PATH), or set KUBEWARDEN_VERIFICATION_CONFIG_PATH in its spec.env. \
         (To run unverified, for development only: --insecure-skip-verification, or \
         PALISADE_INSECURE_SKIP_VERIFICATION=true.)"
    ))
    .into())
}

/// `--timeout`/`--policy-timeout`: a duration (`2s`, `500ms`) or, as Kubewarden's `--policy-timeout` takes it, a
/// number of seconds.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.trim().parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|err| {
        format!(
            "{err}: give a duration (2s, 500ms) or a number of seconds (also read from \
             KUBEWARDEN_POLICY_TIMEOUT)"
        )
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        kubewarden: KubewardenServerOptions,
        #[command(flatten)]
        deadline: DeadlineOptions,
    }

    fn parse(args: &[&str]) -> Cli {
        let args = std::iter::once("p").chain(args.iter().copied());
        Cli::try_parse_from(args).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_timeout_is_a_duration_or_seconds() {
        assert_eq!(parse_timeout("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_timeout("250ms"), Ok(Duration::from_millis(250)));
        let err = parse_timeout("soon").err().unwrap_or_default();
        assert!(err.contains("a number of seconds"), "{err}");
    }

    #[test]
    fn disabling_the_timeout_protection_sets_a_day() {
        let cli = parse(&["--timeout", "3s"]);
        assert_eq!(
            cli.kubewarden.engine_config(&cli.deadline).deadline,
            Duration::from_secs(3)
        );
        let cli = parse(&["--timeout", "3s", "--disable-timeout-protection"]);
        assert_eq!(
            cli.kubewarden.engine_config(&cli.deadline).deadline,
            UNPROTECTED_DEADLINE
        );
    }

    #[test]
    fn what_palisade_does_not_do_is_refused_saying_what_to_do() {
        for (flag, says) in [("--enable-pprof", "palisade bench"), ("--daemon", "nohup")] {
            let err = parse(&[flag])
                .kubewarden
                .check()
                .err()
                .unwrap_or_else(|| panic!("{flag} accepted"));
            assert_eq!(crate::exit::code(&err), 2);
            let message = crate::exit::message(&err);
            assert!(
                message.contains(flag) && message.contains(says),
                "{message}"
            );
        }
        let err = parse(&["--daemon-pid-file", "p.pid"])
            .kubewarden
            .check()
            .err();
        assert!(err.is_some_and(|err| crate::exit::message(&err).contains("--daemon-*")));
        let accepted = parse(&[
            "--enable-metrics",
            "--ignore-kubernetes-connection-failure",
            "--sigstore-cache-dir",
            "/sigstore",
        ]);
        assert!(accepted.kubewarden.check().is_ok());
    }
}
