//! Modules of a chosen size, for tests of large transfers.

/// The waPC fixture grown to exactly `size` bytes by a custom section of filler (`size` must exceed the
/// fixture by a dozen bytes).
pub fn module_of_size(size: usize) -> Vec<u8> {
    let mut module = crate::compile_fixture("wapc-accept");
    let name = b"filler";
    let header = 1 + 5 + 1 + name.len();
    let payload = size
        .checked_sub(module.len() + header)
        .unwrap_or_else(|| panic!("{size} bytes is smaller than the fixture"));
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.extend((0..payload).map(|i| (i * 31 % 251) as u8));
    module.push(0);
    let mut length = section.len();
    // Five LEB128 bytes whatever the value, so that the size comes out exact.
    for byte in 0..5 {
        let low = (length & 0x7f) as u8;
        length >>= 7;
        module.push(if byte < 4 { low | 0x80 } else { low });
    }
    module.extend(section);
    module
}
