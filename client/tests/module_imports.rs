//! The crate's modules form layers: `error.rs` is the ground floor, the store lies below the registry client that
//! serves policies from it, and no module reaches one that reaches it back.

use std::path::Path;

#[test]
fn no_module_reaches_one_that_reaches_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    test_support::module_imports::assert_layers(&src, "error");
}
