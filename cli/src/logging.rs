//! Where log events go: one setup for every command, on standard error.
//!
//! Servers (`serve`, `policy-server`) log everything at the level `PALISADE_LOG` names (info by
//! default), as text or, with `PALISADE_LOG_FORMAT=json`, as JSON lines. The other commands show
//! only what the policies themselves log (waPC `tracing/log` calls, their stdout and stderr, Rego's
//! `print`), as kwctl does; `-v` adds Palisade's own debug logs.

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

/// Who reads the logs of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// An operator of a long-running server: everything from the level set.
    Server,
    /// A person or script running one command: the policies' own logs.
    Command,
}

/// Installs the global log subscriber for a command addressed to `audience`.
pub fn init(options: LogOptions, audience: Audience) {
    let level = std::env::var("PALISADE_LOG")
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(if options.verbose {
            Level::DEBUG
        } else {
            Level::INFO
        });
    let targets = match (audience, options.verbose) {
        (Audience::Server, _) | (Audience::Command, true) => Targets::new().with_default(level),
        (Audience::Command, false) => {
            Targets::new().with_target(evaluator::POLICY_LOG_TARGET, level)
        }
    };
    let ansi = !options.no_color && std::io::stderr().is_terminal();
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(targets);
    // A second initialisation (tests calling twice) keeps the first subscriber.
    let _ = if std::env::var("PALISADE_LOG_FORMAT").is_ok_and(|format| format == "json") {
        registry.with(logs.json()).try_init()
    } else {
        registry.with(logs.with_ansi(ansi)).try_init()
    };
}
