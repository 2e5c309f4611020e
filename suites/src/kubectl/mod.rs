//! kubectl-driven tests: the real `kubectl` binary against the target, checking what users see.

use crate::TestDef;

#[allow(dead_code)]
const AREA: &str = "kubectl";

/// Every kubectl test.
pub fn tests() -> Vec<TestDef> {
    vec![]
}
