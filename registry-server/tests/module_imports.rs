//! The crate's modules form layers: no module reaches one that reaches it back, so that `errors.rs` stays the
//! ground floor and `AppState` (`state.rs`) sits below the handlers that share it.

use std::path::Path;

// The checker is test-support's; test-support depends on this crate (it starts the registry), so the file is
// included rather than depended on.
#[path = "../../test-support/src/module_imports.rs"]
mod module_imports;

#[test]
fn no_module_reaches_one_that_reaches_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    module_imports::assert_layers(&src, "errors");
}
