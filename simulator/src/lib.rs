//! kubeproof's hollow nodes: many simulated nodes in one process, joined to any cluster through
//! the Kubernetes API (kube-rs) and nothing else — the same simulator drives the embedded
//! orchestrator and a real cluster given a kubeconfig.
//!
//! Layout:
//! - [`profile`]: the YAML profile (node pools, zones, heartbeat timing, clock factor).
//! - [`behaviour`]: what a hollow container does — data, overridable per pod by annotations.
//! - [`pod`]: the pod lifecycle as a pure state machine (phases, containers, probes, hooks).
//! - [`events`]: the kubelet's event recorder with upstream's correlation.
//! - [`faults`]: the [`NodeControl`] trait suites use to inject faults.
//! - [`node`]: a hollow node's identity, Node object and heartbeats (lease, status).
//! - [`driver`]: the one task that runs every pod of every node.
//! - [`Simulator`]: all of it together; implements [`NodeControl`].
//! - [`clock`], [`seed`]: model time and deterministic draws.

pub mod behaviour;
pub mod clock;
pub mod driver;
pub mod events;
pub mod faults;
pub mod node;
pub mod pod;
pub mod profile;
pub mod seed;
mod simulator;

pub use clock::SimClock;
pub use faults::{FaultError, NodeControl};
pub use profile::{NodePool, Profile, ProfileError};
pub use simulator::{SimConfig, SimError, SimStats, Simulator};
