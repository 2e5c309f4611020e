//! Resource requests: one function per verb, generic over the resource, plus the subresources
//! with their own shapes (`scale`, `binding`, `eviction`).

use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};

use super::protobuf::{self, DefaultKind};
use super::request::{Query, ResourceRequest, Verb};
use super::{AppState, response, watch};
use crate::error::{ApiError, Cause};
use crate::patch::PatchType;
use crate::registry::{Decoded, ResourceInfo, Subresource, UpdateTarget, strategy_for};
use crate::store::{LabelSelector, ListOptions, Preconditions, Stored};
use crate::table::{self, IncludeObject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as LabelSelectorSpec;

use super::objects::{DeleteOutcome, DeleteParams, WriteParams};

/// Serve one resource request.
pub(crate) async fn handle(
    state: &Arc<AppState>,
    req: ResourceRequest,
    query: Query,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let table = wants_table(headers);
    match req.verb {
        Verb::Get => get(state, &req, &query, table),
        Verb::List => list(state, &req, &query, table),
        Verb::Watch => watch::serve(state, &req, &query, table),
        Verb::Create => create(state, &req, &query, headers, &body),
        Verb::Update => update(state, &req, &query, headers, &body),
        Verb::Patch => patch(state, &req, &query, headers, &body),
        Verb::Delete => delete(state, &req, &query, headers, &body),
        Verb::DeleteCollection => delete_collection(state, &req, &query, headers, &body),
    }
}

/// Whether the client asked for a server-side `Table` (kubectl get).
fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

fn include_object(query: &Query) -> IncludeObject {
    match query.include_object.as_deref() {
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        _ => IncludeObject::Metadata,
    }
}

/// Render stored objects as a Table response.
pub(crate) fn table_of(
    info: &ResourceInfo,
    items: &[Arc<Stored>],
    query: &Query,
    rv: u64,
    cont: Option<&str>,
) -> Value {
    let values: Vec<Value> = items.iter().map(|s| s.value()).collect();
    table::build(
        info,
        &values,
        include_object(query),
        rv,
        cont,
        jiff::Timestamp::now(),
    )
}

fn name_of(req: &ResourceRequest) -> &str {
    req.name.as_deref().unwrap_or("")
}

fn get(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    table: bool,
) -> Result<Response, ApiError> {
    let stored = state
        .objects
        .store()
        .get(req.info.store_key, &req.namespace, name_of(req))?;
    if req.subresource == Some(Subresource::Scale) {
        return Ok(response::value(200, &scale_of(&stored.value())?));
    }
    if table {
        let rv = stored.revision;
        return Ok(response::value(
            200,
            &table_of(req.info, &[stored], query, rv, None),
        ));
    }
    Ok(response::json(200, stored.bytes.clone()))
}

fn list(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    table: bool,
) -> Result<Response, ApiError> {
    let opts = ListOptions {
        filter: query.filter(&req.namespace)?,
        read_at: query.read_at()?,
        limit: query.limit()?,
        continue_token: query.continue_token.clone().filter(|c| !c.is_empty()),
    };
    let result = state.objects.store().list(req.info.store_key, &opts)?;
    if table {
        let t = table_of(
            req.info,
            &result.items,
            query,
            result.revision,
            result.continue_token.as_deref(),
        );
        return Ok(response::value(200, &t));
    }
    Ok(response::json(200, response::list(req.info, &result)))
}

fn write_params(query: &Query) -> Result<WriteParams, ApiError> {
    Ok(WriteParams {
        field_validation: query.field_validation()?,
        dry_run: query.dry_run,
    })
}

/// Decode a write's body (JSON, or YAML converted to JSON) with the resource's strategy.
fn decode(
    info: &'static ResourceInfo,
    headers: &HeaderMap,
    body: &[u8],
    query: &Query,
) -> Result<Decoded, ApiError> {
    let kind = DefaultKind {
        group: info.group,
        version: info.version,
        kind: info.kind,
    };
    let json = body_as_json(headers, body, kind)?;
    strategy_for(info).decode(&json, query.field_validation()?)
}

/// The body as JSON bytes: JSON as is, YAML and protobuf converted; anything else is 415.
/// `kind` is what the endpoint takes: a protobuf envelope without a type is read as it.
fn body_as_json<'a>(
    headers: &HeaderMap,
    body: &'a [u8],
    kind: DefaultKind<'_>,
) -> Result<std::borrow::Cow<'a, [u8]>, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let base = ct.split(';').next().unwrap_or("").trim();
    match base {
        "application/json" | "" | "*/*" => Ok(body.into()),
        "application/yaml" | "application/x-yaml" | "text/yaml" => {
            let text = std::str::from_utf8(body)
                .map_err(|e| ApiError::bad_request(format!("invalid YAML: {e}")))?;
            let v: Value = serde_saphyr::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("invalid YAML: {e}")))?;
            Ok(serde_json::to_vec(&v).unwrap_or_default().into())
        }
        protobuf::CONTENT_TYPE => {
            let v = protobuf::to_json(body, kind).map_err(|e| {
                ApiError::bad_request(format!("invalid protobuf body: {}", protobuf::describe(&e)))
            })?;
            Ok(serde_json::to_vec(&v).unwrap_or_default().into())
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// The kind a fixed-shape endpoint (a subresource, a delete) takes.
fn kind<'a>(group: &'a str, version: &'a str, kind: &'a str) -> DefaultKind<'a> {
    DefaultKind {
        group,
        version,
        kind,
    }
}

/// Attach `Warning` headers (unknown fields under `fieldValidation=Warn`).
fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::to_string(w).unwrap_or_default());
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

fn create(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    match req.subresource {
        Some(Subresource::Binding) => return bind(state, req, headers, body),
        Some(Subresource::Eviction) => return evict(state, req, query, headers, body),
        _ => {}
    }
    let decoded = decode(req.info, headers, body, query)?;
    let stored = state.objects.create(
        req.info,
        &req.namespace,
        decoded.object,
        &write_params(query)?,
    )?;
    Ok(with_warnings(
        response::json(201, stored.bytes.clone()),
        &decoded.warnings,
    ))
}

fn target_of(req: &ResourceRequest) -> UpdateTarget {
    if req.subresource == Some(Subresource::Status) {
        UpdateTarget::Status
    } else {
        UpdateTarget::Main
    }
}

fn update(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    if req.subresource == Some(Subresource::Finalize) {
        let json = body_as_json(headers, body, kind("", "v1", "Namespace"))?;
        return finalize(state, name_of(req), &json);
    }
    if req.subresource == Some(Subresource::Scale) {
        let json = body_as_json(headers, body, kind("autoscaling", "v1", "Scale"))?;
        let scale: Value =
            serde_json::from_slice(&json).map_err(|e| ApiError::bad_request(e.to_string()))?;
        return update_scale(state, req, query, &scale);
    }
    let decoded = decode(req.info, headers, body, query)?;
    let stored = state.objects.update(
        req.info,
        &req.namespace,
        name_of(req),
        decoded.object,
        target_of(req),
        &write_params(query)?,
    )?;
    Ok(with_warnings(
        response::json(200, stored.bytes.clone()),
        &decoded.warnings,
    ))
}

fn patch(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let patch_type =
        PatchType::from_content_type(ct).ok_or_else(crate::patch::unsupported_patch_type)?;
    if req.subresource == Some(Subresource::Scale) {
        let stored = state
            .objects
            .store()
            .get(req.info.store_key, &req.namespace, name_of(req))?;
        let scale = scale_of(&stored.value())?;
        let patched = crate::patch::apply("Scale", patch_type, &scale, body)?;
        return update_scale(state, req, query, &patched);
    }
    let stored = state.objects.patch(
        req.info,
        &req.namespace,
        name_of(req),
        patch_type,
        body,
        target_of(req),
        &write_params(query)?,
    )?;
    Ok(response::json(200, stored.bytes.clone()))
}

/// `DeleteOptions` from the body (kubectl sends one) and the query.
fn delete_params(
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<DeleteParams, ApiError> {
    let mut p = DeleteParams {
        dry_run: query.dry_run,
        ..Default::default()
    };
    let mut orphan = None;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let json = body_as_json(headers, body, kind("meta.k8s.io", "v1", "DeleteOptions"))?;
        let opts: Value = serde_json::from_slice(&json)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
        p.grace_period_seconds = opts.get("gracePeriodSeconds").and_then(Value::as_i64);
        p.propagation_policy = opts
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(str::to_string);
        orphan = opts.get("orphanDependents").and_then(Value::as_bool);
        if let Some(pre) = opts.get("preconditions") {
            p.preconditions.uid = pre.get("uid").and_then(Value::as_str).map(str::to_string);
            if let Some(rv) = pre.get("resourceVersion").and_then(Value::as_str) {
                p.preconditions.revision = Some(rv.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid resourceVersion precondition {rv:?}"))
                })?);
            }
        }
        if opts
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"))
        {
            p.dry_run = true;
        }
    }
    if let Some(g) = &query.grace_period_seconds {
        p.grace_period_seconds = Some(
            g.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds {g:?}")))?,
        );
    }
    if let Some(policy) = &query.propagation_policy {
        p.propagation_policy = Some(policy.clone());
    }
    // The deprecated `orphanDependents` (body or query) is a policy of its own; upstream's
    // `ValidateDeleteOptions` refuses both at once.
    if let Some(orphan) = query.orphan_dependents.or(orphan) {
        if let Some(policy) = &p.propagation_policy {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                vec![Cause::invalid(
                    "propagationPolicy",
                    &Value::String(policy.clone()),
                    "orphanDependents and deletionPropagation cannot be both set",
                )],
            ));
        }
        p.propagation_policy = Some(if orphan { "Orphan" } else { "Background" }.into());
    }
    Ok(p)
}

/// Which deletes answer with the object rather than a `Status` (upstream's `ReturnDeletedObject`).
fn returns_deleted_object(info: &ResourceInfo) -> bool {
    matches!(info.store_key, "pods" | "namespaces" | "services")
}

fn delete(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let p = delete_params(query, headers, body)?;
    state
        .objects
        .admit_delete(req.info, &req.namespace, name_of(req))?;
    Ok(
        match state
            .objects
            .delete(req.info, &req.namespace, name_of(req), &p)?
        {
            DeleteOutcome::Pending(obj) => response::json(200, obj.bytes.clone()),
            DeleteOutcome::Deleted(obj) if returns_deleted_object(req.info) => {
                response::json(200, obj.bytes.clone())
            }
            DeleteOutcome::Deleted(obj) => {
                response::value(200, &response::delete_success(req.info, &obj))
            }
        },
    )
}

fn delete_collection(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let p = delete_params(query, headers, body)?;
    let opts = ListOptions {
        filter: query.filter(&req.namespace)?,
        ..Default::default()
    };
    let listed = state.objects.store().list(req.info.store_key, &opts)?;
    let mut items = Vec::with_capacity(listed.items.len());
    for item in &listed.items {
        match state
            .objects
            .delete(req.info, &item.namespace, &item.name, &p)
        {
            Ok(outcome) => items.push(outcome.object().clone()),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let result = crate::store::ListResult {
        revision: state.objects.store().revision(),
        items,
        continue_token: None,
        remaining: None,
    };
    Ok(response::json(200, response::list(req.info, &result)))
}

/// The `autoscaling/v1` `Scale` of a deployment, replica set or replication controller; its
/// `status.selector` is the selector's string form, as upstream's `Selector.String()`.
fn scale_of(obj: &Value) -> Result<Value, ApiError> {
    let selector = match obj.pointer("/spec/selector") {
        // apps/v1: a metav1.LabelSelector.
        Some(sel @ Value::Object(m))
            if m.contains_key("matchLabels") || m.contains_key("matchExpressions") =>
        {
            serde_json::from_value(sel.clone()).map_err(|e| ApiError::internal(e.to_string()))?
        }
        // ReplicationController: a plain map of labels.
        Some(labels @ Value::Object(_)) => LabelSelectorSpec {
            match_labels: serde_json::from_value(labels.clone())
                .map_err(|e| ApiError::internal(e.to_string()))?,
            match_expressions: None,
        },
        _ => LabelSelectorSpec::default(),
    };
    let selector = LabelSelector::from_label_selector(&selector)?.to_string();
    let m = obj.get("metadata").cloned().unwrap_or_default();
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"),
            "namespace": m.get("namespace"),
            "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"),
            "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": { "replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1) },
        "status": {
            "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    }))
}

/// PUT (or patched) `scale`: writes `spec.replicas`, pinned to the Scale's resourceVersion if set.
fn update_scale(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    scale: &Value,
) -> Result<Response, ApiError> {
    let name = name_of(req);
    // Go clients omit `replicas: 0` (omitempty), so a missing value is zero, as upstream decodes it.
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::invalid(
                "autoscaling",
                "Scale",
                name,
                vec![Cause::invalid("spec.replicas", v, "must be an integer")],
            )
        })?,
    };
    if replicas < 0 {
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            name,
            vec![Cause::invalid(
                "spec.replicas",
                &json!(replicas),
                "must be greater than or equal to 0",
            )],
        ));
    }
    let rv = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut merge = json!({ "spec": { "replicas": replicas } });
    if !rv.is_empty() {
        merge["metadata"] = json!({ "resourceVersion": rv });
    }
    let body = serde_json::to_vec(&merge).unwrap_or_default();
    let stored = state.objects.patch(
        req.info,
        &req.namespace,
        name,
        PatchType::Merge,
        &body,
        UpdateTarget::Main,
        &write_params(query)?,
    )?;
    Ok(response::value(200, &scale_of(&stored.value())?))
}

/// POST `pods/{name}/binding`: assign the pod to a node, once (upstream's `BindingREST`).
fn bind(
    state: &AppState,
    req: &ResourceRequest,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let json = body_as_json(headers, body, kind("", "v1", "Binding"))?;
    let binding: Value = serde_json::from_slice(&json)
        .map_err(|e| ApiError::bad_request(format!("invalid Binding: {e}")))?;
    let name = name_of(req);
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() {
        return Err(ApiError::invalid(
            "",
            "Binding",
            name,
            vec![Cause::required("target.name", "")],
        ));
    }
    if let Some(bname) = binding.pointer("/metadata/name").and_then(Value::as_str)
        && !bname.is_empty()
        && bname != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({bname}) does not match the name on the URL ({name})"
        )));
    }
    state.objects.bind(
        &req.namespace,
        name,
        node,
        binding.pointer("/metadata/annotations"),
    )?;
    Ok(response::value(
        201,
        &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 }),
    ))
}

/// POST `pods/{name}/eviction`: mark the pod as a disruption target, then delete it on the
/// eviction's terms (see [`Objects::evict`](super::Objects::evict)).
fn evict(
    state: &AppState,
    req: &ResourceRequest,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let json = body_as_json(headers, body, kind("policy", "v1", "Eviction"))?;
    let eviction: Value = serde_json::from_slice(&json)
        .map_err(|e| ApiError::bad_request(format!("invalid Eviction: {e}")))?;
    let name = name_of(req);
    let mut p = DeleteParams {
        dry_run: query.dry_run,
        ..DeleteParams::default()
    };
    if let Some(opts) = eviction.get("deleteOptions") {
        p.grace_period_seconds = opts.get("gracePeriodSeconds").and_then(Value::as_i64);
        p.preconditions = Preconditions {
            uid: opts
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(str::to_string),
            revision: opts
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
        };
        if opts
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"))
        {
            p.dry_run = true;
        }
    }
    state.objects.evict(req.info, &req.namespace, name, &p)?;
    Ok(response::value(
        201,
        &json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201 }),
    ))
}

/// PUT `namespaces/{name}/finalize`: replace `spec.finalizers` (upstream's `FinalizeREST`); a
/// terminating namespace left with no finalizers goes away.
fn finalize(state: &AppState, name: &str, body: &[u8]) -> Result<Response, ApiError> {
    let ns: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid Namespace: {e}")))?;
    let finalizers: Vec<String> = ns
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let stored = state.objects.finalize_namespace(name, finalizers)?;
    Ok(response::json(200, stored.bytes.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_selector_is_the_selectors_string_form() {
        let deploy = json!({
            "metadata": { "name": "web" },
            "spec": { "replicas": 3, "selector": {
                "matchLabels": { "tier": "fe", "app": "web" },
                "matchExpressions": [{ "key": "env", "operator": "In", "values": ["prod", "dev"] }],
            } },
        });
        let scale = scale_of(&deploy).unwrap();
        assert_eq!(scale["spec"]["replicas"], 3);
        assert_eq!(
            scale["status"]["selector"],
            "app=web,env in (dev,prod),tier=fe"
        );
        let rc =
            json!({ "metadata": { "name": "rc" }, "spec": { "selector": { "b": "2", "a": "1" } } });
        assert_eq!(scale_of(&rc).unwrap()["status"]["selector"], "a=1,b=2");
    }
}
