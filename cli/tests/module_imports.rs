//! The CLI's modules form layers: the shared pieces (`exit`, `environment`, `options`, the flag structs, key files)
//! sit below the command modules, and no module reaches one that reaches it back.

use std::path::Path;

use test_support::module_imports::{first_circle, graph, modules};

#[test]
fn no_module_reaches_one_that_reaches_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    assert!(modules.contains_key(&vec!["commands".to_string(), "verify".to_string()]));
    let edges = graph(&modules);
    assert!(
        edges[&vec!["exit".to_string()]].is_empty(),
        "exit.rs is the ground floor: {:?}",
        edges[&vec!["exit".to_string()]]
    );
    if let Some(circle) = first_circle(&edges) {
        panic!("{} reaches the first back", circle.join(" -> "));
    }
}
