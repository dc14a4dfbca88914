//! The environment the libraries are given as values (they read none themselves): where things live on this
//! machine by default, each with the variable that moves it; the proxies; `SOURCE_DATE_EPOCH`, parsed once; the
//! registry's `PALISADE_REGISTRY_*` overrides. (A variable only one command reads is read there:
//! `COSIGN_PASSWORD` in `password.rs`, `PALISADE_LOG` in `logging.rs`, `GITHUB_ACTIONS` in `verify`.)

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use client::remote::sources::Proxies;

use crate::exit::UsageError;

/// Moves the local store.
pub const STORE_ENV: &str = "PALISADE_STORE";
/// Names the sources file.
pub const SOURCES_ENV: &str = "PALISADE_SOURCES";
/// The folder of the docker config (`config.json`), as docker and cosign read it.
pub const DOCKER_CONFIG_ENV: &str = "DOCKER_CONFIG";
/// Reproducible builds' fixed "now", in seconds since 1970.
pub const SOURCE_DATE_EPOCH_ENV: &str = "SOURCE_DATE_EPOCH";

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "palisade")
}

/// The local store: `$PALISADE_STORE`, else `palisade/store` in the user's data folder (`$XDG_DATA_HOME`,
/// `~/.local/share` on Linux); `None` without a home folder.
pub fn store_root() -> Option<PathBuf> {
    std::env::var_os(STORE_ENV)
        .map(PathBuf::from)
        .or_else(|| project_dirs().map(|dirs| dirs.data_dir().join("store")))
}

/// The sources file: `$PALISADE_SOURCES`, else `palisade/sources.yaml` in the user's config folder (`~/.config`
/// on Linux).
pub fn sources_file() -> Option<PathBuf> {
    std::env::var_os(SOURCES_ENV)
        .map(PathBuf::from)
        .or_else(|| project_dirs().map(|dirs| dirs.config_dir().join("sources.yaml")))
}

/// The docker config: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config() -> PathBuf {
    std::env::var_os(DOCKER_CONFIG_ENV)
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().join(".docker")))
        .unwrap_or_else(|| PathBuf::from(".docker"))
        .join("config.json")
}

/// The cache of compiled modules: `palisade/modules` in the user's cache folder (`$XDG_CACHE_HOME`, `~/.cache`
/// on Linux), as kwctl keeps its compiled modules in its own cache folder; `None` without a home folder.
pub fn module_cache() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.cache_dir().join("modules"))
}

/// The verified metadata of the TUF repositories `--tuf` and `--tuf-url` fetch the trust root from:
/// `palisade/tuf` in the user's cache folder, beside the module cache; `None` without a home folder.
pub fn tuf_cache() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.cache_dir().join("tuf"))
}

/// The proxies of the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, upper or lower case), for what a
/// sources file leaves unset.
pub fn proxies() -> Proxies {
    let read = |names: [&str; 2]| names.iter().find_map(|name| std::env::var(name).ok());
    Proxies {
        http_proxy: read(["HTTP_PROXY", "http_proxy"]),
        https_proxy: read(["HTTPS_PROXY", "https_proxy"]),
        no_proxy: read(["NO_PROXY", "no_proxy"]),
    }
}

/// `SOURCE_DATE_EPOCH` when set: the time reproducible outputs use instead of now. A value that is not a number
/// of seconds is a usage error.
pub fn source_date_epoch() -> anyhow::Result<Option<SystemTime>> {
    let Ok(text) = std::env::var(SOURCE_DATE_EPOCH_ENV) else {
        return Ok(None);
    };
    let seconds: u64 = text.trim().parse().map_err(|_| {
        UsageError(format!(
            "{SOURCE_DATE_EPOCH_ENV}={text:?} is not a Unix time in seconds (for example 1700000000)"
        ))
    })?;
    Ok(Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)))
}

/// `SOURCE_DATE_EPOCH` when set, else now.
pub fn now() -> anyhow::Result<SystemTime> {
    Ok(source_date_epoch()?.unwrap_or_else(SystemTime::now))
}

/// The value of an environment variable, for libraries that take a lookup (the registry's
/// `PALISADE_REGISTRY_*` overrides).
pub fn lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
