//! The node lifecycle controller (upstream `pkg/controller/nodelifecycle`).
//!
//! Every monitor period it looks at each node's heartbeats — the Lease
//! `kube-node-lease/<node>` and the Ready condition's `lastHeartbeatTime` — and, like upstream,
//! judges them by when *it* saw them change (its "probe timestamp"), so clock skew between a
//! node and the control plane cannot make a node look dead. A node silent for the grace period
//! (the startup grace, counted from creation, for a node that never posted Ready) gets its
//! Ready, MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown, its pods'
//! Ready condition set to False, a `NodeNotReady` event, and then — through a per-zone
//! rate-limited queue — the NoExecute taint `unreachable` (`not-ready` when the node itself says
//! Ready=False). A node Ready again loses both.
//!
//! Independently, on every node change it keeps the NoSchedule taints of TaintNodesByCondition
//! and the cordon taint in line with the node's conditions and `spec.unschedulable`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::events::{EventRecorder, NORMAL, ObjectRef, WARNING, rfc3339};
use super::pod_index::PodIndex;
use super::taints::{
    self, NO_EXECUTE, TAINT_NOT_READY, TAINT_UNREACHABLE, desired_no_schedule, no_schedule_diff,
    same_taint, taint,
};
use super::zones::{Attempt, Tainter, ZoneState, zone_key, zone_state};
use super::{NodeLifecycleConfig, Sink, WorkQueue};
use crate::api::{Objects, WriteParams};
use crate::error::{ApiError, Reason};
use crate::registry::{ResourceInfo, UpdateTarget, find};
use crate::store::{Event, EventType, Filter, ListOptions, Stored};

/// Upstream's `NodeEvictionPeriod`: how often queued nodes are tainted.
const TAINTING_PERIOD: Duration = Duration::from_millis(100);
/// Writes retried after losing a race (upstream `NodeHealthUpdateRetry`).
const WRITE_ATTEMPTS: usize = 5;
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);
/// Nodes with this label are left out of zone health (upstream `labelNodeDisruptionExclusion`).
const EXCLUDE_DISRUPTION: &str = "node.kubernetes.io/exclude-disruption";
/// The heartbeat-driven conditions set to Unknown; NetworkUnavailable belongs to the network
/// plugin and is left alone, as upstream.
const HEARTBEAT_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// Watches node heartbeats and keeps node conditions, pod readiness and node taints true to them.
pub struct NodeLifecycleController {
    objects: Arc<Objects>,
    config: NodeLifecycleConfig,
    pods: Arc<PodIndex>,
    recorder: EventRecorder,
    /// Nodes whose NoSchedule taints need a look.
    no_schedule: WorkQueue,
    /// Pods (`ns/name`) newly bound, which must turn not ready on a node that is not ready.
    bound_pods: WorkQueue,
    state: parking_lot::Mutex<MonitorState>,
}

impl std::fmt::Debug for NodeLifecycleController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLifecycleController")
            .finish_non_exhaustive()
    }
}

/// The Ready condition as the monitor compares it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadyCondition {
    pub status: String,
    pub heartbeat: Option<String>,
    pub transition: Option<String>,
}

/// What the monitor needs of a node, parsed once per revision.
#[derive(Debug)]
struct NodeView {
    name: String,
    uid: Option<String>,
    creation: Option<jiff::Timestamp>,
    zone: String,
    excluded: bool,
    ready: Option<ReadyCondition>,
    taints: Vec<Taint>,
}

impl NodeView {
    fn parse(stored: &Stored) -> Self {
        let node = stored.value();
        let label = |k: &str| stored.label(k).map(String::from);
        Self {
            name: stored.name.to_string(),
            uid: node
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .map(String::from),
            creation: node
                .pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            zone: zone_key(label),
            excluded: stored.label(EXCLUDE_DISRUPTION).is_some(),
            ready: ready_condition(&node),
            taints: taints::node_taints(&node),
        }
    }

    fn reference(&self) -> ObjectRef {
        ObjectRef {
            kind: "Node",
            name: self.name.clone(),
            uid: self.uid.clone(),
            ..Default::default()
        }
    }

    fn has_taint(&self, key: &str) -> bool {
        self.taints
            .iter()
            .any(|t| same_taint(t, &taint(key, NO_EXECUTE)))
    }
}

/// A node's health as last observed (upstream `nodeHealthData`).
#[derive(Clone, Debug)]
struct NodeHealth {
    /// When a heartbeat was last seen to change.
    probe: Instant,
    /// When the Ready condition was last seen to transition.
    ready_transition: Instant,
    saved_ready: Option<ReadyCondition>,
    lease_renewed: Option<jiff::Timestamp>,
}

#[derive(Debug, Default)]
struct MonitorState {
    views: HashMap<String, (u64, Arc<NodeView>)>,
    leases: HashMap<String, (u64, Option<jiff::Timestamp>)>,
    health: HashMap<String, NodeHealth>,
    /// Nodes seen by the last pass, with their identity for `RemovingNode`.
    known: BTreeMap<String, Arc<NodeView>>,
    zone_states: BTreeMap<String, ZoneState>,
    tainters: BTreeMap<String, Tainter>,
    /// Nodes whose pods could not all be marked not ready.
    retry: HashSet<String>,
}

impl NodeLifecycleController {
    /// A controller acting through `objects`; it does nothing until run.
    pub(crate) fn new(
        objects: Arc<Objects>,
        config: NodeLifecycleConfig,
        pods: Arc<PodIndex>,
    ) -> Self {
        Self {
            recorder: EventRecorder::new(objects.clone(), "node-controller"),
            objects,
            config,
            pods,
            no_schedule: WorkQueue::default(),
            bound_pods: WorkQueue::default(),
            state: Default::default(),
        }
    }

    /// Monitor, taint and react to bindings until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut monitor = tokio::time::interval(self.config.monitor_period);
        monitor.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tainting = tokio::time::interval(TAINTING_PERIOD);
        tainting.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = monitor.tick() => {
                    self.pods.refresh(&**self.objects.store());
                    if let Err(e) = self.monitor_pass() {
                        tracing::warn!(error = %e, "node health monitoring failed");
                    }
                }
                _ = tainting.tick() => self.no_execute_pass(),
                batch = self.no_schedule.next_batch(&shutdown) => {
                    let Some(batch) = batch else { return };
                    for node in batch {
                        if let Err(e) = self.no_schedule_pass(&node) {
                            tracing::warn!(node, error = %e, "could not update NoSchedule taints; retrying");
                            self.no_schedule.add_after(&node, RETRY_AFTER_ERROR);
                        }
                    }
                }
                batch = self.bound_pods.next_batch(&shutdown) => {
                    let Some(batch) = batch else { return };
                    for key in batch {
                        if let Err(e) = self.process_bound_pod(&key) {
                            tracing::debug!(pod = key, error = %e, "could not mark a pod not ready; retrying");
                            self.bound_pods.add_after(&key, RETRY_AFTER_ERROR);
                        }
                    }
                }
            }
        }
    }

    /// One pass over every node (upstream `monitorNodeHealth`).
    pub(crate) fn monitor_pass(&self) -> Result<(), ApiError> {
        let store = self.objects.store();
        let nodes = store.list("nodes", &ListOptions::default())?.items;
        let leases = store
            .list(
                "leases.coordination.k8s.io",
                &ListOptions {
                    filter: Filter {
                        namespace: Some("kube-node-lease".into()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )?
            .items;
        let now = Instant::now();
        let mut st = self.state.lock();
        let st = &mut *st;

        let mut views = Vec::with_capacity(nodes.len());
        let mut fresh_views = HashMap::with_capacity(nodes.len());
        for stored in &nodes {
            let view = match st.views.get(&*stored.name) {
                Some((rev, v)) if *rev == stored.revision => v.clone(),
                _ => Arc::new(NodeView::parse(stored)),
            };
            fresh_views.insert(view.name.clone(), (stored.revision, view.clone()));
            views.push(view);
        }
        st.views = fresh_views;
        let mut fresh_leases = HashMap::with_capacity(leases.len());
        for stored in &leases {
            let renew = match st.leases.get(&*stored.name) {
                Some((rev, r)) if *rev == stored.revision => *r,
                _ => stored
                    .value()
                    .pointer("/spec/renewTime")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok()),
            };
            fresh_leases.insert(stored.name.to_string(), (stored.revision, renew));
        }
        st.leases = fresh_leases;

        self.classify(st, &views, now);

        let mut zone_conditions: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        for view in &views {
            let renewed = st.leases.get(&view.name).and_then(|(_, r)| *r);
            let (observed, current) = match self.update_health(st, view, renewed, now) {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(node = view.name, error = %e, "could not update node health; no pods will be evicted");
                    continue;
                }
            };
            if !view.excluded {
                zone_conditions
                    .entry(view.zone.clone())
                    .or_default()
                    .push(current.as_ref().map(|c| c.status.clone()));
            }
            let Some(current) = current else { continue };
            self.taint_by_readiness(st, view, &observed.status, now);
            let needs_retry = st.retry.contains(&view.name);
            let went_down = current.status != "True" && observed.status == "True";
            if went_down {
                self.recorder.record(
                    &view.reference(),
                    NORMAL,
                    "NodeNotReady",
                    &format!("Node {} status is now: NodeNotReady", view.name),
                );
            }
            if (went_down || needs_retry && observed.status != "True")
                && let Err(e) = self.mark_pods_not_ready(&view.name, None)
            {
                tracing::warn!(node = view.name, error = %e, "could not mark all pods not ready; retrying");
                st.retry.insert(view.name.clone());
                continue;
            }
            st.retry.remove(&view.name);
        }
        self.handle_disruption(st, &zone_conditions, &views, now);
        Ok(())
    }

    /// Nodes appearing and disappearing (upstream `classifyNodes` and what follows it).
    fn classify(&self, st: &mut MonitorState, views: &[Arc<NodeView>], now: Instant) {
        let listed: HashSet<&str> = views.iter().map(|v| v.name.as_str()).collect();
        let deleted: Vec<String> = st
            .known
            .keys()
            .filter(|k| !listed.contains(k.as_str()))
            .cloned()
            .collect();
        for view in views {
            if st.known.contains_key(&view.name) {
                self.add_zone(st, &view.zone, now);
                continue;
            }
            self.recorder.record(
                &view.reference(),
                NORMAL,
                "RegisteredNode",
                &format!(
                    "Node {0} event: Registered Node {0} in Controller",
                    view.name
                ),
            );
            st.known.insert(view.name.clone(), view.clone());
            self.add_zone(st, &view.zone, now);
            if let Err(e) = self.mark_reachable(st, view) {
                tracing::warn!(node = view.name, error = %e, "could not remove NoExecute taints");
            }
        }
        for name in deleted {
            if let Some(view) = st.known.remove(&name) {
                self.recorder.record(
                    &view.reference(),
                    NORMAL,
                    "RemovingNode",
                    &format!("Node {0} event: Removing Node {0} from Controller", name),
                );
            }
            st.health.remove(&name);
            st.retry.remove(&name);
        }
    }

    fn add_zone(&self, st: &mut MonitorState, zone: &str, now: Instant) {
        if !st.zone_states.contains_key(zone) {
            st.zone_states.insert(zone.to_string(), ZoneState::Initial);
            st.tainters
                .entry(zone.to_string())
                .or_insert_with(|| Tainter::new(self.config.eviction_rate, now));
        }
    }

    /// Track heartbeats and set the conditions Unknown once they stop (upstream
    /// `tryUpdateNodeHealth`). Returns the Ready condition as listed (a fake Unknown one
    /// dated at creation when the node never posted one) and as it is now.
    fn update_health(
        &self,
        st: &mut MonitorState,
        view: &NodeView,
        lease_renewed: Option<jiff::Timestamp>,
        now: Instant,
    ) -> Result<(ReadyCondition, Option<ReadyCondition>), ApiError> {
        let created_at = view.creation.map(|c| instant_of(c, now)).unwrap_or(now);
        let mut health = st.health.get(&view.name).cloned();
        let (observed, grace) = match &view.ready {
            None => {
                let created = view.creation.map(|c| rfc3339(c));
                let fake = ReadyCondition {
                    status: "Unknown".into(),
                    heartbeat: created.clone(),
                    transition: created,
                };
                match health.as_mut() {
                    Some(h) => h.saved_ready = None,
                    None => {
                        health = Some(NodeHealth {
                            probe: created_at,
                            ready_transition: created_at,
                            saved_ready: None,
                            lease_renewed: None,
                        })
                    }
                }
                (fake, self.config.startup_grace_period)
            }
            Some(r) => (r.clone(), self.config.grace_period),
        };
        let fresh = |ready: &Option<ReadyCondition>| NodeHealth {
            probe: now,
            ready_transition: now,
            saved_ready: ready.clone(),
            lease_renewed: None,
        };
        let mut health = match health {
            None => fresh(&view.ready),
            Some(h) => match (&h.saved_ready, &view.ready) {
                (None, Some(_)) | (Some(_), None) => fresh(&view.ready),
                (Some(saved), Some(current)) if saved.heartbeat != current.heartbeat => {
                    let transition = if saved.transition != current.transition {
                        now
                    } else {
                        h.ready_transition
                    };
                    NodeHealth {
                        ready_transition: transition,
                        ..fresh(&view.ready)
                    }
                }
                _ => h,
            },
        };
        if let Some(renewed) = lease_renewed
            && health.lease_renewed.is_none_or(|saved| saved < renewed)
        {
            health.lease_renewed = Some(renewed);
            health.probe = now;
        }
        let mut current = view.ready.clone();
        if now > health.probe + grace {
            match self.mark_unknown(view)? {
                Unknowned::Written(ready) => {
                    health.saved_ready = Some(ready.clone());
                    health.ready_transition = now;
                    current = Some(ready);
                }
                Unknowned::Unchanged => {}
                Unknowned::Raced => {
                    // A heartbeat arrived meanwhile; judge it on the next pass.
                }
            }
        }
        st.health.insert(view.name.clone(), health);
        Ok((observed, current))
    }

    /// Write the Unknown conditions, unless Ready is Unknown already or a heartbeat raced in.
    fn mark_unknown(&self, view: &NodeView) -> Result<Unknowned, ApiError> {
        let info = find("", "v1", "nodes").expect("nodes are served");
        for _ in 0..WRITE_ATTEMPTS {
            let mut node = match self.objects.store().get("nodes", "", &view.name) {
                Ok(n) => n.value(),
                Err(e) if e.reason == Reason::NotFound => return Ok(Unknowned::Unchanged),
                Err(e) => return Err(e),
            };
            let before = ready_condition(&node);
            if before.as_ref().map(|r| &r.heartbeat) != view.ready.as_ref().map(|r| &r.heartbeat) {
                return Ok(Unknowned::Raced);
            }
            let conditions = unknown_conditions(&node, &rfc3339(jiff::Timestamp::now()));
            node["status"]["conditions"] = conditions;
            let after = ready_condition(&node);
            if after == before {
                return Ok(Unknowned::Unchanged);
            }
            match self.objects.update(
                info,
                "",
                &view.name,
                node,
                UpdateTarget::Status,
                &WriteParams::default(),
            ) {
                Ok(_) => return Ok(Unknowned::Written(after.unwrap_or_default())),
                Err(e) if e.reason == Reason::Conflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::internal(format!(
            "too many conflicts updating the status of node {}",
            view.name
        )))
    }

    /// NoExecute taints by the Ready condition as listed (upstream `processTaintBaseEviction`):
    /// a node that flips between not ready and unreachable has its taint swapped at once; a
    /// node newly so goes through its zone's rate-limited queue; a ready node loses both.
    fn taint_by_readiness(
        &self,
        st: &mut MonitorState,
        view: &NodeView,
        observed: &str,
        now: Instant,
    ) {
        let (wanted, opposite) = match observed {
            "False" => (TAINT_NOT_READY, TAINT_UNREACHABLE),
            "Unknown" => (TAINT_UNREACHABLE, TAINT_NOT_READY),
            "True" => {
                if let Err(e) = self.mark_reachable(st, view) {
                    tracing::warn!(node = view.name, error = %e, "could not remove NoExecute taints; retrying next pass");
                }
                return;
            }
            _ => return,
        };
        if view.has_taint(opposite) {
            if let Err(e) = self.swap_taints(
                &view.name,
                &[taint(wanted, NO_EXECUTE)],
                &[taint(opposite, NO_EXECUTE)],
            ) {
                tracing::warn!(node = view.name, error = %e, "could not swap NoExecute taints; retrying next pass");
            }
            return;
        }
        let Some(tainter) = st.tainters.get_mut(&view.zone) else {
            return;
        };
        if !view.has_taint(wanted) {
            tainter.remove(&view.name);
        }
        tainter.add(&view.name, now);
    }

    /// Remove both NoExecute readiness taints and forget any queued tainting.
    fn mark_reachable(&self, st: &mut MonitorState, view: &NodeView) -> Result<(), ApiError> {
        if view.has_taint(TAINT_UNREACHABLE) || view.has_taint(TAINT_NOT_READY) {
            self.swap_taints(
                &view.name,
                &[],
                &[
                    taint(TAINT_UNREACHABLE, NO_EXECUTE),
                    taint(TAINT_NOT_READY, NO_EXECUTE),
                ],
            )?;
        }
        if let Some(t) = st.tainters.get_mut(&view.zone) {
            t.remove(&view.name);
        }
        Ok(())
    }

    /// Taint the queued nodes their zones' rates allow (upstream `doNoExecuteTaintingPass`).
    fn no_execute_pass(&self) {
        let now = Instant::now();
        let mut st = self.state.lock();
        for tainter in st.tainters.values_mut() {
            if tainter.is_empty() {
                continue;
            }
            tainter.try_each(now, |name| self.taint_queued(name));
        }
    }

    fn taint_queued(&self, name: &str) -> Attempt {
        let node = match self.objects.store().get("nodes", "", name) {
            Ok(n) => n.value(),
            Err(e) if e.reason == Reason::NotFound => return Attempt::Done,
            Err(_) => return Attempt::RetryAfter(Duration::from_millis(50)),
        };
        let Some(ready) = ready_condition(&node) else {
            return Attempt::RetryAfter(Duration::from_millis(50));
        };
        let (add, remove) = match ready.status.as_str() {
            "False" => (TAINT_NOT_READY, TAINT_UNREACHABLE),
            "Unknown" => (TAINT_UNREACHABLE, TAINT_NOT_READY),
            _ => return Attempt::Done,
        };
        match self.swap_taints(
            name,
            &[taint(add, NO_EXECUTE)],
            &[taint(remove, NO_EXECUTE)],
        ) {
            Ok(_) => Attempt::Done,
            Err(e) => {
                tracing::warn!(node = name, error = %e, "could not taint an unhealthy node");
                Attempt::RetryAfter(Duration::ZERO)
            }
        }
    }

    /// Zone states and tainting rates (upstream `handleDisruption`).
    fn handle_disruption(
        &self,
        st: &mut MonitorState,
        zone_conditions: &BTreeMap<String, Vec<Option<String>>>,
        views: &[Arc<NodeView>],
        now: Instant,
    ) {
        let threshold = self.config.unhealthy_zone_threshold;
        let mut new_states = BTreeMap::new();
        let mut all_are_full = true;
        for (zone, ready) in zone_conditions {
            let (_, state) = zone_state(ready, threshold);
            if state != ZoneState::FullDisruption {
                all_are_full = false;
            }
            new_states.insert(zone.clone(), state);
            if !st.zone_states.contains_key(zone) {
                st.zone_states.insert(zone.clone(), ZoneState::Initial);
            }
        }
        let mut all_were_full = true;
        let zones: Vec<String> = st.zone_states.keys().cloned().collect();
        for zone in zones {
            if !zone_conditions.contains_key(&zone) {
                st.zone_states.remove(&zone);
                continue;
            }
            if st.zone_states[&zone] != ZoneState::FullDisruption {
                all_were_full = false;
                break;
            }
        }
        if all_are_full && all_were_full {
            return;
        }
        let size = |zone: &str| zone_conditions.get(zone).map_or(0, Vec::len);
        if all_are_full {
            tracing::info!("every node is not ready; stopping NoExecute tainting");
            for view in views {
                if let Err(e) = self.mark_reachable(st, view) {
                    tracing::warn!(node = view.name, error = %e, "could not remove NoExecute taints");
                }
            }
            let zones: Vec<String> = st.zone_states.keys().cloned().collect();
            for zone in zones {
                if let Some(t) = st.tainters.get_mut(&zone) {
                    t.swap_limiter(0.0, now);
                }
                st.zone_states.insert(zone, ZoneState::FullDisruption);
            }
            return;
        }
        if all_were_full {
            tracing::info!("some nodes are ready again; resuming NoExecute tainting");
            for h in st.health.values_mut() {
                h.probe = now;
                h.ready_transition = now;
            }
        }
        let zones: Vec<(String, ZoneState)> = st
            .zone_states
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (zone, old) in zones {
            let Some(new) = new_states.get(&zone).copied() else {
                continue;
            };
            if old == new && !all_were_full {
                continue;
            }
            let qps = match new {
                ZoneState::Normal | ZoneState::FullDisruption => self.config.eviction_rate,
                ZoneState::PartialDisruption
                    if size(&zone) > self.config.large_cluster_threshold =>
                {
                    self.config.secondary_eviction_rate
                }
                ZoneState::PartialDisruption => 0.0,
                ZoneState::Initial => continue,
            };
            if let Some(t) = st.tainters.get_mut(&zone) {
                t.swap_limiter(qps, now);
            }
            st.zone_states.insert(zone, new);
        }
    }

    /// Set Ready=False on the pods bound to `node` (all of them, or the one given), as
    /// upstream's `MarkPodsNotReady`: only pods that have a Ready condition, keeping its reason
    /// and message, each followed by a `NodeNotReady` warning.
    fn mark_pods_not_ready(
        &self,
        node: &str,
        only: Option<(String, String)>,
    ) -> Result<(), ApiError> {
        let info = find("", "v1", "pods").expect("pods are served");
        let keys = match only {
            Some(k) => vec![k],
            None => self.pods.pods_on(node),
        };
        let mut first_err = None;
        for (ns, name) in keys {
            let pod = match self.objects.store().get("pods", &ns, &name) {
                Ok(p) => p.value(),
                Err(e) if e.reason == Reason::NotFound => continue,
                Err(e) => return Err(e),
            };
            if pod.pointer("/spec/nodeName").and_then(Value::as_str) != Some(node) {
                continue;
            }
            let Some(updated) = pod_not_ready(&pod, &rfc3339(jiff::Timestamp::now())) else {
                continue;
            };
            match self.objects.update(
                info,
                &ns,
                &name,
                updated,
                UpdateTarget::Status,
                &WriteParams::default(),
            ) {
                Ok(stored) => self.recorder.record(
                    &ObjectRef::of("Pod", &stored.value()),
                    WARNING,
                    "NodeNotReady",
                    "Node is not ready",
                ),
                Err(e) if e.reason == Reason::NotFound => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// A pod newly bound to a node that is not ready turns not ready too (upstream
    /// `processPod`).
    fn process_bound_pod(&self, key: &str) -> Result<(), ApiError> {
        let Some((ns, name)) = key.split_once('/') else {
            return Ok(());
        };
        let pod = match self.objects.store().get("pods", ns, name) {
            Ok(p) => p,
            Err(e) if e.reason == Reason::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let node = pod.field("spec.nodeName").unwrap_or("").to_string();
        let ready = {
            let st = self.state.lock();
            match st.health.get(&node) {
                None => return Ok(()),
                Some(h) => h.saved_ready.clone(),
            }
        };
        self.objects.store().get("nodes", "", &node)?;
        match ready {
            Some(r) if r.status != "True" => {
                self.mark_pods_not_ready(&node, Some((ns.to_string(), name.to_string())))
            }
            _ => Ok(()),
        }
    }

    /// Keep the condition and cordon NoSchedule taints in line (upstream
    /// `doNoScheduleTaintingPass`).
    fn no_schedule_pass(&self, name: &str) -> Result<(), ApiError> {
        let node = match self.objects.store().get("nodes", "", name) {
            Ok(n) => n.value(),
            Err(e) if e.reason == Reason::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let conditions: Vec<(String, String)> = node
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (s("type"), s("status"))
            })
            .collect();
        let unschedulable = node
            .pointer("/spec/unschedulable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let desired = desired_no_schedule(&conditions, unschedulable);
        let (add, remove) = no_schedule_diff(&desired, &taints::node_taints(&node));
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        self.swap_taints(name, &add, &remove).map(|_| ())
    }

    /// Add and remove taints on a node, retrying on conflicts (upstream
    /// `SwapNodeControllerTaint`). True when the node changed.
    fn swap_taints(&self, name: &str, add: &[Taint], remove: &[Taint]) -> Result<bool, ApiError> {
        let info = find("", "v1", "nodes").expect("nodes are served");
        for _ in 0..WRITE_ATTEMPTS {
            let mut node = match self.objects.store().get("nodes", "", name) {
                Ok(n) => n.value(),
                Err(e) if e.reason == Reason::NotFound => return Ok(false),
                Err(e) => return Err(e),
            };
            let current = taints::node_taints(&node);
            let Some(new) = taints::swap(&current, add, remove, jiff::Timestamp::now()) else {
                return Ok(false);
            };
            if new.is_empty() {
                if let Some(spec) = node.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove("taints");
                }
            } else {
                node["spec"]["taints"] = serde_json::to_value(&new).expect("taints serialize");
            }
            match self.objects.update(
                info,
                "",
                name,
                node,
                UpdateTarget::Main,
                &WriteParams::default(),
            ) {
                Ok(_) => return Ok(true),
                Err(e) if e.reason == Reason::Conflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::internal(format!(
            "too many conflicts updating the taints of node {name}"
        )))
    }
}

/// What an attempt to set a node's conditions Unknown did.
enum Unknowned {
    Written(ReadyCondition),
    Unchanged,
    Raced,
}

impl Sink for NodeLifecycleController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        match info.store_key {
            "nodes" if event.kind != EventType::Deleted => self.no_schedule.add(&event.object.name),
            "pods" if event.kind != EventType::Deleted => {
                let node = event.object.field("spec.nodeName").unwrap_or("");
                let before = event
                    .prev
                    .as_ref()
                    .and_then(|p| p.field("spec.nodeName"))
                    .unwrap_or("");
                if !node.is_empty() && node != before {
                    self.bound_pods
                        .add(&format!("{}/{}", event.object.namespace, event.object.name));
                }
            }
            _ => {}
        }
    }

    fn resync(&self) {
        if let Ok(nodes) = self.objects.store().list("nodes", &ListOptions::default()) {
            for n in &nodes.items {
                self.no_schedule.add(&n.name);
            }
        }
    }
}

/// The Ready condition of a node.
pub(crate) fn ready_condition(node: &Value) -> Option<ReadyCondition> {
    let c = node
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))?;
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(String::from);
    Some(ReadyCondition {
        status: s("status").unwrap_or_default(),
        heartbeat: s("lastHeartbeatTime"),
        transition: s("lastTransitionTime"),
    })
}

/// The node's conditions with the heartbeat-driven ones Unknown as of `now`: existing ones keep
/// their heartbeat and get upstream's reason and message (their transition time only if they
/// were not Unknown already); missing ones are added as never updated.
pub(crate) fn unknown_conditions(node: &Value, now: &str) -> Value {
    let mut conditions: Vec<Value> = node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let created = node
        .pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(Value::Null);
    for kind in HEARTBEAT_CONDITIONS {
        match conditions.iter_mut().find(|c| c["type"] == kind) {
            None => conditions.push(json!({
                "type": kind,
                "status": "Unknown",
                "lastHeartbeatTime": created,
                "lastTransitionTime": now,
                "reason": "NodeStatusNeverUpdated",
                "message": "Kubelet never posted node status.",
            })),
            Some(c) if c["status"] != "Unknown" => {
                c["status"] = json!("Unknown");
                c["reason"] = json!("NodeStatusUnknown");
                c["message"] = json!("Kubelet stopped posting node status.");
                c["lastTransitionTime"] = json!(now);
            }
            Some(_) => {}
        }
    }
    Value::Array(conditions)
}

/// The pod with its Ready condition False as of `now`, or `None` when it has no Ready
/// condition or it is False already (upstream `UpdatePodCondition` reporting no change).
pub(crate) fn pod_not_ready(pod: &Value, now: &str) -> Option<Value> {
    let mut pod = pod.clone();
    let ready = pod
        .pointer_mut("/status/conditions")?
        .as_array_mut()?
        .iter_mut()
        .find(|c| c["type"] == "Ready")?;
    if ready["status"] == "False" {
        return None;
    }
    ready["status"] = json!("False");
    ready["lastTransitionTime"] = json!(now);
    Some(pod)
}

/// The monotonic instant matching a wall-clock time in the past (now for a future one).
fn instant_of(at: jiff::Timestamp, now: Instant) -> Instant {
    let ago = jiff::Timestamp::now().duration_since(at);
    match Duration::try_from(ago) {
        Ok(d) => now.checked_sub(d).unwrap_or(now),
        Err(_) => now,
    }
}
