//! What the hub's handlers share: the registry's state and the hub's catalog.

use std::sync::Arc;

use super::catalog::Hub;
use crate::state::AppState;

/// The registry's state (storage, access rules) and the hub's catalog.
pub struct HubState<S> {
    pub app: AppState<S>,
    pub hub: Arc<Hub>,
}

impl<S> Clone for HubState<S> {
    fn clone(&self) -> Self {
        HubState {
            app: self.app.clone(),
            hub: Arc::clone(&self.hub),
        }
    }
}
