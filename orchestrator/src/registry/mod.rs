//! The resources the API serves and, for each kind, its strategy: how an object is decoded,
//! defaulted, validated and prepared for create and update — upstream's `rest.RESTCreateStrategy`
//! and `rest.RESTUpdateStrategy`, plus defaulting and validation.
//!
//! The API layer is generic over resources: it looks a resource up in [`RESOURCES`] and calls its
//! [`Strategy`]. Each kind's rules live in one file under `kinds/`.

mod kinds;
mod resources;
pub mod validation;

use serde_json::Value;

pub use kinds::strategy_for;
pub use resources::{RESOURCES, ResourceInfo, Subresource, find, find_by_kind};

use crate::error::ApiError;

/// How unknown or duplicate fields in a request body are treated (`fieldValidation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and return a `Warning` header for each (upstream's default).
    #[default]
    Warn,
    /// Reject the request with 400 BadRequest naming each unknown field.
    Strict,
}

/// Which part of an object an update writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateTarget {
    /// The main resource: `status` is kept from the old object (when the kind has a status
    /// subresource).
    Main,
    /// The `/status` subresource: everything but `status` (and labels/annotations? no: upstream
    /// keeps all of metadata but finalizers-free changes) is kept from the old object.
    Status,
}

/// A decoded body, plus the warnings (`unknown field "spec.foo"`) to return in `Warning` headers.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub object: Value,
    pub warnings: Vec<String>,
}

/// One kind's rules. Implementations are stateless; values are canonical JSON (what serializing
/// the k8s-openapi type produces).
pub trait Strategy: Send + Sync + 'static {
    /// The resource this strategy is for.
    fn info(&self) -> &'static ResourceInfo;

    /// Decode a JSON body into the canonical object: 400 BadRequest for malformed JSON, a wrong
    /// type for a field, or a `kind`/`apiVersion` other than this resource's; unknown fields
    /// handled per `validation`.
    fn decode(&self, body: &[u8], validation: FieldValidation) -> Result<Decoded, ApiError>;

    /// Make a decoded object ready to store on create: clear `status` where the kind has a status
    /// subresource (and set its initial status, e.g. a pod's `phase: Pending`), apply defaults, and
    /// validate (422 Invalid with every cause). Does not touch uid/resourceVersion/timestamps.
    fn prepare_create(&self, obj: Value) -> Result<Value, ApiError>;

    /// Make an updated object ready to store: copy what `target` may not change from `old`
    /// (status for [`UpdateTarget::Main`], everything else for [`UpdateTarget::Status`]), apply
    /// defaults, validate the update (immutable fields → 422), and bump `metadata.generation` when
    /// anything but metadata and status changed.
    fn prepare_update(
        &self,
        new: Value,
        old: &Value,
        target: UpdateTarget,
    ) -> Result<Value, ApiError>;
}
