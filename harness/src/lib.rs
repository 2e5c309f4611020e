//! kubeproof's harness: targets (boot or attach a cluster), the runner (select, run in parallel,
//! time out, map outcomes), and the `kubeproof` command line on top.
//!
//! `kubeproof run` and the `cargo nextest` entry point (`suites/tests/e2e.rs`) share
//! [`Target`] and [`execute`], so a test behaves the same under both.

pub mod cli;
pub mod commands;
pub mod coverage;
pub mod execute;
mod exit_codes;
pub mod metadata;
pub mod namespace;
mod panics;
pub mod runner;
pub mod scheduler_perf;
pub mod seed;
pub mod select;
pub mod target;
pub mod trial;
pub mod workloads_perf;

#[cfg(test)]
mod test_support;

pub use commands::error_chain;
pub use execute::{ExecSettings, execute, run_test};
pub use exit_codes::ExitCodes;
pub use panics::install_panic_hook;
pub use reports::{Outcome, TestResult};
pub use runner::{RunSettings, run_all};
pub use select::{Selection, SelectionArgs};
pub use target::{Capabilities, Target, TargetError, TargetKind, TargetOptions, TestEnv};
