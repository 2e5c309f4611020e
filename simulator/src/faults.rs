//! Fault injection: what suites and the CLI can do to hollow nodes. [`NodeControl`] is the trait
//! the suites depend on (they never see the simulator's internals); [`crate::Simulator`]
//! implements it. Every fault is applied asynchronously by the simulator and shows through the
//! API (a node going NotReady, a restart count rising), which is what tests wait for.

use futures::future::BoxFuture;

use crate::pod::ProbeKind;
use crate::profile::NodePool;

/// A fault that could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaultError {
    /// No hollow node of that name is managed by this simulator.
    #[error("no hollow node {0:?} is managed by this simulator")]
    NoSuchNode(String),
    /// No pod of that name runs on this simulator's nodes.
    #[error("no pod {namespace}/{name} runs on this simulator's nodes")]
    NoSuchPod {
        /// The pod's namespace.
        namespace: String,
        /// The pod's name.
        name: String,
    },
    /// The pod has no container of that name.
    #[error("pod {pod} has no container {container:?}")]
    NoSuchContainer {
        /// `namespace/name`.
        pod: String,
        /// The container asked for.
        container: String,
    },
    /// The API refused a write the fault needs (registering or deleting a node).
    #[error("the API refused: {0}")]
    Api(String),
    /// The simulator has stopped.
    #[error("the simulator has stopped")]
    Stopped,
}

/// Control over hollow nodes, for tests and the CLI.
pub trait NodeControl: Send + Sync {
    /// Register `count` new hollow nodes named `<prefix>-<i>` from the profile's pool `pool`
    /// (its first pool when `None`) and return their names once each Node exists in the API.
    /// Tests that disturb nodes add their own, so they disturb nobody else.
    fn add_nodes<'a>(
        &'a self,
        prefix: &'a str,
        count: usize,
        pool: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<String>, FaultError>>;

    /// Register `count` new hollow nodes named `<prefix>-<i>` shaped by `pool` itself rather
    /// than one of the profile's pools: its capacity, labels (which may set the
    /// `topology.kubernetes.io/zone` the node would otherwise get round robin) and the taints it
    /// registers with. Returns their names once each Node exists in the API. A test that needs
    /// nodes of a particular shape, private to it from their first moment, adds them this way.
    fn add_nodes_from<'a>(
        &'a self,
        prefix: &'a str,
        count: usize,
        pool: NodePool,
    ) -> BoxFuture<'a, Result<Vec<String>, FaultError>>;

    /// The names of every node this simulator manages, sorted.
    fn node_names(&self) -> Vec<String>;

    /// Stop `node`'s lease renewals and status updates: the control plane will find it
    /// unreachable once its grace period passes.
    fn stop_heartbeats(&self, node: &str) -> Result<(), FaultError>;

    /// Resume `node`'s heartbeats (a lease renewal and a status update are sent at once).
    fn resume_heartbeats(&self, node: &str) -> Result<(), FaultError>;

    /// Report `condition` (`Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`,
    /// `NetworkUnavailable`) of `node` with `status` (`True`, `False`), as a kubelet whose node
    /// went bad would; written at once.
    fn set_condition(&self, node: &str, condition: &str, status: bool) -> Result<(), FaultError>;

    /// Delete `node` from the API and stop simulating it, as a machine that disappears.
    fn delete_node<'a>(&'a self, node: &'a str) -> BoxFuture<'a, Result<(), FaultError>>;

    /// Kill a running container: it exits with code 137 and restarts per the pod's restart
    /// policy.
    fn kill_container<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
    ) -> BoxFuture<'a, Result<(), FaultError>>;

    /// Make `kind` probes of a container fail (`failing`) or succeed from now on, whatever the
    /// behaviour model says.
    fn fail_probes<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        kind: ProbeKind,
        failing: bool,
    ) -> BoxFuture<'a, Result<(), FaultError>>;

    /// Partition `node`'s pods from the API (`true`): pod status updates and deletion
    /// confirmations are held back until the partition ends (`false`), then the latest state is
    /// written. Heartbeats are not affected (use [`NodeControl::stop_heartbeats`]).
    fn partition(&self, node: &str, partitioned: bool) -> Result<(), FaultError>;

    /// Run `node`'s pods `factor` times slower (2.0: every delay started from now doubles);
    /// 1.0 restores it.
    fn slow_down(&self, node: &str, factor: f64) -> Result<(), FaultError>;
}
