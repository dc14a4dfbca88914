//! The policy's side of the OPA Wasm ABI: the exports every evaluation uses, and moving JSON
//! in and out of the policy's memory.

use wasmtime::{AsContext, AsContextMut, Instance, Memory, TypedFunc};

use crate::error::EvaluatorError;

/// Exports every Rego policy built by `opa build -t wasm` has, whatever its ABI minor version.
pub(super) const REQUIRED_EXPORTS: [&str; 6] = [
    "opa_malloc",
    "opa_json_parse",
    "opa_json_dump",
    "opa_heap_ptr_get",
    "builtins",
    "entrypoints",
];

/// The evaluation-context exports (ABI 1.0), used when the one-call `opa_eval` (ABI 1.2) is
/// not exported.
pub(super) const CONTEXT_EXPORTS: [&str; 6] = [
    "opa_eval_ctx_new",
    "opa_eval_ctx_set_input",
    "opa_eval_ctx_set_data",
    "opa_eval_ctx_set_entrypoint",
    "opa_eval_ctx_get_result",
    "eval",
];

/// The one-call evaluation export of ABI 1.2.
pub(super) const FAST_EVAL: &str = "opa_eval";

/// Handles on one instance's memory and JSON exports.
#[derive(Clone)]
pub(super) struct Guest {
    memory: Memory,
    malloc: TypedFunc<i32, i32>,
    json_parse: TypedFunc<(i32, i32), i32>,
    json_dump: TypedFunc<i32, i32>,
    heap_ptr_get: TypedFunc<(), i32>,
    max_string_bytes: usize,
}

impl Guest {
    /// Looks up the exports of `instance`, whose memory is `memory`; strings read back from the
    /// policy may be at most `max_string_bytes` long.
    pub(super) fn new(
        mut store: impl AsContextMut,
        instance: &Instance,
        memory: Memory,
        max_string_bytes: usize,
    ) -> Result<Guest, EvaluatorError> {
        let mut store = store.as_context_mut();
        Ok(Guest {
            memory,
            malloc: typed(&mut store, instance, "opa_malloc")?,
            json_parse: typed(&mut store, instance, "opa_json_parse")?,
            json_dump: typed(&mut store, instance, "opa_json_dump")?,
            heap_ptr_get: typed(&mut store, instance, "opa_heap_ptr_get")?,
            max_string_bytes,
        })
    }

    /// The policy's memory.
    pub(super) fn memory(&self) -> Memory {
        self.memory
    }

    /// Copies `bytes` into memory the policy allocates; returns their address.
    pub(super) fn write(
        &self,
        mut store: impl AsContextMut,
        bytes: &[u8],
    ) -> wasmtime::Result<(i32, i32)> {
        let len = i32::try_from(bytes.len()).map_err(|_| {
            fault(EvaluatorError::InvalidInput(format!(
                "{} bytes do not fit in the policy's memory",
                bytes.len()
            )))
        })?;
        let addr = self.malloc.call(&mut store, len)?;
        let offset = usize::try_from(addr).unwrap_or(usize::MAX);
        if self.memory.write(&mut store, offset, bytes).is_err() {
            return Err(fault(EvaluatorError::Trap(format!(
                "opa_malloc returned {addr}, outside the policy's memory"
            ))));
        }
        Ok((addr, len))
    }

    /// Parses the JSON document `json` into a policy value; returns the value's address.
    pub(super) fn push_json(
        &self,
        mut store: impl AsContextMut,
        json: &[u8],
    ) -> wasmtime::Result<i32> {
        let (addr, len) = self.write(&mut store, json)?;
        match self.json_parse.call(&mut store, (addr, len))? {
            0 => Err(fault(EvaluatorError::Trap(
                "opa_json_parse refused the JSON the host gave it".into(),
            ))),
            value => Ok(value),
        }
    }

    /// The policy value at `value` as JSON (sets become arrays).
    pub(super) fn pull_json(
        &self,
        mut store: impl AsContextMut,
        value: i32,
    ) -> wasmtime::Result<Vec<u8>> {
        let text = self.json_dump.call(&mut store, value)?;
        self.read_c_string(&store, text)
    }

    /// The longest string the host reads back from the policy, or hands it from a builtin.
    pub(super) fn max_string_bytes(&self) -> usize {
        self.max_string_bytes
    }

    /// The heap pointer: where the policy allocates next.
    pub(super) fn heap_ptr(&self, mut store: impl AsContextMut) -> wasmtime::Result<i32> {
        self.heap_ptr_get.call(&mut store, ())
    }

    /// The NUL-terminated string at `addr`, refused when longer than the cap.
    pub(super) fn read_c_string(
        &self,
        store: impl AsContext,
        addr: i32,
    ) -> wasmtime::Result<Vec<u8>> {
        let data = self.memory.data(&store);
        let rest = usize::try_from(addr)
            .ok()
            .and_then(|start| data.get(start..))
            .ok_or_else(|| {
                fault(EvaluatorError::Trap(format!(
                    "the policy returned address {addr}, outside its memory"
                )))
            })?;
        let len = rest.iter().position(|&byte| byte == 0).ok_or_else(|| {
            fault(EvaluatorError::Trap(format!(
                "the string at address {addr} is not NUL-terminated"
            )))
        })?;
        if len > self.max_string_bytes {
            return Err(fault(EvaluatorError::ResponseTooLarge {
                limit: self.max_string_bytes,
                size: len,
            }));
        }
        Ok(rest[..len].to_vec())
    }
}

/// Wraps a named failure so that it survives the trip through wasmtime and names the problem
/// once the call returns (the runtime reads it back).
pub(super) fn fault(error: EvaluatorError) -> wasmtime::Error {
    wasmtime::Error::new(error)
}

/// The export `name` of `instance` with the signature the ABI gives it.
pub(super) fn typed<P, R>(
    store: impl AsContextMut,
    instance: &Instance,
    name: &str,
) -> Result<TypedFunc<P, R>, EvaluatorError>
where
    P: wasmtime::WasmParams,
    R: wasmtime::WasmResults,
{
    instance
        .get_typed_func::<P, R>(store, name)
        .map_err(|err| EvaluatorError::Link(format!("`{name}`: {err:#}")))
}
