//! Patches as upstream applies them: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch for the built-in types. (Skeleton: the patch helper fills this in.)

use serde_json::Value;

use crate::error::ApiError;

/// The patch types the API accepts, by `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

impl PatchType {
    /// The patch type for a `Content-Type` header value, ignoring parameters.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Apply `patch` to `original`, an object of `kind` (`Pod`, `Deployment`, …). Errors are 400
/// BadRequest (malformed patch), 422 Invalid (a JSON patch `test` that fails is also 422 upstream)
/// or 415 for an unsupported type.
pub fn apply(
    kind: &str,
    patch_type: PatchType,
    original: &Value,
    patch: &[u8],
) -> Result<Value, ApiError> {
    let _ = (kind, patch_type, original, patch);
    Err(ApiError::unsupported_media_type(
        "patches are not implemented yet",
    ))
}
