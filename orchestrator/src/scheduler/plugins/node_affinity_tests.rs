//! NodeAffinity's tests: upstream `TestNodeAffinity` (Filter and PreFilter), `TestNodeAffinityPriority`
//! (Score) and the `addedAffinity` cases.

use rstest::rstest;
use serde_json::{Value, json};

use super::*;
use crate::scheduler::framework::Code;
use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod};

fn labelled_node(name: &str, labels: Value) -> NodeInfo {
    let mut n = simple_node(name, "1", "1Gi", &[]);
    n["metadata"]["labels"] = labels;
    node(n, &[])
}

fn affinity_pod(node_selector: Value, affinity: Value) -> Arc<PodInfo> {
    let mut p = simple_pod("p", "", "");
    if !node_selector.is_null() {
        p["spec"]["nodeSelector"] = node_selector;
    }
    if !affinity.is_null() {
        p["spec"]["affinity"] = json!({ "nodeAffinity": affinity });
    }
    pod(p)
}

/// Required affinity with these terms.
fn required(terms: Value) -> Value {
    json!({ "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": terms } })
}

fn expr(key: &str, op: &str, values: &[&str]) -> Value {
    json!({ "key": key, "operator": op, "values": values })
}

/// PreFilter then Filter, as the runtime runs them; the PreFilter status when it rejects.
fn run(pl: &NodeAffinity, p: &PodInfo, n: &NodeInfo) -> (Option<PreFilterResult>, Status) {
    let mut state = CycleState::new();
    let (result, pre) = pl.pre_filter(&mut state, p, &Snapshot::default());
    if pre.is_skip() {
        return (result, Status::success());
    }
    if !pre.is_success() {
        return (result, pre);
    }
    (result, pl.filter(&state, p, n))
}

// Upstream `TestNodeAffinity`.
#[rstest]
#[case::no_selector(Value::Null, Value::Null, json!({}), true)]
#[case::missing_labels(json!({"foo": "bar"}), Value::Null, json!({}), false)]
#[case::same_labels(json!({"foo": "bar"}), Value::Null, json!({"foo": "bar"}), true)]
#[case::node_labels_are_a_superset(json!({"foo": "bar"}), Value::Null, json!({"foo": "bar", "baz": "blah"}), true)]
#[case::node_labels_are_a_subset(json!({"foo": "bar", "baz": "blah"}), Value::Null, json!({"foo": "bar"}), false)]
#[case::in_operator_matches(Value::Null, required(json!([{"matchExpressions": [expr("foo", "In", &["bar", "value2"])]}])),
    json!({"foo": "bar"}), true)]
#[case::gt_operator_matches(Value::Null, required(json!([{"matchExpressions": [expr("kernel-version", "Gt", &["0204"])]}])),
    json!({"kernel-version": "0206"}), true)]
#[case::not_in_operator_matches(Value::Null, required(json!([{"matchExpressions": [expr("mem-type", "NotIn", &["DDR", "DDR2"])]}])),
    json!({"mem-type": "DDR3"}), true)]
#[case::exists_operator_matches(Value::Null, required(json!([{"matchExpressions": [expr("GPU", "Exists", &[])]}])),
    json!({"GPU": "NVIDIA-GRID-K1"}), true)]
#[case::value_not_in_affinity(Value::Null, required(json!([{"matchExpressions": [expr("foo", "In", &["value1", "value2"])]}])),
    json!({"foo": "bar"}), false)]
#[case::nil_terms_match_nothing(Value::Null, json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}),
    json!({"foo": "bar"}), false)]
#[case::empty_term_matches_nothing(Value::Null, required(json!([{}])), json!({"foo": "bar"}), false)]
#[case::empty_match_expressions_match_nothing(Value::Null, required(json!([{"matchExpressions": []}])), json!({"foo": "bar"}), false)]
#[case::no_required_affinity_with_selector_matches(json!({"foo": "bar"}), json!({}), json!({"foo": "bar"}), true)]
#[case::all_expressions_must_match(Value::Null, required(json!([{"matchExpressions": [
        expr("GPU", "Exists", &[]), expr("GPU", "NotIn", &["AMD", "INTER"])]}])),
    json!({"GPU": "NVIDIA-GRID-K1"}), true)]
#[case::one_expression_fails(Value::Null, required(json!([{"matchExpressions": [
        expr("GPU", "Exists", &[]), expr("GPU", "In", &["AMD", "INTER"])]}])),
    json!({"GPU": "NVIDIA-GRID-K1"}), false)]
#[case::terms_are_ored(Value::Null, required(json!([
        {"matchExpressions": [expr("foo", "In", &["bar", "value2"])]},
        {"matchExpressions": [expr("diffkey", "In", &["wrong", "value2"])]}])),
    json!({"foo": "bar"}), true)]
#[case::selector_and_affinity_both_required(json!({"foo": "bar"}), required(json!([{"matchExpressions": [expr("foo", "Exists", &[])]}])),
    json!({"foo": "bar"}), true)]
#[case::selector_fails_though_affinity_matches(json!({"foo": "bar"}), required(json!([{"matchExpressions": [expr("foo", "Exists", &[])]}])),
    json!({"foo": "barrrrrr"}), false)]
#[case::does_not_exist(Value::Null, required(json!([{"matchExpressions": [expr("foo", "DoesNotExist", &[])]}])),
    json!({"bar": "x"}), true)]
#[case::lt_operator(Value::Null, required(json!([{"matchExpressions": [expr("n", "Lt", &["5"])]}])), json!({"n": "10"}), false)]
#[case::gt_needs_an_integer_label(Value::Null, required(json!([{"matchExpressions": [expr("n", "Gt", &["5"])]}])), json!({"n": "ten"}), false)]
#[case::an_invalid_term_is_skipped(Value::Null, required(json!([
        {"matchExpressions": [expr("foo", "In", &[])]},
        {"matchExpressions": [expr("foo", "Exists", &[])]}])),
    json!({"foo": "bar"}), true)]
#[case::an_invalid_term_alone_matches_nothing(Value::Null, required(json!([{"matchExpressions": [expr("foo", "Gt", &["x"])]}])),
    json!({"foo": "1"}), false)]
#[case::match_fields_by_name(Value::Null, required(json!([{"matchFields": [expr("metadata.name", "In", &["node1"])]}])),
    json!({}), true)]
#[case::match_fields_not_in(Value::Null, required(json!([{"matchFields": [expr("metadata.name", "NotIn", &["node1"])]}])),
    json!({}), false)]
#[case::match_fields_other_name(Value::Null, required(json!([{"matchFields": [expr("metadata.name", "In", &["node2"])]}])),
    json!({}), false)]
#[case::match_fields_and_expressions_are_anded(Value::Null, required(json!([{
        "matchFields": [expr("metadata.name", "In", &["node1"])],
        "matchExpressions": [expr("foo", "In", &["bar"])]}])),
    json!({"foo": "bar"}), true)]
#[case::match_fields_and_failing_expression(Value::Null, required(json!([{
        "matchFields": [expr("metadata.name", "In", &["node1"])],
        "matchExpressions": [expr("foo", "In", &["bar"])]}])),
    json!({"foo": "baz"}), false)]
#[case::match_fields_with_two_values_does_not_parse(Value::Null, required(json!([
        {"matchFields": [expr("metadata.name", "In", &["node1", "node2"])]},
        {"matchExpressions": [expr("foo", "In", &["bar"])]}])),
    json!({"foo": "bar"}), true)]
fn filter_matches_upstream(
    #[case] node_selector: Value,
    #[case] affinity: Value,
    #[case] labels: Value,
    #[case] fits: bool,
) {
    let p = affinity_pod(node_selector, affinity);
    let n = labelled_node("node1", labels);
    let (_, status) = run(&NodeAffinity::default(), &p, &n);
    if fits {
        assert!(status.is_success(), "{status:?}");
    } else {
        assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
        assert_eq!(status.message(), ERR_REASON_POD);
    }
}

#[test]
fn a_pod_without_selector_or_affinity_skips_the_filter() {
    let mut state = CycleState::new();
    let p = affinity_pod(Value::Null, Value::Null);
    let (_, status) = NodeAffinity::default().pre_filter(&mut state, &p, &Snapshot::default());
    assert!(status.is_skip());
}

fn names(v: &[&str]) -> Option<PreFilterResult> {
    Some(PreFilterResult {
        node_names: Some(v.iter().map(|s| s.to_string()).collect()),
    })
}

// Upstream `TestNodeAffinity`'s PreFilter results.
#[rstest]
#[case::one_term_pins_a_name(json!([{"matchFields": [expr("metadata.name", "In", &["node1"])]}]), names(&["node1"]), true)]
#[case::names_are_intersected_within_a_term(json!([{"matchFields": [
        expr("metadata.name", "In", &["node1", "node2"]), expr("metadata.name", "In", &["node2", "node3"])]}]),
    names(&["node2"]), true)]
#[case::names_are_united_across_terms(json!([
        {"matchFields": [expr("metadata.name", "In", &["node1"])]},
        {"matchFields": [expr("metadata.name", "In", &["node2"])]}]),
    names(&["node1", "node2"]), true)]
#[case::a_term_without_names_narrows_nothing(json!([
        {"matchFields": [expr("metadata.name", "In", &["node1"])]},
        {"matchExpressions": [expr("foo", "In", &["bar"])]}]),
    None, true)]
#[case::disjoint_names_conflict(json!([{"matchFields": [
        expr("metadata.name", "In", &["node1"]), expr("metadata.name", "In", &["node2"])]}]),
    None, false)]
fn pre_filter_narrows_to_pinned_node_names(
    #[case] terms: Value,
    #[case] want: Option<PreFilterResult>,
    #[case] ok: bool,
) {
    let p = affinity_pod(Value::Null, required(terms));
    let mut state = CycleState::new();
    let (result, status) = NodeAffinity::default().pre_filter(&mut state, &p, &Snapshot::default());
    assert_eq!(result, want);
    if ok {
        assert!(status.is_success());
    } else {
        assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
        assert_eq!(status.message(), ERR_REASON_CONFLICT);
    }
}

#[test]
fn added_affinity_is_enforced_before_the_pods_own() {
    let pl = NodeAffinity::from_args(&json!({"addedAffinity": required(json!([
        {"matchExpressions": [expr("zone", "In", &["foo"])]}]))}))
    .unwrap();
    let p = affinity_pod(Value::Null, Value::Null);
    let (_, status) = run(&pl, &p, &labelled_node("n", json!({"zone": "bar"})));
    assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
    assert_eq!(status.message(), ERR_REASON_ENFORCED);
    let (_, status) = run(&pl, &p, &labelled_node("n", json!({"zone": "foo"})));
    assert!(status.is_success());
    // Both must hold.
    let p = affinity_pod(json!({"disk": "ssd"}), Value::Null);
    let (_, status) = run(&pl, &p, &labelled_node("n", json!({"zone": "foo"})));
    assert_eq!(status.message(), ERR_REASON_POD);
}

#[test]
fn invalid_added_affinity_is_a_configuration_error() {
    let err = NodeAffinity::from_args(&json!({"addedAffinity": required(json!([
        {"matchExpressions": [expr("zone", "In", &[])]}]))}))
    .unwrap_err();
    assert!(
        err.starts_with("parsing addedAffinity.requiredDuringSchedulingIgnoredDuringExecution"),
        "{err}"
    );
}

fn preferred(terms: Value) -> Value {
    json!({ "preferredDuringSchedulingIgnoredDuringExecution": terms })
}

fn score_all(pl: &NodeAffinity, p: &PodInfo, nodes: &[NodeInfo]) -> Option<Vec<i64>> {
    let mut state = CycleState::new();
    let st = pl.pre_score(&mut state, p, &[], &Snapshot::default());
    if st.is_skip() {
        return None;
    }
    assert!(st.is_success(), "{st:?}");
    let mut scores: Vec<NodeScore> = nodes
        .iter()
        .map(|n| NodeScore {
            name: &n.name,
            score: pl.score(&state, p, n).0,
        })
        .collect();
    assert!(pl.normalize(&state, p, &mut scores).is_success());
    Some(scores.into_iter().map(|s| s.score).collect())
}

// Upstream `TestNodeAffinityPriority`.
#[test]
fn preferred_terms_score_by_matched_weight() {
    let label1 = json!({"foo": "bar"});
    let label2 = json!({"key": "value"});
    let label3 = json!({"az": "az1"});
    let label4 = json!({"abc": "az11", "def": "az22"});
    let label5 = json!({"foo": "bar", "key": "value", "az": "az1"});
    let affinity1 = preferred(json!([
        {"weight": 2, "preference": {"matchExpressions": [expr("foo", "In", &["bar"])]}}]));
    let affinity2 = preferred(json!([
        {"weight": 2, "preference": {"matchExpressions": [expr("foo", "In", &["bar"])]}},
        {"weight": 4, "preference": {"matchExpressions": [expr("key", "In", &["value"])]}},
        {"weight": 5, "preference": {"matchExpressions": [
            expr("foo", "In", &["bar"]), expr("key", "In", &["value"]), expr("az", "In", &["az1"])]}}]));
    let pl = NodeAffinity::default();

    // All nodes get 0 with no preferred affinity matching.
    let p = affinity_pod(
        Value::Null,
        preferred(json!([
        {"weight": 2, "preference": {"matchExpressions": [expr("foo", "In", &["baz"])]}}])),
    );
    let nodes = [
        labelled_node("node1", label1.clone()),
        labelled_node("node2", label2.clone()),
    ];
    assert_eq!(score_all(&pl, &p, &nodes), Some(vec![0, 0]));

    // Only node1 matches.
    let p = affinity_pod(Value::Null, affinity1);
    let nodes = [
        labelled_node("node1", label1.clone()),
        labelled_node("node2", label4),
        labelled_node("node3", label3.clone()),
    ];
    assert_eq!(score_all(&pl, &p, &nodes), Some(vec![100, 0, 0]));

    // All match to different degrees: node5 gets 2+4+5 = 11, node1 2 → 18, node2 4 → 36.
    let p = affinity_pod(Value::Null, affinity2);
    let nodes = [
        labelled_node("node1", label1),
        labelled_node("node5", label5),
        labelled_node("node2", label2),
    ];
    assert_eq!(score_all(&pl, &p, &nodes), Some(vec![18, 100, 36]));
}

#[test]
fn added_preferred_terms_add_to_the_pods() {
    let pl = NodeAffinity::from_args(&json!({"addedAffinity": preferred(json!([
        {"weight": 5, "preference": {"matchExpressions": [expr("zone", "In", &["a"])]}}]))}))
    .unwrap();
    let p = affinity_pod(
        Value::Null,
        preferred(json!([
        {"weight": 5, "preference": {"matchExpressions": [expr("disk", "In", &["ssd"])]}}])),
    );
    let nodes = [
        labelled_node("n1", json!({"zone": "a", "disk": "ssd"})),
        labelled_node("n2", json!({"zone": "a"})),
        labelled_node("n3", json!({})),
    ];
    assert_eq!(score_all(&pl, &p, &nodes), Some(vec![100, 50, 0]));
    // Without the pod's own, the added terms still score.
    let p = affinity_pod(Value::Null, Value::Null);
    assert_eq!(score_all(&pl, &p, &nodes), Some(vec![100, 100, 0]));
}

#[test]
fn scoring_is_skipped_without_preferred_terms_and_fails_on_invalid_ones() {
    let pl = NodeAffinity::default();
    let p = affinity_pod(Value::Null, Value::Null);
    assert_eq!(score_all(&pl, &p, &[labelled_node("n", json!({}))]), None);
    let p = affinity_pod(
        Value::Null,
        preferred(json!([
        {"weight": 1, "preference": {"matchExpressions": [expr("foo", "Gt", &["x"])]}}])),
    );
    let mut state = CycleState::new();
    let st = pl.pre_score(&mut state, &p, &[], &Snapshot::default());
    assert_eq!(st.code(), Code::Error);
}

#[test]
fn required_affinity_is_shared_with_other_plugins() {
    let p = affinity_pod(
        json!({"a": "1"}),
        required(json!([{"matchExpressions": [expr("b", "Exists", &[])]}])),
    );
    let r = RequiredNodeAffinity::from_pod(&p);
    assert!(r.matches(&labelled_node("n", json!({"a": "1", "b": ""}))));
    assert!(!r.matches(&labelled_node("n", json!({"a": "1"}))));
}
