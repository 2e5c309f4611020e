//! Which pods are bound to which node: upstream's informer index on `spec.nodeName`, which the
//! node lifecycle, taint eviction and pod GC controllers all share. Fed from the shared pod
//! watch (`spec.nodeName` is a selectable field, so no event is parsed), rebuilt from a list at
//! start and whenever events may have been lost.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::error::ApiError;
use crate::registry::ResourceInfo;
use crate::store::{Event, EventType, ListOptions, Storage, Stored};

use super::Sink;

/// A pod's `(namespace, name)`.
pub(crate) type PodKey = (String, String);

/// The pods bound to each node.
#[derive(Debug, Default)]
pub(crate) struct PodIndex {
    state: parking_lot::Mutex<IndexState>,
}

#[derive(Debug, Default)]
struct IndexState {
    by_node: HashMap<String, BTreeSet<PodKey>>,
    node_of: HashMap<PodKey, String>,
    /// Events at or below this revision are already reflected by the last rebuild.
    rebuilt_at: u64,
    /// Events were lost: rebuild before the next read.
    stale: bool,
}

impl IndexState {
    fn unbind(&mut self, key: &PodKey) {
        if let Some(node) = self.node_of.remove(key)
            && let Some(set) = self.by_node.get_mut(&node)
        {
            set.remove(key);
            if set.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }

    fn bind(&mut self, key: PodKey, node: &str) {
        if self.node_of.get(&key).is_some_and(|n| n == node) {
            return;
        }
        self.unbind(&key);
        self.by_node
            .entry(node.to_string())
            .or_default()
            .insert(key.clone());
        self.node_of.insert(key, node.to_string());
    }

    fn apply(&mut self, kind: EventType, pod: &Stored) {
        let key = (pod.namespace.to_string(), pod.name.to_string());
        let node = pod.field("spec.nodeName").unwrap_or("");
        if kind == EventType::Deleted || node.is_empty() {
            self.unbind(&key);
        } else {
            self.bind(key, node);
        }
    }
}

impl PodIndex {
    /// Replace the index with a fresh list of every pod.
    pub(crate) fn rebuild(&self, store: &dyn Storage) -> Result<(), ApiError> {
        // Held across the list so that no event slips between the list and the cut-off.
        let mut st = self.state.lock();
        let listed = store.list("pods", &ListOptions::default())?;
        let mut fresh = IndexState {
            rebuilt_at: listed.revision,
            ..Default::default()
        };
        for pod in &listed.items {
            fresh.apply(EventType::Added, pod);
        }
        *st = fresh;
        Ok(())
    }

    /// Rebuild first if events were lost.
    pub(crate) fn refresh(&self, store: &dyn Storage) {
        let stale = self.state.lock().stale;
        if stale && let Err(e) = self.rebuild(store) {
            tracing::warn!(error = %e, "could not rebuild the pod index; keeping it stale");
            self.state.lock().stale = true;
        }
    }

    /// The pods bound to `node`, sorted.
    pub(crate) fn pods_on(&self, node: &str) -> Vec<PodKey> {
        self.state
            .lock()
            .by_node
            .get(node)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every node some pod is bound to, sorted.
    pub(crate) fn nodes(&self) -> Vec<String> {
        let mut out: Vec<String> = self.state.lock().by_node.keys().cloned().collect();
        out.sort();
        out
    }
}

impl Sink for Arc<PodIndex> {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if info.store_key != "pods" {
            return;
        }
        let mut st = self.state.lock();
        if event.revision() <= st.rebuilt_at {
            return;
        }
        st.apply(event.kind, &event.object);
    }

    fn resync(&self) {
        self.state.lock().stale = true;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{MemoryStore, Preconditions};

    fn pod(name: &str, node: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"nodeName": node, "containers": []}})
    }

    #[test]
    fn tracks_binding_and_deletion_and_ignores_what_a_rebuild_covered() {
        let store = MemoryStore::new(Default::default());
        store.create("pods", "ns", "a", pod("a", "n1")).unwrap();
        let index = PodIndex::default();
        index.rebuild(&store).unwrap();
        assert_eq!(
            index.pods_on("n1"),
            vec![("ns".to_string(), "a".to_string())]
        );

        let b = store.create("pods", "ns", "b", pod("b", "")).unwrap();
        let bound = store
            .update("pods", "ns", "b", pod("b", "n2"), &Preconditions::default())
            .unwrap();
        let arc = Arc::new(index);
        let info = crate::registry::find("", "v1", "pods").unwrap();
        let ev = |kind, object: Arc<Stored>, prev| Event {
            kind,
            resource: "pods",
            object,
            prev,
        };
        arc.on_event(info, &ev(EventType::Added, b.clone(), None));
        arc.on_event(info, &ev(EventType::Modified, bound.clone(), Some(b)));
        assert_eq!(arc.nodes(), vec!["n1".to_string(), "n2".to_string()]);
        let gone = store
            .delete("pods", "ns", "a", &Preconditions::default())
            .unwrap();
        arc.on_event(info, &ev(EventType::Deleted, gone, None));
        assert!(arc.pods_on("n1").is_empty());
        assert_eq!(arc.nodes(), vec!["n2".to_string()]);

        // An old event replayed after a rebuild changes nothing.
        arc.rebuild(&store).unwrap();
        let stale = store.get("pods", "ns", "b").unwrap();
        let mut old = (*stale).clone();
        old.revision = 1;
        arc.on_event(info, &ev(EventType::Deleted, Arc::new(old), None));
        assert_eq!(arc.pods_on("n2").len(), 1);
    }
}
