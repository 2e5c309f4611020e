//! The hollow pod lifecycle, as a pure state machine: no I/O, no clock reads. The driver
//! ([`crate::driver`]) feeds it the pod as the API shows it and the current time, and applies
//! what it returns — a new status to write, events to record, when to wake it next, and whether
//! to confirm the pod's deletion — exactly as the kubelet's pod workers would.
//!
//! One machine per pod bound to one of our nodes. See `machine.rs` for the states.

mod admit;
mod backoff;
mod containers;
mod ids;
mod machine;
mod probes;
mod status;

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{PodStatus, Volume};
use tokio::time::Instant;

pub use admit::{Rejection, admit, parse_quantity, pod_requests};
pub use machine::PodMachine;

/// The time at one step: monotonic for deadlines, wall-clock for the timestamps written to the
/// API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Now {
    /// Monotonic time, for `next_wake` deadlines.
    pub at: Instant,
    /// Wall-clock time, for `startTime`, `startedAt`, `lastTransitionTime`, …
    pub wall: jiff::Timestamp,
}

impl Now {
    /// The current time.
    pub fn current() -> Self {
        Self {
            at: Instant::now(),
            wall: jiff::Timestamp::now(),
        }
    }
}

/// Where a pod runs: given by the driver when the pod is first seen on a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    /// The node's name.
    pub node_name: String,
    /// The node's InternalIP (`status.hostIP`; also `podIP` for `hostNetwork` pods).
    pub host_ip: Ipv4Addr,
    /// An address from the node's `podCIDR`, reserved for this pod.
    pub pod_ip: Ipv4Addr,
}

/// What a machine asks of the node it runs on. Implemented by the driver over its caches.
pub trait World {
    /// Why `volume` of a pod in `namespace` cannot be set up now, worded as the kubelet's
    /// `FailedMount` event message (`configmap "x" not found`, …); `None` when it can.
    fn mount_error(&self, namespace: &str, volume: &Volume) -> Option<String>;
    /// Whether the node already holds `image` (then `IfNotPresent` skips the pull).
    fn image_present(&self, image: &str) -> bool;
    /// The node now holds `image`.
    fn image_pulled(&self, image: &str);
}

/// Severity of an event, as `Event.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

impl EventKind {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Normal => "Normal",
            EventKind::Warning => "Warning",
        }
    }
}

/// An event about the pod, as the kubelet would record it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodEvent {
    /// `Normal` or `Warning`.
    pub kind: EventKind,
    /// `Pulling`, `Pulled`, `Created`, `Started`, `Killing`, `Unhealthy`, `BackOff`,
    /// `FailedMount`, `Failed`, …
    pub reason: String,
    /// Upstream's wording.
    pub message: String,
    /// `involvedObject.fieldPath`: `spec.containers{web}` for container events, `None` for the
    /// pod itself.
    pub field_path: Option<String>,
}

/// What one step of a machine produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    /// The pod's whole new status when it changed since the last one returned; `None` when
    /// nothing visible changed (then nothing is written).
    pub status: Option<PodStatus>,
    /// Events to record, in order.
    pub events: Vec<PodEvent>,
    /// When to call [`PodMachine::advance`] again; `None` when only an outside change (the pod
    /// object, a fault, a volume appearing) can move the machine.
    pub next_wake: Option<Instant>,
    /// The pod is terminating and every container has stopped: delete it with grace period 0,
    /// as the kubelet confirms a deletion.
    pub confirm_deletion: bool,
}

/// A container probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// `startupProbe`.
    Startup,
    /// `readinessProbe`.
    Readiness,
    /// `livenessProbe`.
    Liveness,
}
