//! Pre-initialised Rego modules: the OPA runtime's set-up (its start function: heap, tables of
//! the runtime's own) runs once at load, and every evaluation starts from the state it left,
//! mapped copy-on-write, instead of copying data segments and running it again.
//!
//! [`Layout::read`] reads what the snapshot needs from the policy's bytes; [`instrument`] makes
//! the module whose instance runs the set-up: the policy as it is, its mutable globals exported
//! so that their values can be read afterwards. [`build`] writes the pre-initialised module from
//! that instance's memory and globals: the memory defined by the module (no longer imported) and
//! exported as [`MEMORY_EXPORT`], holding the captured contents in data segments (all-zero pages
//! skipped); the mutable globals starting at their captured values; no start function. wasmtime
//! turns such data segments into a memory image that its pooling allocator maps copy-on-write
//! into each new instance, so every evaluation still has a memory of its own.
//!
//! wasmtime-wizer does the same for modules that define their memory but refuses those that
//! import it, as every module `opa build -t wasm` writes does.

use std::ops::Range;

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    ConstExpr, DataCountSection, DataSection, ExportKind, ExportSection, GlobalSection,
    ImportSection, MemorySection, RawSection, SectionId,
};
use wasmparser::{DataKind, Operator, Parser, Payload, TypeRef, ValType};
use wasmtime::{AsContextMut, Instance, Memory, Val};

use crate::error::EvaluatorError;

/// The export under which the pre-initialised module gives its memory.
pub(super) const MEMORY_EXPORT: &str = "palisade:memory";

/// The prefix of the exports [`instrument`] adds for mutable globals (followed by the index).
const GLOBAL_EXPORT_PREFIX: &str = "palisade:global:";

/// Granularity of the search for all-zero memory left out of the snapshot.
const CHUNK: usize = 4096;

/// What the snapshot needs to know about a Rego module.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// The type of the imported `env.memory`, if the module imports it.
    memory: Option<wasmparser::MemoryType>,
    /// The indices of the module's own mutable globals.
    mutable_globals: Vec<u32>,
    /// Why the module's state after set-up cannot be captured, when it cannot.
    obstacle: Option<String>,
}

impl Layout {
    /// Reads `module`, which wasmtime validated.
    pub(super) fn read(module: &[u8]) -> Result<Layout, EvaluatorError> {
        let mut memory = None;
        let mut exports = false;
        let mut mutable_globals = Vec::new();
        let mut imported_globals = 0;
        let mut obstacle = None;
        let mut note = |reason: String| {
            obstacle.get_or_insert(reason);
        };
        for payload in Parser::new(0).parse_all(module) {
            match payload.map_err(malformed)? {
                Payload::ImportSection(section) => {
                    for import in section.into_imports() {
                        let import = import.map_err(malformed)?;
                        match import.ty {
                            TypeRef::Memory(ty)
                                if (import.module, import.name) == ("env", "memory") =>
                            {
                                memory = Some(ty);
                            }
                            TypeRef::Memory(_) => note("it imports a second memory".into()),
                            TypeRef::Global(_) => imported_globals += 1,
                            _ => {}
                        }
                    }
                }
                Payload::MemorySection(_) => note("it defines a memory of its own".into()),
                Payload::GlobalSection(section) => {
                    for (index, global) in (imported_globals..).zip(section) {
                        let ty = global.map_err(malformed)?.ty;
                        if !ty.mutable {
                            continue;
                        }
                        if matches!(ty.content_type, ValType::Ref(_)) {
                            note(format!("its global {index} holds a reference"));
                        }
                        mutable_globals.push(index);
                    }
                }
                Payload::ExportSection(section) => {
                    exports = true;
                    for export in section {
                        let name = export.map_err(malformed)?.name;
                        if name.starts_with("palisade:") {
                            note(format!("it exports `{name}`, a name the host reserves"));
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    if let Some(operator) = uncapturable_operator(&body)? {
                        note(format!(
                            "its code uses `{operator}`, whose effect on tables and segments a snapshot does not hold"
                        ));
                    }
                }
                _ => {}
            }
        }
        match memory {
            None => note("it does not import `env.memory`".into()),
            Some(memory) if memory.shared => note("its memory is shared".into()),
            Some(_) => {}
        }
        if !exports {
            note("it exports nothing".into());
        }
        Ok(Layout {
            memory,
            mutable_globals,
            obstacle,
        })
    }

    /// Why the module cannot be pre-initialised, if it cannot (it then runs its set-up in each
    /// instance).
    pub(super) fn obstacle(&self) -> Option<&str> {
        self.obstacle.as_deref()
    }
}

/// The first operator of `body` that changes a table or drops a segment, if any.
fn uncapturable_operator(
    body: &wasmparser::FunctionBody<'_>,
) -> Result<Option<&'static str>, EvaluatorError> {
    let mut reader = body.get_operators_reader().map_err(malformed)?;
    while !reader.eof() {
        let name = match reader.read().map_err(malformed)? {
            Operator::TableSet { .. } => "table.set",
            Operator::TableGrow { .. } => "table.grow",
            Operator::TableFill { .. } => "table.fill",
            Operator::TableCopy { .. } => "table.copy",
            Operator::TableInit { .. } => "table.init",
            Operator::ElemDrop { .. } => "elem.drop",
            Operator::DataDrop { .. } => "data.drop",
            _ => continue,
        };
        return Ok(Some(name));
    }
    Ok(None)
}

/// `module` with its mutable globals exported, so that [`capture`] can read them.
pub(super) fn instrument(module: &[u8], layout: &Layout) -> Result<Vec<u8>, EvaluatorError> {
    let mut output = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(malformed)?;
        match &payload {
            Payload::ExportSection(section) => {
                let mut exports = original_exports(section.clone())?;
                for &index in &layout.mutable_globals {
                    exports.export(&global_export(index), ExportKind::Global, index);
                }
                output.section(&exports);
            }
            _ => keep(&mut output, module, &payload),
        }
    }
    Ok(output.finish())
}

/// The state of an instance of the [`instrument`]ed module after its set-up.
pub(super) struct Captured {
    /// The memory's contents.
    memory: Vec<u8>,
    /// Its size, in pages.
    pages: u64,
    /// The values of the mutable globals, in [`Layout`] order.
    globals: Vec<ConstExpr>,
}

/// Reads the memory and mutable globals of `instance`, an instance of the [`instrument`]ed
/// module whose memory is `memory`.
pub(super) fn capture(
    mut store: impl AsContextMut,
    instance: &Instance,
    memory: Memory,
    layout: &Layout,
) -> Result<Captured, EvaluatorError> {
    let mut store = store.as_context_mut();
    let mut globals = Vec::with_capacity(layout.mutable_globals.len());
    for &index in &layout.mutable_globals {
        let name = global_export(index);
        let value = instance
            .get_global(&mut store, &name)
            .map(|global| global.get(&mut store))
            .ok_or_else(|| {
                EvaluatorError::Link(format!("the instrumented module lacks `{name}`"))
            })?;
        globals.push(match value {
            Val::I32(value) => ConstExpr::i32_const(value),
            Val::I64(value) => ConstExpr::i64_const(value),
            Val::F32(bits) => ConstExpr::f32_const(wasm_encoder::Ieee32::new(bits)),
            Val::F64(bits) => ConstExpr::f64_const(wasm_encoder::Ieee64::new(bits)),
            Val::V128(value) => ConstExpr::v128_const(value.as_u128().cast_signed()),
            _ => {
                return Err(EvaluatorError::Link(format!(
                    "global {index} holds a reference"
                )));
            }
        });
    }
    Ok(Captured {
        memory: memory.data(&store).to_vec(),
        pages: memory.size(&store),
        globals,
    })
}

/// The pre-initialised module: `module` (as the policy gave it) starting in the `captured`
/// state.
pub(super) fn build(
    module: &[u8],
    layout: &Layout,
    captured: &Captured,
) -> Result<Vec<u8>, EvaluatorError> {
    let memory_type = layout
        .memory
        .ok_or_else(|| EvaluatorError::Link("the module does not import `env.memory`".into()))?;
    let segments = Segments::of(memory_type.memory64, &captured.memory);
    let added = u32::try_from(segments.len()).unwrap_or(u32::MAX);
    let mut output = wasm_encoder::Module::new();
    let mut memory_added = false;
    let mut data_added = false;
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(malformed)?;
        let Some((id, _)) = payload.as_section() else {
            continue;
        };
        if !memory_added && comes_after_memory(id) {
            memory_added = true;
            let mut memory = RoundtripReencoder
                .memory_type(memory_type)
                .map_err(reencoding)?;
            memory.minimum = memory.minimum.max(captured.pages);
            output.section(MemorySection::new().memory(memory));
        }
        match payload {
            Payload::ImportSection(section) => {
                let mut imports = ImportSection::new();
                for import in section.into_imports() {
                    let import = import.map_err(malformed)?;
                    if !matches!(import.ty, TypeRef::Memory(_)) {
                        RoundtripReencoder
                            .parse_import(&mut imports, import)
                            .map_err(reencoding)?;
                    }
                }
                output.section(&imports);
            }
            Payload::GlobalSection(section) => {
                let mut globals = GlobalSection::new();
                let mut values = captured.globals.iter();
                for global in section {
                    let global = global.map_err(malformed)?;
                    match values.next().filter(|_| global.ty.mutable) {
                        Some(value) => {
                            let ty = RoundtripReencoder
                                .global_type(global.ty)
                                .map_err(reencoding)?;
                            globals.global(ty, value);
                        }
                        None => RoundtripReencoder
                            .parse_global(&mut globals, global)
                            .map_err(reencoding)?,
                    }
                }
                output.section(&globals);
            }
            Payload::ExportSection(section) => {
                let mut exports = original_exports(section)?;
                exports.export(MEMORY_EXPORT, ExportKind::Memory, 0);
                output.section(&exports);
            }
            // The set-up has run.
            Payload::StartSection { .. } => {}
            Payload::DataCountSection { count, .. } => {
                output.section(&DataCountSection {
                    count: count.saturating_add(added),
                });
            }
            // The set-up applied the active segments: they become empty passive segments, so
            // that segment indices stay, and the snapshot's segments follow.
            Payload::DataSection(section) => {
                let mut data = DataSection::new();
                for segment in section {
                    let segment = segment.map_err(malformed)?;
                    match segment.kind {
                        DataKind::Active { .. } => data.passive([]),
                        DataKind::Passive => data.passive(segment.data.iter().copied()),
                    };
                }
                segments.add_to(&mut data, captured);
                output.section(&data);
                data_added = true;
            }
            payload => keep(&mut output, module, &payload),
        }
    }
    if !data_added {
        let mut data = DataSection::new();
        segments.add_to(&mut data, captured);
        output.section(&data);
    }
    Ok(output.finish())
}

/// The parts of a captured memory that are not all zeros, as active data segments.
struct Segments {
    ranges: Vec<Range<usize>>,
    memory64: bool,
}

impl Segments {
    /// The runs of [`CHUNK`]-sized pieces of `memory` that hold a byte other than zero.
    fn of(memory64: bool, memory: &[u8]) -> Segments {
        let mut ranges: Vec<Range<usize>> = Vec::new();
        for (index, chunk) in memory.chunks(CHUNK).enumerate() {
            if chunk.iter().all(|&byte| byte == 0) {
                continue;
            }
            let start = index * CHUNK;
            let end = start + chunk.len();
            match ranges.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => ranges.push(start..end),
            }
        }
        Segments { ranges, memory64 }
    }

    fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Adds the segments, with the bytes of `captured`, to `data`.
    fn add_to(&self, data: &mut DataSection, captured: &Captured) {
        for range in &self.ranges {
            let offset = if self.memory64 {
                ConstExpr::i64_const(i64::try_from(range.start).unwrap_or(i64::MAX))
            } else {
                ConstExpr::i32_const(u32::try_from(range.start).unwrap_or(u32::MAX).cast_signed())
            };
            data.active(0, &offset, captured.memory[range.clone()].iter().copied());
        }
    }
}

/// Copies the section `payload` is as it is.
fn keep(output: &mut wasm_encoder::Module, module: &[u8], payload: &Payload<'_>) {
    if let Some((id, range)) = payload.as_section() {
        output.section(&RawSection {
            id,
            data: &module[range],
        });
    }
}

/// The module's exports, to be added to.
fn original_exports(
    section: wasmparser::ExportSectionReader<'_>,
) -> Result<ExportSection, EvaluatorError> {
    let mut exports = ExportSection::new();
    RoundtripReencoder
        .parse_export_section(&mut exports, section)
        .map_err(reencoding)?;
    Ok(exports)
}

fn global_export(index: u32) -> String {
    format!("{GLOBAL_EXPORT_PREFIX}{index}")
}

/// Whether the section `id` comes after the memory section in a module.
fn comes_after_memory(id: u8) -> bool {
    [
        SectionId::Tag,
        SectionId::Global,
        SectionId::Export,
        SectionId::Start,
        SectionId::Element,
        SectionId::DataCount,
        SectionId::Code,
        SectionId::Data,
    ]
    .into_iter()
    .any(|section| u8::from(section) == id)
}

fn malformed(err: wasmparser::BinaryReaderError) -> EvaluatorError {
    EvaluatorError::Compile(format!("reading the module: {err}"))
}

fn reencoding(err: wasm_encoder::reencode::Error) -> EvaluatorError {
    EvaluatorError::Compile(format!("rewriting the module: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(body: &str) -> Layout {
        let module = test_support::compile_wat(&format!(
            "(module (import \"env\" \"memory\" (memory 1)) {body} (func (export \"f\")))"
        ));
        Layout::read(&module).unwrap_or_else(|err| panic!("{body}: {err}"))
    }

    #[test]
    fn all_zero_chunks_are_left_out_and_neighbours_merged() {
        let mut memory = vec![0u8; 6 * CHUNK];
        memory[10] = 1;
        memory[CHUNK + 5] = 2;
        memory[4 * CHUNK] = 3;
        let segments = Segments::of(false, &memory);
        assert_eq!(segments.ranges, [0..2 * CHUNK, 4 * CHUNK..5 * CHUNK]);
        assert_eq!(Segments::of(false, &[0; CHUNK]).len(), 0);
    }

    #[test]
    fn mutable_globals_are_found_and_obstacles_named() {
        let plain = layout(
            "(global (mut i32) (i32.const 1)) (global i32 (i32.const 2)) (global (mut i64) (i64.const 3))",
        );
        assert_eq!(plain.mutable_globals, [0, 2]);
        assert_eq!(plain.obstacle(), None);
        let cases = [
            (
                "(table 1 funcref) (func (table.set 0 (i32.const 0) (ref.null func)))",
                "`table.set`",
            ),
            ("(data \"x\") (func (data.drop 0))", "`data.drop`"),
            (
                "(global (mut funcref) (ref.null func))",
                "holds a reference",
            ),
            (
                "(func (export \"palisade:memory\"))",
                "a name the host reserves",
            ),
        ];
        for (body, obstacle) in cases {
            let found = layout(body)
                .obstacle()
                .map(str::to_owned)
                .unwrap_or_default();
            assert!(found.contains(obstacle), "{body}: {found:?}");
        }
        let own_memory = test_support::compile_wat("(module (memory 1) (func (export \"f\")))");
        let found = Layout::read(&own_memory).map(|layout| layout.obstacle().map(str::to_owned));
        assert!(
            matches!(&found, Ok(Some(reason)) if reason.contains("a memory of its own")),
            "{found:?}"
        );
    }
}
