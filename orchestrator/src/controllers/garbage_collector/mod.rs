//! The garbage collector (upstream `pkg/controller/garbagecollector`): deletes objects whose
//! owners are all gone, and carries out the `Foreground` and `Orphan` propagation policies that
//! [`Objects::delete`] turns into the `foregroundDeletion` and `orphan` finalizers.
//!
//! Every watch event reaches [`GarbageCollector::on_event`], which only queues it. One worker
//! applies the queued events to the dependency [`graph`] (upstream's graph builder), which says
//! what work they make due, and then does that work (upstream's `attemptToDelete` and
//! `attemptToOrphan` workers), always against the store's current state:
//! - a dependent none of whose owners exists (no object of that kind, name and uid in the
//!   dependent's namespace, or cluster-wide for cluster-scoped kinds) is deleted, with the policy
//!   its own finalizers ask for (Background otherwise); one live owner keeps it, and references
//!   to owners that are gone or waiting for their dependents are then removed from it;
//! - an owner deleted in the foreground has its dependents deleted (in the foreground themselves
//!   when they have dependents of their own) and loses its finalizer once no dependent with
//!   `blockOwnerDeletion` is left; a dependent that would close a cycle of foreground deletions
//!   first stops blocking its owners, so cycles do not hold collection up;
//! - an owner deleted with `orphan` has its reference removed from every dependent, then loses
//!   its finalizer.
//!
//! The graph can lag behind the store (each resource has its own watch). Before concluding that
//! an owner has no dependents left — to finish a foreground deletion or an orphaning — the
//! collector scans the store for objects naming it, as in-process reads are cheap. Failed work is
//! retried with exponential backoff per item (upstream's rate-limited queues).

mod graph;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use self::graph::{Graph, Identity, Meta, Uid, Work};
use super::{Sink, WorkQueue};
use crate::api::{DeleteParams, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, Objects, WriteParams};
use crate::error::{ApiError, Reason};
use crate::patch::PatchType;
use crate::registry::{RESOURCES, ResourceInfo, UpdateTarget};
use crate::store::{Event, EventType, Filter, ListOptions, Preconditions, Stored};

/// The queue key that says watch events are waiting to be applied to the graph; sorts before
/// every work key, so a batch sees the graph current.
const GRAPH: &str = "";
/// How often removing a finalizer is retried after losing a race with another writer before the
/// item goes back to the queue (upstream's `retry.DefaultBackoff` has 4 steps).
const FINALIZER_RETRIES: usize = 5;
/// The first retry of failed work comes after this, doubling on each failure up to
/// [`MAX_BACKOFF`] (upstream's per-item exponential limiter starts at 5 ms).
const BASE_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Resources the collector does not watch (upstream's `DefaultIgnoredResources`): events come
/// and go in large numbers and are cleaned up by their time to live.
const IGNORED: &[&str] = &["events"];
/// How long to wait before listing again when the graph could not be built.
const RELIST_AFTER_ERROR: Duration = Duration::from_secs(1);

/// Deletes dependents of deleted owners and carries out foreground and orphan deletion.
pub struct GarbageCollector {
    objects: Arc<Objects>,
    queue: WorkQueue,
    /// Watch events not yet applied to the graph, in the order they arrived.
    changes: parking_lot::Mutex<Changes>,
    /// Whether [`GRAPH`] is queued: set by the first event after the worker took the changes,
    /// so a burst of events costs one queue write.
    graph_queued: AtomicBool,
    /// The worker's state; only the worker locks it (tests read it).
    state: parking_lot::Mutex<State>,
}

impl std::fmt::Debug for GarbageCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GarbageCollector").finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Changes {
    events: Vec<(&'static ResourceInfo, Event)>,
    /// Events may have been lost: build the graph again from lists.
    relist: bool,
}

#[derive(Debug, Default)]
struct State {
    graph: Graph,
    /// The revision each resource was last listed at; events up to it are already in the graph.
    listed_at: HashMap<&'static str, u64>,
    /// Consecutive failures of each queued work key, for its backoff.
    failures: HashMap<String, u32>,
}

impl GarbageCollector {
    /// A collector acting through `objects`; it does nothing until fed events and run.
    pub fn new(objects: Arc<Objects>) -> Self {
        Self {
            objects,
            queue: WorkQueue::default(),
            changes: Default::default(),
            graph_queued: AtomicBool::new(false),
            state: Default::default(),
        }
    }

    /// Build the graph from the store, then apply events and do the work they make due until
    /// `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.relist(&mut self.state.lock());
        while let Some(batch) = self.queue.next_batch(&shutdown).await {
            for key in batch {
                if shutdown.is_cancelled() {
                    return;
                }
                self.process(&key);
            }
            // Deleting a large tree is many batches; let the rest of the control plane run.
            tokio::task::yield_now().await;
        }
    }

    /// One queue key: apply the pending events, or do one piece of work.
    fn process(&self, key: &str) {
        let mut state = self.state.lock();
        if key == GRAPH {
            self.apply_changes(&mut state);
            return;
        }
        let result = match key.split_once(':') {
            Some(("d", uid)) => self.attempt_to_delete(&mut state, uid),
            Some(("o", uid)) => self.attempt_to_orphan(&mut state, uid),
            _ => Ok(()),
        };
        match result {
            Ok(()) => {
                state.failures.remove(key);
            }
            Err(e) => {
                let failures = state.failures.entry(key.to_string()).or_default();
                *failures += 1;
                let delay = backoff(*failures);
                tracing::warn!(item = key, error = %e, retry_in = ?delay, "garbage collection failed; retrying");
                self.queue.add_after(key, delay);
            }
        }
    }

    /// Make sure the worker will apply the pending changes.
    fn graph_changed(&self) {
        if !self.graph_queued.swap(true, Ordering::SeqCst) {
            self.queue.add(GRAPH);
        }
    }

    fn enqueue(&self, work: Vec<Work>) {
        for w in work {
            match w {
                Work::Delete(uid) => self.queue.add(&format!("d:{uid}")),
                Work::Orphan(uid) => self.queue.add(&format!("o:{uid}")),
            }
        }
    }

    /// Build the graph again from a list of every resource (at start, and after lost events).
    fn relist(&self, state: &mut State) {
        state.graph = Graph::default();
        state.listed_at.clear();
        let mut work = Vec::new();
        for info in RESOURCES.iter().filter(|i| !IGNORED.contains(&i.store_key)) {
            let listed = match self
                .objects
                .store()
                .list(info.store_key, &ListOptions::default())
            {
                Ok(listed) => listed,
                Err(e) => {
                    tracing::warn!(resource = info.store_key, error = %e, "garbage collector cannot list; listing again later");
                    self.changes.lock().relist = true;
                    self.queue.add_after(GRAPH, RELIST_AFTER_ERROR);
                    self.graph_queued.store(true, Ordering::SeqCst);
                    continue;
                }
            };
            state.listed_at.insert(info.store_key, listed.revision);
            for item in &listed.items {
                if let Some(meta) = Meta::parse(&item.bytes) {
                    state.graph.observe(info, &meta, item.revision, &mut work);
                }
            }
        }
        tracing::debug!(nodes = state.graph.len(), "garbage collector graph built");
        self.enqueue(work);
    }

    /// Apply the queued watch events to the graph.
    fn apply_changes(&self, state: &mut State) {
        // Cleared before the changes are taken: an event arriving after the take queues again.
        self.graph_queued.store(false, Ordering::SeqCst);
        let (events, relist) = {
            let mut changes = self.changes.lock();
            (
                std::mem::take(&mut changes.events),
                std::mem::take(&mut changes.relist),
            )
        };
        if relist {
            self.relist(state);
        }
        let mut work = Vec::new();
        for (info, event) in &events {
            apply_event(state, info, event, &mut work);
        }
        self.enqueue(work);
    }

    /// Upstream `attemptToDeleteItem`: decide whether the object should go, or whether its
    /// foreground deletion can finish.
    fn attempt_to_delete(&self, state: &mut State, uid: &str) -> Result<(), ApiError> {
        let Some(node) = state.graph.node(uid) else {
            return Ok(());
        };
        // Being deleted is a one-way trip; its dependents are looked at once it is gone.
        if node.being_deleted && !node.deleting_dependents {
            return Ok(());
        }
        let Some(id) = node.identity.clone() else {
            // A reference to a kind this server does not serve: nothing can confirm or deny it.
            return Ok(());
        };
        let mut work = Vec::new();
        let Some((latest, meta)) = self.read(&id, uid)? else {
            // Gone, or replaced by another object of the same name (upstream's virtual delete).
            state.graph.remove(uid, &mut work);
            self.enqueue(work);
            return Ok(());
        };
        state
            .graph
            .observe(id.info, &meta, latest.revision, &mut work);
        self.enqueue(work);
        let Some(node) = state.graph.node(uid) else {
            return Ok(());
        };
        if node.being_deleted && !node.deleting_dependents {
            return Ok(());
        }
        if node.deleting_dependents {
            return self.process_deleting_dependents(state, &id, uid);
        }
        let owners = meta.owners();
        if owners.is_empty() {
            return Ok(());
        }
        let mut solid = 0;
        let mut gone: Vec<&str> = Vec::new();
        let mut waiting: Vec<&str> = Vec::new();
        for owner in owners {
            let Some(owner_id) = Identity::of_owner(owner, &id.namespace) else {
                // Upstream cannot resolve it either and leaves the dependent alone.
                tracing::debug!(
                    dependent = uid,
                    owner = owner.uid,
                    kind = owner.kind,
                    "owner reference cannot be resolved"
                );
                return Ok(());
            };
            match self.read(&owner_id, &owner.uid)? {
                None => gone.push(&owner.uid),
                Some((_, owner_meta)) if owner_meta.deleting_dependents() => {
                    waiting.push(&owner.uid)
                }
                Some(_) => solid += 1,
            }
        }
        if solid > 0 {
            if gone.is_empty() && waiting.is_empty() {
                return Ok(());
            }
            // Owners waiting for their dependents would wait for this one forever.
            let remove: Vec<_> = gone
                .iter()
                .chain(&waiting)
                .map(|u| json!({"$patch": "delete", "uid": u}))
                .collect();
            return self.patch_owner_references(&id, uid, remove);
        }
        let has_dependents = !node.dependents.is_empty();
        if !waiting.is_empty() && has_dependents {
            let closes_cycle = node
                .dependents
                .iter()
                .any(|d| state.graph.node(d).is_some_and(|n| n.deleting_dependents));
            if closes_cycle {
                // A dependent is itself waiting in the foreground: if this object kept blocking
                // its owners, they would all wait for each other.
                let unblock: Vec<_> = owners
                    .iter()
                    .filter(|o| o.blocks())
                    .map(|o| json!({"uid": o.uid, "blockOwnerDeletion": false}))
                    .collect();
                if !unblock.is_empty() {
                    self.patch_owner_references(&id, uid, unblock)?;
                }
            }
            return self.delete(&id, uid, "Foreground");
        }
        let policy = if meta.has_finalizer(FINALIZER_ORPHAN) {
            "Orphan"
        } else if meta.has_finalizer(FINALIZER_FOREGROUND) {
            "Foreground"
        } else {
            "Background"
        };
        self.delete(&id, uid, policy)
    }

    /// Upstream `processDeletingDependentsItem`: an owner deleted in the foreground goes once no
    /// dependent blocks it; until then its blocking dependents are deleted.
    fn process_deleting_dependents(
        &self,
        state: &mut State,
        id: &Identity,
        uid: &str,
    ) -> Result<(), ApiError> {
        let mut blocking = state.graph.blocking_dependents(uid);
        if blocking.is_empty() {
            self.catch_up_dependents(state, id, uid)?;
            blocking = state.graph.blocking_dependents(uid);
        }
        if blocking.is_empty() {
            return self.remove_finalizer(id, uid, FINALIZER_FOREGROUND);
        }
        let work = blocking
            .into_iter()
            .filter(|d| state.graph.node(d).is_some_and(|n| !n.deleting_dependents))
            .map(Work::Delete)
            .collect();
        self.enqueue(work);
        Ok(())
    }

    /// Upstream `attemptToOrphanWorker`: remove the owner's reference from each dependent, then
    /// its `orphan` finalizer.
    fn attempt_to_orphan(&self, state: &mut State, uid: &str) -> Result<(), ApiError> {
        let Some(id) = state.graph.node(uid).and_then(|n| n.identity.clone()) else {
            return Ok(());
        };
        self.catch_up_dependents(state, &id, uid)?;
        let dependents: Vec<Uid> = state
            .graph
            .node(uid)
            .map(|n| n.dependents.iter().cloned().collect())
            .unwrap_or_default();
        for dep in dependents {
            let Some(dep_id) = state.graph.node(&dep).and_then(|n| n.identity.clone()) else {
                continue;
            };
            self.patch_owner_references(
                &dep_id,
                &dep,
                vec![json!({"$patch": "delete", "uid": uid})],
            )?;
        }
        self.remove_finalizer(&id, uid, FINALIZER_ORPHAN)
    }

    /// The object at `id` if it still has `uid`; `None` if it is gone or was replaced.
    fn read(&self, id: &Identity, uid: &str) -> Result<Option<(Arc<Stored>, Meta)>, ApiError> {
        match self
            .objects
            .store()
            .get(id.info.store_key, &id.namespace, &id.name)
        {
            Ok(stored) => Ok(Meta::parse(&stored.bytes)
                .filter(|m| m.uid == uid)
                .map(|m| (stored, m))),
            Err(e) if e.reason == Reason::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Put every object that names `uid` as an owner into the graph: the graph is fed by one
    /// watch per resource, and a dependent created just before its owner's deletion may not
    /// have been seen yet.
    fn catch_up_dependents(
        &self,
        state: &mut State,
        owner: &Identity,
        uid: &str,
    ) -> Result<(), ApiError> {
        let opts = ListOptions {
            filter: Filter {
                namespace: owner.info.namespaced.then(|| owner.namespace.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut work = Vec::new();
        for info in RESOURCES.iter().filter(|i| !IGNORED.contains(&i.store_key)) {
            if owner.info.namespaced && !info.namespaced {
                continue;
            }
            for item in self.objects.store().list(info.store_key, &opts)?.items {
                if let Some(meta) = Meta::parse(&item.bytes)
                    && meta.owners().iter().any(|o| o.uid == uid)
                {
                    state.graph.observe(info, &meta, item.revision, &mut work);
                }
            }
        }
        self.enqueue(work);
        Ok(())
    }

    /// Strategic-merge `refs` into the object's `ownerReferences` (merged by uid; `$patch:
    /// delete` removes one), only while the object still has `uid` (upstream puts the uid in
    /// the patch the same way: a changed uid fails validation).
    fn patch_owner_references(
        &self,
        id: &Identity,
        uid: &str,
        refs: Vec<serde_json::Value>,
    ) -> Result<(), ApiError> {
        let patch = json!({"metadata": {"uid": uid, "ownerReferences": refs}});
        let bytes = serde_json::to_vec(&patch).map_err(|e| ApiError::internal(e.to_string()))?;
        match self.objects.patch(
            id.info,
            &id.namespace,
            &id.name,
            PatchType::StrategicMerge,
            &bytes,
            UpdateTarget::Main,
            &WriteParams::default(),
        ) {
            Ok(_) => Ok(()),
            // Gone, or replaced by another object of the same name.
            Err(e) if matches!(e.reason, Reason::NotFound | Reason::Invalid) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Delete the object if it still has `uid`, with `policy` for its own dependents.
    fn delete(&self, id: &Identity, uid: &str, policy: &str) -> Result<(), ApiError> {
        let params = DeleteParams {
            propagation_policy: Some(policy.to_string()),
            preconditions: Preconditions {
                revision: None,
                uid: Some(uid.to_string()),
            },
            ..Default::default()
        };
        let deleted = self
            .objects
            .admit_delete(id.info, &id.namespace, &id.name)
            .and_then(|()| {
                self.objects
                    .delete(id.info, &id.namespace, &id.name, &params)
            });
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.reason == Reason::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Upstream `removeFinalizer`: drop one finalizer, pinned to the version read, retrying a
    /// few times when another writer wins.
    fn remove_finalizer(&self, id: &Identity, uid: &str, finalizer: &str) -> Result<(), ApiError> {
        for _ in 0..FINALIZER_RETRIES {
            let Some((stored, meta)) = self.read(id, uid)? else {
                return Ok(());
            };
            if !meta.has_finalizer(finalizer) {
                return Ok(());
            }
            let rest: Vec<&String> = meta
                .finalizers
                .iter()
                .flatten()
                .filter(|f| *f != finalizer)
                .collect();
            let patch = json!({"metadata": {
                "finalizers": rest,
                "resourceVersion": stored.revision.to_string(),
            }});
            let bytes =
                serde_json::to_vec(&patch).map_err(|e| ApiError::internal(e.to_string()))?;
            match self.objects.patch(
                id.info,
                &id.namespace,
                &id.name,
                PatchType::Merge,
                &bytes,
                UpdateTarget::Main,
                &WriteParams::default(),
            ) {
                Ok(_) => return Ok(()),
                Err(e) if e.reason == Reason::NotFound => return Ok(()),
                Err(e) if e.reason == Reason::Conflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::conflict(
            id.info.group,
            id.info.plural,
            &id.name,
            "too many concurrent writes while removing a finalizer; will retry",
        ))
    }
}

/// Apply one watch event to the graph. Only the object's metadata is read, and objects that
/// take no part in ownership stop there.
fn apply_event(
    state: &mut State,
    info: &'static ResourceInfo,
    event: &Event,
    work: &mut Vec<Work>,
) {
    let listed = state.listed_at.get(info.store_key).copied().unwrap_or(0);
    if event.revision() <= listed {
        return;
    }
    let Some(meta) = Meta::parse(&event.object.bytes) else {
        return;
    };
    match event.kind {
        EventType::Added | EventType::Modified => {
            state
                .graph
                .observe(info, &meta, event.object.revision, work);
        }
        // By the uid the event carries: the key may already name a newer namesake.
        EventType::Deleted => state.graph.remove(&meta.uid, work),
        EventType::Bookmark => {}
    }
}

/// The delay before the `failures`-th retry.
fn backoff(failures: u32) -> Duration {
    BASE_BACKOFF
        .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
        .min(MAX_BACKOFF)
}

impl Sink for GarbageCollector {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if event.kind == EventType::Bookmark || IGNORED.contains(&info.store_key) {
            return;
        }
        self.changes.lock().events.push((info, event.clone()));
        self.graph_changed();
    }

    fn resync(&self) {
        self.changes.lock().relist = true;
        self.graph_changed();
    }
}
