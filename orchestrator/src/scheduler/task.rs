//! The scheduler task (upstream `scheduler.go` + the I/O half of `schedule_one.go`): one loop
//! runs scheduling cycles back to back — pop, refresh the snapshot, run the algorithm, then
//! either assume + Reserve + Permit and hand the pod to an asynchronous binding task, or report
//! the failure (event, PodScheduled=False, requeue). The next cycle never waits for a binding.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::cache::Cache;
use super::config::SchedulerConfig;
use super::framework::runtime::{Framework, PodNominator};
use super::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, Handle, PodInfo, QueuedPodInfo,
    Snapshot, Status,
};
use super::metrics::{ERROR, SCHEDULED, SchedulerMetrics, UNSCHEDULABLE};
use super::plugins;
use super::queue::{QueueConfig, SchedulingQueue};
use super::schedule_one::{Algorithm, Diagnosis, FitError, ScheduleError};
use crate::api::{Objects, WriteParams};
use crate::controllers::events::{EventRecorder, NORMAL, ObjectRef, WARNING};
use crate::controllers::pod_conditions::with_condition;
use crate::error::Reason;
use crate::registry::UpdateTarget;

/// Upstream `v1.PodReasonUnschedulable`.
const REASON_UNSCHEDULABLE: &str = "Unschedulable";
/// Upstream `v1.PodReasonSchedulerError`.
const REASON_SCHEDULER_ERROR: &str = "SchedulerError";
/// Upstream `validation.NoteLengthLimit`: event messages are cut to this.
const NOTE_LENGTH_LIMIT: usize = 1024;

/// The running scheduler's shared parts.
pub struct Scheduler {
    objects: Arc<Objects>,
    pub(crate) cache: Arc<Cache>,
    pub(crate) queue: Arc<SchedulingQueue>,
    profiles: HashMap<String, (Arc<Framework>, EventRecorder)>,
    metrics: Arc<SchedulerMetrics>,
    tracker: TaskTracker,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What the binding cycle needs from the scheduling cycle.
struct Assumed {
    fw: Arc<Framework>,
    recorder: EventRecorder,
    queued: QueuedPodInfo,
    state: CycleState,
    node: String,
    start: Instant,
    /// Permit asked to wait this long (with its status).
    wait: Option<(Status, Duration)>,
}

impl Scheduler {
    /// Build the frameworks of every profile and the queue; nothing runs until [`Self::spawn`].
    pub fn new(
        objects: Arc<Objects>,
        config: &SchedulerConfig,
        metrics: Arc<SchedulerMetrics>,
        tracker: TaskTracker,
    ) -> Result<Arc<Self>, String> {
        let handle = Handle::new(objects.clone());
        let registry = plugins::registry();
        let mut frameworks = Vec::new();
        for profile in config.configuration.resolved_profiles() {
            let fw = Framework::new(&profile, &registry, handle.clone(), metrics.clone())
                .map_err(|e| format!("profile {:?}: {e}", profile.scheduler_name))?;
            frameworks.push(Arc::new(fw));
        }
        let first = frameworks.first().ok_or("no scheduler profile")?;
        let less = match first.queue_sort() {
            Some(p) => p.clone(),
            None => plugins::queue_sort::new(&serde_json::Value::Null, &handle)?,
        };
        let less: Arc<dyn super::framework::QueueSort> = Arc::new(SortBy(less));
        let mut plugin_events: HashMap<&'static str, Vec<ClusterEvent>> = HashMap::new();
        for fw in &frameworks {
            for (name, p) in fw.plugins() {
                let events = p.events_to_register().unwrap_or_else(|| {
                    vec![ClusterEvent {
                        resource: EventResource::Any,
                        action: ActionType::ALL,
                    }]
                });
                plugin_events.insert(name, events);
            }
        }
        let pre_enqueue = first
            .pre_enqueue_plugins()
            .into_iter()
            .map(|(n, p)| {
                (
                    n,
                    Arc::new(PreEnqueueBy(p)) as Arc<dyn super::framework::PreEnqueue>,
                )
            })
            .collect();
        let c = &config.configuration;
        let defaults = QueueConfig::default();
        let queue_config = QueueConfig {
            initial_backoff: c
                .pod_initial_backoff_seconds
                .map_or(defaults.initial_backoff, |s| {
                    Duration::from_secs(s.max(0) as u64)
                }),
            max_backoff: c.pod_max_backoff_seconds.map_or(defaults.max_backoff, |s| {
                Duration::from_secs(s.max(0) as u64)
            }),
            ..defaults
        };
        let queue = Arc::new(SchedulingQueue::new(
            less,
            pre_enqueue,
            plugin_events,
            queue_config,
        ));
        metrics.set_queue(queue.clone());
        let mut profiles = HashMap::new();
        for fw in frameworks {
            fw.set_nominator(queue.clone() as Arc<dyn PodNominator>);
            let recorder = EventRecorder::new(objects.clone(), fw.profile_name());
            profiles.insert(fw.profile_name().to_string(), (fw, recorder));
        }
        Ok(Arc::new(Self {
            objects,
            cache: Arc::new(Cache::new()),
            queue,
            profiles,
            metrics,
            tracker,
        }))
    }

    /// The objects the scheduler reads and writes.
    pub(crate) fn objects_ref(&self) -> &Arc<Objects> {
        &self.objects
    }

    /// Whether pods naming `scheduler_name` are ours.
    pub fn has_profile(&self, scheduler_name: &str) -> bool {
        self.profiles.contains_key(scheduler_name)
    }

    /// Start the watches and the scheduling loop on the tracker; they stop on `shutdown`.
    pub fn spawn(self: &Arc<Self>, config: &SchedulerConfig, shutdown: CancellationToken) {
        super::informer::spawn(self.clone(), shutdown.clone(), &self.tracker);
        let me = self.clone();
        let pct = config
            .configuration
            .percentage_of_nodes_to_score
            .unwrap_or(0);
        let seed = config.seed;
        self.tracker.spawn(async move {
            let mut algo = Algorithm::new(pct, seed);
            let mut snapshot = Snapshot::default();
            while let Some(queued) = me.queue.pop(&shutdown).await {
                if shutdown.is_cancelled() {
                    break;
                }
                me.schedule_one(queued, &mut algo, &mut snapshot);
                // The loop never blocks while pods wait: give the watches and binders their
                // turn on this worker now and then.
                tokio::task::consume_budget().await;
            }
        });
    }

    /// One scheduling cycle (upstream `ScheduleOne` + `schedulingCycle`).
    pub(crate) fn schedule_one(
        &self,
        queued: QueuedPodInfo,
        algo: &mut Algorithm,
        snapshot: &mut Snapshot,
    ) {
        let pod = queued.pod.clone();
        let Some((fw, recorder)) = self.profiles.get(&pod.scheduler_name) else {
            self.queue.done(&pod.uid);
            return;
        };
        if pod.terminating {
            recorder.record(
                &pod_ref(&pod),
                WARNING,
                "FailedScheduling",
                &format!("skip schedule deleting pod: {}/{}", pod.namespace, pod.name),
            );
            self.queue.done(&pod.uid);
            return;
        }
        if self.cache.is_assumed(&pod.uid) {
            self.queue.done(&pod.uid);
            return;
        }
        let start = Instant::now();
        let mut state = CycleState::new();
        state.record_plugin_metrics = algo.sample_plugin_metrics();
        self.cache.update_snapshot(snapshot);
        let result = algo.schedule_pod(fw, &mut state, &pod, snapshot);
        let result = match result {
            Ok(r) => r,
            Err(ScheduleError::NoNodesAvailable) => {
                let s = Status::unresolvable("no nodes available to schedule pods");
                return self.fail(fw, recorder, queued, s, None, Some(""), start);
            }
            Err(ScheduleError::Error(s)) => {
                return self.fail(fw, recorder, queued, s, None, Some(""), start);
            }
            Err(ScheduleError::Fit(mut fit)) => {
                let mut nominate = Some(String::new());
                if fw.has_post_filter_plugins() {
                    let statuses = fit.diagnosis.all_statuses(snapshot);
                    let (r, s) = fw.run_post_filter(&state, &pod, snapshot, &statuses);
                    fit.diagnosis.post_filter_msg = s.message();
                    if s.code() == Code::Error {
                        tracing::warn!(pod = %pod.key(), status = %s.message(), "PostFilter failed");
                    }
                    nominate = r.map(|r| r.nominated_node_name);
                }
                let s = Status::unschedulable(fit.to_string());
                return self.fail(
                    fw,
                    recorder,
                    queued,
                    s,
                    Some(fit),
                    nominate.as_deref(),
                    start,
                );
            }
        };
        let node = result.suggested_host;
        if let Err(e) = self.cache.assume(pod.clone(), &node) {
            return self.fail(
                fw,
                recorder,
                queued,
                Status::error(e),
                None,
                Some(""),
                start,
            );
        }
        if !pod.nominated_node_name.is_empty() {
            self.queue.nominate(pod.clone(), "");
        }
        let s = fw.run_reserve(&mut state, &pod, &node);
        if !s.is_success() {
            fw.run_unreserve(&mut state, &pod, &node);
            self.cache.forget(&pod.uid);
            let fit = s.is_rejected().then(|| one_node_fit_error(&node, &s));
            let s = status_for(s, &fit);
            return self.fail(fw, recorder, queued, s, fit, Some(""), start);
        }
        let (s, timeout) = fw.run_permit(&mut state, &pod, &node);
        let wait = (s.code() == Code::Wait).then(|| (s.clone(), timeout));
        if wait.is_none() && !s.is_success() {
            fw.run_unreserve(&mut state, &pod, &node);
            self.cache.forget(&pod.uid);
            let fit = s.is_rejected().then(|| one_node_fit_error(&node, &s));
            let s = status_for(s, &fit);
            return self.fail(fw, recorder, queued, s, fit, Some(""), start);
        }
        let assumed = Assumed {
            fw: fw.clone(),
            recorder: recorder.clone(),
            queued,
            state,
            node,
            start,
            wait,
        };
        let me = self.clone_parts();
        self.tracker
            .spawn(async move { me.binding_cycle(assumed).await });
    }

    fn clone_parts(&self) -> Arc<Binder> {
        Arc::new(Binder {
            objects: self.objects.clone(),
            cache: self.cache.clone(),
            queue: self.queue.clone(),
            metrics: self.metrics.clone(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn fail(
        &self,
        fw: &Arc<Framework>,
        recorder: &EventRecorder,
        queued: QueuedPodInfo,
        status: Status,
        fit: Option<FitError>,
        nominate: Option<&str>,
        start: Instant,
    ) {
        self.clone_parts()
            .handle_failure(fw, recorder, queued, status, fit, nominate, start);
    }
}

/// What the binding cycle and failure handling share with the loop (cheap to clone into a
/// task).
struct Binder {
    objects: Arc<Objects>,
    cache: Arc<Cache>,
    queue: Arc<SchedulingQueue>,
    metrics: Arc<SchedulerMetrics>,
}

impl Binder {
    /// Upstream `bindingCycle`: wait on Permit, PreBind, Bind, then the Scheduled event.
    async fn binding_cycle(self: Arc<Self>, mut a: Assumed) {
        let pod = a.queued.pod.clone();
        let mut status = Status::success();
        if let Some((s, timeout)) = &a.wait {
            // Nothing can allow a waiting pod yet (no plugin implements Permit in-tree):
            // a Wait ends as upstream's timeout rejection.
            tokio::time::sleep(*timeout).await;
            status = Status::unschedulable(format!(
                "rejected due to timeout after waiting {timeout:?} at plugin {}",
                s.plugin()
            ))
            .with_plugin(s.plugin());
        }
        if status.is_success() {
            self.queue.done(&pod.uid);
            status = a.fw.run_pre_bind(&a.state, &pod, &a.node);
        }
        if status.is_success() {
            status = a.fw.run_bind(&a.state, &pod, &a.node);
        }
        if status.is_success() {
            a.recorder.record(
                &pod_ref(&pod),
                NORMAL,
                "Scheduled",
                &format!(
                    "Successfully assigned {}/{} to {}",
                    pod.namespace, pod.name, a.node
                ),
            );
            let profile = a.fw.profile_name();
            self.metrics.attempt(profile, SCHEDULED, a.start.elapsed());
            if let Some(first) = a.queued.initial_attempt {
                self.metrics
                    .pod_scheduled(a.queued.attempts, first.elapsed());
            }
            return;
        }
        // Upstream `handleBindingCycleError`: release what Reserve took, forget the assumed
        // pod, and tell the queue its resources are free again.
        a.fw.run_unreserve(&mut a.state, &pod, &a.node);
        self.cache.forget(&pod.uid);
        self.queue.on_event(ClusterEvent {
            resource: EventResource::AssignedPod,
            action: ActionType::DELETE,
        });
        let fit = status
            .is_rejected()
            .then(|| one_node_fit_error(&a.node, &status));
        let status = status_for(status, &fit);
        let fw = a.fw.clone();
        self.handle_failure(&fw, &a.recorder, a.queued, status, fit, Some(""), a.start);
    }

    /// Upstream `handleSchedulingFailure`: count, requeue if the pod still waits, nominate,
    /// then (off the loop) the FailedScheduling event and PodScheduled=False.
    #[allow(clippy::too_many_arguments)]
    fn handle_failure(
        &self,
        fw: &Arc<Framework>,
        recorder: &EventRecorder,
        mut queued: QueuedPodInfo,
        status: Status,
        fit: Option<FitError>,
        nominate: Option<&str>,
        start: Instant,
    ) {
        let rejected = status.is_rejected();
        let reason = if rejected {
            REASON_UNSCHEDULABLE
        } else {
            REASON_SCHEDULER_ERROR
        };
        let result = if rejected { UNSCHEDULABLE } else { ERROR };
        self.metrics
            .attempt(fw.profile_name(), result, start.elapsed());
        let pod = queued.pod.clone();
        if let Some(fit) = &fit {
            queued.unschedulable_plugins = fit
                .diagnosis
                .unschedulable_plugins
                .iter()
                .copied()
                .collect();
            queued.pending_plugins = fit.diagnosis.pending_plugins.iter().copied().collect();
        } else if !rejected {
            tracing::debug!(pod = %pod.key(), error = %status.message(), "error scheduling pod; retrying");
        }
        let current = self
            .objects
            .store()
            .get("pods", &pod.namespace, &pod.name)
            .ok()
            .and_then(|s| PodInfo::from_stored(s).ok())
            .filter(|p| p.uid == pod.uid);
        match current {
            Some(cur) if cur.node_name.is_empty() => {
                queued.pod = Arc::new(cur);
                let cycle = self.queue.scheduling_cycle();
                self.queue.add_unschedulable(queued, cycle);
            }
            _ => self.queue.done(&pod.uid),
        }
        if let Some(node) = nominate
            && (!node.is_empty() || !pod.nominated_node_name.is_empty())
        {
            self.queue.nominate(pod.clone(), node);
        }
        let message = status.message();
        recorder.record(
            &pod_ref(&pod),
            WARNING,
            "FailedScheduling",
            &truncate(&message),
        );
        self.update_pod_status(&pod, reason, &message, nominate);
    }

    /// PodScheduled=False with the reason and message, and `nominatedNodeName` when a
    /// nomination changed (upstream `updatePod`); a write that changes nothing is not made.
    fn update_pod_status(
        &self,
        pod: &PodInfo,
        reason: &str,
        message: &str,
        nominate: Option<&str>,
    ) {
        let info = crate::registry::find("", "v1", "pods").expect("pods are served");
        for _ in 0..3 {
            let Ok(stored) = self.objects.store().get("pods", &pod.namespace, &pod.name) else {
                return;
            };
            let cur = stored.value();
            if cur.pointer("/metadata/uid").and_then(|v| v.as_str()) != Some(pod.uid.as_str()) {
                return;
            }
            let nnn = cur
                .pointer("/status/nominatedNodeName")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let nominate = nominate.filter(|n| *n != nnn);
            let updated = with_condition(&cur, "PodScheduled", "False", reason, message);
            if updated.is_none() && nominate.is_none() {
                return;
            }
            let mut new = updated.unwrap_or(cur);
            if let Some(n) = nominate {
                if n.is_empty() {
                    if let Some(s) = new["status"].as_object_mut() {
                        s.remove("nominatedNodeName");
                    }
                } else {
                    new["status"]["nominatedNodeName"] = json!(n);
                }
            }
            match self.objects.update(
                info,
                &pod.namespace,
                &pod.name,
                new,
                UpdateTarget::Status,
                &WriteParams::default(),
            ) {
                Err(e) if e.reason == Reason::Conflict => continue,
                Err(e) if e.reason == Reason::NotFound => return,
                Err(e) => {
                    tracing::debug!(pod = %pod.key(), error = %e, "could not update the pod's scheduling condition");
                    return;
                }
                Ok(_) => return,
            }
        }
    }
}

/// A Reserve/Permit/bind rejection as a FitError on that one node (upstream builds one with
/// `NumAllNodes: 1`).
fn one_node_fit_error(node: &str, s: &Status) -> FitError {
    let mut diagnosis = Diagnosis::default();
    diagnosis.node_to_status.insert(node.to_string(), s.clone());
    diagnosis.add_plugin_status(s);
    FitError {
        num_all_nodes: 1,
        diagnosis,
    }
}

/// The status to report: a rejection carries its FitError's message.
fn status_for(s: Status, fit: &Option<FitError>) -> Status {
    match fit {
        Some(f) => Status::new(s.code(), f.to_string()).with_plugin(s.plugin()),
        None => s,
    }
}

/// The event's `involvedObject` for a pod.
fn pod_ref(pod: &PodInfo) -> ObjectRef {
    ObjectRef {
        api_version: "v1",
        kind: "Pod",
        namespace: pod.namespace.clone(),
        name: pod.name.clone(),
        uid: Some(pod.uid.clone()),
        resource_version: Some(pod.stored.revision.to_string()),
    }
}

/// Upstream `truncateMessage`.
fn truncate(message: &str) -> String {
    if message.len() <= NOTE_LENGTH_LIMIT {
        return message.to_string();
    }
    let mut cut = NOTE_LENGTH_LIMIT - " ...".len();
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{} ...", &message[..cut])
}

/// The queue's order, through the profile's QueueSort plugin.
struct SortBy(Arc<dyn super::framework::Plugin>);

impl super::framework::QueueSort for SortBy {
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        self.0
            .as_queue_sort()
            .expect("a QueueSort plugin")
            .less(a, b)
    }
}

/// A PreEnqueue plugin, shared with the queue.
struct PreEnqueueBy(Arc<dyn super::framework::Plugin>);

impl super::framework::PreEnqueue for PreEnqueueBy {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status {
        self.0
            .as_pre_enqueue()
            .expect("a PreEnqueue plugin")
            .pre_enqueue(pod)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_like_upstream() {
        let long = "x".repeat(2000);
        let cut = truncate(&long);
        assert_eq!(cut.len(), NOTE_LENGTH_LIMIT);
        assert!(cut.ends_with(" ..."));
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn a_reserve_rejection_reads_as_a_one_node_fit_error() {
        let s =
            Status::unschedulable("Node failed Reserve plugin Reserve-1").with_plugin("Reserve-1");
        let fit = one_node_fit_error("n1", &s);
        assert_eq!(
            fit.to_string(),
            "0/1 nodes are available: 1 Node failed Reserve plugin Reserve-1."
        );
        assert!(fit.diagnosis.unschedulable_plugins.contains("Reserve-1"));
    }
}
