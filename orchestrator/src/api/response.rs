//! Building responses: JSON bytes, `metav1.Status` errors, lists assembled from stored bytes.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, StatusCode, header};

use crate::error::ApiError;
use crate::registry::ResourceInfo;
use crate::store::{ListResult, Stored};

/// A JSON response with a status code.
pub(crate) fn json(code: u16, body: impl Into<Bytes>) -> Response {
    let mut resp = Response::new(Body::from(body.into()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A JSON value as a response.
pub(crate) fn value(code: u16, v: &serde_json::Value) -> Response {
    json(code, serde_json::to_vec(v).unwrap_or_default())
}

/// An error as a `metav1.Status` response.
pub(crate) fn error(e: &ApiError) -> Response {
    let mut resp = value(e.code, &e.to_json());
    if let Some(secs) = e.retry_after_seconds
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// `{"kind":"PodList","apiVersion":"v1","metadata":{…},"items":[…]}` from stored bytes, without
/// re-parsing any item.
pub(crate) fn list(info: &ResourceInfo, result: &ListResult) -> Bytes {
    let size: usize = result.items.iter().map(|s| s.bytes.len() + 1).sum();
    let mut out = BytesMut::with_capacity(size + 256);
    out.put_slice(b"{\"kind\":\"");
    out.put_slice(info.list_kind().as_bytes());
    out.put_slice(b"\",\"apiVersion\":\"");
    out.put_slice(info.api_version().as_bytes());
    out.put_slice(b"\",\"metadata\":{\"resourceVersion\":\"");
    out.put_slice(result.revision.to_string().as_bytes());
    out.put_slice(b"\"");
    if let Some(token) = &result.continue_token {
        out.put_slice(b",\"continue\":");
        out.put_slice(serde_json::to_string(token).unwrap_or_default().as_bytes());
        if let Some(n) = result.remaining {
            out.put_slice(b",\"remainingItemCount\":");
            out.put_slice(n.to_string().as_bytes());
        }
    }
    out.put_slice(b"},\"items\":[");
    for (i, item) in result.items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&item.bytes);
    }
    out.put_slice(b"]}");
    out.freeze()
}

/// The `Status` upstream returns for a delete that removed an object at once.
pub(crate) fn delete_success(info: &ResourceInfo, gone: &Arc<Stored>) -> serde_json::Value {
    let uid = gone
        .value()
        .pointer("/metadata/uid")
        .cloned()
        .unwrap_or_default();
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": { "name": &*gone.name, "group": info.group, "kind": info.plural, "uid": uid },
    })
}
