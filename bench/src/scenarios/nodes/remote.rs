//! Remote: the simulator as a separate process (`kubeproof nodes`) attached over HTTPS to the
//! bench's embedded control plane, as it would attach to any cluster. Measured through the API:
//! nodes registered and Ready per second (from spawning the process), then — with [`PODS`] pods
//! bound to its nodes, created in-process — pod status updates per second until every pod is
//! Running, overall and the best [`WINDOW`]. The child's own counters (its periodic line) give
//! the status writes it made.

use std::time::Duration;

use tokio::time::Instant;

use super::pods::{create_bound_pods, prepare_namespaces};
use super::{Cluster, Counter, NodesProcess, cap, kubeproof_binary, mb, write_kubeconfig};
use crate::figures::Figures;

/// Nodes of the child simulator.
pub const NODES: usize = 10_000;
/// Pods bound to them.
pub const PODS: usize = 20_000;
/// Namespaces the pods are spread over.
pub const NAMESPACES: usize = 20;
/// The window of the best sustained rate.
pub const WINDOW: Duration = Duration::from_secs(5);
const PREFIX: &str = "remote-node";

/// Spawn the child, time its nodes to Ready, create the pods, time them to Running.
pub async fn run() -> Figures {
    let mut f = Figures::new("remote");
    let binary = match kubeproof_binary() {
        Ok(b) => b,
        Err(e) => return super::super::failed("remote", e),
    };
    let cluster = match Cluster::boot().await {
        Ok(c) => c,
        Err(e) => return super::super::failed("remote", e),
    };
    let kubeconfig = match write_kubeconfig(&cluster, "remote") {
        Ok(p) => p,
        Err(e) => return super::super::failed("remote", e),
    };
    let mut ready = Counter::ready_nodes(&cluster.client);
    ready.listed(Duration::from_secs(10)).await;
    let mut child = match NodesProcess::spawn(&binary, &kubeconfig, NODES, PREFIX) {
        Ok(c) => c,
        Err(e) => return super::super::failed("remote", e),
    };
    let registered = child.registered(cap(180)).await;
    let all_ready = ready.reached(NODES, cap(60)).await;
    let nodes_s = match (registered, all_ready) {
        (Ok(_), Ok(at)) => at.saturating_duration_since(child.spawned).as_secs_f64(),
        (Err(e), _) => return super::super::failed("remote", e),
        (_, Err(n)) => {
            return super::super::failed("remote", format!("{n} of {NODES} nodes Ready"));
        }
    };
    f.value("nodes", NODES as u64)
        .value("nodes_ready_s", nodes_s)
        .value("nodes_per_s", (NODES as f64 / nodes_s).round());

    let objects = cluster.cp.objects().clone();
    if let Err(e) = prepare_namespaces(&objects, "remote", NAMESPACES) {
        return super::super::failed("remote", e);
    }
    let mut running = Counter::running_pods(&cluster.client);
    running.listed(Duration::from_secs(10)).await;
    let writes_before = child_status_writes(&child);
    // Sample the Running count every 100 ms while the pods are created and started.
    let sampler = {
        let rx = running.progress_receiver();
        tokio::spawn(async move {
            let began = Instant::now();
            let mut samples = vec![(began, 0usize)];
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while began.elapsed() < Duration::from_secs(600) {
                tick.tick().await;
                let count = rx.borrow().count;
                samples.push((Instant::now(), count));
                if count >= PODS {
                    break;
                }
            }
            samples
        })
    };
    let created =
        create_bound_pods(objects, "remote", NAMESPACES, PODS, PREFIX, NODES, cap(120)).await;
    let create_s = created.last.duration_since(created.first).as_secs_f64();
    f.value("pods", created.created as u64)
        .value("create_s", create_s);
    let limit = cap(300);
    let done = running.reached(created.created, limit).await;
    // The sampler stops by itself once every pod is Running; it is not aborted, so its samples
    // can be read.
    match done {
        Ok(at) => {
            let total = at.saturating_duration_since(created.first).as_secs_f64();
            f.value("running_after_first_create_s", total)
                .value(
                    "running_after_last_create_s",
                    at.saturating_duration_since(created.last).as_secs_f64(),
                )
                .value(
                    "pods_running_per_s",
                    (created.created as f64 / total).round(),
                );
        }
        Err(n) => {
            f.note(format!(
                "only {n} of {} pods Running within {limit:?}",
                created.created
            ));
        }
    }
    if let Ok(Ok(samples)) = tokio::time::timeout(Duration::from_secs(1), sampler).await {
        f.value("best_running_per_s", best_rate(&samples, WINDOW).round());
    }
    // The child prints its counters every 10 s: wait for a line printed after the last pod ran.
    let writes_after = next_status_writes(&child, Duration::from_secs(12)).await;
    if let (Some(b), Some(a)) = (writes_before, writes_after) {
        f.value("child_pod_status_writes", a.saturating_sub(b));
    }
    if let Some(rss) = child.rss() {
        f.value("child_rss_mb", mb(rss));
    }
    if let Some(s) = child.output.lock().last_stats.clone() {
        f.note(format!("child's last counters: {s}"));
    }
    f.note(format!(
        "kubeproof nodes ({}) in its own process over HTTPS; pods created in-process in the bench; Running counted from a watch",
        binary.display()
    ));
    child.stop().await;
    let _ = std::fs::remove_file(&kubeconfig);
    drop(running);
    drop(ready);
    cluster.shutdown().await;
    f
}

/// The best rate of `count` growth over any `window` of the samples, per second.
pub fn best_rate(samples: &[(Instant, usize)], window: Duration) -> f64 {
    let mut best = 0.0f64;
    let mut start = 0;
    for end in 0..samples.len() {
        while samples[end].0.duration_since(samples[start].0) > window {
            start += 1;
        }
        let span = samples[end].0.duration_since(samples[start].0);
        if span >= window.mul_f64(0.9) {
            let grown = samples[end].1.saturating_sub(samples[start].1) as f64;
            best = best.max(grown / span.as_secs_f64());
        }
    }
    best
}

/// The "pod status writes N" of the child's last counters line.
fn child_status_writes(child: &NodesProcess) -> Option<u64> {
    let line = child.output.lock().last_stats.clone()?;
    parse_status_writes(&line)
}

/// Wait for the child's next counters line (at most `cap`) and read its status writes.
async fn next_status_writes(child: &NodesProcess, cap: Duration) -> Option<u64> {
    let old = child.output.lock().last_stats.clone();
    let deadline = Instant::now() + cap;
    while Instant::now() < deadline {
        let now = child.output.lock().last_stats.clone();
        if now.is_some() && now != old {
            return now.as_deref().and_then(parse_status_writes);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child_status_writes(child)
}

/// `… pod status writes 123 …` → 123.
fn parse_status_writes(line: &str) -> Option<u64> {
    let rest = line.split("pod status writes ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_childs_counters_line_gives_its_status_writes() {
        let line =
            "kubeproof: nodes 10 pods 4 lease renewals 30 (late 0) pod status writes 17 events 3";
        assert_eq!(parse_status_writes(line), Some(17));
        assert_eq!(parse_status_writes("kubeproof: seed 1"), None);
    }

    #[test]
    fn the_best_rate_is_the_steepest_full_window() {
        let t = Instant::now();
        let s: Vec<(Instant, usize)> = (0..=20)
            .map(|i| {
                // 10/s for 10 s, then 100/s for 10 s.
                let n = if i <= 10 {
                    i * 10
                } else {
                    100 + (i - 10) * 100
                };
                (t + Duration::from_secs(i as u64), n)
            })
            .collect();
        let best = best_rate(&s, Duration::from_secs(5));
        assert!((best - 100.0).abs() < 1e-9, "{best}");
    }
}
