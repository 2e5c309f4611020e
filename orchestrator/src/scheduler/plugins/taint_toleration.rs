//! TaintToleration (upstream `plugins/tainttoleration`): Filter rejects a node with a NoSchedule
//! or NoExecute taint the pod does not tolerate; Score counts the PreferNoSchedule taints the pod
//! does not tolerate, normalized reversed so the node with the fewest scores highest.
//!
//! The toleration test ([`tolerates`]) and the untolerated-taint search are public: NodeUnschedulable
//! and PodTopologySpread's `nodeTaintsPolicy` use the same rules. Also here: upstream's
//! `helper.DefaultNormalizeScore`, shared by the plugins that scale raw scores to 0..=100.
//!
//! Upstream's Filter reason is the fixed `node(s) had untolerated taint(s)` (it names no taint,
//! so that nodes aggregate into one line of `FailedScheduling`); older releases printed
//! `{key: value}`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Taint, Toleration};

use crate::scheduler::framework::{
    ActionType, ClusterEvent, CycleState, EventResource, Filter, Handle, MAX_NODE_SCORE, NodeInfo,
    NodeScore, Plugin, PodInfo, PreScore, Score, Snapshot, Status,
};
use crate::scheduler::plugins::TAINT_TOLERATION;

/// The Filter reason (upstream's, word for word).
pub const ERR_REASON_UNTOLERATED: &str = "node(s) had untolerated taint(s)";

const NO_SCHEDULE: &str = "NoSchedule";
const NO_EXECUTE: &str = "NoExecute";
const PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";

/// Whether `toleration` tolerates `taint` (upstream `Toleration.ToleratesTaint`): an empty effect
/// or key matches any; `Exists` matches any value, `Equal` (or no operator) the same value, and
/// `Lt`/`Gt` compare integer values (upstream's comparison operators, as the taint-eviction
/// controller applies them). Allocates nothing.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    fn s(o: &Option<String>) -> &str {
        o.as_deref().unwrap_or("")
    }
    let effect = s(&toleration.effect);
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = s(&toleration.key);
    if !key.is_empty() && key != taint.key {
        return false;
    }
    let taint_value = s(&taint.value);
    match s(&toleration.operator) {
        "" | "Equal" => s(&toleration.value) == taint_value,
        "Exists" => true,
        op @ ("Lt" | "Gt") => {
            let (Ok(tol), Ok(tv)) = (
                s(&toleration.value).parse::<i64>(),
                taint_value.parse::<i64>(),
            ) else {
                return false;
            };
            if op == "Lt" { tv < tol } else { tv > tol }
        }
        _ => false,
    }
}

/// Whether any of `tolerations` tolerates `taint` (upstream `TolerationsTolerateTaint`).
pub fn tolerations_tolerate(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The first taint that passes `filter` and no toleration tolerates (upstream
/// `FindMatchingUntoleratedTaint`).
pub fn find_untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .find(|taint| filter(taint) && !tolerations_tolerate(tolerations, taint))
}

/// Whether a taint keeps pods off the node (upstream `helper.DoNotScheduleTaintsFilterFunc`):
/// NoSchedule and NoExecute.
pub fn is_do_not_schedule(taint: &Taint) -> bool {
    taint.effect == NO_SCHEDULE || taint.effect == NO_EXECUTE
}

/// Scale scores to `0..=max_priority` by the highest score, reversed if asked (upstream
/// `helper.DefaultNormalizeScore`). All zero: all `max_priority` when reversed, unchanged
/// otherwise.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [NodeScore<'_>]) {
    let max_count = scores.iter().map(|s| s.score).max().unwrap_or(0).max(0);
    if max_count == 0 {
        if reverse {
            for s in scores.iter_mut() {
                s.score = max_priority;
            }
        }
        return;
    }
    for s in scores.iter_mut() {
        let mut score = max_priority * s.score / max_count;
        if reverse {
            score = max_priority - score;
        }
        s.score = score;
    }
}

/// The plugin. Stateless: tolerations are read from the pod, taints from the node.
#[derive(Debug, Default)]
pub struct TaintToleration;

/// PreScore state: the pod's tolerations that can tolerate a PreferNoSchedule taint (empty
/// effect or PreferNoSchedule), kept once per pod.
#[derive(Clone, Debug, Default)]
struct PreScoreState {
    prefer_no_schedule: Vec<Toleration>,
}

/// Makes the plugin; it takes no arguments.
pub fn new(_args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(TaintToleration))
}

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        TAINT_TOLERATION
    }
    fn as_filter(&self) -> Option<&dyn Filter> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScore> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn Score> {
        Some(self)
    }
    /// Upstream's list with queueing hints on: a node added or its taints changed, or the
    /// pod's own tolerations changed.
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(vec![
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD | ActionType::UPDATE_NODE_TAINT,
            },
            ClusterEvent {
                resource: EventResource::Pod,
                action: ActionType::UPDATE_POD_TOLERATIONS,
            },
        ])
    }
}

impl Filter for TaintToleration {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match find_untolerated_taint(&node.taints, &pod.tolerations, is_do_not_schedule) {
            None => Status::success(),
            Some(_) => Status::unresolvable(ERR_REASON_UNTOLERATED),
        }
    }
}

impl PreScore for TaintToleration {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snapshot: &Snapshot,
    ) -> Status {
        let prefer_no_schedule = pod
            .tolerations
            .iter()
            .filter(|t| {
                let effect = t.effect.as_deref().unwrap_or("");
                effect.is_empty() || effect == PREFER_NO_SCHEDULE
            })
            .cloned()
            .collect();
        state.write(PreScoreState { prefer_no_schedule });
        Status::success()
    }
}

impl Score for TaintToleration {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> (i64, Status) {
        let count = |tolerations: &[Toleration]| {
            node.taints
                .iter()
                .filter(|t| t.effect == PREFER_NO_SCHEDULE && !tolerations_tolerate(tolerations, t))
                .count() as i64
        };
        match state.read::<PreScoreState>() {
            Some(s) => (count(&s.prefer_no_schedule), Status::success()),
            // PreScore disabled: every toleration is a candidate (the effect filter inside
            // `tolerates` gives the same count).
            None => (count(&pod.tolerations), Status::success()),
        }
    }
    fn has_normalize(&self) -> bool {
        true
    }
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::{Value, json};

    use super::*;
    use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod};
    use crate::scheduler::framework::{Code, CycleState};

    fn tainted_node(name: &str, taints: Value) -> NodeInfo {
        let mut n = simple_node(name, "4", "8Gi", &[]);
        n["spec"] = json!({ "taints": taints });
        node(n, &[])
    }

    fn tolerating_pod(tolerations: Value) -> Arc<PodInfo> {
        let mut p = simple_pod("p", "", "");
        p["spec"]["tolerations"] = tolerations;
        pod(p)
    }

    // Upstream `TestTaintTolerationFilter`.
    #[rstest]
    #[case::no_tolerations_on_a_tainted_node(
        json!([]), json!([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}]), false)]
    #[case::equal_toleration_matches(
        json!([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}]),
        json!([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}]), true)]
    #[case::different_value_does_not(
        json!([{"key": "dedicated", "operator": "Equal", "value": "user2", "effect": "NoSchedule"}]),
        json!([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}]), false)]
    #[case::exists_matches_any_value(
        json!([{"key": "foo", "operator": "Exists", "effect": "NoSchedule"}]),
        json!([{"key": "foo", "value": "bar", "effect": "NoSchedule"}]), true)]
    #[case::each_taint_needs_a_toleration(
        json!([{"key": "dedicated", "operator": "Equal", "value": "user2", "effect": "NoSchedule"},
               {"key": "foo", "operator": "Exists", "effect": "NoSchedule"}]),
        json!([{"key": "dedicated", "value": "user2", "effect": "NoSchedule"},
               {"key": "foo", "value": "bar", "effect": "NoSchedule"}]), true)]
    #[case::effect_must_match(
        json!([{"key": "foo", "operator": "Equal", "value": "bar", "effect": "PreferNoSchedule"}]),
        json!([{"key": "foo", "value": "bar", "effect": "NoSchedule"}]), false)]
    #[case::empty_effect_matches_all(
        json!([{"key": "foo", "operator": "Equal", "value": "bar"}]),
        json!([{"key": "foo", "value": "bar", "effect": "NoSchedule"}]), true)]
    #[case::prefer_no_schedule_taints_do_not_filter(
        json!([{"key": "dedicated", "operator": "Equal", "value": "user2", "effect": "NoSchedule"}]),
        json!([{"key": "dedicated", "value": "user1", "effect": "PreferNoSchedule"}]), true)]
    #[case::no_execute_filters(
        json!([]), json!([{"key": "k", "value": "v", "effect": "NoExecute"}]), false)]
    #[case::empty_key_with_exists_tolerates_everything(
        json!([{"operator": "Exists"}]),
        json!([{"key": "a", "value": "1", "effect": "NoSchedule"},
               {"key": "b", "effect": "NoExecute"}]), true)]
    fn filter_matches_upstream(
        #[case] tolerations: Value,
        #[case] taints: Value,
        #[case] fits: bool,
    ) {
        let p = tolerating_pod(tolerations);
        let n = tainted_node("n", taints);
        let status = TaintToleration.filter(&CycleState::new(), &p, &n);
        if fits {
            assert!(status.is_success(), "{status:?}");
        } else {
            assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
            assert_eq!(status.message(), "node(s) had untolerated taint(s)");
        }
    }

    #[rstest]
    #[case::lt_compares_numbers(json!({"key": "k", "operator": "Lt", "value": "10"}), "5", true)]
    #[case::lt_rejects_larger(json!({"key": "k", "operator": "Lt", "value": "10"}), "15", false)]
    #[case::gt_compares_numbers(json!({"key": "k", "operator": "Gt", "value": "10"}), "15", true)]
    #[case::gt_needs_integers(json!({"key": "k", "operator": "Gt", "value": "10"}), "x", false)]
    #[case::unknown_operator(json!({"key": "k", "operator": "Foo", "value": "v"}), "v", false)]
    fn comparison_operators(#[case] toleration: Value, #[case] value: &str, #[case] ok: bool) {
        let t: Toleration = serde_json::from_value(toleration).unwrap();
        let taint: Taint =
            serde_json::from_value(json!({"key": "k", "value": value, "effect": "NoSchedule"}))
                .unwrap();
        assert_eq!(tolerates(&t, &taint), ok);
    }

    fn scores(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<i64> {
        let mut state = CycleState::new();
        let snap = Snapshot::default();
        assert!(
            TaintToleration
                .pre_score(&mut state, p, &[], &snap)
                .is_success()
        );
        let mut out: Vec<NodeScore> = nodes
            .iter()
            .map(|n| {
                let (s, st) = TaintToleration.score(&state, p, n);
                assert!(st.is_success());
                NodeScore {
                    name: &n.name,
                    score: s,
                }
            })
            .collect();
        TaintToleration.normalize(&state, p, &mut out);
        out.into_iter().map(|s| s.score).collect()
    }

    // Upstream `TestTaintTolerationScore`.
    #[test]
    fn nodes_with_fewer_intolerable_prefer_no_schedule_taints_score_higher() {
        let pref = |k: &str, v: &str| json!({"key": k, "value": v, "effect": "PreferNoSchedule"});
        // Tolerated taints do not count.
        let p = tolerating_pod(json!([
            {"key": "foo", "operator": "Equal", "value": "bar", "effect": "PreferNoSchedule"}]));
        let n1 = tainted_node("n1", json!([pref("foo", "bar")]));
        let n2 = tainted_node("n2", json!([pref("foo", "blah")]));
        assert_eq!(scores(&p, &[n1, n2]), vec![100, 0]);

        // The more intolerable taints, the lower.
        let p = tolerating_pod(json!([
            {"key": "cpu-type", "operator": "Equal", "value": "arm64", "effect": "PreferNoSchedule"},
            {"key": "disk-type", "operator": "Equal", "value": "ssd", "effect": "PreferNoSchedule"}]));
        let n1 = tainted_node("n1", json!([]));
        let n2 = tainted_node("n2", json!([pref("cpu-type", "arm64")]));
        let n3 = tainted_node(
            "n3",
            json!([pref("cpu-type", "arm64"), pref("disk-type", "ssd")]),
        );
        assert_eq!(scores(&p, &[n1, n2, n3]), vec![100, 100, 100]);
        let n1 = tainted_node("n1", json!([]));
        let n2 = tainted_node("n2", json!([pref("cpu-type", "x86")]));
        let n3 = tainted_node(
            "n3",
            json!([pref("cpu-type", "x86"), pref("disk-type", "hdd")]),
        );
        assert_eq!(scores(&p, &[n1, n2, n3]), vec![100, 50, 0]);

        // NoSchedule taints and NoSchedule-only tolerations play no part in scoring.
        let p = tolerating_pod(json!([
            {"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}]));
        let n1 = tainted_node("n1", json!([]));
        let n2 = tainted_node(
            "n2",
            json!([{"key": "cpu-type", "value": "arm64", "effect": "NoSchedule"}]),
        );
        let n3 = tainted_node("n3", json!([pref("foo", "bar")]));
        assert_eq!(scores(&p, &[n1, n2, n3]), vec![100, 100, 0]);
    }

    #[test]
    fn default_normalize_scales_by_the_maximum() {
        let mut s = vec![
            NodeScore {
                name: "a",
                score: 2,
            },
            NodeScore {
                name: "b",
                score: 8,
            },
        ];
        default_normalize_score(100, false, &mut s);
        assert_eq!((s[0].score, s[1].score), (25, 100));
        let mut zeros = vec![NodeScore {
            name: "a",
            score: 0,
        }];
        default_normalize_score(100, false, &mut zeros);
        assert_eq!(zeros[0].score, 0);
        default_normalize_score(100, true, &mut zeros);
        assert_eq!(zeros[0].score, 100);
    }
}
