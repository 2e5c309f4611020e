//! The ResourceQuota controller (upstream `pkg/controller/resourcequota`): publishes each quota's
//! `status.hard` (its `spec.hard`) and recomputes `status.used` from a full list of the
//! namespace's content. It syncs a namespace when one of its quotas is created or its hard limits
//! change, when a constrained object is deleted or changes what it uses (a pod finishing, a
//! service changing type, a claim growing), and every five minutes as a safety net. Creates are
//! not watched: admission charged them already, as upstream.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Sink, WorkQueue};
use crate::admission::Quantity;
use crate::admission::quantity::{
    ResourceList, add_lists, list_to_json, lists_equal, mask, parse_list,
};
use crate::admission::quota_usage::{Evaluator, ScopeRequirement, quota_scopes};
use crate::api::{Objects, WriteParams};
use crate::error::{ApiError, Reason};
use crate::registry::{RESOURCES, ResourceInfo, UpdateTarget, find};
use crate::store::{Event, EventType, Filter, ListOptions};

/// Upstream's `--resource-quota-sync-period` default.
const FULL_RESYNC: Duration = Duration::from_secs(5 * 60);
/// Back-off after a failed sync (upstream uses a rate limiter starting at 5 ms).
const RETRY_AFTER_CONFLICT: Duration = Duration::from_millis(10);
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);

/// Keeps every ResourceQuota's status current.
pub struct ResourceQuotaController {
    objects: Arc<Objects>,
    queue: WorkQueue,
    /// Per namespace, per quota, the resource names of `spec.hard`: which events matter.
    tracked: parking_lot::Mutex<HashMap<String, BTreeMap<String, BTreeSet<String>>>>,
}

impl std::fmt::Debug for ResourceQuotaController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceQuotaController")
            .finish_non_exhaustive()
    }
}

impl ResourceQuotaController {
    /// A controller acting through `objects`; it does nothing until fed events and run.
    pub fn new(objects: Arc<Objects>) -> Self {
        Self {
            objects,
            queue: WorkQueue::default(),
            tracked: Default::default(),
        }
    }

    /// Sync queued namespaces until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut resync =
            tokio::time::interval_at(tokio::time::Instant::now() + FULL_RESYNC, FULL_RESYNC);
        loop {
            tokio::select! {
                batch = self.queue.next_batch(&shutdown) => {
                    let Some(batch) = batch else { return };
                    for ns in batch {
                        self.sync_logged(&ns);
                    }
                }
                _ = resync.tick() => self.resync(),
            }
        }
    }

    fn sync_logged(&self, namespace: &str) {
        if let Err(e) = self.sync_namespace(namespace) {
            let delay = if e.reason == Reason::Conflict {
                RETRY_AFTER_CONFLICT
            } else {
                RETRY_AFTER_ERROR
            };
            if e.reason != Reason::Conflict {
                tracing::warn!(namespace, error = %e, "resource quota sync failed; retrying");
            }
            self.queue.add_after(namespace, delay);
        }
    }

    /// Recompute and publish the status of every quota in `namespace` (upstream
    /// `syncResourceQuota`, for each quota).
    pub fn sync_namespace(&self, namespace: &str) -> Result<(), ApiError> {
        let info = find("", "v1", "resourcequotas").expect("resourcequotas are served");
        let store = self.objects.store();
        let quotas = store.list("resourcequotas", &in_namespace(namespace))?;
        let mut content = Content::default();
        let now = jiff::Timestamp::now();
        let mut first_err = None;
        for stored in &quotas.items {
            let quota = stored.value();
            let Some(status) = self.desired_status(&quota, namespace, &mut content, now)? else {
                continue;
            };
            let mut updated = quota.clone();
            updated["status"] = status;
            let name = stored.name.to_string();
            match self.objects.update(
                info,
                namespace,
                &name,
                updated,
                UpdateTarget::Status,
                &WriteParams::default(),
            ) {
                Ok(_) => {}
                Err(e) if e.reason == Reason::NotFound => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The status a quota should have, or `None` when it already has it.
    fn desired_status(
        &self,
        quota: &Value,
        namespace: &str,
        content: &mut Content,
        now: jiff::Timestamp,
    ) -> Result<Option<Value>, ApiError> {
        let spec_hard = parse_list(quota.pointer("/spec/hard"));
        let status_hard = parse_list(quota.pointer("/status/hard"));
        let status_used = parse_list(quota.pointer("/status/used"));
        let unset = |p: &str| quota.pointer(p).is_none_or(Value::is_null);
        let mut dirty = !lists_equal(&spec_hard, &status_hard)
            || unset("/status/hard")
            || unset("/status/used");
        let fresh = calculate_usage(
            self,
            namespace,
            &quota_scopes(quota),
            &spec_hard,
            content,
            now,
        )?;
        let mut used = status_used.clone();
        used.extend(fresh);
        let used = mask(&used, spec_hard.keys());
        dirty |= !lists_equal(&used, &status_used);
        Ok(dirty.then(|| json!({"hard": list_to_json(&spec_hard), "used": list_to_json(&used)})))
    }

    fn track(&self, event: &Event) {
        let namespace = event.object.namespace.to_string();
        let name = event.object.name.to_string();
        let mut tracked = self.tracked.lock();
        if event.kind == EventType::Deleted {
            if let Some(quotas) = tracked.get_mut(&namespace) {
                quotas.remove(&name);
                if quotas.is_empty() {
                    tracked.remove(&namespace);
                }
            }
            return;
        }
        let quota = event.object.value();
        let hard = parse_list(quota.pointer("/spec/hard"));
        let changed = match &event.prev {
            // Status writes (ours and admission's) are not a reason to sync, spec changes are.
            Some(prev) => !lists_equal(&parse_list(prev.value().pointer("/spec/hard")), &hard),
            None => true,
        };
        tracked
            .entry(namespace.clone())
            .or_default()
            .insert(name, hard.into_keys().collect());
        drop(tracked);
        if changed {
            self.queue.add(&namespace);
        }
    }

    /// Whether an event of a constrained object changes what a quota of its namespace counts.
    fn affects_usage(&self, info: &'static ResourceInfo, event: &Event) -> bool {
        let names: BTreeSet<String> = {
            let tracked = self.tracked.lock();
            let Some(quotas) = tracked.get(&*event.object.namespace) else {
                return false;
            };
            quotas.values().flatten().cloned().collect()
        };
        let evaluator = Evaluator::for_resource(info);
        if evaluator.matching_resources(&names).is_empty() {
            return false;
        }
        match (event.kind, &event.prev) {
            (EventType::Deleted, _) => true,
            (EventType::Modified, Some(prev)) => {
                let now = jiff::Timestamp::now();
                let before = evaluator.usage(&prev.value(), now);
                let after = evaluator.usage(&event.object.value(), now);
                !lists_equal(&before, &after)
            }
            _ => false,
        }
    }
}

impl Sink for ResourceQuotaController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if event.kind == EventType::Bookmark || !info.namespaced {
            return;
        }
        if info.store_key == "resourcequotas" {
            self.track(event);
        } else if self.affects_usage(info, event) {
            self.queue.add(&event.object.namespace);
        }
    }

    fn resync(&self) {
        let namespaces: Vec<String> = self.tracked.lock().keys().cloned().collect();
        for ns in namespaces {
            self.queue.add(&ns);
        }
    }
}

/// A namespace's objects, listed once per sync and shared by its quotas.
#[derive(Default)]
struct Content {
    by_resource: HashMap<&'static str, Vec<Value>>,
}

fn in_namespace(namespace: &str) -> ListOptions {
    ListOptions {
        filter: Filter {
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The usage of every resource in `hard` the controller can measure (upstream
/// `quota.CalculateUsage` over every evaluator).
fn calculate_usage(
    controller: &ResourceQuotaController,
    namespace: &str,
    scopes: &[ScopeRequirement],
    hard: &ResourceList,
    content: &mut Content,
    now: jiff::Timestamp,
) -> Result<ResourceList, ApiError> {
    let mut usage = ResourceList::new();
    let mut matched = BTreeSet::new();
    for info in RESOURCES.iter().filter(|i| i.namespaced) {
        let evaluator = Evaluator::for_resource(info);
        let names = evaluator.matching_resources(hard.keys());
        if names.is_empty() {
            continue;
        }
        let items = match content.by_resource.entry(info.store_key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let page = controller
                    .objects
                    .store()
                    .list(info.store_key, &in_namespace(namespace))?;
                e.insert(page.items.iter().map(|s| s.value()).collect())
            }
        };
        let mut stats: ResourceList = names
            .iter()
            .map(|n| (n.clone(), Quantity::default()))
            .collect();
        if let Evaluator::ObjectCount(_) = evaluator {
            // Upstream's object-count evaluator counts every object, scopes or not.
            for n in &names {
                stats.insert(n.clone(), Quantity::from_units(items.len() as i64));
            }
        } else {
            for item in items.iter() {
                if scopes.iter().all(|s| evaluator.matches_scope(s, item)) {
                    stats = add_lists(&stats, &evaluator.usage(item, now));
                }
            }
        }
        usage = add_lists(&usage, &stats);
        matched.extend(names);
    }
    Ok(mask(&usage, &matched))
}
