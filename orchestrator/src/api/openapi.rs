//! OpenAPI documents (`/openapi/v2`, `/openapi/v3`, `/openapi/v3/<group version>`) generated from
//! the k8s-openapi types and [`RESOURCES`], built once and cached.
//!
//! What clients need from them (kubectl 1.27–1.33, client-go):
//! - `kubectl apply/create/replace` (default `--validate=strict`) first downloads `/openapi/v2`
//!   **as protobuf** (gnostic `openapi_v2.Document`, no JSON fallback) and parses it, then asks the
//!   v3 document of the object's group version whether its PATCH operation (found by
//!   `x-kubernetes-group-version-kind`) takes the `fieldValidation` query parameter; if so it
//!   leaves validation to the server (`?fieldValidation=Strict`).
//! - `kubectl apply` computes its strategic merge patch from the v3 document when the PATCH
//!   operation accepts `application/strategic-merge-patch+json`, reading patch strategies and
//!   merge keys from the schemas.
//! - `kubectl explain` reads the v3 document's `components.schemas`.
//!
//! The documents are upstream-shaped (operation ids, `x-kubernetes-action`, GVK extensions,
//! parameters) but list only the operations and content types we serve.

mod paths;
mod protobuf;
mod schemas;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::api::discovery::GIT_VERSION;
use crate::registry::{RESOURCES, ResourceInfo};

/// Content type of the protobuf OpenAPI v2 document. Clients ask for it as
/// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (client-go) or with `.v1.0`;
/// upstream answers both with this spelling, because `@` is not valid in a media type and Go's
/// `mime.ParseMediaType` (which kubectl ≤ 1.29 runs on the response) rejects it.
pub const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// Content type of the JSON documents.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// Media subtypes of the protobuf v2 document that clients ask for.
const V2_PROTOBUF_SUBTYPES: &[&str] = &[
    "com.github.proto-openapi.spec.v2@v1.0+protobuf",
    "com.github.proto-openapi.spec.v2.v1.0+protobuf",
];

/// Which form of `/openapi/v2` an `Accept` header gets, as upstream's handler negotiates it:
/// clauses by descending `q`, concrete before wildcard, first match wins; an empty header means
/// `*/*` (JSON). `None` means 406 Not Acceptable.
pub fn negotiate_v2(accept: &str) -> Option<(&'static str, Bytes)> {
    let accept = if accept.trim().is_empty() {
        "*/*"
    } else {
        accept
    };
    let mut clauses: Vec<(f32, usize, &str, &str)> = accept
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';').map(str::trim);
            let (ty, sub) = parts.next()?.split_once('/')?;
            let q = parts
                .find_map(|p| p.strip_prefix("q="))
                .and_then(|q| q.parse().ok())
                .unwrap_or(1.0);
            Some((q, usize::from(ty == "*") + usize::from(sub == "*"), ty, sub))
        })
        .collect();
    clauses.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    clauses
        .into_iter()
        .find_map(|(_, _, ty, sub)| match (ty, sub) {
            ("application" | "*", "json" | "*") => Some((JSON_CONTENT_TYPE, v2())),
            ("application", s) if V2_PROTOBUF_SUBTYPES.contains(&s) => {
                Some((V2_PROTOBUF_CONTENT_TYPE, v2_protobuf()))
            }
            _ => None,
        })
}

/// Whether an `Accept` header for `/openapi/v2` gets protobuf (see [`negotiate_v2`]).
pub fn wants_v2_protobuf(accept: &str) -> bool {
    negotiate_v2(accept).is_some_and(|(ct, _)| ct == V2_PROTOBUF_CONTENT_TYPE)
}

/// `/openapi/v2` as JSON (Swagger 2.0), with [`JSON_CONTENT_TYPE`].
pub fn v2() -> Bytes {
    v2_cache().0.clone()
}

/// `/openapi/v2` as protobuf, with [`V2_PROTOBUF_CONTENT_TYPE`].
pub fn v2_protobuf() -> Bytes {
    v2_cache().1.clone()
}

/// `/openapi/v3`: the index of per-group-version documents. Each `serverRelativeURL` carries a
/// `hash` of the document so clients can cache it forever; the router may ignore the query.
pub fn v3_index() -> Value {
    let paths: Map<String, Value> = v3_cache()
        .iter()
        .map(|(path, (_, hash))| {
            (
                path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
            )
        })
        .collect();
    json!({"paths": paths})
}

/// `/openapi/v3/<path>` where `path` is `api/v1` or `apis/<group>/<version>` (no leading slash,
/// no query), as JSON; `None` (404) for a group version we do not serve.
pub fn v3_document(path: &str) -> Option<Bytes> {
    v3_cache()
        .get(path.trim_matches('/'))
        .map(|(doc, _)| doc.clone())
}

/// The document path of a group version: `api/v1`, `apis/apps/v1`.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Every served group version with its resources, in table order.
fn group_versions() -> Vec<((&'static str, &'static str), Vec<&'static ResourceInfo>)> {
    let mut out: Vec<((&str, &str), Vec<&ResourceInfo>)> = Vec::new();
    for r in RESOURCES {
        match out.iter_mut().find(|(gv, _)| *gv == (r.group, r.version)) {
            Some((_, list)) => list.push(r),
            None => out.push(((r.group, r.version), vec![r])),
        }
    }
    out
}

/// `info` of both documents.
fn info() -> Value {
    json!({"title": "Kubernetes", "version": GIT_VERSION.trim_end_matches("-kubeproof")})
}

/// The v3 documents by path, each with its hash.
fn v3_cache() -> &'static BTreeMap<String, (Bytes, String)> {
    static CACHE: OnceLock<BTreeMap<String, (Bytes, String)>> = OnceLock::new();
    CACHE.get_or_init(|| {
        group_versions()
            .into_iter()
            .map(|((group, version), resources)| {
                let doc = v3_for(&resources);
                let bytes = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
                let hash = hash_hex(&bytes);
                (gv_path(group, version), (bytes, hash))
            })
            .collect()
    })
}

/// Build one group version's v3 document.
fn v3_for(resources: &[&'static ResourceInfo]) -> Value {
    let mut schemas = schemas::definitions(resources);
    for (name, schema) in &mut schemas {
        schemas::int_or_string(name, true, schema);
        schemas::rewrite_refs(schema, true);
    }
    let mut paths = paths::v3_paths(resources);
    schemas::rewrite_refs(&mut paths, true);
    json!({
        "openapi": "3.0.0",
        "info": info(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"},
            },
        },
    })
}

/// The v2 document as JSON and protobuf.
fn v2_cache() -> &'static (Bytes, Bytes) {
    static CACHE: OnceLock<(Bytes, Bytes)> = OnceLock::new();
    CACHE.get_or_init(|| {
        let doc = v2_document();
        let json_bytes = Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
        (json_bytes, Bytes::from(protobuf::encode_document(&doc)))
    })
}

/// Build the v2 document over every served resource.
fn v2_document() -> Value {
    let all: Vec<&ResourceInfo> = RESOURCES.iter().collect();
    let mut definitions = schemas::definitions(&all);
    for (name, schema) in &mut definitions {
        schemas::int_or_string(name, false, schema);
    }
    json!({
        "swagger": "2.0",
        "info": info(),
        "paths": paths::v2_paths(&all),
        "definitions": definitions,
        "securityDefinitions": {
            "BearerToken": {"description": "Bearer Token authentication", "type": "apiKey", "name": "authorization", "in": "header"},
        },
        "security": [{"BearerToken": []}],
    })
}

/// A stable content hash for the `?hash=` of the v3 index (FNV-1a, 64 bits, hex). Upstream uses
/// SHA-512; clients treat the value as opaque.
fn hash_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(path: &str) -> Value {
        serde_json::from_slice(&v3_document(path).unwrap_or_else(|| panic!("{path} missing")))
            .unwrap()
    }

    #[test]
    fn index_lists_every_group_version_with_a_hash() {
        let index = v3_index();
        let paths = index["paths"].as_object().unwrap();
        for r in RESOURCES {
            let path = gv_path(r.group, r.version);
            let url = paths[&path]["serverRelativeURL"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("/openapi/v3/{path}?hash=")),
                "{url}"
            );
            assert!(v3_document(&path).is_some());
        }
        assert!(v3_document("apis/nope/v1").is_none());
    }

    #[test]
    fn v3_core_document_has_schemas_with_gvk_and_refs_in_components() {
        let d = doc("api/v1");
        assert_eq!(d["openapi"], "3.0.0");
        let pod = &d["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "Pod", "version": "v1"}])
        );
        assert_eq!(
            pod["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.PodSpec"
        );
        let text = serde_json::to_string(&d).unwrap();
        assert!(!text.contains("#/definitions/"));
        assert!(d["components"]["schemas"]["io.k8s.api.core.v1.PodList"].is_object());
        assert!(d["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].is_null());
    }

    #[test]
    fn v3_patch_operations_support_field_validation_and_strategic_merge() {
        let d = doc("apis/apps/v1");
        let op = &d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            op["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        assert_eq!(op["x-kubernetes-action"], "patch");
        assert!(
            op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(op["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object());
        let scale =
            &d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["get"];
        assert_eq!(scale["x-kubernetes-group-version-kind"]["kind"], "Scale");
        assert!(d["components"]["schemas"]["io.k8s.api.autoscaling.v1.Scale"].is_object());
    }

    #[test]
    fn v2_is_swagger_with_definitions_and_protobuf_is_not_empty() {
        let d: Value = serde_json::from_slice(&v2()).unwrap();
        assert_eq!(d["swagger"], "2.0");
        assert_eq!(
            d["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"],
            "string"
        );
        assert_eq!(
            d["definitions"]["io.k8s.api.core.v1.Pod"]["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.PodSpec"
        );
        assert!(
            d["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]["consumes"]
                .as_array()
                .unwrap()
                .contains(&json!("application/strategic-merge-patch+json"))
        );
        assert!(v2_protobuf().len() > 1000);
    }

    #[test]
    fn v2_protobuf_is_negotiated_by_accept() {
        assert!(wants_v2_protobuf(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        ));
        assert!(wants_v2_protobuf(
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf, application/json"
        ));
        assert!(!wants_v2_protobuf("application/json"));
        assert!(!wants_v2_protobuf(""));
    }
}
