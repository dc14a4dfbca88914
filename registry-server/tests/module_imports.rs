//! The crate's modules form layers: no module reaches (through `crate::`, `super::`, `self::` or child-module
//! paths) one that reaches it back, so that `errors.rs` stays the ground floor and `AppState` (`state.rs`) sits
//! below the handlers that share it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

// The checker is test-support's; test-support depends on this crate (it starts the registry), so the file is
// included rather than depended on.
#[path = "../../test-support/src/module_imports.rs"]
mod module_imports;

use module_imports::{first_circle, graph, modules};

#[test]
fn no_module_reaches_one_that_reaches_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    assert!(
        modules.contains_key(&vec!["errors".to_string()]),
        "{:?}",
        modules.keys()
    );
    assert!(modules.contains_key(&vec!["api".to_string(), "uploads".to_string()]));
    let edges = graph(&modules);
    assert_eq!(
        edges[&vec!["errors".to_string()]],
        BTreeSet::new(),
        "errors.rs is the ground floor"
    );
    if let Some(circle) = first_circle(&edges) {
        panic!("{} reaches the first back", circle.join(" -> "));
    }
}

#[test]
fn a_circle_is_found_and_named() {
    let name = |path: &str| -> Vec<String> {
        path.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut modules: BTreeMap<Vec<String>, String> = [
        ("", "mod api; mod errors; mod state;"),
        (
            "errors",
            "use axum::http::StatusCode;\nlet range = crate::api::upload_range(size);",
        ),
        (
            "api",
            "use crate::errors::{RegistryError, Result};\nuse crate::state::AppState;",
        ),
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

    modules.insert(name("errors"), "use axum::http::StatusCode;".to_string());
    assert_eq!(first_circle(&graph(&modules)), None);
}
