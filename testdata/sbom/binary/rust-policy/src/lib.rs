//! A tiny Wasm module for Palisade's SBOM tests: its only purpose is to carry the dependency list
//! that `cargo auditable` embeds (a `.dep-v0` custom section). It formats a number with `itoa` and
//! has a type deriving `serde::Serialize`, so its dependencies are runtime crates (itoa, serde)
//! and build-time crates (serde_derive and the proc-macro crates under it).

#![no_std]

use serde::Serialize;

/// A value the module would serialize.
#[derive(Serialize)]
pub struct Answer {
    /// Whether the request is accepted.
    pub accepted: bool,
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// The number of decimal digits of `value` (0 would mean the value was refused).
#[unsafe(no_mangle)]
pub extern "C" fn digits(value: u32) -> usize {
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(value);
    let answer = Answer { accepted: !text.is_empty() };
    if answer.accepted { text.len() } else { 0 }
}
