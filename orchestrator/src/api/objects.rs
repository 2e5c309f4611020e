//! Generic object semantics over the store, shared by HTTP handlers and in-process controllers:
//! create/update/patch/delete with defaulting, validation, admission, graceful deletion and
//! finalizers. (Skeleton: filled in by the API work.)

use std::sync::Arc;

use serde_json::Value;

use crate::admission::Admission;
use crate::error::ApiError;
use crate::patch::PatchType;
use crate::registry::{FieldValidation, ResourceInfo, UpdateTarget};
use crate::store::{Preconditions, Storage, Stored};

/// Options common to writes.
#[derive(Clone, Debug, Default)]
pub struct WriteParams {
    pub field_validation: FieldValidation,
    /// `dryRun=All`: run everything but the store write.
    pub dry_run: bool,
}

/// Options of a delete (`DeleteOptions`).
#[derive(Clone, Debug, Default)]
pub struct DeleteParams {
    pub grace_period_seconds: Option<i64>,
    /// `Orphan`, `Background` or `Foreground`; recorded for the garbage collector.
    pub propagation_policy: Option<String>,
    pub preconditions: Preconditions,
    pub dry_run: bool,
}

/// What a delete did.
#[derive(Clone, Debug)]
pub enum DeleteOutcome {
    /// The object is gone; its last state.
    Deleted(Arc<Stored>),
    /// The object now has `deletionTimestamp` and waits for finalizers or its node.
    Pending(Arc<Stored>),
}

/// Generic object semantics over a store.
pub struct Objects {
    store: Arc<dyn Storage>,
    admission: Admission,
}

impl Objects {
    /// Semantics over `store`.
    pub fn new(store: Arc<dyn Storage>) -> Arc<Self> {
        let admission = Admission::new(store.clone());
        Arc::new(Self { store, admission })
    }

    /// The underlying store (reads go straight to it).
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// Create an object: prepare (strategy), admit, store. Fills uid, creationTimestamp,
    /// generation and generateName.
    pub fn create(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        obj: Value,
        p: &WriteParams,
    ) -> Result<Arc<Stored>, ApiError> {
        let _ = (&self.admission, info, namespace, obj, p);
        Err(ApiError::internal("not implemented yet"))
    }

    /// Replace an object (PUT), or its status.
    pub fn update(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        obj: Value,
        target: UpdateTarget,
        p: &WriteParams,
    ) -> Result<Arc<Stored>, ApiError> {
        let _ = (info, namespace, name, obj, target, p);
        Err(ApiError::internal("not implemented yet"))
    }

    /// Patch an object (or its status), retrying internally on a conflicting concurrent write
    /// unless the patch itself pins a resourceVersion.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        patch: &[u8],
        target: UpdateTarget,
        p: &WriteParams,
    ) -> Result<Arc<Stored>, ApiError> {
        let _ = (info, namespace, name, patch_type, patch, target, p);
        Err(ApiError::internal("not implemented yet"))
    }

    /// Delete an object, gracefully where upstream does.
    pub fn delete(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        p: &DeleteParams,
    ) -> Result<DeleteOutcome, ApiError> {
        let _ = (info, namespace, name, p);
        Err(ApiError::internal("not implemented yet"))
    }
}
