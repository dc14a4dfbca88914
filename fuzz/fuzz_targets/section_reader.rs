//! Arbitrary bytes through the section scanner and everything built on it.

#![no_main]

use artifact::metadata::Metadata;
use artifact::wasm::{
    METADATA_SECTION, SectionMap, read_metadata, read_names, read_producers, strip_metadata,
    write_metadata,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(map) = SectionMap::scan(bytes) else {
        return;
    };
    let _ = read_metadata(&map);
    let _ = read_producers(&map);
    let _ = read_names(&map);

    let stripped = strip_metadata(&map).to_vec();
    let stripped_map = SectionMap::scan(&stripped).expect("a stripped module scans");
    assert_eq!(stripped_map.custom_sections(METADATA_SECTION).count(), 0);

    let written = write_metadata(&map, &small_metadata())
        .expect("small metadata serializes")
        .to_vec();
    let written_map = SectionMap::scan(&written).expect("a written module scans");
    assert_eq!(written_map.custom_sections(METADATA_SECTION).count(), 1);
    assert_eq!(
        read_metadata(&written_map).expect("written metadata reads back"),
        Some(small_metadata())
    );
    assert_eq!(strip_metadata(&written_map).to_vec(), stripped);
});

fn small_metadata() -> Metadata {
    Metadata::from_section_data(br#"{"protocolVersion":"v1","rules":[],"mutating":false}"#).unwrap()
}
