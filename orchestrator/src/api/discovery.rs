//! Discovery documents: `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>` and `/version`.
//! (Skeleton: the openapi/discovery helper fills this in.)

use axum::response::Response;
use serde_json::{Value, json};

/// `/version`.
pub fn version() -> Value {
    json!({ "major": "1", "minor": "37", "gitVersion": "v1.37.0-kubeproof" })
}

/// `/api`.
pub(crate) fn serve_api(_accept: &str) -> Response {
    super::response::value(200, &json!({ "kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [] }))
}

/// `/apis`.
pub(crate) fn serve_apis(_accept: &str) -> Response {
    super::response::value(200, &json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [] }))
}

/// `/api/v1`.
pub fn core_resources() -> Value {
    json!({ "kind": "APIResourceList", "groupVersion": "v1", "resources": [] })
}

/// `/apis/<group>/<version>`.
pub fn group_resources(_group: &str, _version: &str) -> Option<Value> {
    None
}

/// `/apis/<group>`.
pub fn group(_group: &str) -> Option<Value> {
    None
}
