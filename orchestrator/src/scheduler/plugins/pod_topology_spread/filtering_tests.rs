//! PodTopologySpread PreFilter/Filter cases, from upstream's `filtering_test.go` tables
//! (`TestPreFilterState`, `TestPreFilterStateRemovePod`, `TestSingleConstraint`,
//! `TestMultipleConstraints`), with the same pods, nodes and expected codes.

use std::sync::Arc;

use rstest::rstest;
use serde_json::{Value, json};

use super::filtering::{CriticalPaths, PreFilterState};
use super::*;
use crate::scheduler::framework::testing::{node, pod, snapshot};
use crate::scheduler::framework::{Code, CycleState, PodInfo, Snapshot};

/// A pod in `default` with labels, an optional node, constraints and node affinity.
#[derive(Clone)]
pub(super) struct P {
    pub v: Value,
}

/// `foo` exists.
pub(super) fn foo() -> Option<Value> {
    Some(json!({ "matchExpressions": [ { "key": "foo", "operator": "Exists" } ] }))
}
/// `bar` exists.
pub(super) fn bar() -> Option<Value> {
    Some(json!({ "matchExpressions": [ { "key": "bar", "operator": "Exists" } ] }))
}

impl P {
    pub(super) fn new(name: &str) -> Self {
        P {
            v: json!({ "apiVersion": "v1", "kind": "Pod",
                "metadata": { "name": name, "namespace": "default", "labels": {} },
                "spec": { "containers": [ { "name": "c", "image": "pause" } ] } }),
        }
    }
    pub(super) fn ns(mut self, ns: &str) -> Self {
        self.v["metadata"]["namespace"] = ns.into();
        self
    }
    pub(super) fn label(mut self, k: &str, v: &str) -> Self {
        self.v["metadata"]["labels"][k] = v.into();
        self
    }
    pub(super) fn node(mut self, n: &str) -> Self {
        self.v["spec"]["nodeName"] = n.into();
        self
    }
    pub(super) fn terminating(mut self) -> Self {
        self.v["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
        self
    }
    pub(super) fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.v["spec"]["nodeSelector"][k] = v.into();
        self
    }
    pub(super) fn node_affinity(mut self, key: &str, op: &str, values: &[&str]) -> Self {
        self.v["spec"]["affinity"] = json!({ "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": [
                { "matchExpressions": [ { "key": key, "operator": op, "values": values } ] } ] } } });
        self
    }
    /// A spread constraint; `extra` adds fields (`minDomains`, policies, `matchLabelKeys`).
    pub(super) fn spread(
        mut self,
        max_skew: i32,
        key: &str,
        when: &str,
        selector: Option<Value>,
        extra: Value,
    ) -> Self {
        let mut c = json!({ "maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when });
        if let Some(s) = selector {
            c["labelSelector"] = s;
        }
        for (k, v) in extra.as_object().into_iter().flatten() {
            c[k] = v.clone();
        }
        let list = &mut self.v["spec"]["topologySpreadConstraints"];
        if list.is_null() {
            *list = json!([]);
        }
        list.as_array_mut().unwrap().push(c);
        self
    }
    pub(super) fn hard(self, max_skew: i32, key: &str, selector: Option<Value>) -> Self {
        self.spread(max_skew, key, "DoNotSchedule", selector, json!({}))
    }
    pub(super) fn info(self) -> Arc<PodInfo> {
        pod(self.v)
    }
}

/// A node with labels and taints.
pub(super) struct N {
    pub v: Value,
}

impl N {
    pub(super) fn new(name: &str) -> Self {
        N {
            v: json!({ "apiVersion": "v1", "kind": "Node", "metadata": { "name": name, "labels": {} } }),
        }
    }
    pub(super) fn label(mut self, k: &str, v: &str) -> Self {
        self.v["metadata"]["labels"][k] = v.into();
        self
    }
    pub(super) fn unschedulable_taint(mut self) -> Self {
        self.v["spec"]["taints"] = json!([
            { "key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule" } ]);
        self
    }
    /// `name` with `zone` and `node` labels.
    pub(super) fn zoned(name: &str, zone: &str) -> Self {
        N::new(name).label("zone", zone).label("node", name)
    }
}

pub(super) fn cluster(nodes: Vec<N>, pods: Vec<P>) -> Snapshot {
    let pods: Vec<_> = pods.into_iter().map(P::info).collect();
    snapshot(
        nodes
            .into_iter()
            .map(|n| {
                let name = n.v["metadata"]["name"].as_str().unwrap().to_string();
                let on: Vec<_> = pods
                    .iter()
                    .filter(|p| p.node_name == name)
                    .cloned()
                    .collect();
                node(n.v, &on)
            })
            .collect(),
    )
}

pub(super) fn list_plugin() -> PodTopologySpread {
    let args = PodTopologySpreadArgs {
        defaulting_type: LIST_DEFAULTING.to_string(),
        ..PodTopologySpreadArgs::default()
    };
    PodTopologySpread::new(args, Handle::in_memory())
}

fn four_nodes() -> Vec<N> {
    vec![
        N::zoned("node-a", "zone1"),
        N::zoned("node-b", "zone1"),
        N::zoned("node-x", "zone2"),
        N::zoned("node-y", "zone2"),
    ]
}

fn foo_on(name: &str, node: &str) -> P {
    P::new(name).label("foo", "").node(node)
}

/// The pods `p-a1 p-a2 p-b1 p-y1 p-y2 …`: `counts` pods with `foo` on each named node.
fn foo_pods(counts: &[(&str, usize)]) -> Vec<P> {
    counts
        .iter()
        .flat_map(|(node, n)| (1..=*n).map(move |i| foo_on(&format!("p-{node}-{i}"), node)))
        .collect()
}

/// The state PreFilter writes, as (per constraint) sorted counts and critical paths.
fn state_of(incoming: P, snap: &Snapshot) -> PreFilterState {
    list_plugin()
        .pre_filter_state(&incoming.info(), snap)
        .expect("constraints compile")
        .expect("the pod has hard constraints")
}

fn counts(s: &PreFilterState, i: usize) -> Vec<(String, i64)> {
    let mut v: Vec<_> = s.tp_value_to_match_num[i]
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    v.sort();
    v
}

fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

/// Critical paths compared as upstream's test does: equal counts in either order.
fn paths(s: &PreFilterState, i: usize) -> Vec<(String, i64)> {
    let mut p = s.critical_paths[i].pairs().to_vec();
    if p[0].1 == p[1].1 && p[0].0 > p[1].0 {
        p.swap(0, 1);
    }
    p
}

#[test]
fn prefilter_counts_matching_pods_per_zone() {
    let snap = cluster(
        four_nodes(),
        foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 2)]),
    );
    let s = state_of(P::new("p").label("foo", "").hard(1, "zone", foo()), &snap);
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 3), ("zone2", 2)]));
    assert_eq!(paths(&s, 0), pairs(&[("zone2", 2), ("zone1", 3)]));
    assert_eq!(s.domains_num, vec![2]);
}

#[test]
fn prefilter_on_a_clean_cluster_has_empty_domains() {
    let snap = cluster(four_nodes(), vec![]);
    let sel = Some(json!({ "matchLabels": { "foo": "bar" } }));
    let s = state_of(P::new("p").label("foo", "").hard(5, "zone", sel), &snap);
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 0), ("zone2", 0)]));
    assert_eq!(paths(&s, 0), pairs(&[("zone1", 0), ("zone2", 0)]));
}

#[test]
fn a_null_selector_counts_nothing() {
    let snap = cluster(
        four_nodes(),
        foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 2)]),
    );
    let s = state_of(P::new("p").label("foo", "").hard(1, "zone", None), &snap);
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 0), ("zone2", 0)]));
    assert_eq!(s.self_match_num, vec![0]);
}

#[test]
fn prefilter_on_three_zones_finds_the_empty_one() {
    let mut nodes = four_nodes();
    nodes.push(N::zoned("node-o", "zone3"));
    nodes.push(N::zoned("node-p", "zone3"));
    let snap = cluster(
        nodes,
        foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 2)]),
    );
    let s = state_of(P::new("p").label("foo", "").hard(1, "zone", foo()), &snap);
    assert_eq!(
        counts(&s, 0),
        pairs(&[("zone1", 3), ("zone2", 2), ("zone3", 0)])
    );
    assert_eq!(paths(&s, 0), pairs(&[("zone3", 0), ("zone2", 2)]));
    assert_eq!(s.domains_num, vec![3]);
}

#[test]
fn pods_of_other_namespaces_do_not_count() {
    let snap = cluster(
        four_nodes(),
        vec![
            foo_on("p-a1", "node-a"),
            foo_on("p-a2", "node-a").ns("ns1"),
            foo_on("p-b1", "node-b"),
            foo_on("p-y1", "node-y").ns("ns2"),
            foo_on("p-y2", "node-y"),
        ],
    );
    let s = state_of(P::new("p").label("foo", "").hard(1, "zone", foo()), &snap);
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 2), ("zone2", 1)]));
    assert_eq!(paths(&s, 0), pairs(&[("zone2", 1), ("zone1", 2)]));
}

#[test]
fn two_constraints_and_soft_ones_bypassed() {
    let snap = cluster(
        vec![
            N::zoned("node-a", "zone1"),
            N::zoned("node-b", "zone1"),
            N::zoned("node-y", "zone2"),
        ],
        foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 4)]),
    );
    let incoming = P::new("p")
        .label("foo", "")
        .spread(1, "zone", "ScheduleAnyway", foo(), json!({}))
        .hard(1, "zone", foo())
        .spread(1, "node", "ScheduleAnyway", foo(), json!({}))
        .hard(1, "node", foo());
    let s = state_of(incoming, &snap);
    assert_eq!(s.constraints.len(), 2);
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 3), ("zone2", 4)]));
    assert_eq!(paths(&s, 0), pairs(&[("zone1", 3), ("zone2", 4)]));
    assert_eq!(
        counts(&s, 1),
        pairs(&[("node-a", 2), ("node-b", 1), ("node-y", 4)])
    );
    assert_eq!(paths(&s, 1), pairs(&[("node-b", 1), ("node-a", 2)]));
    assert_eq!(s.domains_num, vec![2, 3]);
}

#[test]
fn a_pod_with_only_soft_constraints_skips_prefilter() {
    let snap = cluster(four_nodes(), vec![]);
    let p = P::new("p")
        .label("foo", "")
        .spread(1, "zone", "ScheduleAnyway", foo(), json!({}))
        .info();
    let (_, s) = list_plugin().pre_filter(&mut CycleState::new(), &p, &snap);
    assert_eq!(s.code(), Code::Skip);
}

#[test]
fn critical_paths_keep_the_two_smallest_domains() {
    let mut p = CriticalPaths::default();
    p.update("a", 3);
    p.update("b", 1);
    p.update("c", 2);
    assert_eq!(p.pairs().to_vec(), pairs(&[("b", 1), ("c", 2)]));
    p.update("b", 4);
    assert_eq!(p.pairs().to_vec(), pairs(&[("c", 2), ("b", 4)]));
    p.update("a", 0);
    assert_eq!(p.min(), 0);
}

const OK: Code = Code::Success;
const NO: Code = Code::Unschedulable;
const NEVER: Code = Code::UnschedulableAndUnresolvable;

#[rstest]
#[case::no_existing_pods(
    P::new("p").label("foo", "").hard(1, "zone", foo()), four_nodes(), vec![],
    vec![OK, OK, OK, OK])]
#[case::the_pod_does_not_match_itself(
    P::new("p").label("foo", "").hard(1, "zone", bar()), four_nodes(), vec![],
    vec![OK, OK, OK, OK])]
#[case::pods_of_another_namespace_do_not_count(
    P::new("p").label("foo", "").hard(1, "zone", foo()), four_nodes(),
    vec![foo_on("p-a1", "node-a").ns("ns1"), foo_on("p-b1", "node-a").ns("ns2"),
         foo_on("p-x1", "node-x"), foo_on("p-y1", "node-y")],
    vec![OK, OK, NO, NO])]
#[case::existing_pods_do_not_match_a_null_selector(
    P::new("p").label("foo", "").hard(1, "zone", None), four_nodes(),
    foo_pods(&[("node-x", 1), ("node-y", 1)]), vec![OK, OK, OK, OK])]
#[case::zones_at_3_3_all_fit(
    P::new("p").label("foo", "").hard(1, "zone", foo()), four_nodes(),
    foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)]), vec![OK, OK, OK, OK])]
#[case::a_node_without_the_zone_label(
    P::new("p").label("foo", "").hard(1, "zone", foo()),
    vec![N::zoned("node-a", "zone1"), N::new("node-b").label("zon", "zone1").label("node", "node-b"),
         N::zoned("node-x", "zone2"), N::zoned("node-y", "zone2")],
    foo_pods(&[("node-a", 1), ("node-b", 1), ("node-x", 1), ("node-y", 1)]),
    vec![OK, NEVER, NO, NO])]
#[case::no_node_has_the_rack_label(
    P::new("p").label("foo", "").hard(1, "rack", foo()),
    vec![N::zoned("node-a", "zone1"), N::zoned("node-x", "zone2")], vec![], vec![NEVER, NEVER])]
#[case::nodes_at_2_1_0_3_only_the_empty_one_fits(
    P::new("p").label("foo", "").hard(1, "node", foo()), four_nodes(),
    foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)]), vec![NO, NO, OK, NO])]
#[case::nodes_at_2_1_0_3_with_max_skew_2(
    P::new("p").label("foo", "").hard(2, "node", foo()), four_nodes(),
    foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)]), vec![NO, OK, OK, NO])]
#[case::nodes_at_2_1_0_3_and_the_pod_does_not_match_itself(
    P::new("p").label("bar", "").hard(1, "node", foo()), four_nodes(),
    foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)]), vec![NO, OK, OK, NO])]
#[case::node_affinity_leaves_out_domains(
    P::new("p").label("foo", "").node_affinity("node", "In", &["node-a", "node-y"]).hard(1, "node", foo()),
    four_nodes(), foo_pods(&[("node-a", 2), ("node-b", 1), ("node-y", 3)]), vec![OK, OK, OK, NO])]
#[case::terminating_pods_do_not_count(
    P::new("p").label("foo", "").hard(1, "node", foo()),
    vec![N::new("node-a").label("node", "node-a"), N::new("node-b").label("node", "node-b")],
    vec![foo_on("p-a", "node-a").terminating(), foo_on("p-b", "node-b")], vec![OK, NO])]
#[case::node_affinity_not_in_leaves_out_a_node(
    P::new("p").label("foo", "").node_affinity("node", "NotIn", &["node-b"]).hard(1, "zone", foo()),
    four_nodes(), foo_pods(&[("node-b", 2), ("node-y", 1)]), vec![OK, OK, NO, NO])]
#[case::fewer_domains_than_min_domains_makes_the_minimum_zero(
    P::new("p").label("foo", "").spread(2, "node", "DoNotSchedule", foo(), json!({ "minDomains": 4 })),
    vec![N::new("node-a").label("node", "node-a"), N::new("node-b").label("node", "node-b"), N::new("node-c").label("node", "node-c")],
    foo_pods(&[("node-a", 2), ("node-b", 2), ("node-c", 1)]), vec![NO, NO, OK])]
#[case::more_domains_than_min_domains(
    P::new("p").label("foo", "").spread(2, "node", "DoNotSchedule", foo(), json!({ "minDomains": 2 })),
    vec![N::new("node-a").label("node", "node-a"), N::new("node-b").label("node", "node-b"), N::new("node-c").label("node", "node-c")],
    foo_pods(&[("node-a", 2), ("node-b", 2), ("node-c", 1)]), vec![OK, OK, OK])]
#[case::zones_fewer_than_min_domains(
    P::new("p").label("foo", "").spread(2, "zone", "DoNotSchedule", foo(), json!({ "minDomains": 3 })),
    four_nodes(), foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]), vec![NO, NO, OK, OK])]
#[case::zones_more_than_min_domains(
    P::new("p").label("foo", "").spread(2, "zone", "DoNotSchedule", foo(), json!({ "minDomains": 1 })),
    four_nodes(), foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]), vec![OK, OK, OK, OK])]
#[case::node_affinity_policy_honored_with_a_node_selector(
    P::new("p").label("foo", "").node_selector("foo", "").hard(1, "node", foo()),
    vec![N::new("node-a").label("node", "node-a").label("foo", ""), N::new("node-b").label("node", "node-b").label("foo", ""),
         N::new("node-x").label("node", "node-x").label("foo", ""), N::new("node-y").label("node", "node-y")],
    foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]), vec![NO, NO, OK, OK])]
#[case::node_affinity_policy_ignored_with_a_node_selector(
    P::new("p").label("foo", "").node_selector("foo", "")
        .spread(1, "node", "DoNotSchedule", foo(), json!({ "nodeAffinityPolicy": "Ignore" })),
    vec![N::new("node-a").label("node", "node-a").label("foo", ""), N::new("node-b").label("node", "node-b").label("foo", ""),
         N::new("node-x").label("node", "node-x").label("foo", ""), N::new("node-y").label("node", "node-y")],
    foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]), vec![NO, NO, OK, NO])]
#[case::node_affinity_policy_honored_with_node_affinity(
    P::new("p").label("foo", "").node_affinity("foo", "In", &[""]).hard(1, "node", foo()),
    vec![N::new("node-a").label("node", "node-a").label("foo", ""), N::new("node-b").label("node", "node-b").label("foo", ""),
         N::new("node-x").label("node", "node-x").label("foo", ""), N::new("node-y").label("node", "node-y")],
    foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]), vec![NO, NO, OK, OK])]
#[case::node_taints_policy_honored(
    P::new("p").label("foo", "").spread(1, "node", "DoNotSchedule", foo(), json!({ "nodeTaintsPolicy": "Honor" })),
    vec![N::new("node-a").label("node", "node-a"), N::new("node-b").label("node", "node-b"),
         N::new("node-x").label("node", "node-x"), N::new("node-y").label("node", "node-y").unschedulable_taint()],
    foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]), vec![NO, NO, OK, OK])]
#[case::node_taints_policy_ignored(
    P::new("p").label("foo", "").hard(1, "node", foo()),
    vec![N::new("node-a").label("node", "node-a"), N::new("node-b").label("node", "node-b"),
         N::new("node-x").label("node", "node-x"), N::new("node-y").label("node", "node-y").unschedulable_taint()],
    foo_pods(&[("node-a", 1), ("node-b", 1), ("node-y", 1)]), vec![NO, NO, OK, NO])]
#[case::two_constraints_both_must_hold(
    P::new("p").label("foo", "").hard(1, "zone", foo()).hard(1, "node", foo()), four_nodes(),
    foo_pods(&[("node-a", 1), ("node-y", 2)]), vec![NO, OK, NO, NO])]
#[case::two_constraints_with_different_selectors(
    P::new("p").label("foo", "").label("bar", "").hard(1, "zone", foo()).hard(1, "node", bar()),
    four_nodes(),
    vec![foo_on("p-a1", "node-a"), P::new("p-b1").label("bar", "").node("node-b"),
         foo_on("p-y1", "node-y"), P::new("p-y2").label("bar", "").node("node-y")],
    vec![OK, NO, OK, NO])]
fn filter_codes(
    #[case] incoming: P,
    #[case] nodes: Vec<N>,
    #[case] pods: Vec<P>,
    #[case] want: Vec<Code>,
) {
    let snap = cluster(nodes, pods);
    let pl = list_plugin();
    let p = incoming.info();
    let mut state = CycleState::new();
    let (_, pre) = pl.pre_filter(&mut state, &p, &snap);
    assert!(pre.is_success(), "PreFilter: {pre:?}");
    let got: Vec<Code> = snap
        .nodes
        .iter()
        .map(|n| pl.filter(&state, &p, n).code())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn filter_reasons_are_upstreams() {
    let snap = cluster(
        vec![
            N::zoned("node-a", "zone1"),
            N::new("node-b").label("node", "node-b"),
            N::zoned("node-c", "zone1"),
        ],
        foo_pods(&[("node-a", 2)]),
    );
    let pl = list_plugin();
    let p = P::new("p")
        .label("foo", "")
        .hard(1, "node", foo())
        .hard(1, "zone", foo())
        .info();
    let mut state = CycleState::new();
    let _ = pl.pre_filter(&mut state, &p, &snap);
    assert_eq!(
        pl.filter(&state, &p, &snap.nodes[0]).message(),
        "node(s) didn't match pod topology spread constraints"
    );
    assert_eq!(
        pl.filter(&state, &p, &snap.nodes[1]).message(),
        "node(s) didn't match pod topology spread constraints (missing required label)"
    );
}

/// Upstream `TestPreFilterStateAddPod`/`RemovePod`: preemption's dry run on one node moves
/// that domain's count and the critical paths; pods of other namespaces, or not selected, or
/// on nodes lacking a key, change nothing.
#[test]
fn add_and_remove_pod_move_the_counts_and_critical_paths() {
    let snap = cluster(
        four_nodes(),
        foo_pods(&[("node-a", 1), ("node-b", 1), ("node-x", 2), ("node-y", 2)]),
    );
    let pl = list_plugin();
    let p = P::new("p").label("foo", "").hard(1, "zone", foo()).info();
    let mut state = CycleState::new();
    let _ = pl.pre_filter(&mut state, &p, &snap);
    let zone1_node = &snap.nodes[0];
    let victim = snap.nodes[2].pods[0].clone();
    let read = |s: &CycleState| {
        let st = s.read::<PreFilterState>().unwrap();
        (counts(st, 0), paths(st, 0))
    };
    assert_eq!(
        read(&state),
        (
            pairs(&[("zone1", 2), ("zone2", 4)]),
            pairs(&[("zone1", 2), ("zone2", 4)])
        )
    );

    let mut dry = state.clone();
    assert!(
        pl.remove_pod(&mut dry, &p, &victim, &snap.nodes[2])
            .is_success()
    );
    assert!(
        pl.remove_pod(&mut dry, &p, &victim, &snap.nodes[3])
            .is_success()
    );
    assert!(
        pl.remove_pod(&mut dry, &p, &victim, &snap.nodes[3])
            .is_success()
    );
    assert_eq!(
        read(&dry),
        (
            pairs(&[("zone1", 2), ("zone2", 1)]),
            pairs(&[("zone2", 1), ("zone1", 2)])
        )
    );
    assert_eq!(read(&state).0, pairs(&[("zone1", 2), ("zone2", 4)]));

    let other_ns = foo_on("o", "node-a").ns("ns1").info();
    let unselected = P::new("u").node("node-a").info();
    assert!(pl.add_pod(&mut dry, &p, &other_ns, zone1_node).is_success());
    assert!(
        pl.add_pod(&mut dry, &p, &unselected, zone1_node)
            .is_success()
    );
    assert_eq!(read(&dry).0, pairs(&[("zone1", 2), ("zone2", 1)]));
    let added = foo_on("n", "node-a").info();
    assert!(pl.add_pod(&mut dry, &p, &added, zone1_node).is_success());
    assert_eq!(read(&dry).0, pairs(&[("zone1", 3), ("zone2", 1)]));
}

#[test]
fn filter_without_prefilter_is_an_error() {
    let snap = cluster(four_nodes(), vec![]);
    let p = P::new("p").info();
    let s = list_plugin().filter(&CycleState::new(), &p, &snap.nodes[0]);
    assert_eq!(s.code(), Code::Error);
    assert_eq!(
        s.message(),
        "error reading \"PreFilterPodTopologySpread\" from cycleState: not found"
    );
}

/// The counts PreFilter keeps across cycles equal a fresh plugin's full count after every
/// change the cache makes: pods bound, assumed and forgotten (a failed binding), deleted, a
/// node relabelled into another zone and a node deleted.
#[test]
fn kept_counts_match_a_full_recount_through_assume_forget_and_removal() {
    use crate::scheduler::cache::Cache;
    use crate::scheduler::framework::testing::stored;

    let cache = Cache::new();
    for n in four_nodes() {
        cache.set_node(stored(&n.v)).unwrap();
    }
    for p in foo_pods(&[("node-a", 2), ("node-b", 1), ("node-x", 1)]) {
        cache.set_pod(p.info());
    }
    let kept = list_plugin();
    let incoming = || {
        P::new("p")
            .label("foo", "")
            .hard(1, "zone", foo())
            .hard(1, "node", foo())
            .info()
    };
    let mut snap = Snapshot::default();
    let check = |snap: &Snapshot, what: &str| {
        let got = kept.pre_filter_state(&incoming(), snap).unwrap().unwrap();
        let want = list_plugin()
            .pre_filter_state(&incoming(), snap)
            .unwrap()
            .unwrap();
        for i in 0..2 {
            assert_eq!(counts(&got, i), counts(&want, i), "{what}: counts of {i}");
            assert_eq!(
                got.critical_paths[i].min(),
                want.critical_paths[i].min(),
                "{what}: minimum of {i}"
            );
            assert_eq!(got.domains_num[i], want.domains_num[i], "{what}: domains");
        }
        got
    };
    cache.update_snapshot(&mut snap);
    let s = check(&snap, "initial");
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 3), ("zone2", 1)]));

    let assumed = foo_on("assumed", "node-y").info();
    cache.assume(assumed.clone(), "node-y").unwrap();
    cache.update_snapshot(&mut snap);
    let s = check(&snap, "assumed");
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 3), ("zone2", 2)]));

    cache.forget(&assumed.uid);
    cache.update_snapshot(&mut snap);
    let s = check(&snap, "forgotten");
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 3), ("zone2", 1)]));

    cache.remove_pod("p-node-a-1");
    cache.update_snapshot(&mut snap);
    let s = check(&snap, "pod deleted");
    assert_eq!(counts(&s, 0), pairs(&[("zone1", 2), ("zone2", 1)]));

    cache
        .set_node(stored(&N::zoned("node-b", "zone3").v))
        .unwrap();
    cache.update_snapshot(&mut snap);
    let s = check(&snap, "node relabelled");
    assert_eq!(
        counts(&s, 0),
        pairs(&[("zone1", 1), ("zone2", 1), ("zone3", 1)])
    );

    cache.remove_node("node-x");
    cache.update_snapshot(&mut snap);
    let s = check(&snap, "node deleted");
    assert_eq!(
        counts(&s, 0),
        pairs(&[("zone1", 1), ("zone2", 0), ("zone3", 1)])
    );
    // Another snapshot of other nodes: nothing of the first is counted.
    let other = cluster(vec![N::zoned("node-q", "zone9")], vec![]);
    let s = check(&other, "another snapshot");
    assert_eq!(counts(&s, 0), pairs(&[("zone9", 0)]));
}
