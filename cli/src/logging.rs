//! Where log events go: one setup for every command, on standard error.
//!
//! Servers (`serve`, `policy-server`) log everything at the level `PALISADE_LOG` names (info by
//! default), as text or, with `PALISADE_LOG_FORMAT=json`, as JSON lines. The other commands show
//! only what the policies themselves log (waPC `tracing/log` calls, their stdout and stderr, Rego's
//! `print`), as kwctl does; `-v` adds Palisade's own debug logs. `policy-server` also takes Kubewarden's
//! `--log-level`, `--log-fmt` and `--log-no-color` (and their variables), which win over `PALISADE_LOG*`.

use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The logging flags, before the command as kwctl takes them (`palisade -v run …`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct LogOptions {
    /// Show Palisade's debug logs too.
    #[arg(short, long)]
    verbose: bool,
    /// Never colour the logs (they are coloured only on a terminal).
    #[arg(long)]
    no_color: bool,
}

/// The logging flags of `policy-server`, as Kubewarden's policy-server takes them, each also read from the
/// variable it reads; a flag given wins over `PALISADE_LOG` and `PALISADE_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct ServerLogOptions {
    /// The log level [default: $PALISADE_LOG, else info]
    #[arg(long, env = "KUBEWARDEN_LOG_LEVEL", value_enum, value_name = "LEVEL")]
    log_level: Option<LogLevel>,
    /// The log format: `text`, or `json` (one JSON object a line) [default: json if
    /// PALISADE_LOG_FORMAT=json, else text]. Kubewarden's `otlp` (OpenTelemetry export, which its controller
    /// sets when it runs with --enable-tracing) logs JSON lines with a warning: palisade exports no traces; its
    /// logs go to standard error for the cluster's log collector and its metrics are on /metrics (Prometheus).
    #[arg(long, env = "KUBEWARDEN_LOG_FMT", value_name = "text|json", value_parser = parse_log_format)]
    log_fmt: Option<LogFormat>,
    /// Never colour the logs (as --no-color before the command); NO_COLOR set to anything but an empty or
    /// false value (0, false, no, off) turns colours off too.
    #[arg(long, env = "NO_COLOR", value_parser = clap::builder::FalseyValueParser::new())]
    log_no_color: bool,
}

/// A log level, as Kubewarden's `--log-level` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl From<LogLevel> for Level {
    fn from(level: LogLevel) -> Level {
        match level {
            LogLevel::Trace => Level::TRACE,
            LogLevel::Debug => Level::DEBUG,
            LogLevel::Info => Level::INFO,
            LogLevel::Warn => Level::WARN,
            LogLevel::Error => Level::ERROR,
        }
    }
}

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
    /// Kubewarden's OpenTelemetry export, which palisade does not do: JSON lines, and a warning.
    Otlp,
}

/// `--log-fmt`: `text`, `json`, or Kubewarden's `otlp` (taken so that a server its controller configures
/// for tracing still starts, and answers admission requests).
fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    match text {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        "otlp" => Ok(LogFormat::Otlp),
        other => Err(format!(
            "{other:?} is not a log format (also read from KUBEWARDEN_LOG_FMT): use `text` or `json`"
        )),
    }
}

/// Who reads the logs of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// An operator of a long-running server: everything from the level set.
    Server,
    /// A person or script running one command: the policies' own logs.
    Command,
}

/// Installs the global log subscriber for a command addressed to `audience`, with the server's own logging
/// flags if it takes them.
pub fn init(options: LogOptions, audience: Audience, server: ServerLogOptions) {
    let level = server.log_level.map(Level::from).unwrap_or_else(|| {
        std::env::var("PALISADE_LOG")
            .ok()
            .and_then(|level| level.parse().ok())
            .unwrap_or(if options.verbose {
                Level::DEBUG
            } else {
                Level::INFO
            })
    });
    let targets = match (audience, options.verbose) {
        (Audience::Server, _) | (Audience::Command, true) => Targets::new().with_default(level),
        (Audience::Command, false) => {
            Targets::new().with_target(evaluator::POLICY_LOG_TARGET, level)
        }
    };
    let ansi = !options.no_color && !server.log_no_color && std::io::stderr().is_terminal();
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(targets);
    // A second initialisation (tests calling twice) keeps the first subscriber.
    let json = server.log_fmt.map_or_else(
        || std::env::var("PALISADE_LOG_FORMAT").is_ok_and(|format| format == "json"),
        |format| format != LogFormat::Text,
    );
    let _ = if json {
        registry.with(logs.json()).try_init()
    } else {
        registry.with(logs.with_ansi(ansi)).try_init()
    };
    if server.log_fmt == Some(LogFormat::Otlp) {
        tracing::warn!(
            "--log-fmt otlp (KUBEWARDEN_LOG_FMT): palisade exports no OpenTelemetry traces or logs; \
             logging JSON lines to standard error instead (metrics: /metrics, Prometheus)"
        );
    }
}
