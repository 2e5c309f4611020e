//! The DefaultTolerationSeconds admission plugin (upstream
//! `plugin/pkg/admission/defaulttolerationseconds`): every pod that does not already tolerate
//! the `not-ready` and `unreachable` NoExecute taints gets a toleration for each, operator
//! `Exists`, for 300 s — so pods ride out a short node outage and are evicted after five
//! minutes of one.

use serde_json::{Value, json};

use crate::controllers::taints::{NO_EXECUTE, TAINT_NOT_READY, TAINT_UNREACHABLE};

/// Upstream's `--default-not-ready-toleration-seconds` and
/// `--default-unreachable-toleration-seconds`.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Add the missing default tolerations to a pod. Returns whether the pod changed.
pub(crate) fn admit(pod: &mut Value) -> bool {
    let tolerations: Vec<Value> = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Upstream looks at key and effect only: an empty key or effect covers every one.
    let covers = |taint_key: &str| {
        tolerations.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint_key || key.is_empty()) && (effect == NO_EXECUTE || effect.is_empty())
        })
    };
    let mut added = Vec::new();
    for key in [TAINT_NOT_READY, TAINT_UNREACHABLE] {
        if !covers(key) {
            added.push(json!({
                "key": key,
                "operator": "Exists",
                "effect": NO_EXECUTE,
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
    if added.is_empty() {
        return false;
    }
    let mut all = tolerations;
    all.extend(added);
    pod["spec"]["tolerations"] = Value::Array(all);
    true
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn keys(pod: &Value) -> Vec<String> {
        pod["spec"]["tolerations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["key"].as_str().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn a_pod_without_tolerations_gets_both_for_300_seconds() {
        let mut pod = json!({"spec": {"containers": []}});
        assert!(admit(&mut pod));
        assert_eq!(
            pod["spec"]["tolerations"],
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ])
        );
        assert!(!admit(&mut pod), "a second pass adds nothing");
    }

    #[rstest]
    #[case(json!([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}]),
        vec!["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])]
    #[case(json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]),
        vec!["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"])]
    #[case(json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"}]),
        vec!["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])]
    #[case(json!([{"operator": "Exists"}]), vec![""])]
    #[case(json!([{"operator": "Exists", "effect": "NoExecute"}]), vec![""])]
    #[case(json!([{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoSchedule"}]),
        vec!["dedicated", "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])]
    fn only_missing_tolerations_are_added_after_the_pods_own(
        #[case] own: Value,
        #[case] expected: Vec<&str>,
    ) {
        let mut pod = json!({"spec": {"tolerations": own}});
        admit(&mut pod);
        assert_eq!(keys(&pod), expected);
    }

    #[test]
    fn the_pods_own_toleration_seconds_are_kept() {
        let mut pod = json!({"spec": {"tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}]}});
        assert!(!admit(&mut pod));
        assert_eq!(pod["spec"]["tolerations"][0]["tolerationSeconds"], 10);
    }
}
