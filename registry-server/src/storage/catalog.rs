//! The hub's catalog as the storage keeps it: one entry per repository, with the words it is found by and the facets
//! it is filtered by, indexed by the storage's own database (a GIN-indexed `tsvector` in PostgreSQL, an FTS5 table
//! in the folder's SQLite file), so that every replica searches one shared index and a restart reads nothing again.
//!
//! Words are matched as prefixes of the words of a field, ignoring case: [`search_words`] cuts text into words the
//! same way for entries and queries, so that both databases agree on what matches.

/// One repository's entry: what the hub shows (opaque to the storage) and what it is found and filtered by.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    /// The hub's description of the repository, serialised by the hub.
    pub content: Vec<u8>,
    /// The words it is found by, by weight: the strongest field first.
    pub words: WeightedWords,
    /// What filters look at.
    pub facets: Facets,
}

/// Words of an entry, each field already cut by [`search_words`] and joined by spaces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightedWords {
    /// The repository name and the title: a match here ranks first.
    pub name: String,
    /// Annotations, rule resources, the execution mode, `mutating`.
    pub keywords: String,
    /// The description.
    pub description: String,
    /// The usage text: a match here ranks last.
    pub usage: String,
}

/// The values a search filters on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    /// Whether the policy may change objects; `None` without metadata.
    pub mutating: Option<bool>,
    /// Its execution mode (`opa`, `gatekeeper`, `kubewarden-wapc`, `wasi`); `None` without metadata.
    pub mode: Option<String>,
    /// The resources its rules name, without subresources (`pods`, `*`).
    pub kinds: Vec<String>,
    /// Whether a signature is attached.
    pub signed: bool,
    /// Whether its signatures satisfy the trust rule of its prefix; `None` outside every trust prefix.
    pub verified: Option<bool>,
}

/// A search of the catalog: every word and filter must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogQuery {
    /// Words, each cut by [`search_words`]; each must begin a word of the entry.
    pub words: Vec<String>,
    /// `Some(true)`: mutating policies only; `Some(false)`: policies known not to mutate.
    pub mutating: Option<bool>,
    /// This execution mode only.
    pub mode: Option<String>,
    /// Rules naming one of these resources (the first ones rank higher) or every resource (`*`).
    pub kinds: Vec<String>,
    /// Signed (unsigned) policies only.
    pub signed: Option<bool>,
    /// Policies whose signatures satisfy (do not satisfy) their prefix's trust rule only.
    pub verified: Option<bool>,
}

/// `text` cut into lower-case words of letters and digits.
pub fn search_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The words of `texts`, joined by spaces: a field of [`WeightedWords`].
pub fn field_words<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    texts
        .into_iter()
        .flat_map(search_words)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_letters_and_digits_in_lower_case() {
        assert_eq!(
            search_words("Team/Pod-Guard v1.2 deployments/scale ÉTÉ"),
            [
                "team",
                "pod",
                "guard",
                "v1",
                "2",
                "deployments",
                "scale",
                "été"
            ]
        );
        assert!(search_words(" -/:* ").is_empty());
        assert_eq!(field_words(["a-b", "C"]), "a b c");
    }
}
