//! A headless Chromium (Debian package `chromium`) driven over the DevTools protocol by `browser/live-search.mjs`
//! with Node.js: the hub's tests use it as a user would use the hub.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A headless Chromium showing a page, stopped when dropped.
pub struct Browser {
    child: Child,
    /// The DevTools endpoint, `http://127.0.0.1:PORT`.
    devtools: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium on `url`, with a fresh profile.
    pub fn open(url: &str) -> Browser {
        let profile = crate::tempdir();
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("running chromium: {err} (Debian package `chromium`; scripts/test.sh installs it)")
            });
        let stderr = child
            .stderr
            .take()
            .unwrap_or_else(|| panic!("chromium's standard error is not piped"));
        let devtools = BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                let rest = line.split("DevTools listening on ws://").nth(1)?;
                Some(format!("http://{}", rest.split('/').next()?))
            })
            .unwrap_or_else(|| panic!("chromium printed no DevTools address"));
        Browser {
            child,
            devtools,
            _profile: profile,
        }
    }

    /// Reloads the hub page, types `query` into its search box and waits for the results to change; returns what
    /// the page then shows: `search` (the address's query), `repositories` (those listed), `styled` (whether the
    /// style sheet applied) and `errors` (the console's).
    pub fn search_hub(&self, query: &str) -> serde_json::Value {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/live-search.mjs");
        let output = Command::new("node")
            .args(["--experimental-websocket", "--no-warnings", script])
            .args([&self.devtools, query])
            .output()
            .unwrap_or_else(|err| panic!("running node: {err}"));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stdout)))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
