//! The Deployment controller, as upstream's `pkg/controller/deployment`: a Deployment's pod
//! template is rolled out through ReplicaSets named `<deployment>-<pod-template-hash>`, one per
//! template, with the RollingUpdate or Recreate strategy; scaling events mid-rollout are shared
//! proportionally; paused Deployments only scale; progress is reported in conditions.
//!
//! Layout: [`util`] is the pure arithmetic (`deployment_util.go`); [`sync::Syncer`] is one sync
//! of one Deployment (`sync.go`), extended by `rolling.rs`, `recreate.rs`, `progress.rs` and
//! `rollback.rs` as upstream's files; this file is the controller around it — event routing,
//! claiming ReplicaSets, and the writes to the store.
//!
//! Events come from the shared watches: a Deployment's own, its ReplicaSets' (found through their
//! controller reference, or for orphans through the selectors of the namespace's Deployments),
//! and for Recreate Deployments the deletion of their pods. Upstream's deployment controller
//! keeps no expectations: every sync reads the current ReplicaSets.

mod progress;
mod recreate;
mod rollback;
mod rolling;
pub(crate) mod sync;
pub(crate) mod util;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod unit_tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use self::recreate::PodMap;
use self::sync::{Api, Requeue, Syncer, name, name_of, namespace_of, rollback_to};
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::controllers::Sink;
use crate::controllers::events::{EventRecorder, ObjectRef, WARNING};
use crate::controllers::runtime::pods::{PodCache, PodFacts, PodListener};
use crate::controllers::runtime::queue::{KeyQueue, run_workers};
use crate::error::{ApiError, Reason};
use crate::patch::PatchType;
use crate::registry::{ResourceInfo, UpdateTarget};
use crate::store::{Event, EventType, Filter, LabelSelector, ListOptions, Stored};

/// Upstream's `--concurrent-deployment-syncs` default.
const WORKERS: usize = 5;

fn deployments() -> &'static ResourceInfo {
    crate::registry::find("apps", "v1", "deployments").expect("deployments are served")
}

fn replica_sets() -> &'static ResourceInfo {
    crate::registry::find("apps", "v1", "replicasets").expect("replicasets are served")
}

/// The Deployment controller.
pub(crate) struct DeploymentController {
    objects: Arc<Objects>,
    pods: Arc<PodCache>,
    queue: Arc<KeyQueue>,
    events: EventRecorder,
    /// The ReplicaSets each Deployment controls, from the ReplicaSet events: for pod events, and
    /// for a sync to find its own ReplicaSets that stopped matching without reading the whole
    /// namespace.
    rs_owners: parking_lot::Mutex<RsOwners>,
    /// Keys of the Deployments with the Recreate strategy (the only ones pod deletions wake).
    recreate: parking_lot::Mutex<HashSet<String>>,
}

impl std::fmt::Debug for DeploymentController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentController")
            .finish_non_exhaustive()
    }
}

impl DeploymentController {
    /// A controller writing through `objects`, reading pods from `pods`, queueing on `queue`.
    pub(crate) fn new(objects: Arc<Objects>, pods: Arc<PodCache>, queue: Arc<KeyQueue>) -> Self {
        Self {
            events: EventRecorder::new(objects.clone(), "deployment-controller"),
            objects,
            pods,
            queue,
            rs_owners: Default::default(),
            recreate: Default::default(),
        }
    }

    /// Sync queued Deployments until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.resync();
        let queue = self.queue.clone();
        let sync = move |key: String, _waited: Duration| {
            let ctrl = self.clone();
            async move { ctrl.sync_key(&key) }
        };
        run_workers("deployment", queue, WORKERS, shutdown, sync).await;
    }

    /// `syncDeployment` for one key, then whatever requeue the progress check asked for.
    fn sync_key(&self, key: &str) -> Result<(), ApiError> {
        let requeue = self.sync_deployment(key, jiff::Timestamp::now())?;
        match requeue {
            Requeue::No => {}
            Requeue::After(after) => self.queue.add_after(key, after),
            Requeue::RateLimited => self.queue.add_rate_limited(key),
        }
        Ok(())
    }

    /// `syncDeployment`.
    fn sync_deployment(&self, key: &str, now: jiff::Timestamp) -> Result<Requeue, ApiError> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let stored = match self.objects.store().get(deployments().store_key, ns, name) {
            Ok(s) => s,
            Err(e) if e.reason == Reason::NotFound => {
                self.recreate.lock().remove(key);
                return Ok(Requeue::No);
            }
            Err(e) => return Err(e),
        };
        let d: Deployment = decode(&stored)?;
        {
            let mut recreate = self.recreate.lock();
            if util::strategy_type(&d) == "Recreate" {
                recreate.insert(key.to_string());
            } else {
                recreate.remove(key);
            }
        }
        let api = StoreApi {
            objects: &self.objects,
            events: &self.events,
        };

        let sel = &d.spec.selector;
        if sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
            && sel.match_expressions.as_ref().is_none_or(|m| m.is_empty())
        {
            api.event(
                &d,
                WARNING,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            );
            let generation = d.metadata.generation.unwrap_or(0);
            let mut d = d;
            let status = d.status.get_or_insert_with(Default::default);
            if status.observed_generation.unwrap_or(0) < generation {
                status.observed_generation = Some(generation);
                let _ = api.update_status(&d);
            }
            return Ok(Requeue::No);
        }
        let selector = LabelSelector::from_label_selector(sel).map_err(|e| {
            ApiError::internal(format!(
                "deployment {key} has invalid label selector: {}",
                e.0
            ))
        })?;

        let rss = self.claim_replica_sets(&d, &selector)?;
        let pods = if util::strategy_type(&d) == "Recreate" {
            self.pod_map(&rss, &selector)
        } else {
            PodMap::new()
        };
        let deleting = d.metadata.deletion_timestamp.is_some();
        let mut s = Syncer::new(&api, d, rss, now);
        if deleting {
            s.sync_status_only()?;
            return Ok(s.requeue);
        }
        s.check_paused_conditions()?;
        if s.d.spec.paused == Some(true) {
            s.sync()?;
            return Ok(s.requeue);
        }
        if let Some(to) = rollback_to(&s.d) {
            s.rollback(to)?;
            return Ok(s.requeue);
        }
        if s.is_scaling_event()? {
            s.sync()?;
            return Ok(s.requeue);
        }
        match util::strategy_type(&s.d) {
            "Recreate" => s.rollout_recreate(&pods)?,
            "RollingUpdate" => s.rollout_rolling()?,
            other => {
                return Err(ApiError::internal(format!(
                    "unexpected deployment strategy type: {other}"
                )));
            }
        }
        Ok(s.requeue)
    }

    /// `getReplicaSetsForDeployment`: the namespace's ReplicaSets this Deployment controls and
    /// whose labels still match, adopting matching orphans and releasing its own that stopped
    /// matching (`ClaimReplicaSets`).
    ///
    /// Upstream reads every ReplicaSet of the namespace; only two kinds can be claimed or
    /// released, so only those are read: the ones the selector matches, listed from the store
    /// (current, so a ReplicaSet this controller just created is never missed), and the ones the
    /// ReplicaSet events say this Deployment controls (a relabelled one the events have not
    /// brought yet is released on the sync its event queues).
    fn claim_replica_sets(
        &self,
        d: &Deployment,
        selector: &LabelSelector,
    ) -> Result<Vec<ReplicaSet>, ApiError> {
        let ns = namespace_of(d);
        let store = self.objects.store();
        let mut candidates = store
            .list(
                replica_sets().store_key,
                &ListOptions {
                    filter: Filter {
                        namespace: Some(ns.to_string()),
                        labels: selector.clone(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )?
            .items;
        let owned = self
            .rs_owners
            .lock()
            .names_of(&format!("{ns}/{}", name_of(d)));
        for name in owned {
            if candidates.iter().any(|c| *c.name == *name) {
                continue;
            }
            match store.get(replica_sets().store_key, ns, &name) {
                Ok(stored) => candidates.push(stored),
                Err(e) if e.reason == Reason::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let deleting = d.metadata.deletion_timestamp.is_some();
        let mut can_adopt: Option<bool> = None;
        let mut claimed = Vec::new();
        for stored in candidates {
            let matches = selector.matches(|k| stored.label(k));
            let rs: ReplicaSet = decode(&stored)?;
            let controller = rs
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|r| r.controller == Some(true));
            match controller {
                Some(c) if c.uid != uid => {}
                Some(_) if matches => claimed.push(rs),
                Some(_) => {
                    if !deleting
                        && let Err(e) = self.release(d, &rs)
                        && e.reason != Reason::NotFound
                    {
                        return Err(e);
                    }
                }
                None => {
                    if deleting || !matches || rs.metadata.deletion_timestamp.is_some() {
                        continue;
                    }
                    // Recheck, uncached, that the Deployment is still there and not being deleted
                    // before the first adoption (`RecheckDeletionTimestamp`).
                    let allowed = *can_adopt.get_or_insert_with(|| self.can_adopt(d));
                    if !allowed {
                        continue;
                    }
                    match self.adopt(d, &rs) {
                        Ok(adopted) => claimed.push(adopted),
                        Err(e) if e.reason == Reason::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(claimed)
    }

    fn can_adopt(&self, d: &Deployment) -> bool {
        self.objects
            .store()
            .get(deployments().store_key, namespace_of(d), name_of(d))
            .ok()
            .and_then(|s| decode::<Deployment>(&s).ok())
            .is_some_and(|fresh| {
                fresh.metadata.uid == d.metadata.uid && fresh.metadata.deletion_timestamp.is_none()
            })
    }

    fn adopt(&self, d: &Deployment, rs: &ReplicaSet) -> Result<ReplicaSet, ApiError> {
        let patch = json!({"metadata": {
            "ownerReferences": [sync::controller_ref(d)],
            "uid": rs.metadata.uid,
        }});
        self.patch_rs(rs, &patch)
    }

    fn release(&self, d: &Deployment, rs: &ReplicaSet) -> Result<ReplicaSet, ApiError> {
        let patch = json!({"metadata": {
            "ownerReferences": [{"$patch": "delete", "uid": d.metadata.uid}],
            "uid": rs.metadata.uid,
        }});
        self.patch_rs(rs, &patch)
    }

    /// A strategic merge patch of a ReplicaSet, only if it is still the same object (the uid in
    /// upstream's patch is its precondition).
    fn patch_rs(&self, rs: &ReplicaSet, patch: &serde_json::Value) -> Result<ReplicaSet, ApiError> {
        let ns = rs.metadata.namespace.as_deref().unwrap_or("");
        let current = self
            .objects
            .store()
            .get(replica_sets().store_key, ns, name(rs))?;
        if decode::<ReplicaSet>(&current)?.metadata.uid != rs.metadata.uid {
            return Err(ApiError::not_found("apps", "replicasets", name(rs)));
        }
        let stored = self.objects.patch(
            replica_sets(),
            ns,
            name(rs),
            PatchType::StrategicMerge,
            patch.to_string().as_bytes(),
            UpdateTarget::Main,
            &WriteParams::default(),
        )?;
        decode(&stored)
    }

    /// `getPodMapForDeployment`: the phases of the pods matching the Deployment's selector, by
    /// the uid of the claimed ReplicaSet controlling them.
    fn pod_map(&self, rss: &[ReplicaSet], selector: &LabelSelector) -> PodMap {
        let mut map = PodMap::new();
        for rs in rss {
            let uid = rs.metadata.uid.clone().unwrap_or_default();
            let phases = self
                .pods
                .controlled_by(&uid)
                .iter()
                .filter(|p| selector.matches(|k| p.label(k)))
                .map(|p| p.phase.clone())
                .collect();
            map.insert(uid, phases);
        }
        map
    }

    fn enqueue(&self, namespace: &str, name: &str) {
        self.queue.add(&format!("{namespace}/{name}"));
    }

    /// `getDeploymentsForReplicaSet`: the namespace's Deployments whose (non-empty) selector
    /// matches an orphan's labels.
    fn enqueue_matching(&self, rs: &Stored) {
        let Ok(listed) = self.objects.store().list(
            deployments().store_key,
            &ListOptions {
                filter: Filter {
                    namespace: Some(rs.namespace.to_string()),
                    ..Default::default()
                },
                ..Default::default()
            },
        ) else {
            return;
        };
        for stored in listed.items {
            let Ok(d) = decode::<Deployment>(&stored) else {
                continue;
            };
            let Ok(sel) = LabelSelector::from_label_selector(&d.spec.selector) else {
                continue;
            };
            if !sel.is_empty() && sel.matches(|k| rs.label(k)) {
                self.enqueue(&stored.namespace, &stored.name);
            }
        }
    }

    /// `addReplicaSet` / `updateReplicaSet` / `deleteReplicaSet`.
    fn on_replica_set(&self, event: &Event) {
        let rs = &event.object;
        let now = RawRs::parse(rs);
        let uid = now.metadata.uid.clone();
        let owner = now.deployment();
        {
            let mut owners = self.rs_owners.lock();
            match (&event.kind, &owner) {
                (EventType::Deleted, _) | (_, None) => owners.set(&uid, None),
                (_, Some(d)) => owners.set(
                    &uid,
                    Some((format!("{}/{d}", rs.namespace), rs.name.to_string())),
                ),
            };
        }
        match event.kind {
            EventType::Added | EventType::Deleted => match owner {
                Some(d) => self.enqueue(&rs.namespace, &d),
                None if event.kind == EventType::Added
                    && now.metadata.deletion_timestamp.is_none() =>
                {
                    self.enqueue_matching(rs)
                }
                None => {}
            },
            EventType::Modified => {
                let before = event.prev.as_ref().map(|p| RawRs::parse(p));
                let old_owner = before.as_ref().and_then(RawRs::deployment);
                let owner_changed = before
                    .as_ref()
                    .is_some_and(|b| b.controller_uid() != now.controller_uid());
                if owner_changed && let Some(old) = &old_owner {
                    self.enqueue(&rs.namespace, old);
                }
                match owner {
                    Some(d) => self.enqueue(&rs.namespace, &d),
                    None => {
                        let labels_changed =
                            event.prev.as_ref().is_none_or(|p| p.labels != rs.labels);
                        if labels_changed || owner_changed {
                            self.enqueue_matching(rs);
                        }
                    }
                }
            }
            EventType::Bookmark => {}
        }
    }
}

/// The ReplicaSets whose controller reference names a Deployment: ReplicaSet uid → (the
/// Deployment's key, the ReplicaSet's name), and each Deployment key's ReplicaSet names.
#[derive(Default)]
struct RsOwners {
    by_uid: HashMap<String, (String, String)>,
    by_owner: HashMap<String, HashSet<String>>,
}

impl RsOwners {
    /// Record that ReplicaSet `uid` is controlled by `owner` (Deployment key, ReplicaSet name),
    /// or by no Deployment.
    fn set(&mut self, uid: &str, owner: Option<(String, String)>) {
        if let Some((key, name)) = self.by_uid.remove(uid)
            && let Some(names) = self.by_owner.get_mut(&key)
        {
            names.remove(&name);
            if names.is_empty() {
                self.by_owner.remove(&key);
            }
        }
        if let Some((key, name)) = owner {
            self.by_owner
                .entry(key.clone())
                .or_default()
                .insert(name.clone());
            self.by_uid.insert(uid.to_owned(), (key, name));
        }
    }

    /// The key of the Deployment controlling ReplicaSet `uid`.
    fn key_of(&self, uid: &str) -> Option<String> {
        self.by_uid.get(uid).map(|(key, _)| key.clone())
    }

    /// The names of the ReplicaSets Deployment `key` controls.
    fn names_of(&self, key: &str) -> Vec<String> {
        self.by_owner
            .get(key)
            .map(|names| names.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn clear(&mut self) {
        self.by_uid.clear();
        self.by_owner.clear();
    }
}

/// Decode a stored object into its k8s-openapi type.
fn decode<T: serde::de::DeserializeOwned>(stored: &Stored) -> Result<T, ApiError> {
    serde_json::from_slice(&stored.bytes)
        .map_err(|e| ApiError::internal(format!("stored {}: {e}", stored.name)))
}

/// What routing needs of a ReplicaSet event.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawRs {
    metadata: RawMeta,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawMeta {
    uid: String,
    owner_references: Vec<RawOwner>,
    deletion_timestamp: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawOwner {
    api_version: String,
    kind: String,
    name: String,
    uid: String,
    controller: Option<bool>,
}

impl RawRs {
    fn parse(stored: &Stored) -> Self {
        serde_json::from_slice(&stored.bytes).unwrap_or_default()
    }

    fn controller(&self) -> Option<&RawOwner> {
        self.metadata
            .owner_references
            .iter()
            .find(|r| r.controller == Some(true))
    }

    fn controller_uid(&self) -> Option<&str> {
        self.controller().map(|c| c.uid.as_str())
    }

    /// The name of the Deployment controlling it (`resolveControllerRef`'s kind check; the uid is
    /// checked by the sync's claim).
    fn deployment(&self) -> Option<String> {
        self.controller()
            .filter(|c| c.kind == "Deployment" && c.api_version.starts_with("apps/"))
            .map(|c| c.name.clone())
    }
}

impl Sink for DeploymentController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if event.kind == EventType::Bookmark {
            return;
        }
        if info.store_key == deployments().store_key {
            self.enqueue(&event.object.namespace, &event.object.name);
        } else if info.store_key == replica_sets().store_key {
            self.on_replica_set(event);
        }
    }

    fn resync(&self) {
        let store = self.objects.store();
        if let Ok(listed) = store.list(deployments().store_key, &ListOptions::default()) {
            for d in listed.items {
                self.enqueue(&d.namespace, &d.name);
            }
        }
        if let Ok(listed) = store.list(replica_sets().store_key, &ListOptions::default()) {
            let mut owners = self.rs_owners.lock();
            owners.clear();
            for rs in listed.items {
                let raw = RawRs::parse(&rs);
                if let Some(d) = raw.deployment() {
                    owners.set(
                        &raw.metadata.uid,
                        Some((format!("{}/{d}", rs.namespace), rs.name.to_string())),
                    );
                }
            }
        }
    }
}

impl PodListener for DeploymentController {
    /// `deletePod`: a Recreate Deployment may be waiting for its old pods to go.
    fn on_pod(&self, old: Option<&PodFacts>, new: Option<&PodFacts>) {
        let (Some(pod), None) = (old, new) else {
            return;
        };
        let Some(c) = pod.controller.as_ref().filter(|c| c.kind == "ReplicaSet") else {
            return;
        };
        let Some(key) = self.rs_owners.lock().key_of(&c.uid) else {
            return;
        };
        if self.recreate.lock().contains(&key) {
            self.queue.add(&key);
        }
    }
}

/// The store behind a sync's writes.
struct StoreApi<'a> {
    objects: &'a Objects,
    events: &'a EventRecorder,
}

impl StoreApi<'_> {
    fn to_value<T: serde::Serialize>(obj: &T) -> Result<serde_json::Value, ApiError> {
        serde_json::to_value(obj).map_err(|e| ApiError::internal(e.to_string()))
    }
}

impl Api for StoreApi<'_> {
    fn update_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, ApiError> {
        let ns = rs.metadata.namespace.as_deref().unwrap_or("");
        let stored = self.objects.update(
            replica_sets(),
            ns,
            name(rs),
            Self::to_value(rs)?,
            UpdateTarget::Main,
            &WriteParams::default(),
        )?;
        decode(&stored)
    }

    fn create_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, ApiError> {
        let ns = rs.metadata.namespace.as_deref().unwrap_or("");
        let stored = self.objects.create(
            replica_sets(),
            ns,
            Self::to_value(rs)?,
            &WriteParams::default(),
        )?;
        decode(&stored)
    }

    fn get_rs(&self, namespace: &str, name: &str) -> Result<ReplicaSet, ApiError> {
        let stored = self
            .objects
            .store()
            .get(replica_sets().store_key, namespace, name)?;
        decode(&stored)
    }

    fn delete_rs(&self, namespace: &str, name: &str) -> Result<(), ApiError> {
        self.objects
            .delete(replica_sets(), namespace, name, &DeleteParams::default())
            .map(|_| ())
    }

    fn update_status(&self, d: &Deployment) -> Result<Deployment, ApiError> {
        let stored = self.objects.update(
            deployments(),
            namespace_of(d),
            name_of(d),
            Self::to_value(d)?,
            UpdateTarget::Status,
            &WriteParams::default(),
        )?;
        decode(&stored)
    }

    fn update_deployment(&self, d: &Deployment) -> Result<Deployment, ApiError> {
        let stored = self.objects.update(
            deployments(),
            namespace_of(d),
            name_of(d),
            Self::to_value(d)?,
            UpdateTarget::Main,
            &WriteParams::default(),
        )?;
        decode(&stored)
    }

    fn event(&self, d: &Deployment, kind: &str, reason: &str, message: &str) {
        let about = ObjectRef {
            api_version: "apps/v1",
            kind: "Deployment",
            namespace: namespace_of(d).to_string(),
            name: name_of(d).to_string(),
            uid: d.metadata.uid.clone(),
            resource_version: d.metadata.resource_version.clone(),
        };
        self.events.record(&about, kind, reason, message);
    }
}
