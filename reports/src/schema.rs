//! The `results.json` schema, version 1: what one run of kubeproof found.
//!
//! The schema is a contract with dashboards and nightly jobs that read old runs, so fields are only
//! ever added (with `#[serde(default)]`), never renamed; a change that breaks readers bumps
//! [`SCHEMA_VERSION`].

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The version written into every `results.json`.
pub const SCHEMA_VERSION: u32 = 1;

/// One run: metadata, every test that was selected, and every measurement taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// Who ran what, where, when, with which seed.
    pub run: RunMetadata,
    /// Every selected test, in the order they finished.
    pub tests: Vec<TestResult>,
    /// Client- or server-side measurements (filled by later issues; empty for now).
    #[serde(default)]
    pub measurements: Vec<Measurement>,
}

/// Everything needed to understand and replay a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMetadata {
    /// The tool that produced the results.
    pub tool: Tool,
    /// The cluster the tests ran against.
    pub target: TargetInfo,
    /// The run's seed; every per-test seed is derived from it.
    pub seed: u64,
    /// When the run started (UTC).
    pub started_at: Timestamp,
    /// When the run finished (UTC).
    pub finished_at: Timestamp,
    /// The machine the harness ran on.
    pub machine: Machine,
    /// A command line that replays this run (same selection, same seed).
    #[serde(default)]
    pub replay: String,
}

/// The tool and its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `kubeproof`.
    pub name: String,
    /// The crate version of the harness.
    pub version: String,
}

/// The target cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// `embedded`, `kubeconfig` or `k3s`.
    pub name: String,
    /// The API server URL.
    #[serde(default)]
    pub server: Option<String>,
    /// The API server's `/version` `gitVersion`, when it answered.
    #[serde(default)]
    pub server_version: Option<String>,
}

/// The machine the harness ran on, so numbers from different machines are not compared blindly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Host name.
    pub hostname: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// Operating system and architecture, e.g. `linux x86_64 (Debian GNU/Linux 13)`.
    pub os: String,
}

/// One test's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// `area::name`, as nextest and `kubeproof list` show it.
    pub name: String,
    /// The area (`api-machinery`, `namespaces`, …).
    pub area: String,
    /// Tags, as `Conformance`, `Serial`, `Feature:X`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Upstream conformance `testname`s this test checks the behaviour of.
    #[serde(default)]
    pub upstream: Vec<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Wall-clock time of the test itself (namespace set-up excluded).
    #[serde(with = "duration_seconds")]
    pub duration: Duration,
    /// The test's own seed, derived from the run's seed and its name.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The namespace the test ran in, when one was created.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// How a test ended. A skip is never a pass: it carries its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The test ran and every assertion held.
    Passed,
    /// The test returned an error or panicked.
    Failed {
        /// The error chain or panic message.
        message: String,
    },
    /// The test did not run here (unmet need, or it found at run time it could not run).
    Skipped {
        /// Why.
        reason: String,
    },
    /// The test did not finish within its timeout and was cancelled.
    TimedOut,
}

impl Outcome {
    /// Whether this outcome makes the run fail.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. } | Outcome::TimedOut)
    }

    /// A short upper-case label for terminals and Markdown: `PASS`, `FAIL`, `SKIP`, `TIMEOUT`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "PASS",
            Outcome::Failed { .. } => "FAIL",
            Outcome::Skipped { .. } => "SKIP",
            Outcome::TimedOut => "TIMEOUT",
        }
    }
}

/// A measured distribution (API latency, pod startup, scheduling throughput, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Upstream metric name where one exists, e.g. `apiserver_request_duration_seconds`.
    pub name: String,
    /// Unit of every value: `seconds`, `pods/s`, `bytes`.
    pub unit: String,
    /// Extra dimensions (`verb`, `resource`, `workload`, …), sorted for stable output.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Number of samples.
    pub count: u64,
    /// The arithmetic mean of the samples, where it is a figure of its own (scheduler_perf's
    /// throughput thresholds apply to the average of the 1-second samples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Quantiles, ascending.
    pub percentiles: Vec<Percentile>,
}

/// One quantile of a [`Measurement`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Percentile {
    /// The quantile in `[0, 1]`, e.g. `0.99`.
    pub quantile: f64,
    /// The value at that quantile, in the measurement's unit.
    pub value: f64,
}

/// Totals over a run's tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed (timed-out ones not included).
    pub failed: usize,
    /// Tests that were skipped.
    pub skipped: usize,
    /// Tests that timed out.
    pub timed_out: usize,
}

impl Totals {
    /// Count `tests` by outcome.
    pub fn of(tests: &[TestResult]) -> Self {
        let mut totals = Totals::default();
        for test in tests {
            match test.outcome {
                Outcome::Passed => totals.passed += 1,
                Outcome::Failed { .. } => totals.failed += 1,
                Outcome::Skipped { .. } => totals.skipped += 1,
                Outcome::TimedOut => totals.timed_out += 1,
            }
        }
        totals
    }

    /// The closing line CI reads, exactly `N passed, N failed, N skipped` and nothing more (CI
    /// parses it). Timed-out tests count as failed here, since they fail the run; say how many
    /// timed out on a line of its own.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed,
            self.failed + self.timed_out,
            self.skipped
        )
    }

    /// Whether the run succeeded: nothing failed and nothing timed out.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.timed_out == 0
    }
}

impl Results {
    /// Totals over [`Self::tests`].
    pub fn totals(&self) -> Totals {
        Totals::of(&self.tests)
    }
}

/// Durations as fractional seconds: readable in JSON and in every plotting tool.
mod duration_seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}
