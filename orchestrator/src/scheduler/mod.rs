//! The scheduler (upstream kube-scheduler), inside the control plane: it watches pods and nodes
//! in the store, keeps an incremental cache, and binds pods through the `binding` semantics.
//!
//! - [`framework`]: the plugin interfaces and the runtime that runs a profile's plugins;
//! - [`plugins`]: upstream's in-tree plugins, one module each (filters, scores, preemption, …);
//! - `queue`: the active, backoff and unschedulable queues, and the nominator;
//! - `cache`: nodes and pods (bound and assumed) kept from watch events, and the per-cycle
//!   snapshot copied from it by generation;
//! - `schedule_one`: one scheduling cycle and the asynchronous binding cycle;
//! - `config`: `KubeSchedulerConfiguration` profiles;
//! - `metrics`: upstream's metric names on `/metrics`.

mod cache;
pub mod config;
pub mod framework;
mod metrics;
pub mod plugins;
pub mod queue;
mod schedule_one;
