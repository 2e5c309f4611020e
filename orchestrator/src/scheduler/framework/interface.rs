//! The extension points (upstream `framework/interface.go`), one small trait each. A plugin is
//! one value implementing [`Plugin`] and any of the extension-point traits; it tells the runtime
//! which ones through the `as_*` methods, which default to "not implemented".
//!
//! Every method is synchronous: plugins read the snapshot and cycle state, they do not wait.
//! The only blocking work (the API write of a binding) happens in Bind, which the runtime runs
//! off the scheduling loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::cycle_state::CycleState;
use super::handle::Handle;
use super::node_info::NodeInfo;
use super::pod_info::PodInfo;
use super::snapshot::Snapshot;
use super::status::Status;

/// The highest score a Score plugin may give after normalization (upstream `MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;
/// The lowest.
pub const MIN_NODE_SCORE: i64 = 0;

/// A plugin: a name and the extension points it implements.
pub trait Plugin: Send + Sync + 'static {
    /// The name used in configuration and in statuses (`NodeResourcesFit`, …).
    fn name(&self) -> &'static str;

    fn as_pre_enqueue(&self) -> Option<&dyn PreEnqueue> {
        None
    }
    fn as_queue_sort(&self) -> Option<&dyn QueueSort> {
        None
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilter> {
        None
    }
    fn as_filter(&self) -> Option<&dyn Filter> {
        None
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilter> {
        None
    }
    fn as_pre_score(&self) -> Option<&dyn PreScore> {
        None
    }
    fn as_score(&self) -> Option<&dyn Score> {
        None
    }
    fn as_reserve(&self) -> Option<&dyn Reserve> {
        None
    }
    fn as_permit(&self) -> Option<&dyn Permit> {
        None
    }
    fn as_pre_bind(&self) -> Option<&dyn PreBind> {
        None
    }
    fn as_bind(&self) -> Option<&dyn Bind> {
        None
    }
    /// The cluster events after which a pod this plugin rejected may fit (upstream
    /// `EnqueueExtensions.EventsToRegister`). `None`: every event (upstream's default for
    /// plugins without the extension).
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        None
    }
}

/// Makes a plugin from its arguments (the `args` of its `pluginConfig` entry, JSON; `Null` when
/// none) and the handle. Errors say what is wrong with the arguments.
pub type PluginFactory =
    fn(args: &serde_json::Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String>;

/// A pod waiting in the scheduling queue (upstream `QueuedPodInfo`).
#[derive(Clone, Debug)]
pub struct QueuedPodInfo {
    pub pod: Arc<PodInfo>,
    /// When the pod was first added to the queue (for the SLI metric and tie-breaking).
    pub initial_attempt: Option<tokio::time::Instant>,
    /// When the pod was last added or moved to the active queue.
    pub timestamp: tokio::time::Instant,
    /// Scheduling attempts so far.
    pub attempts: u32,
    /// Plugins that rejected the pod in its last attempt: only their events requeue it.
    pub unschedulable_plugins: Vec<&'static str>,
    /// Plugins that returned Pending (PreEnqueue gates, Permit waits).
    pub pending_plugins: Vec<&'static str>,
}

/// What the queue watches for to move unschedulable pods back (upstream `ClusterEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClusterEvent {
    pub resource: EventResource,
    pub action: ActionType,
}

/// The kinds of object whose changes requeue pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventResource {
    Pod,
    /// A pod bound to a node changed (assigned pod add/update/delete).
    AssignedPod,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    StorageClass,
    Namespace,
    /// Any resource (a wildcard).
    Any,
}

/// What happened to the object (upstream `ActionType`, a bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActionType(pub u32);

impl ActionType {
    pub const ADD: ActionType = ActionType(1);
    pub const DELETE: ActionType = ActionType(1 << 1);
    pub const UPDATE_NODE_ALLOCATABLE: ActionType = ActionType(1 << 2);
    pub const UPDATE_NODE_LABEL: ActionType = ActionType(1 << 3);
    pub const UPDATE_NODE_TAINT: ActionType = ActionType(1 << 4);
    pub const UPDATE_NODE_CONDITION: ActionType = ActionType(1 << 5);
    pub const UPDATE_POD_LABEL: ActionType = ActionType(1 << 6);
    pub const UPDATE_POD_SCALE_DOWN: ActionType = ActionType(1 << 7);
    pub const UPDATE_POD_TOLERATIONS: ActionType = ActionType(1 << 8);
    pub const UPDATE_POD_SCHEDULING_GATES_ELIMINATED: ActionType = ActionType(1 << 9);
    /// Any other update.
    pub const UPDATE: ActionType = ActionType(1 << 10);
    pub const ALL: ActionType = ActionType(u32::MAX);

    /// Whether the two sets share an action.
    pub fn intersects(self, other: ActionType) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for ActionType {
    type Output = ActionType;
    fn bitor(self, rhs: ActionType) -> ActionType {
        ActionType(self.0 | rhs.0)
    }
}

/// PreEnqueue: whether a pod may enter the active queue at all (scheduling gates).
pub trait PreEnqueue: Send + Sync {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status;
}

/// QueueSort: the order of the active queue.
pub trait QueueSort: Send + Sync {
    /// Whether `a` should be scheduled before `b`.
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool;
}

/// What PreFilter may narrow the candidate nodes to (upstream `PreFilterResult`); `None` nodes
/// means all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    pub node_names: Option<std::collections::BTreeSet<String>>,
}

/// PreFilter: compute what Filter needs once per pod, reject early, or narrow the nodes.
pub trait PreFilter: Send + Sync {
    /// `Skip` means this plugin's Filter is not needed for this pod.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status);

    /// Whether the plugin implements the extensions below (upstream `PreFilterExtensions`,
    /// used by preemption to adjust the state for removed victims).
    fn has_extensions(&self) -> bool {
        false
    }
    /// `to_add` is now on `node`: adjust the state.
    fn add_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _to_add: &Arc<PodInfo>,
        _node: &NodeInfo,
    ) -> Status {
        Status::success()
    }
    /// `to_remove` is no longer on `node`: adjust the state.
    fn remove_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _to_remove: &Arc<PodInfo>,
        _node: &NodeInfo,
    ) -> Status {
        Status::success()
    }
}

/// Filter: whether the pod fits one node. Called for many nodes per cycle: no allocation on
/// success.
pub trait Filter: Send + Sync {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// The filter statuses of the nodes that did not fit, by node name.
pub type NodeToStatus = HashMap<String, Status>;

/// What PostFilter found (upstream `PostFilterResult`): the node a preemptor is nominated to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostFilterResult {
    pub nominated_node_name: String,
}

/// What PostFilter can ask of the runtime: running the filters again on modified nodes.
pub trait FilterRunner: Send + Sync {
    /// Run every Filter of the profile (with nominated pods of higher priority accounted, as
    /// upstream's `RunFilterPluginsWithNominatedPods`).
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
    /// Run every PreFilter extension's `add_pod`.
    fn run_pre_filter_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_add: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status;
    /// Run every PreFilter extension's `remove_pod`.
    fn run_pre_filter_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_remove: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status;
    /// Pods nominated to `node` (by earlier preemptions), for the victims' search.
    fn nominated_pods(&self, node: &str) -> Vec<Arc<PodInfo>>;
}

/// PostFilter: runs when no node fits (preemption).
pub trait PostFilter: Send + Sync {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        statuses: &NodeToStatus,
        runner: &dyn FilterRunner,
    ) -> (Option<PostFilterResult>, Status);
}

/// PreScore: compute what Score needs once per pod, over the nodes that passed the filters.
pub trait PreScore: Send + Sync {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status;
}

/// A node's score. The name is borrowed from the node: the runtime lists every scored node
/// for each normalizing plugin, and a copy of each name was an allocation per node per plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeScore<'a> {
    pub name: &'a str,
    pub score: i64,
}

/// Score: rank one feasible node; then optionally normalize all scores to
/// [`MIN_NODE_SCORE`]..=[`MAX_NODE_SCORE`].
pub trait Score: Send + Sync {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> (i64, Status);
    /// Whether `normalize` does anything (upstream `ScoreExtensions() != nil`).
    fn has_normalize(&self) -> bool {
        false
    }
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        _scores: &mut [NodeScore<'_>],
    ) -> Status {
        Status::success()
    }
}

/// Reserve/Unreserve: claim or release per-node state when a pod is assumed or the bind fails.
pub trait Reserve: Send + Sync {
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status;
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str);
}

/// Permit: allow, deny or hold (Wait with a timeout) the binding.
pub trait Permit: Send + Sync {
    fn permit(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> (Status, Duration);
}

/// PreBind: work before the binding (volumes, later).
pub trait PreBind: Send + Sync {
    fn pre_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status;
}

/// Bind: make the binding. `Skip` passes to the next Bind plugin.
pub trait Bind: Send + Sync {
    fn bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status;
}
