//! List: with 10,000 realistic pods stored, `Api<Pod>::list` of all of them (no limit).
//! Goal ≤ 50 ms.
//!
//! The figure is split three ways to show where time goes: the store's own list (in-process),
//! the HTTP response as raw bytes (server encoding + TLS + transfer), and kube-rs decoding
//! those bytes into typed pods (client only).

use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, ObjectList};
use orchestrator::store::ListOptions;
use orchestrator::{ControlPlane, ControlPlaneConfig, registry};

use super::CAP;
use crate::figures::{Figures, Summary};
use crate::pods::realistic_pod_json;

/// Pods stored before listing.
pub const PODS: usize = 10_000;
/// Measured lists of each kind.
pub const REPEATS: usize = 20;

const NAMESPACE: &str = "bench-list";

/// Fill the store in-process, then list through kube-rs [`REPEATS`] times.
pub async fn run() -> Figures {
    let mut f = Figures::new("list");
    let cp = match ControlPlane::start(ControlPlaneConfig::default()).await {
        Ok(cp) => cp,
        Err(e) => return super::failed("list", e),
    };
    let objects = cp.objects().clone();
    if let Err(e) = super::memory::ensure_namespace_in_process(&objects, NAMESPACE) {
        return super::failed("list", e);
    }
    let pods = registry::find("", "v1", "pods").expect("pods are served");
    for i in 0..PODS {
        if let Err(e) = objects.create(
            pods,
            NAMESPACE,
            realistic_pod_json(&format!("pod-{i}"), i),
            &Default::default(),
        ) {
            return super::failed("list", format!("filling the store failed at pod {i}: {e}"));
        }
    }
    let client = crate::cluster::client_for(&cp).await;
    let api: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let began = Instant::now();

    // Warm-up: the connection, and one full list through every layer.
    match api.list(&ListParams::default()).await {
        Ok(l) if l.items.len() == PODS => {}
        Ok(l) => {
            f.note(format!("expected {PODS} pods, listed {}", l.items.len()));
        }
        Err(e) => return super::failed("list", format!("list failed: {e}")),
    };

    let (mut typed, mut dropped) = (Vec::new(), Vec::new());
    for _ in 0..REPEATS {
        if began.elapsed() > CAP {
            f.note(format!(
                "typed lists stopped after {}: cap reached",
                typed.len()
            ));
            break;
        }
        let t = Instant::now();
        let listed = api.list(&ListParams::default()).await;
        typed.push(t.elapsed());
        // Freeing 10,000 typed pods is the caller's business, not the list's: timed apart.
        let t = Instant::now();
        match listed {
            Ok(l) => drop(l),
            Err(e) => {
                typed.pop();
                f.note(format!("list failed: {e}"));
                break;
            }
        }
        dropped.push(t.elapsed());
    }

    // Raw bytes over HTTP, then the client's decode of the same bytes.
    // Each phase has its own cap, so a slow typed phase does not starve the split.
    let began = Instant::now();
    let path = format!("/api/v1/namespaces/{NAMESPACE}/pods");
    let (mut raw, mut decode, mut body_len) = (Vec::new(), Vec::new(), 0usize);
    for _ in 0..REPEATS {
        if began.elapsed() > CAP {
            f.note("raw lists stopped: cap reached");
            break;
        }
        let request = http::Request::get(&path)
            .body(Vec::new())
            .expect("a static request builds");
        let t = Instant::now();
        let body = match client.request_text(request).await {
            Ok(b) => b,
            Err(e) => {
                f.note(format!("raw list failed: {e}"));
                break;
            }
        };
        raw.push(t.elapsed());
        body_len = body.len();
        let t = Instant::now();
        let parsed: Result<ObjectList<Pod>, _> = serde_json::from_str(&body);
        decode.push(t.elapsed());
        if let Err(e) = parsed {
            f.note(format!("the list body does not decode: {e}"));
        }
    }

    // The store alone.
    let mut store = Vec::new();
    for _ in 0..REPEATS {
        let t = Instant::now();
        let _ = objects
            .store()
            .list(pods.store_key, &ListOptions::default());
        store.push(t.elapsed());
    }

    let typed_s = Summary::of_durations(&typed);
    f.value("pods", PODS as u64)
        .value("body_bytes", body_len as u64)
        .latency("kube_list", &typed_s)
        .latency("http_bytes", &Summary::of_durations(&raw))
        .latency("client_decode", &Summary::of_durations(&decode))
        .latency("client_drop", &Summary::of_durations(&dropped))
        .latency("store_list", &Summary::of_durations(&store));
    if !typed.is_empty() {
        f.goal("list_p50_ms", typed_s.p50_ms, 50.0, true).goal(
            "list_p99_ms",
            typed_s.p99_ms,
            50.0,
            true,
        );
    }
    f.note(format!(
        "store filled in-process; {} measured lists of each kind after one warm-up",
        REPEATS
    ));
    drop((api, client));
    cp.shutdown().await;
    f
}
