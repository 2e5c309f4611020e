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
pub mod node_lifecycle;
pub mod pods;
pub mod scheduling;
pub mod workloads;

pub use context::TestContext;
pub use registry::{Need, Skipped, Tag, TestDef, TestFuture};

/// Every test, in area order.
pub fn all() -> Vec<TestDef> {
    let mut tests = api_machinery::tests();
    tests.extend(namespaces::tests());
    tests.extend(kubectl::tests());
    tests.extend(pods::tests());
    tests.extend(node_lifecycle::tests());
    tests.extend(scheduling::tests());
    tests.extend(workloads::tests());
    tests
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn test_names_are_unique_snake_case_sentences() {
        let mut seen = HashSet::new();
        for t in all() {
            assert!(
                seen.insert(t.full_name()),
                "duplicate test {}",
                t.full_name()
            );
            assert!(
                t.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && t.name.contains('_'),
                "{} is not a snake-case sentence",
                t.name
            );
        }
    }

    #[test]
    fn conformance_tag_goes_with_an_upstream_name() {
        for t in all() {
            assert_eq!(
                t.has(Tag::Conformance),
                !t.upstream.is_empty(),
                "{}: Conformance tag and upstream names disagree",
                t.full_name()
            );
        }
    }

    #[test]
    fn kubectl_tests_declare_that_they_need_kubectl() {
        for t in all().into_iter().filter(|t| t.area == "kubectl") {
            assert!(
                t.needs.contains(&Need::Kubectl),
                "{} runs kubectl without declaring Need::Kubectl",
                t.full_name()
            );
        }
    }

    #[test]
    fn the_issue_asks_for_at_least_45_api_machinery_and_namespaces_tests() {
        let n = all()
            .iter()
            .filter(|t| t.area == "api-machinery" || t.area == "namespaces")
            .count();
        assert!(n >= 45, "only {n} api-machinery and namespaces tests");
    }

    #[test]
    fn the_issue_asks_for_at_least_35_pods_and_node_lifecycle_tests() {
        let n = all()
            .iter()
            .filter(|t| t.area == "pods" || t.area == "node-lifecycle")
            .count();
        assert!(n >= 35, "only {n} pods and node-lifecycle tests");
    }
}
