//! NodePorts (upstream `plugins/nodeports`): a pod asking for host ports fits a node only if none
//! of them is in use there. PreFilter takes the pod's host ports once (and skips the Filter for
//! pods without any, which is most pods); Filter checks them against the node's used ports with
//! upstream `HostPortInfo.CheckConflict`'s rules: the same protocol and port conflict when either
//! side binds the wildcard `0.0.0.0` or both bind the same address.

use std::sync::Arc;

use crate::scheduler::framework::{
    ActionType, ClusterEvent, CycleState, EventResource, Filter, Handle, HostPort, NodeInfo,
    Plugin, PodInfo, PreFilter, PreFilterResult, Snapshot, Status,
};
use crate::scheduler::plugins::NODE_PORTS;

/// The Filter reason (upstream `ErrReason`).
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The wildcard address (upstream `DefaultBindAllHostIP`).
const BIND_ALL: &str = "0.0.0.0";

/// The plugin.
#[derive(Debug, Default)]
pub struct NodePorts;

/// PreFilter state: the host ports the pod asks for.
#[derive(Clone, Debug)]
struct PreFilterState(Vec<HostPort>);

/// Makes the plugin; it takes no arguments.
pub fn new(_args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(NodePorts))
}

/// Whether `want` conflicts with a port in `used` (upstream `HostPortInfo.CheckConflict`).
pub fn conflicts(used: &[HostPort], want: &HostPort) -> bool {
    if want.port <= 0 {
        return false;
    }
    used.iter().any(|u| {
        u.port == want.port
            && u.protocol == want.protocol
            && (want.ip == BIND_ALL || u.ip == BIND_ALL || u.ip == want.ip)
    })
}

/// Whether none of `want` conflicts with the node's used ports (upstream `fitsPorts`).
pub fn fits_ports(want: &[HostPort], node: &NodeInfo) -> bool {
    !want.iter().any(|w| conflicts(&node.used_ports, w))
}

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NODE_PORTS
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilter> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn Filter> {
        Some(self)
    }
    /// Upstream's list with queueing hints on: a pod deleted (freeing its ports) or a node added.
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(vec![
            ClusterEvent {
                resource: EventResource::AssignedPod,
                action: ActionType::DELETE,
            },
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD,
            },
        ])
    }
}

impl PreFilter for NodePorts {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        if pod.host_ports.is_empty() {
            return (None, Status::skip());
        }
        state.write(PreFilterState(pod.host_ports.clone()));
        (None, Status::success())
    }
}

impl Filter for NodePorts {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        // Without PreFilter (disabled in a profile) the pod's own list is the same data.
        let want = match state.read::<PreFilterState>() {
            Some(s) => &s.0,
            None => &pod.host_ports,
        };
        if fits_ports(want, node) {
            Status::success()
        } else {
            Status::unschedulable(ERR_REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::{Value, json};

    use super::*;
    use crate::scheduler::framework::Code;
    use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod};

    /// A pod with one container exposing `ports` as "proto/ip/port" strings.
    fn pod_with_ports(name: &str, ports: &[&str]) -> Arc<PodInfo> {
        let ports: Vec<Value> = ports
            .iter()
            .map(|s| {
                let parts: Vec<&str> = s.split('/').collect();
                json!({ "containerPort": 80, "protocol": parts[0], "hostIP": parts[1],
                        "hostPort": parts[2].parse::<i64>().unwrap() })
            })
            .collect();
        let mut p = simple_pod(name, "", "");
        p["spec"]["containers"][0]["ports"] = Value::Array(ports);
        pod(p)
    }

    fn run(want: &[&str], existing: &[&str]) -> Status {
        let p = pod_with_ports("p", want);
        let n = node(
            simple_node("n", "4", "8Gi", &[]),
            &[pod_with_ports("existing", existing)],
        );
        let mut state = CycleState::new();
        let (_, pre) = NodePorts.pre_filter(&mut state, &p, &Snapshot::default());
        if pre.is_skip() {
            return Status::success();
        }
        NodePorts.filter(&state, &p, &n)
    }

    // Upstream `TestNodePorts`.
    #[rstest]
    #[case::nothing_running(&["UDP/127.0.0.1/8080"], &[], true)]
    #[case::other_port(&["UDP/127.0.0.1/8080"], &["UDP/127.0.0.1/9090"], true)]
    #[case::same_udp_port(&["UDP/127.0.0.1/8080"], &["UDP/127.0.0.1/8080"], false)]
    #[case::same_port_other_protocol(&["TCP/127.0.0.1/8080"], &["UDP/127.0.0.1/8080"], true)]
    #[case::same_tcp_port(&["TCP/127.0.0.1/8080"], &["TCP/127.0.0.1/8080"], false)]
    #[case::same_port_other_ip(&["TCP/127.0.0.1/8001"], &["TCP/127.0.0.2/8001"], true)]
    #[case::one_of_two_conflicts(
        &["TCP/127.0.0.1/8001", "UDP/127.0.0.1/8001"], &["TCP/127.0.0.1/8001"], false)]
    #[case::wildcard_wanted_conflicts_with_any_ip(
        &["UDP/127.0.0.1/8080", "TCP/0.0.0.0/8001"], &["TCP/127.0.0.1/8001"], false)]
    #[case::wildcard_used_conflicts_with_any_ip(
        &["TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"], &["TCP/0.0.0.0/8001"], false)]
    #[case::wildcard_used_blocks_a_specific_ip(&["TCP/10.0.10.10/8001"], &["TCP/0.0.0.0/8001"], false)]
    #[case::wildcard_other_protocol(&["UDP/127.0.0.1/8001"], &["TCP/0.0.0.0/8001"], true)]
    #[case::wildcards_other_protocols(
        &["UDP/127.0.0.1/8001", "UDP/127.0.0.1/8002"], &["TCP/0.0.0.0/8001", "TCP/0.0.0.0/8002"], true)]
    fn filter_matches_upstream(#[case] want: &[&str], #[case] existing: &[&str], #[case] fits: bool) {
        let status = run(want, existing);
        if fits {
            assert!(status.is_success(), "{status:?}");
        } else {
            assert_eq!(status.code(), Code::Unschedulable);
            assert_eq!(status.message(), ERR_REASON);
        }
    }

    #[test]
    fn a_pod_without_host_ports_skips_the_filter() {
        let mut state = CycleState::new();
        let p = pod(simple_pod("p", "", ""));
        let (result, status) = NodePorts.pre_filter(&mut state, &p, &Snapshot::default());
        assert!(result.is_none());
        assert!(status.is_skip());
    }

    #[test]
    fn unset_ip_and_protocol_default_to_the_wildcard_and_tcp() {
        let mut p = simple_pod("p", "", "");
        p["spec"]["containers"][0]["ports"] = json!([{ "containerPort": 80, "hostPort": 8080 }]);
        let n = node(
            simple_node("n", "4", "8Gi", &[]),
            &[pod_with_ports("existing", &["TCP/10.1.1.1/8080"])],
        );
        let status = NodePorts.filter(&CycleState::new(), &pod(p), &n);
        assert_eq!(status.code(), Code::Unschedulable);
    }
}
