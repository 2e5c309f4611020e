//! Register: 10,000 hollow nodes (Node + Lease each) registered by an in-process simulator and
//! Ready as a client sees them through a watch. Goal: the last node Ready ≤ 10 s after the
//! `register` call starts.

use std::time::Duration;

use simulator::{Profile, SimConfig, Simulator};
use tokio::time::Instant;

use super::{Cluster, Counter, SEED, cap, mb};
use crate::cluster::rss_bytes;
use crate::figures::Figures;

/// Nodes registered.
pub const NODES: usize = 10_000;
/// Goal: seconds from the start to the last node Ready.
pub const GOAL_SECS: f64 = 10.0;
/// Node names are `<PREFIX>-<i>`.
pub const PREFIX: &str = "hollow-node";

/// Start a watch of Ready nodes, then a simulator at real time (the kubelet's timing), register
/// [`NODES`] nodes and time the last one Ready through the watch.
pub async fn run() -> Figures {
    let mut f = Figures::new("register");
    let cluster = match Cluster::boot().await {
        Ok(c) => c,
        Err(e) => return super::super::failed("register", e),
    };
    let mut ready = Counter::ready_nodes(&cluster.client);
    if !ready.listed(Duration::from_secs(10)).await {
        return super::super::failed("register", "the node watch did not list");
    }
    let config = SimConfig {
        profile: Profile::default(),
        seed: SEED,
    };
    let simulator = match Simulator::start(cluster.new_client().await, config).await {
        Ok(s) => s,
        Err(e) => return super::super::failed("register", e),
    };
    let limit = cap(120);
    let began = Instant::now();
    // When half the nodes were Ready: a task woken by the watch, since the counter keeps only
    // the time of its last change.
    let half = {
        let mut rx = ready.progress_receiver();
        tokio::spawn(async move {
            rx.wait_for(|p| p.count >= NODES / 2).await.ok()?;
            Some(began.elapsed())
        })
    };
    let registered = tokio::time::timeout(limit, simulator.register(PREFIX, NODES, None)).await;
    let register_returned = began.elapsed();
    let last_ready = ready
        .reached(NODES, limit.saturating_sub(began.elapsed()))
        .await;
    match registered {
        Err(_) => {
            f.note(format!("register did not return within {limit:?}"));
        }
        Ok(Err(e)) => {
            f.note(format!("register failed: {e}"));
        }
        Ok(Ok(names)) => {
            f.value("nodes", names.len() as u64);
        }
    }
    f.value("register_call_s", register_returned.as_secs_f64());
    if let Ok(Ok(Some(h))) = tokio::time::timeout(Duration::from_secs(1), half).await {
        f.value("half_ready_s", h.as_secs_f64());
    }
    match last_ready {
        Ok(at) => {
            let ready_s = at.saturating_duration_since(began).as_secs_f64();
            // Registered means the Node and its Lease: the later of the last Ready and the
            // return of `register` (which writes each Lease after its Node).
            let secs = ready_s.max(register_returned.as_secs_f64());
            f.value("all_ready_s", ready_s)
                .value("registered_and_ready_s", secs)
                .value("nodes_per_s", (NODES as f64 / secs).round());
            f.goal("registered_and_ready_s", secs, GOAL_SECS, true);
        }
        Err(count) => {
            f.value("ready_at_cap", count as u64);
            f.note(format!(
                "only {count} of {NODES} nodes Ready within {limit:?}"
            ));
            f.goal(
                "registered_and_ready_s",
                limit.as_secs_f64(),
                GOAL_SECS,
                true,
            );
        }
    }
    let stats = simulator.stats();
    let progress = ready.progress();
    let (rss, peak) = rss_bytes().unwrap_or_default();
    f.value("watch_relists", progress.relists)
        .value("heartbeat_failures", stats.heartbeats.failures)
        .value("rss_mb", mb(rss))
        .value("rss_peak_mb", mb(peak));
    f.note(format!(
        "in-process simulator (kube-rs client, maxInFlight {}) and control plane; Ready counted from a watch of nodes",
        simulator.profile().max_in_flight
    ));
    simulator.shutdown().await;
    drop(ready);
    cluster.shutdown().await;
    f
}
