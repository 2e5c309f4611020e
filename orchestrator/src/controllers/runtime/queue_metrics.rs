//! The work queues' metrics under upstream's names (`component-base`'s workqueue metrics
//! provider): `workqueue_depth`, `workqueue_adds_total`, `workqueue_queue_duration_seconds`,
//! `workqueue_work_duration_seconds` and `workqueue_retries_total`, labelled with the queue's
//! name. Every [`KeyQueue`] counts them; a queue shows on `/metrics` once registered here.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use super::queue::KeyQueue;

/// Upstream's buckets for both durations: `ExponentialBuckets(10e-9, 10, 10)`.
const BUCKETS: [f64; 10] = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];
/// The same bounds as Prometheus' Go client prints them.
const BUCKET_LABELS: [&str; 10] = [
    "1e-08", "1e-07", "1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1", "1", "10",
];

/// A duration histogram with upstream's workqueue buckets.
#[derive(Debug, Default, Clone)]
pub(crate) struct Histogram {
    counts: [u64; 10],
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Count one observation.
    pub(crate) fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.counts[i] += 1;
        }
        self.sum += secs;
        self.count += 1;
    }

    fn render(&self, out: &mut String, metric: &str, name: &str) {
        let mut cumulative = 0;
        for (n, le) in self.counts.iter().zip(BUCKET_LABELS) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{metric}_bucket{{name=\"{name}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{metric}_bucket{{name=\"{name}\",le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{metric}_sum{{name=\"{name}\"}} {}", self.sum);
        let _ = writeln!(out, "{metric}_count{{name=\"{name}\"}} {}", self.count);
    }
}

/// What one queue has counted.
#[derive(Debug, Default, Clone)]
pub(crate) struct QueueCounts {
    pub depth: usize,
    pub adds: u64,
    pub retries: u64,
    pub queue_duration: Histogram,
    pub work_duration: Histogram,
}

/// The controllers' queues shown on `/metrics`, by name.
#[derive(Debug, Default)]
pub struct WorkqueueMetrics {
    queues: parking_lot::Mutex<Vec<(&'static str, Arc<KeyQueue>)>>,
}

impl WorkqueueMetrics {
    /// Show `queue` as `name` (upstream's queue names: `deployment`, `replicaset`, ...).
    pub(crate) fn register(&self, name: &'static str, queue: Arc<KeyQueue>) {
        self.queues.lock().push((name, queue));
    }

    /// Append the metrics in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let queues: Vec<(&str, QueueCounts)> = self
            .queues
            .lock()
            .iter()
            .map(|(name, q)| (*name, q.counts()))
            .collect();
        if queues.is_empty() {
            return;
        }
        out.push_str("# HELP workqueue_adds_total [ALPHA] Total number of adds handled by workqueue\n# TYPE workqueue_adds_total counter\n");
        for (name, c) in &queues {
            let _ = writeln!(out, "workqueue_adds_total{{name=\"{name}\"}} {}", c.adds);
        }
        out.push_str("# HELP workqueue_depth [ALPHA] Current depth of workqueue\n# TYPE workqueue_depth gauge\n");
        for (name, c) in &queues {
            let _ = writeln!(out, "workqueue_depth{{name=\"{name}\"}} {}", c.depth);
        }
        out.push_str("# HELP workqueue_queue_duration_seconds [ALPHA] How long in seconds an item stays in workqueue before being requested.\n# TYPE workqueue_queue_duration_seconds histogram\n");
        for (name, c) in &queues {
            c.queue_duration
                .render(out, "workqueue_queue_duration_seconds", name);
        }
        out.push_str("# HELP workqueue_retries_total [ALPHA] Total number of retries handled by workqueue\n# TYPE workqueue_retries_total counter\n");
        for (name, c) in &queues {
            let _ = writeln!(
                out,
                "workqueue_retries_total{{name=\"{name}\"}} {}",
                c.retries
            );
        }
        out.push_str("# HELP workqueue_work_duration_seconds [ALPHA] How long in seconds processing an item from workqueue takes.\n# TYPE workqueue_work_duration_seconds histogram\n");
        for (name, c) in &queues {
            c.work_duration
                .render(out, "workqueue_work_duration_seconds", name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_registered_queue_reports_adds_depth_and_latency_under_its_name() {
        let metrics = WorkqueueMetrics::default();
        let q = Arc::new(KeyQueue::default());
        metrics.register("deployment", q.clone());
        q.add("ns/a");
        q.add("ns/a");
        q.add("ns/b");
        let stop = tokio_util::sync::CancellationToken::new();
        let taken = q.take(&stop).await.unwrap();
        q.done(&taken.key);
        let mut out = String::new();
        metrics.render(&mut out);
        assert!(
            out.contains("workqueue_adds_total{name=\"deployment\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("workqueue_depth{name=\"deployment\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("workqueue_queue_duration_seconds_count{name=\"deployment\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "workqueue_queue_duration_seconds_bucket{name=\"deployment\",le=\"+Inf\"} 1\n"
            ),
            "{out}"
        );
        assert!(out.contains("# TYPE workqueue_work_duration_seconds histogram"));
    }

    #[test]
    fn observations_land_in_upstreams_buckets() {
        let mut h = Histogram::default();
        h.observe(Duration::from_micros(5));
        h.observe(Duration::from_secs(30));
        assert_eq!(h.counts[3], 1, "5 µs ≤ 1e-5");
        assert_eq!(h.counts.iter().sum::<u64>(), 1, "30 s is only in +Inf");
        assert_eq!(h.count, 2);
    }
}
