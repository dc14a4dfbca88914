//! SBOMs from the module alone: the dependency lists `cargo auditable` and Go embed, read from
//! real modules built from the sources in `testdata/sbom/binary/` and checked against those
//! sources' lockfiles.

#[path = "support/documents.rs"]
mod documents;
mod support;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use artifact::wasm::{SectionMap, Spliced};
use documents::render_and_validate;
use sbom::binary::{self, Embedded};
use sbom::lockfile::{self, Dependency, Ecosystem, HashAlgorithm, Scope};
use sbom::model::Options;
use sbom::{Origin, Sbom};
use serde_json::Value;

fn fixture(relative: &str) -> PathBuf {
    test_support::testdata_file(&format!("sbom/binary/{relative}"))
}

fn auditable_module() -> Vec<u8> {
    let path = fixture("auditable-policy.wasm");
    std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

fn go_module() -> Vec<u8> {
    let path = fixture("go-policy.wasm.gz");
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|err| panic!("opening {}: {err}", path.display()));
    let mut module = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut module)
        .unwrap_or_else(|err| panic!("gunzipping {}: {err}", path.display()));
    module
}

fn embedded(module: &[u8]) -> Embedded {
    binary::read(module)
        .unwrap_or_else(|err| panic!("reading the embedded list: {err}"))
        .unwrap_or_else(|| panic!("the module embeds no dependency list"))
}

/// Name and version of each dependency, to compare lists from different inputs.
fn named<'a>(dependencies: impl IntoIterator<Item = &'a Dependency>) -> BTreeSet<(String, String)> {
    dependencies
        .into_iter()
        .map(|d| (d.name.clone(), d.version.clone()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(name, version)| (name.to_string(), version.to_string()))
        .collect()
}

/// Options for an SBOM of the module alone (reproducible, so documents can be compared).
fn alone() -> Options<'static> {
    Options {
        reproducible: true,
        ..Options::default()
    }
}

/// Options for an SBOM with the source folder `dir` (lockfiles only: no toolchain is run).
fn with_source(dir: &Path) -> Options<'_> {
    Options {
        source: Some(dir),
        ..alone()
    }
}

fn scan(dir: &Path) -> lockfile::Scanned {
    lockfile::scan(dir, lockfile::Toolchain::default())
        .unwrap_or_else(|err| panic!("scanning {}: {err}", dir.display()))
}

#[test]
fn cargo_auditable_list_is_the_cargo_lock_with_kinds_and_edges() {
    let embedded = embedded(&auditable_module());
    assert_eq!(embedded.ecosystem, Ecosystem::Cargo);
    assert!(
        embedded.recorded_by.contains(".dep-v0"),
        "{}",
        embedded.recorded_by
    );
    // Every crate the fixture's Cargo.lock pins (but the fixture's own) was part of the build.
    let lock = scan(&fixture("rust-policy"));
    assert_eq!(named(&embedded.dependencies), named(&lock.dependencies));
    // What is compiled in: the crates a wasm32 build links, not the proc-macro and its crates.
    assert_eq!(
        named(embedded.runtime()),
        pairs(&[
            ("itoa", "1.0.19"),
            ("serde", "1.0.229"),
            ("serde_core", "1.0.229")
        ])
    );
    let build: Vec<&str> = embedded
        .dependencies
        .iter()
        .filter(|d| d.scope == Scope::Build)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(
        build,
        [
            "proc-macro2",
            "quote",
            "serde_derive",
            "syn",
            "unicode-ident"
        ]
    );
    // cargo metadata on the fixture's source (for wasm32-wasip1) places every crate the same way.
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let toolchain = lockfile::Toolchain {
        cargo: Some(&cargo),
    };
    let source = fixture("rust-policy");
    let metadata = lockfile::scan(&source, toolchain)
        .unwrap_or_else(|err| panic!("cargo metadata on {}: {err}", source.display()));
    let scoped = |dependencies: &[Dependency]| -> BTreeSet<(String, String, Scope)> {
        dependencies
            .iter()
            .map(|d| (d.name.clone(), d.version.clone(), d.scope))
            .collect()
    };
    assert_eq!(
        scoped(&embedded.dependencies),
        scoped(&metadata.dependencies)
    );
    // The graph: the policy on itoa and serde; serde on serde_core and (to build) serde_derive.
    assert_eq!(
        named(&embedded.graph.direct),
        pairs(&[("itoa", "1.0.19"), ("serde", "1.0.229")])
    );
    let serde = Dependency::new(Ecosystem::Cargo, "serde", "1.0.229");
    let serde_deps: Vec<&str> = embedded
        .graph
        .dependencies_of(&serde)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(serde_deps, ["serde_core", "serde_derive"]);
    let serde_derive = Dependency::new(Ecosystem::Cargo, "serde_derive", "1.0.229");
    assert_eq!(
        embedded.graph.kind(Some(&serde), &serde_derive),
        Some(lockfile::EdgeKind::Build)
    );
}

#[test]
fn go_build_information_is_the_go_mod_with_its_replacement() {
    let embedded = embedded(&go_module());
    assert_eq!(embedded.ecosystem, Ecosystem::Golang);
    // The replaced module is named as what was compiled in: the replacement.
    assert_eq!(
        named(&embedded.dependencies),
        pairs(&[
            ("github.com/cespare/xxhash/v2", "v2.2.0"),
            ("github.com/golang/mod", "v0.8.0")
        ])
    );
    assert_eq!(
        named(&embedded.dependencies),
        named(&scan(&fixture("go-policy")).dependencies),
        "the module and its go.mod disagree"
    );
    assert!(embedded.runtime().count() == embedded.dependencies.len());
    // go.sum's hash of each module is in the module too.
    let go_sum = std::fs::read_to_string(fixture("go-policy/go.sum"))
        .unwrap_or_else(|err| panic!("reading go.sum: {err}"));
    for dependency in &embedded.dependencies {
        let hashes: Vec<&str> = dependency
            .hashes
            .iter()
            .filter(|hash| hash.algorithm == HashAlgorithm::GoH1)
            .map(|hash| hash.value.as_str())
            .collect();
        let line = format!(
            "{} {} {}",
            dependency.name,
            dependency.version,
            hashes.first().copied().unwrap_or("no hash")
        );
        assert!(go_sum.lines().any(|l| l == line), "not in go.sum: {line}");
    }
    let settings: Vec<&str> = embedded
        .properties
        .iter()
        .filter(|(name, _)| name.ends_with("goBuildSetting"))
        .map(|(_, value)| value.as_str())
        .collect();
    assert!(settings.contains(&"GOARCH=wasm"), "{settings:?}");
}

/// The auditable fixture with its `.dep-v0` section holding `data` instead.
fn with_dep_section(data: &[u8]) -> Vec<u8> {
    let module = auditable_module();
    let map = SectionMap::scan(&module).unwrap_or_else(|err| panic!("{err}"));
    Spliced::replace_custom(&map, ".dep-v0", Some(data)).to_vec()
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(bytes)
        .unwrap_or_else(|err| panic!("{err}"));
    encoder.finish().unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn a_corrupt_dep_section_is_an_error_naming_it() {
    for (data, expected) in [
        (b"not zlib at all".to_vec(), "not zlib-compressed"),
        (zlib(b"{\"packages\": [ not json"), "JSON"),
        (
            zlib(br#"{"packages":[{"name":"a","version":"1.0.0","source":"crates.io","root":true},{"name":"b","version":"1.0.0","source":"crates.io","root":true}]}"#),
            "Multiple root packages",
        ),
        (
            zlib(br#"{"packages":[{"name":"a","version":"not a version","source":"crates.io"}]}"#),
            "JSON",
        ),
    ] {
        let module = with_dep_section(&data);
        let message = binary::read(&module)
            .err()
            .map(|err| err.to_string())
            .unwrap_or_else(|| panic!("accepted a corrupt section ({expected})"));
        assert!(
            message.contains("`.dep-v0` section") && message.contains(expected),
            "{message}"
        );
        let built = Sbom::build(&module, &Origin::File(PathBuf::from("p.wasm")), &alone());
        assert!(built.is_err(), "the SBOM was built from a corrupt section");
    }
}

#[test]
fn corrupt_go_build_information_is_an_error_naming_it() {
    let module = go_module();
    let marker = b"\ndep\tgolang.org/x/mod\tv0.8.0\n=>\tgithub.com/golang/mod";
    let at = module
        .windows(marker.len())
        .position(|window| window == marker)
        .unwrap_or_else(|| panic!("the fixture lost its replacement line"));
    let mut corrupt = module.clone();
    // `dep\t\tv0.8.0`: a module line without a module path (same length, so nothing moves).
    corrupt[at + 5..at + 5 + "golang.org/x/mod".len()].fill(b'\t');
    let message = binary::read(&corrupt)
        .err()
        .map(|err| err.to_string())
        .unwrap_or_else(|| panic!("accepted corrupt build information"));
    assert!(
        message.contains("Go build information") && message.contains("not a module"),
        "{message}"
    );
}

/// The package URLs of the SPDX document's packages.
fn spdx_purls(spdx: &Value) -> BTreeSet<String> {
    spdx["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["externalRefs"].as_array().into_iter().flatten())
        .filter(|r| r["referenceType"] == "purl")
        .filter_map(|r| r["referenceLocator"].as_str().map(str::to_string))
        .collect()
}

/// The package URL and scope of each CycloneDX component that has a package URL.
fn cyclonedx_scopes(cyclonedx: &Value) -> BTreeSet<(String, String)> {
    cyclonedx["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let purl = c["purl"].as_str()?;
            Some((purl.to_string(), c["scope"].as_str()?.to_string()))
        })
        .collect()
}

#[test]
fn the_sbom_of_a_module_alone_lists_what_it_embeds() {
    let dir = test_support::tempdir();
    let crates = |names: &[&str], scope: &str| -> Vec<(String, String)> {
        names
            .iter()
            .map(|name| (format!("pkg:cargo/{name}"), scope.to_string()))
            .collect()
    };
    let mut auditable = crates(
        &["itoa@1.0.19", "serde@1.0.229", "serde_core@1.0.229"],
        "required",
    );
    auditable.extend(crates(
        &[
            "proc-macro2@1.0.107",
            "quote@1.0.47",
            "serde_derive@1.0.229",
            "syn@3.0.10",
            "unicode-ident@1.0.27",
        ],
        "excluded",
    ));
    let go = vec![
        (
            "pkg:golang/github.com/cespare/xxhash/v2@v2.2.0".to_string(),
            "required".to_string(),
        ),
        (
            "pkg:golang/github.com/golang/mod@v0.8.0".to_string(),
            "required".to_string(),
        ),
    ];
    for (stem, module, expected) in [
        ("auditable", auditable_module(), auditable),
        ("go", go_module(), go),
    ] {
        let origin = Origin::File(dir.path().join(format!("{stem}.wasm")));
        let sbom = Sbom::build(&module, &origin, &alone())
            .unwrap_or_else(|err| panic!("building the SBOM of {stem}: {err}"));
        assert!(
            sbom.warnings.iter().all(|w| !w.contains("embeds no")),
            "{:?}",
            sbom.warnings
        );
        let (spdx, cyclonedx) = render_and_validate(dir.path(), stem, &sbom);
        let expected: BTreeSet<(String, String)> = expected.into_iter().collect();
        assert_eq!(cyclonedx_scopes(&cyclonedx), expected, "{stem}");
        let purls: BTreeSet<String> = expected.into_iter().map(|(purl, _)| purl).collect();
        assert_eq!(spdx_purls(&spdx), purls, "{stem}");
        assert!(
            spdx.to_string().contains("could not be established"),
            "{stem}: the document does not say what the list cannot tell"
        );
        // The NTIA minimum elements the module's list gives: names, versions, identifiers and the
        // relationships (not the suppliers, which it does not record).
        test_support::assert_ntia_provided(
            &test_support::ntia_report(&dir.path().join(format!("{stem}.spdx.json"))),
            &[
                "componentNames",
                "componentVersions",
                "componentIdentifiers",
                "dependencyRelationshipsProvided",
            ],
            stem,
        );
    }
}

#[test]
fn a_module_without_a_list_gets_an_sbom_that_says_so() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    assert!(matches!(binary::read(&module), Ok(None)));
    let sbom = Sbom::build(&module, &Origin::File(dir.path().join("p.wasm")), &alone())
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(sbom.dependencies.is_empty());
    assert!(
        sbom.warnings
            .iter()
            .any(|w| w.contains("embeds no dependency list")),
        "{:?}",
        sbom.warnings
    );
    render_and_validate(dir.path(), "none", &sbom);
}

#[test]
fn with_the_source_too_the_two_lists_are_cross_checked() {
    let dir = test_support::tempdir();
    let source = dir.path().join("source");
    std::fs::create_dir(&source).unwrap_or_else(|err| panic!("{err}"));
    // The source's lockfile pins another itoa than the module was built with.
    let lock = std::fs::read_to_string(fixture("rust-policy/Cargo.lock"))
        .unwrap_or_else(|err| panic!("{err}"));
    let changed = lock.replace(
        "name = \"itoa\"\nversion = \"1.0.19\"",
        "name = \"itoa\"\nversion = \"1.0.15\"",
    );
    assert_ne!(changed, lock, "the fixture's Cargo.lock changed");
    std::fs::write(source.join("Cargo.lock"), changed).unwrap_or_else(|err| panic!("{err}"));
    let module = auditable_module();
    let sbom = Sbom::build(
        &module,
        &Origin::File(dir.path().join("p.wasm")),
        &with_source(&source),
    )
    .unwrap_or_else(|err| panic!("a difference must not fail the SBOM: {err}"));
    let warnings = sbom.warnings.join("\n");
    assert!(
        warnings.contains("pkg:cargo/itoa@1.0.19") && warnings.contains("pkg:cargo/itoa@1.0.15"),
        "{warnings}"
    );
    let (spdx, cyclonedx) = render_and_validate(dir.path(), "cross", &sbom);
    let spdx_text = spdx.to_string();
    assert!(
        spdx_text.contains("onlyInModule=pkg:cargo/itoa@1.0.19"),
        "{spdx_text}"
    );
    assert!(
        spdx_text.contains("onlyInLockfile=pkg:cargo/itoa@1.0.15"),
        "{spdx_text}"
    );
    let properties = cyclonedx["metadata"]["component"]["properties"].to_string();
    assert!(properties.contains("pkg:cargo/itoa@1.0.19"), "{properties}");

    // The same lockfile as the build: nothing to report.
    let same = Sbom::build(
        &module,
        &Origin::File(dir.path().join("p.wasm")),
        &with_source(&fixture("rust-policy")),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    assert!(
        same.warnings.iter().all(|w| !w.contains("only in")),
        "{:?}",
        same.warnings
    );
}
