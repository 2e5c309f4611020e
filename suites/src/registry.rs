//! What a test declares about itself.

use std::future::Future;
use std::pin::Pin;

use crate::TestContext;

/// A running test.
pub type TestFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'static>>;

/// Tags, as upstream's e2e labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    /// Mirrors an upstream conformance behaviour.
    Conformance,
    /// Must not run in parallel with other tests.
    Serial,
    /// Takes long; excluded unless asked for.
    Slow,
    /// Disturbs the cluster (nodes, control plane).
    Disruptive,
    /// Needs an optional feature of the target, named.
    Feature(&'static str),
}

/// What a test needs from its target; a target that cannot provide it reports the test skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Need {
    /// The `kubectl` binary on the PATH.
    Kubectl,
    /// Control over nodes (fault injection), as hollow nodes give.
    NodeControl,
    /// Real nodes running real containers.
    RealNodes,
}

/// One test.
#[derive(Clone)]
pub struct TestDef {
    /// Area, as in `kubeproof run --suite`: `api-machinery`, `namespaces`, …
    pub area: &'static str,
    /// Test name, a sentence in snake case: `deleting_namespace_removes_its_objects`.
    pub name: &'static str,
    pub tags: &'static [Tag],
    /// Upstream conformance `testname`s this test checks the behaviour of.
    pub upstream: &'static [&'static str],
    pub needs: &'static [Need],
    pub run: fn(TestContext) -> TestFuture,
}

impl TestDef {
    /// `api_machinery::create_then_get_returns_the_object`: the name nextest and reports use.
    pub fn full_name(&self) -> String {
        format!("{}::{}", self.area.replace('-', "_"), self.name)
    }

    /// Whether the test carries `tag`.
    pub fn has(&self, tag: Tag) -> bool {
        self.tags.contains(&tag)
    }
}

impl std::fmt::Debug for TestDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDef")
            .field("name", &self.full_name())
            .field("tags", &self.tags)
            .finish()
    }
}

/// Returned (through `anyhow`) by a test that finds at run time that it cannot run here; the
/// runner reports it skipped with this reason, never passed.
#[derive(Debug, thiserror::Error)]
#[error("skipped: {0}")]
pub struct Skipped(pub String);
