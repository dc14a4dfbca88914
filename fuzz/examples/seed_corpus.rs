//! Fills `corpus/` with seeds: the WAT fixtures compiled (bare and annotated), the third-party
//! policies in `../../shared/policies` when present, and the metadata files with their section JSON.
//!
//! Run from `fuzz/`: `cargo run --example seed_corpus`.

use std::fs;
use std::path::Path;

use artifact::metadata::MetadataFile;
use artifact::wasm::{SectionMap, write_metadata};

fn main() {
    let testdata = Path::new("../testdata");
    let modules = Path::new("corpus/section_reader");
    let documents = Path::new("corpus/metadata_parser");
    fs::create_dir_all(modules).unwrap();
    fs::create_dir_all(documents).unwrap();

    let mut metadata = Vec::new();
    for path in files(&testdata.join("metadata"))
        .into_iter()
        .chain(files(&testdata.join("metadata/invalid")))
    {
        let text = fs::read_to_string(&path).unwrap();
        copy(&path, documents);
        if let Ok(file) = MetadataFile::parse(&text) {
            let json = file.metadata.to_section_data().unwrap();
            fs::write(documents.join(name(&path, ".json")), json).unwrap();
            metadata.push(file.metadata);
        }
    }

    let mut wasm = Vec::new();
    for path in files(&testdata.join("policies")) {
        if path.extension().is_some_and(|ext| ext == "wat") {
            let bytes = wat::parse_file(&path).unwrap();
            fs::write(modules.join(name(&path, ".wasm")), &bytes).unwrap();
            wasm.push((path, bytes));
        }
    }
    for path in files(Path::new("../../shared/policies")) {
        if path.extension().is_some_and(|ext| ext == "wasm") {
            copy(&path, modules);
        }
    }

    for ((path, bytes), metadata) in wasm.iter().zip(metadata.iter().cycle()) {
        let map = SectionMap::scan(bytes).unwrap();
        let annotated = write_metadata(&map, metadata).unwrap().to_vec();
        fs::write(modules.join(name(path, ".annotated.wasm")), annotated).unwrap();
    }
    println!(
        "{} modules, {} documents",
        files(modules).len(),
        files(documents).len()
    );
}

/// The files in `dir`, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
}

fn name(path: &Path, suffix: &str) -> String {
    format!("{}{suffix}", path.file_stem().unwrap().to_string_lossy())
}

fn copy(path: &Path, dir: &Path) {
    fs::copy(path, dir.join(path.file_name().unwrap())).unwrap();
}
