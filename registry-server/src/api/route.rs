//! Splitting `/v2/<name>/<endpoint>` paths, whose names contain slashes, into routes.

use crate::errors::Result;
use crate::names::RepoName;

/// An endpoint with its repository and path argument (digests and references are checked by the handlers).
#[derive(Debug, PartialEq)]
pub enum Route {
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags(RepoName),
    /// `/v2/<name>/manifests/<reference>`
    Manifest(RepoName, String),
    /// `/v2/<name>/referrers/<digest>`
    Referrers(RepoName, String),
    /// `/v2/<name>/blobs/<digest>`
    Blob(RepoName, String),
    /// `/v2/<name>/blobs/uploads/`
    UploadStart(RepoName),
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload(RepoName, String),
}

impl Route {
    /// The repository the route acts on; `None` for the catalog.
    pub fn repo(&self) -> Option<&RepoName> {
        match self {
            Route::Catalog => None,
            Route::Tags(repo)
            | Route::Manifest(repo, _)
            | Route::Referrers(repo, _)
            | Route::Blob(repo, _)
            | Route::UploadStart(repo)
            | Route::Upload(repo, _) => Some(repo),
        }
    }
}

/// The route of `path` (what follows `/v2/`), `None` if it names no endpoint, an error if its name is invalid.
pub fn parse(path: &str) -> Result<Option<Route>> {
    if path == "_catalog" {
        return Ok(Some(Route::Catalog));
    }
    let segments: Vec<&str> = path.split('/').collect();
    let n = segments.len();
    let name = |end: usize| RepoName::parse(&segments[..end].join("/"));
    if n < 3 {
        return Ok(None);
    }
    let route = match (segments[n - 3], segments[n - 2], segments[n - 1]) {
        (_, "tags", "list") => Route::Tags(name(n - 2)?),
        ("blobs", "uploads", "") if n >= 4 => Route::UploadStart(name(n - 3)?),
        ("blobs", "uploads", id) if n >= 4 => Route::Upload(name(n - 3)?, id.to_string()),
        (_, "blobs", "uploads") => Route::UploadStart(name(n - 2)?),
        (_, "blobs", digest) => Route::Blob(name(n - 2)?, digest.to_string()),
        (_, "manifests", reference) => Route::Manifest(name(n - 2)?, reference.to_string()),
        (_, "referrers", digest) => Route::Referrers(name(n - 2)?, digest.to_string()),
        _ => return Ok(None),
    };
    Ok(Some(route))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str) -> RepoName {
        RepoName::parse(name).unwrap()
    }

    #[test]
    fn splits_names_with_slashes_from_endpoints() {
        let cases = [
            ("_catalog", Route::Catalog),
            ("a/b/tags/list", Route::Tags(repo("a/b"))),
            (
                "a/manifests/latest",
                Route::Manifest(repo("a"), "latest".into()),
            ),
            (
                "a/blobs/sha256:00",
                Route::Blob(repo("a"), "sha256:00".into()),
            ),
            ("x/blobs/blobs/d", Route::Blob(repo("x/blobs"), "d".into())),
            ("a/b/blobs/uploads/", Route::UploadStart(repo("a/b"))),
            ("a/blobs/uploads", Route::UploadStart(repo("a"))),
            (
                "a/blobs/uploads/abc",
                Route::Upload(repo("a"), "abc".into()),
            ),
            (
                "a/referrers/sha256:00",
                Route::Referrers(repo("a"), "sha256:00".into()),
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(parse(path).unwrap(), Some(expected), "{path}");
        }
    }

    #[test]
    fn unknown_paths_and_bad_names() {
        assert_eq!(parse("a/unknown/x").unwrap(), None);
        assert_eq!(parse("a").unwrap(), None);
        assert!(parse("A/manifests/latest").is_err());
        assert!(parse("../manifests/latest").is_err());
    }
}
