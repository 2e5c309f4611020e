//! Scenario workloads and shared helpers for kubeproof's benchmarks.
