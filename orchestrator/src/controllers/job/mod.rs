//! The Job controller (upstream `pkg/controller/job`): pods run to `completions` successes with
//! at most `parallelism` at once; failures beyond `backoffLimit` or a run past
//! `activeDeadlineSeconds` fail the Job; failed pods are replaced after an exponential backoff;
//! Indexed Jobs give each pod its index; `suspend` stops and resumes the pods.
//!
//! Every pod carries the `batch.kubernetes.io/job-tracking` finalizer until the controller has
//! counted it: a finished pod's uid goes into `status.uncountedTerminatedPods` first, the
//! finalizer comes off, and only then does it move into `succeeded`/`failed` — so a pod deleted
//! right after finishing is still counted once and only once. Finishing is two-phase as in 1.32:
//! `SuccessCriteriaMet` / `FailureTarget` first, `Complete` / `Failed` once no pod is left
//! terminating or uncounted.
//!
//! - `indexes.rs`: completion indexes and their intervals;
//! - `backoff.rs`: the pod-replacement backoff;
//! - `conditions.rs`: Job conditions;
//! - `pod.rs`: what is read of each pod, and the finalizer's removal;
//! - `pod_failure_policy.rs`: `spec.podFailurePolicy` rules;
//! - `tracking.rs`: counting finished pods and finishing the Job;
//! - here: the sync (`syncJob`, `manageJob`) and the event handlers.

mod backoff;
mod conditions;
mod indexes;
mod pod;
mod pod_failure_policy;
mod tracking;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::api::{DeleteParams, Objects, WriteParams};
use crate::controllers::Sink;
use crate::controllers::events::{EventRecorder, NORMAL, WARNING};
use crate::controllers::runtime::expectations::Expectations;
use crate::controllers::runtime::owner::{self, Owner};
use crate::controllers::runtime::pods::{PodCache, PodFacts, PodListener};
use crate::controllers::runtime::queue::{KeyQueue, run_workers};
use crate::controllers::runtime::ranking;
use crate::controllers::runtime::slow_start::slow_start_batch;
use crate::error::{ApiError, CauseKind, Reason};
use crate::registry::ResourceInfo;
use crate::store::{Event, EventType, LabelSelector, ListOptions, Stored};

use backoff::BackoffRecord;
use conditions::{
    condition, ensure_condition, find_condition, is_finished, is_indexed, only_replace_failed,
    suspended,
};
use indexes::{COMPLETION_INDEX, Intervals};
use pod::{JobPod, has_tracking_finalizer, is_pod_failed, remove_finalizer};

const JOBS: &str = "jobs.batch";
/// The finalizer holding a pod until the Job has counted it (upstream `JobTrackingFinalizer`).
pub(crate) const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// At most this many creates or deletes per sync (upstream `MaxPodCreateDeletePerSync`).
const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// At most this many uids in `uncountedTerminatedPods` (upstream `MaxUncountedPods`).
const MAX_UNCOUNTED_PODS: usize = 500;
/// Pod events are batched into one sync per this period (upstream `syncJobBatchPeriod`).
const POD_BATCH_PERIOD: Duration = Duration::from_secs(1);
/// Upstream runs five Job workers by default (`ConcurrentJobSyncs`).
const WORKERS: usize = 5;

fn pods_info() -> &'static ResourceInfo {
    crate::registry::find("", "v1", "pods").expect("served")
}

fn jobs_info() -> &'static ResourceInfo {
    crate::registry::find("batch", "v1", "jobs").expect("served")
}

/// Now, in whole seconds (what `metav1.Time` keeps).
fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap_or_default()
}

/// Uids whose finalizer removal the controller waits to see, per Job (upstream
/// `uidTrackingExpectations`).
#[derive(Debug, Default)]
struct FinalizerExpectations(parking_lot::Mutex<HashMap<String, HashSet<String>>>);

impl FinalizerExpectations {
    fn expect(&self, job: &str, uids: impl IntoIterator<Item = String>) {
        self.0
            .lock()
            .entry(job.to_string())
            .or_default()
            .extend(uids);
    }
    fn observed(&self, job: &str, uid: &str) {
        let mut m = self.0.lock();
        if let Some(set) = m.get_mut(job) {
            set.remove(uid);
            if set.is_empty() {
                m.remove(job);
            }
        }
    }
    fn get(&self, job: &str) -> HashSet<String> {
        self.0.lock().get(job).cloned().unwrap_or_default()
    }
    fn forget(&self, job: &str) {
        self.0.lock().remove(job);
    }
}

/// How the Job controller is tuned.
#[derive(Clone, Debug)]
pub(crate) struct JobConfig {
    /// The first pod-replacement delay after a failure (upstream `DefaultJobPodFailureBackOff`).
    pub pod_failure_backoff: Duration,
    /// The longest one (upstream `MaxJobPodFailureBackOff`).
    pub max_pod_failure_backoff: Duration,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            pod_failure_backoff: backoff::DEFAULT_BACKOFF,
            max_pod_failure_backoff: backoff::MAX_BACKOFF,
        }
    }
}

/// The Job controller.
pub(crate) struct JobController {
    objects: Arc<Objects>,
    pods: Arc<PodCache>,
    queue: Arc<KeyQueue>,
    expectations: Expectations,
    /// Upstream keeps adds and deletes in one record; the runtime's hold one kind at a time.
    deletions: Expectations,
    finalizers: FinalizerExpectations,
    events: EventRecorder,
    config: JobConfig,
    /// Job uids by key, to route pod events.
    known: parking_lot::RwLock<HashMap<String, String>>,
    backoffs: parking_lot::Mutex<HashMap<String, BackoffRecord>>,
    /// Jobs with a batched sync pending.
    batched: parking_lot::Mutex<HashSet<String>>,
}

impl std::fmt::Debug for JobController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobController")
            .field("jobs", &self.known.read().len())
            .finish()
    }
}

/// One sync's working state (upstream `syncJobCtx`).
struct SyncCtx {
    key: String,
    owner: Owner,
    job: Job,
    /// The Job as stored, for status writes.
    stored: Value,
    pods: Vec<JobPod>,
    active: Vec<usize>,
    succeeded: i64,
    ready: i64,
    terminating: i64,
    finished: Option<JobCondition>,
    prev_succeeded_indexes: Intervals,
    succeeded_indexes: Intervals,
    uncounted_succeeded: HashSet<String>,
    uncounted_failed: HashSet<String>,
    expected_rm_finalizers: HashSet<String>,
    new_backoff: BackoffRecord,
}

impl JobController {
    /// A controller over `objects`, reading pods from the shared cache.
    pub(crate) fn new(objects: Arc<Objects>, pods: Arc<PodCache>, config: JobConfig) -> Self {
        Self {
            events: EventRecorder::new(objects.clone(), "job-controller"),
            objects,
            pods,
            queue: Arc::default(),
            expectations: Expectations::default(),
            deletions: Expectations::default(),
            finalizers: FinalizerExpectations::default(),
            config,
            known: Default::default(),
            backoffs: Default::default(),
            batched: Default::default(),
        }
    }

    /// Sync Jobs until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let queue = self.queue.clone();
        run_workers("job", queue, WORKERS, shutdown, move |key, _waited| {
            let this = self.clone();
            async move { this.sync(&key) }
        })
        .await;
    }

    fn enqueue_batched(&self, key: &str) {
        if self.batched.lock().insert(key.to_string()) {
            self.queue.add_after(key, POD_BATCH_PERIOD);
        }
    }

    fn owner_key(&self, pod: &PodFacts) -> Option<String> {
        let c = pod.controller.as_ref()?;
        if c.kind != "Job" || !c.api_version.starts_with("batch/") {
            return None;
        }
        let key = format!("{}/{}", pod.namespace(), c.name);
        (self.known.read().get(&key) == Some(&c.uid)).then_some(key)
    }

    fn satisfied(&self, key: &str) -> bool {
        self.expectations.satisfied(key) && self.deletions.satisfied(key)
    }

    fn sync(&self, key: &str) -> Result<(), ApiError> {
        self.sync_reading(key, |owner, selector| {
            owner::claim_pods(&self.objects, &self.pods, owner, selector)
        })
    }

    /// The sync, with the Job's pods read by `read_pods` (tests deliver pod events in it).
    fn sync_reading(
        &self,
        key: &str,
        read_pods: impl FnOnce(&Owner, &LabelSelector) -> Vec<Arc<PodFacts>>,
    ) -> Result<(), ApiError> {
        self.batched.lock().remove(key);
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let stored = match self.objects.store().get(JOBS, ns, name) {
            Ok(s) => s,
            Err(e) if e.reason == Reason::NotFound => {
                self.expectations.forget(key);
                self.deletions.forget(key);
                self.finalizers.forget(key);
                self.backoffs.lock().remove(key);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let value = stored.value();
        let job: Job = serde_json::from_value(value.clone())
            .map_err(|e| ApiError::internal(format!("stored job: {e}")))?;
        if is_finished(&job) {
            self.backoffs.lock().remove(key);
            return Ok(());
        }
        let spec = job.spec.clone().unwrap_or_default();
        let Some(selector) = spec
            .selector
            .as_ref()
            .and_then(|s| LabelSelector::from_label_selector(s).ok())
        else {
            return Ok(());
        };
        let meta = &job.metadata;
        let owner = Owner {
            api_version: "batch/v1",
            kind: "Job",
            namespace: ns.to_string(),
            name: name.to_string(),
            uid: meta.uid.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            adoption_finalizers: &[TRACKING_FINALIZER],
        };
        // Expectations first: a pod created, or a finalizer removal observed, after this check
        // is seen by the next sync. Upstream reads the finalizer expectations after the pods;
        // here the Job is read fresh from the store, ahead of the pod cache, so a removal
        // observed between the two reads would count a pod the status already counts again.
        let satisfied = self.satisfied(key);
        let expected_rm_finalizers = self.finalizers.get(key);
        let pods: Vec<JobPod> = read_pods(&owner, &selector)
            .into_iter()
            .map(|facts| {
                // Adopted in this sync: the adoption added the finalizer (upstream counts the
                // pod as tracked at once, too).
                let adopted = facts.controller.as_ref().is_none_or(|c| c.uid != owner.uid);
                let mut p = JobPod::parse(facts);
                p.tracked |= adopted;
                p
            })
            .collect();
        let status = job.status.clone().unwrap_or_default();
        let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let mut ctx = SyncCtx {
            key: key.to_string(),
            owner,
            active: (0..pods.len())
                .filter(|&i| pods[i].facts.is_active())
                .collect(),
            terminating: pods
                .iter()
                .filter(|p| p.facts.deleting && p.phase() != "Succeeded" && p.phase() != "Failed")
                .count() as i64,
            pods,
            succeeded: 0,
            ready: 0,
            finished: None,
            prev_succeeded_indexes: Intervals::default(),
            succeeded_indexes: Intervals::default(),
            uncounted_succeeded: uncounted
                .succeeded
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            uncounted_failed: uncounted
                .failed
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            expected_rm_finalizers,
            new_backoff: BackoffRecord::default(),
            stored: value,
            job,
        };
        ctx.ready = ctx
            .active
            .iter()
            .filter(|&&i| ctx.pods[i].facts.ready)
            .count() as i64;
        let mut active = ctx.active.len() as i64;
        let (new_succeeded, new_failed) = self.new_finished_pods(&ctx);
        ctx.succeeded = i64::from(status.succeeded.unwrap_or(0))
            + new_succeeded.len() as i64
            + ctx.uncounted_succeeded.len() as i64;
        // Failures a pod failure policy ignores do not count (upstream
        // `nonIgnoredFailedPodsCount`).
        let counted_new_failed = new_failed
            .iter()
            .filter(|&&i| policy_verdict(&ctx.job, &ctx.pods[i]).count)
            .count();
        let failed = i64::from(status.failed.unwrap_or(0))
            + counted_new_failed as i64
            + ctx.uncounted_failed.len() as i64;
        let now = now();
        let job_status = ctx.job.status.get_or_insert_with(Default::default);
        if job_status.start_time.is_none() && spec.suspend != Some(true) {
            job_status.start_time = Some(Time(now));
        }
        let previous = self.backoffs.lock().get(key).copied().unwrap_or_default();
        ctx.new_backoff = previous.next(
            new_succeeded
                .iter()
                .map(|&i| ctx.pods[i].finished_at)
                .collect(),
            new_failed
                .iter()
                .map(|&i| ctx.pods[i].finished_at)
                .collect(),
        );

        ctx.finished = find_condition(&ctx.job, "SuccessCriteriaMet").cloned();
        if ctx.finished.is_none()
            && let Some(target) = find_condition(&ctx.job, "FailureTarget")
        {
            ctx.finished = Some(condition(
                "Failed",
                "True",
                target.reason.as_deref().unwrap_or(""),
                target.message.as_deref().unwrap_or(""),
                now,
            ));
        }
        if ctx.finished.is_none()
            && let Some(message) = fail_job_message(&ctx.job, &ctx.pods)
        {
            // Recorded first as FailureTarget, before the pods' finalizers come off.
            ctx.finished = Some(condition(
                "FailureTarget",
                "True",
                "PodFailurePolicy",
                &message,
                now,
            ));
        }
        if ctx.finished.is_none() {
            let backoff_limit = i64::from(spec.backoff_limit.unwrap_or(6));
            if failed > backoff_limit || self.past_backoff_limit_on_failure(&ctx, backoff_limit) {
                ctx.finished = Some(condition(
                    "FailureTarget",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    now,
                ));
            } else if let Some(remaining) = active_deadline_remaining(&ctx.job, now) {
                if remaining.is_zero() {
                    ctx.finished = Some(condition(
                        "FailureTarget",
                        "True",
                        "DeadlineExceeded",
                        "Job was active longer than specified deadline",
                        now,
                    ));
                } else {
                    self.queue.add_after(key, remaining);
                }
            }
        }
        if is_indexed(&ctx.job) {
            let completions = i64::from(spec.completions.unwrap_or(0));
            ctx.prev_succeeded_indexes = Intervals::parse(
                status.completed_indexes.as_deref().unwrap_or(""),
                completions,
            );
            let new: BTreeSet<i64> = ctx
                .pods
                .iter()
                .filter(|p| p.phase() == "Succeeded" && p.tracked)
                .filter_map(|p| p.index.filter(|ix| *ix < completions))
                .collect();
            ctx.succeeded_indexes = ctx.prev_succeeded_indexes.with_indexes(new);
            ctx.succeeded = ctx.succeeded_indexes.total();
        }

        let mut manage_err = None;
        let mut suspend_changed = false;
        if ctx.finished.is_some() {
            let (deleted_ready, deleted, err) = self.delete_active_pods(&ctx);
            if deleted != active || !satisfied {
                // Pods or their finalizers may remain, or the cache has not caught up.
                ctx.finished = None;
            }
            active -= deleted;
            ctx.terminating += deleted;
            ctx.ready -= deleted_ready;
            manage_err = err;
        } else {
            let mut manage_called = false;
            if satisfied && ctx.job.metadata.deletion_timestamp.is_none() {
                let (a, err) = self.manage_job(&mut ctx);
                active = a;
                manage_err = err;
                manage_called = true;
            }
            let complete = match spec.completions {
                None => ctx.succeeded > 0 && active == 0,
                Some(c) => ctx.succeeded >= i64::from(c) && active == 0,
            };
            if complete {
                ctx.finished = Some(condition(
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    now,
                ));
            } else if manage_called {
                let conditions = ctx
                    .job
                    .status
                    .get_or_insert_with(Default::default)
                    .conditions
                    .get_or_insert_with(Vec::new);
                if spec.suspend == Some(true) {
                    if ensure_condition(
                        conditions,
                        "Suspended",
                        "True",
                        "JobSuspended",
                        "Job suspended",
                        now,
                    ) {
                        suspend_changed = true;
                        self.events.record(
                            &ctx.owner.event_ref(),
                            NORMAL,
                            "Suspended",
                            "Job suspended",
                        );
                    }
                } else if ensure_condition(
                    conditions,
                    "Suspended",
                    "False",
                    "JobResumed",
                    "Job resumed",
                    now,
                ) {
                    suspend_changed = true;
                    self.events
                        .record(&ctx.owner.event_ref(), NORMAL, "Resumed", "Job resumed");
                    // The deadline counts from the resumption.
                    ctx.job
                        .status
                        .get_or_insert_with(Default::default)
                        .start_time = Some(Time(now));
                }
            }
        }
        let st = ctx.job.status.get_or_insert_with(Default::default);
        let needs_update = suspend_changed
            || i64::from(st.active.unwrap_or(0)) != active
            || st.ready.map(i64::from) != Some(ctx.ready)
            || st.terminating.map(i64::from) != Some(ctx.terminating);
        st.active = Some(active as i32);
        st.ready = Some(ctx.ready as i32);
        st.terminating = Some(ctx.terminating as i32);
        self.track_status_and_remove_finalizers(&mut ctx, needs_update)?;
        manage_err.map_or(Ok(()), Err)
    }

    /// Newly finished pods not yet counted (upstream `getNewFinishedPods`), as indexes into
    /// `ctx.pods`.
    fn new_finished_pods(&self, ctx: &SyncCtx) -> (Vec<usize>, Vec<usize>) {
        let completions = ctx
            .job
            .spec
            .as_ref()
            .and_then(|s| s.completions)
            .map(i64::from);
        let valid = |p: &JobPod, uncounted: &HashSet<String>| {
            if !p.tracked
                || uncounted.contains(p.uid())
                || ctx.expected_rm_finalizers.contains(p.uid())
            {
                return false;
            }
            !is_indexed(&ctx.job) || p.index.is_some_and(|ix| ix < completions.unwrap_or(0))
        };
        let succeeded = (0..ctx.pods.len())
            .filter(|&i| {
                let p = &ctx.pods[i];
                valid(p, &ctx.uncounted_succeeded) && p.phase() == "Succeeded"
            })
            .collect();
        let failed = (0..ctx.pods.len())
            .filter(|&i| {
                let p = &ctx.pods[i];
                valid(p, &ctx.uncounted_failed) && is_pod_failed(p, &ctx.job)
            })
            .collect();
        (succeeded, failed)
    }

    /// With `restartPolicy: OnFailure`, restarts of active pods count against the backoff limit
    /// (upstream `pastBackoffLimitOnFailure`).
    fn past_backoff_limit_on_failure(&self, ctx: &SyncCtx, limit: i64) -> bool {
        let policy = ctx
            .job
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.restart_policy.as_deref());
        if policy != Some("OnFailure") {
            return false;
        }
        let restarts: i64 = ctx
            .pods
            .iter()
            .filter(|p| p.phase() == "Running" || p.phase() == "Pending")
            .map(|p| p.restarts_total)
            .sum();
        if limit == 0 {
            restarts > 0
        } else {
            restarts >= limit
        }
    }

    /// Delete every active pod of a finishing Job (upstream `deleteActivePods`); their
    /// finalizers come off when they are counted.
    fn delete_active_pods(&self, ctx: &SyncCtx) -> (i64, i64, Option<ApiError>) {
        let mut deleted = 0;
        let mut ready = 0;
        let mut err = None;
        for &i in &ctx.active {
            let p = &ctx.pods[i];
            match self.delete_pod(ctx, p) {
                Ok(()) => {
                    deleted += 1;
                    ready += i64::from(p.facts.ready);
                }
                Err(e) if e.reason == Reason::NotFound => {
                    deleted += 1;
                    ready += i64::from(p.facts.ready);
                }
                Err(e) => {
                    err.get_or_insert(e);
                }
            }
        }
        (ready, deleted, err)
    }

    fn delete_pod(&self, ctx: &SyncCtx, p: &JobPod) -> Result<(), ApiError> {
        self.objects.delete(
            pods_info(),
            p.facts.namespace(),
            p.facts.name(),
            &DeleteParams::default(),
        )?;
        let msg = format!("Deleted pod: {}", p.facts.name());
        self.events
            .record(&ctx.owner.event_ref(), NORMAL, "SuccessfulDelete", &msg);
        Ok(())
    }

    /// Remove pods beyond what is wanted, or create the missing ones (upstream `manageJob`);
    /// the number of active pods after it.
    fn manage_job(&self, ctx: &mut SyncCtx) -> (i64, Option<ApiError>) {
        let spec = ctx.job.spec.clone().unwrap_or_default();
        let mut active = ctx.active.len() as i64;
        let parallelism = i64::from(spec.parallelism.unwrap_or(1));
        if suspended(&ctx.job) {
            let all: Vec<usize> = self.active_pods_for_removal(ctx, active as usize);
            return self.delete_job_pods(ctx, all, active);
        }
        let want = match spec.completions {
            None if ctx.succeeded > 0 => active,
            None => parallelism,
            Some(c) => (i64::from(c) - ctx.succeeded).clamp(0, parallelism),
        };
        let remove = (active - want).max(0) as usize;
        let mut to_delete = self.active_pods_for_removal(ctx, remove);
        to_delete.truncate(MAX_POD_CREATE_DELETE_PER_SYNC);
        if !to_delete.is_empty() {
            // Deletion and creation never happen in the same sync; deletion first.
            return self.delete_job_pods(ctx, to_delete, active);
        }
        let terminating = if only_replace_failed(&ctx.job) {
            ctx.terminating
        } else {
            0
        };
        let diff = want - terminating - active;
        if diff <= 0 {
            return (active, None);
        }
        let remaining = ctx.new_backoff.remaining(
            jiff::Timestamp::now(),
            self.config.pod_failure_backoff,
            self.config.max_pod_failure_backoff,
        );
        if !remaining.is_zero() {
            self.queue.add_after(&ctx.key, remaining);
            // upstream reports no active pods while it waits out the backoff
            return (0, None);
        }
        let mut diff = (diff as usize).min(MAX_POD_CREATE_DELETE_PER_SYNC);
        let mut indexes = Vec::new();
        if is_indexed(&ctx.job) {
            let active_indexes: BTreeSet<i64> = ctx
                .active
                .iter()
                .filter_map(|&i| ctx.pods[i].index)
                .collect();
            indexes = indexes::first_pending(
                &ctx.succeeded_indexes,
                &active_indexes,
                diff,
                i64::from(spec.completions.unwrap_or(0)),
            );
            diff = indexes.len();
        }
        if diff == 0 {
            return (active, None);
        }
        self.expectations.expect_creations(&ctx.key, diff);
        active += diff as i64;
        let template = self.pod_template(ctx);
        let job_name = ctx.owner.name.clone();
        let ns = ctx.owner.namespace.clone();
        let mut attempted = 0;
        let mut failures = 0;
        let (_, err) = slow_start_batch(diff, |n| {
            attempted += 1;
            let mut t = template.clone();
            let prefix = match indexes.get(n) {
                Some(&ix) => {
                    t["metadata"]["annotations"][COMPLETION_INDEX] = json!(ix.to_string());
                    t["metadata"]["labels"][COMPLETION_INDEX] = json!(ix.to_string());
                    t["spec"]["hostname"] = json!(format!("{job_name}-{ix}"));
                    indexes::generate_name(&job_name, ix)
                }
                None => owner::pod_name_prefix(&job_name),
            };
            let pod = owner::pod_from_template(&t, &ctx.owner, &prefix);
            match self
                .objects
                .create(pods_info(), &ns, pod, &WriteParams::default())
            {
                Ok(stored) => {
                    let msg = format!("Created pod: {}", stored.name);
                    self.events
                        .record(&ctx.owner.event_ref(), NORMAL, "SuccessfulCreate", &msg);
                    Ok(())
                }
                Err(e) => {
                    self.expectations.creation_observed(&ctx.key);
                    failures += 1;
                    if !e
                        .causes
                        .iter()
                        .any(|c| c.kind == CauseKind::NamespaceTerminating)
                    {
                        let msg = format!("Error creating: {}", e.message);
                        self.events
                            .record(&ctx.owner.event_ref(), WARNING, "FailedCreate", &msg);
                    }
                    Err(e)
                }
            }
        });
        for _ in attempted..diff {
            self.expectations.creation_observed(&ctx.key);
        }
        active -= (failures + diff - attempted) as i64;
        let err = err.filter(|e| {
            !e.causes
                .iter()
                .any(|c| c.kind == CauseKind::NamespaceTerminating)
        });
        (active, err)
    }

    /// The template new pods are made from: the tracking finalizer, and for Indexed Jobs the
    /// `JOB_COMPLETION_INDEX` variable in every container.
    fn pod_template(&self, ctx: &SyncCtx) -> Value {
        let mut t = ctx.stored["spec"]["template"].clone();
        if !t["metadata"].is_object() {
            t["metadata"] = json!({});
        }
        let finalizers = t["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
            let mut f = finalizers;
            f.push(json!(TRACKING_FINALIZER));
            t["metadata"]["finalizers"] = json!(f);
        }
        if is_indexed(&ctx.job) {
            for field in ["containers", "initContainers"] {
                let Some(containers) = t["spec"][field].as_array_mut() else {
                    continue;
                };
                for c in containers {
                    if !c["env"].is_array() {
                        c["env"] = json!([]);
                    }
                    let env = c["env"].as_array_mut().expect("set above");
                    if !env.iter().any(|e| e["name"] == "JOB_COMPLETION_INDEX") {
                        env.push(
                            json!({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                            "fieldPath": format!("metadata.annotations['{COMPLETION_INDEX}']")}}}),
                        );
                    }
                }
            }
            for field in ["annotations", "labels"] {
                if !t["metadata"][field].is_object() {
                    t["metadata"][field] = json!({});
                }
            }
        }
        t
    }

    /// The pods to remove first (upstream `activePodsForRemoval`): for Indexed Jobs, those with
    /// an out-of-range, missing or duplicated index; then by upstream's active-pod order.
    fn active_pods_for_removal(&self, ctx: &SyncCtx, at_least: usize) -> Vec<usize> {
        let mut rm = Vec::new();
        let mut left: Vec<usize> = Vec::new();
        if is_indexed(&ctx.job) {
            let completions = ctx
                .job
                .spec
                .as_ref()
                .and_then(|s| s.completions)
                .map_or(0, i64::from);
            let mut by_index: std::collections::BTreeMap<Option<i64>, Vec<usize>> =
                Default::default();
            for &i in &ctx.active {
                by_index.entry(ctx.pods[i].index).or_default().push(i);
            }
            for (ix, group) in by_index {
                match ix {
                    None => rm.extend(group),
                    Some(ix) if ix >= completions => rm.extend(group),
                    Some(_) if group.len() == 1 => left.extend(group),
                    Some(_) => {
                        // keep the pod upstream's order would delete last
                        let ordered = self.ranked(ctx, &group, group.len());
                        let (go, keep) = ordered.split_at(group.len() - 1);
                        rm.extend_from_slice(go);
                        left.extend_from_slice(keep);
                    }
                }
            }
        } else {
            left = ctx.active.clone();
        }
        if rm.len() < at_least {
            let more = self.ranked(ctx, &left, at_least - rm.len());
            rm.extend(more);
        }
        rm
    }

    /// `count` of these pods in upstream's deletion order.
    fn ranked(&self, ctx: &SyncCtx, pods: &[usize], count: usize) -> Vec<usize> {
        let facts: Vec<Arc<PodFacts>> = pods.iter().map(|&i| ctx.pods[i].facts.clone()).collect();
        ranking::pods_to_delete(&facts, &[], count, jiff::Timestamp::now())
            .iter()
            .filter_map(|f| {
                pods.iter()
                    .copied()
                    .find(|&i| Arc::ptr_eq(&ctx.pods[i].facts, f))
            })
            .collect()
    }

    /// Delete pods of a running Job, taking their finalizer off first so they are not counted
    /// as failures (upstream `deleteJobPods`).
    fn delete_job_pods(
        &self,
        ctx: &mut SyncCtx,
        pods: Vec<usize>,
        active: i64,
    ) -> (i64, Option<ApiError>) {
        let ns = ctx.owner.namespace.clone();
        self.deletions.expect_deletions(
            &ctx.key,
            pods.iter()
                .map(|&i| format!("{ns}/{}", ctx.pods[i].facts.name())),
        );
        let mut removed = 0;
        let mut removed_ready = 0;
        let mut err = None;
        for i in pods {
            let p = &ctx.pods[i];
            let result = if p.tracked {
                remove_finalizer(&self.objects, p)
            } else {
                Ok(())
            }
            .and_then(|()| self.delete_pod(ctx, p));
            match result {
                Ok(()) => {
                    removed += 1;
                    removed_ready += i64::from(p.facts.ready);
                }
                Err(e) => {
                    self.deletions.deletion_observed(&ctx.key, &p.facts.key());
                    if e.reason != Reason::NotFound {
                        err.get_or_insert(e);
                    } else {
                        removed += 1;
                    }
                }
            }
        }
        ctx.terminating += removed;
        ctx.ready -= removed_ready;
        (active - removed, err)
    }
}

/// What the Job's pod failure policy says about a pod (every failure counts without one).
fn policy_verdict(job: &Job, p: &JobPod) -> pod_failure_policy::Verdict {
    let Some(policy) = job
        .spec
        .as_ref()
        .and_then(|s| s.pod_failure_policy.as_ref())
    else {
        return pod_failure_policy::Verdict {
            fail_job: None,
            count: true,
        };
    };
    let status: k8s_openapi::api::core::v1::PodStatus =
        serde_json::from_value(p.facts.stored.value()["status"].clone()).unwrap_or_default();
    pod_failure_policy::evaluate(policy, p.facts.namespace(), p.facts.name(), &status)
}

/// The message of the first failed pod a `FailJob` rule matches (upstream `getFailJobMessage`).
fn fail_job_message(job: &Job, pods: &[JobPod]) -> Option<String> {
    job.spec.as_ref()?.pod_failure_policy.as_ref()?;
    pods.iter()
        .filter(|p| is_pod_failed(p, job))
        .find_map(|p| policy_verdict(job, p).fail_job)
}

/// How long the Job may still run (upstream `pastActiveDeadline`); `None` without a deadline,
/// a start, or while suspended.
fn active_deadline_remaining(job: &Job, now: jiff::Timestamp) -> Option<Duration> {
    let deadline = job.spec.as_ref()?.active_deadline_seconds?;
    let start = job.status.as_ref()?.start_time.as_ref()?.0;
    if suspended(job) {
        return None;
    }
    let elapsed = Duration::try_from(now.duration_since(start)).unwrap_or(Duration::ZERO);
    Some(Duration::from_secs(deadline.max(0) as u64).saturating_sub(elapsed))
}

impl Sink for JobController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if info.store_key != JOBS || event.kind == EventType::Bookmark {
            return;
        }
        let key = format!("{}/{}", event.object.namespace, event.object.name);
        if event.kind == EventType::Deleted {
            self.known.write().remove(&key);
            self.release_orphans(&event.object);
        } else {
            let uid = event.object.value()["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.known.write().insert(key.clone(), uid);
        }
        self.queue.add(&key);
    }

    fn resync(&self) {
        match self.objects.store().list(JOBS, &ListOptions::default()) {
            Ok(listed) => {
                let mut known = self.known.write();
                known.clear();
                for s in &listed.items {
                    let uid = s.value()["metadata"]["uid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    known.insert(format!("{}/{}", s.namespace, s.name), uid);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list jobs"),
        }
        for key in self.known.read().keys() {
            self.queue.add(key);
        }
    }
}

impl JobController {
    /// A deleted Job's pods lose the tracking finalizer, or they would never go (upstream
    /// `cleanupPodFinalizers` / orphan handling).
    fn release_orphans(&self, job: &Stored) {
        let uid = job.value()["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for facts in self.pods.controlled_by(&uid) {
            let p = JobPod::parse(facts);
            if p.tracked
                && let Err(e) = remove_finalizer(&self.objects, &p)
            {
                tracing::debug!(pod = %p.facts.key(), error = %e, "could not release a job pod");
            }
        }
    }
}

impl PodListener for JobController {
    fn on_pod(&self, old: Option<&PodFacts>, new: Option<&PodFacts>) {
        let Some(pod) = new.or(old) else { return };
        let Some(key) = self
            .owner_key(pod)
            .or_else(|| old.and_then(|o| self.owner_key(o)))
        else {
            return;
        };
        // A pod its Job released (relabelled out of the selector) keeps no tracking finalizer
        // (upstream `handleOrphanPod`), or it could never be deleted.
        if let (Some(o), Some(n)) = (old, new)
            && o.controller.is_some()
            && n.controller.is_none()
            && has_tracking_finalizer(&n.stored)
            && let Err(e) = pod::remove_finalizer_from(&self.objects, n.namespace(), n.name())
        {
            tracing::debug!(pod = %n.key(), error = %e, "could not release a job pod");
        }
        match (old, new) {
            (None, Some(n)) => {
                self.expectations.creation_observed(&key);
                if n.deleting {
                    self.deletions.deletion_observed(&key, &n.key());
                }
            }
            (Some(_), None) => {
                self.deletions.deletion_observed(&key, &pod.key());
                self.finalizers.observed(&key, &pod.uid);
            }
            (Some(o), Some(n)) => {
                if o.stored.revision == n.stored.revision {
                    return;
                }
                if n.deleting {
                    self.deletions.deletion_observed(&key, &n.key());
                }
            }
            (None, None) => return,
        }
        if let Some(n) = new
            && !has_tracking_finalizer(&n.stored)
        {
            self.finalizers.observed(&key, &n.uid);
        }
        self.enqueue_batched(&key);
    }
}

#[cfg(test)]
mod tests;
