//! Import circles between a crate's modules: no module may reach one that reaches it back, so that the modules
//! form layers. Reads the sources as text: every path outside the unit tests through `crate::`, `super::`,
//! `self::` or a child module, in grouped `use` imports too, names the deepest module it goes through.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `src/` by path (`["api", "blobs"]`; the crate root, `lib.rs` or `main.rs`, is `[]`), with its
/// source outside its unit tests.
pub fn modules(src: &Path) -> BTreeMap<Vec<String>, String> {
    let mut modules = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|err| panic!("listing {}: {err}", folder.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|err| panic!("listing {}: {err}", folder.display()))
                .path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(src) else {
                continue;
            };
            let Some(relative) = relative.to_str().and_then(|r| r.strip_suffix(".rs")) else {
                continue;
            };
            let mut name: Vec<String> = relative.split('/').map(str::to_string).collect();
            if name
                .last()
                .is_some_and(|last| last == "mod" || last == "lib" || last == "main")
            {
                name.pop();
            }
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            modules.insert(name, code.to_string());
        }
    }
    modules
}

/// The modules `code`, the source of module `at`, reaches: every path through `crate::`, `super::` (relative to
/// `at`), `self::` or a child module of `at`, grouped `use` imports (`{a::{b, c}, d}`) included, names the deepest
/// module it goes through.
fn reached(
    at: &[String],
    code: &str,
    modules: &BTreeMap<Vec<String>, String>,
) -> BTreeSet<Vec<String>> {
    let bytes = code.as_bytes();
    let mut found = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        let after_path = i > 0 && (is_ident(bytes[i - 1]) || matches!(bytes[i - 1], b':' | b'.'));
        let end = i + bytes[i..].iter().take_while(|b| is_ident(**b)).count();
        if end == i || after_path || !bytes[end..].starts_with(b"::") {
            i = end.max(i + 1);
            continue;
        }
        let mut paths = Vec::new();
        i = use_tree(bytes, i, Vec::new(), &mut paths);
        found.extend(paths.iter().filter_map(|path| deepest(at, path, modules)));
    }
    found
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Reads the path or `use` tree at `at` (after `prefix`) into `paths`, one per leaf (a glob or `self` leaf is
/// its prefix); returns where it ends.
fn use_tree(
    bytes: &[u8],
    mut at: usize,
    mut prefix: Vec<String>,
    paths: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match bytes.get(at) {
            Some(b'{') => return use_group(bytes, at + 1, &prefix, paths),
            Some(b'*') => {
                paths.push(prefix);
                return at + 1;
            }
            _ => {}
        }
        let end = at + bytes[at..].iter().take_while(|b| is_ident(**b)).count();
        let name = String::from_utf8_lossy(&bytes[at..end]);
        if name != "self" || prefix.is_empty() {
            prefix.extend((end > at).then(|| name.to_string()));
        }
        if !bytes[end..].starts_with(b"::") {
            paths.push(prefix);
            return end;
        }
        at = end + 2;
    }
}

/// Reads the trees of a `{…}` group whose `{` is just before `at`; returns where the group ends.
fn use_group(
    bytes: &[u8],
    mut at: usize,
    prefix: &[String],
    paths: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        at += bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        match bytes.get(at) {
            None => return at,
            Some(b'}') => return at + 1,
            Some(b',') => at += 1,
            Some(_) => {
                at = use_tree(bytes, at, prefix.to_vec(), paths);
                at += bytes[at..]
                    .iter()
                    .take_while(|b| !matches!(b, b',' | b'}'))
                    .count();
            }
        }
    }
}

/// The deepest module of `modules` that `path`, written in module `at`, goes through; `None` for a path outside
/// the crate (another crate's, or a local name).
fn deepest(
    at: &[String],
    path: &[String],
    modules: &BTreeMap<Vec<String>, String>,
) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut full = match first.as_str() {
        "crate" => Vec::new(),
        "self" => at.to_vec(),
        "super" => at[..at.len().checked_sub(1)?].to_vec(),
        child => {
            let child = [at, &[child.to_string()]].concat();
            modules.contains_key(&child).then_some(child)?
        }
    };
    for segment in rest {
        if segment == "super" {
            full.pop()?;
        } else {
            full.push(segment.clone());
        }
    }
    (0..=full.len())
        .rev()
        .map(|n| full[..n].to_vec())
        .find(|prefix| modules.contains_key(prefix))
}

/// What each module reaches, itself aside.
pub fn graph(
    modules: &BTreeMap<Vec<String>, String>,
) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    modules
        .iter()
        .map(|(name, code)| {
            let mut to = reached(name, code, modules);
            to.remove(name);
            (name.clone(), to)
        })
        .collect()
}

/// Panics, naming the modules, if the modules of `src` form a circle or its `ground_floor` module (`"error"`)
/// reaches another.
pub fn assert_layers(src: &Path, ground_floor: &str) {
    let edges = graph(&modules(src));
    let reached = edges
        .get(&vec![ground_floor.to_string()])
        .unwrap_or_else(|| panic!("{} has no module {ground_floor}", src.display()));
    assert!(
        reached.is_empty(),
        "{ground_floor} is the ground floor, yet reaches {reached:?}"
    );
    if let Some(circle) = first_circle(&edges) {
        panic!("{} reaches the first back", circle.join(" -> "));
    }
}

/// A circle of modules, each reaching the next and the last the first, if there is one (depth first).
pub fn first_circle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    let show = |name: &Vec<String>| {
        if name.is_empty() {
            "crate".to_string()
        } else {
            name.join("::")
        }
    };
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        let mut path: Vec<(&Vec<String>, Vec<&Vec<String>>)> =
            vec![(start, edges[start].iter().collect())];
        while let Some((node, pending)) = path.last_mut() {
            let node = *node;
            let Some(next) = pending.pop() else {
                done.insert(node.clone());
                path.pop();
                continue;
            };
            if let Some(at) = path.iter().position(|(on, _)| *on == next) {
                return Some(path[at..].iter().map(|(on, _)| show(on)).collect());
            }
            if !done.contains(next) && edges.contains_key(next) {
                path.push((next, edges[next].iter().collect()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(path: &str) -> Vec<String> {
        path.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn reached_from(at: &str, code: &str) -> BTreeSet<Vec<String>> {
        let modules: BTreeMap<Vec<String>, String> =
            ["", "a", "a::b", "a::b::c", "a::d", "e", "e::f"]
                .into_iter()
                .map(|path| (name(path), String::new()))
                .collect();
        reached(&name(at), code, &modules)
    }

    #[test]
    fn super_paths_resolve_from_the_module_own_path() {
        assert_eq!(
            reached_from("a::b::c", "use super::Item;"),
            BTreeSet::from([name("a::b")])
        );
        assert_eq!(
            reached_from("a::b::c", "let x = super::super::d::run();"),
            BTreeSet::from([name("a::d")])
        );
        assert_eq!(
            reached_from("a", "use super::e::f::Item;"),
            BTreeSet::from([name("e::f")])
        );
        assert_eq!(reached_from("", "use super::Item;"), BTreeSet::new());
    }

    #[test]
    fn grouped_imports_name_each_leaf() {
        assert_eq!(
            reached_from("e", "use crate::{a::{b::{self, c}, Item}, e::f as g};"),
            BTreeSet::from([name("a::b"), name("a::b::c"), name("a"), name("e::f")])
        );
        assert_eq!(
            reached_from("a::d", "use super::{\n    Item,\n    b::c::*,\n};"),
            BTreeSet::from([name("a"), name("a::b::c")])
        );
    }

    #[test]
    fn child_and_self_paths_resolve_but_other_names_do_not() {
        assert_eq!(
            reached_from("a", "mod b;\npub use b::Item;\nlet x = self::d::run();"),
            BTreeSet::from([name("a::b"), name("a::d")])
        );
        assert_eq!(
            reached_from(
                "a",
                "use std::{e::f, fmt};\nlet x = f::run(); x.e::<T>(); pub(crate) fn g() {}"
            ),
            BTreeSet::new()
        );
    }

    #[test]
    fn a_circle_is_found_and_named() {
        let mut modules: BTreeMap<Vec<String>, String> = [
            ("", "mod api; mod errors; mod state;"),
            ("errors", "let range = crate::api::upload_range(size);"),
            (
                "api",
                "mod uploads; use crate::errors::Result; use crate::state::AppState;",
            ),
            ("api::uploads", "use super::super::state::AppState;"),
            (
                "state",
                "/// see [`crate::errors`]\nuse crate::errors::Result;",
            ),
        ]
        .into_iter()
        .map(|(path, code)| (name(path), code.to_string()))
        .collect();
        let edges = graph(&modules);
        assert_eq!(
            edges[&name("api")],
            BTreeSet::from([name("errors"), name("state")])
        );
        // errors -> api -> errors, or errors -> api -> state -> errors: both close through errors and api.
        let circle = first_circle(&edges).unwrap_or_default();
        assert!(
            circle.contains(&"api".to_string()) && circle.contains(&"errors".to_string()),
            "{circle:?}"
        );

        modules.insert(name("errors"), "use std::fmt;".to_string());
        assert_eq!(first_circle(&graph(&modules)), None);
        modules.insert(
            name("state"),
            "use crate::api::uploads::Upload;".to_string(),
        );
        let mut circle = first_circle(&graph(&modules)).unwrap_or_default();
        circle.sort();
        assert_eq!(circle, ["api::uploads", "state"]);
    }
}
