//! The JSON of a capability's request and of its answer.

use serde::de::DeserializeOwned;

/// Parses a capability's JSON payload, naming what was expected when it does not fit.
pub(crate) fn parse<T: DeserializeOwned>(payload: &[u8], expected: &str) -> Result<T, String> {
    serde_json::from_slice(payload)
        .map_err(|err| format!("malformed request: expected {expected}: {err}"))
}

/// Serialises a capability's answer.
pub(crate) fn answer<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|err| format!("serialising the answer: {err}"))
}
