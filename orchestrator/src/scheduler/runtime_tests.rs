//! The runtime's tests: plugin layout from profiles (multiPoint expansion, overrides, `*`),
//! weights and normalization, Skip bookkeeping, PreFilter result merging, status attribution,
//! binder fallthrough, and the nominated-pods double filter pass.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::scheduler::config::{PluginConfig, PluginRef, PluginSet, Profile};
use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod, snapshot};
use crate::scheduler::test_plugins::registry;

fn handle() -> Handle {
    let store: Arc<dyn crate::store::Storage> =
        Arc::new(crate::store::MemoryStore::new(Default::default()));
    Handle::new(crate::api::Objects::new(store))
}

fn set(names: &[(&str, i32)]) -> PluginSet {
    PluginSet {
        enabled: names
            .iter()
            .map(|(n, w)| PluginRef {
                name: n.to_string(),
                weight: (*w != 0).then_some(*w),
            })
            .collect(),
        disabled: Vec::new(),
    }
}

/// A profile: multiPoint plugins (name, weight) with their fake args, plus PrioritySort and a
/// binder.
fn profile(multi: &[(&str, i32, Value)]) -> Profile {
    let mut names: Vec<(&str, i32)> = multi.iter().map(|(n, w, _)| (*n, *w)).collect();
    names.push(("PrioritySort", 0));
    names.push(("DefaultBinder", 0));
    let mut p = Profile {
        scheduler_name: "test".into(),
        ..Profile::default()
    };
    p.plugins.multi_point = set(&names);
    p.plugin_config = multi
        .iter()
        .map(|(n, _, args)| PluginConfig {
            name: n.to_string(),
            args: args.clone(),
        })
        .collect();
    p
}

fn build(p: &Profile) -> Result<Framework, String> {
    Framework::new(
        p,
        &registry(),
        handle(),
        Arc::new(SchedulerMetrics::default()),
    )
}

fn names(v: &Plugins) -> Vec<&'static str> {
    v.iter().map(|p| p.name()).collect()
}

#[test]
fn multi_point_plugins_land_at_every_point_they_implement_with_their_weights() {
    let fw = build(&profile(&[
        ("FakeA", 0, json!({"filter": {}})),
        ("FakeB", 3, json!({"filter": {}, "score": {}})),
    ]))
    .unwrap();
    assert_eq!(names(&fw.filter), ["FakeA", "FakeB"]);
    assert_eq!(fw.score_weights(), [("FakeB", 3)]);
    assert_eq!(names(&fw.bind), ["DefaultBinder"]);
    assert_eq!(fw.queue_sort().unwrap().name(), "PrioritySort");
}

#[test]
fn a_point_that_names_a_multi_point_plugin_puts_it_first_and_its_weight_wins() {
    let mut p = profile(&[
        ("FakeA", 0, json!({"filter": {}, "score": {}})),
        ("FakeB", 2, json!({"filter": {}, "score": {}})),
    ]);
    p.plugins.filter = set(&[("FakeB", 0)]);
    p.plugins.score = set(&[("FakeB", 7)]);
    let fw = build(&p).unwrap();
    assert_eq!(names(&fw.filter), ["FakeB", "FakeA"]);
    assert_eq!(fw.score_weights(), [("FakeB", 7), ("FakeA", 1)]);
}

#[test]
fn star_disables_every_multi_point_plugin_at_that_point_only() {
    let mut p = profile(&[("FakeA", 0, json!({"filter": {}, "score": {}}))]);
    p.plugins.filter.disabled = vec![PluginRef {
        name: "*".into(),
        weight: None,
    }];
    let fw = build(&p).unwrap();
    assert!(fw.filter.is_empty());
    assert_eq!(fw.score_weights(), [("FakeA", 1)]);
}

#[test]
fn configuration_errors_name_the_plugin() {
    let mut p = profile(&[]);
    p.plugins.filter = set(&[("Nope", 0)]);
    assert_eq!(build(&p).unwrap_err(), "plugin \"Nope\" does not exist");
    let mut p = profile(&[("FakeA", 0, json!({"score": {}}))]);
    p.plugins.filter = set(&[("FakeA", 0)]);
    assert_eq!(
        build(&p).unwrap_err(),
        "plugin \"FakeA\" does not extend FilterPlugin plugin"
    );
    let mut p = profile(&[]);
    p.plugins.multi_point.disabled = vec![PluginRef {
        name: "DefaultBinder".into(),
        weight: None,
    }];
    p.plugins
        .multi_point
        .enabled
        .retain(|r| r.name != "DefaultBinder");
    assert!(
        build(&p)
            .unwrap_err()
            .contains("at least one bind plugin is needed")
    );
}

#[test]
fn the_default_profile_builds_with_whatever_plugins_exist() {
    let c = crate::scheduler::config::KubeSchedulerConfiguration::default();
    let p = &c.resolved_profiles()[0];
    let fw = Framework::new(
        p,
        &crate::scheduler::plugins::registry(),
        handle(),
        Arc::new(SchedulerMetrics::default()),
    )
    .unwrap();
    assert_eq!(fw.profile_name(), "default-scheduler");
    assert_eq!(names(&fw.bind), ["DefaultBinder"]);
    assert!(fw.queue_sort().is_some());
}

#[test]
fn scores_are_normalized_then_weighted_and_summed() {
    let fw = build(&profile(&[
        (
            "FakeA",
            2,
            json!({"score": {"n1": 10, "n2": 20}, "normalize": true}),
        ),
        ("FakeB", 0, json!({"score": {"n1": 30}})),
    ]))
    .unwrap();
    let nodes: Vec<Arc<NodeInfo>> = ["n1", "n2"]
        .iter()
        .map(|n| Arc::new(node(simple_node(n, "1", "1Gi", &[]), &[])))
        .collect();
    let p = pod(simple_pod("p", "", ""));
    let mut totals = Vec::new();
    let s = fw.run_score(&CycleState::new(), &p, &nodes, &mut totals);
    assert!(s.is_success(), "{s:?}");
    assert_eq!(totals, [50 * 2 + 30, 100 * 2]);
}

#[test]
fn an_out_of_range_score_is_an_error() {
    let fw = build(&profile(&[("FakeA", 0, json!({"score": {"n1": 101}}))])).unwrap();
    let nodes = vec![Arc::new(node(simple_node("n1", "1", "1Gi", &[]), &[]))];
    let mut totals = Vec::new();
    let s = fw.run_score(
        &CycleState::new(),
        &pod(simple_pod("p", "", "")),
        &nodes,
        &mut totals,
    );
    assert_eq!(s.code(), Code::Error);
    assert!(s.message().contains("invalid score 101"), "{}", s.message());
}

#[test]
fn a_pre_filter_skip_skips_that_plugins_filter() {
    let fw = build(&profile(&[
        (
            "FakeA",
            0,
            json!({"preFilter": {"code": "Skip"}, "filter": {"n1": "A says no"}}),
        ),
        ("FakeB", 0, json!({"filter": {"n1": "B says no"}})),
    ]))
    .unwrap();
    let snap = snapshot(vec![node(simple_node("n1", "1", "1Gi", &[]), &[])]);
    let p = pod(simple_pod("p", "", ""));
    let mut state = CycleState::new();
    let (_, s, _) = fw.run_pre_filter(&mut state, &p, &snap);
    assert!(s.is_success());
    assert_eq!(state.skip_filter, ["FakeA"]);
    let active = fw.active_filters(&state);
    let s = fw.run_filters_on(&active, &state, &p, &snap.nodes[0]);
    assert_eq!(s.plugin(), "FakeB");
    assert_eq!(s.message(), "B says no");
}

#[test]
fn pre_filter_results_intersect_and_an_empty_intersection_is_unresolvable() {
    let snap = snapshot(vec![]);
    let p = pod(simple_pod("p", "", ""));
    let fw = build(&profile(&[
        ("FakeA", 0, json!({"preFilter": {"nodes": ["n1", "n2"]}})),
        ("FakeB", 0, json!({"preFilter": {"nodes": ["n2", "n3"]}})),
    ]))
    .unwrap();
    let (r, s, with) = fw.run_pre_filter(&mut CycleState::new(), &p, &snap);
    assert!(s.is_success());
    assert_eq!(with, ["FakeA", "FakeB"]);
    assert_eq!(
        r.unwrap()
            .node_names
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        ["n2"]
    );
    let fw = build(&profile(&[
        ("FakeA", 0, json!({"preFilter": {"nodes": ["n1"]}})),
        ("FakeB", 0, json!({"preFilter": {"nodes": ["n3"]}})),
    ]))
    .unwrap();
    let (_, s, _) = fw.run_pre_filter(&mut CycleState::new(), &p, &snap);
    assert_eq!(s.code(), Code::UnschedulableAndUnresolvable);
    assert_eq!(
        s.message(),
        "node(s) didn't satisfy plugin(s) [FakeA FakeB] simultaneously"
    );
}

#[test]
fn a_pre_filter_rejection_is_attributed_and_unschedulable_lets_the_others_run() {
    let snap = snapshot(vec![]);
    let p = pod(simple_pod("p", "", ""));
    let fw = build(&profile(&[
        (
            "FakeA",
            0,
            json!({"preFilter": {"code": "Unschedulable", "reason": "a"}}),
        ),
        ("FakeB", 0, json!({"preFilter": {"code": "Skip"}})),
    ]))
    .unwrap();
    let mut state = CycleState::new();
    let (_, s, _) = fw.run_pre_filter(&mut state, &p, &snap);
    assert_eq!((s.code(), s.plugin()), (Code::Unschedulable, "FakeA"));
    assert_eq!(state.skip_filter, ["FakeB"], "the plugin after ran");
    let fw = build(&profile(&[
        (
            "FakeA",
            0,
            json!({"preFilter": {"code": "UnschedulableAndUnresolvable", "reason": "a"}}),
        ),
        ("FakeB", 0, json!({"preFilter": {"code": "Skip"}})),
    ]))
    .unwrap();
    let mut state = CycleState::new();
    let (_, s, _) = fw.run_pre_filter(&mut state, &p, &snap);
    assert_eq!(s.code(), Code::UnschedulableAndUnresolvable);
    assert!(state.skip_filter.is_empty(), "stopped at the first plugin");
}

#[test]
fn a_skipping_binder_passes_to_the_next() {
    let mut p = profile(&[
        ("FakeA", 0, json!({"bind": "Skip"})),
        ("FakeB", 0, json!({"bind": "Success"})),
    ]);
    p.plugins
        .multi_point
        .enabled
        .retain(|r| r.name != "DefaultBinder");
    let fw = build(&p).unwrap();
    let s = fw.run_bind(&CycleState::new(), &pod(simple_pod("p", "", "")), "n1");
    assert!(s.is_success());
    assert_eq!(s.plugin(), "FakeB");
}

#[test]
fn a_reserve_failure_is_attributed_and_unreserve_runs_in_reverse() {
    let fw = build(&profile(&[
        ("FakeA", 0, json!({"reserve": "Success"})),
        ("FakeB", 0, json!({"reserve": "Unschedulable"})),
    ]))
    .unwrap();
    let p = pod(simple_pod("p", "", ""));
    let mut state = CycleState::new();
    let s = fw.run_reserve(&mut state, &p, "n1");
    assert_eq!((s.code(), s.plugin()), (Code::Unschedulable, "FakeB"));
    fw.run_unreserve(&mut state, &p, "n1");
}

#[test]
fn permit_wait_returns_the_shortest_timeout() {
    let fw = build(&profile(&[("FakeA", 0, json!({"permit": "Wait"}))])).unwrap();
    let (s, t) = fw.run_permit(&mut CycleState::new(), &pod(simple_pod("p", "", "")), "n1");
    assert_eq!((s.code(), s.plugin()), (Code::Wait, "FakeA"));
    assert_eq!(t, Duration::from_millis(10));
}

struct Nominated(Vec<Arc<PodInfo>>);

impl PodNominator for Nominated {
    fn nominated_pods(&self, _node: &str) -> Vec<Arc<PodInfo>> {
        self.0.clone()
    }
}

fn with_priority(name: &str, priority: i32) -> Arc<PodInfo> {
    let mut v = simple_pod(name, "", "");
    v["spec"]["priority"] = priority.into();
    pod(v)
}

#[test]
fn nominated_pods_of_higher_or_equal_priority_count_as_running() {
    let fw = build(&profile(&[(
        "FakeA",
        0,
        json!({"filter": {}, "filterMaxPods": 1}),
    )]))
    .unwrap();
    fw.set_nominator(Arc::new(Nominated(vec![with_priority("nominated", 10)])));
    let n = node(simple_node("n1", "1", "1Gi", &[]), &[]);
    let state = CycleState::new();
    let active = fw.active_filters(&state);
    let low = with_priority("low", 5);
    let s = fw.run_filters_with_nominated_pods(&active, &state, &low, &n);
    assert_eq!(
        s.message(),
        "Too many pods",
        "the nominated pod takes the room"
    );
    let high = with_priority("high", 20);
    assert!(
        fw.run_filters_with_nominated_pods(&active, &state, &high, &n)
            .is_success(),
        "a higher-priority pod may take room freed for a lower one"
    );
}
