//! Controllers inside the control plane. Each is a task that watches the store and acts through
//! [`crate::api::Objects`], so its writes get the same admission and validation as a client's.
//!
//! One watch per resource feeds every controller ([`Sink::on_event`] only filters and queues, it
//! never blocks); each controller drains its own [`WorkQueue`] of namespaces in one worker task,
//! so a burst of events in a namespace becomes one sync. A watch that falls behind or expires
//! restarts from the current revision and asks every controller for a full resync.
//!
//! The node controllers share one index of pods by `spec.nodeName` (`PodIndex`, fed first so
//! the others see it current) and are tuned by [`NodeLifecycleConfig`]:
//! - [`NodeLifecycleController`] watches heartbeats every monitor period (list-based, parsing a
//!   node or lease only when its revision changed), sets silent nodes Unknown, marks their pods
//!   not ready, adds NoExecute taints through per-zone rate-limited queues (`zones.rs`), and keeps
//!   the NoSchedule condition and cordon taints in line on every node change;
//! - [`TaintEvictionController`] deletes pods from nodes whose NoExecute taints they do not
//!   tolerate, at once or when their `tolerationSeconds` run out;
//! - [`PodGcController`] force-deletes pods of deleted nodes, unscheduled terminating pods and
//!   terminated pods beyond a threshold.

mod config;
mod daemon_set;
mod deployment;
pub(crate) mod events;
mod garbage_collector;
mod job;
mod namespace;
mod node_health;
mod node_lifecycle;
pub(crate) mod pod_conditions;
mod pod_gc;
mod pod_index;
mod replica_set;
mod resource_quota;
pub(crate) mod runtime;
mod taint_eviction;
pub mod taints;
mod ttl_after_finished;
mod zones;

#[cfg(test)]
pub(crate) mod cluster_tests;
#[cfg(test)]
mod node_lifecycle_tests;
#[cfg(test)]
pub(crate) mod test_cluster;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::Objects;
use crate::error::Reason;
use crate::registry::{RESOURCES, ResourceInfo};
use crate::store::{Event, EventType, Filter, Storage, WatchFrom};

pub use config::NodeLifecycleConfig;
pub use garbage_collector::GarbageCollector;
pub use namespace::NamespaceController;
pub use node_lifecycle::NodeLifecycleController;
pub use pod_gc::PodGcController;
pub use resource_quota::ResourceQuotaController;
pub use runtime::queue_metrics::WorkqueueMetrics;
pub use taint_eviction::TaintEvictionController;

use daemon_set::DaemonSetController;
use job::{JobConfig, JobController};
use pod_index::PodIndex;
use replica_set::{Flavor, ReplicaSetController};
use runtime::pods::PodCache;
use ttl_after_finished::TtlAfterFinishedController;

/// Start every built-in controller on `tracker`; they stop when `shutdown` is cancelled.
/// Returns the work queues' metrics, for `/metrics`.
pub fn spawn_all(
    objects: Arc<Objects>,
    node_lifecycle: &NodeLifecycleConfig,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) -> Arc<WorkqueueMetrics> {
    let workqueues = Arc::new(WorkqueueMetrics::default());
    let quota = Arc::new(ResourceQuotaController::new(objects.clone()));
    let namespaces = Arc::new(NamespaceController::new(objects.clone()));
    // The pod index comes first so that every other sink sees it already updated.
    let pods = Arc::new(PodIndex::default());
    if let Err(e) = pods.rebuild(&**objects.store()) {
        tracing::warn!(error = %e, "could not list pods for the node controllers; rebuilding later");
        pods.resync();
    }
    let nodes = Arc::new(NodeLifecycleController::new(
        objects.clone(),
        node_lifecycle.clone(),
        pods.clone(),
    ));
    let evictions = Arc::new(TaintEvictionController::new(objects.clone(), pods.clone()));
    let pod_gc = Arc::new(PodGcController::new(
        objects.clone(),
        node_lifecycle.clone(),
        pods.clone(),
    ));
    // The workload controllers' pod cache; each controller listens to it (`PodCache::listen`)
    // before the feeds start, and is a sink for its own resources' events.
    let workload_pods = Arc::new(PodCache::new(objects.store().clone()));
    workload_pods.resync();
    let replica_sets = [Flavor::ReplicaSet, Flavor::ReplicationController].map(|flavor| {
        let c = Arc::new(ReplicaSetController::new(
            flavor,
            objects.clone(),
            workload_pods.clone(),
        ));
        workload_pods.listen(c.clone());
        workqueues.register(flavor.queue_name(), c.queue());
        c.resync();
        c
    });
    let deployment_queue = Arc::new(runtime::queue::KeyQueue::default());
    workqueues.register("deployment", deployment_queue.clone());
    let deployments = Arc::new(deployment::DeploymentController::new(
        objects.clone(),
        workload_pods.clone(),
        deployment_queue,
    ));
    workload_pods.listen(deployments.clone());
    let daemon_sets = Arc::new(DaemonSetController::new(
        objects.clone(),
        workload_pods.clone(),
    ));
    workload_pods.listen(daemon_sets.clone());
    daemon_sets.resync();
    let jobs = Arc::new(JobController::new(
        objects.clone(),
        workload_pods.clone(),
        JobConfig::default(),
    ));
    workload_pods.listen(jobs.clone());
    jobs.resync();
    let job_ttl = Arc::new(TtlAfterFinishedController::new(objects.clone()));
    job_ttl.resync();
    let gc = Arc::new(GarbageCollector::new(objects.clone()));
    let sinks: Arc<[Arc<dyn Sink>]> = Arc::new([
        Arc::new(pods.clone()) as Arc<dyn Sink>,
        workload_pods.clone(),
        quota.clone(),
        namespaces.clone(),
        nodes.clone(),
        evictions.clone(),
        replica_sets[0].clone(),
        replica_sets[1].clone(),
        deployments.clone(),
        daemon_sets.clone(),
        jobs.clone(),
        job_ttl.clone(),
        gc.clone(),
    ]);
    // Content watches start here; quota and namespace watches replay current objects, which is
    // how each controller learns its initial state.
    let start = objects.store().revision();
    for info in RESOURCES {
        let from = if replays_state(info) {
            WatchFrom::Now
        } else {
            WatchFrom::After(start)
        };
        tracker.spawn(feed(
            objects.store().clone(),
            info,
            from,
            sinks.clone(),
            shutdown.clone(),
        ));
    }
    tracker.spawn(quota.run(shutdown.clone()));
    tracker.spawn(namespaces.run(shutdown.clone()));
    tracker.spawn(nodes.run(shutdown.clone()));
    tracker.spawn(evictions.run(shutdown.clone()));
    for c in replica_sets {
        tracker.spawn(c.run(shutdown.clone()));
    }
    tracker.spawn(deployments.run(shutdown.clone()));
    tracker.spawn(daemon_sets.run(shutdown.clone()));
    tracker.spawn(jobs.run(shutdown.clone()));
    tracker.spawn(job_ttl.run(shutdown.clone()));
    tracker.spawn(pod_gc.run(shutdown.clone()));
    tracker.spawn(gc.run(shutdown));
    workqueues
}

/// Whether a resource's watch replays every current object when (re)started: the resources
/// controllers keep state about.
fn replays_state(info: &ResourceInfo) -> bool {
    matches!(info.store_key, "resourcequotas" | "namespaces")
}

/// What a controller hears from the shared watches.
pub(crate) trait Sink: Send + Sync + 'static {
    /// One event of `info`'s resource. Must be quick: filter and queue.
    fn on_event(&self, info: &'static ResourceInfo, event: &Event);
    /// Events may have been missed: queue everything.
    fn resync(&self);
}

/// Watch one resource until shutdown, handing every event to every sink.
async fn feed(
    store: Arc<dyn Storage>,
    info: &'static ResourceInfo,
    mut from: WatchFrom,
    sinks: Arc<[Arc<dyn Sink>]>,
    shutdown: CancellationToken,
) {
    loop {
        let mut watch = match store.watch(info.store_key, Filter::default(), from) {
            Ok(w) => w,
            Err(e) if e.reason == Reason::Expired || e.reason == Reason::Gone => {
                // Controllers keep state only for quotas and namespaces: replay those whole;
                // for content, a resync stands in for the lost events.
                from = if replays_state(info) {
                    WatchFrom::Now
                } else {
                    WatchFrom::After(store.revision())
                };
                sinks.iter().for_each(|s| s.resync());
                continue;
            }
            Err(e) => {
                tracing::warn!(resource = info.store_key, error = %e, "controller watch failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let mut last = watch.revision;
        for event in watch.backlog.drain(..) {
            last = last.max(event.revision());
            sinks.iter().for_each(|s| s.on_event(info, &event));
        }
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                e = watch.rx.recv() => e,
            };
            let Some(event) = event else { break };
            if event.kind == EventType::Bookmark {
                continue;
            }
            last = last.max(event.revision());
            sinks.iter().for_each(|s| s.on_event(info, &event));
        }
        // Dropped for falling behind: pick up after what was seen; anything lost to an expired
        // history is covered by a resync.
        from = WatchFrom::After(last);
    }
}

/// A queue of keys (namespaces) with de-duplication and delayed re-queueing, as client-go's
/// rate-limited work queue without the rate limits: a key queued many times before the worker
/// gets to it is synced once.
#[derive(Debug, Default)]
pub(crate) struct WorkQueue {
    state: parking_lot::Mutex<QueueState>,
    notify: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct QueueState {
    ready: BTreeSet<String>,
    delayed: BTreeMap<(Instant, u64), String>,
    seq: u64,
}

impl WorkQueue {
    /// Queue a key now.
    pub(crate) fn add(&self, key: &str) {
        let fresh = self.state.lock().ready.insert(key.to_string());
        if fresh {
            self.notify.notify_one();
        }
    }

    /// Queue a key after `delay`.
    pub(crate) fn add_after(&self, key: &str, delay: Duration) {
        {
            let mut s = self.state.lock();
            s.seq += 1;
            let seq = s.seq;
            s.delayed
                .insert((Instant::now() + delay, seq), key.to_string());
        }
        // Wake the worker so it waits for the new, possibly earlier, deadline.
        self.notify.notify_one();
    }

    /// The next batch of due keys, sorted; `None` once `shutdown` is cancelled.
    pub(crate) async fn next_batch(&self, shutdown: &CancellationToken) -> Option<Vec<String>> {
        loop {
            let deadline = {
                let mut s = self.state.lock();
                let now = Instant::now();
                while let Some(entry) = s.delayed.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    let key = entry.remove();
                    s.ready.insert(key);
                }
                if !s.ready.is_empty() {
                    return Some(std::mem::take(&mut s.ready).into_iter().collect());
                }
                s.delayed.first_key_value().map(|((at, _), _)| *at)
            };
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = self.notify.notified() => {}
                _ = sleep => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queued_keys_are_deduplicated_into_one_sorted_batch() {
        let q = WorkQueue::default();
        let stop = CancellationToken::new();
        q.add("b");
        q.add("a");
        q.add("b");
        assert_eq!(
            q.next_batch(&stop).await,
            Some(vec!["a".to_string(), "b".to_string()])
        );
    }

    #[tokio::test]
    async fn delayed_keys_come_due_after_their_delay() {
        let q = WorkQueue::default();
        let stop = CancellationToken::new();
        let started = Instant::now();
        q.add_after("later", Duration::from_millis(20));
        assert_eq!(q.next_batch(&stop).await, Some(vec!["later".to_string()]));
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn a_cancelled_queue_returns_none() {
        let q = WorkQueue::default();
        let stop = CancellationToken::new();
        stop.cancel();
        assert_eq!(q.next_batch(&stop).await, None);
    }
}
