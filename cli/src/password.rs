//! Passwords of cosign key files: `COSIGN_PASSWORD`, else a prompt on the terminal, as cosign does.

use std::io::IsTerminal;

use anyhow::Context;

use crate::exit::UsageError;

/// The environment variable cosign reads the key password from.
const PASSWORD_ENV: &str = "COSIGN_PASSWORD";

/// The password for an existing key.
pub fn for_existing_key(path: &std::path::Path) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    require_terminal()?;
    rpassword::prompt_password(format!("password for {}: ", path.display()))
        .context("reading the password")
}

/// A password for a new key, asked twice on a terminal.
pub fn for_new_key() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    require_terminal()?;
    let password = rpassword::prompt_password("password for the new private key: ")
        .context("reading the password")?;
    let again =
        rpassword::prompt_password("the same password again: ").context("reading the password")?;
    if password != again {
        return Err(UsageError("the two passwords differ".into()).into());
    }
    Ok(password)
}

fn require_terminal() -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(UsageError(format!(
            "no terminal to ask for the key password: set {PASSWORD_ENV}"
        ))
        .into())
    }
}
