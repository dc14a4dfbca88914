//! `tracing/log`: the log records Kubewarden SDKs send, written to the host's log under the
//! target `palisade::policy`.

use serde::Deserialize;

use super::payload;

/// A log record as the Kubewarden SDKs send it (`level`, `message`; other fields are ignored).
#[derive(Debug, Deserialize)]
struct LogRecord {
    #[serde(default)]
    level: String,
    #[serde(default)]
    message: String,
}

/// Logs one record; the answer is empty.
pub fn log(payload: &[u8]) -> Result<Vec<u8>, String> {
    let record: LogRecord = payload::parse(payload, "a log record {level, message}")?;
    let message = record.message;
    match record.level.as_str() {
        "error" => tracing::error!(target: crate::policy_log::POLICY_LOG_TARGET, "{message}"),
        "warning" | "warn" => {
            tracing::warn!(target: crate::policy_log::POLICY_LOG_TARGET, "{message}")
        }
        "debug" => tracing::debug!(target: crate::policy_log::POLICY_LOG_TARGET, "{message}"),
        "trace" => tracing::trace!(target: crate::policy_log::POLICY_LOG_TARGET, "{message}"),
        _ => tracing::info!(target: crate::policy_log::POLICY_LOG_TARGET, "{message}"),
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_logged_and_garbage_refused() {
        assert_eq!(
            log(br#"{"level":"warning","message":"careful"}"#),
            Ok(Vec::new())
        );
        assert_eq!(log(br#"{"message":"no level"}"#), Ok(Vec::new()));
        assert!(log(b"[1,2]").is_err_and(|err| err.contains("malformed request")));
    }
}
