//! A timing note, not an assertion: PreFilter and Filter over a 5,000-node snapshot, in the
//! shape of scheduler_perf's SchedulingPodAntiAffinity and SchedulingPodAffinity workloads.
//! Run with `cargo test -p orchestrator --lib inter_pod_affinity::timing -- --ignored
//! --nocapture` (add `--config 'profile.dev.package.orchestrator.opt-level=3'` for figures
//! that mean anything).

use std::time::Instant;

use serde_json::json;

use super::filtering_tests::{P, cluster, n, plugin, term};
use crate::scheduler::framework::{CycleState, Filter, PreFilter, PreScore, Score};

const NODES: usize = 5_000;
const RUNS: u32 = 20;

fn nodes() -> Vec<(String, serde_json::Value)> {
    (0..NODES)
        .map(|i| {
            let name = format!("node-{i}");
            let zone = format!("zone-{}", i % 10);
            n(
                &name,
                &[
                    ("kubernetes.io/hostname", &name),
                    ("topology.kubernetes.io/zone", &zone),
                ],
            )
        })
        .collect()
}

/// Mean time of PreFilter, Filter over every node, PreScore and Score over every node.
fn time(label: &str, incoming: P, pods: Vec<P>) {
    let pods: Vec<_> = pods.into_iter().map(P::info).collect();
    let snap = cluster(&nodes(), &pods);
    let pl = plugin();
    let p = incoming.info();
    let (mut pre, mut filter, mut score, mut feasible) = (0u128, 0u128, 0u128, 0);
    for _ in 0..RUNS {
        let mut state = CycleState::new();
        let t = Instant::now();
        let (_, s) = pl.pre_filter(&mut state, &p, &snap);
        pre += t.elapsed().as_nanos();
        let t = Instant::now();
        feasible = if s.is_skip() {
            snap.len()
        } else {
            snap.nodes
                .iter()
                .filter(|n| pl.filter(&state, &p, n).is_success())
                .count()
        };
        filter += t.elapsed().as_nanos();
        let t = Instant::now();
        if pl
            .pre_score(&mut state, &p, &snap.nodes, &snap)
            .is_success()
        {
            for n in &snap.nodes {
                std::hint::black_box(pl.score(&state, &p, n));
            }
        }
        score += t.elapsed().as_nanos();
    }
    let us = |ns: u128| ns as f64 / f64::from(RUNS) / 1000.0;
    eprintln!(
        "{label}: {} pods, {feasible} feasible of {NODES} nodes: PreFilter {:.1} µs, Filter ×{NODES} {:.1} µs, PreScore+Score {:.1} µs",
        pods.len(),
        us(pre),
        us(filter),
        us(score)
    );
}

#[test]
#[ignore = "timing note; run by hand"]
fn timing_over_5000_nodes() {
    let anti = |name: &str, node: usize| {
        P::new(name)
            .label("color", "green")
            .node(&format!("node-{node}"))
            .anti(term("color", "In", &["green"], "kubernetes.io/hostname"))
    };
    // SchedulingPodAntiAffinity: 1,000 pods with required anti-affinity on hostname.
    let existing: Vec<P> = (0..1000).map(|i| anti(&format!("a{i}"), i)).collect();
    time(
        "plain pod, 1000 anti-affinity pods",
        P::new("p").label("color", "blue"),
        existing.clone(),
    );
    time(
        "anti-affinity pod, 1000 anti-affinity pods",
        anti("p", 0).node(""),
        existing,
    );
    // SchedulingPodAffinity: 5,000 pods; the incoming pod wants a zone with a matching pod.
    let existing: Vec<P> = (0..NODES)
        .map(|i| {
            P::new(&format!("e{i}"))
                .label("app", if i % 10 == 3 { "db" } else { "web" })
                .node(&format!("node-{i}"))
        })
        .collect();
    time(
        "affinity pod, 5000 pods",
        P::new("p").label("app", "web").affinity(term(
            "app",
            "In",
            &["db"],
            "topology.kubernetes.io/zone",
        )),
        existing.clone(),
    );
    time(
        "preferred affinity pod, 5000 pods",
        P::new("p").pref_affinity(
            10,
            json!({ "labelSelector": { "matchLabels": { "app": "db" } },
                    "topologyKey": "topology.kubernetes.io/zone" }),
        ),
        existing,
    );
}
