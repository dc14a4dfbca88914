//! A headless Chromium (Debian package `chromium`) driven over the DevTools protocol by `browser/visit.mjs` with
//! Node.js: the hub's tests use it as a user would use the hub.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A headless Chromium showing a page, stopped when dropped.
pub struct Browser {
    child: Child,
    /// The DevTools endpoint, `http://127.0.0.1:PORT`.
    devtools: String,
    /// The page it was opened on.
    url: String,
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
            url: url.to_string(),
            _profile: profile,
        }
    }

    /// Opens again the page the browser was opened on, types `query` into its search box and waits for the results
    /// to change; returns what the page then shows (see [`Browser::visit`]).
    pub fn search_hub(&self, query: &str) -> serde_json::Value {
        self.visit(&self.url, Some(query), Csp::Enforced)
    }

    /// Opens `url`, waits for it to load and, with `search`, types it into the hub's search box and waits for the
    /// results to change; lets what the page queued run, then returns what it shows and did: `url`, `status` (of
    /// the document), `title`, `h1`, `text` (of the main element), `search` (the address's query), `repositories`
    /// (the results listed), `links` (`text` and `href` of the main element's links), `styled` (whether the style
    /// sheet applied), `xss` (`window.__xss`, which test payloads set), `dialogs` (alerts, each dismissed),
    /// `injected` (elements and attributes that could run script or load something: the hub writes none) and
    /// `errors` (the console's, a Content-Security-Policy refusal among them).
    pub fn visit(&self, url: &str, search: Option<&str>, csp: Csp) -> serde_json::Value {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/visit.mjs");
        let mut command = Command::new("node");
        command
            .args(["--experimental-websocket", "--no-warnings", script])
            .args([&self.devtools, url]);
        if let Some(query) = search {
            command.args(["--search", query]);
        }
        if csp == Csp::Bypassed {
            command.arg("--bypass-csp");
        }
        let output = command
            .output()
            .unwrap_or_else(|err| panic!("running node: {err}"));
        assert!(
            output.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stdout)))
    }
}

/// Whether a visit keeps the page's Content-Security-Policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Csp {
    /// As served: what users get.
    Enforced,
    /// Ignored, so that markup the page failed to escape would run rather than be refused: what the escaping and
    /// sanitising alone hold back.
    Bypassed,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
