//! The crate's modules form layers: `error.rs` is the ground floor, and no module reaches one that reaches it back
//! (the policy log target, the host-call interface and each Rego evaluation's host state below the modules that
//! use them).

use std::path::Path;

#[test]
fn no_module_reaches_one_that_reaches_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    test_support::module_imports::assert_layers(&src, "error");
}
