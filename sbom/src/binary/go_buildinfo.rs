//! Go's build information in a module built by the Go toolchain (`GOARCH=wasm`).
//!
//! The Go linker keeps the module list the program was built from in the data of every binary
//! (`runtime.modinfo`, what `runtime/debug.ReadBuildInfo` and `go version -m` show): lines of
//! tab-separated fields between two fixed 16-byte markers:
//!
//! ```text
//! path    example.com/policy
//! mod     example.com/policy    (devel)
//! dep     github.com/google/uuid    v1.6.0    h1:…
//! =>      github.com/google/uuid    v1.5.0    h1:…
//! build   GOOS=wasip1
//! ```
//!
//! A `=>` line replaces the module on the line before it (`replace` in go.mod): the component is
//! the replacement, which is what was compiled in. In Wasm the `\xff Go buildinf:` header that
//! `go version -m` looks for in other binaries is not written (checked with Go 1.19's
//! `GOOS=js`; the Wasm linker writes only the data segments), so the markers are looked for in
//! the module's data segments. TinyGo writes neither (see [`super`]).

use wasmparser::{Parser, Payload};

use super::embedded::Embedded;
use crate::element::Element;
use crate::error::{Result, SbomError};
use crate::format::PROPERTY_PREFIX;
use crate::lockfile::{
    Dependency, Ecosystem, Graph, HashAlgorithm, Note, PackageHash, Scope, Subject,
};

/// The marker before the build information (set by `cmd/go`).
const START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
/// The marker after it.
const END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

/// What the build information cannot tell, for the document.
pub const NOT_ESTABLISHED: &str = "Go: read from the module's build information: the \
     module-to-module edges (which modules the policy requires itself), licenses and suppliers could \
     not be established";

/// Where the build information is looked for, for messages.
const PLACE: &str = "Go build information (runtime.modinfo, in a data segment)";

/// One module line: `mod`, `dep` or `=>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// The module path, or a folder for a replacement by a local copy.
    pub path: String,
    /// Its version (`(devel)` for the main module built from a work tree; empty for a folder).
    pub version: String,
    /// Its go.sum hash (`h1:…`), when recorded.
    pub sum: Option<String>,
    /// What replaces it (a `=>` line), if anything.
    pub replace: Option<Box<Module>>,
}

impl Module {
    /// Whether this is a folder on the building machine rather than a published module.
    pub fn is_local(&self) -> bool {
        self.path.starts_with("./")
            || self.path.starts_with("../")
            || self.path.starts_with('/')
            || self.path.as_bytes().get(1) == Some(&b':')
    }
}

/// The build information of a Go program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// The main package's import path (`path` line).
    pub path: Option<String>,
    /// The main module (`mod` line).
    pub main: Option<Module>,
    /// The modules the program was built with (`dep` lines), in the order given.
    pub deps: Vec<Module>,
    /// Build settings (`build` lines: `GOOS=wasip1`, `-trimpath=true`, `vcs.revision=…`), as written.
    pub settings: Vec<String>,
}

/// The build information in `module`'s data segments; `None` when there is none.
pub fn read(module: &[u8]) -> Result<Option<Embedded>> {
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(|err| {
            SbomError::Artifact(artifact::ArtifactError::Malformed {
                offset: err.offset(),
                reason: err.message().to_string(),
            })
        })?;
        let Payload::DataSection(reader) = payload else {
            continue;
        };
        for segment in reader {
            let segment = segment.map_err(|err| unreadable(err.message().to_string()))?;
            // The markers alone (a program that looks for them holds both) are not build
            // information: it names the main package or module.
            if let Some(text) = between_markers(segment.data)? {
                let info = parse(text)?;
                if info.path.is_some() || info.main.is_some() {
                    return components(&info).map(Some);
                }
            }
        }
    }
    Ok(None)
}

/// The text between the two markers in `data`, if the start marker is there.
fn between_markers(data: &[u8]) -> Result<Option<&str>> {
    let Some(start) = find(data, &START) else {
        return Ok(None);
    };
    let rest = &data[start + START.len()..];
    let end = find(rest, &END)
        .ok_or_else(|| unreadable("its end marker is missing (truncated data?)".to_string()))?;
    std::str::from_utf8(&rest[..end])
        .map(Some)
        .map_err(|err| unreadable(format!("it is not UTF-8 text: {err}")))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn unreadable(reason: String) -> SbomError {
    SbomError::EmbeddedDependencies {
        place: PLACE.to_string(),
        reason,
    }
}

/// Parses the lines of the build information; unknown kinds of lines are skipped (newer Go
/// versions may add some), malformed known ones are errors.
pub fn parse(text: &str) -> Result<BuildInfo> {
    let mut info = BuildInfo::default();
    for (number, line) in text.lines().enumerate() {
        let malformed = |what: &str| unreadable(format!("line {}: {what}: {line:?}", number + 1));
        let Some((kind, rest)) = line.split_once('\t') else {
            continue;
        };
        match kind {
            "path" => info.path = Some(rest.to_string()),
            "mod" => info.main = Some(module(rest).ok_or_else(|| malformed("not a module"))?),
            "dep" => info
                .deps
                .push(module(rest).ok_or_else(|| malformed("not a module"))?),
            "=>" => {
                let replacement = module(rest).ok_or_else(|| malformed("not a module"))?;
                let replaced = match info.deps.last_mut() {
                    Some(dep) => dep,
                    None => info
                        .main
                        .as_mut()
                        .ok_or_else(|| malformed("a replacement of no module"))?,
                };
                if replaced.replace.is_some() {
                    return Err(malformed("a second replacement of the same module"));
                }
                replaced.replace = Some(Box::new(replacement));
            }
            "build" => info.settings.push(rest.to_string()),
            _ => {}
        }
    }
    Ok(info)
}

/// `PATH\tVERSION\tSUM` (version and sum may be missing or empty).
fn module(fields: &str) -> Option<Module> {
    let mut fields = fields.split('\t');
    let path = fields.next().filter(|path| !path.is_empty())?;
    let version = fields.next().unwrap_or_default();
    let sum = fields.next().filter(|sum| !sum.is_empty());
    Some(Module {
        path: path.to_string(),
        version: version.to_string(),
        sum: sum.map(str::to_string),
        replace: None,
    })
}

/// The components of a Go program: each `dep`, or what replaces it. Go records no graph: the
/// policy depends on each (direct and indirect alike).
fn components(info: &BuildInfo) -> Result<Embedded> {
    let mut dependencies = Vec::new();
    let mut warnings = Vec::new();
    for dep in &info.deps {
        let compiled = match &dep.replace {
            Some(replacement) if replacement.is_local() => {
                warnings.push(format!(
                    "the Go module {} {} was replaced by the folder {} when the module was built: \
                     the SBOM names the module, but its code came from that folder",
                    dep.path, dep.version, replacement.path
                ));
                dep
            }
            Some(replacement) => replacement,
            None => dep,
        };
        let mut dependency = Dependency::new(Ecosystem::Golang, &compiled.path, &compiled.version)
            .with_hash(compiled.sum.as_ref().map(|sum| PackageHash {
                algorithm: HashAlgorithm::GoH1,
                value: sum.clone(),
            }));
        dependency.scope = Scope::Runtime;
        dependencies.push(dependency);
    }
    dependencies.sort();
    dependencies.dedup();
    let name = |key: &str| format!("{PROPERTY_PREFIX}{key}");
    let mut properties = Vec::new();
    if let Some(main) = &info.main {
        properties.push((
            name("goMainModule"),
            format!("{} {}", main.path, main.version),
        ));
    }
    properties.extend(
        info.settings
            .iter()
            .map(|setting| (name("goBuildSetting"), setting.clone())),
    );
    Ok(Embedded {
        recorded_by: PLACE.to_string(),
        ecosystem: Ecosystem::Golang,
        note: Note::unknown(
            NOT_ESTABLISHED,
            Subject::Dependencies(Ecosystem::Golang),
            &[Element::Supplier, Element::License],
        ),
        graph: Graph {
            direct: dependencies.iter().cloned().collect(),
            ..Graph::default()
        },
        dependencies,
        properties,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "path\texample.com/policy\n\
        mod\texample.com/policy\t(devel)\t\n\
        dep\tgithub.com/go-openapi/strfmt\tv0.21.3\n\
        =>\tgithub.com/kubewarden/strfmt\tv0.1.3\th1:abc=\n\
        dep\tgithub.com/google/uuid\tv1.6.0\th1:def=\n\
        dep\texample.com/greeting\tv0.1.0\n\
        =>\t./greeting\t\t\n\
        build\t-compiler=gc\n\
        build\tGOOS=wasip1\n\
        future\tsomething new\n";

    #[test]
    fn replacements_name_what_was_compiled_in() {
        let info = parse(TEXT).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(info.path.as_deref(), Some("example.com/policy"));
        assert_eq!(info.settings, ["-compiler=gc", "GOOS=wasip1"]);
        let embedded = components(&info).unwrap_or_else(|err| panic!("{err}"));
        let go = |path: &str, version: &str| Dependency::new(Ecosystem::Golang, path, version);
        assert_eq!(
            embedded.dependencies,
            [
                go("example.com/greeting", "v0.1.0"),
                go("github.com/google/uuid", "v1.6.0"),
                go("github.com/kubewarden/strfmt", "v0.1.3"),
            ]
        );
        assert!(
            embedded.warnings.iter().any(|w| w.contains("./greeting")),
            "{:?}",
            embedded.warnings
        );
        assert!(embedded.properties.contains(&(
            "palisade:policy:goMainModule".to_string(),
            "example.com/policy (devel)".to_string()
        )));
    }

    #[test]
    fn malformed_lines_are_named() {
        for (text, expected) in [
            ("=>\tgithub.com/a/b\tv1.0.0\n", "a replacement of no module"),
            ("dep\t\tv1.0.0\n", "line 1: not a module"),
            (
                "dep\tgithub.com/a/b\tv1\n=>\tx\tv2\n=>\ty\tv3\n",
                "line 3: a second replacement",
            ),
        ] {
            let err = parse(text)
                .err()
                .map(|err| err.to_string())
                .unwrap_or_default();
            assert!(
                err.contains(expected) && err.contains("Go build information"),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn markers_without_build_information_are_not_a_go_program() {
        let data = [&b"x"[..], &START, &END].concat();
        let module = wat_module_with_data(&data);
        assert_eq!(read(&module).ok().map(|e| e.is_none()), Some(true));
        let text = b"path\texample.com/p\nmod\texample.com/p\t(devel)\t\n";
        let data = [&START[..], text, &END].concat();
        let embedded = read(&wat_module_with_data(&data))
            .ok()
            .flatten()
            .map(|embedded| embedded.dependencies.len());
        assert_eq!(embedded, Some(0));
    }

    /// A module with one active data segment holding `data`.
    fn wat_module_with_data(data: &[u8]) -> Vec<u8> {
        let escaped: String = data.iter().map(|byte| format!("\\{byte:02x}")).collect();
        test_support::compile_wat(&format!(
            r#"(module (memory 1) (data (i32.const 0) "{escaped}"))"#
        ))
    }

    #[test]
    fn markers_without_an_end_are_an_error() {
        let mut data = b"xx".to_vec();
        data.extend_from_slice(&START);
        data.extend_from_slice(b"path\tx\n");
        let err = between_markers(&data)
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(err.contains("end marker"), "{err}");
        data.extend_from_slice(&END);
        assert_eq!(between_markers(&data).ok().flatten(), Some("path\tx\n"));
        assert_eq!(between_markers(b"no markers here").ok(), Some(None));
    }
}
