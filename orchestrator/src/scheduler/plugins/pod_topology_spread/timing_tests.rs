//! A timing note, not an assertion: PreFilter, Filter, PreScore and Score over a 5,000-node
//! snapshot with 5,000 pods, in the shape of scheduler_perf's TopologySpreading workload, and
//! default spreading of a Service's pods. Run with `cargo test -p orchestrator --lib
//! pod_topology_spread::timing -- --ignored --nocapture` (add `--config
//! 'profile.dev.package.orchestrator.opt-level=3'` for figures that mean anything).

use std::time::Instant;

use serde_json::json;

use super::filtering_tests::{N, P, cluster, foo, list_plugin};
use super::*;
use crate::scheduler::framework::CycleState;

const NODES: usize = 5_000;
const RUNS: u32 = 20;

fn time(label: &str, pl: &PodTopologySpread, incoming: P) {
    let nodes: Vec<N> = (0..NODES)
        .map(|i| {
            let name = format!("node-{i}");
            N::new(&name)
                .label("kubernetes.io/hostname", &name)
                .label("topology.kubernetes.io/zone", &format!("zone-{}", i % 10))
        })
        .collect();
    let pods: Vec<P> = (0..NODES)
        .map(|i| {
            P::new(&format!("e{i}"))
                .label("foo", "")
                .node(&format!("node-{}", i * 7 % NODES))
        })
        .collect();
    let snap = cluster(nodes, pods);
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
        "{label}: {feasible} feasible of {NODES} nodes: PreFilter {:.1} µs, Filter ×{NODES} {:.1} µs, PreScore+Score×{NODES} {:.1} µs",
        us(pre),
        us(filter),
        us(score)
    );
}

#[test]
#[ignore = "timing note; run by hand"]
fn timing_over_5000_nodes() {
    let pl = list_plugin();
    time(
        "zone DoNotSchedule",
        &pl,
        P::new("p")
            .label("foo", "")
            .hard(1, "topology.kubernetes.io/zone", foo()),
    );
    time(
        "zone + hostname ScheduleAnyway",
        &pl,
        P::new("p")
            .label("foo", "")
            .spread(
                1,
                "topology.kubernetes.io/zone",
                "ScheduleAnyway",
                foo(),
                json!({}),
            )
            .spread(
                1,
                "kubernetes.io/hostname",
                "ScheduleAnyway",
                foo(),
                json!({}),
            ),
    );
    let h = Handle::in_memory();
    h.objects()
        .store()
        .create(
            "services",
            "default",
            "svc",
            json!({ "metadata": { "name": "svc", "namespace": "default" },
                    "spec": { "selector": { "foo": "" } } }),
        )
        .unwrap();
    let system = PodTopologySpread::new(
        PodTopologySpreadArgs::parse(&serde_json::Value::Null).unwrap(),
        h,
    );
    time(
        "system default spreading (Service)",
        &system,
        P::new("p").label("foo", ""),
    );
}
