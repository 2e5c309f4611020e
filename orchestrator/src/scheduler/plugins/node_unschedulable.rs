//! NodeUnschedulable (upstream `plugins/nodeunschedulable`): a cordoned node
//! (`spec.unschedulable`) takes only pods that tolerate the
//! `node.kubernetes.io/unschedulable:NoSchedule` taint, as kube-scheduler decides it (the taint
//! itself is added by the node lifecycle controller; the filter reads the spec field so that a
//! cordon takes effect before the taint is written).

use std::sync::Arc;

use k8s_openapi::api::core::v1::Taint;

use super::taint_toleration::tolerations_tolerate;
use crate::scheduler::framework::{
    ActionType, ClusterEvent, CycleState, EventResource, Filter, Handle, NodeInfo, Plugin,
    PodInfo, Status,
};
use crate::scheduler::plugins::NODE_UNSCHEDULABLE;

/// The reason for a cordoned node (upstream `ErrReasonUnschedulable`).
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// The reason for a node whose object is missing (upstream `ErrReasonUnknownCondition`).
pub const ERR_REASON_UNKNOWN_CONDITION: &str = "node(s) had unknown conditions";

/// The taint key a cordon stands for.
const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The plugin.
#[derive(Debug)]
pub struct NodeUnschedulable {
    /// The taint the pod must tolerate, built once.
    taint: Taint,
}

impl Default for NodeUnschedulable {
    fn default() -> Self {
        Self {
            taint: Taint {
                key: TAINT_NODE_UNSCHEDULABLE.to_string(),
                effect: "NoSchedule".to_string(),
                ..Taint::default()
            },
        }
    }
}

/// Makes the plugin; it takes no arguments.
pub fn new(_args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(NodeUnschedulable::default()))
}

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NODE_UNSCHEDULABLE
    }
    fn as_filter(&self) -> Option<&dyn Filter> {
        Some(self)
    }
    /// Upstream's list with queueing hints on: a node added or its taints changed (an uncordon
    /// is seen as a taint change), or the pod's tolerations changed.
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

impl Filter for NodeUnschedulable {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if node.node.is_none() {
            return Status::unresolvable(ERR_REASON_UNKNOWN_CONDITION);
        }
        if !node.unschedulable || tolerations_tolerate(&pod.tolerations, &self.taint) {
            return Status::success();
        }
        Status::unresolvable(ERR_REASON_UNSCHEDULABLE)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::{Value, json};

    use super::*;
    use crate::scheduler::framework::Code;
    use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod};

    // Upstream `TestNodeUnschedulable`.
    #[rstest]
    #[case::schedulable_node_takes_any_pod(json!(false), json!([]), true)]
    #[case::absent_field_means_schedulable(Value::Null, json!([]), true)]
    #[case::cordoned_node_rejects(json!(true), json!([]), false)]
    #[case::cordoned_node_takes_a_tolerating_pod(json!(true),
        json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]), true)]
    #[case::exists_toleration_also_tolerates(json!(true),
        json!([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]), true)]
    #[case::other_effect_does_not(json!(true),
        json!([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoExecute"}]), false)]
    fn filter_matches_upstream(
        #[case] unschedulable: Value,
        #[case] tolerations: Value,
        #[case] fits: bool,
    ) {
        let mut n = simple_node("n", "4", "8Gi", &[]);
        if !unschedulable.is_null() {
            n["spec"] = json!({ "unschedulable": unschedulable });
        }
        let mut p = simple_pod("p", "", "");
        p["spec"]["tolerations"] = tolerations;
        let status = NodeUnschedulable::default().filter(&CycleState::new(), &pod(p), &node(n, &[]));
        if fits {
            assert!(status.is_success(), "{status:?}");
        } else {
            assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
            assert_eq!(status.message(), "node(s) were unschedulable");
        }
    }

    #[test]
    fn a_node_without_its_object_has_unknown_conditions() {
        let p = pod(simple_pod("p", "", ""));
        let status = NodeUnschedulable::default().filter(&CycleState::new(), &p, &NodeInfo::default());
        assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
        assert_eq!(status.message(), "node(s) had unknown conditions");
    }
}
