//! kubeproof's end-to-end tests: one registry that `cargo nextest run` (through
//! `tests/e2e.rs`) and `kubeproof run` both execute. Each area is a module with a `tests()`
//! function listing its [`TestDef`]s; tests talk to the cluster only through the Kubernetes API
//! (kube-rs) or the real `kubectl`, so they run against any target.

pub mod context;
pub mod registry;
#[macro_use]
pub mod support;

pub mod api_machinery;
pub mod kubectl;
pub mod namespaces;

pub use context::TestContext;
pub use registry::{Need, Skipped, Tag, TestDef, TestFuture};

/// Every test, in area order.
pub fn all() -> Vec<TestDef> {
    let mut tests = api_machinery::tests();
    tests.extend(namespaces::tests());
    tests.extend(kubectl::tests());
    tests
}
