//! The DaemonSet controller (upstream `pkg/controller/daemon`): one pod per eligible node,
//! pinned to it by node affinity and bound by the scheduler; nodes coming, going and changing
//! their labels or taints move pods; failed pods are replaced with a per-node backoff; a
//! template change rolls out under `maxUnavailable` / `maxSurge` (or waits for deletions with
//! `OnDelete`), with every template kept as a ControllerRevision for `kubectl rollout`.
//!
//! - `eligibility.rs`: which nodes should run a pod (`NodeShouldRunDaemonPod`);
//! - `plan.rs`: the decisions, pure (per-node plan, rolling update step, status counts);
//! - `history.rs`: ControllerRevisions (construct, snapshot, dedup, cleanup);
//! - here: the sync loop that reads the store and the pod cache and carries plans out.

mod eligibility;
mod history;
mod plan;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::{DeleteParams, Objects, WriteParams};
use crate::controllers::Sink;
use crate::controllers::events::{EventRecorder, NORMAL, WARNING};
use crate::controllers::runtime::expectations::Expectations;
use crate::controllers::runtime::owner::{self, Owner};
use crate::controllers::runtime::pods::{PodCache, PodFacts, PodListener};
use crate::controllers::runtime::queue::{KeyQueue, run_workers};
use crate::controllers::runtime::slow_start::slow_start_batch;
use crate::error::{ApiError, CauseKind, Reason};
use crate::patch::PatchType;
use crate::registry::{ResourceInfo, UpdateTarget};
use crate::store::{Event, EventType, LabelSelector, ListOptions, Stored};

#[cfg(test)]
pub(crate) use eligibility::target_node;
use eligibility::{NodeView, Placement, Verdict};
use plan::{DaemonPod, HASH_LABEL, NodeState, TEMPLATE_GENERATION_LABEL};

const DAEMONSETS: &str = "daemonsets.apps";
/// At most this many creates or deletes per sync (upstream `BurstReplicas`).
const BURST_REPLICAS: usize = 250;
/// The first and longest delay before a failed daemon pod on a node is deleted again
/// (upstream `flowcontrol.NewBackOff(1*time.Second, 15*time.Minute)`).
const FAILED_POD_BACKOFF: Duration = Duration::from_secs(1);
const MAX_FAILED_POD_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// Upstream runs two DaemonSet workers by default (`ConcurrentDaemonSetSyncs`).
const WORKERS: usize = 2;

fn pods_info() -> &'static ResourceInfo {
    crate::registry::find("", "v1", "pods").expect("served")
}

fn daemon_sets_info() -> &'static ResourceInfo {
    crate::registry::find("apps", "v1", "daemonsets").expect("served")
}

/// What the controller remembers of each DaemonSet, to route pod and revision events.
#[derive(Debug)]
struct Known {
    uid: String,
    selector: LabelSelector,
}

/// Upstream `flowcontrol.Backoff` for failed pods, per DaemonSet and node.
#[derive(Debug, Default)]
struct FailedPodBackoff {
    entries: HashMap<String, (Duration, Instant)>,
}

impl FailedPodBackoff {
    /// Whether `id` is still backing off at `now`; if so, for how long in all.
    fn in_backoff(&self, id: &str, now: Instant) -> Option<Duration> {
        let (backoff, at) = self.entries.get(id)?;
        (now.saturating_duration_since(*at) < *backoff).then_some(*backoff)
    }

    /// Start the next step: the first, or double the last (reset after twice the longest).
    fn next(&mut self, id: &str, now: Instant) {
        let entry = self
            .entries
            .entry(id.to_string())
            .or_insert((Duration::ZERO, now));
        let expired = now.saturating_duration_since(entry.1) > 2 * MAX_FAILED_POD_BACKOFF;
        entry.0 = if entry.0.is_zero() || expired {
            FAILED_POD_BACKOFF
        } else {
            (entry.0 * 2).min(MAX_FAILED_POD_BACKOFF)
        };
        entry.1 = now;
    }

    fn forget_prefix(&mut self, prefix: &str) {
        self.entries.retain(|k, _| !k.starts_with(prefix));
    }
}

/// The DaemonSet controller.
pub(crate) struct DaemonSetController {
    objects: Arc<Objects>,
    pods: Arc<PodCache>,
    queue: Arc<KeyQueue>,
    /// Upstream keeps one record of adds and deletes per DaemonSet; the runtime's records hold
    /// one kind at a time, so creations and deletions are tracked side by side.
    creations: Expectations,
    deletions: Expectations,
    events: EventRecorder,
    known: parking_lot::RwLock<HashMap<String, Known>>,
    /// Parsed nodes by name, with the revision they were parsed at.
    nodes: parking_lot::Mutex<HashMap<String, (u64, Arc<NodeView>)>>,
    failed_backoff: parking_lot::Mutex<FailedPodBackoff>,
}

impl std::fmt::Debug for DaemonSetController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonSetController")
            .field("daemon_sets", &self.known.read().len())
            .finish()
    }
}

impl DaemonSetController {
    /// A controller over `objects`, reading pods from the shared cache.
    pub(crate) fn new(objects: Arc<Objects>, pods: Arc<PodCache>) -> Self {
        Self {
            events: EventRecorder::new(objects.clone(), "daemonset-controller"),
            objects,
            pods,
            queue: Arc::default(),
            creations: Expectations::default(),
            deletions: Expectations::default(),
            known: Default::default(),
            nodes: Default::default(),
            failed_backoff: Default::default(),
        }
    }

    /// Sync DaemonSets until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let queue = self.queue.clone();
        run_workers(
            "daemonset",
            queue,
            WORKERS,
            shutdown,
            move |key, _waited| {
                let this = self.clone();
                async move { this.sync(&key) }
            },
        )
        .await;
    }

    fn satisfied(&self, key: &str) -> bool {
        self.creations.satisfied(key) && self.deletions.satisfied(key)
    }

    /// The DaemonSet controlling a pod, if it is one the controller knows.
    fn owner_key(&self, pod: &PodFacts) -> Option<String> {
        let c = pod.controller.as_ref()?;
        if c.kind != "DaemonSet" || !c.api_version.starts_with("apps/") {
            return None;
        }
        let key = format!("{}/{}", pod.namespace(), c.name);
        let known = self.known.read();
        known.get(&key).filter(|k| k.uid == c.uid).map(|_| key)
    }

    /// The DaemonSets of `namespace` whose selector matches these labels.
    fn selecting<'a>(
        &self,
        namespace: &str,
        label: impl Fn(&str) -> Option<&'a str>,
    ) -> Vec<String> {
        let prefix = format!("{namespace}/");
        self.known
            .read()
            .iter()
            .filter(|(k, d)| k.starts_with(&prefix) && d.selector.matches(&label))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn remember(&self, stored: &Stored) {
        let v = stored.value();
        let selector = serde_json::from_value(v["spec"]["selector"].clone())
            .ok()
            .and_then(|s| LabelSelector::from_label_selector(&s).ok());
        let key = format!("{}/{}", stored.namespace, stored.name);
        match selector {
            Some(selector) => {
                let uid = v["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                self.known.write().insert(key, Known { uid, selector });
            }
            None => {
                self.known.write().remove(&key);
            }
        }
    }

    fn enqueue_all(&self) {
        for key in self.known.read().keys() {
            self.queue.add(key);
        }
    }

    /// Every node, parsed once per revision.
    fn node_views(&self) -> Result<Vec<Arc<NodeView>>, ApiError> {
        let listed = self
            .objects
            .store()
            .list("nodes", &ListOptions::default())?;
        let mut cache = self.nodes.lock();
        let mut seen = HashSet::with_capacity(listed.items.len());
        let mut out = Vec::with_capacity(listed.items.len());
        for stored in &listed.items {
            seen.insert(stored.name.to_string());
            let entry = cache
                .get(&*stored.name)
                .filter(|(rev, _)| *rev == stored.revision);
            let view = match entry {
                Some((_, v)) => v.clone(),
                None => {
                    let v = Arc::new(NodeView::parse(&stored.bytes));
                    cache.insert(stored.name.to_string(), (stored.revision, v.clone()));
                    v
                }
            };
            out.push(view);
        }
        cache.retain(|name, _| seen.contains(name));
        Ok(out)
    }

    fn sync(&self, key: &str) -> Result<(), ApiError> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let stored = match self.objects.store().get(DAEMONSETS, ns, name) {
            Ok(s) => s,
            Err(e) if e.reason == Reason::NotFound => {
                self.creations.forget(key);
                self.deletions.forget(key);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let value = stored.value();
        let ds: DaemonSet = serde_json::from_value(value.clone())
            .map_err(|e| ApiError::internal(format!("stored daemon set: {e}")))?;
        // Its history may already be going (upstream): no status for a DaemonSet being deleted.
        if ds.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let Ok(selector) = LabelSelector::from_label_selector(&ds.spec.selector) else {
            return Ok(());
        };
        let ctx = Ctx::new(self, &ds, &value, selector)?;
        let subject = history::HistorySubject {
            owner: &ctx.owner,
            selector: &ctx.selector,
            template: &ctx.template,
            template_labels: ctx.template["metadata"]["labels"].clone(),
            annotations: value["metadata"]["annotations"].clone(),
            collision_count: ds.status.as_ref().and_then(|s| s.collision_count),
            revision_history_limit: ds.spec.revision_history_limit.unwrap_or(10).into(),
        };
        let (current, old) = history::construct(&self.objects, &subject, |from, to| {
            self.relabel_pods(&ctx, from, to)
        })?;
        let hash = current.hash.clone().unwrap_or_default();
        if !self.satisfied(key) {
            // Not raising observedGeneration: this generation was not acted on.
            return self.update_status(&ctx, &ds, &hash, false);
        }
        let result = self.update(&ctx, &ds, &hash, old, subject.revision_history_limit);
        let status = self.update_status(&ctx, &ds, &hash, true);
        result.and(status)
    }

    /// Manage, roll out, clean history (upstream `updateDaemonSet`).
    fn update(
        &self,
        ctx: &Ctx,
        ds: &DaemonSet,
        hash: &str,
        old: Vec<history::Revision>,
        limit: i64,
    ) -> Result<(), ApiError> {
        self.manage(ctx, ds, hash)?;
        if self.satisfied(&ctx.key) {
            let strategy = ds.spec.update_strategy.as_ref();
            if strategy.and_then(|s| s.type_.as_deref()) == Some("RollingUpdate") {
                self.rolling_update(ctx, ds, hash)?;
            }
        }
        let live: HashSet<String> = self
            .daemon_pods(ctx, hash, false)
            .values()
            .flatten()
            .filter_map(|(p, _)| p.label(HASH_LABEL).map(str::to_string))
            .collect();
        history::cleanup(&self.objects, limit, old, &live)
    }

    /// The DaemonSet's pods by target node (upstream `getNodesToDaemonPods`), claimed; terminal
    /// pods being deleted only when `include_deleted_terminal`.
    fn daemon_pods(
        &self,
        ctx: &Ctx,
        hash: &str,
        include_deleted_terminal: bool,
    ) -> BTreeMap<String, Vec<(Arc<PodFacts>, DaemonPod)>> {
        let claimed = owner::claim_pods(&self.objects, &self.pods, &ctx.owner, &ctx.selector);
        let now = jiff::Timestamp::now();
        let mut by_node: BTreeMap<String, Vec<(Arc<PodFacts>, DaemonPod)>> = BTreeMap::new();
        for facts in claimed {
            let pod = DaemonPod {
                name: facts.name().to_string(),
                scheduled: facts.node_name().is_some(),
                created: facts.created,
                deleting: facts.deleting,
                phase: facts.phase.clone(),
                ready: facts.ready,
                available: facts.is_available(ctx.min_ready_seconds, now),
                updated: plan::is_updated(
                    facts.label(HASH_LABEL),
                    facts.label(TEMPLATE_GENERATION_LABEL),
                    hash,
                    ctx.template_generation,
                ),
            };
            if !include_deleted_terminal && !plan::counts_for_status(&pod) {
                continue;
            }
            let node = match facts.node_name() {
                Some(n) => n.to_string(),
                None => match eligibility::target_node(&facts.stored.value()) {
                    Some(n) => n,
                    None => continue,
                },
            };
            by_node.entry(node).or_default().push((facts, pod));
        }
        by_node
    }

    /// Create and delete so each node has what it should (upstream `manage`).
    fn manage(&self, ctx: &Ctx, ds: &DaemonSet, hash: &str) -> Result<(), ApiError> {
        let by_node = self.daemon_pods(ctx, hash, true);
        let surge = ctx.allows_surge;
        let mut create = Vec::new();
        let mut delete = Vec::new();
        let generation = ds
            .status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or(0);
        let mut requeue_after: Option<Duration> = None;
        for node in &ctx.nodes {
            let pods: Vec<DaemonPod> = by_node
                .get(&node.name)
                .map(|v| v.iter().map(|(_, p)| p.clone()).collect())
                .unwrap_or_default();
            let verdict = ctx.placement.verdict(node);
            let backoff_id = format!("{}/{generation}/{}", ctx.owner.uid, node.name);
            let backoff_allows = || {
                let now = Instant::now();
                let mut backoff = self.failed_backoff.lock();
                if let Some(delay) = backoff.in_backoff(&backoff_id, now) {
                    requeue_after = Some(requeue_after.map_or(delay, |d| d.min(delay)));
                    return false;
                }
                backoff.next(&backoff_id, now);
                true
            };
            let node_plan = plan::pods_should_be_on_node(
                verdict,
                &pods,
                surge,
                |p| p.available,
                backoff_allows,
            );
            if node_plan.create {
                create.push(node.name.clone());
            }
            for failed in &node_plan.delete_failed {
                let message = format!(
                    "Found failed daemon pod {}/{failed} on node {}, will try to kill it",
                    ctx.owner.namespace, node.name
                );
                self.events
                    .record(&ctx.owner.event_ref(), WARNING, "FailedDaemonPod", &message);
            }
            delete.extend(node_plan.delete);
            delete.extend(node_plan.delete_failed);
        }
        if let Some(delay) = requeue_after {
            self.queue.add_after(&ctx.key, delay);
        }
        // Unbound pods aimed at nodes that no longer exist.
        let existing: HashSet<&str> = ctx.nodes.iter().map(|n| n.name.as_str()).collect();
        for (node, pods) in &by_node {
            if !existing.contains(node.as_str()) {
                delete.extend(
                    pods.iter()
                        .filter(|(_, p)| !p.scheduled)
                        .map(|(_, p)| p.name.clone()),
                );
            }
        }
        self.sync_nodes(ctx, hash, delete, create)
    }

    /// One rolling update step (upstream `rollingUpdate`).
    fn rolling_update(&self, ctx: &Ctx, ds: &DaemonSet, hash: &str) -> Result<(), ApiError> {
        let by_node = self.daemon_pods(ctx, hash, false);
        let pods: BTreeMap<&str, Vec<DaemonPod>> = by_node
            .iter()
            .map(|(n, v)| (n.as_str(), v.iter().map(|(_, p)| p.clone()).collect()))
            .collect();
        let verdicts: HashMap<&str, Verdict> = ctx
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), ctx.placement.verdict(n)))
            .collect();
        const EMPTY: &[DaemonPod] = &[];
        let mut states: BTreeMap<String, NodeState<'_>> = BTreeMap::new();
        let mut desired = 0;
        for (name, verdict) in &verdicts {
            if verdict.should_run {
                desired += 1;
                states.insert(
                    name.to_string(),
                    NodeState {
                        verdict: *verdict,
                        pods: pods.get(name).map_or(EMPTY, Vec::as_slice),
                    },
                );
            }
        }
        for (name, node_pods) in &pods {
            states.entry(name.to_string()).or_insert(NodeState {
                verdict: verdicts.get(name).copied().unwrap_or(Verdict {
                    should_run: false,
                    should_continue_running: false,
                }),
                pods: node_pods.as_slice(),
            });
        }
        let ru = ds
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref());
        let (surge, unavailable) = plan::surge_and_unavailable(
            ru.and_then(|r| r.max_surge.as_ref()),
            ru.and_then(|r| r.max_unavailable.as_ref()),
            desired,
        )
        .map_err(ApiError::bad_request)?;
        let step = plan::rolling_update(&states, desired, surge, unavailable);
        self.sync_nodes(ctx, hash, step.delete, step.create)
    }

    /// Create pods on `create` nodes and delete `delete` pods (upstream `syncNodes`).
    fn sync_nodes(
        &self,
        ctx: &Ctx,
        hash: &str,
        mut delete: Vec<String>,
        mut create: Vec<String>,
    ) -> Result<(), ApiError> {
        create.truncate(BURST_REPLICAS);
        delete.truncate(BURST_REPLICAS);
        let ns = &ctx.owner.namespace;
        if !create.is_empty() {
            self.creations.expect_creations(&ctx.key, create.len());
        }
        if !delete.is_empty() {
            self.deletions
                .expect_deletions(&ctx.key, delete.iter().map(|p| format!("{ns}/{p}")));
        }
        let template = ctx.pod_template(hash);
        let prefix = owner::pod_name_prefix(&ctx.owner.name);
        let mut terminating = false;
        let mut attempted = 0;
        let (_, create_err) = slow_start_batch(create.len(), |i| {
            attempted += 1;
            let mut t = template.clone();
            eligibility::pin_to_node(&mut t, &create[i]);
            let pod = owner::pod_from_template(&t, &ctx.owner, &prefix);
            match self
                .objects
                .create(pods_info(), ns, pod, &WriteParams::default())
            {
                Ok(stored) => {
                    let msg = format!("Created pod: {}", stored.name);
                    self.events
                        .record(&ctx.owner.event_ref(), NORMAL, "SuccessfulCreate", &msg);
                    Ok(())
                }
                Err(e) => {
                    self.creations.creation_observed(&ctx.key);
                    if e.causes
                        .iter()
                        .any(|c| c.kind == CauseKind::NamespaceTerminating)
                    {
                        terminating = true;
                    } else {
                        let msg = format!("Error creating: {}", e.message);
                        self.events
                            .record(&ctx.owner.event_ref(), WARNING, "FailedCreate", &msg);
                    }
                    Err(e)
                }
            }
        });
        // Creations never attempted will never be seen.
        for _ in attempted..create.len() {
            self.creations.creation_observed(&ctx.key);
        }
        let mut first_err = create_err.filter(|_| !terminating);
        for name in &delete {
            let pod_key = format!("{ns}/{name}");
            match self
                .objects
                .delete(pods_info(), ns, name, &DeleteParams::default())
            {
                Ok(_) => {
                    let msg = format!("Deleted pod: {name}");
                    self.events
                        .record(&ctx.owner.event_ref(), NORMAL, "SuccessfulDelete", &msg);
                }
                Err(e) => {
                    self.deletions.deletion_observed(&ctx.key, &pod_key);
                    if e.reason != Reason::NotFound {
                        let msg = format!("Error deleting: {}", e.message);
                        self.events
                            .record(&ctx.owner.event_ref(), WARNING, "FailedDelete", &msg);
                        first_err.get_or_insert(e);
                    }
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Move pods labelled with a duplicate revision's hash to the kept one's.
    fn relabel_pods(&self, ctx: &Ctx, from: &str, to: &str) -> Result<(), ApiError> {
        for pod in self.pods.controlled_by(&ctx.owner.uid) {
            if pod.label(HASH_LABEL) != Some(from) {
                continue;
            }
            let patch = json!({"metadata": {"labels": {HASH_LABEL: to}}});
            match self.objects.patch(
                pods_info(),
                pod.namespace(),
                pod.name(),
                PatchType::StrategicMerge,
                patch.to_string().as_bytes(),
                UpdateTarget::Main,
                &WriteParams::default(),
            ) {
                Err(e) if e.reason != Reason::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Publish the counts (upstream `updateDaemonSetStatus` and `storeDaemonSetStatus`).
    fn update_status(
        &self,
        ctx: &Ctx,
        ds: &DaemonSet,
        hash: &str,
        observe_generation: bool,
    ) -> Result<(), ApiError> {
        let by_node = self.daemon_pods(ctx, hash, false);
        let per_node: Vec<(Verdict, Vec<DaemonPod>)> = ctx
            .nodes
            .iter()
            .map(|n| {
                let pods = by_node
                    .get(&n.name)
                    .map(|v| v.iter().map(|(_, p)| p.clone()).collect())
                    .unwrap_or_default();
                (ctx.placement.verdict(n), pods)
            })
            .collect();
        let c = plan::counts(per_node.iter().map(|(v, p)| (*v, p.as_slice())));
        let status = ds.status.clone().unwrap_or_default();
        let generation = ds.metadata.generation.unwrap_or(0);
        let observed = status.observed_generation.unwrap_or(0);
        let unchanged = status.desired_number_scheduled == c.desired
            && status.current_number_scheduled == c.current
            && status.number_misscheduled == c.misscheduled
            && status.number_ready == c.ready
            && status.updated_number_scheduled.unwrap_or(0) == c.updated
            && status.number_available.unwrap_or(0) == c.available
            && status.number_unavailable.unwrap_or(0) == c.unavailable;
        if !(unchanged && observed >= generation) {
            let mut patch = json!({"status": {
                "desiredNumberScheduled": c.desired,
                "currentNumberScheduled": c.current,
                "numberMisscheduled": c.misscheduled,
                "numberReady": c.ready,
                "updatedNumberScheduled": c.updated,
                "numberAvailable": c.available,
                "numberUnavailable": c.unavailable,
            }});
            if observe_generation {
                patch["status"]["observedGeneration"] = json!(generation);
            }
            self.objects.patch(
                daemon_sets_info(),
                &ctx.owner.namespace,
                &ctx.owner.name,
                PatchType::Merge,
                patch.to_string().as_bytes(),
                UpdateTarget::Status,
                &WriteParams::default(),
            )?;
        }
        // Availability comes with time, not with an event.
        if ctx.min_ready_seconds > 0 && c.ready != c.available {
            self.queue
                .add_after(&ctx.key, Duration::from_secs(ctx.min_ready_seconds as u64));
        }
        Ok(())
    }
}

/// One sync's view of a DaemonSet.
struct Ctx {
    key: String,
    owner: Owner,
    selector: LabelSelector,
    /// `spec.template` as stored.
    template: Value,
    template_generation: Option<i64>,
    placement: Placement,
    nodes: Vec<Arc<NodeView>>,
    min_ready_seconds: i64,
    allows_surge: bool,
}

impl Ctx {
    fn new(
        c: &DaemonSetController,
        ds: &DaemonSet,
        value: &Value,
        selector: LabelSelector,
    ) -> Result<Self, ApiError> {
        let meta = &ds.metadata;
        let owner = Owner {
            api_version: "apps/v1",
            kind: "DaemonSet",
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            adoption_finalizers: &[],
        };
        let spec = ds.spec.template.spec.clone().unwrap_or_default();
        let ru = ds
            .spec
            .update_strategy
            .as_ref()
            .filter(|s| s.type_.as_deref() == Some("RollingUpdate"))
            .and_then(|s| s.rolling_update.as_ref());
        let allows_surge = ru
            .and_then(|r| r.max_surge.as_ref())
            .and_then(|s| plan::scaled_up(s, 1).ok())
            .is_some_and(|s| s != 0);
        Ok(Self {
            key: format!("{}/{}", owner.namespace, owner.name),
            template: value["spec"]["template"].clone(),
            template_generation: meta
                .annotations
                .as_ref()
                .and_then(|a| a.get("deprecated.daemonset.template.generation"))
                .and_then(|g| g.parse().ok()),
            placement: Placement::new(&spec),
            nodes: c.node_views()?,
            min_ready_seconds: ds.spec.min_ready_seconds.unwrap_or(0).into(),
            allows_surge,
            owner,
            selector,
        })
    }

    /// The template new pods are made from (upstream `CreatePodTemplate`): the daemon
    /// tolerations, the template generation and the revision hash.
    fn pod_template(&self, hash: &str) -> Value {
        let mut t = self.template.clone();
        let spec: k8s_openapi::api::core::v1::PodSpec =
            serde_json::from_value(t["spec"].clone()).unwrap_or_default();
        t["spec"]["tolerations"] =
            serde_json::to_value(eligibility::with_daemon_tolerations(&spec)).unwrap_or_default();
        if !t["metadata"].is_object() {
            t["metadata"] = json!({});
        }
        if !t["metadata"]["labels"].is_object() {
            t["metadata"]["labels"] = json!({});
        }
        let labels = &mut t["metadata"]["labels"];
        if let Some(g) = self.template_generation {
            labels[TEMPLATE_GENERATION_LABEL] = json!(g.to_string());
        }
        if !hash.is_empty() {
            labels[HASH_LABEL] = json!(hash);
        }
        t
    }
}

impl Sink for DaemonSetController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        match info.store_key {
            DAEMONSETS => {
                let key = format!("{}/{}", event.object.namespace, event.object.name);
                if event.kind == EventType::Deleted {
                    if let Some(k) = self.known.write().remove(&key) {
                        self.failed_backoff.lock().forget_prefix(&k.uid);
                    }
                    self.creations.forget(&key);
                    self.deletions.forget(&key);
                } else {
                    self.remember(&event.object);
                }
                self.queue.add(&key);
            }
            "nodes" => {
                let relevant = match (&event.kind, &event.prev) {
                    (EventType::Modified, Some(prev)) => {
                        NodeView::parse(&prev.bytes) != NodeView::parse(&event.object.bytes)
                    }
                    (EventType::Bookmark, _) => false,
                    _ => true,
                };
                if relevant {
                    self.enqueue_all();
                }
            }
            history::REVISIONS => {
                let prev = event.prev.as_ref().map(|p| p.value());
                let wake = history::wakes(&event.kind, &event.object.value(), prev.as_ref());
                let stored = &event.object;
                for (name, uid) in wake.owners {
                    let key = format!("{}/{name}", stored.namespace);
                    let known = self.known.read().get(&key).is_some_and(|k| k.uid == uid);
                    if known {
                        self.queue.add(&key);
                    }
                }
                if wake.selecting {
                    for key in self.selecting(&stored.namespace, |k| stored.label(k)) {
                        self.queue.add(&key);
                    }
                }
            }
            _ => {}
        }
    }

    fn resync(&self) {
        match self
            .objects
            .store()
            .list(DAEMONSETS, &ListOptions::default())
        {
            Ok(listed) => {
                self.known.write().clear();
                for stored in &listed.items {
                    self.remember(stored);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list daemon sets"),
        }
        self.enqueue_all();
    }
}

impl PodListener for DaemonSetController {
    fn on_pod(&self, old: Option<&PodFacts>, new: Option<&PodFacts>) {
        let deleted = match (old, new) {
            (_, None) => old,
            (_, Some(n)) if n.deleting => Some(n),
            _ => None,
        };
        if let Some(pod) = deleted {
            if let Some(key) = self.owner_key(pod) {
                self.deletions.deletion_observed(&key, &pod.key());
                self.queue.add(&key);
            }
            return;
        }
        let Some(new) = new else { return };
        if old.is_some_and(|o| o.stored.revision == new.stored.revision) {
            return;
        }
        let old_key = old.and_then(|o| self.owner_key(o));
        let new_key = self.owner_key(new);
        if old.is_none()
            && let Some(key) = &new_key
        {
            self.creations.creation_observed(key);
        }
        if old.and_then(|o| o.controller.as_ref()) != new.controller.as_ref()
            && let Some(key) = &old_key
        {
            self.queue.add(key);
        }
        if let Some(key) = new_key {
            self.queue.add(&key);
            return;
        }
        if new.controller.is_some() {
            return;
        }
        // An orphan: the DaemonSets that may adopt it, when it is new or its labels changed.
        let labels_changed = old.is_none_or(|o| o.stored.labels != new.stored.labels);
        if labels_changed || old.is_some_and(|o| o.controller.is_some()) {
            for key in self.selecting(new.namespace(), |k| new.label(k)) {
                self.queue.add(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests;
