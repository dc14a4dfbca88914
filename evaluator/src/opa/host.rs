//! The host functions a Rego policy imports from `env`: `opa_abort`, `opa_println` and the
//! builtin dispatchers `opa_builtin0` … `opa_builtin4`.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::{Caller, Linker};

use super::guest::{Guest, fault};
use super::state::HostState;
use crate::error::EvaluatorError;

/// Registers the host functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "opa_abort",
        |mut caller: Caller<'_, HostState>, addr: i32| -> wasmtime::Result<()> {
            let message = message(&mut caller, addr);
            Err(fault(EvaluatorError::Guest {
                operation: "eval".into(),
                message: format!("the policy aborted (opa_abort): {message}"),
            }))
        },
    )?;
    linker.func_wrap(
        "env",
        "opa_println",
        |mut caller: Caller<'_, HostState>, addr: i32| {
            let message = message(&mut caller, addr);
            tracing::info!(target: crate::policy_log::POLICY_LOG_TARGET, "{message}");
        },
    )?;
    linker.func_wrap(
        "env",
        "opa_builtin0",
        |mut caller: Caller<'_, HostState>, id: i32, _ctx: i32| call(&mut caller, id, &[]),
    )?;
    linker.func_wrap(
        "env",
        "opa_builtin1",
        |mut caller: Caller<'_, HostState>, id: i32, _ctx: i32, a: i32| call(&mut caller, id, &[a]),
    )?;
    linker.func_wrap(
        "env",
        "opa_builtin2",
        |mut caller: Caller<'_, HostState>, id: i32, _ctx: i32, a: i32, b: i32| {
            call(&mut caller, id, &[a, b])
        },
    )?;
    linker.func_wrap(
        "env",
        "opa_builtin3",
        |mut caller: Caller<'_, HostState>, id: i32, _ctx: i32, a: i32, b: i32, c: i32| {
            call(&mut caller, id, &[a, b, c])
        },
    )?;
    linker.func_wrap(
        "env",
        "opa_builtin4",
        |mut caller: Caller<'_, HostState>, id: i32, _ctx: i32, a: i32, b: i32, c: i32, d: i32| {
            call(&mut caller, id, &[a, b, c, d])
        },
    )?;
    Ok(())
}

fn guest(caller: &Caller<'_, HostState>) -> wasmtime::Result<Guest> {
    caller.data().guest.clone().ok_or_else(|| {
        fault(EvaluatorError::Trap(
            "the policy called the host before it was ready".into(),
        ))
    })
}

/// The NUL-terminated message at `addr`, or why it cannot be read.
fn message(caller: &mut Caller<'_, HostState>, addr: i32) -> String {
    match guest(caller).and_then(|guest| guest.read_c_string(&*caller, addr)) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => format!("(unreadable message: {err})"),
    }
}

/// Runs builtin `id` on the policy values at `args`; returns the address of its result.
fn call(caller: &mut Caller<'_, HostState>, id: i32, args: &[i32]) -> wasmtime::Result<i32> {
    let builtins = Arc::clone(&caller.data().builtins);
    let Some((name, builtin)) = builtins.get(&id) else {
        return Err(fault(EvaluatorError::Builtin {
            name: format!("#{id}"),
            message: "the policy's `builtins()` declared no builtin with this id".into(),
        }));
    };
    let guest = guest(caller)?;
    let mut values = Vec::with_capacity(args.len());
    for &arg in args {
        let json = guest.pull_json(&mut *caller, arg)?;
        let value: Value = serde_json::from_slice(&json).map_err(|err| {
            fault(EvaluatorError::Builtin {
                name: name.clone(),
                message: format!("the policy passed an argument that is not JSON: {err}"),
            })
        })?;
        values.push(value);
    }
    tracing::debug!(builtin = %name, "calling a Rego builtin");
    let result = builtin(&values).map_err(|message| {
        fault(EvaluatorError::Builtin {
            name: name.clone(),
            message,
        })
    })?;
    let json = serde_json::to_vec(&result).map_err(|err| {
        fault(EvaluatorError::Builtin {
            name: name.clone(),
            message: err.to_string(),
        })
    })?;
    if json.len() > guest.max_string_bytes() {
        return Err(fault(EvaluatorError::Builtin {
            name: name.clone(),
            message: format!(
                "its result of {} bytes is over the {}-byte cap",
                json.len(),
                guest.max_string_bytes()
            ),
        }));
    }
    guest.push_json(&mut *caller, &json)
}
