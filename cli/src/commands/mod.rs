//! One module per subcommand.

mod annotate;
mod attest;
mod bench;
mod completions;
mod copy;
mod digest;
mod docs;
mod info;
mod inspect;
mod key;
mod load;
mod login;
mod logout;
mod policies;
mod policy_server;
mod precompile;
mod pull;
mod push;
mod registry;
mod rm;
mod run;
mod save;
mod sbom;
mod scaffold;
mod serve;
mod sign;
mod strip;
mod verify;
mod verify_attestation;

use clap::Subcommand;

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Embed policy metadata in a Wasm module.
    Annotate(annotate::Args),
    /// Show a module's metadata, producers and digest.
    Inspect(inspect::Args),
    /// Remove the policy metadata from a module.
    Strip(strip::Args),
    /// Push a policy module to a registry.
    Push(push::Args),
    /// Pull a policy into the local store.
    Pull(pull::Args),
    /// Print the digest a reference points to.
    Digest(digest::Args),
    /// List the policies in the local store.
    Policies(policies::Args),
    /// Remove policies from the local store.
    Rm(rm::Args),
    /// Copy a policy between registries, with its signatures and referrers.
    Copy(copy::Args),
    /// Write policies to an archive, for an air gap.
    Save(save::Args),
    /// Import the policies of an archive (palisade's or kwctl's) into the local store.
    Load(load::Args),
    /// Manage signing keys.
    Key(key::Args),
    /// Sign a policy in a registry.
    Sign(sign::Args),
    /// Verify a policy's signatures.
    Verify(verify::Args),
    /// Attest a policy: a signed in-toto statement (an SBOM, provenance…).
    Attest(attest::Args),
    /// Verify a policy's attestations.
    VerifyAttestation(verify_attestation::Args),
    /// Evaluate a policy on an admission request.
    Run(run::Args),
    /// Measure a policy's evaluation latency (p50, p99, evaluations per second).
    Bench(bench::Args),
    /// Write the documents kwctl scaffolds (requests, manifests, configs, packages).
    Scaffold(scaffold::Args),
    /// Serve policies as a Kubernetes admission webhook.
    PolicyServer(policy_server::Args),
    /// Compile a policy and publish the compiled code as a signed referrer.
    Precompile(precompile::Args),
    /// Write a policy's SBOM (SPDX or CycloneDX).
    Sbom(sbom::Args),
    /// Store registry credentials.
    Login(login::Args),
    /// Forget registry credentials.
    Logout(logout::Args),
    /// Run the bundled OCI registry and its web hub.
    Serve(serve::Args),
    /// Maintain the bundled registry's storage.
    Registry(registry::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
    /// Write the Markdown documentation of every command.
    Docs(docs::Args),
    /// Show palisade's version, Rego builtins and default locations.
    Info(info::Args),
}

/// Runs one subcommand.
impl Command {
    /// Who reads this command's logs: servers log for their operators, the rest show the policies' logs.
    pub fn log_audience(&self) -> crate::logging::Audience {
        match self {
            Command::Serve(_) | Command::PolicyServer(_) => crate::logging::Audience::Server,
            _ => crate::logging::Audience::Command,
        }
    }

    /// The logging flags of a server that takes its own (`policy-server`, as Kubewarden's); none for the rest.
    pub fn server_logs(&self) -> crate::logging::ServerLogOptions {
        match self {
            Command::PolicyServer(args) => args.log_options(),
            _ => crate::logging::ServerLogOptions::default(),
        }
    }
}

/// Runs `command`; `command_line` builds the definition of the whole command line, which `completions` and
/// `docs` describe (it is the crate root's, which reaches this module).
pub fn run(command: Command, command_line: fn() -> clap::Command) -> anyhow::Result<()> {
    match command {
        Command::Annotate(args) => annotate::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Strip(args) => strip::run(args),
        Command::Push(args) => push::run(args),
        Command::Pull(args) => pull::run(args),
        Command::Digest(args) => digest::run(args),
        Command::Policies(args) => policies::run(args),
        Command::Rm(args) => rm::run(args),
        Command::Copy(args) => copy::run(args),
        Command::Save(args) => save::run(args),
        Command::Load(args) => load::run(args),
        Command::Key(args) => key::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Attest(args) => attest::run(args),
        Command::VerifyAttestation(args) => verify_attestation::run(args),
        Command::Run(args) => run::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Scaffold(args) => scaffold::run(args),
        Command::PolicyServer(args) => policy_server::run(args),
        Command::Precompile(args) => precompile::run(args),
        Command::Sbom(args) => sbom::run(args),
        Command::Login(args) => login::run(args),
        Command::Logout(args) => logout::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Registry(args) => registry::run(args),
        Command::Completions(args) => completions::run(args, command_line()),
        Command::Docs(args) => docs::run(args, &command_line()),
        Command::Info(args) => info::run(args),
    }
}
