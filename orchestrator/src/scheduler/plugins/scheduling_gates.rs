//! SchedulingGates (upstream `plugins/schedulinggates`): a PreEnqueue plugin holding pods whose
//! `spec.schedulingGates` is not empty out of the active queue. The queue keeps them aside as
//! gated and runs this again when the pod is updated; gates can only be removed, so the update
//! that removes the last one releases the pod.

use std::sync::Arc;

use crate::scheduler::framework::{
    ActionType, ClusterEvent, EventResource, Handle, Plugin, PodInfo, PreEnqueue, Status,
};

use super::SCHEDULING_GATES;

/// The plugin (stateless).
#[derive(Debug, Default)]
pub struct SchedulingGates;

/// The factory: the plugin takes no arguments.
pub fn new(_args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(SchedulingGates))
}

impl Plugin for SchedulingGates {
    fn name(&self) -> &'static str {
        SCHEDULING_GATES
    }

    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueue> {
        Some(self)
    }

    /// Only the pod's own update removing its gates helps (upstream registers this event with
    /// the queueing hints; without them it relies on the queue's update path, which this
    /// queue also has).
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(vec![ClusterEvent {
            resource: EventResource::Pod,
            action: ActionType::UPDATE_POD_SCHEDULING_GATES_ELIMINATED,
        }])
    }
}

impl PreEnqueue for SchedulingGates {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status {
        if pod.scheduling_gates.is_empty() {
            return Status::success();
        }
        // Go's `%v` of a []string: "[a b]".
        Status::unresolvable(format!(
            "waiting for scheduling gates: [{}]",
            pod.scheduling_gates.join(" ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::scheduler::framework::{Code, testing};

    /// Upstream `TestPreEnqueue`.
    #[rstest]
    #[case::no_gates(json!([]), None)]
    #[case::one_gate(json!([{"name": "foo"}]), Some("waiting for scheduling gates: [foo]"))]
    #[case::two_gates(
        json!([{"name": "foo"}, {"name": "bar"}]),
        Some("waiting for scheduling gates: [foo bar]")
    )]
    fn gated_pods_wait_with_upstreams_message(
        #[case] gates: serde_json::Value,
        #[case] want: Option<&str>,
    ) {
        let mut v = testing::simple_pod("p", "", "");
        v["spec"]["schedulingGates"] = gates;
        let status = SchedulingGates.pre_enqueue(&testing::pod(v));
        match want {
            None => assert!(status.is_success()),
            Some(msg) => {
                assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
                assert_eq!(status.message(), msg);
            }
        }
    }

    #[test]
    fn registers_as_pre_enqueue_under_its_name() {
        let p = SchedulingGates;
        assert_eq!(p.name(), "SchedulingGates");
        assert!(p.as_pre_enqueue().is_some());
        assert!(p.as_filter().is_none());
        let events = p.events_to_register().unwrap();
        assert_eq!(events[0].resource, EventResource::Pod);
    }
}
