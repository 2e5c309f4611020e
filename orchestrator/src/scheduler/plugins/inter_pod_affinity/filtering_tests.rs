//! InterPodAffinity PreFilter/Filter cases, from upstream's `filtering_test.go` tables
//! (`TestRequiredAffinitySingleNode`, `TestRequiredAffinityMultipleNodes`,
//! `TestPreFilterStateAddRemovePod`), with the same pods, nodes and expected statuses.

use std::sync::Arc;

use rstest::rstest;
use serde_json::{Value, json};

use super::*;
use crate::scheduler::framework::testing::{node, pod, snapshot};
use crate::scheduler::framework::{Code, CycleState, NodeInfo, PodInfo, Snapshot, Status};

pub(super) const AFF: &str = ERR_REASON_AFFINITY_RULES_NOT_MATCH;
pub(super) const ANTI: &str = ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH;
pub(super) const EXISTING: &str = ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH;

/// A `PodAffinityTerm` selecting `key <op> values` over `topology`.
pub(super) fn term(key: &str, op: &str, values: &[&str], topology: &str) -> Value {
    let mut expr = json!({ "key": key, "operator": op });
    if !values.is_empty() {
        expr["values"] = json!(values);
    }
    json!({ "labelSelector": { "matchExpressions": [expr] }, "topologyKey": topology })
}

/// A pod in `ns` (default: `default`) with labels, an optional node and required terms.
#[derive(Clone)]
pub(super) struct P {
    pub v: Value,
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
    fn push(mut self, kind: &str, field: &str, item: Value) -> Self {
        let list = &mut self.v["spec"]["affinity"][kind][field];
        if list.is_null() {
            *list = json!([]);
        }
        list.as_array_mut().unwrap().push(item);
        self
    }
    pub(super) fn affinity(self, t: Value) -> Self {
        self.push(
            "podAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            t,
        )
    }
    pub(super) fn anti(self, t: Value) -> Self {
        self.push(
            "podAntiAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            t,
        )
    }
    pub(super) fn pref_affinity(self, weight: i32, t: Value) -> Self {
        self.push(
            "podAffinity",
            "preferredDuringSchedulingIgnoredDuringExecution",
            json!({ "weight": weight, "podAffinityTerm": t }),
        )
    }
    pub(super) fn pref_anti(self, weight: i32, t: Value) -> Self {
        self.push(
            "podAntiAffinity",
            "preferredDuringSchedulingIgnoredDuringExecution",
            json!({ "weight": weight, "podAffinityTerm": t }),
        )
    }
    pub(super) fn info(self) -> Arc<PodInfo> {
        pod(self.v)
    }
}

/// A node named `name` with these labels.
pub(super) fn n(name: &str, labels: &[(&str, &str)]) -> (String, Value) {
    let l: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    (
        name.to_string(),
        json!({ "apiVersion": "v1", "kind": "Node", "metadata": { "name": name, "labels": l } }),
    )
}

/// Nodes with the pods that name them.
pub(super) fn cluster(nodes: &[(String, Value)], pods: &[Arc<PodInfo>]) -> Snapshot {
    snapshot(
        nodes
            .iter()
            .map(|(name, v)| {
                let on: Vec<_> = pods
                    .iter()
                    .filter(|p| &p.node_name == name)
                    .cloned()
                    .collect();
                node(v.clone(), &on)
            })
            .collect(),
    )
}

/// A handle whose store has upstream's test namespaces (`team` labels).
pub(super) fn handle() -> Handle {
    let h = Handle::in_memory();
    for (ns, team) in [
        ("default", ""),
        ("subteam1.team1", "team1"),
        ("subteam2.team1", "team1"),
        ("subteam1.team2", "team2"),
        ("subteam2.team2", "team2"),
    ] {
        let mut obj =
            json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
        if !team.is_empty() {
            obj["metadata"]["labels"] = json!({ "team": team });
        }
        h.objects()
            .store()
            .create("namespaces", "", ns, obj)
            .expect("namespace created");
    }
    h
}

pub(super) fn plugin() -> InterPodAffinity {
    InterPodAffinity::new(InterPodAffinityArgs::default(), handle())
}

fn expect(code: Code, reason: &str) -> Status {
    Status::new(code, reason.to_string())
}

/// PreFilter's status, and each node's Filter status when PreFilter succeeded.
fn run(incoming: P, pods: Vec<P>, nodes: &[(String, Value)]) -> (Status, Vec<Status>) {
    let pods: Vec<_> = pods.into_iter().map(P::info).collect();
    let snap = cluster(nodes, &pods);
    let pl = plugin();
    let p = incoming.info();
    let mut state = CycleState::new();
    let (_, pre) = pl.pre_filter(&mut state, &p, &snap);
    if !pre.is_success() {
        return (pre, vec![]);
    }
    let filtered = snap
        .nodes
        .iter()
        .map(|n| pl.filter(&state, &p, n))
        .collect();
    (pre, filtered)
}

fn node1() -> Vec<(String, Value)> {
    vec![n("node1", &[("region", "r1"), ("zone", "z11")])]
}

fn existing_securityscan() -> P {
    P::new("existing")
        .label("service", "securityscan")
        .node("node1")
}

#[rstest]
#[case::no_required_rules_on_an_empty_node(P::new("p"), vec![], None)]
#[case::affinity_in_matches_the_existing_pod(
    P::new("p").label("security", "S1").affinity(term("service", "In", &["securityscan", "value2"], "region")),
    vec![existing_securityscan()], Some(Status::success()))]
#[case::affinity_not_in_matches_the_existing_pod(
    P::new("p").label("security", "S1").affinity(term("service", "NotIn", &["securityscan3", "value3"], "region")),
    vec![existing_securityscan()], Some(Status::success()))]
#[case::affinity_in_another_namespace_does_not_match(
    P::new("p").label("security", "S1").affinity({
        let mut t = term("service", "In", &["securityscan", "value2"], "");
        t["namespaces"] = json!(["DiffNameSpace"]);
        t
    }),
    vec![P::new("e").ns("ns").label("service", "securityscan").node("node1")],
    Some(expect(Code::UnschedulableAndUnresolvable, AFF)))]
#[case::affinity_selector_does_not_match(
    P::new("p").label("service", "securityscan").affinity(term("service", "In", &["antivirusscan", "value2"], "")),
    vec![existing_securityscan()],
    Some(expect(Code::UnschedulableAndUnresolvable, AFF)))]
#[case::several_terms_with_different_operators_all_match(
    P::new("p").label("security", "S1")
        .affinity(json!({ "labelSelector": { "matchExpressions": [
            { "key": "service", "operator": "Exists" }, { "key": "wrongkey", "operator": "DoesNotExist" } ] },
            "topologyKey": "region" }))
        .affinity(json!({ "labelSelector": { "matchExpressions": [
            { "key": "service", "operator": "In", "values": ["securityscan"] },
            { "key": "service", "operator": "NotIn", "values": ["WrongValue"] } ] },
            "topologyKey": "region" })),
    vec![existing_securityscan()], Some(Status::success()))]
#[case::requirements_are_anded_and_one_fails(
    P::new("p").label("security", "S1")
        .affinity(json!({ "labelSelector": { "matchExpressions": [
            { "key": "service", "operator": "Exists" }, { "key": "wrongkey", "operator": "DoesNotExist" } ] },
            "topologyKey": "region" }))
        .affinity(json!({ "labelSelector": { "matchExpressions": [
            { "key": "service", "operator": "In", "values": ["securityscan2"] },
            { "key": "service", "operator": "NotIn", "values": ["WrongValue"] } ] },
            "topologyKey": "region" })),
    vec![existing_securityscan()],
    Some(expect(Code::UnschedulableAndUnresolvable, AFF)))]
#[case::affinity_and_anti_affinity_both_satisfied(
    P::new("p").label("security", "S1")
        .affinity(term("service", "In", &["securityscan", "value2"], "region"))
        .anti(term("service", "In", &["antivirusscan", "value2"], "node")),
    vec![existing_securityscan()], Some(Status::success()))]
#[case::symmetry_satisfied(
    P::new("p").label("security", "S1")
        .affinity(term("service", "In", &["securityscan", "value2"], "region"))
        .anti(term("service", "In", &["antivirusscan", "value2"], "node")),
    vec![existing_securityscan().anti(term("service", "In", &["antivirusscan", "value2"], "node"))],
    Some(Status::success()))]
#[case::affinity_satisfied_but_anti_affinity_not(
    P::new("p").label("security", "S1")
        .affinity(term("service", "In", &["securityscan", "value2"], "region"))
        .anti(term("service", "In", &["securityscan", "value2"], "zone")),
    vec![existing_securityscan()], Some(expect(Code::Unschedulable, ANTI)))]
#[case::existing_pods_anti_affinity_symmetry_not_satisfied(
    P::new("p").label("service", "securityscan")
        .affinity(term("service", "In", &["securityscan", "value2"], "region"))
        .anti(term("service", "In", &["antivirusscan", "value2"], "node")),
    vec![existing_securityscan().anti(term("service", "In", &["securityscan", "value2"], "zone"))],
    Some(expect(Code::Unschedulable, EXISTING)))]
#[case::pod_matching_its_own_term_is_not_first_when_no_node_has_the_domain(
    P::new("p").label("service", "securityscan")
        .affinity(term("service", "NotIn", &["securityscan", "value2"], "region")),
    vec![P::new("e").label("service", "securityscan").node("node2")],
    Some(expect(Code::UnschedulableAndUnresolvable, AFF)))]
#[case::existing_anti_affinity_applies_to_a_pod_without_terms(
    P::new("p").label("service", "securityscan"),
    vec![existing_securityscan().anti(term("service", "In", &["securityscan", "value2"], "zone"))],
    Some(expect(Code::Unschedulable, EXISTING)))]
#[case::existing_anti_affinity_not_matching_skips(
    P::new("p").label("service", "securityscan"),
    vec![existing_securityscan().anti(term("service", "NotIn", &["securityscan", "value2"], "zone"))],
    None)]
#[case::incoming_anti_affinity_term_matches_existing_pod(
    P::new("p").label("service", "securityscan")
        .anti(term("service", "Exists", &[], "region"))
        .anti(term("security", "Exists", &[], "region")),
    vec![P::new("e").label("security", "S1").node("node1").anti(term("security", "Exists", &[], "zone"))],
    Some(expect(Code::Unschedulable, ANTI)))]
#[case::symmetry_a1(
    P::new("p").label("service", "securityscan")
        .anti(term("service", "Exists", &[], "zone"))
        .anti(term("security", "Exists", &[], "zone")),
    vec![P::new("e").label("security", "S1").node("node1").anti(term("security", "Exists", &[], "zone"))],
    Some(expect(Code::Unschedulable, ANTI)))]
#[case::symmetry_a2(
    P::new("p").label("security", "S1").anti(term("security", "Exists", &[], "zone")),
    vec![P::new("e").label("service", "securityscan").node("node1")
        .anti(term("service", "Exists", &[], "zone"))
        .anti(term("security", "Exists", &[], "zone"))],
    Some(expect(Code::Unschedulable, EXISTING)))]
#[case::symmetry_b1(
    P::new("p").label("abc", "").label("xyz", "")
        .anti(term("abc", "Exists", &[], "zone"))
        .anti(term("def", "Exists", &[], "zone")),
    vec![P::new("e").label("def", "").label("xyz", "").node("node1")
        .anti(term("abc", "Exists", &[], "zone"))
        .anti(term("def", "Exists", &[], "zone"))],
    Some(expect(Code::Unschedulable, ANTI)))]
#[case::symmetry_b2(
    P::new("p").label("def", "").label("xyz", "")
        .anti(term("abc", "Exists", &[], "zone"))
        .anti(term("def", "Exists", &[], "zone")),
    vec![P::new("e").label("abc", "").label("xyz", "").node("node1")
        .anti(term("abc", "Exists", &[], "zone"))
        .anti(term("def", "Exists", &[], "zone"))],
    Some(expect(Code::Unschedulable, ANTI)))]
#[case::affinity_with_namespace_selector(
    P::new("p").label("security", "S1").affinity(ns_selected(term("service", "In", &["securityscan", "value2"], "region"))),
    vec![P::new("e").ns("subteam1.team1").label("service", "securityscan").node("node1")],
    Some(Status::success()))]
#[case::affinity_with_non_matching_namespace_selector(
    P::new("p").label("security", "S1").affinity(ns_selected(term("service", "In", &["securityscan", "value2"], "region"))),
    vec![P::new("e").ns("subteam1.team2").label("service", "securityscan").node("node1")],
    Some(expect(Code::UnschedulableAndUnresolvable, AFF)))]
#[case::anti_affinity_with_matching_namespace_selector(
    P::new("p").ns("subteam1.team1").label("security", "S1").anti(ns_selected(term("service", "In", &["securityscan", "value2"], "zone"))),
    vec![P::new("e").ns("subteam2.team1").label("service", "securityscan").node("node1")],
    Some(expect(Code::Unschedulable, ANTI)))]
#[case::anti_affinity_with_an_all_namespaces_selector(
    P::new("p").ns("subteam1.team1").label("security", "S1").anti({
        let mut t = term("service", "In", &["securityscan", "value2"], "zone");
        t["namespaceSelector"] = json!({});
        t
    }),
    vec![P::new("e").ns("subteam2.team1").label("service", "securityscan").node("node1")],
    Some(expect(Code::Unschedulable, ANTI)))]
#[case::anti_affinity_with_non_matching_namespace_selector(
    P::new("p").ns("subteam1.team1").label("security", "S1").anti(ns_selected(term("service", "In", &["securityscan", "value2"], "zone"))),
    vec![P::new("e").ns("subteam1.team2").label("service", "securityscan").node("node1")],
    Some(Status::success()))]
fn required_affinity_on_a_single_node(
    #[case] incoming: P,
    #[case] pods: Vec<P>,
    #[case] want: Option<Status>,
) {
    let (pre, filtered) = run(incoming, pods, &node1());
    match want {
        None => assert_eq!(pre.code(), Code::Skip, "PreFilter skips"),
        Some(want) => {
            assert!(pre.is_success(), "PreFilter: {pre:?}");
            assert_eq!(filtered, vec![want]);
        }
    }
}

/// The term with a `team in (team1)` namespace selector.
fn ns_selected(mut t: Value) -> Value {
    t["namespaceSelector"] =
        json!({ "matchExpressions": [ { "key": "team", "operator": "In", "values": ["team1"] } ] });
    t
}

fn ok() -> Status {
    Status::success()
}

#[rstest]
#[case::all_nodes_sharing_the_domain_of_a_matching_pod(
    P::new("p").affinity(term("foo", "In", &["bar"], "region")),
    vec![P::new("p1").node("node1").label("foo", "bar")],
    vec![n("node1", &[("region", "China")]), n("node2", &[("region", "China"), ("az", "az1")]), n("node3", &[("region", "India")])],
    vec![ok(), ok(), expect(Code::UnschedulableAndUnresolvable, AFF)])]
#[case::the_first_pod_of_a_collection_may_go_anywhere(
    P::new("p").label("foo", "bar").label("service", "securityscan")
        .affinity(term("foo", "In", &["bar"], "zone"))
        .affinity(term("service", "In", &["securityscan"], "zone")),
    vec![P::new("p1").node("nodeA").label("foo", "bar")],
    vec![n("nodeA", &[("zone", "az1"), ("hostname", "h1")]), n("nodeB", &[("zone", "az2"), ("hostname", "h2")])],
    vec![ok(), ok()])]
#[case::the_first_pod_needs_the_topology_labels(
    P::new("p").label("foo", "bar").label("service", "securityscan")
        .affinity(term("foo", "In", &["bar"], "zone"))
        .affinity(term("service", "In", &["securityscan"], "zone")),
    vec![P::new("p1").node("nodeA").label("foo", "bar")],
    vec![n("nodeA", &[("zoneLabel", "az1"), ("hostname", "h1")]), n("nodeB", &[("zoneLabel", "az2"), ("hostname", "h2")])],
    vec![expect(Code::UnschedulableAndUnresolvable, AFF), expect(Code::UnschedulableAndUnresolvable, AFF)])]
#[case::anti_affinity_covers_the_whole_domain(
    P::new("p").anti(term("foo", "In", &["abc"], "region")),
    vec![P::new("p1").node("nodeA").label("foo", "abc")],
    vec![n("nodeA", &[("region", "r1"), ("hostname", "nodeA")]), n("nodeB", &[("region", "r1"), ("hostname", "nodeB")])],
    vec![expect(Code::Unschedulable, ANTI), expect(Code::Unschedulable, ANTI)])]
#[case::any_anti_affinity_term_suffices(
    P::new("p").anti(term("foo", "In", &["abc"], "region")).anti(term("service", "In", &["securityscan"], "zone")),
    vec![P::new("p1").node("nodeA").label("foo", "abc").label("service", "securityscan")],
    vec![n("nodeA", &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeA")]), n("nodeB", &[("region", "r1"), ("zone", "z2"), ("hostname", "nodeB")])],
    vec![expect(Code::Unschedulable, ANTI), expect(Code::Unschedulable, ANTI)])]
#[case::another_domain_is_free(
    P::new("p").anti(term("foo", "In", &["abc"], "region")),
    vec![P::new("p1").node("nodeA").label("foo", "abc")],
    vec![n("nodeA", &[("region", "China")]), n("nodeB", &[("region", "China"), ("az", "az1")]), n("nodeC", &[("region", "India")])],
    vec![expect(Code::Unschedulable, ANTI), expect(Code::Unschedulable, ANTI), ok()])]
#[case::an_existing_pods_term_in_another_namespace_does_not_apply(
    P::new("p").ns("NS1").label("foo", "123").anti(term("foo", "In", &["bar"], "region")),
    vec![P::new("p1").node("nodeA").ns("NS1").label("foo", "bar"),
         P::new("p2").node("nodeC").ns("NS2").anti(term("foo", "In", &["123"], "region"))],
    vec![n("nodeA", &[("region", "China")]), n("nodeB", &[("region", "China"), ("az", "az1")]), n("nodeC", &[("region", "India")])],
    vec![expect(Code::Unschedulable, ANTI), expect(Code::Unschedulable, ANTI), ok()])]
#[case::incoming_anti_affinity_needs_the_topology_key_on_the_node(
    P::new("p").anti(term("foo", "Exists", &[], "invalid-node-label")),
    vec![P::new("p1").node("nodeA").label("foo", "")],
    vec![n("nodeA", &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeA")]), n("nodeB", &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeB")])],
    vec![ok(), ok()])]
#[case::two_existing_terms_in_different_domains(
    P::new("p").label("foo", "").label("bar", ""),
    vec![P::new("p1").node("nodeA").anti(term("foo", "Exists", &[], "zone")),
         P::new("p2").node("nodeA").anti(term("bar", "Exists", &[], "region"))],
    vec![n("nodeA", &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeA")]), n("nodeB", &[("region", "r1"), ("zone", "z2"), ("hostname", "nodeB")])],
    vec![expect(Code::Unschedulable, EXISTING), expect(Code::Unschedulable, EXISTING)])]
fn required_affinity_over_several_nodes(
    #[case] incoming: P,
    #[case] pods: Vec<P>,
    #[case] nodes: Vec<(String, Value)>,
    #[case] want: Vec<Status>,
) {
    let (pre, filtered) = run(incoming, pods, &nodes);
    assert!(pre.is_success(), "PreFilter: {pre:?}");
    assert_eq!(filtered, want);
}

#[test]
fn an_existing_term_with_a_missing_topology_key_skips_prefilter() {
    let (pre, _) = run(
        P::new("p").label("foo", ""),
        vec![
            P::new("p1")
                .node("nodeA")
                .anti(term("foo", "Exists", &[], "invalid-node-label")),
        ],
        &[
            n("nodeA", &[("region", "r1"), ("zone", "z1")]),
            n("nodeB", &[("region", "r1"), ("zone", "z1")]),
        ],
    );
    assert_eq!(pre.code(), Code::Skip);
}

#[test]
fn filter_without_prefilter_is_an_error() {
    let pl = plugin();
    let p = P::new("p").info();
    let nodes = node1();
    let snap = cluster(&nodes, &[]);
    let s = pl.filter(&CycleState::new(), &p, &snap.nodes[0]);
    assert_eq!(s.code(), Code::Error);
    assert_eq!(
        s.message(),
        "error reading \"PreFilterInterPodAffinity\" from cycleState: not found"
    );
}

/// Preemption's dry run: removing the pod that blocks a node must make it fit, and adding it
/// back must restore the original verdict (upstream `TestPreFilterStateAddRemovePod`).
#[rstest]
#[case::incoming_anti_affinity(
    P::new("p").label("service", "securityscan").anti(term("foo", "In", &["bar"], "region")),
    P::new("victim").node("nodeA").label("foo", "bar"),
    ANTI)]
#[case::existing_pods_anti_affinity(
    P::new("p").label("foo", "bar"),
    P::new("victim").node("nodeA").anti(term("foo", "In", &["bar"], "zone")),
    EXISTING)]
fn add_and_remove_pod_adjust_the_counts(
    #[case] incoming: P,
    #[case] victim: P,
    #[case] reason: &str,
) {
    let nodes = [
        n("nodeA", &[("region", "r1"), ("zone", "z1")]),
        n("nodeB", &[("region", "r1"), ("zone", "z1")]),
    ];
    let victim = victim.info();
    let snap = cluster(&nodes, std::slice::from_ref(&victim));
    let pl = plugin();
    let p = incoming.info();
    let mut state = CycleState::new();
    let (_, pre) = pl.pre_filter(&mut state, &p, &snap);
    assert!(pre.is_success());
    let node_a: &NodeInfo = &snap.nodes[0];
    assert_eq!(pl.filter(&state, &p, node_a).message(), reason);

    let mut without = state.clone();
    assert!(
        pl.remove_pod(&mut without, &p, &victim, node_a)
            .is_success()
    );
    assert!(pl.filter(&without, &p, &snap.nodes[1]).is_success());
    assert!(
        pl.filter(&state, &p, &snap.nodes[1]).is_rejected(),
        "the original state is untouched"
    );

    assert!(pl.add_pod(&mut without, &p, &victim, node_a).is_success());
    assert_eq!(pl.filter(&without, &p, node_a).message(), reason);
}

/// Counts as sorted (key, value, count) triples, so kept and fresh counts compare whatever
/// order their keys were first seen in.
fn flat(c: &super::counts::TopologyCounts) -> Vec<(String, String, i64)> {
    let mut v: Vec<_> = c
        .iter()
        .flat_map(|(k, m)| m.iter().map(move |(v, n)| (k.to_string(), v.clone(), *n)))
        .collect();
    v.sort();
    v
}

/// The counts PreFilter and PreScore keep across cycles equal a fresh plugin's full count after
/// every change the cache makes: pods bound, assumed and forgotten (a failed binding), deleted,
/// a node relabelled and a node deleted.
#[test]
fn kept_counts_match_a_full_recount_through_assume_forget_and_removal() {
    use super::filtering::PreFilterState;
    use super::scoring::PreScoreState;
    use crate::scheduler::cache::Cache;
    use crate::scheduler::framework::testing::stored;

    let zone = "topology.kubernetes.io/zone";
    let host = "kubernetes.io/hostname";
    let nodes: Vec<_> = (0..4)
        .map(|i| {
            let name = format!("node-{i}");
            n(
                &name,
                &[(host, &name), (zone, if i < 2 { "z1" } else { "z2" })],
            )
        })
        .collect();
    let cache = Cache::new();
    for (_, v) in &nodes {
        cache.set_node(stored(v)).unwrap();
    }
    let green = |name: &str, node: &str| {
        P::new(name)
            .label("color", "green")
            .node(node)
            .anti(term("color", "In", &["green"], host))
            .pref_affinity(
                5,
                json!({ "labelSelector": { "matchLabels": { "color": "green" } },
                        "topologyKey": zone }),
            )
    };
    cache.set_pod(green("g0", "node-0").info());
    cache.set_pod(green("g1", "node-2").info());
    cache.set_pod(P::new("db").label("app", "db").node("node-3").info());
    let incoming = || {
        green("p", "")
            .affinity(term("app", "In", &["db"], zone))
            .info()
    };
    let kept = plugin();
    let states = |pl: &InterPodAffinity, snap: &Snapshot| {
        let mut state = CycleState::new();
        let (_, s) = pl.pre_filter(&mut state, &incoming(), snap);
        assert!(s.is_success(), "{s:?}");
        let s = pl.pre_score(&mut state, &incoming(), &snap.nodes, snap);
        assert!(s.is_success() || s.is_skip(), "{s:?}");
        let f = state.read::<PreFilterState>().unwrap();
        (
            flat(&f.existing_anti_affinity_counts),
            flat(&f.affinity_counts),
            flat(&f.anti_affinity_counts),
            state
                .read::<PreScoreState>()
                .map_or_else(Vec::new, |sc| flat(&sc.topology_score)),
        )
    };
    let mut snap = Snapshot::default();
    let check = |snap: &Snapshot, what: &str| {
        let got = states(&kept, snap);
        assert_eq!(got, states(&plugin(), snap), "{what}");
        got
    };
    let t = |k: &str, v: &str, n: i64| (k.to_string(), v.to_string(), n);
    cache.update_snapshot(&mut snap);
    let (existing, affinity, anti, score) = check(&snap, "initial");
    assert_eq!(existing, vec![t(host, "node-0", 1), t(host, "node-2", 1)]);
    assert_eq!(affinity, vec![t(zone, "z2", 1)]);
    assert_eq!(anti, existing);
    assert_eq!(score, vec![t(zone, "z1", 10), t(zone, "z2", 10)]);

    let assumed = green("assumed", "node-1").info();
    cache.assume(assumed.clone(), "node-1").unwrap();
    cache.update_snapshot(&mut snap);
    let (existing, _, _, score) = check(&snap, "assumed");
    assert_eq!(existing.len(), 3);
    assert_eq!(score, vec![t(zone, "z1", 20), t(zone, "z2", 10)]);

    cache.forget(&assumed.uid);
    cache.update_snapshot(&mut snap);
    let (existing, _, _, score) = check(&snap, "forgotten");
    assert_eq!(existing, vec![t(host, "node-0", 1), t(host, "node-2", 1)]);
    assert_eq!(score, vec![t(zone, "z1", 10), t(zone, "z2", 10)]);

    cache.remove_pod("g1");
    cache.update_snapshot(&mut snap);
    check(&snap, "pod deleted");

    let (_, relabelled) = n("node-3", &[(host, "node-3"), (zone, "z1")]);
    cache.set_node(stored(&relabelled)).unwrap();
    cache.update_snapshot(&mut snap);
    let (_, affinity, _, _) = check(&snap, "node relabelled");
    assert_eq!(affinity, vec![t(zone, "z1", 1)]);

    cache.remove_node("node-0");
    cache.update_snapshot(&mut snap);
    let (existing, _, _, _) = check(&snap, "node deleted");
    assert!(existing.is_empty());
}
