//! Taints and tolerations as upstream's node controllers reason about them: the well-known taint
//! keys (`k8s.io/api/core/v1/well_known_taints.go`), which condition gives which taint
//! (TaintNodesByCondition), set differences by key and effect (`pkg/util/taints`), and whether a
//! pod's tolerations cover a node's taints and for how long (`Toleration.ToleratesTaint`,
//! `GetMatchingTolerations`, the taint manager's `getMinTolerationTime`). Pure functions only.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

/// The node's Ready condition is False.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The node's Ready condition is Unknown: the node controller lost its heartbeats.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The node is cordoned (`spec.unschedulable`).
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// The node reports memory pressure.
pub const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
/// The node reports disk pressure.
pub const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
/// The node's network is not configured.
pub const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
/// The node reports PID pressure.
pub const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
/// Set by an operator on a node that is known to be shut down.
pub const TAINT_OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

/// Taint effect: running pods that do not tolerate it are evicted.
pub const NO_EXECUTE: &str = "NoExecute";
/// Taint effect: new pods that do not tolerate it are not scheduled.
pub const NO_SCHEDULE: &str = "NoSchedule";

/// The taint a node condition in a status gives (upstream `nodeConditionToTaintKeyStatusMap`).
pub(crate) fn condition_taint(condition: &str, status: &str) -> Option<&'static str> {
    match (condition, status) {
        ("Ready", "False") => Some(TAINT_NOT_READY),
        ("Ready", "Unknown") => Some(TAINT_UNREACHABLE),
        ("MemoryPressure", "True") => Some(TAINT_MEMORY_PRESSURE),
        ("DiskPressure", "True") => Some(TAINT_DISK_PRESSURE),
        ("NetworkUnavailable", "True") => Some(TAINT_NETWORK_UNAVAILABLE),
        ("PIDPressure", "True") => Some(TAINT_PID_PRESSURE),
        _ => None,
    }
}

/// Whether a taint key is one the node controller derives from a condition (upstream
/// `taintKeyToNodeConditionMap`).
fn is_condition_taint(key: &str) -> bool {
    matches!(
        key,
        TAINT_NOT_READY
            | TAINT_UNREACHABLE
            | TAINT_NETWORK_UNAVAILABLE
            | TAINT_MEMORY_PRESSURE
            | TAINT_DISK_PRESSURE
            | TAINT_PID_PRESSURE
    )
}

/// A taint with a key and an effect and nothing else: what the controllers add.
pub(crate) fn taint(key: &str, effect: &str) -> Taint {
    Taint {
        key: key.to_string(),
        effect: effect.to_string(),
        ..Default::default()
    }
}

/// Upstream `Taint.MatchTaint`: taints are the same taint when key and effect agree.
pub(crate) fn same_taint(a: &Taint, b: &Taint) -> bool {
    a.key == b.key && a.effect == b.effect
}

fn taint_exists(taints: &[Taint], t: &Taint) -> bool {
    taints.iter().any(|x| same_taint(x, t))
}

/// The NoSchedule taints a node should carry for its conditions (in the order of
/// `status.conditions`) and its cordon (upstream `doNoScheduleTaintingPass`).
pub(crate) fn desired_no_schedule(
    conditions: &[(String, String)],
    unschedulable: bool,
) -> Vec<Taint> {
    let mut out: Vec<Taint> = conditions
        .iter()
        .filter_map(|(kind, status)| condition_taint(kind, status))
        .map(|key| taint(key, NO_SCHEDULE))
        .collect();
    if unschedulable {
        out.push(taint(TAINT_UNSCHEDULABLE, NO_SCHEDULE));
    }
    out
}

/// What to add and remove so that the node's controller-owned NoSchedule taints equal
/// `desired` (upstream `TaintSetFilter` + `TaintSetDiff`). Taints others own are left alone.
pub(crate) fn no_schedule_diff(desired: &[Taint], current: &[Taint]) -> (Vec<Taint>, Vec<Taint>) {
    let owned: Vec<Taint> = current
        .iter()
        .filter(|t| {
            t.effect == NO_SCHEDULE && (t.key == TAINT_UNSCHEDULABLE || is_condition_taint(&t.key))
        })
        .cloned()
        .collect();
    let add = desired
        .iter()
        .filter(|t| !taint_exists(&owned, t))
        .cloned()
        .collect();
    let remove = owned
        .iter()
        .filter(|t| !taint_exists(desired, t))
        .cloned()
        .collect();
    (add, remove)
}

/// The node's taints after adding `add` (stamped `timeAdded` = `now`, replacing a taint with
/// the same key and effect in place, else appended) and removing every taint matching one of
/// `remove` (upstream `SwapNodeControllerTaint`). `None` when nothing changes.
pub(crate) fn swap(
    current: &[Taint],
    add: &[Taint],
    remove: &[Taint],
    now: jiff::Timestamp,
) -> Option<Vec<Taint>> {
    let mut out: Vec<Taint> = current.to_vec();
    let mut changed = false;
    for t in add {
        let mut t = t.clone();
        t.time_added = Some(Time(now));
        match out.iter_mut().find(|x| same_taint(x, &t)) {
            Some(existing) if *existing == t => {}
            Some(existing) => {
                *existing = t;
                changed = true;
            }
            None => {
                out.push(t);
                changed = true;
            }
        }
    }
    let before = out.len();
    out.retain(|x| !remove.iter().any(|r| same_taint(x, r)));
    changed |= out.len() != before;
    changed.then_some(out)
}

/// The NoExecute taints among `taints`, in order.
pub(crate) fn no_execute(taints: &[Taint]) -> Vec<Taint> {
    taints
        .iter()
        .filter(|t| t.effect == NO_EXECUTE)
        .cloned()
        .collect()
}

/// `spec.taints` of a node.
pub(crate) fn node_taints(node: &Value) -> Vec<Taint> {
    node.pointer("/spec/taints")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// `spec.tolerations` of a pod.
pub(crate) fn pod_tolerations(pod: &Value) -> Vec<Toleration> {
    pod.pointer("/spec/tolerations")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Upstream `Toleration.ToleratesTaint`, including the numeric `Lt`/`Gt` operators.
pub(crate) fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let s = |o: &Option<String>| o.as_deref().unwrap_or("").to_string();
    let (effect, key, value) = (s(&t.effect), s(&t.key), s(&t.value));
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    if !key.is_empty() && key != taint.key {
        return false;
    }
    let taint_value = taint.value.as_deref().unwrap_or("");
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => value == taint_value,
        "Exists" => true,
        op @ ("Lt" | "Gt") => {
            let (Ok(tol), Ok(tv)) = (value.parse::<i64>(), taint_value.parse::<i64>()) else {
                return false;
            };
            if op == "Lt" { tv < tol } else { tv > tol }
        }
        _ => false,
    }
}

/// For each taint, the first toleration that tolerates it; `None` when some taint is not
/// tolerated (upstream `GetMatchingTolerations`).
pub(crate) fn matching_tolerations<'a>(
    taints: &[Taint],
    tolerations: &'a [Toleration],
) -> Option<Vec<&'a Toleration>> {
    taints
        .iter()
        .map(|taint| tolerations.iter().find(|t| tolerates(t, taint)))
        .collect()
}

/// How long the tolerations that matched let a pod stay (upstream `getMinTolerationTime`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stay {
    /// No toleration bounds the stay.
    Forever,
    /// Until the smallest `tolerationSeconds` (zero or negative: at once).
    For(Duration),
}

/// The stay the used tolerations allow; no tolerations at all means no stay.
pub(crate) fn stay(used: &[&Toleration]) -> Stay {
    if used.is_empty() {
        return Stay::For(Duration::ZERO);
    }
    let min = used.iter().filter_map(|t| t.toleration_seconds).min();
    match min {
        None => Stay::Forever,
        Some(s) if s <= 0 => Stay::For(Duration::ZERO),
        Some(s) => Stay::For(Duration::from_secs(s as u64)),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    fn tol(v: Value) -> Toleration {
        serde_json::from_value(v).unwrap()
    }

    fn tnt(v: Value) -> Taint {
        serde_json::from_value(v).unwrap()
    }

    #[rstest]
    #[case(json!({"key": "k", "operator": "Exists"}), json!({"key": "k", "value": "v", "effect": "NoExecute"}), true)]
    #[case(json!({"key": "k", "operator": "Equal", "value": "v"}), json!({"key": "k", "value": "v", "effect": "NoSchedule"}), true)]
    #[case(json!({"key": "k", "value": "v"}), json!({"key": "k", "value": "w", "effect": "NoSchedule"}), false)]
    #[case(json!({"key": "k", "operator": "Exists", "effect": "NoSchedule"}), json!({"key": "k", "effect": "NoExecute"}), false)]
    #[case(json!({"operator": "Exists"}), json!({"key": "anything", "effect": "NoExecute"}), true)]
    #[case(json!({"key": "other", "operator": "Exists"}), json!({"key": "k", "effect": "NoExecute"}), false)]
    #[case(json!({"key": "k", "operator": "Gt", "value": "5"}), json!({"key": "k", "value": "7", "effect": "NoExecute"}), true)]
    #[case(json!({"key": "k", "operator": "Lt", "value": "5"}), json!({"key": "k", "value": "7", "effect": "NoExecute"}), false)]
    #[case(json!({"key": "k", "operator": "Gt", "value": "x"}), json!({"key": "k", "value": "7", "effect": "NoExecute"}), false)]
    #[case(json!({"key": "k", "operator": "Sometimes"}), json!({"key": "k", "effect": "NoExecute"}), false)]
    fn tolerations_match_taints_as_upstream(
        #[case] toleration: Value,
        #[case] taint: Value,
        #[case] expected: bool,
    ) {
        assert_eq!(tolerates(&tol(toleration), &tnt(taint)), expected);
    }

    #[test]
    fn every_taint_needs_a_toleration() {
        let taints = vec![taint(TAINT_UNREACHABLE, NO_EXECUTE), taint("x", NO_EXECUTE)];
        let one = vec![tol(
            json!({"key": TAINT_UNREACHABLE, "operator": "Exists", "tolerationSeconds": 30}),
        )];
        assert!(matching_tolerations(&taints, &one).is_none());
        let both = vec![
            tol(json!({"key": TAINT_UNREACHABLE, "operator": "Exists", "tolerationSeconds": 30})),
            tol(json!({"key": "x", "operator": "Exists", "tolerationSeconds": 10})),
        ];
        let used = matching_tolerations(&taints, &both).unwrap();
        assert_eq!(stay(&used), Stay::For(Duration::from_secs(10)));
    }

    #[rstest]
    #[case(vec![json!({"operator": "Exists"})], Stay::Forever)]
    #[case(vec![json!({"operator": "Exists", "tolerationSeconds": 300}), json!({"operator": "Exists"})], Stay::For(Duration::from_secs(300)))]
    #[case(vec![json!({"operator": "Exists", "tolerationSeconds": -5})], Stay::For(Duration::ZERO))]
    #[case(vec![], Stay::For(Duration::ZERO))]
    fn the_smallest_toleration_seconds_bounds_the_stay(
        #[case] used: Vec<Value>,
        #[case] expected: Stay,
    ) {
        let used: Vec<Toleration> = used.into_iter().map(tol).collect();
        let refs: Vec<&Toleration> = used.iter().collect();
        assert_eq!(stay(&refs), expected);
    }

    #[rstest]
    #[case(&[("Ready", "True")], false, vec![])]
    #[case(&[("Ready", "False")], false, vec![TAINT_NOT_READY])]
    #[case(&[("Ready", "Unknown"), ("MemoryPressure", "Unknown")], false, vec![TAINT_UNREACHABLE])]
    #[case(&[("Ready", "True"), ("MemoryPressure", "True"), ("DiskPressure", "True"), ("PIDPressure", "True"), ("NetworkUnavailable", "True")], true,
        vec![TAINT_MEMORY_PRESSURE, TAINT_DISK_PRESSURE, TAINT_PID_PRESSURE, TAINT_NETWORK_UNAVAILABLE, TAINT_UNSCHEDULABLE])]
    fn conditions_and_cordon_give_no_schedule_taints(
        #[case] conditions: &[(&str, &str)],
        #[case] unschedulable: bool,
        #[case] keys: Vec<&str>,
    ) {
        let conditions: Vec<(String, String)> = conditions
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let got = desired_no_schedule(&conditions, unschedulable);
        assert_eq!(got.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), keys);
        assert!(got.iter().all(|t| t.effect == NO_SCHEDULE));
    }

    #[test]
    fn the_diff_leaves_foreign_taints_alone() {
        let current = vec![
            taint("dedicated", NO_SCHEDULE),
            taint(TAINT_UNREACHABLE, NO_EXECUTE),
            taint(TAINT_UNSCHEDULABLE, NO_SCHEDULE),
            taint(TAINT_MEMORY_PRESSURE, NO_SCHEDULE),
        ];
        let desired = vec![
            taint(TAINT_NOT_READY, NO_SCHEDULE),
            taint(TAINT_MEMORY_PRESSURE, NO_SCHEDULE),
        ];
        let (add, remove) = no_schedule_diff(&desired, &current);
        assert_eq!(add, vec![taint(TAINT_NOT_READY, NO_SCHEDULE)]);
        assert_eq!(remove, vec![taint(TAINT_UNSCHEDULABLE, NO_SCHEDULE)]);
    }

    #[test]
    fn swapping_stamps_added_taints_and_keeps_the_order_of_the_rest() {
        let now: jiff::Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let current = vec![
            taint("a", NO_SCHEDULE),
            taint(TAINT_NOT_READY, NO_EXECUTE),
            taint("b", NO_SCHEDULE),
        ];
        let out = swap(
            &current,
            &[taint(TAINT_UNREACHABLE, NO_EXECUTE)],
            &[taint(TAINT_NOT_READY, NO_EXECUTE)],
            now,
        )
        .unwrap();
        let keys: Vec<&str> = out.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, vec!["a", "b", TAINT_UNREACHABLE]);
        assert_eq!(out[2].time_added, Some(Time(now)));
        assert_eq!(
            serde_json::to_value(&out[2]).unwrap(),
            json!({"effect": "NoExecute", "key": TAINT_UNREACHABLE, "timeAdded": "2026-01-02T03:04:05Z"})
        );
        assert_eq!(swap(&out, &[], &[taint("missing", NO_SCHEDULE)], now), None);
    }
}
