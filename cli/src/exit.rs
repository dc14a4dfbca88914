//! How palisade ends: the message and the exit code of a failed command are decided here, and only here, from
//! the error and its causes. 2: the command line or the environment is wrong: a problem the CLI finds itself
//! ([`UsageError`]), a library's error about something the command line names ([`usage_error`]), or a library
//! error that says so itself (each library's `is_usage`, beside its error enum); 1: the operation failed or a
//! check did not pass.

use std::error::Error;

use artifact::ArtifactError;
use client::ClientError;
use evaluator::EvaluatorError;
use http_server::HttpServerError;
use registry_server::RegistryError;
use sbom::SbomError;
use signing::SigningError;

/// An error in how palisade was called or in its environment (exit code 2), found by the CLI itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A library's error about something the command line names directly, kept whole and shown as it is.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ArgumentError(anyhow::Error);

/// `error`, about something the command line names directly (the policy or request of `run`, a settings,
/// session or trust root file…), as a usage error (exit code 2) whatever its own kind.
pub fn usage_error(error: impl Into<anyhow::Error>) -> anyhow::Error {
    ArgumentError(error.into()).into()
}

/// The exit code of a command that failed with `err`: 2 when it or any of its causes is a usage error, else 1.
pub fn code(err: &anyhow::Error) -> u8 {
    if err.chain().any(is_usage) { 2 } else { 1 }
}

/// Whether `cause` says the command line or the environment is wrong.
fn is_usage(cause: &(dyn Error + 'static)) -> bool {
    cause.is::<UsageError>()
        || cause.is::<ArgumentError>()
        || cause.downcast_ref().is_some_and(ArtifactError::is_usage)
        || cause.downcast_ref().is_some_and(ClientError::is_usage)
        || cause.downcast_ref().is_some_and(SigningError::is_usage)
        || cause.downcast_ref().is_some_and(SbomError::is_usage)
        || cause.downcast_ref().is_some_and(EvaluatorError::is_usage)
        || cause.downcast_ref().is_some_and(HttpServerError::is_usage)
        || cause.downcast_ref().is_some_and(RegistryError::is_usage)
}

/// The one line that reports `err`: its message and each cause under it, `message: cause: cause`, leaving out a
/// cause the line already ends with (many errors show their cause in their own message).
pub fn message(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use anyhow::Context;
    use artifact::reference::PolicyRef;

    use super::*;

    fn not_found() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
    }

    #[test]
    fn a_typed_usage_error_deep_in_the_chain_exits_with_2() {
        let reference = match PolicyRef::parse("registry://Bad Host/p:v1") {
            Err(err) => err,
            Ok(parsed) => panic!("parsed {parsed:?}"),
        };
        let client = ClientError::from(reference);
        let signing = SigningError::from(client);
        let err = anyhow::Error::new(signing)
            .context("verifying registry://Bad Host/p:v1")
            .context("the command");
        assert_eq!(code(&err), 2);
    }

    #[test]
    fn a_library_error_about_its_input_exits_with_2() {
        let config = RegistryError::Config("unknown field `rot`".into());
        assert_eq!(code(&anyhow::Error::new(config).context("registry.yml")), 2);
        let policies = EvaluatorError::Config("policy a: unknown field `modul`".into());
        assert_eq!(code(&anyhow::Error::new(policies)), 2);
        let tls = HttpServerError::NoCertificate {
            path: PathBuf::from("cert.pem"),
        };
        assert_eq!(code(&anyhow::Error::new(RegistryError::Serve(tls))), 2);
    }

    #[test]
    fn an_io_failure_exits_with_1() {
        let io = ArtifactError::Io {
            action: "reading",
            path: PathBuf::from("policy.wasm"),
            cause: not_found(),
        };
        assert_eq!(code(&anyhow::Error::new(ClientError::from(io))), 1);
        let err = Err::<(), _>(not_found()).context("reading policy.wasm");
        assert_eq!(err.map_err(|err| code(&err)), Err(1));
    }

    #[test]
    fn failed_checks_exit_with_1() {
        let not_verified = SigningError::NotVerified {
            reference: "registry://ghcr.io/o/p:v1".into(),
            reason: "no signature".into(),
        };
        assert_eq!(code(&anyhow::Error::new(not_verified)), 1);
        // A missing policy file is the operation's failure, as for any file that cannot be read.
        let missing = match PolicyRef::parse("missing.wasm") {
            Err(err) => err,
            Ok(parsed) => panic!("parsed {parsed:?}"),
        };
        assert!(matches!(missing, ArtifactError::NoSuchPolicy { .. }));
        assert_eq!(code(&anyhow::Error::new(missing)), 1);
    }

    #[test]
    fn an_error_about_an_argument_is_a_usage_error_shown_as_it_is() {
        let missing = EvaluatorError::Io {
            path: PathBuf::from("session.yml"),
            source: not_found(),
        };
        let err = usage_error(missing);
        assert_eq!(code(&err), 2);
        assert_eq!(
            message(&err),
            "reading session.yml: No such file or directory"
        );
        assert_eq!(
            code(&anyhow::Error::new(UsageError("name the shell".into()))),
            2
        );
    }

    #[test]
    fn the_message_names_each_cause_once() {
        let err = anyhow::Error::new(not_found())
            .context("reading request.json")
            .context("running policy.wasm");
        assert_eq!(
            message(&err),
            "running policy.wasm: reading request.json: No such file or directory"
        );
        let shown_twice = EvaluatorError::Io {
            path: PathBuf::from("resources.yml"),
            source: not_found(),
        };
        let err = anyhow::Error::new(shown_twice).context("--context-resources");
        assert_eq!(
            message(&err),
            "--context-resources: reading resources.yml: No such file or directory"
        );
    }
}
