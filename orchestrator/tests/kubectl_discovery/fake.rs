//! The fake API server the kubectl test talks to: our discovery and OpenAPI documents, exactly
//! as the real router serves them, plus a minimal in-memory store for ConfigMaps and Deployments
//! in namespace `default`. Every request is recorded so tests can assert on what kubectl sent.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orchestrator::api::{discovery, openapi};
use serde_json::{Value, json};

/// One request as kubectl made it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub accept: String,
    pub content_type: String,
    pub body: String,
}

#[derive(Clone, Default)]
pub struct Fake {
    pub addr: Arc<Mutex<String>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Objects by (plural, name), all in namespace `default`.
    pub objects: Arc<Mutex<BTreeMap<(String, String), Value>>>,
    /// Serve aggregated discovery when asked for (as upstream does); off to exercise the legacy
    /// per-group-version documents.
    pub aggregated: bool,
}

fn json_response(status: StatusCode, content_type: &str, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, content_type.to_string())],
        v.to_string(),
    )
        .into_response()
}

fn ok(v: &Value) -> Response {
    json_response(StatusCode::OK, "application/json", v)
}

fn not_found(kind: &str, name: &str) -> Response {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("{kind} \"{name}\" not found"), "reason": "NotFound",
        "details": {"name": name, "kind": kind}, "code": 404,
    });
    json_response(StatusCode::NOT_FOUND, "application/json", &status)
}

fn accept(headers: &HeaderMap) -> String {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Record the request (including its body, so patches can be asserted on) and pass it on.
async fn record(State(fake): State<Fake>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    fake.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        accept: accept(&parts.headers),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// `/api` and `/apis`: aggregated discovery when asked for, as upstream negotiates it.
fn discovery_root(fake: &Fake, headers: &HeaderMap, core: bool, legacy: Value) -> Response {
    if fake.aggregated && discovery::wants_aggregated(&accept(headers)) {
        let mut resp = json_response(
            StatusCode::OK,
            discovery::AGGREGATED_CONTENT_TYPE,
            &discovery::aggregated(core),
        );
        resp.headers_mut()
            .insert(header::VARY, "Accept".parse().unwrap());
        resp
    } else {
        ok(&legacy)
    }
}

async fn openapi_v2(headers: HeaderMap) -> Response {
    match openapi::negotiate_v2(&accept(&headers)) {
        Some((content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::VARY, "Accept"),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_ACCEPTABLE.into_response(),
    }
}

async fn openapi_v3_doc(UrlPath(path): UrlPath<String>) -> Response {
    match openapi::v3_document(&path) {
        Some(doc) => ([(header::CONTENT_TYPE, openapi::JSON_CONTENT_TYPE)], doc).into_response(),
        None => (StatusCode::NOT_FOUND, "404 page not found").into_response(),
    }
}

/// A naive merge of a patch into an object: enough for labels, annotations and data.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if k.starts_with('$') {
                    continue;
                }
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// The resource of a plural in the fake's group versions (`v1` or `apps/v1`).
fn info(plural: &str) -> &'static orchestrator::registry::ResourceInfo {
    orchestrator::registry::find("", "v1", plural)
        .or_else(|| orchestrator::registry::find("apps", "v1", plural))
        .expect("served resource")
}

/// Stamp server-set metadata on an object written through the fake.
fn stamp(obj: &mut Value, plural: &str) {
    let r = info(plural);
    obj["apiVersion"] = json!(r.api_version());
    obj["kind"] = json!(r.kind);
    obj["metadata"]["namespace"] = json!("default");
    obj["metadata"]["resourceVersion"] = json!("11");
    obj["metadata"]["uid"] = json!("6f1f3a1e-0000-4000-8000-000000000001");
    obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
}

async fn list(State(fake): State<Fake>, UrlPath(plural): UrlPath<String>) -> Response {
    let items: Vec<Value> = fake
        .objects
        .lock()
        .unwrap()
        .iter()
        .filter(|((p, _), _)| *p == plural)
        .map(|(_, v)| v.clone())
        .collect();
    let r = info(&plural);
    ok(
        &json!({"kind": r.list_kind(), "apiVersion": r.api_version(), "metadata": {"resourceVersion": "10"}, "items": items}),
    )
}

async fn create(
    State(fake): State<Fake>,
    UrlPath(plural): UrlPath<String>,
    body: Bytes,
) -> Response {
    let mut obj: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    stamp(&mut obj, &plural);
    fake.objects
        .lock()
        .unwrap()
        .insert((plural, name), obj.clone());
    json_response(StatusCode::CREATED, "application/json", &obj)
}

async fn read(
    State(fake): State<Fake>,
    UrlPath((plural, name)): UrlPath<(String, String)>,
) -> Response {
    match fake
        .objects
        .lock()
        .unwrap()
        .get(&(plural.clone(), name.clone()))
    {
        Some(obj) => ok(obj),
        None => not_found(&plural, &name),
    }
}

async fn replace(
    State(fake): State<Fake>,
    UrlPath((plural, name)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let mut obj: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    stamp(&mut obj, &plural);
    fake.objects
        .lock()
        .unwrap()
        .insert((plural, name), obj.clone());
    ok(&obj)
}

async fn patch(
    State(fake): State<Fake>,
    UrlPath((plural, name)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let patch: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut store = fake.objects.lock().unwrap();
    match store.get_mut(&(plural.clone(), name.clone())) {
        Some(obj) => {
            merge(obj, &patch);
            ok(obj)
        }
        None => not_found(&plural, &name),
    }
}

async fn delete(
    State(fake): State<Fake>,
    UrlPath((plural, name)): UrlPath<(String, String)>,
) -> Response {
    match fake
        .objects
        .lock()
        .unwrap()
        .remove(&(plural.clone(), name.clone()))
    {
        Some(_) => ok(
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": {"name": name, "kind": plural}}),
        ),
        None => not_found(&plural, &name),
    }
}

fn deployment(replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "6f1f3a1e-0000-4000-8000-000000000002", "resourceVersion": "20", "generation": 1, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
    })
}

/// The `scale` subresource of a stored Deployment.
pub fn scale_of(fake: &Fake, name: &str) -> Option<Value> {
    let store = fake.objects.lock().unwrap();
    let d = store.get(&("deployments".to_string(), name.to_string()))?;
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    Some(json!({
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": name, "namespace": "default", "resourceVersion": "20"},
        "spec": {"replicas": replicas}, "status": {"replicas": replicas, "selector": "app=web"},
    }))
}

async fn read_scale(State(fake): State<Fake>, UrlPath(name): UrlPath<String>) -> Response {
    scale_of(&fake, &name)
        .map(|s| ok(&s))
        .unwrap_or_else(|| not_found("deployments.apps", &name))
}

async fn patch_scale(
    State(fake): State<Fake>,
    UrlPath(name): UrlPath<String>,
    body: Bytes,
) -> Response {
    let patch: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let (Some(n), Some(d)) = (
        patch["spec"]["replicas"].as_i64(),
        fake.objects
            .lock()
            .unwrap()
            .get_mut(&("deployments".to_string(), name.clone())),
    ) {
        d["spec"]["replicas"] = json!(n);
    }
    read_scale(State(fake), UrlPath(name)).await
}

pub async fn serve(aggregated: bool) -> (SocketAddr, Fake) {
    let fake = Fake {
        aggregated,
        ..Fake::default()
    };
    fake.objects
        .lock()
        .unwrap()
        .insert(("deployments".into(), "web".into()), deployment(1));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    *fake.addr.lock().unwrap() = addr.to_string();
    let mut app = Router::new()
        .route("/version", get(|| async { ok(&discovery::version()) }))
        .route(
            "/api",
            get(|State(fake): State<Fake>, headers: HeaderMap| async move {
                let addr = fake.addr.lock().unwrap().clone();
                discovery_root(&fake, &headers, true, discovery::api_versions(&addr))
            }),
        )
        .route(
            "/api/v1",
            get(|| async { ok(&discovery::core_resources()) }),
        )
        .route(
            "/apis",
            get(|State(fake): State<Fake>, headers: HeaderMap| async move {
                discovery_root(&fake, &headers, false, discovery::api_groups())
            }),
        )
        .route(
            "/apis/{group}/{version}",
            get(
                |UrlPath((group, version)): UrlPath<(String, String)>| async move {
                    match discovery::group_resources(&group, &version) {
                        Some(doc) => ok(&doc),
                        None => not_found("groupversion", &format!("{group}/{version}")),
                    }
                },
            ),
        )
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(|| async { ok(&openapi::v3_index()) }))
        .route("/openapi/v3/{*path}", get(openapi_v3_doc))
        .route(
            "/apis/apps/v1/namespaces/default/deployments/{name}/scale",
            get(read_scale).patch(patch_scale),
        );
    for prefix in [
        "/api/v1/namespaces/default",
        "/apis/apps/v1/namespaces/default",
    ] {
        app = app
            .route(&format!("{prefix}/{{plural}}"), get(list).post(create))
            .route(
                &format!("{prefix}/{{plural}}/{{name}}"),
                get(read).put(replace).patch(patch).delete(delete),
            );
    }
    let app = app
        .layer(middleware::from_fn_with_state(fake.clone(), record))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, fake)
}

/// Prints every distinct request kubectl made when the test ends, passed or failed.
pub struct PrintSeen(pub Fake);

impl Drop for PrintSeen {
    fn drop(&mut self) {
        print_seen(&self.0);
    }
}

fn print_seen(fake: &Fake) {
    println!("requests kubectl made (method uri | accept | content-type):");
    let mut unique: Vec<String> = Vec::new();
    let seen = fake.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for s in seen.iter() {
        let line = format!(
            "  {} {} | {} | {}",
            s.method, s.uri, s.accept, s.content_type
        );
        if !unique.contains(&line) {
            unique.push(line);
        }
    }
    unique.iter().for_each(|l| println!("{l}"));
}
