//! How palisade ends: the exit code of a failed command is decided here, and only here. 2: the command line or
//! the environment is wrong ([`UsageError`]); 1: the operation failed or a check did not pass.

/// An error in how palisade was called or in its environment (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code of a command that failed with `err`.
pub fn code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}
