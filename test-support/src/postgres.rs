//! A throwaway PostgreSQL server for the replicated registry's tests: Debian's packages, a fresh cluster in a
//! temporary folder, listening on 127.0.0.1 only, stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::ports::free_port;

/// A running PostgreSQL server with trust authentication on loopback.
pub struct Postgres {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    /// The server's options (port, socket folder, settings), the same at every start.
    options: String,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// Creates a cluster and starts it; panics, saying what to install, if PostgreSQL is missing.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let dir =
            tempfile::tempdir().unwrap_or_else(|err| panic!("creating a temporary folder: {err}"));
        let data = dir.path().join("data");
        as_server_user(dir.path());
        let port = free_port();
        run(
            &bin,
            "initdb",
            &[
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-D",
                &path_arg(&data),
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            dir.path().display()
        );
        let postgres = Postgres {
            port,
            bin,
            data,
            options,
            _dir: dir,
        };
        postgres.start_again();
        postgres
    }

    /// Stops the server at once (as a crash or an outage does: clients' connections break); its data stays.
    pub fn stop(&self) {
        run(
            &self.bin,
            "pg_ctl",
            &["-D", &path_arg(&self.data), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts the server (again, after [`Postgres::stop`]) on the same port with the same data, once it accepts
    /// connections.
    pub fn start_again(&self) {
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                &path_arg(&self.data),
                "-l",
                &path_arg(&self.data.with_file_name("log")),
                "-o",
                &self.options,
                "-w",
                "start",
            ],
        );
    }

    /// A new, empty database; returns its URL (`postgres://postgres@127.0.0.1:PORT/NAME`).
    pub fn database(&self, name: &str) -> String {
        run(
            &self.bin,
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ],
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = command(&self.bin, "pg_ctl")
            .args(["-D", &path_arg(&self.data), "-m", "immediate", "stop"])
            .output();
    }
}

/// The folder of Debian's PostgreSQL programs: the newest `/usr/lib/postgresql/N/bin`.
fn bin_dir() -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql").unwrap_or_else(|err| {
        panic!("PostgreSQL is not installed ({err}): `apt-get install postgresql`")
    });
    versions
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .max()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| panic!("no PostgreSQL version in /usr/lib/postgresql"))
}

/// PostgreSQL refuses to run as root: when we are root, the folder goes to the `postgres` user, who runs it.
fn as_server_user(dir: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .unwrap_or_else(|err| panic!("chown: {err}"));
        assert!(status.success(), "chown postgres {}", dir.display());
    }
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn command(bin: &Path, program: &str) -> Command {
    let program = bin.join(program);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(bin: &Path, program: &str, args: &[&str]) -> Output {
    let output = command(bin, program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("running {program}: {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}
