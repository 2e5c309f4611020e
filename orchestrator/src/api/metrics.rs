//! `/metrics` in Prometheus text with upstream's names: `apiserver_request_total`,
//! `apiserver_request_duration_seconds`, `apiserver_storage_objects` and
//! `apiserver_longrunning_requests` (current watches); then the scheduler's, when it runs, and the
//! controllers' work queues' (`workqueue_*`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::registry::RESOURCES;
use crate::store::Storage;

/// Upstream's buckets for `apiserver_request_duration_seconds`.
const BUCKETS: &[f64] = &[
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// The labels a request is counted under.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RequestLabels {
    pub verb: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
    pub scope: &'static str,
}

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Series {
    by_code: BTreeMap<u16, u64>,
    duration: Histogram,
}

/// The API server's metrics.
#[derive(Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<RequestLabels, Series>>,
    /// Watches currently open, by resource.
    watches: Mutex<BTreeMap<&'static str, i64>>,
    watch_total: AtomicI64,
    /// The scheduler's metrics, when the control plane runs one.
    scheduler: std::sync::OnceLock<std::sync::Arc<crate::scheduler::SchedulerMetrics>>,
    /// The controllers' work queues.
    workqueues: std::sync::OnceLock<std::sync::Arc<crate::controllers::WorkqueueMetrics>>,
}

impl Metrics {
    /// Count one finished request.
    pub(crate) fn observe(&self, labels: RequestLabels, code: u16, took: Duration) {
        let mut map = self.requests.lock();
        let series = map.entry(labels).or_default();
        *series.by_code.entry(code).or_default() += 1;
        let h = &mut series.duration;
        if h.counts.is_empty() {
            h.counts = vec![0; BUCKETS.len()];
        }
        let secs = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.counts[i] += 1;
        }
        h.sum += secs;
        h.count += 1;
    }

    /// A watch opened; the returned guard closes it when dropped.
    pub(crate) fn watch_opened(self: &std::sync::Arc<Self>, resource: &'static str) -> WatchGuard {
        *self.watches.lock().entry(resource).or_default() += 1;
        self.watch_total.fetch_add(1, Ordering::Relaxed);
        WatchGuard {
            metrics: self.clone(),
            resource,
        }
    }

    /// How many watches are open now.
    pub(crate) fn open_watches(&self) -> i64 {
        self.watch_total.load(Ordering::Relaxed)
    }

    /// Serve the scheduler's metrics alongside the API server's.
    pub(crate) fn set_scheduler(&self, m: std::sync::Arc<crate::scheduler::SchedulerMetrics>) {
        let _ = self.scheduler.set(m);
    }

    /// Serve the controllers' work queue metrics alongside the API server's.
    pub(crate) fn set_workqueues(&self, m: std::sync::Arc<crate::controllers::WorkqueueMetrics>) {
        let _ = self.workqueues.set(m);
    }

    /// Render everything in the Prometheus text format.
    pub(crate) fn render(&self, store: &dyn Storage) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let requests = self.requests.lock();
        out.push_str("# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n# TYPE apiserver_request_total counter\n");
        for (l, s) in requests.iter() {
            for (code, n) in &s.by_code {
                let _ = writeln!(
                    out,
                    "apiserver_request_total{{code=\"{code}\",component=\"apiserver\",dry_run=\"\",group=\"{}\",resource=\"{}\",scope=\"{}\",subresource=\"{}\",verb=\"{}\",version=\"{}\"}} {n}",
                    l.group, l.resource, l.scope, l.subresource, l.verb, l.version
                );
            }
        }
        out.push_str("# HELP apiserver_request_duration_seconds [STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.\n# TYPE apiserver_request_duration_seconds histogram\n");
        for (l, s) in requests.iter() {
            let labels = format!(
                "component=\"apiserver\",dry_run=\"\",group=\"{}\",resource=\"{}\",scope=\"{}\",subresource=\"{}\",verb=\"{}\",version=\"{}\"",
                l.group, l.resource, l.scope, l.subresource, l.verb, l.version
            );
            let h = &s.duration;
            let mut cumulative = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cumulative += h.counts.get(i).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "apiserver_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "apiserver_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        drop(requests);
        out.push_str("# HELP apiserver_storage_objects [STABLE] Number of stored objects at the time of last check split by kind.\n# TYPE apiserver_storage_objects gauge\n");
        for r in RESOURCES {
            let _ = writeln!(
                out,
                "apiserver_storage_objects{{resource=\"{}\"}} {}",
                r.store_key,
                store.count(r.store_key)
            );
        }
        out.push_str("# HELP apiserver_longrunning_requests [STABLE] Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.\n# TYPE apiserver_longrunning_requests gauge\n");
        for (resource, n) in self.watches.lock().iter() {
            let r = RESOURCES.iter().find(|r| r.store_key == *resource);
            let (group, version, plural) = r
                .map(|r| (r.group, r.version, r.plural))
                .unwrap_or(("", "", resource));
            let _ = writeln!(
                out,
                "apiserver_longrunning_requests{{component=\"apiserver\",group=\"{group}\",resource=\"{plural}\",scope=\"resource\",subresource=\"\",verb=\"WATCH\",version=\"{version}\"}} {n}"
            );
        }
        out.push_str("# HELP apiserver_registered_watchers Number of currently registered watchers for a given resources\n# TYPE apiserver_registered_watchers gauge\n");
        let _ = writeln!(out, "apiserver_registered_watchers {}", self.open_watches());
        if let Some(s) = self.scheduler.get() {
            s.render(&mut out);
        }
        if let Some(w) = self.workqueues.get() {
            w.render(&mut out);
        }
        out
    }
}

/// Keeps a watch counted while alive.
pub(crate) struct WatchGuard {
    metrics: std::sync::Arc<Metrics>,
    resource: &'static str,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        *self
            .metrics
            .watches
            .lock()
            .entry(self.resource)
            .or_default() -= 1;
        self.metrics.watch_total.fetch_sub(1, Ordering::Relaxed);
    }
}
