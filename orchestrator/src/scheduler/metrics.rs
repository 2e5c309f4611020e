//! The scheduler's metrics with upstream's names, labels and buckets
//! (`pkg/scheduler/metrics/metrics.go`), rendered in the Prometheus text format on the API
//! server's `/metrics`.
//!
//! Metrics belong to one control plane (tests boot many in one process), so they live in a
//! [`SchedulerMetrics`] value rather than in globals. Label values are `&'static str` (profile
//! names are interned once), so observing allocates nothing after a series' first sample.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use super::queue::SchedulingQueue;

/// `scheduled`: the attempt ended with a binding.
pub const SCHEDULED: &str = "scheduled";
/// `unschedulable`: no node fits.
pub const UNSCHEDULABLE: &str = "unschedulable";
/// `error`: the attempt failed for another reason.
pub const ERROR: &str = "error";

/// Extension point names as upstream's metric labels.
pub mod point {
    pub const PRE_FILTER: &str = "PreFilter";
    pub const FILTER: &str = "Filter";
    pub const PRE_FILTER_ADD_POD: &str = "PreFilterExtensionAddPod";
    pub const PRE_FILTER_REMOVE_POD: &str = "PreFilterExtensionRemovePod";
    pub const POST_FILTER: &str = "PostFilter";
    pub const PRE_SCORE: &str = "PreScore";
    pub const SCORE: &str = "Score";
    pub const NORMALIZE: &str = "ScoreExtensionNormalize";
    pub const RESERVE: &str = "Reserve";
    pub const UNRESERVE: &str = "Unreserve";
    pub const PERMIT: &str = "Permit";
    pub const PRE_BIND: &str = "PreBind";
    pub const BIND: &str = "Bind";
}

/// `ExponentialBuckets(start, factor, count)` as Prometheus' client makes them.
fn exponential(start: f64, factor: f64, count: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        out.push(b);
        b *= factor;
    }
    out
}

/// A `'static` copy of `s`, made once per distinct string (profile names: a handful per process).
pub fn intern(s: &str) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN.get_or_init(Default::default).lock();
    if let Some(found) = seen.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    seen.insert(leaked);
    leaked
}

#[derive(Clone, Debug, Default)]
struct Hist {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A histogram family keyed by `N` label values.
#[derive(Debug)]
struct HistogramVec<const N: usize> {
    name: &'static str,
    help: &'static str,
    labels: [&'static str; N],
    buckets: Vec<f64>,
    series: Mutex<BTreeMap<[&'static str; N], Hist>>,
}

impl<const N: usize> HistogramVec<N> {
    fn new(
        name: &'static str,
        help: &'static str,
        labels: [&'static str; N],
        buckets: Vec<f64>,
    ) -> Self {
        Self {
            name,
            help,
            labels,
            buckets,
            series: Mutex::default(),
        }
    }

    fn observe(&self, values: [&'static str; N], secs: f64) {
        let mut series = self.series.lock();
        let h = series.entry(values).or_default();
        if h.counts.is_empty() {
            h.counts = vec![0; self.buckets.len()];
        }
        if let Some(i) = self.buckets.iter().position(|b| secs <= *b) {
            h.counts[i] += 1;
        }
        h.sum += secs;
        h.count += 1;
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} histogram", self.name);
        for (values, h) in self.series.lock().iter() {
            let labels: String = self
                .labels
                .iter()
                .zip(values)
                .map(|(k, v)| format!("{k}=\"{v}\","))
                .collect();
            let mut cumulative = 0;
            for (i, b) in self.buckets.iter().enumerate() {
                cumulative += h.counts[i];
                let _ = writeln!(
                    out,
                    "{}_bucket{{{labels}le=\"{b}\"}} {cumulative}",
                    self.name
                );
            }
            let _ = writeln!(
                out,
                "{}_bucket{{{labels}le=\"+Inf\"}} {}",
                self.name, h.count
            );
            let labels = labels.trim_end_matches(',');
            let _ = writeln!(out, "{}_sum{{{labels}}} {}", self.name, h.sum);
            let _ = writeln!(out, "{}_count{{{labels}}} {}", self.name, h.count);
        }
    }

    #[cfg(test)]
    fn count(&self, values: [&'static str; N]) -> u64 {
        self.series.lock().get(&values).map_or(0, |h| h.count)
    }
}

/// The scheduler's metrics.
#[derive(Debug)]
pub struct SchedulerMetrics {
    attempts: Mutex<BTreeMap<[&'static str; 2], u64>>,
    attempt_duration: HistogramVec<2>,
    sli_duration: HistogramVec<1>,
    extension_point: HistogramVec<3>,
    plugin_execution: HistogramVec<3>,
    queue: OnceLock<Arc<SchedulingQueue>>,
}

impl Default for SchedulerMetrics {
    fn default() -> Self {
        Self {
            attempts: Mutex::default(),
            attempt_duration: HistogramVec::new(
                "scheduler_scheduling_attempt_duration_seconds",
                "[STABLE] Scheduling attempt latency in seconds (scheduling algorithm + binding)",
                ["profile", "result"],
                exponential(0.001, 2.0, 15),
            ),
            sli_duration: HistogramVec::new(
                "scheduler_pod_scheduling_sli_duration_seconds",
                "[BETA] E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue an d might involve multiple scheduling attempts.",
                ["attempts"],
                exponential(0.01, 2.0, 20),
            ),
            extension_point: HistogramVec::new(
                "scheduler_framework_extension_point_duration_seconds",
                "[STABLE] Latency for running all plugins of a specific extension point.",
                ["extension_point", "profile", "status"],
                exponential(0.0001, 2.0, 12),
            ),
            plugin_execution: HistogramVec::new(
                "scheduler_plugin_execution_duration_seconds",
                "[ALPHA] Duration for running a plugin at a specific extension point.",
                ["extension_point", "plugin", "status"],
                exponential(0.00001, 1.5, 20),
            ),
            queue: OnceLock::new(),
        }
    }
}

impl SchedulerMetrics {
    /// Report `scheduler_pending_pods` from this queue.
    pub fn set_queue(&self, queue: Arc<SchedulingQueue>) {
        let _ = self.queue.set(queue);
    }

    /// One scheduling attempt ended with `result` ([`SCHEDULED`], [`UNSCHEDULABLE`], [`ERROR`])
    /// after `took` (upstream `PodScheduled`/`PodUnschedulable`/`PodScheduleError`).
    pub fn attempt(&self, profile: &'static str, result: &'static str, took: Duration) {
        *self.attempts.lock().entry([profile, result]).or_default() += 1;
        self.attempt_duration
            .observe([profile, result], took.as_secs_f64());
    }

    /// A pod got bound after `attempts` attempts, `took` after it first entered the queue.
    pub fn pod_scheduled(&self, attempts: u32, took: Duration) {
        const LABELS: [&str; 15] = [
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14",
        ];
        let label = LABELS.get(attempts as usize).copied().unwrap_or("15+");
        self.sli_duration.observe([label], took.as_secs_f64());
    }

    /// All plugins of one extension point ran in `took`, ending with `status`.
    pub fn extension_point(
        &self,
        point: &'static str,
        profile: &'static str,
        status: &'static str,
        took: Duration,
    ) {
        self.extension_point
            .observe([point, profile, status], took.as_secs_f64());
    }

    /// One plugin ran at one extension point (sampled cycles only).
    pub fn plugin(
        &self,
        point: &'static str,
        plugin: &'static str,
        status: &'static str,
        took: Duration,
    ) {
        self.plugin_execution
            .observe([point, plugin, status], took.as_secs_f64());
    }

    /// Every scheduler metric in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP scheduler_schedule_attempts_total [STABLE] Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.\n# TYPE scheduler_schedule_attempts_total counter\n");
        for ([profile, result], n) in self.attempts.lock().iter() {
            let _ = writeln!(
                out,
                "scheduler_schedule_attempts_total{{profile=\"{profile}\",result=\"{result}\"}} {n}"
            );
        }
        self.attempt_duration.render(out);
        self.sli_duration.render(out);
        self.extension_point.render(out);
        self.plugin_execution.render(out);
        out.push_str("# HELP scheduler_pending_pods [STABLE] Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.\n# TYPE scheduler_pending_pods gauge\n");
        let p = self
            .queue
            .get()
            .map(|q| q.pending())
            .unwrap_or_default();
        for (queue, n) in [
            ("active", p.active),
            ("backoff", p.backoff),
            ("gated", p.gated),
            ("unschedulable", p.unschedulable),
        ] {
            let _ = writeln!(out, "scheduler_pending_pods{{queue=\"{queue}\"}} {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_upstreams_exponential_series() {
        let b = exponential(0.001, 2.0, 15);
        assert_eq!(b.len(), 15);
        assert_eq!(b[0], 0.001);
        assert!((b[14] - 16.384).abs() < 1e-9);
    }

    #[test]
    fn attempts_render_as_counters_and_histograms_with_upstream_names() {
        let m = SchedulerMetrics::default();
        let profile = intern("default-scheduler");
        m.attempt(profile, SCHEDULED, Duration::from_micros(300));
        m.attempt(profile, SCHEDULED, Duration::from_millis(3));
        m.attempt(profile, UNSCHEDULABLE, Duration::from_millis(1));
        m.pod_scheduled(1, Duration::from_millis(20));
        m.pod_scheduled(40, Duration::from_millis(20));
        m.extension_point(point::FILTER, profile, "Success", Duration::from_micros(50));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains(
            "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"} 2"
        ));
        assert!(out.contains("scheduler_scheduling_attempt_duration_seconds_bucket{profile=\"default-scheduler\",result=\"scheduled\",le=\"0.001\"} 1"));
        assert!(out.contains("scheduler_scheduling_attempt_duration_seconds_count{profile=\"default-scheduler\",result=\"scheduled\"} 2"));
        assert!(out.contains("scheduler_pod_scheduling_sli_duration_seconds_count{attempts=\"15+\"} 1"));
        assert!(out.contains("scheduler_framework_extension_point_duration_seconds_count{extension_point=\"Filter\",profile=\"default-scheduler\",status=\"Success\"} 1"));
        assert!(out.contains("scheduler_pending_pods{queue=\"active\"} 0"));
        assert_eq!(m.sli_duration.count(["1"]), 1);
    }

    #[test]
    fn interning_returns_one_copy_per_string() {
        let a = intern("profile-x");
        let b = intern(&String::from("profile-x"));
        assert!(std::ptr::eq(a, b));
    }
}
