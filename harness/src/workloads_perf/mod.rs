//! `kubeproof bench workloads`: the workload controllers at scale, measured from outside
//! through the API on hollow nodes whose containers start at once (pull and start delays zero),
//! so what is timed is the control plane: the Deployment and ReplicaSet controllers, the
//! scheduler and the API server.
//!
//! - `rollout`: a Deployment of `--replicas` (1,000) pods on `--nodes` (500) hollow nodes, with
//!   maxSurge 25% and maxUnavailable 25%, rolled to a new image once it is available; the figure
//!   is the time from the image change to the rollout complete (every replica updated and
//!   available, the old ReplicaSet empty), with the Deployment controller's work queue latency
//!   (`workqueue_queue_duration_seconds{name="deployment"}`) over the rollout.
//! - `deployments`: `--deployments` (1,000) Deployments of `--per-deployment` (10) replicas
//!   created at once; the figure is the time from the first create to every Deployment
//!   available.

mod scenarios;

use std::path::PathBuf;
use std::time::Duration;

use reports::{Measurement, Outcome, Percentile, TestResult};

pub use scenarios::run;

/// Which scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Roll a large Deployment to a new image.
    Rollout,
    /// Create many Deployments at once.
    Deployments,
}

impl Scenario {
    /// Its name in results and tables.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Rollout => "rollout",
            Scenario::Deployments => "deployments",
        }
    }

    /// The goal for its figure (seconds), from the issue: a 1,000-replica rollout in 5 s, 1,000
    /// Deployments × 10 available in 10 s, on this machine's 2 cores.
    pub fn goal_seconds(self) -> f64 {
        match self {
            Scenario::Rollout => 5.0,
            Scenario::Deployments => 10.0,
        }
    }
}

/// How to run the scenarios.
#[derive(Clone, Debug)]
pub struct Options {
    /// Hollow nodes to run (embedded) or attach (kubeconfig).
    pub nodes: usize,
    /// Replicas of the `rollout` Deployment.
    pub replicas: i32,
    /// Deployments of the `deployments` scenario.
    pub deployments: usize,
    /// Replicas of each of them.
    pub per_deployment: i32,
    /// Creates in flight at once.
    pub concurrency: usize,
    /// How long one phase may take.
    pub timeout: Duration,
    /// The hollow nodes' seed.
    pub seed: u64,
    /// Run on this cluster instead of an embedded control plane.
    pub kubeconfig: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nodes: 500,
            replicas: 1000,
            deployments: 1000,
            per_deployment: 10,
            concurrency: 64,
            timeout: Duration::from_secs(600),
            seed: 0,
            kubeconfig: None,
        }
    }
}

/// What one scenario measured.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// The scenario's figure: rollout duration, or time to all available.
    pub seconds: f64,
    /// Time to the starting point (the first Deployment available, for `rollout`).
    pub setup_seconds: f64,
    /// Work queue latency per controller queue over the measured phase: (queue, mean, p99).
    pub queue_latency: Vec<(String, Option<f64>, Option<f64>)>,
    /// Pods in the cluster at the end.
    pub pods: usize,
}

/// One scenario's run.
#[derive(Debug)]
pub struct ScenarioRun {
    pub scenario: Scenario,
    pub outcome: Result<Figures, String>,
    pub duration: Duration,
}

impl ScenarioRun {
    /// Met the goal?
    pub fn met(&self) -> Option<bool> {
        self.outcome
            .as_ref()
            .ok()
            .map(|f| f.seconds <= self.scenario.goal_seconds())
    }

    /// As a test result: passed when it ran (the goal is reported, not enforced, as the
    /// scheduler bench reports its thresholds).
    pub fn test_result(&self) -> TestResult {
        let outcome = match &self.outcome {
            Ok(_) => Outcome::Passed,
            Err(e) => Outcome::Failed { message: e.clone() },
        };
        TestResult {
            name: format!("bench::workloads::{}", self.scenario.name()),
            area: "bench".into(),
            tags: vec![],
            upstream: vec![],
            outcome,
            duration: self.duration,
            seed: None,
            namespace: None,
        }
    }

    /// The figures as measurements.
    pub fn measurements(&self) -> Vec<Measurement> {
        let Ok(f) = &self.outcome else { return vec![] };
        let labels = |extra: &[(&str, &str)]| {
            let mut l: std::collections::BTreeMap<String, String> =
                [("scenario".to_string(), self.scenario.name().to_string())].into();
            for (k, v) in extra {
                l.insert((*k).into(), (*v).into());
            }
            l
        };
        let seconds = |name: &str, v: f64| Measurement {
            name: name.into(),
            unit: "seconds".into(),
            labels: labels(&[]),
            count: 1,
            mean: Some(v),
            percentiles: vec![],
        };
        let mut out = vec![
            seconds("kubeproof_workload_duration_seconds", f.seconds),
            seconds("kubeproof_workload_setup_seconds", f.setup_seconds),
        ];
        for (queue, mean, p99) in &f.queue_latency {
            out.push(Measurement {
                name: "workqueue_queue_duration_seconds".into(),
                unit: "seconds".into(),
                labels: labels(&[("name", queue)]),
                count: 1,
                mean: *mean,
                percentiles: p99
                    .map(|v| {
                        vec![Percentile {
                            quantile: 0.99,
                            value: v,
                        }]
                    })
                    .unwrap_or_default(),
            });
        }
        out
    }
}

/// The table printed at the end.
pub fn table(runs: &[ScenarioRun]) -> String {
    let mut s = String::from(
        "scenario      figure     goal     met   setup    queue latency (mean / p99)\n",
    );
    for r in runs {
        match &r.outcome {
            Ok(f) => {
                let queues: Vec<String> = f
                    .queue_latency
                    .iter()
                    .map(|(q, mean, p99)| {
                        let ms = |v: &Option<f64>| {
                            v.map_or("-".into(), |v| format!("{:.1} ms", v * 1000.0))
                        };
                        format!("{q} {} / {}", ms(mean), ms(p99))
                    })
                    .collect();
                s += &format!(
                    "{:<13} {:>7.2} s  {:>5.1} s  {:<4}  {:>6.2} s  {}\n",
                    r.scenario.name(),
                    f.seconds,
                    r.scenario.goal_seconds(),
                    if r.met() == Some(true) { "yes" } else { "no" },
                    f.setup_seconds,
                    if queues.is_empty() {
                        "not exposed".into()
                    } else {
                        queues.join(", ")
                    },
                );
            }
            Err(e) => s += &format!("{:<13} failed: {e}\n", r.scenario.name()),
        }
    }
    s
}
