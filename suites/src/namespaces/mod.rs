//! The `namespaces` area: namespace lifecycle and isolation, deletion cascade and the
//! terminating-namespace rule, ResourceQuota and LimitRange admission.

use crate::TestDef;

#[allow(dead_code)]
const AREA: &str = "namespaces";

/// Every `namespaces` test.
pub fn tests() -> Vec<TestDef> {
    vec![]
}
