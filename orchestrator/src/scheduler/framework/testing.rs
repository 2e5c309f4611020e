//! Building pods, nodes and snapshots from JSON without a store, for plugin tests and the
//! criterion benchmarks of the hot path.

use std::sync::Arc;

use serde_json::Value;

use super::node_info::NodeInfo;
use super::pod_info::PodInfo;
use super::snapshot::Snapshot;
use crate::store::Stored;

/// A stored object as the store would hold it (revision 1; labels indexed; no field index).
pub fn stored(object: &Value) -> Arc<Stored> {
    let meta = &object["metadata"];
    let mut labels: Vec<(Box<str>, Box<str>)> = meta["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str().into(), v.as_str().unwrap_or("").into()))
        .collect();
    labels.sort();
    Arc::new(Stored {
        revision: 1,
        namespace: meta["namespace"].as_str().unwrap_or("").into(),
        name: meta["name"].as_str().unwrap_or("").into(),
        bytes: serde_json::to_vec(object)
            .expect("a JSON value serializes")
            .into(),
        labels: labels.into(),
        fields: Box::new([]),
    })
}

/// A pod from its JSON; `metadata.namespace` defaults to `default` and `metadata.uid` to the
/// name, so tests can write only what matters.
pub fn pod(mut object: Value) -> Arc<PodInfo> {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let meta = object["metadata"]
        .as_object_mut()
        .expect("a pod has metadata");
    meta.entry("namespace").or_insert_with(|| "default".into());
    meta.entry("uid").or_insert_with(|| name.into());
    let s = stored(&object);
    Arc::new(PodInfo::from_value(s, &object).expect("test pod parses"))
}

/// A node from its JSON, with these pods on it.
pub fn node(object: Value, pods: &[Arc<PodInfo>]) -> NodeInfo {
    let mut n = NodeInfo::from_node(stored(&object)).expect("test node parses");
    for p in pods {
        n.add_pod(p.clone());
    }
    n
}

/// A node named `name` with `cpu`/`memory` allocatable (`pods`: 110) and these labels.
pub fn simple_node(name: &str, cpu: &str, memory: &str, labels: &[(&str, &str)]) -> Value {
    let mut l = serde_json::Map::new();
    l.insert("kubernetes.io/hostname".into(), name.into());
    for (k, v) in labels {
        l.insert(k.to_string(), (*v).into());
    }
    serde_json::json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": { "name": name, "labels": l },
        "status": { "allocatable": { "cpu": cpu, "memory": memory, "pods": "110" } }
    })
}

/// A one-container pod requesting `cpu`/`memory` (either may be empty: no request).
pub fn simple_pod(name: &str, cpu: &str, memory: &str) -> Value {
    let mut requests = serde_json::Map::new();
    if !cpu.is_empty() {
        requests.insert("cpu".into(), cpu.into());
    }
    if !memory.is_empty() {
        requests.insert("memory".into(), memory.into());
    }
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": "default" },
        "spec": { "containers": [ { "name": "c", "image": "registry.k8s.io/pause:3.10",
                                     "resources": { "requests": requests } } ] }
    })
}

/// A snapshot of these nodes.
pub fn snapshot(nodes: Vec<NodeInfo>) -> Snapshot {
    Snapshot::from_nodes(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_parses_requests_defaults_and_ports() {
        let mut v = simple_pod("p", "500m", "");
        v["spec"]["containers"][0]["ports"] =
            serde_json::json!([{ "containerPort": 80, "hostPort": 8080 }]);
        v["spec"]["containers"][0]["resources"]["limits"] = serde_json::json!({ "memory": "1Gi" });
        let p = pod(v);
        assert_eq!(p.requests.milli_cpu, 500);
        assert_eq!(p.requests.memory, 1 << 30, "requests default to limits");
        assert_eq!(p.non_zero_requests.milli_cpu, 500);
        assert_eq!(p.scheduler_name, "default-scheduler");
        assert_eq!(p.host_ports.len(), 1);
        assert_eq!(p.host_ports[0].ip, "0.0.0.0");
        assert_eq!(p.host_ports[0].protocol, "TCP");
        let best_effort = pod(simple_pod("b", "", ""));
        assert_eq!(best_effort.requests.milli_cpu, 0);
        assert_eq!(best_effort.non_zero_requests.milli_cpu, 100);
        assert_eq!(best_effort.non_zero_requests.memory, 200 << 20);
    }

    #[test]
    fn affinity_terms_default_to_the_pods_namespace() {
        let mut v = simple_pod("p", "", "");
        v["metadata"]["namespace"] = "team".into();
        v["spec"]["affinity"] = serde_json::json!({ "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                { "labelSelector": { "matchLabels": { "app": "web" } }, "topologyKey": "kubernetes.io/hostname" } ] } });
        let p = pod(v);
        assert!(p.has_required_anti_affinity() && p.has_affinity());
        let t = &p.required_anti_affinity_terms[0];
        assert!(t.namespaces.contains("team"));
        let mut other = simple_pod("o", "", "");
        other["metadata"]["namespace"] = "team".into();
        other["metadata"]["labels"] = serde_json::json!({ "app": "web" });
        assert!(t.matches(&pod(other.clone()), None));
        other["metadata"]["namespace"] = "elsewhere".into();
        assert!(!t.matches(&pod(other), None));
    }

    #[test]
    fn a_node_sums_its_pods_and_forgets_a_removed_one() {
        let a = pod(simple_pod("a", "1", "1Gi"));
        let b = pod(simple_pod("b", "500m", ""));
        let mut n = node(simple_node("n1", "4", "8Gi", &[]), &[a.clone(), b]);
        assert_eq!(n.allocatable.milli_cpu, 4000);
        assert_eq!(n.allocatable.allowed_pod_number, 110);
        assert_eq!(n.requested.milli_cpu, 1500);
        assert!(n.remove_pod(&a.uid));
        assert_eq!(n.requested.milli_cpu, 500);
        assert_eq!(n.pods.len(), 1);
        assert!(!n.remove_pod("missing"));
    }
}
