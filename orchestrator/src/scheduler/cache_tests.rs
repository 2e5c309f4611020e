//! The cache's tests: assume / confirm / forget, snapshots copying only what changed, the
//! NodeTree's zone round-robin order, and heartbeats that change nothing.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::scheduler::framework::testing::{pod, simple_node, simple_pod, stored};

fn node(name: &str, zone: &str) -> Arc<Stored> {
    let mut v = simple_node(name, "4", "8Gi", &[]);
    if !zone.is_empty() {
        v["metadata"]["labels"]["topology.kubernetes.io/zone"] = json!(zone);
    }
    stored(&v)
}

fn bound(name: &str, node: &str, cpu: &str) -> Arc<PodInfo> {
    let mut v = simple_pod(name, cpu, "");
    v["spec"]["nodeName"] = json!(node);
    pod(v)
}

fn names(s: &Snapshot) -> Vec<&str> {
    s.nodes.iter().map(|n| n.name.as_str()).collect()
}

#[test]
fn nodes_are_listed_round_robin_across_zones_in_first_seen_order() {
    let c = Cache::new();
    for (n, z) in [
        ("a1", "a"),
        ("a2", "a"),
        ("a3", "a"),
        ("b1", "b"),
        ("c1", "c"),
        ("b2", "b"),
    ] {
        c.set_node(node(n, z)).unwrap();
    }
    let mut s = Snapshot::default();
    c.update_snapshot(&mut s);
    assert_eq!(names(&s), ["a1", "b1", "c1", "a2", "b2", "a3"]);
    assert_eq!(s.get("c1").unwrap().name, "c1");
    c.remove_node("b1");
    c.update_snapshot(&mut s);
    assert_eq!(names(&s), ["a1", "b2", "c1", "a2", "a3"]);
    assert!(s.get("b1").is_none());
}

#[test]
fn an_assumed_pod_is_seen_by_the_next_snapshot_and_a_forgotten_one_is_rolled_back() {
    let c = Cache::new();
    c.set_node(node("n1", "")).unwrap();
    let mut s = Snapshot::default();
    c.update_snapshot(&mut s);
    let p = pod(simple_pod("p", "1", ""));
    c.assume(p.clone(), "n1").unwrap();
    assert!(c.is_assumed(&p.uid));
    c.update_snapshot(&mut s);
    assert_eq!(s.get("n1").unwrap().requested.milli_cpu, 1000);
    assert!(c.assume(p.clone(), "n1").is_err(), "a pod is assumed once");
    c.forget(&p.uid);
    assert!(!c.is_assumed(&p.uid));
    c.update_snapshot(&mut s);
    assert_eq!(s.get("n1").unwrap().requested.milli_cpu, 0);
    assert_eq!(s.get("n1").unwrap().pods.len(), 0);
}

#[test]
fn the_bind_event_confirms_an_assumed_pod_and_forget_then_leaves_it() {
    let c = Cache::new();
    c.set_node(node("n1", "")).unwrap();
    let p = pod(simple_pod("p", "500m", ""));
    c.assume(p.clone(), "n1").unwrap();
    c.set_pod(bound("p", "n1", "500m"));
    assert!(!c.is_assumed(&p.uid));
    c.forget(&p.uid);
    let mut s = Snapshot::default();
    c.update_snapshot(&mut s);
    let n1 = s.get("n1").unwrap();
    assert_eq!(n1.pods.len(), 1, "confirmed once, not twice");
    assert_eq!(n1.requested.milli_cpu, 500);
    c.remove_pod(&p.uid);
    c.update_snapshot(&mut s);
    assert_eq!(s.get("n1").unwrap().requested.milli_cpu, 0);
}

#[test]
fn a_snapshot_copies_only_the_nodes_that_changed() {
    let c = Cache::new();
    for n in ["n1", "n2", "n3"] {
        c.set_node(node(n, "")).unwrap();
    }
    let mut s = Snapshot::default();
    c.update_snapshot(&mut s);
    let before: Vec<Arc<NodeInfo>> = s.nodes.clone();
    c.set_pod(bound("p", "n2", "100m"));
    c.update_snapshot(&mut s);
    assert!(Arc::ptr_eq(&before[0], &s.nodes[0]), "n1 untouched");
    assert!(Arc::ptr_eq(&before[2], &s.nodes[2]), "n3 untouched");
    assert!(!Arc::ptr_eq(&before[1], &s.nodes[1]), "n2 copied");
    assert_eq!(
        before[1].pods.len(),
        0,
        "the old snapshot's node is not changed"
    );
    assert_eq!(s.nodes[1].pods.len(), 1);
    assert!(s.nodes[1].generation > before[1].generation);
    assert_eq!(s.generation, s.nodes[1].generation);
}

#[test]
fn a_heartbeat_changes_nothing_and_a_label_change_is_an_update() {
    let c = Cache::new();
    assert_eq!(c.set_node(node("n1", "")).unwrap(), Some(ActionType::ADD));
    let mut beat = simple_node("n1", "4", "8Gi", &[]);
    beat["status"]["conditions"] =
        json!([{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"}]);
    assert_eq!(c.set_node(stored(&beat)).unwrap(), None);
    let relabelled = simple_node("n1", "4", "8Gi", &[("disk", "ssd")]);
    assert_eq!(
        c.set_node(stored(&relabelled)).unwrap(),
        Some(ActionType::UPDATE_NODE_LABEL)
    );
}

#[test]
fn pods_on_an_unknown_node_wait_for_it_outside_the_node_list() {
    let c = Cache::new();
    c.set_pod(bound("early", "later", "1"));
    let mut s = Snapshot::default();
    c.update_snapshot(&mut s);
    assert!(s.is_empty());
    c.set_node(node("later", "")).unwrap();
    c.update_snapshot(&mut s);
    assert_eq!(s.get("later").unwrap().requested.milli_cpu, 1000);
    assert_eq!(c.size().pods, 1);
}

#[test]
fn pods_with_affinity_are_listed_once_their_node_changes() {
    let c = Cache::new();
    c.set_node(node("n1", "")).unwrap();
    c.set_node(node("n2", "")).unwrap();
    let mut s = Snapshot::default();
    c.update_snapshot(&mut s);
    assert!(s.with_required_anti_affinity.is_empty());
    let mut v = simple_pod("anti", "", "");
    v["spec"]["nodeName"] = json!("n2");
    v["spec"]["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]}});
    c.set_pod(pod(v));
    c.update_snapshot(&mut s);
    let listed: Vec<&str> = s
        .nodes_with_required_anti_affinity()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(listed, ["n2"]);
}

#[test]
fn images_count_the_nodes_that_have_them() {
    let c = Cache::new();
    for n in ["n1", "n2"] {
        let mut v = simple_node(n, "1", "1Gi", &[]);
        v["status"]["images"] = json!([{"names": ["img:1"], "sizeBytes": 1000}]);
        c.set_node(stored(&v)).unwrap();
    }
    let mut s = Snapshot::default();
    c.update_snapshot(&mut s);
    assert_eq!(s.get("n2").unwrap().images["img:1"].num_nodes, 2);
}
