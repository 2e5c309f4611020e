//! The scheduling framework (upstream `pkg/scheduler/framework`): what a plugin sees — pods and
//! nodes parsed for scheduling, the snapshot, the per-cycle state, outcomes as values — and the
//! extension-point traits. [`runtime`] runs a profile's plugins at each point.

mod cycle_state;
mod handle;
mod interface;
mod node_info;
mod node_sums;
mod pod_info;
pub mod resource;
pub mod runtime;
mod snapshot;
mod status;
pub mod testing;

pub use cycle_state::{CycleState, StateData};
pub use handle::{Handle, namespace_labels};
pub use interface::*;
pub use node_info::{ImageState, NodeInfo};
pub use node_sums::{Memo, NodeSums};
pub use pod_info::{
    AffinityTerm, DEFAULT_SCHEDULER_NAME, HostPort, Labels, OwnerRef, PREEMPT_LOWER_PRIORITY,
    PodInfo, WeightedAffinityTerm, compile_selector,
};
pub use resource::Resource;
pub use snapshot::Snapshot;
pub use status::{Code, Status};
