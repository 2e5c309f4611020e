//! A ReplicaSet's or ReplicationController's status from its active pods (upstream
//! `replica_set_utils.go` `calculateStatus`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::controllers::events::rfc3339;
use crate::controllers::runtime::pods::PodFacts;
use crate::error::ApiError;

/// The condition surfacing failed creates or deletes.
const REPLICA_FAILURE: &str = "ReplicaFailure";

/// The status `obj` should have: counts of its active pods (`fullyLabeledReplicas` those
/// carrying every template label, `availableReplicas` those ready for `minReadySeconds`), its
/// generation, and `ReplicaFailure` set while creates (`diff < 0`) or deletes fail.
pub(super) fn calculate(
    obj: &Value,
    active: &[Arc<PodFacts>],
    manage_err: Option<&ApiError>,
    diff: i64,
    min_ready_seconds: i64,
    now: jiff::Timestamp,
) -> Value {
    let template_labels = obj
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    let fully_labeled = active
        .iter()
        .filter(|p| {
            template_labels.is_none_or(|labels| {
                labels
                    .iter()
                    .all(|(k, v)| v.as_str().is_some_and(|v| p.label(k) == Some(v)))
            })
        })
        .count();
    let ready = active.iter().filter(|p| p.ready).count();
    let available = active
        .iter()
        .filter(|p| p.is_available(min_ready_seconds, now))
        .count();
    let mut conditions: Vec<Value> = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has_failure = conditions.iter().any(|c| c["type"] == REPLICA_FAILURE);
    match manage_err {
        Some(e) if !has_failure => {
            let reason = if diff < 0 {
                "FailedCreate"
            } else {
                "FailedDelete"
            };
            conditions.push(json!({
                "type": REPLICA_FAILURE,
                "status": "True",
                "lastTransitionTime": rfc3339(now),
                "reason": reason,
                "message": e.message,
            }));
        }
        None if has_failure => conditions.retain(|c| c["type"] != REPLICA_FAILURE),
        _ => {}
    }
    let mut status = json!({
        "replicas": active.len(),
        "fullyLabeledReplicas": fully_labeled,
        "readyReplicas": ready,
        "availableReplicas": available,
    });
    if let Some(g) = obj.pointer("/metadata/generation") {
        status["observedGeneration"] = g.clone();
    }
    if !conditions.is_empty() {
        status["conditions"] = Value::Array(conditions);
    }
    strip_zeros(status)
}

/// The stored form: the API drops zero counts (`omitempty`) except `replicas`.
pub(super) fn strip_zeros(mut status: Value) -> Value {
    if let Some(m) = status.as_object_mut() {
        m.retain(|k, v| k == "replicas" || *v != json!(0));
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, Storage};

    fn pod(
        store: &MemoryStore,
        name: &str,
        labels: Value,
        ready_at: Option<&str>,
    ) -> Arc<PodFacts> {
        let conditions = match ready_at {
            Some(t) => json!([{"type": "Ready", "status": "True", "lastTransitionTime": t}]),
            None => json!([{"type": "Ready", "status": "False"}]),
        };
        let p = json!({
            "metadata": {"name": name, "namespace": "ns", "uid": name, "labels": labels},
            "status": {"phase": "Running", "conditions": conditions},
        });
        Arc::new(PodFacts::parse(
            store.create("pods", "ns", name, p).unwrap(),
        ))
    }

    fn rs() -> Value {
        json!({
            "metadata": {"name": "web", "generation": 4},
            "spec": {"template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}}},
        })
    }

    #[test]
    fn counts_split_labeled_ready_and_available_pods() {
        let s = MemoryStore::default();
        let now: jiff::Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let pods = [
            pod(
                &s,
                "full-old",
                json!({"app": "web", "tier": "fe"}),
                Some("2026-01-01T00:00:00Z"),
            ),
            pod(
                &s,
                "full-new",
                json!({"app": "web", "tier": "fe"}),
                Some("2026-01-01T00:00:59Z"),
            ),
            pod(&s, "partial", json!({"app": "web"}), None),
        ];
        let status = calculate(&rs(), &pods, None, 0, 10, now);
        assert_eq!(
            status,
            json!({"replicas": 3, "fullyLabeledReplicas": 2, "readyReplicas": 2,
                   "availableReplicas": 1, "observedGeneration": 4})
        );
    }

    #[test]
    fn failed_creates_set_replica_failure_and_success_clears_it() {
        let now = jiff::Timestamp::now();
        let err = ApiError::forbidden("", "pods", "web-x", "exceeded quota: q");
        let failed = calculate(&rs(), &[], Some(&err), -2, 0, now);
        let cond = &failed["conditions"][0];
        assert_eq!(cond["type"], REPLICA_FAILURE);
        assert_eq!(cond["reason"], "FailedCreate");
        assert_eq!(cond["message"], err.message);
        assert_eq!(failed["replicas"], 0);
        let mut obj = rs();
        obj["status"] = failed;
        let recovered = calculate(&obj, &[], None, 0, 0, now);
        assert!(recovered.get("conditions").is_none());
    }
}
