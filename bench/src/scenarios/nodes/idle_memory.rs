//! Idle memory: the simulator's resident memory per idle node (no pods), in its own process —
//! `kubeproof nodes` against the bench's control plane — so that nothing of the control plane or
//! the benchmark is counted. One process with [`BASELINE_NODES`] node, one with [`NODES`];
//! (RSS(N) − RSS(1)) / (N − 1). Goal ≤ 50 KB per node.
//!
//! Each process's RSS is read after it has been idle for [`SETTLE`] (more than two lease
//! renewals of every node, so every node's state, timers and lease object have been touched),
//! as the median of a few samples.

use std::time::Duration;

use super::{Cluster, Counter, NodesProcess, cap, kubeproof_binary, mb, write_kubeconfig};
use crate::figures::Figures;

/// Nodes of the measured process.
pub const NODES: usize = 10_000;
/// Nodes of the baseline process (`kubeproof nodes` needs at least one).
pub const BASELINE_NODES: usize = 1;
/// Goal: bytes per idle node.
pub const GOAL_BYTES: f64 = 50_000.0;
/// How long a process idles before its RSS is read.
pub const SETTLE: Duration = Duration::from_secs(25);
/// RSS samples taken (one a second) after settling; the median is used.
pub const SAMPLES: usize = 5;

/// What one process measured.
struct Measured {
    rss: u64,
    register_s: f64,
    stats: Option<String>,
}

/// Measure the baseline and the full process, one after the other, on one control plane.
pub async fn run() -> Figures {
    let mut f = Figures::new("idle-memory");
    let binary = match kubeproof_binary() {
        Ok(b) => b,
        Err(e) => return super::super::failed("idle-memory", e),
    };
    let cluster = match Cluster::boot().await {
        Ok(c) => c,
        Err(e) => return super::super::failed("idle-memory", e),
    };
    let kubeconfig = match write_kubeconfig(&cluster, "idle-memory") {
        Ok(p) => p,
        Err(e) => return super::super::failed("idle-memory", e),
    };
    let mut ready = Counter::ready_nodes(&cluster.client);
    ready.listed(Duration::from_secs(10)).await;
    let base = match measure(
        &binary,
        &kubeconfig,
        BASELINE_NODES,
        "idle-base",
        &mut ready,
        0,
    )
    .await
    {
        Ok(m) => m,
        Err(e) => return super::super::failed("idle-memory", e),
    };
    let full = match measure(
        &binary,
        &kubeconfig,
        NODES,
        "idle-full",
        &mut ready,
        BASELINE_NODES,
    )
    .await
    {
        Ok(m) => m,
        Err(e) => return super::super::failed("idle-memory", e),
    };
    let per_node = full.rss.saturating_sub(base.rss) as f64 / (NODES - BASELINE_NODES) as f64;
    f.value("nodes", NODES as u64)
        .value("rss_baseline_mb", mb(base.rss))
        .value("rss_full_mb", mb(full.rss))
        .value("bytes_per_node", per_node.round())
        .value("register_s", full.register_s);
    f.goal("bytes_per_idle_node", per_node, GOAL_BYTES, true);
    if let Some(s) = full.stats {
        f.note(format!("child's last counters: {s}"));
    }
    f.note(format!(
        "kubeproof nodes ({}) in its own process; VmRSS after {SETTLE:?} idle, median of {SAMPLES}",
        binary.display()
    ));
    let _ = std::fs::remove_file(&kubeconfig);
    drop(ready);
    cluster.shutdown().await;
    f
}

/// Run one `kubeproof nodes --count count`, wait until its nodes are Ready through the API
/// (`already` Ready nodes are the earlier processes'), let it idle, sample its RSS, stop it.
async fn measure(
    binary: &std::path::Path,
    kubeconfig: &std::path::Path,
    count: usize,
    prefix: &str,
    ready: &mut Counter,
    already: usize,
) -> Result<Measured, String> {
    let mut child = NodesProcess::spawn(binary, kubeconfig, count, prefix)?;
    let registered = child.registered(cap(120)).await?;
    ready
        .reached(already + count, cap(60))
        .await
        .map_err(|n| format!("{n} nodes Ready, expected {}", already + count))?;
    let register_s = registered
        .saturating_duration_since(child.spawned)
        .as_secs_f64();
    tokio::time::sleep(SETTLE).await;
    let mut rss = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        rss.push(
            child
                .rss()
                .ok_or("the child's /proc status is unreadable")?,
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    rss.sort_unstable();
    let stats = child.output.lock().last_stats.clone();
    child.stop().await;
    Ok(Measured {
        rss: rss[SAMPLES / 2],
        register_s,
        stats,
    })
}
