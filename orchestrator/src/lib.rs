//! kubeproof's embedded control plane: a Kubernetes API server over an MVCC store, with
//! admission, validation and the controllers later issues add. Everything outside talks to it
//! through the Kubernetes API; [`ControlPlane`] boots one on loopback.

pub mod admission;
pub mod api;
mod control_plane;
pub mod controllers;
pub mod error;
pub mod patch;
pub mod registry;
pub mod scheduler;
pub mod store;
pub mod table;

pub use control_plane::{BootError, ControlPlane, ControlPlaneConfig, SYSTEM_NAMESPACES};
pub use controllers::NodeLifecycleConfig;
pub use scheduler::{KubeSchedulerConfiguration, SchedulerConfig};
pub use error::{ApiError, Result};
