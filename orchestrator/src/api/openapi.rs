//! OpenAPI documents (`/openapi/v2`, `/openapi/v3`) generated from the k8s-openapi types.
//! (Skeleton: the openapi/discovery helper fills this in.)

use axum::response::Response;
use serde_json::{Value, json};

/// `/openapi/v2`.
pub(crate) fn serve_v2(_accept: &str) -> Response {
    super::response::error(&crate::error::ApiError::new(404, crate::error::Reason::NotFound, "not yet"))
}

/// `/openapi/v3`.
pub fn v3_index() -> Value {
    json!({ "paths": {} })
}

/// `/openapi/v3/<path>`.
pub fn v3_document(_path: &str) -> Option<bytes::Bytes> {
    None
}
