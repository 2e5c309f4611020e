//! Memory: 150,000 realistic pods created in-process through `Objects::create` in a fresh
//! process, then the process RSS (`VmRSS`). Goal ≤ 2 GB. Run from its own bench binary so that
//! nothing else this process did inflates the figure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator::api::{Objects, WriteParams};
use orchestrator::error::Reason;
use orchestrator::store::ListOptions;
use orchestrator::{ControlPlane, ControlPlaneConfig, registry};
use serde_json::json;

use crate::cluster::rss_bytes;
use crate::figures::Figures;
use crate::pods::realistic_pod_json;

/// Pods created (the official scalability limit of a cluster).
pub const PODS: usize = 150_000;
/// Namespaces they are spread over, as in a real cluster.
pub const NAMESPACES: usize = 50;
/// Wall-clock budget of the create loop (longer than the API scenarios': it is 150,000 writes).
pub const MEMORY_CAP: Duration = Duration::from_secs(180);

/// Create namespace `name` and its `default` ServiceAccount in-process, tolerating either
/// existing already.
pub fn ensure_namespace_in_process(objects: &Arc<Objects>, name: &str) -> Result<(), String> {
    let ns = registry::find("", "v1", "namespaces").expect("namespaces are served");
    let sa = registry::find("", "v1", "serviceaccounts").expect("serviceaccounts are served");
    let tolerate = |r: Result<_, orchestrator::ApiError>| match r {
        Ok(_) => Ok(()),
        Err(e) if e.reason == Reason::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create {name}: {e}")),
    };
    tolerate(objects.create(
        ns,
        "",
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } }),
        &WriteParams::default(),
    ))?;
    tolerate(objects.create(
        sa,
        name,
        json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": { "name": "default" } }),
        &WriteParams::default(),
    ))
}

/// Boot, note the RSS, create [`PODS`] pods over [`NAMESPACES`] namespaces, note the RSS again.
pub async fn run() -> Figures {
    let mut f = Figures::new("memory");
    let cp = match ControlPlane::start(ControlPlaneConfig::default()).await {
        Ok(cp) => cp,
        Err(e) => return super::failed("memory", e),
    };
    let objects = cp.objects().clone();
    for n in 0..NAMESPACES {
        if let Err(e) = ensure_namespace_in_process(&objects, &format!("mem-{n}")) {
            return super::failed("memory", e);
        }
    }
    let pods = registry::find("", "v1", "pods").expect("pods are served");
    let (rss_before, _) = rss_bytes().unwrap_or_default();
    let began = Instant::now();
    let (mut created, mut errors, mut first_error) = (0usize, 0usize, None);
    for i in 0..PODS {
        if began.elapsed() > MEMORY_CAP {
            f.note(format!(
                "stopped after {created} pods: {MEMORY_CAP:?} cap reached"
            ));
            break;
        }
        let ns = format!("mem-{}", i % NAMESPACES);
        match objects.create(
            pods,
            &ns,
            realistic_pod_json(&format!("pod-{i}"), i),
            &WriteParams::default(),
        ) {
            Ok(_) => created += 1,
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
                if errors > 100 {
                    f.note("stopped: more than 100 create errors");
                    break;
                }
            }
        }
    }
    let elapsed = began.elapsed();
    let (rss_after, peak) = rss_bytes().unwrap_or_default();
    // The serialized objects themselves: what an ideal store would hold.
    let payload: usize = objects
        .store()
        .list(pods.store_key, &ListOptions::default())
        .map(|l| l.items.iter().map(|s| s.bytes.len()).sum())
        .unwrap_or(0);
    let grown = rss_after.saturating_sub(rss_before);
    let per_pod = if created > 0 {
        grown as f64 / created as f64
    } else {
        0.0
    };
    f.value("pods", created as u64)
        .value("errors", errors as u64)
        .value("create_s", elapsed.as_secs_f64())
        .value("creates_per_s", created as f64 / elapsed.as_secs_f64())
        .value("rss_before_mb", mb(rss_before))
        .value("rss_after_mb", mb(rss_after))
        .value("rss_peak_mb", mb(peak))
        .value("rss_growth_bytes_per_pod", per_pod.round())
        .value(
            "payload_bytes_per_pod",
            payload.checked_div(created).unwrap_or(0) as u64,
        )
        .value(
            "rss_growth_to_payload",
            if payload > 0 {
                grown as f64 / payload as f64
            } else {
                0.0
            },
        );
    f.goal("rss_after_gb", rss_after as f64 / 1e9, 2.0, true);
    if let Some(e) = first_error {
        f.note(format!("first error: {e}"));
    }
    f.note("in-process Objects::create on one thread, no HTTP; RSS read from /proc/self/status");
    cp.shutdown().await;
    f
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
