//! The ReplicaSet and ReplicationController controller (upstream `pkg/controller/replicaset`,
//! which also runs ReplicationControllers through a conversion): keep exactly `replicas`
//! active pods matching the selector — adopting matching orphans, releasing pods that stopped
//! matching, creating in slow-start batches and deleting the pods upstream's ranking picks —
//! and report `replicas`, `fullyLabeledReplicas`, `readyReplicas`, `availableReplicas`,
//! `observedGeneration` and the `ReplicaFailure` condition.
//!
//! One [`ReplicaSetController`] runs per kind ([`Flavor`]); each has its own queue and
//! expectations, so a ReplicaSet and a ReplicationController of the same name never mix.

mod status;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::Sink;
use super::events::{EventRecorder, NORMAL, WARNING};
use super::runtime::expectations::Expectations;
use super::runtime::owner::{Owner, claim_pods, pod_from_template, pod_name_prefix};
use super::runtime::pods::{PodCache, PodFacts, PodListener};
use super::runtime::queue::{KeyQueue, run_workers};
use super::runtime::ranking::pods_to_delete;
use super::runtime::slow_start::slow_start_batch;
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::error::{ApiError, CauseKind, Reason};
use crate::registry::{ResourceInfo, find};
use crate::store::{Event, EventType, LabelSelector, ListOptions, Stored};

/// At most this many creates or deletes per sync (upstream `BurstReplicas`).
const BURST_REPLICAS: usize = 500;
/// Workers per controller (upstream `ConcurrentReplicaSetSyncs`).
const WORKERS: usize = 5;

/// Which kind a controller runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    ReplicaSet,
    ReplicationController,
}

impl Flavor {
    fn kind(self) -> &'static str {
        match self {
            Flavor::ReplicaSet => "ReplicaSet",
            Flavor::ReplicationController => "ReplicationController",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Flavor::ReplicaSet => "apps/v1",
            Flavor::ReplicationController => "v1",
        }
    }

    fn info(self) -> &'static ResourceInfo {
        match self {
            Flavor::ReplicaSet => find("apps", "v1", "replicasets"),
            Flavor::ReplicationController => find("", "v1", "replicationcontrollers"),
        }
        .expect("served")
    }

    /// The work queue's name in upstream's `workqueue_*` metrics.
    pub(crate) fn queue_name(self) -> &'static str {
        match self {
            Flavor::ReplicaSet => "replicaset",
            Flavor::ReplicationController => "replicationmanager",
        }
    }

    /// The events' `source.component`, as upstream's.
    fn component(self) -> &'static str {
        match self {
            Flavor::ReplicaSet => "replicaset-controller",
            Flavor::ReplicationController => "replication-controller",
        }
    }

    /// The selector of a stored object: a `LabelSelector` for a ReplicaSet, a map for a
    /// ReplicationController.
    fn selector(self, obj: &Value) -> Option<LabelSelector> {
        let sel = obj.pointer("/spec/selector")?;
        let typed: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector = match self {
            Flavor::ReplicaSet => serde_json::from_value(sel.clone()).ok()?,
            Flavor::ReplicationController => {
                k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: serde_json::from_value(sel.clone()).ok()?,
                    ..Default::default()
                }
            }
        };
        LabelSelector::from_label_selector(&typed).ok()
    }

    /// Whether a pod's controller reference names an object of this kind.
    fn controls(self, pod: &PodFacts) -> Option<&super::runtime::pods::ControllerRef> {
        pod.controller
            .as_ref()
            .filter(|c| c.kind == self.kind() && c.api_version == self.api_version())
    }
}

/// What the controller remembers of each object between syncs: enough to route pod events.
#[derive(Debug)]
struct Known {
    uid: String,
    selector: Option<LabelSelector>,
    min_ready_seconds: i64,
    /// The uid of the object's own controller (a Deployment), to find its siblings.
    controller: Option<String>,
}

/// Keeps ReplicaSets (or ReplicationControllers) at their replica count.
pub struct ReplicaSetController {
    flavor: Flavor,
    objects: Arc<Objects>,
    pods: Arc<PodCache>,
    queue: Arc<KeyQueue>,
    expectations: Expectations,
    /// Objects by namespace and name.
    known: parking_lot::RwLock<HashMap<String, BTreeMap<String, Known>>>,
    events: EventRecorder,
}

impl std::fmt::Debug for ReplicaSetController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaSetController")
            .field("flavor", &self.flavor)
            .finish()
    }
}

fn split(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

impl ReplicaSetController {
    /// A controller of `flavor` objects over `pods`; it must also be registered as the pod
    /// cache's listener and as a sink of the shared feed.
    pub(crate) fn new(flavor: Flavor, objects: Arc<Objects>, pods: Arc<PodCache>) -> Self {
        Self {
            flavor,
            events: EventRecorder::new(objects.clone(), flavor.component()),
            objects,
            pods,
            queue: Arc::default(),
            expectations: Expectations::default(),
            known: Default::default(),
        }
    }

    /// The controller's work queue (for its metrics).
    pub(crate) fn queue(&self) -> Arc<KeyQueue> {
        self.queue.clone()
    }

    /// Sync queued objects until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let queue = self.queue.clone();
        run_workers(
            self.flavor.component(),
            queue,
            WORKERS,
            shutdown,
            move |key: String, _waited: Duration| {
                let this = self.clone();
                async move { this.sync(&key) }
            },
        )
        .await;
    }

    fn remember(&self, stored: &Stored) {
        let obj = stored.value();
        let controller = obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
            .and_then(|r| r["uid"].as_str())
            .map(String::from);
        let known = Known {
            uid: obj["metadata"]["uid"].as_str().unwrap_or("").to_string(),
            selector: self.flavor.selector(&obj),
            min_ready_seconds: obj
                .pointer("/spec/minReadySeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            controller,
        };
        self.known
            .write()
            .entry(stored.namespace.to_string())
            .or_default()
            .insert(stored.name.to_string(), known);
    }

    fn forget(&self, namespace: &str, name: &str) {
        let mut known = self.known.write();
        if let Some(ns) = known.get_mut(namespace) {
            ns.remove(name);
            if ns.is_empty() {
                known.remove(namespace);
            }
        }
    }

    /// The key of the object controlling `pod`, if it is one of ours.
    fn owner_key(&self, pod: &PodFacts) -> Option<String> {
        self.flavor
            .controls(pod)
            .map(|c| format!("{}/{}", pod.namespace(), c.name))
    }

    /// Queue every object of the pod's namespace whose selector matches it (an orphan looking
    /// for an owner, upstream `getPodReplicaSets`).
    fn queue_matching(&self, pod: &PodFacts) {
        let known = self.known.read();
        for (name, k) in known.get(pod.namespace()).into_iter().flatten() {
            if k.selector
                .as_ref()
                .is_some_and(|s| !s.is_empty() && s.matches(|l| pod.label(l)))
            {
                self.queue.add(&format!("{}/{name}", pod.namespace()));
            }
        }
    }

    fn min_ready_seconds(&self, key: &str) -> i64 {
        let (ns, name) = split(key);
        self.known
            .read()
            .get(ns)
            .and_then(|m| m.get(name))
            .map_or(0, |k| k.min_ready_seconds)
    }

    /// The pods of this object's siblings (same controlling Deployment) and its own: whose
    /// company on a node makes a pod "doubled up" when choosing what to delete.
    fn related_pods(
        &self,
        namespace: &str,
        name: &str,
        own: &[Arc<PodFacts>],
    ) -> Vec<Arc<PodFacts>> {
        let known = self.known.read();
        let Some(ns) = known.get(namespace) else {
            return own.to_vec();
        };
        let Some(parent) = ns.get(name).and_then(|k| k.controller.clone()) else {
            return own.to_vec();
        };
        ns.values()
            .filter(|k| k.controller.as_deref() == Some(parent.as_str()))
            .flat_map(|k| self.pods.controlled_by(&k.uid))
            .collect()
    }

    /// One sync of `key` (upstream `syncReplicaSet`).
    pub(crate) fn sync(&self, key: &str) -> Result<(), ApiError> {
        let info = self.flavor.info();
        let (namespace, name) = split(key);
        let stored = match self.objects.store().get(info.store_key, namespace, name) {
            Ok(s) => s,
            Err(e) if e.reason == Reason::NotFound => {
                self.expectations.forget(key);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let obj = stored.value();
        let owner = Owner {
            api_version: self.flavor.api_version(),
            kind: self.flavor.kind(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            uid: obj["metadata"]["uid"].as_str().unwrap_or("").to_string(),
            deleting: obj.pointer("/metadata/deletionTimestamp").is_some(),
            adoption_finalizers: &[],
        };
        let Some(selector) = self.flavor.selector(&obj).filter(|s| !s.is_empty()) else {
            // Validation refuses these; a selector matching everything would claim every pod.
            tracing::warn!(
                key,
                "{} has no usable selector; skipping",
                self.flavor.kind()
            );
            return Ok(());
        };
        let needs_sync = self.expectations.satisfied(key) && !owner.deleting;
        let active: Vec<Arc<PodFacts>> = claim_pods(&self.objects, &self.pods, &owner, &selector)
            .into_iter()
            .filter(|p| p.is_active())
            .collect();
        let replicas = obj
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0) as usize;
        let manage = if needs_sync {
            self.manage_replicas(key, &owner, &obj, &active, replicas)
        } else {
            Ok(())
        };
        let now = jiff::Timestamp::now();
        let min_ready = obj
            .pointer("/spec/minReadySeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let diff = active.len() as i64 - replicas as i64;
        let new_status =
            status::calculate(&obj, &active, manage.as_ref().err(), diff, min_ready, now);
        self.write_status(info, namespace, name, &obj, &new_status)?;
        if manage.is_ok()
            && min_ready > 0
            && new_status["readyReplicas"] == replicas
            && new_status["availableReplicas"] != replicas
        {
            self.queue
                .add_after(key, Duration::from_secs(min_ready as u64));
        }
        manage
    }

    /// Create or delete pods to reach `replicas` (upstream `manageReplicas`).
    fn manage_replicas(
        &self,
        key: &str,
        owner: &Owner,
        obj: &Value,
        active: &[Arc<PodFacts>],
        replicas: usize,
    ) -> Result<(), ApiError> {
        let pods = find("", "v1", "pods").expect("pods are served");
        if active.len() < replicas {
            let count = (replicas - active.len()).min(BURST_REPLICAS);
            let template = obj.pointer("/spec/template").cloned().unwrap_or_default();
            let prefix = pod_name_prefix(&owner.name);
            self.expectations.expect_creations(key, count);
            let (created, err) = slow_start_batch(count, |_| {
                let pod = pod_from_template(&template, owner, &prefix);
                match self
                    .objects
                    .create(pods, &owner.namespace, pod, &WriteParams::default())
                {
                    Ok(p) => {
                        let msg = format!("Created pod: {}", p.name);
                        self.events
                            .record(&owner.event_ref(), NORMAL, "SuccessfulCreate", &msg);
                        Ok(())
                    }
                    // Upstream ignores creates refused because the namespace is going away.
                    Err(e)
                        if e.causes
                            .iter()
                            .any(|c| c.kind == CauseKind::NamespaceTerminating) =>
                    {
                        Ok(())
                    }
                    Err(e) => {
                        let msg = format!("Error creating: {}", e.message);
                        self.events
                            .record(&owner.event_ref(), WARNING, "FailedCreate", &msg);
                        Err(e)
                    }
                }
            });
            // The creates that failed or never ran will never be observed.
            for _ in created..count {
                self.expectations.creation_observed(key);
            }
            return err.map_or(Ok(()), Err);
        }
        if active.len() > replicas {
            let count = (active.len() - replicas).min(BURST_REPLICAS);
            let related = self.related_pods(&owner.namespace, &owner.name, active);
            let victims = pods_to_delete(active, &related, count, jiff::Timestamp::now());
            self.expectations
                .expect_deletions(key, victims.iter().map(|p| p.key()));
            let mut first_err = None;
            for pod in victims {
                match self.objects.delete(
                    pods,
                    pod.namespace(),
                    pod.name(),
                    &DeleteParams::default(),
                ) {
                    Ok(_) => {
                        let msg = format!("Deleted pod: {}", pod.name());
                        self.events
                            .record(&owner.event_ref(), NORMAL, "SuccessfulDelete", &msg);
                    }
                    Err(e) => {
                        self.expectations.deletion_observed(key, &pod.key());
                        if e.reason != Reason::NotFound {
                            let msg = format!("Error deleting: {}", e.message);
                            self.events
                                .record(&owner.event_ref(), WARNING, "FailedDelete", &msg);
                            first_err.get_or_insert(e);
                        }
                    }
                }
            }
            return first_err.map_or(Ok(()), Err);
        }
        Ok(())
    }

    /// Write the status if it changed (upstream `updateReplicaSetStatus`).
    fn write_status(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        obj: &Value,
        status: &Value,
    ) -> Result<(), ApiError> {
        if obj.get("status").cloned().map(status::strip_zeros).as_ref() == Some(status) {
            return Ok(());
        }
        let mut new = obj.clone();
        new["status"] = status.clone();
        // Applied to the latest version: only the status is taken from it.
        if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        match self.objects.update(
            info,
            namespace,
            name,
            new,
            crate::registry::UpdateTarget::Status,
            &WriteParams::default(),
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.reason == Reason::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Sink for ReplicaSetController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if info.store_key != self.flavor.info().store_key {
            return;
        }
        let key = format!("{}/{}", event.object.namespace, event.object.name);
        match event.kind {
            EventType::Added | EventType::Modified => self.remember(&event.object),
            EventType::Deleted => {
                self.forget(&event.object.namespace, &event.object.name);
                self.expectations.forget(&key);
            }
            EventType::Bookmark => return,
        }
        self.queue.add(&key);
    }

    fn resync(&self) {
        let info = self.flavor.info();
        let listed = match self
            .objects
            .store()
            .list(info.store_key, &ListOptions::default())
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not list {}", info.plural);
                return;
            }
        };
        self.known.write().clear();
        for obj in &listed.items {
            self.remember(obj);
            self.queue.add(&format!("{}/{}", obj.namespace, obj.name));
        }
    }
}

impl PodListener for ReplicaSetController {
    fn on_pod(&self, old: Option<&PodFacts>, new: Option<&PodFacts>) {
        match (old, new) {
            (None, Some(pod)) => {
                if let Some(owner) = self.owner_key(pod) {
                    if pod.deleting {
                        // Created already terminating (a restart of the controller saw it late).
                        self.expectations.deletion_observed(&owner, &pod.key());
                    } else {
                        self.expectations.creation_observed(&owner);
                    }
                    self.queue.add(&owner);
                } else if pod.controller.is_none() && !pod.deleting {
                    self.queue_matching(pod);
                }
            }
            (Some(old), Some(pod)) => {
                if pod.stored.revision == old.stored.revision {
                    return;
                }
                let owner = self.owner_key(pod);
                let old_owner = self.owner_key(old);
                if pod.deleting
                    && !old.deleting
                    && let Some(o) = &owner
                {
                    self.expectations.deletion_observed(o, &pod.key());
                }
                if old_owner != owner
                    && let Some(o) = &old_owner
                {
                    self.queue.add(o);
                }
                match owner {
                    Some(o) => {
                        self.queue.add(&o);
                        // A pod that just became ready becomes available after minReadySeconds.
                        let min_ready = self.min_ready_seconds(&o);
                        if !old.ready && pod.ready && min_ready > 0 {
                            self.queue
                                .add_after(&o, Duration::from_secs(min_ready as u64 + 1));
                        }
                    }
                    None if pod.controller.is_none() => {
                        let labels_changed = old.stored.labels != pod.stored.labels;
                        if labels_changed || old.controller.is_some() {
                            self.queue_matching(pod);
                        }
                    }
                    None => {}
                }
            }
            (Some(pod), None) => {
                if let Some(owner) = self.owner_key(pod) {
                    self.expectations.deletion_observed(&owner, &pod.key());
                    self.queue.add(&owner);
                }
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests;
