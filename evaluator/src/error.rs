//! The one error type of the crate.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong when loading or evaluating a policy.
///
/// Errors raised while a policy runs ([`EvaluatorError::is_evaluation_failure`]) are turned into a
/// rejection with code 500 by `WapcPolicy::evaluate`; the host carries on.
#[derive(Debug, thiserror::Error)]
pub enum EvaluatorError {
    /// The wasmtime engine could not be configured.
    #[error("configuring the Wasm engine: {0}")]
    Engine(String),
    /// The module is not valid WebAssembly or could not be compiled.
    #[error("compiling the policy module: {0}")]
    Compile(String),
    /// The module imports something the host does not provide, or has the wrong shape.
    #[error("linking the policy module: {0}")]
    Link(String),
    /// The module lacks an export the execution mode requires.
    #[error("the policy module does not export `{0}`")]
    MissingExport(String),
    /// The evaluation ran past its deadline and was interrupted.
    #[error("policy evaluation timed out after {0:?}")]
    Timeout(Duration),
    /// The policy tried to grow its memory beyond the cap.
    #[error("policy exceeded its memory limit of {0} bytes")]
    OutOfMemory(usize),
    /// The policy trapped (unreachable, out-of-bounds access, …).
    #[error("policy trapped: {0}")]
    Trap(String),
    /// The policy's answer is larger than the response-size cap.
    #[error("policy response too large: more than {limit} bytes ({size} bytes)")]
    ResponseTooLarge {
        /// The cap.
        limit: usize,
        /// The size the policy tried to return.
        size: usize,
    },
    /// The policy answered, but not with what the protocol expects.
    #[error("malformed policy response to `{operation}`: {reason}")]
    MalformedResponse {
        /// The operation that was called.
        operation: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// The policy reported an error through `__guest_error` (or returned failure).
    #[error("policy failed on `{operation}`: {message}")]
    Guest {
        /// The operation that was called.
        operation: String,
        /// The guest's error message.
        message: String,
    },
    /// The policy ended itself through WASI `proc_exit` instead of answering.
    #[error("policy exited with status {status} during `{operation}` instead of answering")]
    Exited {
        /// The operation that was called.
        operation: String,
        /// The exit status the policy gave.
        status: i32,
    },
    /// The admission request or settings given to the host are malformed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The Rego policy calls builtins this host does not implement (refused at load, as
    /// Kubewarden does, rather than failing requests later).
    #[error("the Rego policy needs builtins this host does not implement: {}", .0.join(", "))]
    UnsupportedBuiltins(Vec<String>),
    /// A Rego builtin the host implements failed on the policy's arguments.
    #[error("Rego builtin `{name}` failed: {message}")]
    Builtin {
        /// The builtin, as the policy names it (`units.parse`, …).
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The execution mode is not one this host runs.
    #[error("execution mode `{0}` is not supported yet")]
    UnsupportedMode(String),
    /// The policy did not pass the gate: its verification failed or could not be completed (signatures,
    /// trust root, network, registry). Nothing runs.
    #[error("refusing to run {policy}")]
    NotAdmitted {
        /// The policy (reference or file).
        policy: String,
        /// Why it was not admitted: the error that decided it, kept.
        #[source]
        cause: Refusal,
    },
    /// The policy server refused a request without running it: its policy's queue was full, or the
    /// request waited too long in it for an evaluation worker.
    #[error("policy {policy} is overloaded: {why}; try again later")]
    Overloaded {
        /// The policy id.
        policy: String,
        /// Which bound the request met.
        why: String,
    },
    /// The policy server failed a request fast: its policy's circuit breaker is open because it kept
    /// running into its deadline.
    #[error(
        "policy {policy} is failing fast: it kept timing out, so its circuit breaker is open; {next}"
    )]
    CircuitOpen {
        /// The policy id.
        policy: String,
        /// When the policy is run again.
        next: String,
    },
    /// `policies.yml` (the policy server's configuration) is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The policy server cannot start (policies that failed to load, each named).
    #[error("the policy server cannot start: {0}")]
    Startup(String),
    /// A reload of the policy server was refused (policies that failed to load, each named, or a
    /// `policies.yml` that cannot be read): the live generation keeps serving.
    #[error("reload refused, generation {live} keeps serving: {why}")]
    Reload {
        /// The generation that keeps serving.
        live: u64,
        /// Why the new generation was not built.
        why: String,
    },
    /// A precompiled module referrer was not verified (signature, subject, source module, engine, digest):
    /// it is not loaded, the module is compiled instead.
    #[error("refusing the precompiled module {referrer}: {reason}")]
    PrecompiledRefused {
        /// The referrer manifest (`repository@digest`).
        referrer: String,
        /// What did not match.
        reason: String,
    },
    /// The compiled module of a policy could not be pushed or signed.
    #[error("publishing the precompiled module of {policy}")]
    Publish {
        /// The policy reference.
        policy: String,
        /// The registry or signing error that stopped it.
        #[source]
        cause: Refusal,
    },
    /// The policy server could not listen or stopped serving.
    #[error(transparent)]
    Serve(#[from] http_server::HttpServerError),
    /// A file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Why the gate refused a policy, keeping the error that decided it.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Verification ran and failed, or could not be completed (signatures, trust root, registry).
    #[error(transparent)]
    Signing(#[from] signing::SigningError),
    /// The policy could not be read.
    #[error(transparent)]
    Artifact(#[from] artifact::ArtifactError),
    /// The policy could not be fetched.
    #[error(transparent)]
    Client(#[from] client::ClientError),
    /// A local module whose bundle cannot be read.
    #[error(
        "no Sigstore bundle to verify it by: cannot read {} (a local policy is verified by the bundle next to it)",
        path.display()
    )]
    NoBundle {
        /// The bundle file looked for.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// An OCI image layout folder, which carries no signatures, where verification is required.
    #[error(
        "an OCI layout folder carries no signatures: push it to a registry and verify it there, or skip verification (development only)"
    )]
    UnsignedLayout,
}

impl EvaluatorError {
    /// The message and every cause under it, joined as `message: cause: cause…`, for logs and reports that
    /// show one line.
    pub fn describe(&self) -> String {
        let mut line = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            line.push_str(": ");
            line.push_str(&cause.to_string());
            source = cause.source();
        }
        line
    }

    /// Whether the caller's input or environment is what is wrong, not the policy or the operation: an invalid
    /// `policies.yml` or host-capabilities session, or an address or TLS file the policy server cannot use. A
    /// command line reports it as a usage error.
    pub fn is_usage(&self) -> bool {
        match self {
            EvaluatorError::Config(_) => true,
            EvaluatorError::Serve(error) => error.is_usage(),
            _ => false,
        }
    }

    /// Whether this error happened while a policy ran (as opposed to loading it or bad input),
    /// which makes it a 500 rejection rather than a failure of the caller.
    pub fn is_evaluation_failure(&self) -> bool {
        matches!(
            self,
            EvaluatorError::Timeout(_)
                | EvaluatorError::OutOfMemory(_)
                | EvaluatorError::Trap(_)
                | EvaluatorError::ResponseTooLarge { .. }
                | EvaluatorError::MalformedResponse { .. }
                | EvaluatorError::Guest { .. }
                | EvaluatorError::Exited { .. }
                | EvaluatorError::Builtin { .. }
        )
    }
}
