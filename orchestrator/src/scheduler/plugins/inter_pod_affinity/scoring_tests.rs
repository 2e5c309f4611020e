//! InterPodAffinity PreScore/Score/NormalizeScore cases, from upstream's `scoring_test.go`
//! (`TestPreferredAffinity`, `TestPreferredAffinityWithHardPodAffinitySymmetricWeight`).

use rstest::rstest;
use serde_json::{Value, json};

use super::filtering_tests::{P, cluster, handle, n};
use super::*;
use crate::scheduler::framework::{CycleState, MAX_NODE_SCORE, NodeScore, Status};

const MAX: i64 = MAX_NODE_SCORE;

fn sel(key: &str, values: &[&str], topology: &str) -> Value {
    json!({ "labelSelector": { "matchExpressions": [
        { "key": key, "operator": "In", "values": values } ] }, "topologyKey": topology })
}

fn stay_with_s1_in_region(p: P) -> P {
    p.pref_affinity(5, sel("security", &["S1"], "region"))
}
fn stay_with_s2_in_region(p: P) -> P {
    p.pref_affinity(6, sel("security", &["S2"], "region"))
}
fn away_from_s1_in_az(p: P) -> P {
    p.pref_anti(5, sel("security", &["S1"], "az"))
}
fn away_from_s2_in_az(p: P) -> P {
    p.pref_anti(5, sel("security", &["S2"], "az"))
}
fn stay_with_s1_in_region_away_from_s2_in_az(p: P) -> P {
    p.pref_affinity(8, sel("security", &["S1"], "region"))
        .pref_anti(5, sel("security", &["S2"], "az"))
}
fn hard_affinity(p: P) -> P {
    p.affinity(sel("security", &["S1", "value2"], "region"))
        .affinity(json!({ "labelSelector": { "matchExpressions": [
            { "key": "security", "operator": "Exists" },
            { "key": "wrongkey", "operator": "DoesNotExist" } ] }, "topologyKey": "region" }))
}
fn with_namespace_selector(p: P, anti: bool) -> P {
    let mut t = sel("security", &["S1"], "region");
    t["namespaces"] = json!(["subteam2.team2"]);
    t["namespaceSelector"] =
        json!({ "matchExpressions": [ { "key": "team", "operator": "In", "values": ["team1"] } ] });
    if anti {
        p.pref_anti(5, t)
    } else {
        p.pref_affinity(5, t)
    }
}

const CHINA: &[(&str, &str)] = &[("region", "China")];
const INDIA: &[(&str, &str)] = &[("region", "India")];
const AZ1: &[(&str, &str)] = &[("az", "az1")];
const AZ2: &[(&str, &str)] = &[("az", "az2")];
const CHINA_AZ1: &[(&str, &str)] = &[("region", "China"), ("az", "az1")];

fn s1(name: &str, node: &str) -> P {
    P::new(name).label("security", "S1").node(node)
}
fn s2(name: &str, node: &str) -> P {
    P::new(name).label("security", "S2").node(node)
}

/// PreScore over every node, then Score and NormalizeScore as the runtime does; `None` when
/// PreScore skipped.
fn scores(
    args: InterPodAffinityArgs,
    incoming: P,
    pods: Vec<P>,
    nodes: &[(&str, &[(&str, &str)])],
) -> Option<Vec<i64>> {
    let nodes: Vec<_> = nodes.iter().map(|(name, l)| n(name, l)).collect();
    let pods: Vec<_> = pods.into_iter().map(P::info).collect();
    let snap = cluster(&nodes, &pods);
    let pl = InterPodAffinity::new(args, handle());
    let p = incoming.info();
    let mut state = CycleState::new();
    let pre = pl.pre_score(&mut state, &p, &snap.nodes, &snap);
    if pre.is_skip() {
        return None;
    }
    assert!(pre.is_success(), "PreScore: {pre:?}");
    let mut list: Vec<NodeScore> = snap
        .nodes
        .iter()
        .map(|node| {
            let (score, s) = pl.score(&state, &p, node);
            assert_eq!(s, Status::success());
            NodeScore {
                name: &node.name,
                score,
            }
        })
        .collect();
    assert!(pl.normalize(&state, &p, &mut list).is_success());
    Some(list.into_iter().map(|s| s.score).collect())
}

#[rstest]
#[case::no_affinity_anywhere_skips(
    P::new("p").label("security", "S1"), vec![],
    vec![("node1", CHINA), ("node2", INDIA), ("node3", AZ1)], None)]
#[case::matching_pods_in_the_topology_score_high(
    stay_with_s1_in_region(P::new("p").label("security", "S1")),
    vec![s1("a", "node1"), s2("b", "node2"), s1("c", "node3")],
    vec![("node1", CHINA), ("node2", INDIA), ("node3", AZ1)], Some(vec![MAX, 0, 0]))]
#[case::every_node_of_the_matching_domain_scores_the_same(
    stay_with_s1_in_region(P::new("p")),
    vec![s1("a", "node1")],
    vec![("node1", CHINA), ("node2", CHINA_AZ1), ("node3", INDIA)], Some(vec![MAX, MAX, 0]))]
#[case::the_region_with_more_matches_wins(
    stay_with_s2_in_region(P::new("p").label("security", "S1")),
    vec![s2("a", "node1"), s2("b", "node1"), s2("c", "node2"), s2("d", "node3"), s2("e", "node4"), s2("f", "node5")],
    vec![("node1", CHINA), ("node2", INDIA), ("node3", CHINA), ("node4", CHINA), ("node5", INDIA)],
    Some(vec![MAX, 0, MAX, MAX, 0]))]
#[case::operators_and_partial_matches(
    P::new("p").label("security", "S1")
        .pref_affinity(8, json!({ "labelSelector": { "matchExpressions": [
            { "key": "security", "operator": "NotIn", "values": ["S1"] },
            { "key": "security", "operator": "In", "values": ["S2"] } ] }, "topologyKey": "region" }))
        .pref_affinity(2, json!({ "labelSelector": { "matchExpressions": [
            { "key": "security", "operator": "Exists" },
            { "key": "wrongkey", "operator": "DoesNotExist" } ] }, "topologyKey": "region" })),
    vec![s1("a", "node1"), s2("b", "node2"), s1("c", "node3")],
    vec![("node1", CHINA), ("node2", INDIA), ("node3", AZ1)], Some(vec![20, MAX, 0]))]
#[case::existing_pods_preferred_affinity_symmetry(
    P::new("p").label("security", "S2"),
    vec![stay_with_s1_in_region(s1("a", "node1")), stay_with_s2_in_region(s2("b", "node2"))],
    vec![("node1", CHINA), ("node2", INDIA), ("node3", AZ1)], Some(vec![0, MAX, 0]))]
#[case::affinity_symmetry_with_a_namespace_selector(
    P::new("p").ns("subteam1.team1").label("security", "S1"),
    vec![with_namespace_selector(s1("a", "node1"), false), stay_with_s2_in_region(s2("b", "node2"))],
    vec![("node1", CHINA), ("node2", INDIA), ("node3", AZ1)], Some(vec![MAX, 0, 0]))]
#[case::anti_affinity_symmetry_with_a_namespace_selector(
    P::new("p").ns("subteam1.team1").label("security", "S1"),
    vec![with_namespace_selector(s1("a", "node1"), true), stay_with_s2_in_region(s2("b", "node2"))],
    vec![("node1", CHINA), ("node2", INDIA), ("node3", AZ1)], Some(vec![0, MAX, MAX]))]
#[case::existing_pods_required_affinity_counts_with_the_hard_weight(
    P::new("p").label("security", "S1"),
    vec![hard_affinity(s1("a", "node1")), hard_affinity(s2("b", "node2"))],
    vec![("node1", CHINA), ("node2", INDIA), ("node3", AZ1)], Some(vec![MAX, MAX, 0]))]
#[case::anti_affinity_away_from_matching_pods(
    away_from_s1_in_az(P::new("p").label("security", "S1")),
    vec![s1("a", "node1"), s2("b", "node2")],
    vec![("node1", AZ1), ("node2", CHINA)], Some(vec![0, MAX]))]
#[case::anti_affinity_without_the_topology_key_scores_high(
    away_from_s1_in_az(P::new("p").label("security", "S1")),
    vec![s1("a", "node1"), s1("b", "node2")],
    vec![("node1", AZ1), ("node2", CHINA)], Some(vec![0, MAX]))]
#[case::anti_affinity_more_matches_score_lower(
    away_from_s1_in_az(P::new("p").label("security", "S1")),
    vec![s1("a", "node1"), s1("b", "node1"), s2("c", "node2")],
    vec![("node1", AZ1), ("node2", INDIA)], Some(vec![0, MAX]))]
#[case::anti_affinity_symmetry(
    P::new("p").label("security", "S2"),
    vec![away_from_s2_in_az(s1("a", "node1")), away_from_s1_in_az(s2("b", "node2"))],
    vec![("node1", AZ1), ("node2", AZ2)], Some(vec![0, MAX]))]
#[case::affinity_and_anti_affinity(
    stay_with_s1_in_region_away_from_s2_in_az(P::new("p").label("security", "S1")),
    vec![s1("a", "node1"), s1("b", "node2")],
    vec![("node1", CHINA), ("node2", AZ1)], Some(vec![MAX, 0]))]
#[case::same_labels_together_in_region_apart_per_node(
    stay_with_s1_in_region_away_from_s2_in_az(P::new("p").label("security", "S1")),
    vec![s1("a", "node1"), s1("b", "node1"), s1("c", "node2"), s1("d", "node3"), s1("e", "node3"), s1("f", "node4"), s1("g", "node5")],
    vec![("node1", CHINA_AZ1), ("node2", INDIA), ("node3", CHINA), ("node4", CHINA), ("node5", INDIA)],
    Some(vec![MAX, 0, MAX, MAX, 0]))]
#[case::affinity_anti_affinity_and_symmetry_together(
    stay_with_s1_in_region_away_from_s2_in_az(P::new("p").label("security", "S1")),
    vec![s1("a", "node1"), s2("b", "node2"),
         stay_with_s1_in_region_away_from_s2_in_az(P::new("c").node("node3")),
         away_from_s1_in_az(P::new("d").node("node4"))],
    vec![("node1", CHINA), ("node2", AZ1), ("node3", INDIA), ("node4", AZ2)],
    Some(vec![MAX, 0, MAX, 0]))]
#[case::nodes_of_a_domain_without_pods_with_affinity(
    P::new("p").label("security", "S1"),
    vec![s1("a", "node1"), stay_with_s1_in_region_away_from_s2_in_az(P::new("b").node("node2"))],
    vec![("node1", CHINA), ("node2", CHINA)], Some(vec![0, 0]))]
fn preferred_affinity(
    #[case] incoming: P,
    #[case] pods: Vec<P>,
    #[case] nodes: Vec<(&str, &[(&str, &str)])>,
    #[case] want: Option<Vec<i64>>,
) {
    assert_eq!(
        scores(InterPodAffinityArgs::default(), incoming, pods, &nodes),
        want
    );
}

#[test]
fn a_zero_hard_weight_ignores_existing_required_affinity() {
    let args = InterPodAffinityArgs {
        hard_pod_affinity_weight: 0,
        ..InterPodAffinityArgs::default()
    };
    let got = scores(
        args,
        P::new("p").label("security", "S1"),
        vec![
            hard_affinity(s1("a", "node1")),
            hard_affinity(s2("b", "node2")),
        ],
        &[("node1", CHINA), ("node2", INDIA), ("node3", AZ1)],
    );
    assert_eq!(got, None, "nothing applies, so PreScore skips");
}

#[test]
fn ignoring_existing_pods_preferred_terms_skips_a_pod_without_terms() {
    let args = InterPodAffinityArgs {
        ignore_preferred_terms_of_existing_pods: true,
        ..InterPodAffinityArgs::default()
    };
    let pods = || vec![stay_with_s1_in_region(s1("a", "node1"))];
    let nodes: &[(&str, &[(&str, &str)])] = &[("node1", CHINA), ("node2", INDIA)];
    assert_eq!(
        scores(
            args.clone(),
            P::new("p").label("security", "S1"),
            pods(),
            nodes
        ),
        None
    );
    assert_eq!(
        scores(
            InterPodAffinityArgs::default(),
            P::new("p").label("security", "S1"),
            pods(),
            nodes
        ),
        Some(vec![MAX, 0])
    );
}
