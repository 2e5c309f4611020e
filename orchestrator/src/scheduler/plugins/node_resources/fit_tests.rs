//! NodeResourcesFit's tests: upstream `TestEnoughRequests`, `TestNotEnoughRequests` and the
//! scoring strategies' tables (`least_allocated_test.go`, `most_allocated_test.go`,
//! `requested_to_capacity_ratio_test.go`).

use rstest::rstest;
use serde_json::{Map, Value, json};

use super::*;
use crate::scheduler::framework::testing::{node, pod};

/// Upstream `makeAllocatableResources(10, 20, 32, 5, 20, 5)`: 10m cpu, 20 bytes of memory,
/// 32 pods, 5 `example.com/aaa`, 20 bytes of ephemeral storage, 5 `hugepages-2Mi`.
fn small_node(existing: &[Value]) -> NodeInfo {
    let n = json!({
        "apiVersion": "v1", "kind": "Node", "metadata": { "name": "n" },
        "status": { "allocatable": { "cpu": "10m", "memory": "20", "pods": "32",
            "example.com/aaa": "5", "ephemeral-storage": "20", "hugepages-2Mi": "5" } }
    });
    let pods: Vec<_> = existing
        .iter()
        .enumerate()
        .map(|(i, c)| pod(pod_json(&format!("existing-{i}"), c, &json!([]), None)))
        .collect();
    node(n, &pods)
}

/// A pod with one container requesting `requests` (cpu in milli, the rest as given) and init
/// containers requesting `init`.
fn pod_json(name: &str, requests: &Value, init: &Value, overhead: Option<Value>) -> Value {
    let container = |i: usize, r: &Value| {
        let mut map = Map::new();
        for (k, v) in r.as_object().into_iter().flatten() {
            let q = match (k.as_str(), v) {
                ("cpu", Value::Number(n)) => format!("{n}m"),
                (_, Value::Number(n)) => n.to_string(),
                (_, v) => v.as_str().unwrap_or("").to_string(),
            };
            map.insert(k.clone(), Value::String(q));
        }
        json!({ "name": format!("c{i}"), "image": "pause", "resources": { "requests": map } })
    };
    let mut spec = json!({
        "containers": [container(0, requests)],
        "initContainers": init.as_array().into_iter().flatten().enumerate()
            .map(|(i, r)| container(i, r)).collect::<Vec<_>>(),
    });
    if let Some(o) = overhead {
        spec["overhead"] = o;
    }
    json!({ "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": name, "namespace": "default" }, "spec": spec })
}

fn run_filter(fit: &Fit, p: &PodInfo, n: &NodeInfo) -> Status {
    let mut state = CycleState::new();
    let (_, pre) = fit.pre_filter(&mut state, p, &Snapshot::default());
    assert!(pre.is_success());
    fit.filter(&state, p, n)
}

// Upstream `TestEnoughRequests`.
#[rstest]
#[case::no_resources_requested_always_fits(json!({}), json!([]), None, json!([{"cpu": 10, "memory": 20}]), "", None)]
#[case::too_many_resources_fails(json!({"cpu": 1, "memory": 1}), json!([]), None, json!([{"cpu": 10, "memory": 20}]),
    "Insufficient cpu, Insufficient memory", Some(Code::Unschedulable))]
#[case::too_many_resources_fails_due_to_init_container_cpu(json!({"cpu": 1, "memory": 1}), json!([{"cpu": 3, "memory": 1}]), None,
    json!([{"cpu": 8, "memory": 19}]), "Insufficient cpu", Some(Code::Unschedulable))]
#[case::highest_init_container_cpu_counts(json!({"cpu": 1, "memory": 1}), json!([{"cpu": 3, "memory": 1}, {"cpu": 2, "memory": 1}]), None,
    json!([{"cpu": 8, "memory": 19}]), "Insufficient cpu", Some(Code::Unschedulable))]
#[case::too_many_resources_fails_due_to_init_container_memory(json!({"cpu": 1, "memory": 1}), json!([{"cpu": 1, "memory": 3}]), None,
    json!([{"cpu": 9, "memory": 19}]), "Insufficient memory", Some(Code::Unschedulable))]
#[case::init_container_fits_because_it_is_the_max_not_sum(json!({"cpu": 1, "memory": 1}), json!([{"cpu": 1, "memory": 1}]), None,
    json!([{"cpu": 9, "memory": 19}]), "", None)]
#[case::both_resources_fit(json!({"cpu": 1, "memory": 1}), json!([]), None, json!([{"cpu": 5, "memory": 5}]), "", None)]
#[case::one_resource_memory_fits(json!({"cpu": 2, "memory": 1}), json!([]), None, json!([{"cpu": 9, "memory": 5}]),
    "Insufficient cpu", Some(Code::Unschedulable))]
#[case::one_resource_cpu_fits(json!({"cpu": 1, "memory": 2}), json!([]), None, json!([{"cpu": 5, "memory": 19}]),
    "Insufficient memory", Some(Code::Unschedulable))]
#[case::equal_edge_case(json!({"cpu": 5, "memory": 1}), json!([]), None, json!([{"cpu": 5, "memory": 19}]), "", None)]
#[case::equal_edge_case_for_init_container(json!({"cpu": 4, "memory": 1}), json!([{"cpu": 5, "memory": 1}]), None,
    json!([{"cpu": 5, "memory": 19}]), "", None)]
#[case::extended_resource_fits(json!({"example.com/aaa": 1}), json!([]), None, json!([{}]), "", None)]
#[case::extended_resource_fits_for_init_container(json!({}), json!([{"example.com/aaa": 1}]), None, json!([{}]), "", None)]
#[case::extended_resource_capacity_enforced(json!({"example.com/aaa": 10}), json!([]), None, json!([{}]),
    "Insufficient example.com/aaa", Some(Code::UnschedulableAndUnresolvable))]
#[case::extended_resource_capacity_enforced_for_init_container(json!({}), json!([{"example.com/aaa": 10}]), None, json!([{}]),
    "Insufficient example.com/aaa", Some(Code::UnschedulableAndUnresolvable))]
#[case::extended_resource_allocatable_enforced(json!({"example.com/aaa": 1}), json!([]), None, json!([{"example.com/aaa": 5}]),
    "Insufficient example.com/aaa", Some(Code::Unschedulable))]
#[case::extended_resource_allocatable_enforced_for_multiple_containers(json!({"example.com/aaa": 3}), json!([]), None,
    json!([{"example.com/aaa": 3}]), "Insufficient example.com/aaa", Some(Code::Unschedulable))]
#[case::extended_resource_allocatable_enforced_for_unknown_resource(json!({"example.com/bbb": 1}), json!([]), None, json!([{}]),
    "Insufficient example.com/bbb", Some(Code::UnschedulableAndUnresolvable))]
#[case::kubernetes_io_resource_capacity_enforced(json!({"kubernetes.io/something": 10}), json!([]), None, json!([{}]),
    "Insufficient kubernetes.io/something", Some(Code::UnschedulableAndUnresolvable))]
#[case::hugepages_resource_capacity_enforced(json!({"hugepages-2Mi": 10}), json!([]), None, json!([{}]),
    "Insufficient hugepages-2Mi", Some(Code::UnschedulableAndUnresolvable))]
#[case::hugepages_resource_allocatable_enforced_for_multiple_containers(json!({"hugepages-2Mi": 3}), json!([]), None,
    json!([{"hugepages-2Mi": 3}]), "Insufficient hugepages-2Mi", Some(Code::Unschedulable))]
#[case::resources_plus_pod_overhead_fits(json!({"cpu": 1, "memory": 1}), json!([]), Some(json!({"cpu": "3m", "memory": "13"})),
    json!([{"cpu": 5, "memory": 5}]), "", None)]
#[case::requests_plus_overhead_does_not_fit_for_memory(json!({"cpu": 1, "memory": 1}), json!([]), Some(json!({"cpu": "1m", "memory": "15"})),
    json!([{"cpu": 5, "memory": 5}]), "Insufficient memory", Some(Code::Unschedulable))]
#[case::ephemeral_storage_capacity_enforced(json!({"ephemeral-storage": 25}), json!([]), None, json!([{}]),
    "Insufficient ephemeral-storage", Some(Code::UnschedulableAndUnresolvable))]
#[case::ephemeral_storage_allocatable_enforced(json!({"ephemeral-storage": 10}), json!([]), None, json!([{"ephemeral-storage": 15}]),
    "Insufficient ephemeral-storage", Some(Code::Unschedulable))]
fn filter_matches_upstream(
    #[case] requests: Value,
    #[case] init: Value,
    #[case] overhead: Option<Value>,
    #[case] existing: Value,
    #[case] message: &str,
    #[case] code: Option<Code>,
) {
    let fit = Fit::from_args(&Value::Null).unwrap();
    let p = pod(pod_json("p", &requests, &init, overhead));
    let n = small_node(existing.as_array().unwrap());
    let status = run_filter(&fit, &p, &n);
    match code {
        None => assert!(status.is_success(), "{status:?}"),
        Some(code) => {
            assert_eq!(status.code(), code);
            assert_eq!(status.message(), message);
        }
    }
}

#[rstest]
#[case::ignored_resource(json!({"ignoredResources": ["example.com/bbb"]}), true)]
#[case::ignored_resource_group(json!({"ignoredResourceGroups": ["example.com"]}), true)]
#[case::other_group(json!({"ignoredResourceGroups": ["example.org"]}), false)]
fn ignored_extended_resources_are_not_checked(#[case] args: Value, #[case] fits: bool) {
    let fit = Fit::from_args(&args).unwrap();
    let p = pod(pod_json(
        "p",
        &json!({"example.com/bbb": 1}),
        &json!([]),
        None,
    ));
    let status = run_filter(&fit, &p, &small_node(&[json!({})]));
    assert_eq!(status.is_success(), fits, "{status:?}");
}

#[test]
fn ignored_resources_never_cover_native_ones() {
    let fit = Fit::from_args(&json!({"ignoredResourceGroups": ["kubernetes.io"]})).unwrap();
    let p = pod(pod_json(
        "p",
        &json!({"kubernetes.io/x": 1}),
        &json!([]),
        None,
    ));
    assert!(!run_filter(&fit, &p, &small_node(&[])).is_success());
}

// Upstream `TestNotEnoughRequests`: the pod count.
#[rstest]
#[case::even_without_specified_resources(json!({}), json!({"cpu": 10, "memory": 20}), "Too many pods")]
#[case::even_if_both_resources_fit(json!({"cpu": 1, "memory": 1}), json!({"cpu": 5, "memory": 5}), "Too many pods")]
#[case::even_for_insufficient_resources(json!({"cpu": 20, "memory": 1}), json!({"cpu": 5, "memory": 5}),
    "Too many pods, Insufficient cpu")]
fn too_many_pods(#[case] requests: Value, #[case] on_node: Value, #[case] message: &str) {
    let n = json!({ "metadata": { "name": "n" },
        "status": { "allocatable": { "cpu": "10m", "memory": "20", "pods": "1" } } });
    let existing = pod(pod_json("e", &on_node, &json!([]), None));
    let n = node(n, &[existing]);
    let p = pod(pod_json("p", &requests, &json!([]), None));
    let status = run_filter(&Fit::from_args(&Value::Null).unwrap(), &p, &n);
    assert_eq!(status.message(), message);
    let unresolvable = message.contains("cpu");
    assert_eq!(
        status.code(),
        if unresolvable {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        }
    );
}

#[test]
fn args_are_validated() {
    assert!(
        Fit::from_args(&json!({"scoringStrategy": {"type": "Random"}}))
            .unwrap_err()
            .contains("Unsupported value")
    );
    assert!(Fit::from_args(&json!({"ignoredResourceGroups": ["a/b"]})).is_err());
    assert!(
        Fit::from_args(&json!({"scoringStrategy": {"type": "RequestedToCapacityRatio"}})).is_err()
    );
    assert!(Fit::from_args(&json!({"unknownField": 1})).is_err());
}

/// A node with `cpu` milli-cpu and `memory` bytes allocatable.
fn sized_node(name: &str, cpu: i64, memory: i64, existing: &[Value]) -> NodeInfo {
    let n = json!({ "metadata": { "name": name },
        "status": { "allocatable": { "cpu": format!("{cpu}m"), "memory": memory.to_string(), "pods": "110" } } });
    let pods: Vec<_> = existing
        .iter()
        .enumerate()
        .map(|(i, r)| pod(pod_json(&format!("{name}-e{i}"), r, &json!([]), None)))
        .collect();
    node(n, &pods)
}

fn scores(args: Value, p: &PodInfo, nodes: &[NodeInfo]) -> Vec<i64> {
    let fit = Fit::from_args(&args).unwrap();
    let mut state = CycleState::new();
    assert!(
        fit.pre_score(&mut state, p, &[], &Snapshot::default())
            .is_success()
    );
    nodes.iter().map(|n| fit.score(&state, p, n).0).collect()
}

/// Upstream's `cpuAndMemory` pod: 3000m cpu and 5000 bytes over two containers.
fn cpu_and_memory() -> Arc<PodInfo> {
    let mut v = pod_json("p", &json!({"cpu": 1000, "memory": 2000}), &json!([]), None);
    v["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "c1", "image": "pause", "resources": {"requests": {"cpu": "2000m", "memory": "3000"}}}));
    pod(v)
}

// Upstream `TestLeastAllocatedScoringStrategy`.
#[test]
fn least_allocated_prefers_free_nodes() {
    let p = cpu_and_memory();
    let nodes = [
        sized_node("n1", 4000, 10000, &[]),
        sized_node("n2", 6000, 10000, &[]),
    ];
    assert_eq!(scores(Value::Null, &p, &nodes), vec![37, 50]);
    // Existing pods count by their requests.
    let nodes = [
        sized_node("n1", 10000, 20000, &[json!({"cpu": 3000, "memory": 0})]),
        sized_node("n2", 10000, 20000, &[json!({"cpu": 3000, "memory": 5000})]),
    ];
    // n1: cpu (10000-6000)*100/10000 = 40, memory (20000-5000)*100/20000 = 75 → 57;
    // n2: 40, (20000-10000)*100/20000 = 50 → 45.
    assert_eq!(scores(Value::Null, &p, &nodes), vec![57, 45]);
    // Weights: cpu 1, memory 3.
    let args = json!({"scoringStrategy": {"type": "LeastAllocated",
        "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 3}]}});
    let nodes = [sized_node("n1", 4000, 10000, &[])];
    assert_eq!(scores(args, &p, &nodes), vec![(25 + 50 * 3) / 4]);
}

#[test]
fn best_effort_pods_score_with_non_zero_requests() {
    let p = pod(pod_json("p", &json!({}), &json!([]), None));
    // 100m of 1000m cpu, 200Mi of 400Mi memory.
    let nodes = [sized_node("n", 1000, 400 << 20, &[])];
    assert_eq!(scores(Value::Null, &p, &nodes), vec![(90 + 50) / 2]);
}

// Upstream `TestMostAllocatedScoringStrategy`.
#[test]
fn most_allocated_prefers_full_nodes() {
    let p = cpu_and_memory();
    let nodes = [
        sized_node("n1", 4000, 10000, &[]),
        sized_node("n2", 6000, 10000, &[]),
    ];
    let args = json!({"scoringStrategy": {"type": "MostAllocated"}});
    assert_eq!(scores(args.clone(), &p, &nodes), vec![62, 50]);
    // More than the node has counts as full.
    let nodes = [sized_node("n1", 2000, 4000, &[])];
    assert_eq!(scores(args, &p, &nodes), vec![100]);
}

// Upstream `TestRequestedToCapacityRatioScoringStrategy`.
#[test]
fn requested_to_capacity_ratio_follows_the_shape() {
    let p = cpu_and_memory();
    let nodes = [
        sized_node("n1", 4000, 10000, &[]),
        sized_node("n2", 6000, 10000, &[]),
    ];
    // Shaped like LeastAllocated, but rounded: n1 cpu 75% → 25, memory 50% → 50: 37.5 → 38.
    let spread = json!({"scoringStrategy": {"type": "RequestedToCapacityRatio",
        "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]}}});
    assert_eq!(scores(spread, &p, &nodes), vec![38, 50]);
    let pack = json!({"scoringStrategy": {"type": "RequestedToCapacityRatio",
        "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}});
    assert_eq!(scores(pack, &p, &nodes), vec![63, 50]);
}

#[test]
fn extended_resources_the_node_lacks_are_left_out_of_the_score() {
    let mut v = pod_json(
        "p",
        &json!({"cpu": 1000, "memory": 2000, "example.com/gpu": 1}),
        &json!([]),
        None,
    );
    v["metadata"]["name"] = "gpu".into();
    let p = pod(v);
    let args = json!({"scoringStrategy": {"type": "LeastAllocated", "resources": [
        {"name": "cpu", "weight": 1}, {"name": "example.com/gpu", "weight": 1}]}});
    let with_gpu = node(
        json!({ "metadata": { "name": "g" }, "status": { "allocatable": {
            "cpu": "4000m", "memory": "10000", "pods": "110", "example.com/gpu": "4" } } }),
        &[],
    );
    let without = sized_node("c", 4000, 10000, &[]);
    // g: cpu 75, gpu 75 → 75; c: cpu only → 75.
    assert_eq!(scores(args, &p, &[with_gpu, without]), vec![75, 75]);
}
