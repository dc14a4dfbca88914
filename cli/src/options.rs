//! Options shared by the commands that talk to registries or use the local store.

use std::path::PathBuf;

use anyhow::Context;
use artifact::reference::{PolicyRef, RegistryRef};
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use client::store::Store;

use crate::environment;
use crate::exit::UsageError;

/// How to reach registries.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryOptions {
    /// The docker config with the credentials: a `config.json`, or a folder holding one
    /// [default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json]
    /// (kwctl's `--docker-config-json-path` works too.)
    #[arg(long, alias = "docker-config-json-path", value_name = "PATH")]
    docker_config: Option<PathBuf>,
    /// A sources file in Kubewarden's format (insecure registries, certificate authorities, proxies)
    /// [default: $PALISADE_SOURCES, else ~/.config/palisade/sources.yaml when present]
    #[arg(long, value_name = "FILE")]
    sources_path: Option<PathBuf>,
}

impl RegistryOptions {
    /// The docker config file these options name.
    pub fn docker_config_path(&self) -> PathBuf {
        match &self.docker_config {
            Some(path) if path.is_dir() => path.join("config.json"),
            Some(path) => path.clone(),
            None => environment::docker_config(),
        }
    }

    /// The docker config these options name.
    pub fn docker_config(&self) -> DockerConfig {
        DockerConfig::new(self.docker_config_path())
    }

    /// The sources file these options name (it must exist), else the default one if it exists; the
    /// environment's proxies fill what it leaves unset.
    pub fn sources(&self) -> anyhow::Result<Sources> {
        let path = match &self.sources_path {
            Some(path) => Some(path.clone()),
            None => environment::sources_file().filter(|path| path.is_file()),
        };
        let sources = match path {
            Some(path) => Sources::load(&path)?,
            None => Sources::default(),
        };
        Ok(sources.with_proxies_from(environment::proxies()))
    }

    /// A registry client with these options.
    pub fn remote(&self) -> anyhow::Result<Remote> {
        Ok(Remote::new(RemoteOptions {
            docker_config: self.docker_config(),
            sources: self.sources()?,
        }))
    }

    /// A registry client with these options that serves the policies loaded from an archive into `store`
    /// from there (see `palisade load`); a store that does not exist is not created.
    pub fn remote_serving(&self, store: &StoreOptions) -> anyhow::Result<Remote> {
        self.remote_with(store.existing()?)
    }

    /// A registry client with these options that serves the policies loaded from an archive into `store`
    /// from there, if there is a store.
    pub fn remote_with(&self, store: Option<Store>) -> anyhow::Result<Remote> {
        let remote = self.remote()?;
        Ok(match store {
            Some(store) => remote.with_store(store),
            None => remote,
        })
    }
}

/// Where the local store is.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreOptions {
    /// The local policy store [default: $PALISADE_STORE, else ~/.local/share/palisade/store]
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

impl StoreOptions {
    /// Opens the store, creating it if needed.
    pub fn open(&self) -> anyhow::Result<Store> {
        let root = self.root().ok_or_else(|| {
            UsageError(
                "no home folder to keep the store in: pass --store or set PALISADE_STORE".into(),
            )
        })?;
        Store::open(&root).with_context(|| format!("opening the store in {}", root.display()))
    }

    /// Opens the store if its folder exists, creating nothing.
    pub fn existing(&self) -> anyhow::Result<Option<Store>> {
        match self.root() {
            Some(root) if root.is_dir() => self.open().map(Some),
            _ => Ok(None),
        }
    }

    /// Opens the store admitted policies are kept in, creating it if needed, for commands that keep running
    /// without one: a path that is not a folder is a usage error, but a store that cannot be opened (no home
    /// folder, no permission) costs a warning, and policies are then downloaded into memory every time.
    pub fn keeping(&self) -> anyhow::Result<Option<Store>> {
        let Some(root) = self.root() else {
            eprintln!(
                "warning: no store to keep policies in (no home folder): pass --store or set PALISADE_STORE"
            );
            return Ok(None);
        };
        if root.exists() && !root.is_dir() {
            return Err(UsageError(format!(
                "the store {} is not a folder: pass --store with a folder",
                root.display()
            ))
            .into());
        }
        match Store::open(&root) {
            Ok(store) => Ok(Some(store)),
            Err(err) => {
                eprintln!(
                    "warning: not keeping policies in the store {}: {err}",
                    root.display()
                );
                Ok(None)
            }
        }
    }

    fn root(&self) -> Option<PathBuf> {
        self.store.clone().or_else(environment::store_root)
    }
}

/// Parses a reference that must name a registry.
pub fn registry_ref(text: &str) -> anyhow::Result<RegistryRef> {
    match PolicyRef::parse(text)? {
        PolicyRef::Registry(reference) => Ok(reference),
        PolicyRef::Layout(_) | PolicyRef::File(_) => Err(UsageError(format!(
            "{text}: this command works with registry references (registry://HOST/REPOSITORY:TAG)"
        ))
        .into()),
    }
}

/// Parses a `KEY=VALUE` annotation.
pub fn parse_annotation(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// The module a command names ([`PolicyRef::parse`]): a file, a policy in an OCI image layout, or a policy in a
/// registry, pulled into the store first. Returns its bytes and, for a registry policy, the reference pinned to
/// its digest.
pub fn load_module(
    text: &str,
    registry: &RegistryOptions,
    store: &StoreOptions,
) -> anyhow::Result<(Vec<u8>, Option<RegistryRef>)> {
    let source = match PolicyRef::parse(text)? {
        PolicyRef::File(path) => return Ok((artifact::files::read(&path)?, None)),
        PolicyRef::Layout(layout) => {
            let policy = client::layout::Layout::open(&layout.folder)?.policy(&layout.name)?;
            return Ok((policy.module, None));
        }
        PolicyRef::Registry(reference) => reference,
    };
    let remote = registry.remote()?;
    let store = store.open()?;
    let request = client::distribute::PullRequest {
        source: &source,
        refresh: false,
        output: None,
    };
    let pulled = crate::progress::block_on(
        format!("pulling {source}"),
        client::distribute::pull(&remote, &store, request),
    )??;
    Ok((pulled.artifact.module, Some(pulled.reference)))
}
