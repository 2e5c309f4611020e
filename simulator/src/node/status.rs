//! The node's `status` as the kubelet reports it: capacity and allocatable, addresses, node
//! info, images, and the conditions (Ready, MemoryPressure, DiskPressure, PIDPressure,
//! NetworkUnavailable) with upstream's reasons and messages. A fault
//! ([`crate::NodeControl::set_condition`]) flips a condition; `lastTransitionTime` changes only
//! when a status does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ContainerImage, DaemonEndpoint, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::NodeState;
use crate::profile::NodePool;

/// Condition types, in the order the kubelet lists them.
pub const CONDITIONS: [&str; 5] = [
    "NetworkUnavailable",
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "Ready",
];

/// `(healthy status, reason, message)` and `(faulty …)` of each condition, from the kubelet's
/// `pkg/kubelet/nodestatus/setters.go` (NetworkUnavailable from the route controller).
fn wording(condition: &str, faulty: bool) -> (&'static str, &'static str, &'static str) {
    match (condition, faulty) {
        ("Ready", false) => ("True", "KubeletReady", "kubelet is posting ready status"),
        ("Ready", true) => (
            "False",
            "KubeletNotReady",
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
        ),
        ("MemoryPressure", false) => (
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        ("MemoryPressure", true) => (
            "True",
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        ),
        ("DiskPressure", false) => (
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        ("DiskPressure", true) => (
            "True",
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
        ),
        ("PIDPressure", false) => (
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        ("PIDPressure", true) => (
            "True",
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
        ),
        (_, false) => ("False", "RouteCreated", "RouteController created a route"),
        (_, true) => (
            "True",
            "NoRouteCreated",
            "RouteController failed to create a route",
        ),
    }
}

/// The kubelet's event reason when `condition` becomes faulty (or healthy again), as
/// `pkg/kubelet/nodestatus/setters.go` records them.
pub fn event_reason(condition: &str, faulty: bool) -> Option<&'static str> {
    Some(match (condition, faulty) {
        ("Ready", false) => "NodeReady",
        ("Ready", true) => "NodeNotReady",
        ("MemoryPressure", false) => "NodeHasSufficientMemory",
        ("MemoryPressure", true) => "NodeHasInsufficientMemory",
        ("DiskPressure", false) => "NodeHasNoDiskPressure",
        ("DiskPressure", true) => "NodeHasDiskPressure",
        ("PIDPressure", false) => "NodeHasSufficientPID",
        ("PIDPressure", true) => "NodeHasInsufficientPID",
        _ => return None,
    })
}

/// Whether a condition's *status* (`True`/`False`) means the fault: for Ready a fault is
/// `False`, for the others `True`.
pub fn is_fault(condition: &str, status: bool) -> bool {
    if condition == "Ready" {
        !status
    } else {
        status
    }
}

/// The node's whole status at `now`, updating its remembered transitions.
pub fn node_status(node: &NodeState, pool: &NodePool, now: jiff::Timestamp) -> NodeStatus {
    let mut inner = node.inner.lock();
    let mut conditions = Vec::with_capacity(CONDITIONS.len());
    for condition in CONDITIONS {
        let faulty = inner
            .condition_faults
            .get(condition)
            .copied()
            .unwrap_or(false);
        let (status, reason, message) = wording(condition, faulty);
        let since = match inner.transitions.get(condition) {
            Some((old, at)) if old == status => *at,
            _ => {
                inner
                    .transitions
                    .insert(condition.to_owned(), (status.to_owned(), now));
                now
            }
        };
        conditions.push(NodeCondition {
            type_: condition.to_owned(),
            status: status.to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            last_heartbeat_time: Some(Time(now)),
            last_transition_time: Some(Time(since)),
        });
    }
    let mut images: Vec<&String> = inner.images.iter().collect();
    images.sort();
    let images = images
        .into_iter()
        .map(|name| ContainerImage {
            names: Some(vec![name.clone()]),
            size_bytes: Some(image_size(name)),
        })
        .collect::<Vec<_>>();
    drop(inner);
    let capacity = quantities(&pool.capacity);
    let allocatable = allocatable(pool);
    let id = |n: u64| {
        let draw = |k: u64| crate::seed::draw(0, &node.name, k);
        format!("{:016x}{:016x}", draw(2 * n), draw(2 * n + 1))
    };
    NodeStatus {
        capacity: Some(capacity),
        allocatable: Some(allocatable),
        conditions: Some(conditions),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: node.internal_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: node.name.clone(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: pool.arch.clone(),
            operating_system: pool.os.clone(),
            boot_id: id(0),
            machine_id: id(1),
            system_uuid: id(2),
            container_runtime_version: "containerd://1.7.0-kubeproof".into(),
            kernel_version: "6.1.0-kubeproof".into(),
            kubelet_version: format!("v{}-hollow", KUBELET_VERSION),
            kube_proxy_version: String::new(),
            os_image: "kubeproof hollow node".into(),
            ..NodeSystemInfo::default()
        }),
        images: (!images.is_empty()).then_some(images),
        ..NodeStatus::default()
    }
}

/// `values` as quantities.
pub fn quantities(values: &BTreeMap<String, String>) -> BTreeMap<String, Quantity> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), Quantity(v.clone())))
        .collect()
}

/// The pool's capacity less its reservation.
pub fn allocatable(pool: &NodePool) -> BTreeMap<String, Quantity> {
    pool.capacity
        .iter()
        .map(|(k, v)| {
            let left = match pool.reserved.get(k) {
                Some(r) => subtract(k, v, r).unwrap_or_else(|| v.clone()),
                None => v.clone(),
            };
            (k.clone(), Quantity(left))
        })
        .collect()
}

/// The Kubernetes version hollow kubelets report (the workspace's k8s-openapi feature).
pub const KUBELET_VERSION: &str = "1.37.0";

/// A plausible, stable image size (50–250 MB) for `status.images`.
fn image_size(name: &str) -> i64 {
    50_000_000 + (crate::seed::draw(0, name, 0) % 200_000_000) as i64
}

/// `capacity - reserved` for resource `name`, in the capacity's style (millicores for cpu,
/// `Ki` for byte quantities when whole); `None` when either does not parse.
fn subtract(name: &str, capacity: &str, reserved: &str) -> Option<String> {
    let left = (milli(capacity)? - milli(reserved)?).max(0);
    Some(if name == "cpu" {
        if left % 1000 == 0 {
            (left / 1000).to_string()
        } else {
            format!("{left}m")
        }
    } else {
        let units = left / 1000;
        if units % 1024 == 0 && units > 0 {
            format!("{}Ki", units / 1024)
        } else {
            units.to_string()
        }
    })
}

/// A quantity in thousandths of its unit (`100m` → 100, `1Gi` → 1073741824000).
fn milli(q: &str) -> Option<i128> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: f64 = match suffix {
        "" => 1e3,
        "m" => 1.0,
        "k" => 1e6,
        "M" => 1e9,
        "G" => 1e12,
        "T" => 1e15,
        "Ki" => 1024.0 * 1e3,
        "Mi" => 1024f64.powi(2) * 1e3,
        "Gi" => 1024f64.powi(3) * 1e3,
        "Ti" => 1024f64.powi(4) * 1e3,
        _ => return None,
    };
    Some((number * scale).round() as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocatable_is_capacity_less_the_reservation() {
        assert_eq!(subtract("cpu", "8", "100m").as_deref(), Some("7900m"));
        assert_eq!(subtract("cpu", "8", "1").as_deref(), Some("7"));
        assert_eq!(
            subtract("memory", "32Gi", "512Mi").as_deref(),
            Some("33030144Ki")
        );
        assert_eq!(subtract("memory", "1x", "1"), None);
    }

    #[test]
    fn a_healthy_node_reports_upstreams_conditions() {
        let node = NodeState::new("n".into(), 0, &NodePool::default());
        let status = node_status(&node, &NodePool::default(), jiff::Timestamp::UNIX_EPOCH);
        let conditions = status.conditions.unwrap();
        let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.status, "True");
        assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
        let memory = conditions
            .iter()
            .find(|c| c.type_ == "MemoryPressure")
            .unwrap();
        assert_eq!(memory.status, "False");
        assert_eq!(status.allocatable.unwrap()["cpu"].0, "7900m");
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let node = NodeState::new("n".into(), 0, &NodePool::default());
        let pool = NodePool::default();
        let t0 = jiff::Timestamp::UNIX_EPOCH;
        let t1 = t0 + jiff::SignedDuration::from_secs(10);
        let t2 = t0 + jiff::SignedDuration::from_secs(20);
        node_status(&node, &pool, t0);
        let ready = |s: NodeStatus| {
            s.conditions
                .unwrap()
                .into_iter()
                .find(|c| c.type_ == "Ready")
                .unwrap()
        };
        let same = ready(node_status(&node, &pool, t1));
        assert_eq!(same.last_transition_time, Some(Time(t0)));
        assert_eq!(same.last_heartbeat_time, Some(Time(t1)));
        node.inner
            .lock()
            .condition_faults
            .insert("Ready".into(), true);
        let flipped = ready(node_status(&node, &pool, t2));
        assert_eq!(flipped.status, "False");
        assert_eq!(flipped.last_transition_time, Some(Time(t2)));
    }
}
