//! The scheduler (upstream kube-scheduler), inside the control plane: it watches pods and nodes
//! in the store, keeps an incremental cache, and binds pods through the `binding` semantics.
//!
//! - [`framework`]: the plugin interfaces and the runtime that runs a profile's plugins;
//! - [`plugins`]: upstream's in-tree plugins, one module each (filters, scores, preemption, …);
//! - `queue`: the active, backoff and unschedulable queues, and the nominator;
//! - `cache`: nodes and pods (bound and assumed) kept from watch events, and the per-cycle
//!   snapshot copied from it by generation;
//! - `schedule_one`: the algorithm of one scheduling cycle (filters over sampled nodes, scores,
//!   the choice of node) and upstream's FitError message;
//! - `task`: the task running cycles back to back, asynchronous binding, failure handling;
//! - `informer`: the pod and node watches feeding the cache and the queue;
//! - `config`: `KubeSchedulerConfiguration` profiles;
//! - `metrics`: upstream's metric names on `/metrics`.

pub mod cache;
pub mod config;
pub mod framework;
mod informer;
pub mod metrics;
pub mod plugins;
pub mod queue;
pub mod schedule_one;
mod task;

#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
mod test_plugins;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{KubeSchedulerConfiguration, SchedulerConfig};
pub use metrics::SchedulerMetrics;

use crate::api::Objects;

/// Start the scheduler on `tracker` (its watches, loop and binding tasks), reporting into
/// `metrics`; it stops when `shutdown` is cancelled. Errors say what is wrong with the
/// configuration.
pub fn spawn(
    objects: Arc<Objects>,
    config: &SchedulerConfig,
    metrics: Arc<SchedulerMetrics>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) -> Result<(), String> {
    let s = task::Scheduler::new(objects, config, metrics, tracker.clone())?;
    s.spawn(config, shutdown);
    Ok(())
}
