//! The algorithm's tests: upstream's `TestNumFeasibleNodesToFind` table and `TestFitError`
//! cases, the rotating window with its early stop, PreFilter narrowing, and ties broken at
//! random.

use std::sync::Arc;

use rstest::rstest;
use serde_json::{Value, json};

use super::*;
use crate::scheduler::config::{PluginConfig, PluginRef, PluginSet, Profile};
use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod, snapshot};
use crate::scheduler::metrics::SchedulerMetrics;

#[rstest]
#[case::not_set_and_not_more_than_100_nodes(0, None, 10, 10)]
#[case::profile_set_and_not_more_than_100_nodes(0, Some(40), 10, 10)]
#[case::not_set_and_more_than_100_nodes(0, None, 1000, 420)]
#[case::profile_set_and_more_than_100_nodes(0, Some(40), 1000, 400)]
#[case::global_and_profile_set(100, Some(40), 1000, 400)]
#[case::global_set(40, None, 1000, 400)]
#[case::not_set_and_more_than_50_times_125_nodes(0, None, 6000, 300)]
#[case::profile_set_and_more_than_50_times_125_nodes(0, Some(40), 6000, 2400)]
fn num_feasible_nodes_to_find_matches_upstream(
    #[case] global: i32,
    #[case] profile: Option<i32>,
    #[case] nodes: usize,
    #[case] want: usize,
) {
    assert_eq!(
        num_feasible_nodes_to_find(profile.unwrap_or(global), nodes),
        want
    );
}

fn fit(num: usize, statuses: &[(&str, Status)], absent: Option<Status>) -> FitError {
    let mut diagnosis = Diagnosis::default();
    for (n, s) in statuses {
        diagnosis.node_to_status.insert(n.to_string(), s.clone());
    }
    if let Some(a) = absent {
        diagnosis.absent_status = a;
    }
    FitError {
        num_all_nodes: num,
        diagnosis,
    }
}

#[test]
fn fit_error_messages_match_upstream() {
    let f1 = Status::unschedulable("Node(s) failed Filter plugin FalseFilter-1");
    let f2 = Status::unschedulable("Node(s) failed Filter plugin FalseFilter-2");
    // nodes failed Prefilter plugin
    let pre = Status::unschedulable("Node(s) failed PreFilter plugin FalsePreFilter");
    let mut e = fit(
        3,
        &[
            ("node1", pre.clone()),
            ("node2", pre.clone()),
            ("node3", pre.clone()),
        ],
        None,
    );
    e.diagnosis.pre_filter_msg = pre.message();
    assert_eq!(
        e.to_string(),
        "0/3 nodes are available: Node(s) failed PreFilter plugin FalsePreFilter."
    );
    // nodes failed one Filter plugin with an empty PostFilterMsg
    let e = fit(
        3,
        &[
            ("node1", f1.clone()),
            ("node2", f1.clone()),
            ("node3", f1.clone()),
        ],
        None,
    );
    assert_eq!(
        e.to_string(),
        "0/3 nodes are available: 3 Node(s) failed Filter plugin FalseFilter-1."
    );
    // ... with a non-empty PostFilterMsg
    let mut e = e;
    e.diagnosis.post_filter_msg = "Error running PostFilter plugin FailedPostFilter".into();
    assert_eq!(
        e.to_string(),
        "0/3 nodes are available: 3 Node(s) failed Filter plugin FalseFilter-1. Error running PostFilter plugin FailedPostFilter"
    );
    // nodes failed two Filter plugins
    let e = fit(
        3,
        &[
            ("node1", f1.clone()),
            ("node2", f1.clone()),
            ("node3", f2.clone()),
        ],
        None,
    );
    assert_eq!(
        e.to_string(),
        "0/3 nodes are available: 1 Node(s) failed Filter plugin FalseFilter-2, 2 Node(s) failed Filter plugin FalseFilter-1."
    );
    // failed to Permit on node
    let e = fit(
        1,
        &[(
            "node1",
            Status::unschedulable("Node failed Permit plugin Permit-1"),
        )],
        None,
    );
    assert_eq!(
        e.to_string(),
        "0/1 nodes are available: 1 Node failed Permit plugin Permit-1."
    );
    // nodes failed some Filter plugins, the others absent with their own status
    let e = fit(3, &[("node1", f1.clone())], Some(f2.clone()));
    assert_eq!(
        e.to_string(),
        "0/3 nodes are available: 1 Node(s) failed Filter plugin FalseFilter-1, 2 Node(s) failed Filter plugin FalseFilter-2."
    );
    // a status with several reasons counts each; counts sort as strings, as upstream's
    let both = Status::with_reasons(
        Code::Unschedulable,
        vec!["Insufficient cpu".into(), "Insufficient memory".into()],
    );
    let taint = Status::unresolvable("node(s) had untolerated taint {k: v}");
    let mut statuses: Vec<(String, Status)> =
        (0..10).map(|i| (format!("a{i}"), both.clone())).collect();
    statuses.extend((0..2).map(|i| (format!("b{i}"), taint.clone())));
    let refs: Vec<(&str, Status)> = statuses
        .iter()
        .map(|(n, s)| (n.as_str(), s.clone()))
        .collect();
    assert_eq!(
        fit(12, &refs, None).to_string(),
        "0/12 nodes are available: 10 Insufficient cpu, 10 Insufficient memory, 2 node(s) had untolerated taint {k: v}."
    );
}

fn framework(multi: &[(&str, Value)]) -> Framework {
    let mut names: Vec<PluginRef> = multi
        .iter()
        .map(|(n, _)| PluginRef {
            name: n.to_string(),
            weight: None,
        })
        .collect();
    names.push(PluginRef {
        name: "DefaultBinder".into(),
        weight: None,
    });
    let mut p = Profile {
        scheduler_name: "test".into(),
        ..Profile::default()
    };
    p.plugins.multi_point = PluginSet {
        enabled: names,
        disabled: Vec::new(),
    };
    p.plugin_config = multi
        .iter()
        .map(|(n, a)| PluginConfig {
            name: n.to_string(),
            args: a.clone(),
        })
        .collect();
    let store: Arc<dyn crate::store::Storage> =
        Arc::new(crate::store::MemoryStore::new(Default::default()));
    Framework::new(
        &p,
        &crate::scheduler::test_plugins::registry(),
        crate::scheduler::framework::Handle::new(crate::api::Objects::new(store)),
        Arc::new(SchedulerMetrics::default()),
    )
    .unwrap()
}

fn nodes(n: usize) -> Snapshot {
    snapshot(
        (0..n)
            .map(|i| node(simple_node(&format!("n{i}"), "1", "1Gi", &[]), &[]))
            .collect(),
    )
}

#[test]
fn the_window_stops_early_and_rotates_between_cycles() {
    let fw = framework(&[("FakeA", json!({"filter": {}, "score": {}}))]);
    let snap = nodes(1000);
    let p = pod(simple_pod("p", "", ""));
    let mut algo = Algorithm::new(0, 1);
    let r = algo
        .schedule_pod(&fw, &mut CycleState::new(), &p, &snap)
        .unwrap();
    assert_eq!(r.feasible_nodes, 420);
    assert_eq!(r.evaluated_nodes, 420);
    assert_eq!(algo.next_start_node_index, 420);
    assert_eq!(algo.feasible()[0].name, "n0");
    algo.schedule_pod(&fw, &mut CycleState::new(), &p, &snap)
        .unwrap();
    assert_eq!(algo.feasible()[0].name, "n420");
    assert_eq!(algo.next_start_node_index, 840);
    algo.schedule_pod(&fw, &mut CycleState::new(), &p, &snap)
        .unwrap();
    assert_eq!(algo.feasible()[0].name, "n840");
    assert_eq!(algo.feasible()[200].name, "n40", "wraps around");
}

#[test]
fn without_score_plugins_the_first_feasible_node_is_enough() {
    let fw = framework(&[("FakeA", json!({"filter": {"n0": "no"}}))]);
    let r = Algorithm::new(0, 1)
        .schedule_pod(
            &fw,
            &mut CycleState::new(),
            &pod(simple_pod("p", "", "")),
            &nodes(50),
        )
        .unwrap();
    assert_eq!(r.suggested_host, "n1");
    assert_eq!((r.evaluated_nodes, r.feasible_nodes), (2, 1));
}

#[test]
fn when_nothing_fits_every_node_has_a_status_and_the_plugin_is_recorded() {
    let rejects: serde_json::Map<String, Value> = (0..5)
        .map(|i| (format!("n{i}"), json!("Insufficient cpu")))
        .collect();
    let fw = framework(&[("FakeA", json!({"filter": rejects}))]);
    let err = Algorithm::new(0, 1)
        .schedule_pod(
            &fw,
            &mut CycleState::new(),
            &pod(simple_pod("p", "", "")),
            &nodes(5),
        )
        .unwrap_err();
    let ScheduleError::Fit(f) = err else {
        panic!("want a fit error")
    };
    assert_eq!(
        f.to_string(),
        "0/5 nodes are available: 5 Insufficient cpu."
    );
    assert_eq!(
        f.diagnosis.unschedulable_plugins.iter().collect::<Vec<_>>(),
        [&"FakeA"]
    );
    assert!(
        f.diagnosis
            .node_to_status
            .values()
            .all(|s| s.plugin() == "FakeA")
    );
}

#[test]
fn a_pre_filter_rejection_becomes_the_message_for_all_nodes() {
    let fw = framework(&[(
        "FakeA",
        json!({"preFilter": {"code": "UnschedulableAndUnresolvable", "reason": "pod has unbound immediate PersistentVolumeClaims"}}),
    )]);
    let err = Algorithm::new(0, 1)
        .schedule_pod(
            &fw,
            &mut CycleState::new(),
            &pod(simple_pod("p", "", "")),
            &nodes(3),
        )
        .unwrap_err();
    let ScheduleError::Fit(f) = err else {
        panic!("want a fit error")
    };
    assert_eq!(
        f.to_string(),
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    );
    let all = f.diagnosis.all_statuses(&nodes(3));
    assert_eq!(all.len(), 3, "preemption sees the status on every node");
}

#[test]
fn pre_filter_node_names_restrict_the_search() {
    let fw = framework(&[(
        "FakeA",
        json!({"preFilter": {"nodes": ["n3", "missing"]}, "filter": {"n3": "no room"}, "score": {}}),
    )]);
    let err = Algorithm::new(0, 1)
        .schedule_pod(
            &fw,
            &mut CycleState::new(),
            &pod(simple_pod("p", "", "")),
            &nodes(4),
        )
        .unwrap_err();
    let ScheduleError::Fit(f) = err else {
        panic!("want a fit error")
    };
    assert_eq!(
        f.to_string(),
        "0/4 nodes are available: 1 no room, 3 node(s) didn't satisfy plugin(s) [FakeA]."
    );
}

#[test]
fn no_nodes_is_its_own_error() {
    let fw = framework(&[]);
    let err = Algorithm::new(0, 1)
        .schedule_pod(
            &fw,
            &mut CycleState::new(),
            &pod(simple_pod("p", "", "")),
            &nodes(0),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "no nodes available to schedule pods");
}

#[test]
fn the_best_score_wins_and_ties_are_broken_uniformly() {
    let mut rng = SmallRng::seed_from_u64(7);
    assert_eq!(select_host(&[1, 5, 3], &mut rng), 1);
    let mut wins = [0usize; 3];
    for _ in 0..3000 {
        wins[select_host(&[9, 9, 9], &mut rng)] += 1;
    }
    for w in wins {
        assert!((800..1200).contains(&w), "uneven ties: {wins:?}");
    }
}

#[test]
fn the_highest_weighted_total_is_chosen() {
    let fw = framework(&[("FakeA", json!({"score": {"n2": 40, "n1": 10}}))]);
    let r = Algorithm::new(0, 1)
        .schedule_pod(
            &fw,
            &mut CycleState::new(),
            &pod(simple_pod("p", "", "")),
            &nodes(3),
        )
        .unwrap();
    assert_eq!(r.suggested_host, "n2");
    assert_eq!(r.feasible_nodes, 3);
}
