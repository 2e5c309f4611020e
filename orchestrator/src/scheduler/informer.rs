//! The scheduler's watches (upstream `eventhandlers.go`): pods and nodes from the store.
//!
//! - Bound pods go to the cache (confirming assumed pods); finished pods leave it, as upstream's
//!   informer excludes `Succeeded`/`Failed` pods.
//! - Unbound pods of our profiles go to the queue; an update that only touches `status` or
//!   `resourceVersion` is ignored (upstream `isPodUpdated`), so the scheduler's own
//!   PodScheduled=False write does not requeue the pod.
//! - Nodes go to the cache, and node changes become queue events.
//!
//! Parsing a pod is the expensive part, so updates that cannot matter are recognised from the
//! stored object's index (labels, `spec.nodeName`, `status.phase`) and skipped unparsed.
//!
//! A watch that falls behind resumes after the last event seen; one whose history expired
//! relists (a watch from "now" replays every object) and reconciles what vanished.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::framework::{ActionType, ClusterEvent, EventResource, Labels, PodInfo};
use super::task::Scheduler;
use crate::error::Reason;
use crate::store::{Event, EventType, Filter, Storage, Stored, WatchFrom};

/// Start the pod and node watches.
pub(crate) fn spawn(s: Arc<Scheduler>, shutdown: CancellationToken, tracker: &TaskTracker) {
    let store = s.objects_store();
    tracker.spawn(watch_loop(
        store.clone(),
        "nodes",
        Handler::Nodes(s.clone()),
        shutdown.clone(),
    ));
    tracker.spawn(watch_loop(store, "pods", Handler::Pods(s), shutdown));
}

enum Handler {
    Pods(Arc<Scheduler>),
    Nodes(Arc<Scheduler>),
}

impl Handler {
    fn on_event(&self, e: &Event, seen: Option<&mut HashSet<String>>) {
        match self {
            Handler::Pods(s) => on_pod(s, e, seen),
            Handler::Nodes(s) => on_node(s, e, seen),
        }
    }

    /// After a relist: drop what the replay did not mention.
    fn reconcile(&self, seen: &HashSet<String>) {
        match self {
            Handler::Pods(s) => {
                for uid in s.cache.pod_uids() {
                    if !seen.contains(&uid) && !s.cache.is_assumed(&uid) {
                        s.cache.remove_pod(&uid);
                    }
                }
            }
            Handler::Nodes(s) => {
                for name in s.cache.node_names() {
                    if !seen.contains(&name) {
                        s.cache.remove_node(&name);
                    }
                }
            }
        }
    }
}

async fn watch_loop(
    store: Arc<dyn Storage>,
    resource: &'static str,
    handler: Handler,
    shutdown: CancellationToken,
) {
    let mut from = WatchFrom::Now;
    loop {
        let relist = from == WatchFrom::Now;
        let mut watch = match store.watch(resource, Filter::default(), from) {
            Ok(w) => w,
            Err(e) if e.reason == Reason::Expired || e.reason == Reason::Gone => {
                from = WatchFrom::Now;
                continue;
            }
            Err(e) => {
                tracing::warn!(resource, error = %e, "scheduler watch failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let mut last = watch.revision;
        let mut seen = HashSet::new();
        for event in watch.backlog.drain(..) {
            last = last.max(event.revision());
            handler.on_event(&event, relist.then_some(&mut seen));
        }
        if relist {
            handler.reconcile(&seen);
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
            handler.on_event(&event, None);
        }
        from = WatchFrom::After(last);
    }
}

impl Scheduler {
    fn objects_store(&self) -> Arc<dyn Storage> {
        self.objects_ref().store().clone()
    }

    /// A namespace's labels; `None` if it does not exist.
    fn namespace_labels(&self, namespace: &str) -> Option<Labels> {
        super::framework::namespace_labels(self.objects_ref().store().as_ref(), namespace)
    }
}

fn field<'a>(s: &'a Stored, key: &str) -> &'a str {
    s.field(key).unwrap_or("")
}

fn is_terminal(s: &Stored) -> bool {
    matches!(field(s, "status.phase"), "Succeeded" | "Failed")
}

fn scheduler_name(s: &Stored) -> &str {
    match field(s, "spec.schedulerName") {
        "" => super::framework::DEFAULT_SCHEDULER_NAME,
        n => n,
    }
}

fn parse(stored: &Arc<Stored>) -> Option<PodInfo> {
    match PodInfo::from_stored(stored.clone()) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(pod = %stored.name, error = %e, "scheduler cannot parse a pod; ignoring it");
            None
        }
    }
}

const ASSIGNED_POD_DELETE: ClusterEvent = ClusterEvent {
    resource: EventResource::AssignedPod,
    action: ActionType::DELETE,
};

fn on_pod(s: &Scheduler, e: &Event, seen: Option<&mut HashSet<String>>) {
    let obj = &e.object;
    let bound = !field(obj, "spec.nodeName").is_empty();
    if e.kind == EventType::Deleted {
        let Some(pod) = parse(obj) else { return };
        if bound {
            s.cache.remove_pod(&pod.uid);
            s.queue.on_event(ASSIGNED_POD_DELETE);
        } else {
            s.queue.delete(&pod.uid);
        }
        return;
    }
    if bound {
        if let Some(prev) = &e.prev
            && field(prev, "spec.nodeName") == field(obj, "spec.nodeName")
            && is_terminal(prev) == is_terminal(obj)
            && prev.labels == obj.labels
            && seen.is_none()
        {
            // A status change of a running pod (the kubelet's): nothing the scheduler reads.
            return;
        }
        let Some(pod) = parse(obj) else { return };
        if let Some(seen) = seen {
            seen.insert(pod.uid.clone());
        }
        let was_unbound = e
            .prev
            .as_ref()
            .is_some_and(|p| field(p, "spec.nodeName").is_empty());
        if was_unbound {
            s.queue.delete(&pod.uid);
        }
        if pod.is_terminal() {
            s.cache.remove_pod(&pod.uid);
            s.queue.on_event(ASSIGNED_POD_DELETE);
            return;
        }
        // Upstream `AssignedPodAdded` / `AssignedPodUpdated`: a new or relabelled bound pod can
        // only help pods with a cross-node term (affinity selecting it, topology spread).
        let action = match &e.prev {
            Some(prev) if !was_unbound && field(prev, "spec.nodeName") == pod.node_name => {
                ActionType::UPDATE_POD_LABEL
            }
            _ => ActionType::ADD,
        };
        let pod = Arc::new(pod);
        s.cache.set_pod(pod.clone());
        let event = ClusterEvent {
            resource: EventResource::AssignedPod,
            action,
        };
        s.queue
            .on_assigned_pod(event, &pod, &|| s.namespace_labels(&pod.namespace));
        return;
    }
    if !s.has_profile(scheduler_name(obj)) || is_terminal(obj) {
        return;
    }
    if let Some(prev) = &e.prev
        && !spec_or_meta_changed(prev, obj)
    {
        return;
    }
    if let Some(pod) = parse(obj) {
        if e.kind == EventType::Added {
            s.queue.add(Arc::new(pod));
        } else {
            s.queue.update(Arc::new(pod));
        }
    }
}

/// Upstream `isPodUpdated`: whether anything but `status`, `resourceVersion`, `generation`
/// and `managedFields` changed.
fn spec_or_meta_changed(prev: &Stored, obj: &Stored) -> bool {
    if prev.labels != obj.labels {
        return true;
    }
    let strip = |s: &Stored| -> Value {
        let mut v = s.value();
        if let Some(o) = v.as_object_mut() {
            o.remove("status");
        }
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            m.remove("generation");
            m.remove("managedFields");
        }
        v
    };
    strip(prev) != strip(obj)
}

fn on_node(s: &Scheduler, e: &Event, seen: Option<&mut HashSet<String>>) {
    let name = e.object.name.to_string();
    if e.kind == EventType::Deleted {
        s.cache.remove_node(&name);
        return;
    }
    if let Some(seen) = seen {
        seen.insert(name.clone());
    }
    match s.cache.set_node(e.object.clone()) {
        Ok(Some(action)) => s.queue.on_event(ClusterEvent {
            resource: EventResource::Node,
            action: if e.kind == EventType::Added {
                ActionType::ADD
            } else {
                action
            },
        }),
        Ok(None) => {}
        Err(err) => {
            tracing::warn!(node = name, error = %err, "scheduler cannot parse a node; ignoring it")
        }
    }
}
