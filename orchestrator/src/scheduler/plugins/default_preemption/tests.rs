//! DefaultPreemption over snapshots and a real store, with a FilterRunner whose one filter is
//! a cpu fit (upstream `default_preemption_test.go`'s shapes).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::api::Objects;
use crate::error::Reason;
use crate::scheduler::framework::{NodeToStatus, testing};
use crate::store::{Filter, ListOptions, MemoryStore, Storage};

/// Filters: cpu requests against allocatable. Counts PreFilter extension calls.
#[derive(Default)]
struct CpuFit {
    nominated: HashMap<String, Vec<Arc<PodInfo>>>,
}

#[derive(Clone, Default)]
struct ExtensionCalls(usize);

impl FilterRunner for CpuFit {
    fn run_filters(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if pod.requests.milli_cpu > node.allocatable.milli_cpu - node.requested.milli_cpu {
            Status::unschedulable("Insufficient cpu")
        } else {
            Status::success()
        }
    }
    fn run_pre_filter_add_pod(
        &self,
        state: &mut CycleState,
        _pod: &PodInfo,
        _to_add: &Arc<PodInfo>,
        _node: &NodeInfo,
    ) -> Status {
        if let Some(c) = state.read_mut::<ExtensionCalls>() {
            c.0 += 1;
        }
        Status::success()
    }
    fn run_pre_filter_remove_pod(
        &self,
        state: &mut CycleState,
        _pod: &PodInfo,
        _to_remove: &Arc<PodInfo>,
        _node: &NodeInfo,
    ) -> Status {
        if let Some(c) = state.read_mut::<ExtensionCalls>() {
            c.0 += 1;
        }
        Status::success()
    }
    fn nominated_pods(&self, node: &str) -> Vec<Arc<PodInfo>> {
        self.nominated.get(node).cloned().unwrap_or_default()
    }
}

struct Cluster {
    store: Arc<dyn Storage>,
    plugin: DefaultPreemption,
}

const T0: &str = "2026-01-01T00:00:00Z";

fn cluster() -> Cluster {
    let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
    store
        .create(
            "namespaces",
            "",
            "default",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"},
                   "status": {"phase": "Active"}}),
        )
        .unwrap();
    let handle = Handle::new(Objects::new(store.clone()));
    let mut plugin = DefaultPreemption::with_args(Args::default(), handle);
    plugin.random_offset = false;
    Cluster { store, plugin }
}

impl Cluster {
    /// A pod stored as the API would hold it; bound to `node` unless empty.
    fn pod(&self, name: &str, priority: i32, cpu: &str, node: &str, extra: Value) -> Arc<PodInfo> {
        let mut v = testing::simple_pod(name, cpu, "");
        v["apiVersion"] = "v1".into();
        v["metadata"]["uid"] = format!("uid-{name}").into();
        v["spec"]["priority"] = priority.into();
        if !node.is_empty() {
            v["spec"]["nodeName"] = node.into();
            v["status"] = json!({ "phase": "Running", "startTime": T0 });
        }
        // `extra` sets fields by dotted path, creating objects on the way.
        for (path, x) in extra.as_object().into_iter().flatten() {
            let mut at = &mut v;
            for key in path.split('.') {
                if !at.is_object() {
                    *at = json!({});
                }
                at = at
                    .as_object_mut()
                    .unwrap()
                    .entry(key.to_string())
                    .or_insert(Value::Null);
            }
            *at = x.clone();
        }
        let stored = self.store.create("pods", "default", name, v).unwrap();
        Arc::new(PodInfo::from_stored(stored).unwrap())
    }

    fn get(&self, name: &str) -> Option<Value> {
        match self.store.get("pods", "default", name) {
            Ok(s) => Some(s.value()),
            Err(e) if e.reason == Reason::NotFound => None,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn events(&self) -> Vec<Value> {
        let opts = ListOptions {
            filter: Filter {
                namespace: Some("default".into()),
                ..Filter::default()
            },
            ..ListOptions::default()
        };
        self.store
            .list("events", &opts)
            .unwrap()
            .items
            .iter()
            .map(|s| s.value())
            .collect()
    }

    fn run(
        &self,
        pod: &PodInfo,
        nodes: Vec<NodeInfo>,
        statuses: &[(&str, Status)],
        runner: &CpuFit,
    ) -> (Option<PostFilterResult>, Status) {
        let snapshot = testing::snapshot(nodes);
        let statuses: NodeToStatus = statuses
            .iter()
            .map(|(n, s)| (n.to_string(), s.clone()))
            .collect();
        self.plugin
            .post_filter(&CycleState::new(), pod, &snapshot, &statuses, runner)
    }
}

fn node(name: &str, cpu: &str, pods: &[Arc<PodInfo>]) -> NodeInfo {
    testing::node(testing::simple_node(name, cpu, "32Gi", &[]), pods)
}

fn insufficient() -> Status {
    Status::unschedulable("Insufficient cpu")
}

/// Victims are victims; a pod is preempted when it was deleted (gracefully: still there with
/// a deletion timestamp) after being marked as a disruption target.
fn assert_preempted(c: &Cluster, name: &str) {
    let v = c.get(name).expect("a running pod is deleted gracefully");
    assert!(
        v.pointer("/metadata/deletionTimestamp").is_some(),
        "{name} is being deleted"
    );
    let conditions = v["status"]["conditions"].as_array().unwrap();
    let dt = conditions
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")
        .expect("DisruptionTarget condition");
    assert_eq!(dt["status"], "True");
    assert_eq!(dt["reason"], "PreemptionByScheduler");
    assert_eq!(
        dt["message"],
        "default-scheduler: preempting to accommodate a higher priority pod"
    );
}

fn assert_untouched(c: &Cluster, name: &str) {
    let v = c.get(name).unwrap();
    assert!(v.pointer("/metadata/deletionTimestamp").is_none(), "{name}");
}

#[test]
fn reprieves_the_most_important_victims_and_nominates_the_preemptor() {
    let c = cluster();
    let low1 = c.pod("low1", 1, "1", "node1", json!({}));
    let low2 = c.pod("low2", 2, "1", "node1", json!({}));
    let mid = c.pod("mid", 5, "2", "node1", json!({}));
    let preemptor = c.pod("preemptor", 10, "2", "", json!({}));
    let runner = CpuFit::default();
    let (result, status) = c.run(
        &preemptor,
        vec![node("node1", "4", &[low1, low2, mid])],
        &[("node1", insufficient())],
        &runner,
    );
    assert!(status.is_success(), "{status:?}");
    assert_eq!(result.unwrap().nominated_node_name, "node1");
    // With every lower pod gone there are 4 cpus; mid (2) fits back, low2 and low1 do not.
    assert_untouched(&c, "mid");
    assert_preempted(&c, "low1");
    assert_preempted(&c, "low2");
    assert_eq!(
        c.get("preemptor").unwrap()["status"]["nominatedNodeName"],
        "node1"
    );
    let mut messages: Vec<String> = c
        .events()
        .iter()
        .filter(|e| e["reason"] == "Preempted")
        .map(|e| {
            format!(
                "{} {} {}",
                e["involvedObject"]["name"].as_str().unwrap(),
                e["type"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        [
            "low1 Normal Preempted by pod uid-preemptor on node node1",
            "low2 Normal Preempted by pod uid-preemptor on node node1",
        ]
    );
}

#[test]
fn the_prefilter_extensions_follow_every_removal_and_reprieve() {
    let c = cluster();
    let a = c.pod("a", 1, "1", "node1", json!({}));
    let b = c.pod("b", 1, "1", "node1", json!({}));
    let preemptor = c.pod("p", 10, "1", "", json!({}));
    let mut state = CycleState::new();
    state.write(ExtensionCalls(0));
    let mut n = node("node1", "2", &[a, b]);
    let (victims, violations) =
        candidates::select_victims_on_node(&mut state, &preemptor, &mut n, &CpuFit::default(), 0)
            .unwrap();
    assert_eq!(violations, 0);
    assert_eq!(victims.len(), 1, "one of the two fits back");
    // Two removals, two reprieve attempts, one removal again for the victim.
    assert_eq!(state.read::<ExtensionCalls>().unwrap().0, 5);
    assert_eq!(
        n.pods.len(),
        1,
        "the node copy reflects the victim's removal"
    );
}

#[test]
fn picks_the_node_whose_victims_matter_least() {
    let c = cluster();
    let n1 = c.pod("n1-victim", 5, "2", "node1", json!({}));
    let n2 = c.pod("n2-victim", 1, "2", "node2", json!({}));
    let preemptor = c.pod("p", 10, "2", "", json!({}));
    let (result, status) = c.run(
        &preemptor,
        vec![node("node1", "2", &[n1]), node("node2", "2", &[n2])],
        &[("node1", insufficient()), ("node2", insufficient())],
        &CpuFit::default(),
    );
    assert!(status.is_success());
    assert_eq!(result.unwrap().nominated_node_name, "node2");
    assert_preempted(&c, "n2-victim");
    assert_untouched(&c, "n1-victim");
}

#[test]
fn preemption_policy_never_is_not_eligible() {
    let c = cluster();
    let v = c.pod("v", 1, "2", "node1", json!({}));
    let p = c.pod(
        "p",
        10,
        "2",
        "",
        json!({ "spec.preemptionPolicy": "Never" }),
    );
    let (result, status) = c.run(
        &p,
        vec![node("node1", "2", &[v])],
        &[("node1", insufficient())],
        &CpuFit::default(),
    );
    assert!(result.is_none());
    assert_eq!(status.code(), Code::Unschedulable);
    assert_eq!(
        status.message(),
        "preemption: not eligible due to preemptionPolicy=Never."
    );
    assert_untouched(&c, "v");
}

#[test]
fn terminating_victims_on_the_nominated_node_make_the_preemptor_wait() {
    let c = cluster();
    let terminating = c.pod(
        "t",
        1,
        "2",
        "node1",
        json!({
            "metadata.deletionTimestamp": T0,
            "status.conditions": [{ "type": "DisruptionTarget", "status": "True",
                                    "reason": "PreemptionByScheduler" }],
        }),
    );
    let p = c.pod(
        "p",
        10,
        "2",
        "",
        json!({ "status.nominatedNodeName": "node1" }),
    );
    let (result, status) = c.run(
        &p,
        vec![node("node1", "2", &[terminating])],
        &[("node1", insufficient())],
        &CpuFit::default(),
    );
    assert!(result.is_none());
    assert_eq!(
        status.message(),
        "preemption: not eligible due to a terminating pod on the nominated node."
    );
}

/// The messages the runtime appends to FailedScheduling (upstream `FitError.Error()` over the
/// dry run's statuses).
#[rstest::rstest]
#[case::every_node_unresolvable(
    &[("node1", "2", 1), ("node2", "2", 1)],
    &[("node1", false), ("node2", false)],
    "2",
    "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
)]
#[case::no_lower_priority_pods(
    &[("node1", "2", 20)],
    &[("node1", true)],
    "2",
    "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
)]
#[case::too_big_even_with_the_node_emptied(
    &[("node1", "2", 1)],
    &[("node1", true)],
    "3",
    "preemption: 0/1 nodes are available: 1 Insufficient cpu."
)]
#[case::mixed(
    &[("node1", "2", 1), ("node2", "2", 20), ("node3", "2", 20)],
    &[("node1", false), ("node2", true), ("node3", true)],
    "2",
    "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
)]
fn failed_preemption_messages(
    #[case] nodes: &[(&str, &str, i32)],
    #[case] resolvable: &[(&str, bool)],
    #[case] preemptor_cpu: &str,
    #[case] want: &str,
) {
    let c = cluster();
    let infos = nodes
        .iter()
        .map(|(name, cpu, prio)| {
            let p = c.pod(&format!("{name}-pod"), *prio, "2", name, json!({}));
            node(name, cpu, &[p])
        })
        .collect();
    let statuses: Vec<(&str, Status)> = resolvable
        .iter()
        .map(|(n, r)| {
            let s = if *r {
                insufficient()
            } else {
                Status::unresolvable("node(s) had untolerated taint {a: b}")
            };
            (*n, s)
        })
        .collect();
    let p = c.pod("p", 10, preemptor_cpu, "", json!({}));
    let (result, status) = c.run(&p, infos, &statuses, &CpuFit::default());
    assert_eq!(result, Some(PostFilterResult::default()));
    assert_eq!(status.code(), Code::Unschedulable);
    assert_eq!(status.message(), want);
}

#[test]
fn lower_priority_nominations_on_the_chosen_node_are_cleared() {
    let c = cluster();
    let v = c.pod("v", 1, "2", "node1", json!({}));
    let lower = c.pod(
        "lower",
        5,
        "1",
        "",
        json!({ "status.nominatedNodeName": "node1" }),
    );
    let higher = c.pod(
        "higher",
        50,
        "1",
        "",
        json!({ "status.nominatedNodeName": "node1" }),
    );
    let p = c.pod("p", 10, "2", "", json!({}));
    let mut runner = CpuFit::default();
    runner
        .nominated
        .insert("node1".into(), vec![lower.clone(), higher.clone()]);
    let (result, _) = c.run(
        &p,
        vec![node("node1", "2", &[v])],
        &[("node1", insufficient())],
        &runner,
    );
    assert_eq!(result.unwrap().nominated_node_name, "node1");
    assert!(c.get("lower").unwrap()["status"]["nominatedNodeName"].is_null());
    assert_eq!(
        c.get("higher").unwrap()["status"]["nominatedNodeName"],
        "node1"
    );
}

#[rstest::rstest]
#[case::defaults(json!(null), Ok(Args::default()))]
#[case::set(
    json!({"minCandidateNodesPercentage": 50, "minCandidateNodesAbsolute": 10}),
    Ok(Args { min_candidate_nodes_percentage: 50, min_candidate_nodes_absolute: 10 })
)]
#[case::percentage_out_of_range(
    json!({"minCandidateNodesPercentage": 101}),
    Err("minCandidateNodesPercentage: Invalid value: 101: not in valid range [0, 100]")
)]
#[case::both_zero(
    json!({"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 0}),
    Err("minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute")
)]
fn args(#[case] json: Value, #[case] want: Result<Args, &str>) {
    assert_eq!(Args::parse(&json), want.map_err(str::to_string));
}
