//! Import circles between a crate's modules: no module may reach (through `crate::` paths) one that reaches it
//! back, so that the modules form layers. Reads the sources as text: every `crate::a::b…` path outside the unit
//! tests names the deepest module it goes through.

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

/// The modules `code` reaches through `crate::` paths: for each path, the deepest module it names.
fn reached(code: &str, modules: &BTreeMap<Vec<String>, String>) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut path = Vec::new();
        for segment in code[at + "crate::".len()..].split("::") {
            let name: String = segment
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let whole = name.len() == segment.len();
            if !name.is_empty() {
                path.push(name);
            }
            if !whole {
                break;
            }
        }
        let deepest = (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|prefix| modules.contains_key(prefix));
        found.extend(deepest);
    }
    found
}

/// What each module reaches, itself aside.
pub fn graph(
    modules: &BTreeMap<Vec<String>, String>,
) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    modules
        .iter()
        .map(|(name, code)| {
            let mut to = reached(code, modules);
            to.remove(name);
            (name.clone(), to)
        })
        .collect()
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
