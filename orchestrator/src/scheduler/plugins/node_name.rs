//! NodeName (upstream `plugins/nodename`): a pod that names a node in `spec.nodeName` fits only
//! that node.

use std::sync::Arc;

use crate::scheduler::framework::{
    ActionType, ClusterEvent, CycleState, EventResource, Filter, Handle, NodeInfo, Plugin,
    PodInfo, Status,
};
use crate::scheduler::plugins::NODE_NAME;

/// The Filter reason (upstream `ErrReason`).
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// The plugin.
#[derive(Debug, Default)]
pub struct NodeName;

/// Makes the plugin; it takes no arguments.
pub fn new(_args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(NodeName))
}

/// Whether the pod names no node or names this one (upstream `Fits`).
pub fn fits(pod: &PodInfo, node: &NodeInfo) -> bool {
    pod.node_name.is_empty() || pod.node_name == node.name
}

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NODE_NAME
    }
    fn as_filter(&self) -> Option<&dyn Filter> {
        Some(self)
    }
    /// Upstream's list with queueing hints on: only a new node can be the named one.
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(vec![ClusterEvent {
            resource: EventResource::Node,
            action: ActionType::ADD,
        }])
    }
}

impl Filter for NodeName {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if fits(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::scheduler::framework::Code;
    use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod};

    // Upstream `TestNodeName`.
    #[rstest]
    #[case::no_host_specified("", true)]
    #[case::host_matches("foo", true)]
    #[case::host_differs("bar", false)]
    fn filter_matches_upstream(#[case] node_name: &str, #[case] fits: bool) {
        let mut p = simple_pod("p", "", "");
        if !node_name.is_empty() {
            p["spec"]["nodeName"] = node_name.into();
        }
        let n = node(simple_node("foo", "1", "1Gi", &[]), &[]);
        let status = NodeName.filter(&CycleState::new(), &pod(p), &n);
        if fits {
            assert!(status.is_success());
        } else {
            assert_eq!(status.code(), Code::UnschedulableAndUnresolvable);
            assert_eq!(status.message(), ERR_REASON);
        }
    }
}
