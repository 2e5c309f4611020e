//! A node's health as the node lifecycle controller judges it: when its heartbeats were last
//! seen to change (upstream's "probe timestamps", taken on the controller's own clock so skew
//! between node and control plane cannot matter), and the status changes the controller writes
//! once they stop — Unknown node conditions and not-ready pods. Pure functions only.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::events::rfc3339;

/// The heartbeat-driven conditions set to Unknown; NetworkUnavailable belongs to the network
/// plugin and is left alone, as upstream.
const HEARTBEAT_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// The Ready condition as the monitor compares it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadyCondition {
    pub status: String,
    pub heartbeat: Option<String>,
    pub transition: Option<String>,
}

/// A node's health as last observed (upstream `nodeHealthData`).
#[derive(Clone, Debug)]
pub(crate) struct NodeHealth {
    /// When a heartbeat was last seen to change.
    pub probe: Instant,
    /// When the Ready condition was last seen to transition.
    pub ready_transition: Instant,
    pub saved_ready: Option<ReadyCondition>,
    pub lease_renewed: Option<jiff::Timestamp>,
}

/// The Ready condition of a node.
pub(crate) fn ready_condition(node: &Value) -> Option<ReadyCondition> {
    let c = node
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))?;
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(String::from);
    Some(ReadyCondition {
        status: s("status").unwrap_or_default(),
        heartbeat: s("lastHeartbeatTime"),
        transition: s("lastTransitionTime"),
    })
}

/// The node's conditions with the heartbeat-driven ones Unknown as of `now`: existing ones keep
/// their heartbeat and get upstream's reason and message (their transition time only if they
/// were not Unknown already); missing ones are added as never updated.
pub(crate) fn unknown_conditions(node: &Value, now: &str) -> Value {
    let mut conditions: Vec<Value> = node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let created = node
        .pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(Value::Null);
    for kind in HEARTBEAT_CONDITIONS {
        match conditions.iter_mut().find(|c| c["type"] == kind) {
            None => conditions.push(json!({
                "type": kind,
                "status": "Unknown",
                "lastHeartbeatTime": created,
                "lastTransitionTime": now,
                "reason": "NodeStatusNeverUpdated",
                "message": "Kubelet never posted node status.",
            })),
            Some(c) if c["status"] != "Unknown" => {
                c["status"] = json!("Unknown");
                c["reason"] = json!("NodeStatusUnknown");
                c["message"] = json!("Kubelet stopped posting node status.");
                c["lastTransitionTime"] = json!(now);
            }
            Some(_) => {}
        }
    }
    Value::Array(conditions)
}

/// The pod with its Ready condition False as of `now`, or `None` when it has no Ready
/// condition or it is False already (upstream `UpdatePodCondition` reporting no change).
pub(crate) fn pod_not_ready(pod: &Value, now: &str) -> Option<Value> {
    let mut pod = pod.clone();
    let ready = pod
        .pointer_mut("/status/conditions")?
        .as_array_mut()?
        .iter_mut()
        .find(|c| c["type"] == "Ready")?;
    if ready["status"] == "False" {
        return None;
    }
    ready["status"] = json!("False");
    ready["lastTransitionTime"] = json!(now);
    Some(pod)
}

/// Track a node's heartbeats (the bookkeeping half of upstream `tryUpdateNodeHealth`): a
/// heartbeat counts when the Ready condition's `lastHeartbeatTime` or the lease's `renewTime`
/// is seen to change, and is dated when seen. Returns the new health, the Ready condition to
/// judge (a fake Unknown one dated at creation for a node that never posted one) and the grace
/// it gets (`grace.0` for such a node, counted from creation; `grace.1` otherwise).
pub(crate) fn observe(
    prev: Option<NodeHealth>,
    ready: &Option<ReadyCondition>,
    creation: Option<jiff::Timestamp>,
    lease_renewed: Option<jiff::Timestamp>,
    now: Instant,
    (startup_grace, grace): (Duration, Duration),
) -> (NodeHealth, ReadyCondition, Duration) {
    let created_at = creation.map(|c| instant_of(c, now)).unwrap_or(now);
    let mut health = prev;
    let (observed, grace) = match ready {
        None => {
            let created = creation.map(rfc3339);
            let fake = ReadyCondition {
                status: "Unknown".into(),
                heartbeat: created.clone(),
                transition: created,
            };
            match health.as_mut() {
                Some(h) => h.saved_ready = None,
                None => {
                    health = Some(NodeHealth {
                        probe: created_at,
                        ready_transition: created_at,
                        saved_ready: None,
                        lease_renewed: None,
                    })
                }
            }
            (fake, startup_grace)
        }
        Some(r) => (r.clone(), grace),
    };
    let fresh = |ready: &Option<ReadyCondition>| NodeHealth {
        probe: now,
        ready_transition: now,
        saved_ready: ready.clone(),
        lease_renewed: None,
    };
    let mut health = match health {
        None => fresh(ready),
        Some(h) => match (&h.saved_ready, ready) {
            (None, Some(_)) | (Some(_), None) => fresh(ready),
            (Some(saved), Some(current)) if saved.heartbeat != current.heartbeat => {
                let transition = if saved.transition != current.transition {
                    now
                } else {
                    h.ready_transition
                };
                NodeHealth {
                    ready_transition: transition,
                    ..fresh(ready)
                }
            }
            _ => h,
        },
    };
    if let Some(renewed) = lease_renewed
        && health.lease_renewed.is_none_or(|saved| saved < renewed)
    {
        health.lease_renewed = Some(renewed);
        health.probe = now;
    }
    (health, observed, grace)
}

/// The monotonic instant matching a wall-clock time in the past (now for a future one).
fn instant_of(at: jiff::Timestamp, now: Instant) -> Instant {
    let ago = jiff::Timestamp::now().duration_since(at);
    match Duration::try_from(ago) {
        Ok(d) => now.checked_sub(d).unwrap_or(now),
        Err(_) => now,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const GRACE: (Duration, Duration) = (Duration::from_secs(60), Duration::from_secs(40));

    fn ready(status: &str, heartbeat: &str) -> Option<ReadyCondition> {
        Some(ReadyCondition {
            status: status.into(),
            heartbeat: Some(heartbeat.into()),
            transition: Some("2026-01-01T00:00:00Z".into()),
        })
    }

    #[test]
    fn a_new_node_is_judged_from_when_it_is_first_seen() {
        let t0 = Instant::now();
        let (h, observed, grace) = observe(None, &ready("True", "a"), None, None, t0, GRACE);
        assert_eq!(
            (h.probe, observed.status.as_str(), grace),
            (t0, "True", GRACE.1)
        );
    }

    #[test]
    fn a_node_that_never_posted_ready_gets_the_startup_grace_from_creation() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let created = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(30);
        let (h, observed, grace) = observe(None, &None, Some(created), None, t0, GRACE);
        assert_eq!(grace, GRACE.0);
        assert_eq!(observed.status, "Unknown");
        assert_eq!(observed.heartbeat, Some(rfc3339(created)));
        let age = t0 - h.probe;
        assert!(
            age >= Duration::from_secs(29) && age <= Duration::from_secs(31),
            "{age:?}"
        );
    }

    #[test]
    fn only_a_changed_heartbeat_or_a_newer_lease_moves_the_probe() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(10);
        let (h, ..) = observe(None, &ready("True", "a"), None, None, t0, GRACE);
        let (h, ..) = observe(Some(h), &ready("True", "a"), None, None, t1, GRACE);
        assert_eq!(h.probe, t0, "same heartbeat: no news");
        let (h, ..) = observe(Some(h), &ready("True", "b"), None, None, t1, GRACE);
        assert_eq!(h.probe, t1);
        assert_eq!(h.ready_transition, t0, "no transition: kept");

        let renewed: jiff::Timestamp = "2026-01-01T00:00:05.5Z".parse().unwrap();
        let t2 = t1 + Duration::from_secs(10);
        let (h, ..) = observe(Some(h), &ready("True", "b"), None, Some(renewed), t2, GRACE);
        assert_eq!(h.probe, t2);
        let t3 = t2 + Duration::from_secs(10);
        let (h, ..) = observe(Some(h), &ready("True", "b"), None, Some(renewed), t3, GRACE);
        assert_eq!(h.probe, t2, "the same renewTime is no news");
    }

    #[test]
    fn heartbeat_conditions_become_unknown_and_missing_ones_never_updated() {
        let node = json!({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"}, "status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok",
             "lastHeartbeatTime": "2026-01-01T00:01:00Z", "lastTransitionTime": "2026-01-01T00:00:10Z"},
            {"type": "MemoryPressure", "status": "Unknown", "reason": "NodeStatusUnknown",
             "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": "2026-01-01T00:01:00Z",
             "lastTransitionTime": "2026-01-01T00:00:20Z"},
            {"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"},
        ]}});
        let out = unknown_conditions(&node, "2026-01-01T00:05:00Z");
        assert_eq!(
            out,
            json!([
                {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                 "message": "Kubelet stopped posting node status.",
                 "lastHeartbeatTime": "2026-01-01T00:01:00Z", "lastTransitionTime": "2026-01-01T00:05:00Z"},
                {"type": "MemoryPressure", "status": "Unknown", "reason": "NodeStatusUnknown",
                 "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": "2026-01-01T00:01:00Z",
                 "lastTransitionTime": "2026-01-01T00:00:20Z"},
                {"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"},
                {"type": "DiskPressure", "status": "Unknown", "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                 "lastTransitionTime": "2026-01-01T00:05:00Z", "reason": "NodeStatusNeverUpdated",
                 "message": "Kubelet never posted node status."},
                {"type": "PIDPressure", "status": "Unknown", "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                 "lastTransitionTime": "2026-01-01T00:05:00Z", "reason": "NodeStatusNeverUpdated",
                 "message": "Kubelet never posted node status."},
            ])
        );
    }

    #[test]
    fn only_pods_with_a_true_ready_condition_are_marked_not_ready() {
        let now = "2026-01-01T00:05:00Z";
        assert!(pod_not_ready(&json!({"status": {"phase": "Pending"}}), now).is_none());
        let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert!(pod_not_ready(&not_ready, now).is_none());
        let ready = json!({"status": {"conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "True", "reason": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        let out = pod_not_ready(&ready, now).unwrap();
        assert_eq!(
            out["status"]["conditions"][1],
            json!({"type": "Ready", "status": "False", "reason": "", "lastTransitionTime": now})
        );
        assert_eq!(
            out["status"]["conditions"][0],
            ready["status"]["conditions"][0]
        );
    }
}
