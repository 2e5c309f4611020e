//! The namespace controller (upstream `pkg/controller/namespace`): once a namespace is being
//! deleted, delete everything in it through [`Objects::delete`] (so graceful deletion and
//! finalizers apply), report progress in the namespace's deletion conditions, and when nothing
//! is left remove the `kubernetes` finalizer, which lets the namespace go.
//!
//! A namespace is synced when its deletion starts, whenever an object in it goes away, and after
//! upstream's estimate of how long the remaining content needs (half the longest pod grace
//! period, or 15 s for finalizers), whichever comes first.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Sink, WorkQueue};
use crate::admission::is_terminating;
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::error::{ApiError, Reason};
use crate::registry::{RESOURCES, ResourceInfo, UpdateTarget, find};
use crate::store::{Event, EventType, Filter, ListOptions};

/// The finalizer token this controller owns in `spec.finalizers`.
const FINALIZER: &str = "kubernetes";
/// Upstream's estimate for content held by finalizers.
const FINALIZER_ESTIMATE_SECONDS: i64 = 15;
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);

/// The deletion conditions upstream maintains, in its order, with the reason and message each
/// has when all is well.
const CONDITIONS: &[(&str, &str, &str)] = &[
    (
        "NamespaceDeletionDiscoveryFailure",
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    (
        "NamespaceDeletionGroupVersionParsingFailure",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    (
        "NamespaceContentRemaining",
        "ContentRemoved",
        "All content successfully removed",
    ),
    (
        "NamespaceFinalizersRemaining",
        "ContentHasNoFinalizers",
        "All content-preserving finalizers finished",
    ),
];

/// Empties and finalizes namespaces being deleted.
pub struct NamespaceController {
    objects: Arc<Objects>,
    queue: WorkQueue,
    /// Namespaces with a deletion timestamp: events in them are worth a sync.
    terminating: parking_lot::Mutex<HashSet<String>>,
}

impl std::fmt::Debug for NamespaceController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceController")
            .finish_non_exhaustive()
    }
}

/// What one pass over a namespace's content found (upstream `allGVRDeletionMetadata`).
#[derive(Debug, Default)]
struct Remaining {
    /// Seconds until the content is expected to be gone; 0 when nothing is pending.
    estimate: i64,
    /// `pods.` / `deployments.apps` → objects still present.
    by_resource: BTreeMap<String, usize>,
    /// Finalizer → objects still carrying it.
    by_finalizer: BTreeMap<String, usize>,
    errors: Vec<String>,
}

impl NamespaceController {
    /// A controller acting through `objects`; it does nothing until fed events and run.
    pub fn new(objects: Arc<Objects>) -> Self {
        Self {
            objects,
            queue: WorkQueue::default(),
            terminating: Default::default(),
        }
    }

    /// Sync queued namespaces until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        while let Some(batch) = self.queue.next_batch(&shutdown).await {
            for ns in batch {
                match self.sync(&ns) {
                    Ok(Some(after)) => self.queue.add_after(&ns, after),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(namespace = ns, error = %e, "namespace deletion failed; retrying");
                        self.queue.add_after(&ns, RETRY_AFTER_ERROR);
                    }
                }
            }
        }
    }

    /// One deletion pass (upstream `namespacedResourcesDeleter.Delete`). Returns when to look
    /// again if content remains.
    pub fn sync(&self, name: &str) -> Result<Option<Duration>, ApiError> {
        let ns = match self.objects.store().get("namespaces", "", name) {
            Ok(ns) => ns.value(),
            Err(e) if e.reason == Reason::NotFound => {
                self.terminating.lock().remove(name);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if !has_deletion_timestamp(&ns) {
            self.terminating.lock().remove(name);
            return Ok(None);
        }
        let spec_finalizers: Vec<String> = ns
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
        if spec_finalizers.is_empty() {
            // Already finalized: let it go once its metadata finalizers are gone too.
            self.objects.finalize_namespace(name, Vec::new())?;
            return Ok(None);
        }
        if !spec_finalizers.iter().any(|f| f == FINALIZER) {
            return Ok(None);
        }
        let remaining = self.delete_content(name);
        self.update_conditions(name, &ns, &remaining)?;
        if !remaining.errors.is_empty() {
            return Err(ApiError::internal(remaining.errors.join(", ")));
        }
        if remaining.estimate > 0 {
            return Ok(Some(Duration::from_secs(
                (remaining.estimate / 2 + 1) as u64,
            )));
        }
        // Upstream keeps the other tokens, sorted and de-duplicated.
        let rest: BTreeSet<String> = spec_finalizers
            .into_iter()
            .filter(|f| f != FINALIZER)
            .collect();
        match self
            .objects
            .finalize_namespace(name, rest.into_iter().collect())
        {
            Ok(_) => {}
            Err(e) if e.reason == Reason::NotFound => {}
            Err(e) => return Err(e),
        }
        self.terminating.lock().remove(name);
        Ok(None)
    }

    /// Delete every namespaced object in `namespace` and measure what is left (upstream
    /// `deleteAllContent`).
    fn delete_content(&self, namespace: &str) -> Remaining {
        let store = self.objects.store();
        let opts = ListOptions {
            filter: Filter {
                namespace: Some(namespace.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut out = Remaining::default();
        let delete = DeleteParams {
            propagation_policy: Some("Background".into()),
            ..Default::default()
        };
        for info in RESOURCES.iter().filter(|i| i.namespaced) {
            let items = match store.list(info.store_key, &opts) {
                Ok(page) => page.items,
                Err(e) => {
                    out.errors.push(e.message);
                    continue;
                }
            };
            if items.is_empty() {
                continue;
            }
            let mut estimate = 0;
            for stored in &items {
                let obj = stored.value();
                if info.store_key == "pods" {
                    estimate = estimate.max(pod_grace_estimate(&obj));
                }
                if has_deletion_timestamp(&obj) {
                    continue;
                }
                match self.objects.delete(info, namespace, &stored.name, &delete) {
                    Ok(_) => {}
                    Err(e) if matches!(e.reason, Reason::NotFound | Reason::Conflict) => {}
                    Err(e) => out.errors.push(e.message),
                }
            }
            let left = match store.list(info.store_key, &opts) {
                Ok(page) => page.items,
                Err(e) => {
                    out.errors.push(e.message);
                    continue;
                }
            };
            if left.is_empty() {
                continue;
            }
            let mut finalizers = BTreeMap::<String, usize>::new();
            for stored in &left {
                let obj = stored.value();
                for f in obj
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(f) = f.as_str() {
                        *finalizers.entry(f.to_string()).or_default() += 1;
                    }
                }
            }
            if estimate == 0 && !finalizers.is_empty() {
                estimate = FINALIZER_ESTIMATE_SECONDS;
            }
            if estimate == 0 {
                out.errors.push(format!(
                    "unexpected items still remain in namespace: {namespace} for gvr: {}",
                    gvr(info)
                ));
            }
            out.estimate = out.estimate.max(estimate);
            out.by_resource
                .insert(format!("{}.{}", info.plural, info.group), left.len());
            for (f, n) in finalizers {
                *out.by_finalizer.entry(f).or_default() += n;
            }
        }
        out
    }

    /// Write the deletion conditions if they changed (upstream `namespaceConditionUpdater`).
    fn update_conditions(
        &self,
        name: &str,
        ns: &Value,
        remaining: &Remaining,
    ) -> Result<(), ApiError> {
        let mut failing: BTreeMap<&str, (&str, String)> = BTreeMap::new();
        if !remaining.errors.is_empty() {
            let mut msgs = remaining.errors.clone();
            msgs.sort();
            failing.insert(
                "NamespaceDeletionContentFailure",
                (
                    "ContentDeletionFailed",
                    format!(
                        "Failed to delete all resource types, {} remaining: {}",
                        msgs.len(),
                        msgs.join(", ")
                    ),
                ),
            );
        }
        if !remaining.by_resource.is_empty() {
            let parts: Vec<String> = remaining
                .by_resource
                .iter()
                .map(|(r, n)| format!("{r} has {n} resource instances"))
                .collect();
            failing.insert(
                "NamespaceContentRemaining",
                (
                    "SomeResourcesRemain",
                    format!("Some resources are remaining: {}", parts.join(", ")),
                ),
            );
        }
        if !remaining.by_finalizer.is_empty() {
            let parts: Vec<String> = remaining
                .by_finalizer
                .iter()
                .map(|(f, n)| format!("{f} in {n} resource instances"))
                .collect();
            failing.insert(
                "NamespaceFinalizersRemaining",
                (
                    "SomeFinalizersRemain",
                    format!(
                        "Some content in the namespace has finalizers remaining: {}",
                        parts.join(", ")
                    ),
                ),
            );
        }
        let mut conditions: Vec<Value> = ns
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let mut changed = false;
        for (kind, ok_reason, ok_message) in CONDITIONS {
            let (status, reason, message) = match failing.get(kind) {
                Some((reason, message)) => ("True", *reason, message.clone()),
                None => ("False", *ok_reason, ok_message.to_string()),
            };
            match conditions
                .iter_mut()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
            {
                None => {
                    conditions.push(
                        json!({"type": kind, "status": status, "lastTransitionTime": now,
                        "reason": reason, "message": message}),
                    );
                    changed = true;
                }
                Some(old) => {
                    let same = |k: &str, v: &str| old.get(k).and_then(Value::as_str) == Some(v);
                    if !(same("status", status)
                        && same("reason", reason)
                        && same("message", &message))
                    {
                        if !same("status", status) {
                            old["lastTransitionTime"] = json!(now);
                        }
                        old["status"] = json!(status);
                        old["reason"] = json!(reason);
                        old["message"] = json!(message);
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            return Ok(());
        }
        let info = find("", "v1", "namespaces").expect("namespaces are served");
        let mut updated = ns.clone();
        updated["status"]["conditions"] = Value::Array(conditions);
        match self.objects.update(
            info,
            "",
            name,
            updated,
            UpdateTarget::Status,
            &WriteParams::default(),
        ) {
            Ok(_) => Ok(()),
            // Someone else wrote meanwhile; the next pass writes the conditions again.
            Err(e) if matches!(e.reason, Reason::Conflict | Reason::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Sink for NamespaceController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if info.store_key == "namespaces" {
            let name = &*event.object.name;
            if event.kind == EventType::Deleted {
                self.terminating.lock().remove(name);
            } else if matches!(event.kind, EventType::Added | EventType::Modified)
                && is_terminating(&event.object.value())
            {
                self.terminating.lock().insert(name.to_string());
                self.queue.add(name);
            }
            return;
        }
        if event.kind == EventType::Deleted && info.namespaced {
            let ns = &*event.object.namespace;
            if self.terminating.lock().contains(ns) {
                self.queue.add(ns);
            }
        }
    }

    fn resync(&self) {
        let names: Vec<String> = self.terminating.lock().iter().cloned().collect();
        for ns in names {
            self.queue.add(&ns);
        }
    }
}

fn has_deletion_timestamp(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// Upstream's graceful-termination estimate for one pod: its grace period unless it finished.
fn pod_grace_estimate(pod: &Value) -> i64 {
    if matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    ) {
        return 0;
    }
    pod.pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0)
}

/// A resource as upstream prints a `GroupVersionResource` (`/v1, Resource=pods`).
fn gvr(info: &ResourceInfo) -> String {
    format!("{}/{}, Resource={}", info.group, info.version, info.plural)
}
