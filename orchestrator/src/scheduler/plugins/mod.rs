//! Upstream's in-tree plugins (`pkg/scheduler/framework/plugins`), one module each, and the
//! registry that maps their configuration names to factories.

pub mod default_binder;
pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod queue_sort;
pub mod scheduling_gates;
pub mod taint_toleration;
pub mod volumes;

use super::framework::PluginFactory;

pub const DEFAULT_BINDER: &str = "DefaultBinder";
pub const DEFAULT_PREEMPTION: &str = "DefaultPreemption";
pub const IMAGE_LOCALITY: &str = "ImageLocality";
pub const INTER_POD_AFFINITY: &str = "InterPodAffinity";
pub const NODE_AFFINITY: &str = "NodeAffinity";
pub const NODE_NAME: &str = "NodeName";
pub const NODE_PORTS: &str = "NodePorts";
pub const NODE_RESOURCES_FIT: &str = "NodeResourcesFit";
pub const NODE_RESOURCES_BALANCED_ALLOCATION: &str = "NodeResourcesBalancedAllocation";
pub const NODE_UNSCHEDULABLE: &str = "NodeUnschedulable";
pub const POD_TOPOLOGY_SPREAD: &str = "PodTopologySpread";
pub const PRIORITY_SORT: &str = "PrioritySort";
pub const SCHEDULING_GATES: &str = "SchedulingGates";
pub const TAINT_TOLERATION: &str = "TaintToleration";
pub const VOLUME_BINDING: &str = "VolumeBinding";
pub const VOLUME_RESTRICTIONS: &str = "VolumeRestrictions";
pub const VOLUME_ZONE: &str = "VolumeZone";
pub const NODE_VOLUME_LIMITS: &str = "NodeVolumeLimits";

/// Every in-tree plugin by name (upstream `plugins.NewInTreeRegistry`).
pub fn registry() -> Vec<(&'static str, PluginFactory)> {
    vec![
        (SCHEDULING_GATES, scheduling_gates::new),
        (PRIORITY_SORT, queue_sort::new),
        (NODE_UNSCHEDULABLE, node_unschedulable::new),
        (NODE_NAME, node_name::new),
        (TAINT_TOLERATION, taint_toleration::new),
        (NODE_AFFINITY, node_affinity::new),
        (NODE_PORTS, node_ports::new),
        (NODE_RESOURCES_FIT, node_resources::fit::new),
        (VOLUME_RESTRICTIONS, volumes::restrictions::new),
        (NODE_VOLUME_LIMITS, volumes::limits::new),
        (VOLUME_BINDING, volumes::binding::new),
        (VOLUME_ZONE, volumes::zone::new),
        (POD_TOPOLOGY_SPREAD, pod_topology_spread::new),
        (INTER_POD_AFFINITY, inter_pod_affinity::new),
        (DEFAULT_PREEMPTION, default_preemption::new),
        (
            NODE_RESOURCES_BALANCED_ALLOCATION,
            node_resources::balanced_allocation::new,
        ),
        (IMAGE_LOCALITY, image_locality::new),
        (DEFAULT_BINDER, default_binder::new),
    ]
}

/// The default profile's plugins and score weights (upstream `v1.getDefaultPlugins`, the
/// `multiPoint` list): name and weight (weight applies where the plugin scores).
pub const DEFAULT_PLUGINS: &[(&str, i32)] = &[
    (SCHEDULING_GATES, 0),
    (PRIORITY_SORT, 0),
    (NODE_UNSCHEDULABLE, 0),
    (NODE_NAME, 0),
    (TAINT_TOLERATION, 3),
    (NODE_AFFINITY, 2),
    (NODE_PORTS, 0),
    (NODE_RESOURCES_FIT, 1),
    (VOLUME_RESTRICTIONS, 0),
    (NODE_VOLUME_LIMITS, 0),
    (VOLUME_BINDING, 0),
    (VOLUME_ZONE, 0),
    (POD_TOPOLOGY_SPREAD, 2),
    (INTER_POD_AFFINITY, 2),
    (DEFAULT_PREEMPTION, 0),
    (NODE_RESOURCES_BALANCED_ALLOCATION, 1),
    (IMAGE_LOCALITY, 1),
    (DEFAULT_BINDER, 0),
];
