//! Admission: what happens to a valid object before it is stored — namespace lifecycle,
//! LimitRange defaults and limits, ResourceQuota charging. (Skeleton: the admission helper fills
//! this in.)

use std::sync::Arc;

use serde_json::Value;

use crate::error::ApiError;
use crate::registry::ResourceInfo;
use crate::store::Storage;

/// The admission chain, run by [`crate::api::Objects`] after decoding, defaulting and validation
/// and before the store write.
pub struct Admission {
    store: Arc<dyn Storage>,
}

impl Admission {
    /// A chain reading and writing through `store`.
    pub fn new(store: Arc<dyn Storage>) -> Self {
        Self { store }
    }

    /// Admit a create of `obj` in `namespace` (empty for cluster-scoped). May mutate `obj`
    /// (LimitRange defaults). 404 for a missing namespace, 403 for a terminating one, 403 for an
    /// exceeded quota or a LimitRange violation.
    pub fn admit_create(&self, info: &'static ResourceInfo, namespace: &str, obj: &mut Value) -> Result<(), ApiError> {
        let _ = (&self.store, info, namespace, obj);
        Ok(())
    }

    /// Admit an update (quota on changed requests, LimitRange on pods).
    pub fn admit_update(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        new: &mut Value,
        old: &Value,
    ) -> Result<(), ApiError> {
        let _ = (info, namespace, new, old);
        Ok(())
    }

    /// Admit a delete (immortal namespaces cannot be deleted).
    pub fn admit_delete(&self, info: &'static ResourceInfo, namespace: &str, name: &str) -> Result<(), ApiError> {
        let _ = (info, namespace, name);
        Ok(())
    }
}
