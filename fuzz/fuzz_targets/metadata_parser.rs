//! Arbitrary text through the metadata file parser, and arbitrary bytes through the section reader.

#![no_main]

use artifact::metadata::{Metadata, MetadataFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = Metadata::from_section_data(bytes);

    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(file) = MetadataFile::parse(text) else {
        return;
    };
    let _ = file.metadata.validate();
    let data = file
        .metadata
        .to_section_data()
        .expect("parsed metadata serializes");
    let read_back = Metadata::from_section_data(&data).expect("section data parses back");
    assert_eq!(read_back, file.metadata);
});
