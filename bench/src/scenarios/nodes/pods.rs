//! Pods: 5,000 hollow nodes, then 150,000 realistic pods (`bench/src/pods.rs`) bound by
//! `spec.nodeName` round robin over the nodes, created in-process through `Objects::create` (the
//! admission and validation path of the API, without HTTP: the creates should not be what is
//! measured). Goals: every pod Running, as a watch through the API sees it, ≤ 60 s after the last
//! create; the process (control plane + simulator + the benchmark's watch) ≤ 8 GB RSS.

use std::sync::Arc;
use std::time::Duration;

use orchestrator::api::{Objects, WriteParams};
use orchestrator::error::Reason;
use orchestrator::registry;
use serde_json::json;
use simulator::{Profile, SimConfig, Simulator};
use tokio::time::Instant;

use super::{Cluster, Counter, SEED, cap, mb};
use crate::cluster::rss_bytes;
use crate::figures::Figures;
use crate::pods::realistic_pod_json;
use crate::scenarios::memory::ensure_namespace_in_process;

/// Nodes registered.
pub const NODES: usize = 5_000;
/// Pods created (the official scalability limit of a cluster).
pub const PODS: usize = 150_000;
/// Namespaces they are spread over.
pub const NAMESPACES: usize = 50;
/// Goal: seconds from the last create to every pod Running.
pub const GOAL_RUNNING_S: f64 = 60.0;
/// Goal: resident memory of the whole process, GB.
pub const GOAL_RSS_GB: f64 = 8.0;

/// What the create loop did.
#[derive(Debug)]
pub struct Created {
    /// Pods created.
    pub created: usize,
    /// Creates refused.
    pub errors: usize,
    /// The first refusal.
    pub first_error: Option<String>,
    /// When the first create started.
    pub first: Instant,
    /// When the last create returned.
    pub last: Instant,
}

/// Create namespaces `<prefix>-0…` with their default ServiceAccount and the configMap the
/// realistic pod mounts (a pod missing it would wait in FailedMount, as on a kubelet).
pub fn prepare_namespaces(objects: &Arc<Objects>, prefix: &str, n: usize) -> Result<(), String> {
    let cms = registry::find("", "v1", "configmaps").expect("configmaps are served");
    for i in 0..n {
        let ns = format!("{prefix}-{i}");
        ensure_namespace_in_process(objects, &ns)?;
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "bench-web-config" },
            "data": { "web.conf": "listen 8080;" }
        });
        match objects.create(cms, &ns, cm, &WriteParams::default()) {
            Ok(_) => {}
            Err(e) if e.reason == Reason::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create the configMap in {ns}: {e}")),
        }
    }
    Ok(())
}

/// Create `count` realistic pods over `namespaces` namespaces `<prefix>-i`, bound round robin
/// to `nodes` (`<node_prefix>-j`), on a blocking thread; stops at `limit` of wall-clock time.
pub async fn create_bound_pods(
    objects: Arc<Objects>,
    prefix: &'static str,
    namespaces: usize,
    count: usize,
    node_prefix: &'static str,
    nodes: usize,
    limit: Duration,
) -> Created {
    tokio::task::spawn_blocking(move || {
        let pods = registry::find("", "v1", "pods").expect("pods are served");
        let first = Instant::now();
        let (mut created, mut errors, mut first_error) = (0, 0, None);
        for i in 0..count {
            if first.elapsed() > limit {
                first_error.get_or_insert_with(|| format!("stopped at {i}: {limit:?} cap"));
                break;
            }
            let mut pod = realistic_pod_json(&format!("pod-{i}"), i);
            pod["spec"]["nodeName"] = json!(format!("{node_prefix}-{}", i % nodes));
            let ns = format!("{prefix}-{}", i % namespaces);
            match objects.create(pods, &ns, pod, &WriteParams::default()) {
                Ok(_) => created += 1,
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                    if errors > 100 {
                        break;
                    }
                }
            }
        }
        Created {
            created,
            errors,
            first_error,
            first,
            last: Instant::now(),
        }
    })
    .await
    .expect("the create loop does not panic")
}

/// Register [`NODES`], create [`PODS`] bound pods, wait for all Running, read the RSS.
pub async fn run() -> Figures {
    let mut f = Figures::new("pods");
    let cluster = match Cluster::boot().await {
        Ok(c) => c,
        Err(e) => return super::super::failed("pods", e),
    };
    let config = SimConfig {
        profile: Profile::default(),
        seed: SEED,
    };
    let simulator = match Simulator::start(cluster.new_client().await, config).await {
        Ok(s) => s,
        Err(e) => return super::super::failed("pods", e),
    };
    let t = Instant::now();
    match tokio::time::timeout(cap(120), simulator.register("hollow-node", NODES, None)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return super::super::failed("pods", format!("register failed: {e}")),
        Err(_) => return super::super::failed("pods", "register did not finish in time"),
    }
    f.value("nodes", NODES as u64)
        .value("register_s", t.elapsed().as_secs_f64());
    let objects = cluster.cp.objects().clone();
    if let Err(e) = prepare_namespaces(&objects, "scale", NAMESPACES) {
        return super::super::failed("pods", e);
    }
    let mut running = Counter::running_pods(&cluster.client);
    if !running.listed(Duration::from_secs(10)).await {
        return super::super::failed("pods", "the pod watch did not list");
    }
    let (rss_before, _) = rss_bytes().unwrap_or_default();
    let created = create_bound_pods(
        objects,
        "scale",
        NAMESPACES,
        PODS,
        "hollow-node",
        NODES,
        cap(300),
    )
    .await;
    let running_at_last_create = running.progress().count;
    let create_s = created.last.duration_since(created.first).as_secs_f64();
    f.value("pods", created.created as u64)
        .value("create_errors", created.errors as u64)
        .value("create_s", create_s)
        .value("creates_per_s", (created.created as f64 / create_s).round())
        .value("running_at_last_create", running_at_last_create as u64);
    if let Some(e) = &created.first_error {
        f.note(format!("create: {e}"));
    }
    let limit = cap(300);
    match running.reached(created.created, limit).await {
        Ok(at) => {
            let after_last = at.saturating_duration_since(created.last).as_secs_f64();
            f.value("running_after_last_create_s", after_last).value(
                "running_after_first_create_s",
                at.saturating_duration_since(created.first).as_secs_f64(),
            );
            f.goal(
                "running_after_last_create_s",
                after_last,
                GOAL_RUNNING_S,
                true,
            );
        }
        Err(count) => {
            f.value("running_at_cap", count as u64);
            f.note(format!(
                "only {count} of {} pods Running {limit:?} after the last create",
                created.created
            ));
            f.goal(
                "running_after_last_create_s",
                limit.as_secs_f64(),
                GOAL_RUNNING_S,
                true,
            );
        }
    }
    let (rss, peak) = rss_bytes().unwrap_or_default();
    let stats = simulator.stats();
    f.value("rss_before_pods_mb", mb(rss_before))
        .value("rss_mb", mb(rss))
        .value("rss_peak_mb", mb(peak))
        .value("pod_status_writes", stats.pod_status_writes)
        .value("pod_status_coalesced", stats.pod_status_coalesced)
        .value("pod_status_failures", stats.pod_status_failures)
        .value("sim_pods", stats.pods)
        .value("lease_late", stats.heartbeats.late)
        .value(
            "lease_max_lateness_ms",
            stats.heartbeats.max_lateness_us as f64 / 1000.0,
        )
        .value("watch_relists", running.progress().relists);
    f.goal("rss_peak_gb", peak as f64 / 1e9, GOAL_RSS_GB, true);
    f.note("pods created in-process (Objects::create, one blocking thread); the simulator, its kube-rs client and the benchmark's pod watch share the process with the control plane");
    drop(running);
    simulator.shutdown().await;
    cluster.shutdown().await;
    f
}
