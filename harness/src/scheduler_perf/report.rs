//! What a `kubeproof bench scheduler` run found: one test result per workload (failed when an op
//! failed or the average throughput is under the workload's threshold), measurements in the
//! results schema, and a table that fits on one screen.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use reports::{Measurement, Outcome, Percentile, TestResult};

use super::executor::Measured;
use super::scrape::ATTEMPT_DURATION;

/// The area test results of scheduler benchmarks are filed under.
pub const AREA: &str = "scheduler-perf";

/// One workload's run.
#[derive(Clone, Debug)]
pub struct WorkloadRun {
    /// `TestCase/Tier`.
    pub name: String,
    /// The tier's threshold on average throughput (pods/s).
    pub threshold: Option<f64>,
    /// The measured ops, or why the workload stopped.
    pub outcome: Result<Vec<Measured>, String>,
    /// Wall-clock time of the whole workload (boot and nodes included).
    pub duration: Duration,
}

/// The figure a threshold is checked against, and how it was obtained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// Average SchedulingThroughput (pods/s), or the overall rate when the op was too short for
    /// two samples.
    pub figure: f64,
    /// Whether `figure` is the overall rate.
    pub overall: bool,
    /// Whether it meets the threshold (true without one).
    pub met: bool,
}

impl WorkloadRun {
    /// The verdict on the lowest measured op (upstream checks every throughput item).
    pub fn verdict(&self) -> Option<Verdict> {
        let measured = self.outcome.as_ref().ok()?;
        measured
            .iter()
            .map(|m| {
                let (figure, overall) = match &m.throughput {
                    Some(s) => (s.average, false),
                    None => (m.overall_rate, true),
                };
                Verdict {
                    figure,
                    overall,
                    met: self.threshold.is_none_or(|t| figure >= t),
                }
            })
            .min_by(|a, b| a.figure.total_cmp(&b.figure))
    }

    /// The workload as a test result.
    pub fn test_result(&self) -> TestResult {
        let outcome = match (&self.outcome, self.verdict()) {
            (Err(message), _) => Outcome::Failed {
                message: message.clone(),
            },
            (Ok(_), Some(v)) if !v.met => Outcome::Failed {
                message: format!(
                    "SchedulingThroughput {} {:.1} pods/s is below the threshold {} pods/s",
                    if v.overall { "overall" } else { "average" },
                    v.figure,
                    self.threshold.unwrap_or_default()
                ),
            },
            (Ok(m), _) if m.is_empty() => Outcome::Failed {
                message: "the workload has no createPods op with collectMetrics: true".into(),
            },
            (Ok(_), _) => Outcome::Passed,
        };
        TestResult {
            name: format!("{AREA}::{}", self.name),
            area: AREA.to_owned(),
            tags: vec!["Benchmark".to_owned()],
            upstream: Vec::new(),
            outcome,
            duration: self.duration,
            seed: None,
            namespace: None,
        }
    }

    /// Every measurement of the workload.
    pub fn measurements(&self) -> Vec<Measurement> {
        let Ok(measured) = &self.outcome else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in measured {
            let labels = |extra: &[(&str, String)]| {
                let mut l = BTreeMap::from([
                    ("workload".to_owned(), self.name.clone()),
                    ("op".to_owned(), m.op.to_string()),
                ]);
                for (k, v) in extra {
                    l.insert((*k).to_owned(), v.clone());
                }
                l
            };
            if let Some(s) = &m.throughput {
                out.push(Measurement {
                    name: "SchedulingThroughput".into(),
                    unit: "pods/s".into(),
                    labels: labels(&[]),
                    count: s.samples as u64,
                    mean: Some(round(s.average)),
                    percentiles: pcts(&[
                        (0.5, s.p50),
                        (0.9, s.p90),
                        (0.95, s.p95),
                        (0.99, s.p99),
                        (1.0, s.max),
                    ]),
                });
            }
            out.push(Measurement {
                name: "SchedulingThroughputOverall".into(),
                unit: "pods/s".into(),
                labels: labels(&[("elapsed_seconds", format!("{:.3}", m.elapsed.as_secs_f64()))]),
                count: m.pods,
                mean: Some(round(m.overall_rate)),
                percentiles: Vec::new(),
            });
            let h = &m.latency;
            let secs = |us: u64| us as f64 / 1e6;
            out.push(Measurement {
                name: "pod_create_to_bound_seconds".into(),
                unit: "seconds".into(),
                labels: labels(&[]),
                count: h.len(),
                mean: (!h.is_empty()).then(|| h.mean() / 1e6),
                percentiles: if h.is_empty() {
                    Vec::new()
                } else {
                    pcts(&[
                        (0.5, secs(h.value_at_quantile(0.5))),
                        (0.9, secs(h.value_at_quantile(0.9))),
                        (0.95, secs(h.value_at_quantile(0.95))),
                        (0.99, secs(h.value_at_quantile(0.99))),
                        (1.0, secs(h.max())),
                    ])
                },
            });
            match &m.attempts {
                None => out.push(Measurement {
                    name: ATTEMPT_DURATION.into(),
                    unit: "seconds".into(),
                    labels: labels(&[(
                        "absent",
                        "not exposed at the API server's /metrics".into(),
                    )]),
                    count: 0,
                    mean: None,
                    percentiles: Vec::new(),
                }),
                Some(series) => {
                    for (key, hist) in series {
                        if hist.count <= 0.0 {
                            continue;
                        }
                        out.push(Measurement {
                            name: ATTEMPT_DURATION.into(),
                            unit: "seconds".into(),
                            labels: labels(&[("series", key.clone())]),
                            count: hist.count as u64,
                            mean: hist.mean(),
                            percentiles: [0.5, 0.9, 0.95, 0.99]
                                .iter()
                                .filter_map(|q| {
                                    hist.quantile(*q).map(|value| Percentile {
                                        quantile: *q,
                                        value,
                                    })
                                })
                                .collect(),
                        });
                    }
                }
            }
        }
        out
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn pcts(values: &[(f64, f64)]) -> Vec<Percentile> {
    values
        .iter()
        .map(|(quantile, value)| Percentile {
            quantile: *quantile,
            value: *value,
        })
        .collect()
}

/// The one-screen table: a line per measured op (or per failed workload).
pub fn table(runs: &[WorkloadRun]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<44} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>15} {:>9} {:>9}  result",
        "workload",
        "pods",
        "avg/s",
        "p50/s",
        "p90/s",
        "p99/s",
        "max/s",
        "overall",
        "bound p50/p99",
        "sched p99",
        "threshold"
    );
    for run in runs {
        let result = run.test_result();
        let label = match &result.outcome {
            Outcome::Passed => "ok".to_owned(),
            Outcome::Failed { message } => format!("FAIL: {message}"),
            other => other.label().to_owned(),
        };
        let threshold = run
            .threshold
            .map_or_else(|| "-".to_owned(), |t| format!("{t:.0}"));
        let measured = run.outcome.as_deref().unwrap_or_default();
        if measured.is_empty() {
            let _ = writeln!(
                out,
                "{:<44} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>15} {:>9} {:>9}  {label}",
                run.name, "-", "-", "-", "-", "-", "-", "-", "-", "-", threshold
            );
        }
        for m in measured {
            let f = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
            let s = m.throughput.as_ref();
            let ms = |us: u64| us as f64 / 1000.0;
            let bound = if !m.latency.is_empty() {
                format!(
                    "{:.1}/{:.1} ms",
                    ms(m.latency.value_at_quantile(0.5)),
                    ms(m.latency.value_at_quantile(0.99))
                )
            } else {
                "-".to_owned()
            };
            let sched = m
                .attempts
                .as_ref()
                .and_then(|series| {
                    series
                        .iter()
                        .find(|(k, _)| k.contains("result=\"scheduled\""))
                        .and_then(|(_, h)| h.quantile(0.99))
                })
                .map_or_else(|| "absent".to_owned(), |v| format!("{:.2} ms", v * 1000.0));
            let name = if measured.len() > 1 {
                format!("{} op{}", run.name, m.op)
            } else {
                run.name.clone()
            };
            let _ = writeln!(
                out,
                "{:<44} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8.0} {:>15} {:>9} {:>9}  {label}",
                name,
                m.pods,
                f(s.map(|s| s.average)),
                f(s.map(|s| s.p50)),
                f(s.map(|s| s.p90)),
                f(s.map(|s| s.p99)),
                f(s.map(|s| s.max)),
                m.overall_rate,
                bound,
                sched,
                threshold
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler_perf::throughput::Stats;

    fn measured(avg: Option<f64>, overall: f64) -> Measured {
        let mut latency = crate::scheduler_perf::observer::latency_histogram();
        latency.record(2_000).unwrap();
        latency.record(4_000).unwrap();
        Measured {
            op: 2,
            pods: 2,
            throughput: avg.map(|a| Stats::of(&[a]).unwrap()),
            overall_rate: overall,
            elapsed: Duration::from_secs(1),
            latency,
            attempts: None,
        }
    }

    fn run(threshold: Option<f64>, outcome: Result<Vec<Measured>, String>) -> WorkloadRun {
        WorkloadRun {
            name: "SchedulingBasic/5Nodes".into(),
            threshold,
            outcome,
            duration: Duration::from_secs(3),
        }
    }

    #[test]
    fn the_average_is_checked_against_the_threshold() {
        let ok = run(Some(100.0), Ok(vec![measured(Some(150.0), 90.0)]));
        assert_eq!(ok.test_result().outcome, Outcome::Passed);
        let slow = run(Some(200.0), Ok(vec![measured(Some(150.0), 300.0)]));
        assert_eq!(
            slow.test_result().outcome,
            Outcome::Failed {
                message: "SchedulingThroughput average 150.0 pods/s is below the threshold 200 \
                          pods/s"
                    .into()
            }
        );
    }

    #[test]
    fn a_run_too_short_for_samples_is_judged_on_its_overall_rate() {
        let short = run(Some(200.0), Ok(vec![measured(None, 150.0)]));
        let v = short.verdict().unwrap();
        assert!(v.overall && !v.met);
        assert!(
            matches!(short.test_result().outcome, Outcome::Failed { message } if message.contains("overall 150.0"))
        );
    }

    #[test]
    fn a_failed_op_fails_the_workload_and_is_shown() {
        let failed = run(None, Err("op 2 (createPods): timed out".into()));
        assert!(failed.test_result().outcome.is_failure());
        assert!(failed.measurements().is_empty());
        assert!(table(&[failed]).contains("FAIL: op 2 (createPods): timed out"));
    }

    #[test]
    fn measurements_carry_throughput_latency_and_an_absent_scheduler_histogram() {
        let r = run(None, Ok(vec![measured(Some(150.0), 140.0)]));
        let m = r.measurements();
        let names: Vec<&str> = m.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "SchedulingThroughput",
                "SchedulingThroughputOverall",
                "pod_create_to_bound_seconds",
                ATTEMPT_DURATION
            ]
        );
        assert_eq!(m[0].mean, Some(150.0));
        assert_eq!(m[0].labels["workload"], "SchedulingBasic/5Nodes");
        assert_eq!(m[2].count, 2);
        assert!((m[2].percentiles[0].value - 0.002).abs() < 1e-4);
        assert!(m[3].labels.contains_key("absent"));
        let t = table(&[r]);
        assert!(t.lines().count() == 2 && t.contains("absent"), "{t}");
    }
}
