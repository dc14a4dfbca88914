//! The CLI's modules form layers: the shared pieces (`exit`, `environment`, `options`, the flag structs, key files)
//! sit below the command modules, and no module reaches one that reaches it back.

use std::path::Path;

#[test]
fn no_module_reaches_one_that_reaches_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    test_support::module_imports::assert_layers(&src, "exit");
}
