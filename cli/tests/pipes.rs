//! Output into a pipe whose reader stopped early (`palisade … | head`) ends the command quietly, as
//! for any Unix filter: no panic message.

use std::process::{Command, Stdio};

#[test]
fn a_reader_that_stops_early_gets_no_panic() {
    // A completion script is larger than a pipe's buffer, so the writer meets the closed pipe.
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["completions", "zsh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "nothing on stderr, got: {stderr}");
    assert!(!output.status.success(), "the pipe closed before the end");
}
