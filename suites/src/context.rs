//! What a test gets to work with.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The per-test context: a client, a namespace of its own, and the target's kubeconfig.
#[derive(Clone)]
pub struct TestContext {
    /// A client for the target, authenticated as its admin.
    pub client: kube::Client,
    /// A namespace created for this test; the runner deletes it afterwards.
    pub namespace: String,
    /// The target's kubeconfig, for `kubectl --kubeconfig`.
    pub kubeconfig: PathBuf,
    /// The target's API server URL.
    pub server: String,
    /// The run's seed (tests that draw randomness derive it from here).
    pub seed: u64,
    /// How long the test may take; waits should use a fraction of it.
    pub timeout: Duration,
    /// Control over the target's hollow nodes (fault injection), when kubeproof runs them.
    pub nodes: Option<Arc<dyn simulator::NodeControl>>,
}

impl TestContext {
    /// The target's node control, or a [`crate::Skipped`] error saying why there is none (a
    /// test declaring `Need::NodeControl` is normally skipped before it runs).
    pub fn node_control(&self) -> anyhow::Result<&dyn simulator::NodeControl> {
        self.nodes.as_deref().ok_or_else(|| {
            crate::Skipped(
                "needs control over nodes (hollow nodes run by kubeproof); this target has none"
                    .to_owned(),
            )
            .into()
        })
    }
}
