//! WebAssembly validation of a whole module, function bodies spread over the machine's cores.

use std::num::NonZeroUsize;
use std::thread;

use wasmparser::{
    FuncToValidate, FuncValidatorAllocations, FunctionBody, Parser, ValidPayload, Validator,
    ValidatorResources,
};

use crate::error::{ArtifactError, Result};

type Function<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// Validates the module as `Validator::validate_all` does, but checks function bodies on several
/// threads: they are independent once the module's other sections have been validated.
pub fn validate_module(bytes: &[u8]) -> Result<()> {
    let mut validator = Validator::new();
    let mut functions: Vec<Function<'_>> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        if let ValidPayload::Func(function, body) = validator.payload(&payload).map_err(invalid)? {
            functions.push((function, body));
        }
    }
    let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let chunk_size = functions.len().div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<Function<'_>>> = Vec::new();
    for (index, function) in functions.into_iter().enumerate() {
        if index % chunk_size == 0 {
            chunks.push(Vec::with_capacity(chunk_size));
        }
        if let Some(chunk) = chunks.last_mut() {
            chunk.push(function);
        }
    }
    thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || validate_bodies(chunk)))
            .collect();
        // Joined in order, so the earliest failing function is the one reported.
        handles.into_iter().try_for_each(|handle| {
            handle.join().unwrap_or_else(|_| {
                Err(ArtifactError::Invalid(
                    "the validator thread panicked".into(),
                ))
            })
        })
    })
}

fn validate_bodies(functions: Vec<Function<'_>>) -> Result<()> {
    let mut allocations = FuncValidatorAllocations::default();
    for (function, body) in functions {
        let mut validator = function.into_validator(allocations);
        validator.validate(&body).map_err(invalid)?;
        allocations = validator.into_allocations();
    }
    Ok(())
}

fn invalid(err: wasmparser::BinaryReaderError) -> ArtifactError {
    ArtifactError::Invalid(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(bodies: &[&str]) -> Vec<u8> {
        let functions: String = bodies
            .iter()
            .map(|body| format!("(func (result i32) {body})"))
            .collect();
        wat::parse_str(format!("(module {functions})")).unwrap()
    }

    #[test]
    fn accepts_a_valid_module_with_many_functions() {
        let bodies = vec!["(i32.const 1)"; 64];
        assert!(validate_module(&module(&bodies)).is_ok());
    }

    #[test]
    fn reports_the_first_invalid_function_wherever_it_is() {
        let mut bodies = vec!["(i32.const 1)"; 64];
        bodies[40] = "(i64.const 1)";
        bodies[60] = "(f32.const 1)";
        let err = validate_module(&module(&bodies)).unwrap_err().to_string();
        assert!(
            err.contains("type mismatch") && err.contains("i64"),
            "{err}"
        );
    }
}
