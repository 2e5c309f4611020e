//! Scenario workloads and shared helpers for kubeproof's benchmarks: realistic objects, kube-rs
//! clients for an embedded control plane, latency summaries and the JSON figures each benchmark
//! writes under `target/kubeproof-bench/`.

pub mod cluster;
pub mod figures;
pub mod pods;
pub mod scenarios;

pub use cluster::{client_for, established_connections, rss_bytes};
pub use figures::{Figures, Report, Summary};
pub use pods::{realistic_pod, realistic_pod_json};
