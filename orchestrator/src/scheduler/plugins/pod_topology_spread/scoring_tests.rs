//! PodTopologySpread PreScore/Score/NormalizeScore cases, from upstream's `scoring_test.go`
//! (`TestPodTopologySpreadScore`), and the system default constraints spreading a
//! controller's replicas.

use rstest::rstest;
use serde_json::json;

use super::filtering_tests::{N, P, bar, cluster, foo, list_plugin};
use super::*;
use crate::scheduler::framework::{CycleState, NodeScore, Status};

const HOST: &str = "kubernetes.io/hostname";

fn host(name: &str) -> N {
    N::new(name).label(HOST, name)
}
fn zoned(name: &str, zone: &str) -> N {
    host(name).label("zone", zone)
}
fn foo_on(name: &str, node: &str) -> P {
    P::new(name).label("foo", "").node(node)
}
fn foos(counts: &[(&str, usize)]) -> Vec<P> {
    counts
        .iter()
        .flat_map(|(node, n)| (1..=*n).map(move |i| foo_on(&format!("p-{node}-{i}"), node)))
        .collect()
}
fn soft(p: P, max_skew: i32, key: &str, selector: Option<serde_json::Value>) -> P {
    p.spread(max_skew, key, "ScheduleAnyway", selector, json!({}))
}

/// PreScore over `candidates` (the snapshot also has `failed`), then Score and NormalizeScore
/// for each candidate; `None` when PreScore skipped.
pub(super) fn scores(
    pl: &PodTopologySpread,
    incoming: P,
    candidates: Vec<N>,
    failed: Vec<N>,
    pods: Vec<P>,
) -> Option<Vec<i64>> {
    let names: Vec<String> = candidates
        .iter()
        .map(|n| n.v["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let snap = cluster(candidates.into_iter().chain(failed).collect(), pods);
    let filtered: Vec<_> = names.iter().map(|n| snap.get(n).unwrap().clone()).collect();
    let p = incoming.info();
    let mut state = CycleState::new();
    let pre = pl.pre_score(&mut state, &p, &filtered, &snap);
    if pre.is_skip() {
        return None;
    }
    assert!(pre.is_success(), "PreScore: {pre:?}");
    let mut list: Vec<NodeScore> = filtered
        .iter()
        .map(|n| {
            let (score, s) = pl.score(&state, &p, n);
            assert_eq!(s, Status::success());
            NodeScore {
                name: &n.name,
                score,
            }
        })
        .collect();
    assert!(pl.normalize(&state, &p, &mut list).is_success());
    Some(list.into_iter().map(|s| s.score).collect())
}

fn four_hosts() -> Vec<N> {
    vec![
        host("node-a"),
        host("node-b"),
        host("node-c"),
        host("node-d"),
    ]
}

#[rstest]
#[case::on_node_no_existing_pods(
    soft(P::new("p").label("foo", ""), 1, HOST, foo()),
    vec![host("node-a"), host("node-b")], vec![], vec![], vec![100, 100])]
#[case::on_node_a_single_candidate(
    soft(P::new("p").label("foo", ""), 1, HOST, foo()),
    vec![host("node-a")], vec![host("node-b")], foos(&[("node-a", 2), ("node-b", 1)]), vec![100])]
#[case::on_node_equal_counts(
    soft(P::new("p").label("foo", ""), 1, HOST, foo()),
    vec![host("node-a"), host("node-b")], vec![], foos(&[("node-a", 1), ("node-b", 1)]), vec![100, 100])]
#[case::on_node_2_1_0_3(
    soft(P::new("p").label("foo", ""), 1, HOST, foo()),
    four_hosts(), vec![], foos(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]), vec![20, 60, 100, 0])]
#[case::on_node_null_selector(
    soft(P::new("p").label("foo", ""), 1, HOST, None),
    four_hosts(), vec![], foos(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]), vec![100, 100, 100, 100])]
#[case::on_node_2_1_0_3_max_skew_2(
    soft(P::new("p").label("foo", ""), 2, HOST, foo()),
    four_hosts(), vec![], foos(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]), vec![33, 66, 100, 16])]
#[case::on_node_4_3_2_1_max_skew_3(
    soft(P::new("p").label("foo", ""), 3, HOST, foo()),
    four_hosts(), vec![], foos(&[("node-a", 4), ("node-b", 3), ("node-c", 2), ("node-d", 1)]), vec![44, 66, 77, 100])]
#[case::on_node_3_of_4_candidates(
    soft(P::new("p").label("foo", ""), 1, HOST, foo()),
    vec![host("node-a"), host("node-b"), host("node-x")], vec![host("node-y")],
    foos(&[("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)]), vec![33, 83, 100])]
#[case::on_node_a_candidate_without_the_key(
    soft(P::new("p").label("foo", ""), 1, HOST, foo()),
    vec![host("node-a"), N::new("node-b").label("n", "node-b"), host("node-x")], vec![host("node-y")],
    foos(&[("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)]), vec![16, 0, 100])]
#[case::on_zone_3_of_4_candidates(
    soft(P::new("p").label("foo", ""), 1, "zone", foo()),
    vec![zoned("node-a", "zone1"), zoned("node-b", "zone1"), zoned("node-x", "zone2")], vec![zoned("node-y", "zone2")],
    foos(&[("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)]), vec![75, 75, 100])]
#[case::zone_and_node_2_of_4_candidates(
    soft(soft(P::new("p").label("foo", ""), 1, "zone", foo()), 1, HOST, foo()),
    vec![zoned("node-a", "zone1"), zoned("node-x", "zone2")], vec![zoned("node-b", "zone1"), zoned("node-y", "zone2")],
    foos(&[("node-a", 2), ("node-b", 1), ("node-x", 2), ("node-y", 4)]), vec![100, 63])]
#[case::zone_and_node_with_different_selectors(
    soft(soft(P::new("p").label("foo", "").label("bar", ""), 1, "zone", foo()), 1, HOST, bar()),
    vec![zoned("node-a", "zone1"), zoned("node-b", "zone1"), zoned("node-x", "zone2"), zoned("node-y", "zone2")], vec![],
    vec![foo_on("p-a1", "node-a"), foo_on("p-b1", "node-b").label("bar", ""), foo_on("p-y1", "node-y"),
         P::new("p-y2").label("bar", "").node("node-y")],
    vec![60, 20, 100, 60])]
#[case::zone_and_node_with_different_selectors_some_empty(
    soft(soft(P::new("p").label("foo", "").label("bar", ""), 1, "zone", foo()), 1, HOST, bar()),
    vec![zoned("node-a", "zone1"), zoned("node-b", "zone1"), zoned("node-x", "zone2"), zoned("node-y", "zone2")], vec![],
    vec![P::new("p-b1").label("bar", "").node("node-b"), foo_on("p-x1", "node-x"), foo_on("p-y1", "node-y").label("bar", "")],
    vec![100, 60, 40, 0])]
#[case::zone_and_node_with_different_selectors_3_of_4(
    soft(soft(P::new("p").label("foo", "").label("bar", ""), 1, "zone", foo()), 1, HOST, bar()),
    vec![zoned("node-a", "zone1"), zoned("node-b", "zone1"), zoned("node-x", "zone2")], vec![zoned("node-y", "zone2")],
    vec![foo_on("p-a1", "node-a"), foo_on("p-b1", "node-b").label("bar", ""), foo_on("p-y1", "node-y"),
         P::new("p-y2").label("bar", "").node("node-y")],
    vec![50, 25, 100])]
#[case::other_namespaces_do_not_count(
    soft(P::new("p").label("foo", ""), 1, HOST, foo()),
    vec![host("node-a"), host("node-b")], vec![],
    vec![foo_on("p-a1", "node-a").ns("ns1"), foo_on("p-a2", "node-a"), foo_on("p-b1", "node-b"), foo_on("p-b2", "node-b")],
    vec![100, 33])]
#[case::terminating_pods_do_not_count(
    soft(P::new("p").label("foo", ""), 1, HOST, foo()),
    vec![host("node-a"), host("node-b")], vec![],
    vec![foo_on("p-a", "node-a").terminating(), foo_on("p-b", "node-b")],
    vec![100, 0])]
fn pod_topology_spread_score(
    #[case] incoming: P,
    #[case] candidates: Vec<N>,
    #[case] failed: Vec<N>,
    #[case] pods: Vec<P>,
    #[case] want: Vec<i64>,
) {
    assert_eq!(
        scores(&list_plugin(), incoming, candidates, failed, pods),
        Some(want)
    );
}

#[test]
fn only_hard_constraints_skip_prescore() {
    let got = scores(
        &list_plugin(),
        P::new("p").label("foo", "").hard(1, HOST, foo()),
        four_hosts(),
        vec![],
        vec![],
    );
    assert_eq!(got, None);
}

fn system_plugin(h: Handle) -> PodTopologySpread {
    PodTopologySpread::new(
        PodTopologySpreadArgs::parse(&serde_json::Value::Null).unwrap(),
        h,
    )
}

fn service_selecting_foo() -> Handle {
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
    h
}

/// Upstream "system defaulting, nodes don't have zone, pods match service": the same scores as
/// one hostname constraint with maxSkew 3, since the zone constraint has no zone label to use.
#[test]
fn system_defaults_spread_a_services_pods_over_nodes_without_zones() {
    let got = scores(
        &system_plugin(service_selecting_foo()),
        P::new("p").label("foo", ""),
        four_hosts(),
        vec![],
        foos(&[("node-a", 4), ("node-b", 3), ("node-c", 2), ("node-d", 1)]),
    );
    assert_eq!(got, Some(vec![44, 66, 77, 100]));
}

#[test]
fn system_defaults_prefer_the_emptier_zone() {
    let nodes = || {
        vec![
            host("node-a").label(common::LABEL_TOPOLOGY_ZONE, "z1"),
            host("node-b").label(common::LABEL_TOPOLOGY_ZONE, "z1"),
            host("node-c").label(common::LABEL_TOPOLOGY_ZONE, "z2"),
        ]
    };
    // One replica on each node of z1: the z2 node is best, both z1 nodes are equal.
    let got = scores(
        &system_plugin(service_selecting_foo()),
        P::new("p").label("foo", ""),
        nodes(),
        vec![],
        foos(&[("node-a", 1), ("node-b", 1)]),
    )
    .unwrap();
    assert_eq!(got[0], got[1]);
    assert!(got[2] > got[0], "the empty zone wins: {got:?}");
}

#[test]
fn a_pod_nothing_selects_gets_no_default_spreading() {
    let got = scores(
        &system_plugin(Handle::in_memory()),
        P::new("p").label("foo", ""),
        four_hosts(),
        vec![],
        foos(&[("node-a", 4)]),
    );
    assert_eq!(got, None);
}

#[test]
fn list_defaults_apply_to_pods_without_constraints() {
    let args = PodTopologySpreadArgs::parse(&json!({
        "defaultingType": "List",
        "defaultConstraints": [
            { "maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": "ScheduleAnyway" } ]
    }))
    .unwrap();
    let pl = PodTopologySpread::new(args, service_selecting_foo());
    let got = scores(
        &pl,
        P::new("p").label("foo", ""),
        four_hosts(),
        vec![],
        foos(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]),
    );
    assert_eq!(got, Some(vec![20, 60, 100, 0]));
}
