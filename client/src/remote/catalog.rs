//! Listing a registry: the repositories of its catalog (`/v2/_catalog`) and the tags of a repository
//! (`/v2/<name>/tags/list`), page by page with `n` and `last`, as every registry implementing the
//! distribution spec's pagination answers (the page size a registry serves may be smaller than asked).

use oci_client::secrets::RegistryAuth;

use super::client::Remote;
use super::repository::Repository;
use crate::error::Result;
use artifact::reference::RegistryRef;

/// How many names are asked for per page.
const PAGE: usize = 100;

impl Remote {
    /// The repositories of `registry` (`host[:port]`) whose names start with `prefix` (all with an empty prefix),
    /// in the registry's (lexical) order, every page followed.
    pub async fn catalog(&self, registry: &str, prefix: &str) -> Result<Vec<String>> {
        let prefix = prefix.trim_matches('/');
        let target = RegistryRef {
            registry: registry.to_string(),
            repository: if prefix.is_empty() {
                "catalog".to_string()
            } else {
                prefix.to_string()
            },
            tag: None,
            digest: None,
        };
        let session = self.connect(&target).await?;
        let names = paginate(|last| {
            let session = &session;
            async move {
                session
                    .call(|client, reference| {
                        let last = last.clone();
                        async move {
                            client
                                .catalog(
                                    &reference,
                                    &RegistryAuth::Anonymous,
                                    Some(PAGE),
                                    last.as_deref(),
                                )
                                .await
                                .map(|page| page.repositories)
                        }
                    })
                    .await
            }
        })
        .await?;
        Ok(names
            .into_iter()
            .filter(|name| {
                prefix.is_empty()
                    || name == prefix
                    || name
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .collect())
    }
}

impl Repository {
    /// The tags of this repository, every page followed.
    pub async fn tags(&self) -> Result<Vec<String>> {
        let session = self.session()?;
        paginate(|last| async move {
            session
                .call(|client, reference| {
                    let last = last.clone();
                    async move {
                        client
                            .list_tags(
                                &reference,
                                &RegistryAuth::Anonymous,
                                Some(PAGE),
                                last.as_deref(),
                            )
                            .await
                            .map(|page| page.tags)
                    }
                })
                .await
        })
        .await
    }
}

/// Fetches pages (each given the last name of the previous one) until one is empty or brings nothing new.
async fn paginate<F, Fut>(mut fetch: F) -> Result<Vec<String>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>>>,
{
    let mut names: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let page = fetch(last.clone()).await?;
        let before = names.len();
        for name in page {
            if last.as_ref().is_none_or(|l| name > *l) && !names.contains(&name) {
                names.push(name);
            }
        }
        if names.len() == before {
            return Ok(names);
        }
        last = names.last().cloned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_followed_until_one_brings_nothing() {
        let all: Vec<String> = (0..7).map(|i| format!("repo-{i}")).collect();
        let mut calls = 0;
        let names = paginate(|last| {
            calls += 1;
            let start = match &last {
                Some(last) => all.iter().position(|n| n == last).map_or(0, |i| i + 1),
                None => 0,
            };
            let page: Vec<String> = all.iter().skip(start).take(3).cloned().collect();
            async move { Ok(page) }
        })
        .await
        .unwrap();
        assert_eq!(names, all);
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn a_registry_that_ignores_last_does_not_loop() {
        let names = paginate(|_| async { Ok(vec!["a".to_string(), "b".to_string()]) })
            .await
            .unwrap();
        assert_eq!(names, ["a", "b"]);
    }
}
