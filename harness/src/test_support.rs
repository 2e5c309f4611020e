//! Fakes for the harness's unit tests: contexts and results that need no cluster.

use std::time::Duration;

use reports::{Outcome, TestResult};
use suites::{TestContext, TestDef};

/// A context whose client points at a loopback port nothing listens on (the discard port): the
/// fake tests never call it, and a call would fail at once with "connection refused".
pub(crate) fn offline_context() -> TestContext {
    crate::target::install_crypto_provider();
    let config = kube::Config::new("http://127.0.0.1:9".parse().expect("a valid URL"));
    TestContext {
        client: kube::Client::try_from(config).expect("a client for a plain http URL"),
        namespace: "kp-fake-0000".to_owned(),
        kubeconfig: "/nonexistent/kubeconfig".into(),
        server: "http://127.0.0.1:9".to_owned(),
        seed: 1,
        timeout: Duration::from_secs(5),
        nodes: None,
    }
}

/// A passed result for `def`, to be overwritten field by field.
pub(crate) fn result_of(def: &TestDef) -> TestResult {
    TestResult {
        name: def.full_name(),
        area: def.area.to_owned(),
        tags: vec![],
        upstream: vec![],
        outcome: Outcome::Passed,
        duration: Duration::ZERO,
        seed: None,
        namespace: None,
    }
}
