//! Patches as upstream applies them: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch for the built-in types, with the status codes of upstream's
//! `endpoints/handlers/patch.go`. Server-side apply is not supported (415).

mod schema;
mod strategic;

use serde_json::Value;

use crate::error::{ApiError, Cause, Reason};

use strategic::SmpError;

/// Upstream's `maxJSONPatchOperations`.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

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

/// The patch content types this server applies, in the order upstream lists them in a 415.
pub const SUPPORTED_PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// Apply `patch` to `original`, an object of `kind` (`Pod`, `Deployment`, …). Errors are 400
/// BadRequest (malformed patch), 422 Invalid (a JSON patch `test` that fails is also 422 upstream)
/// or 415 for an unsupported type.
pub fn apply(
    kind: &str,
    patch_type: PatchType,
    original: &Value,
    patch: &[u8],
) -> Result<Value, ApiError> {
    let patched = match patch_type {
        PatchType::Json => json_patch(original, patch)?,
        PatchType::Merge => merge_patch(original, patch)?,
        PatchType::StrategicMerge => strategic_merge_patch(kind, original, patch)?,
        PatchType::Apply => return Err(unsupported_patch_type()),
    };
    if patched.is_object() {
        Ok(patched)
    } else {
        // Upstream fails to decode such a result into the object type.
        Err(not_an_object(&patched))
    }
}

/// Upstream's 422 for a patched document that does not decode as an object: an invalid `patch`
/// field naming the document.
fn not_an_object(patched: &Value) -> ApiError {
    ApiError::invalid(
        "",
        "",
        "",
        vec![Cause::invalid(
            "patch",
            &Value::String(patched.to_string()),
            &cannot_unmarshal(patched, "map[string]interface {}"),
        )],
    )
}

/// Upstream's `negotiation.NewUnsupportedMediaTypeError` over the patch types we serve.
pub(crate) fn unsupported_patch_type() -> ApiError {
    ApiError::new(
        415,
        Reason::UnsupportedMediaType,
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            SUPPORTED_PATCH_TYPES.join(", ")
        ),
    )
}

/// Upstream answers a patch that does not apply with `NewGenericServerResponse(422, …)`, whose
/// message is generic and whose details carry no cause; we log the real reason instead.
fn unprocessable(reason: &str) -> ApiError {
    tracing::debug!(reason, "patch does not apply");
    ApiError::new(
        422,
        Reason::Invalid,
        "the server rejected our request due to an error in our request",
    )
}

/// Go's `encoding/json` wording for a body of the wrong JSON type.
fn cannot_unmarshal(value: &Value, into: &str) -> String {
    let what = match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    format!("json: cannot unmarshal {what} into Go value of type {into}")
}

fn json_patch(original: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let ops: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Value::Array(list) = &ops else {
        return Err(ApiError::bad_request(cannot_unmarshal(
            &ops,
            "jsonpatch.Patch",
        )));
    };
    if list.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(ApiError::new(
            413,
            Reason::RequestEntityTooLarge,
            format!(
                "Request entity too large: The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                list.len()
            ),
        ));
    }
    // Upstream decodes operations lazily, so an unknown `op` or a missing `path` only fails when
    // applied: a 422 like any other operation that does not apply.
    let parsed: json_patch::Patch =
        serde_json::from_value(ops).map_err(|e| unprocessable(&e.to_string()))?;
    let mut doc = original.clone();
    json_patch::patch(&mut doc, &parsed.0).map_err(|e| unprocessable(&e.to_string()))?;
    Ok(doc)
}

fn merge_patch(original: &Value, body: &[u8]) -> Result<Value, ApiError> {
    // evanphx/json-patch's `errBadJSONPatch`, for bodies that are not JSON or are `null`.
    let patch: Value =
        serde_json::from_slice(body).map_err(|_| ApiError::bad_request("Invalid JSON Patch"))?;
    match &patch {
        Value::Null => Err(ApiError::bad_request("Invalid JSON Patch")),
        Value::Object(_) => {
            let mut doc = original.clone();
            json_patch::merge(&mut doc, &patch);
            Ok(doc)
        }
        // A non-object patch replaces the whole document, which then does not decode as an object.
        other => Err(not_an_object(other)),
    }
}

fn strategic_merge_patch(kind: &str, original: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let patch: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Value::Object(patch) = patch else {
        return Err(ApiError::bad_request(cannot_unmarshal(
            &patch,
            "map[string]interface {}",
        )));
    };
    let Value::Object(original) = original.clone() else {
        return Err(ApiError::internal(
            "the object to patch is not a JSON object",
        ));
    };
    let root = schema::root_type(kind);
    match strategic::merge_map(&schema::BUILTIN, original, patch, Some(root)) {
        Ok(merged) => Ok(Value::Object(merged)),
        Err(SmpError::BadRequest(m)) => Err(ApiError::bad_request(m)),
        Err(SmpError::Unprocessable(m)) => Err(unprocessable(&m)),
        Err(SmpError::Other(m)) => Err(ApiError::new(500, Reason::InternalError, m)),
    }
}

#[cfg(test)]
mod tests;
