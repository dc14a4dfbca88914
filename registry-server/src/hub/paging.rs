//! Pages of the hub's list and search results: `?page=` (from 1) and `?per_page=` (at most [`MAX_PER_PAGE`]), the
//! `Link` header of the JSON API (RFC 8288: `first`, `prev`, `next`, `last`) and the page links of the HTML list.

use crate::errors::{RegistryError, Result};

/// Results on a page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: usize = 50;

/// The most results a page shows, whatever `per_page` asks.
pub const MAX_PER_PAGE: usize = 500;

/// Which page of the results to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// The page, from 1.
    pub page: usize,
    /// Results per page.
    pub per_page: usize,
}

impl Paging {
    /// The paging a query string asks for; a value that is not a positive integer is an error naming it.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Paging> {
        let positive = |name: &str, value: &str| {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    RegistryError::QueryInvalid(format!(
                        "`{name}` must be a positive integer, not {value:?}"
                    ))
                })
        };
        Ok(Paging {
            page: page.map(|p| positive("page", p)).transpose()?.unwrap_or(1),
            per_page: per_page
                .map(|p| positive("per_page", p))
                .transpose()?
                .unwrap_or(DEFAULT_PER_PAGE)
                .min(MAX_PER_PAGE),
        })
    }

    /// The number of pages `total` results fill (at least one, empty, when there are none).
    pub fn pages(&self, total: usize) -> usize {
        total.div_ceil(self.per_page).max(1)
    }

    /// This page's share of `items`.
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        let start = (self.page - 1).saturating_mul(self.per_page);
        items.into_iter().skip(start).take(self.per_page).collect()
    }

    /// The other pages worth linking from this one, by relation: `first`, `prev`, `next`, `last`.
    pub fn relations(&self, total: usize) -> Vec<(&'static str, usize)> {
        let last = self.pages(total);
        let mut relations = Vec::new();
        if self.page > 1 {
            relations.push(("first", 1));
            relations.push(("prev", (self.page - 1).min(last)));
        }
        if self.page < last {
            relations.push(("next", self.page + 1));
            relations.push(("last", last));
        }
        relations
    }

    /// The query string of page `page` of the search `q` with this page size.
    pub fn query(&self, q: &str, page: usize) -> String {
        let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        format!("?q={q}&page={page}&per_page={}", self.per_page)
    }

    /// The `Link` header value for `path` (empty when everything fits on this page).
    pub fn link_header(&self, path: &str, q: &str, total: usize) -> String {
        self.relations(total)
            .into_iter()
            .map(|(rel, page)| format!("<{path}{}>; rel=\"{rel}\"", self.query(q, page)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_slice_and_link_to_their_neighbours() {
        let paging = Paging::parse(Some("2"), Some("3")).unwrap();
        assert_eq!(paging.slice((1..=8).collect()), vec![4, 5, 6]);
        assert_eq!(paging.pages(8), 3);
        assert_eq!(
            paging.link_header("/hub/api/policies", "kind:Pod a", 8),
            "</hub/api/policies?q=kind%3APod+a&page=1&per_page=3>; rel=\"first\", \
             </hub/api/policies?q=kind%3APod+a&page=1&per_page=3>; rel=\"prev\", \
             </hub/api/policies?q=kind%3APod+a&page=3&per_page=3>; rel=\"next\", \
             </hub/api/policies?q=kind%3APod+a&page=3&per_page=3>; rel=\"last\""
        );
        let only = Paging::parse(None, None).unwrap();
        assert_eq!((only.page, only.per_page), (1, DEFAULT_PER_PAGE));
        assert_eq!(only.link_header("/p", "", 10), "");
        assert_eq!(
            Paging::parse(None, Some("100000")).unwrap().per_page,
            MAX_PER_PAGE
        );
        assert_eq!(
            Paging::parse(Some("9"), Some("5"))
                .unwrap()
                .slice(vec![1, 2]),
            Vec::<i32>::new()
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (page, per_page, named) in [
            (Some("0"), None, "page"),
            (Some("x"), None, "page"),
            (None, Some("-1"), "per_page"),
        ] {
            let error = Paging::parse(page, per_page).unwrap_err().to_string();
            assert!(error.contains(&format!("`{named}`")), "{error}");
        }
    }
}
