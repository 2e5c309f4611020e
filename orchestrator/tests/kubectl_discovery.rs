//! The real `kubectl` against our discovery and OpenAPI documents, served from a tiny router with
//! a fake ConfigMap store and a fixed Deployment, so that `get`, `create -f`, `apply -f` (with the
//! default `--validate=strict`), `label`, `annotate`, `scale`, `delete`, `explain`, `api-resources`,
//! `api-versions` and `version` are shown to work without `--validate=false`.
//!
//! Every request kubectl makes is recorded (method, path, `Accept`) and printed, so the API
//! router's needs can be read off the test output (`cargo test --test kubectl_discovery --
//! --nocapture`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
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
struct Seen {
    method: String,
    uri: String,
    accept: String,
    content_type: String,
    body: String,
}

#[derive(Clone, Default)]
struct Fake {
    addr: Arc<Mutex<String>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Objects by (plural, name), all in namespace `default`.
    objects: Arc<Mutex<BTreeMap<(String, String), Value>>>,
    /// Serve aggregated discovery when asked for (as upstream does); off to exercise the legacy
    /// per-group-version documents.
    aggregated: bool,
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
fn scale_of(fake: &Fake, name: &str) -> Option<Value> {
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

async fn serve(aggregated: bool) -> (SocketAddr, Fake) {
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

/// The kubectl to run: `KUBECTL` if set, else the one on PATH.
fn kubectl_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("kubectl"))
            .find(|p| p.is_file())
    })
}

struct Kubectl {
    bin: PathBuf,
    server: String,
    dir: tempfile::TempDir,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    /// Run kubectl off the async runtime (it blocks for a while) against our server only: an
    /// empty kubeconfig and HOME, and a fresh discovery/OpenAPI cache.
    async fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[]).await
    }

    /// Run with extra environment variables.
    async fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(&self.bin);
        let kubeconfig = self.dir.path().join("kubeconfig");
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", &kubeconfig)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args([
                "--server",
                &self.server,
                "--cache-dir",
                &self.dir.path().join("cache").to_string_lossy(),
                "--request-timeout",
                "20s",
            ])
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.dir.path());
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .expect("run kubectl");
        let out = Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        println!(
            "$ kubectl {}\n  exit {}\n  stdout: {}\n  stderr: {}",
            args.join(" "),
            out.code,
            out.stdout.trim_end(),
            out.stderr.trim_end()
        );
        out
    }

    /// Run and require success.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert_eq!(
            out.code,
            0,
            "kubectl {} failed: {}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path: &Path = &self.dir.path().join(name);
        std::fs::write(path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

/// Prints every distinct request kubectl made when the test ends, passed or failed.
struct PrintSeen(Fake);

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

/// Start our server and a kubectl pointed at it.
async fn setup(bin: PathBuf, aggregated: bool) -> (Kubectl, Fake, PrintSeen) {
    let (addr, fake) = serve(aggregated).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kubeconfig"), "").unwrap();
    let k = Kubectl {
        bin,
        server: format!("http://{addr}"),
        dir,
    };
    let guard = PrintSeen(fake.clone());
    (k, fake, guard)
}

/// Discovery and OpenAPI as kubectl's resource builder, `explain` and validated writes use them.
async fn core_scenario(k: &Kubectl, fake: &Fake) {
    let resources = k.ok(&["api-resources"]).await;
    let deploy = resources
        .lines()
        .find(|l| l.starts_with("deployments "))
        .expect("deployments listed");
    assert!(
        deploy.contains("deploy")
            && deploy.contains("apps/v1")
            && deploy.contains("true")
            && deploy.contains("Deployment"),
        "{deploy}"
    );
    assert!(
        resources
            .lines()
            .any(|l| l.starts_with("nodes ") && l.contains("false"))
    );

    let explained = k.ok(&["explain", "pods.spec.containers"]).await;
    assert!(
        explained.contains("KIND:") && explained.contains("Pod"),
        "{explained}"
    );
    assert!(
        explained.contains("containers") && explained.contains("<[]Container>"),
        "{explained}"
    );
    assert!(
        explained.contains("image") && explained.contains("<string>"),
        "{explained}"
    );

    // The OpenAPI v2 (protobuf) path: parsed by kubectl's gnostic/proto model, refs resolved.
    let v2 = k
        .ok(&[
            "explain",
            "deployments.spec.strategy",
            "--output=plaintext-openapiv2",
        ])
        .await;
    assert!(
        v2.contains("RESOURCE: strategy <Object>") || v2.contains("strategy"),
        "{v2}"
    );
    assert!(
        v2.contains("rollingUpdate") && v2.contains("<Object>"),
        "{v2}"
    );

    let cm = k.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  a: \"1\"\n",
    );
    let created = k.ok(&["create", "-f", &cm]).await;
    assert_eq!(created.trim(), "configmap/made created");

    // Unknown fields are the server's to reject: kubectl must have decided server-side
    // validation is supported (fieldValidation=Strict), not validated against /openapi/v2.
    let bad = k.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\nbogus: 1\n",
    );
    k.ok(&["create", "-f", &bad]).await;
    let posts: Vec<Seen> = fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method == "POST")
        .cloned()
        .collect();
    assert!(
        posts
            .iter()
            .all(|s| s.uri.contains("fieldValidation=Strict")),
        "{posts:?}"
    );

    let applied = k.write("applied.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  labels:\n    app: x\ndata:\n  a: \"1\"\n");
    assert_eq!(
        k.ok(&["apply", "-f", &applied]).await.trim(),
        "configmap/applied created"
    );
    k.write("applied.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  labels:\n    app: x\ndata:\n  a: \"2\"\n");
    assert_eq!(
        k.ok(&["apply", "-f", &applied]).await.trim(),
        "configmap/applied configured"
    );
    let patch = fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s.method == "PATCH")
        .cloned()
        .expect("apply patched");
    assert_eq!(patch.content_type, "application/strategic-merge-patch+json");
    assert!(
        patch.uri.contains("fieldValidation=Strict"),
        "{}",
        patch.uri
    );
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body["data"], json!({"a": "2"}), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_works_against_our_discovery_and_openapi() {
    let Some(bin) = kubectl_binary() else {
        println!("skipped: kubectl not found");
        return;
    };
    let (k, fake, _print) = setup(bin, true).await;

    let version = k.ok(&["version", "-o", "json"]).await;
    let version: Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.37.0-kubeproof");
    assert_eq!(version["serverVersion"]["minor"], "37");

    let versions = k.ok(&["api-versions"]).await;
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
    ] {
        assert!(
            versions.lines().any(|l| l == gv),
            "{gv} missing from api-versions:\n{versions}"
        );
    }

    core_scenario(&k, &fake).await;

    let got = k.ok(&["get", "configmaps"]).await;
    assert!(got.contains("made") && got.contains("applied"), "{got}");
    let got = k
        .ok(&["get", "cm", "applied", "-o", "jsonpath={.data.a}"])
        .await;
    assert_eq!(got, "2");

    // kubectl ≤ 1.27 prints "annotate" for "annotated".
    assert_eq!(
        k.ok(&["label", "configmap", "made", "tier=web"])
            .await
            .trim(),
        "configmap/made labeled"
    );
    assert!(
        k.ok(&["annotate", "configmap", "made", "note=hi"])
            .await
            .trim()
            .starts_with("configmap/made annotate")
    );
    let made =
        fake.objects.lock().unwrap()[&("configmaps".to_string(), "made".to_string())].clone();
    assert_eq!(made["metadata"]["labels"]["tier"], "web");
    assert_eq!(made["metadata"]["annotations"]["note"], "hi");

    assert_eq!(
        k.ok(&["scale", "deployment", "web", "--replicas=3"])
            .await
            .trim(),
        "deployment.apps/web scaled"
    );
    assert_eq!(scale_of(&fake, "web").unwrap()["spec"]["replicas"], 3);

    // apply on a Deployment: kubectl computes the strategic merge patch from our v3 schema, so
    // removing an env var must come out as a merge-key directive, not a replaced list.
    let d = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    matchLabels:\n      app: api\n  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n      containers:\n      - name: c\n        image: nginx\n        env:\n        - name: A\n          value: a\n        - name: B\n          value: b\n";
    let file = k.write("deploy.yaml", d);
    assert_eq!(
        k.ok(&["apply", "-f", &file]).await.trim(),
        "deployment.apps/api created"
    );
    k.write(
        "deploy.yaml",
        &d.replace("        - name: B\n          value: b\n", ""),
    );
    assert_eq!(
        k.ok(&["apply", "-f", &file]).await.trim(),
        "deployment.apps/api configured"
    );
    let patch = fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s.method == "PATCH")
        .cloned()
        .unwrap();
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    let container = &body["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        body["spec"]["template"]["spec"]["$setElementOrder/containers"],
        json!([{"name": "c"}]),
        "{body}"
    );
    assert_eq!(
        container["$setElementOrder/env"],
        json!([{"name": "A"}]),
        "{body}"
    );
    assert_eq!(
        container["env"],
        json!([{"$patch": "delete", "name": "B"}]),
        "{body}"
    );

    let edited = k
        .run_env(
            &["edit", "configmap", "applied"],
            &[(
                "KUBE_EDITOR",
                "sed -i 's/app: x/app: edited/'",
            )],
        )
        .await;
    assert_eq!(edited.code, 0, "{}{}", edited.stdout, edited.stderr);
    assert_eq!(edited.stdout.trim(), "configmap/applied edited");
    let applied =
        fake.objects.lock().unwrap()[&("configmaps".to_string(), "applied".to_string())].clone();
    assert_eq!(applied["metadata"]["labels"]["app"], "edited");

    let described = k.ok(&["describe", "configmap", "applied"]).await;
    assert!(
        described.contains("Name:")
            && described.contains("applied")
            && described.contains("Namespace:"),
        "{described}"
    );

    assert_eq!(
        k.ok(&["delete", "configmap", "made"]).await.trim(),
        "configmap \"made\" deleted"
    );
    assert!(
        !fake
            .objects
            .lock()
            .unwrap()
            .contains_key(&("configmaps".to_string(), "made".to_string()))
    );
}

/// Without aggregated discovery kubectl walks `/api`, `/api/v1`, `/apis` and every
/// `/apis/<group>/<version>`; the legacy documents must be enough on their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_works_with_legacy_discovery() {
    let Some(bin) = kubectl_binary() else {
        println!("skipped: kubectl not found");
        return;
    };
    let (k, fake, _print) = setup(bin, false).await;
    core_scenario(&k, &fake).await;
    let seen = fake.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|s| s.uri.starts_with("/apis/apps/v1?") || s.uri == "/apis/apps/v1"),
        "legacy group documents not fetched"
    );
}

/// Every versioned kubectl installed beside the one on PATH (`kubectl.1.27` …), to cover the
/// skew of clients users actually run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_and_newer_kubectls_work_too() {
    let Some(bin) = kubectl_binary() else {
        println!("skipped: kubectl not found");
        return;
    };
    let dir = std::fs::canonicalize(&bin)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let mut versioned: Vec<PathBuf> = dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("kubectl.1."))
        })
        .collect();
    versioned.sort();
    if versioned.is_empty() {
        println!(
            "skipped: no versioned kubectl (kubectl.1.*) beside {}",
            bin.display()
        );
        return;
    }
    for bin in versioned {
        println!("=== {}", bin.display());
        let (k, fake, _print) = setup(bin, true).await;
        core_scenario(&k, &fake).await;
    }
}
