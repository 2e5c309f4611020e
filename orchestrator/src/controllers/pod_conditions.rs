//! Pod conditions as controllers set them (upstream `pkg/api/v1/pod.UpdatePodCondition`): a
//! condition's `lastTransitionTime` moves only when its status changes, and a write that would
//! change nothing is not made.

use serde_json::{Value, json};

use super::events::rfc3339;

/// The condition a pod gets before a controller deletes it for a disruption.
pub(crate) const DISRUPTION_TARGET: &str = "DisruptionTarget";

/// The pod with condition `kind` set to `status`, `reason` and `message` (transition time now
/// if the status changed or the condition is new), or `None` if it already reads so.
pub(crate) fn with_condition(
    pod: &Value,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> Option<Value> {
    let now = rfc3339(jiff::Timestamp::now());
    let mut pod = pod.clone();
    if !pod["status"].is_object() {
        pod["status"] = json!({});
    }
    if !pod["status"]["conditions"].is_array() {
        pod["status"]["conditions"] = json!([]);
    }
    let conditions = pod["status"]["conditions"]
        .as_array_mut()
        .expect("made an array above");
    match conditions.iter_mut().find(|c| c["type"] == kind) {
        None => conditions.push(json!({
            "type": kind,
            "status": status,
            "lastProbeTime": null,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        })),
        Some(c) => {
            if c["status"] == status && c["reason"] == reason && c["message"] == message {
                return None;
            }
            if c["status"] != status {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(message);
        }
    }
    Some(pod)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_a_condition_once() {
        let pod = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        let once = with_condition(
            &pod,
            DISRUPTION_TARGET,
            "True",
            "DeletionByPodGC",
            "PodGC: node no longer exists",
        )
        .unwrap();
        let c = &once["status"]["conditions"][0];
        assert_eq!(c["type"], DISRUPTION_TARGET);
        assert_eq!(c["reason"], "DeletionByPodGC");
        assert!(c["lastTransitionTime"].is_string());
        assert!(
            with_condition(
                &once,
                DISRUPTION_TARGET,
                "True",
                "DeletionByPodGC",
                "PodGC: node no longer exists"
            )
            .is_none()
        );
    }

    #[test]
    fn keeps_the_transition_time_when_only_the_reason_changes() {
        let pod = json!({"status": {"conditions": [{"type": "DisruptionTarget", "status": "True",
            "lastTransitionTime": "2020-01-01T00:00:00Z", "reason": "A", "message": "m"}]}});
        let out = with_condition(&pod, DISRUPTION_TARGET, "True", "B", "m").unwrap();
        assert_eq!(
            out["status"]["conditions"][0]["lastTransitionTime"],
            "2020-01-01T00:00:00Z"
        );
        assert_eq!(out["status"]["conditions"][0]["reason"], "B");
    }
}
