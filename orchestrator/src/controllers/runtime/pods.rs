//! The workload controllers' shared pod cache (upstream's pod informer with its indexes): every
//! pod parsed once per event into the few facts the controllers read, indexed by the uid of its
//! controller and, for pods with no controller, by namespace (the orphans an owner may adopt).
//! Each event is handed on to the controllers' [`PodListener`]s with the pod's previous facts,
//! so they can tell what changed without parsing it again.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Deserialize;

use crate::controllers::Sink;
use crate::error::ApiError;
use crate::registry::ResourceInfo;
use crate::store::{Event, EventType, ListOptions, Storage, Stored};

/// The annotation ranking a pod for deletion (upstream `PodDeletionCost`).
const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// A pod's `namespace/name`.
pub(crate) fn key_of(stored: &Stored) -> String {
    format!("{}/{}", stored.namespace, stored.name)
}

/// An `ownerReferences` entry with `controller: true`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ControllerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// What the workload controllers read of a pod.
#[derive(Debug)]
pub(crate) struct PodFacts {
    pub stored: Arc<Stored>,
    pub uid: String,
    pub controller: Option<ControllerRef>,
    pub phase: String,
    /// The `Ready` condition is True.
    pub ready: bool,
    /// When the `Ready` condition last changed (for availability with `minReadySeconds`).
    pub ready_since: Option<jiff::Timestamp>,
    pub deleting: bool,
    pub created: Option<jiff::Timestamp>,
    /// The highest restart count of its containers.
    pub restarts: i32,
    /// `controller.kubernetes.io/pod-deletion-cost` (0 when absent or not an int32).
    pub deletion_cost: i64,
}

impl PodFacts {
    /// Parse a stored pod.
    pub(crate) fn parse(stored: Arc<Stored>) -> Self {
        let raw: RawPod = serde_json::from_slice(&stored.bytes).unwrap_or_default();
        let controller = raw
            .metadata
            .owner_references
            .into_iter()
            .find(|r| r.controller == Some(true))
            .map(|r| ControllerRef {
                api_version: r.api_version,
                kind: r.kind,
                name: r.name,
                uid: r.uid,
            });
        let ready_cond = raw.status.conditions.iter().find(|c| c.type_ == "Ready");
        Self {
            uid: raw.metadata.uid,
            controller,
            phase: raw.status.phase,
            ready: ready_cond.is_some_and(|c| c.status == "True"),
            ready_since: ready_cond
                .and_then(|c| c.last_transition_time.as_deref())
                .and_then(|t| t.parse().ok()),
            deleting: raw.metadata.deletion_timestamp.is_some(),
            created: raw
                .metadata
                .creation_timestamp
                .as_deref()
                .and_then(|t| t.parse().ok()),
            restarts: raw
                .status
                .container_statuses
                .iter()
                .map(|c| c.restart_count)
                .max()
                .unwrap_or(0),
            deletion_cost: raw
                .metadata
                .annotations
                .get(DELETION_COST)
                .and_then(|v| v.parse::<i32>().ok())
                .map_or(0, i64::from),
            stored,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.stored.name
    }

    pub(crate) fn namespace(&self) -> &str {
        &self.stored.namespace
    }

    /// `namespace/name`.
    pub(crate) fn key(&self) -> String {
        key_of(&self.stored)
    }

    pub(crate) fn label(&self, key: &str) -> Option<&str> {
        self.stored.label(key)
    }

    pub(crate) fn node_name(&self) -> Option<&str> {
        self.stored.field("spec.nodeName").filter(|n| !n.is_empty())
    }

    /// Neither Succeeded nor Failed nor being deleted (upstream `IsPodActive`).
    pub(crate) fn is_active(&self) -> bool {
        self.phase != "Succeeded" && self.phase != "Failed" && !self.deleting
    }

    /// Ready for at least `min_ready_seconds` at `now` (upstream `IsPodAvailable`).
    pub(crate) fn is_available(&self, min_ready_seconds: i64, now: jiff::Timestamp) -> bool {
        if !self.ready {
            return false;
        }
        if min_ready_seconds <= 0 {
            return true;
        }
        self.ready_since
            .is_some_and(|since| since + jiff::SignedDuration::from_secs(min_ready_seconds) <= now)
    }
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPod {
    metadata: RawMeta,
    status: RawStatus,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawMeta {
    uid: String,
    owner_references: Vec<RawOwner>,
    deletion_timestamp: Option<String>,
    creation_timestamp: Option<String>,
    annotations: HashMap<String, String>,
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

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawStatus {
    phase: String,
    conditions: Vec<RawCondition>,
    container_statuses: Vec<RawContainerStatus>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawCondition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    last_transition_time: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawContainerStatus {
    restart_count: i32,
}

/// A controller hearing pod changes from the cache, after the cache has applied them.
pub(crate) trait PodListener: Send + Sync + 'static {
    /// A pod was added (`old` None), changed, or deleted (`new` None).
    fn on_pod(&self, old: Option<&PodFacts>, new: Option<&PodFacts>);
}

/// Every pod's facts, by controller uid and (for orphans) by namespace.
pub(crate) struct PodCache {
    store: Arc<dyn Storage>,
    state: parking_lot::RwLock<CacheState>,
    listeners: parking_lot::RwLock<Vec<Arc<dyn PodListener>>>,
}

impl std::fmt::Debug for PodCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodCache")
            .field("pods", &self.state.read().pods.len())
            .finish()
    }
}

#[derive(Default)]
struct CacheState {
    pods: HashMap<String, Arc<PodFacts>>,
    by_controller: HashMap<String, BTreeSet<String>>,
    orphans: HashMap<String, BTreeSet<String>>,
    /// Events at or below this revision are already reflected by the last rebuild.
    rebuilt_at: u64,
}

impl CacheState {
    fn unindex(&mut self, key: &str, pod: &PodFacts) {
        let (map, index) = match &pod.controller {
            Some(c) => (&mut self.by_controller, c.uid.as_str()),
            None => (&mut self.orphans, pod.namespace()),
        };
        if let Some(set) = map.get_mut(index) {
            set.remove(key);
            if set.is_empty() {
                map.remove(index);
            }
        }
    }

    fn index(&mut self, key: &str, pod: &PodFacts) {
        let (map, index) = match &pod.controller {
            Some(c) => (&mut self.by_controller, c.uid.clone()),
            None => (&mut self.orphans, pod.namespace().to_string()),
        };
        map.entry(index).or_default().insert(key.to_string());
    }

    /// Apply one change; the pod's previous facts.
    fn apply(&mut self, key: &str, new: Option<Arc<PodFacts>>) -> Option<Arc<PodFacts>> {
        let old = self.pods.remove(key);
        if let Some(old) = &old {
            self.unindex(key, old);
        }
        if let Some(new) = new {
            self.index(key, &new);
            self.pods.insert(key.to_string(), new);
        }
        old
    }
}

impl PodCache {
    /// An empty cache of `store`'s pods, filled by [`Self::rebuild`] and the pod watch.
    pub(crate) fn new(store: Arc<dyn Storage>) -> Self {
        Self {
            store,
            state: Default::default(),
            listeners: Default::default(),
        }
    }

    /// Hear every change after it is applied. Listeners are added before the cache is fed.
    pub(crate) fn listen(&self, listener: Arc<dyn PodListener>) {
        self.listeners.write().push(listener);
    }

    /// Replace the cache with a fresh list of every pod (at start, and when events were lost).
    pub(crate) fn rebuild(&self, store: &dyn Storage) -> Result<(), ApiError> {
        let mut st = self.state.write();
        let listed = store.list("pods", &ListOptions::default())?;
        let mut fresh = CacheState {
            rebuilt_at: listed.revision,
            ..Default::default()
        };
        for pod in listed.items {
            let key = key_of(&pod);
            fresh.apply(&key, Some(Arc::new(PodFacts::parse(pod))));
        }
        *st = fresh;
        Ok(())
    }

    /// The pods whose controller has this uid.
    pub(crate) fn controlled_by(&self, uid: &str) -> Vec<Arc<PodFacts>> {
        let st = self.state.read();
        st.by_controller
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|k| st.pods.get(k).cloned())
            .collect()
    }

    /// The pods of `namespace` with no controller.
    pub(crate) fn orphans_in(&self, namespace: &str) -> Vec<Arc<PodFacts>> {
        let st = self.state.read();
        st.orphans
            .get(namespace)
            .into_iter()
            .flatten()
            .filter_map(|k| st.pods.get(k).cloned())
            .collect()
    }

    /// How many pods the cache holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state.read().pods.len()
    }
}

impl Sink for PodCache {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if info.store_key != "pods" {
            return;
        }
        let key = key_of(&event.object);
        let new = match event.kind {
            EventType::Added | EventType::Modified => {
                Some(Arc::new(PodFacts::parse(event.object.clone())))
            }
            EventType::Deleted => None,
            EventType::Bookmark => return,
        };
        let old = {
            let mut st = self.state.write();
            if event.revision() <= st.rebuilt_at {
                return;
            }
            st.apply(&key, new.clone())
        };
        for l in self.listeners.read().iter() {
            l.on_pod(old.as_deref(), new.as_deref());
        }
    }

    fn resync(&self) {
        if let Err(e) = self.rebuild(&*self.store) {
            tracing::warn!(error = %e, "could not list pods for the workload controllers");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, Storage};
    use serde_json::json;

    fn pod(store: &MemoryStore, name: &str, owner: Option<&str>, ready: bool) -> Arc<Stored> {
        let mut p = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
                         "labels": {"app": "web"}, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": if ready { "True" } else { "False" },
                 "lastTransitionTime": "2026-01-01T00:00:10Z"}],
                "containerStatuses": [{"name": "c", "restartCount": 3}]},
        });
        if let Some(uid) = owner {
            p["metadata"]["ownerReferences"] = json!([
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid, "controller": true}
            ]);
        }
        store.create("pods", "ns", name, p).unwrap()
    }

    #[test]
    fn facts_are_read_from_the_stored_pod() {
        let store = MemoryStore::default();
        let f = PodFacts::parse(pod(&store, "p", Some("rs-uid"), true));
        assert_eq!(f.uid, "uid-p");
        assert_eq!(f.controller.as_ref().unwrap().kind, "ReplicaSet");
        assert_eq!(f.controller.as_ref().unwrap().uid, "rs-uid");
        assert!(f.ready && f.is_active());
        assert_eq!(f.restarts, 3);
        assert_eq!(f.node_name(), Some("n1"));
        assert_eq!(f.label("app"), Some("web"));
        let since: jiff::Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        assert!(!f.is_available(5, since + jiff::SignedDuration::from_secs(4)));
        assert!(f.is_available(5, since + jiff::SignedDuration::from_secs(5)));
        assert!(f.is_available(0, since));
    }

    #[test]
    fn pods_are_indexed_by_controller_and_orphans_by_namespace() {
        let store = Arc::new(MemoryStore::default());
        pod(&store, "a", Some("rs-1"), true);
        pod(&store, "b", Some("rs-1"), false);
        pod(&store, "c", None, true);
        let cache = PodCache::new(store.clone());
        cache.rebuild(&*store).unwrap();
        let mut owned: Vec<_> = cache
            .controlled_by("rs-1")
            .iter()
            .map(|p| p.name().to_string())
            .collect();
        owned.sort();
        assert_eq!(owned, ["a", "b"]);
        let orphans = cache.orphans_in("ns");
        assert_eq!(orphans.len(), 1);
        assert_eq!(orphans[0].name(), "c");
        assert!(cache.orphans_in("other").is_empty());
    }

    struct Recorder(parking_lot::Mutex<Vec<(Option<String>, Option<String>)>>);
    impl PodListener for Recorder {
        fn on_pod(&self, old: Option<&PodFacts>, new: Option<&PodFacts>) {
            let owner = |p: Option<&PodFacts>| {
                p.map(|p| p.controller.as_ref().map_or("-".into(), |c| c.uid.clone()))
            };
            self.0.lock().push((owner(old), owner(new)));
        }
    }

    #[test]
    fn listeners_hear_each_change_with_the_previous_facts() {
        let store = Arc::new(MemoryStore::default());
        let cache = PodCache::new(store.clone());
        let rec = Arc::new(Recorder(Default::default()));
        cache.listen(rec.clone());
        let info = crate::registry::find("", "v1", "pods").unwrap();
        let added = pod(&store, "a", None, true);
        cache.on_event(
            info,
            &Event {
                kind: EventType::Added,
                resource: "pods",
                object: added.clone(),
                prev: None,
            },
        );
        let mut v = added.value();
        v["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ReplicationController", "name": "rc", "uid": "rc-1", "controller": true}]);
        let adopted = store
            .update("pods", "ns", "a", v, &Default::default())
            .unwrap();
        cache.on_event(
            info,
            &Event {
                kind: EventType::Modified,
                resource: "pods",
                object: adopted.clone(),
                prev: Some(added),
            },
        );
        cache.on_event(
            info,
            &Event {
                kind: EventType::Deleted,
                resource: "pods",
                object: adopted,
                prev: None,
            },
        );
        assert_eq!(
            *rec.0.lock(),
            vec![
                (None, Some("-".into())),
                (Some("-".into()), Some("rc-1".into())),
                (Some("rc-1".into()), None),
            ]
        );
        assert_eq!(cache.len(), 0);
        assert!(cache.orphans_in("ns").is_empty());
    }
}
