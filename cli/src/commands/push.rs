//! `palisade push`: publish a module to a registry.

use serde::Serialize;

use artifact::reference::PolicyRef;
use client::distribute::PushSource;

use crate::environment;
use crate::exit::UsageError;
use crate::options::RegistryOptions;
use crate::output::{OutputFormat, OutputOptions, print_structured};
use crate::progress::Activity;

/// Push an annotated policy module (or a policy from an OCI layout folder) to a registry or a layout
/// folder, as Kubewarden does.
///
/// Prints the immutable reference (`REF@sha256:…`); with `-o json`, kwctl's `immutable_ref`
/// (`HOST/REPOSITORY@sha256:…`, the form cosign and docker take).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Wasm module, or oci-layout://FOLDER:NAME.
    source: String,
    /// Where to push it: registry://HOST[:PORT]/REPOSITORY[:TAG], HOST/REPOSITORY:TAG, or
    /// oci-layout://FOLDER[:NAME].
    reference: String,
    /// Push a module that has no policy metadata.
    #[arg(long, short = 'f')]
    force: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    output: OutputOptions,
}

/// What `-o json` prints, as `kwctl push -o json` does: scripts pass `immutable_ref` to cosign.
#[derive(Serialize)]
struct Report {
    immutable_ref: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let target = PolicyRef::parse(&args.reference)?;
    let source = match PolicyRef::parse(&args.source)? {
        PolicyRef::Layout(layout) => PushSource::Layout(layout),
        PolicyRef::File(path) => PushSource::Module(path),
        PolicyRef::Registry(_) => {
            return Err(UsageError(format!(
                "{}: push takes a module file or an oci-layout:// reference (to copy between registries: palisade copy)",
                args.source
            ))
            .into());
        }
    };
    let activity = Activity::new(args.output.format == OutputFormat::Text);
    let remote = args.registry.remote()?.with_progress(activity.clone());
    let pushed = activity.run(
        format!("pushing {} to {target}", args.source),
        client::distribute::push(&remote, &source, &target, args.force, environment::now()?),
    )??;
    match (args.output.format, &target) {
        (OutputFormat::Text, _) => println!("{}", pushed.immutable_ref),
        (format, PolicyRef::Registry(registry)) => {
            let immutable_ref = format!(
                "{}/{}@{}",
                registry.registry, registry.repository, pushed.digest
            );
            print_structured(format, &Report { immutable_ref })?
        }
        (format, PolicyRef::Layout(_) | PolicyRef::File(_)) => print_structured(
            format,
            &Report {
                immutable_ref: pushed.immutable_ref,
            },
        )?,
    }
    Ok(())
}
