//! `palisade`: the command-line front end. It parses arguments, calls the libraries and prints.
//!
//! Exit codes: 0 done; 1 the operation failed or a check did not pass; 2 usage or environment error.

mod capability_options;
mod commands;
mod environment;
mod evaluation_options;
mod exit;
mod isolation_options;
mod key_files;
mod kubewarden_server_options;
mod logging;
mod options;
mod output;
mod password;
mod policies_reload;
mod precompiled_options;
mod progress;
mod runtime;
mod server_listen_options;
mod signing_options;
mod verification_options;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use commands::Command;

/// Wasm admission policies as OCI artifacts: annotate, inspect, distribute, sign, verify, run.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    logs: logging::LogOptions,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
    let cli = Cli::parse();
    logging::init(
        cli.logs,
        cli.command.log_audience(),
        cli.command.server_logs(),
    );
    match commands::run(cli.command, Cli::command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", exit::message(&err));
            ExitCode::from(exit::code(&err))
        }
    }
}

/// `palisade policies -o json | head` must end like any Unix filter when `head` is done, not panic
/// in the middle of a `println!`: take back the default action of SIGPIPE, which Rust ignores.
fn exit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
