//! What answers a guest's calls to the host: the interface between a waPC policy and the
//! capabilities it is given.

/// Answers a guest's `__host_call(binding, namespace, operation, payload)`.
///
/// `Err` is handed to the guest as the host error (the guest sees the call fail); it does not
/// stop the evaluation.
pub trait HostCallHandler: Send + Sync {
    /// Handles one host call.
    fn host_call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String>;
}

/// A handler that refuses every host call.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHostCapabilities;

impl HostCallHandler for NoHostCapabilities {
    fn host_call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        _payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        Err(format!(
            "host capability {binding}/{namespace}/{operation} is not available"
        ))
    }
}

impl<F> HostCallHandler for F
where
    F: Fn(&str, &str, &str, &[u8]) -> Result<Vec<u8>, String> + Send + Sync,
{
    fn host_call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        self(binding, namespace, operation, payload)
    }
}
