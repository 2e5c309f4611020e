//! The nominator (upstream `internal/queue.nominator`): pods that preemption nominated to a
//! node, waiting for their victims to leave. Filters account for them so that a lower-priority
//! pod does not take the room a preemptor freed.
//!
//! Its own lock, apart from the queue's: the filters read it on every node of every cycle while
//! the informer side writes the queue. A lock-free counter lets that hot path skip the lock
//! entirely in the common case of no nomination at all.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;

use super::super::framework::PodInfo;

/// Pods by the node they are nominated to.
#[derive(Debug, Default)]
pub(super) struct Nominator {
    inner: RwLock<Inner>,
    /// How many pods are nominated (read without the lock).
    count: AtomicUsize,
}

#[derive(Debug, Default)]
struct Inner {
    by_node: HashMap<String, Vec<Arc<PodInfo>>>,
    node_of: HashMap<String, String>,
}

impl Inner {
    fn delete(&mut self, uid: &str) -> bool {
        let Some(node) = self.node_of.remove(uid) else {
            return false;
        };
        if let Some(pods) = self.by_node.get_mut(&node) {
            pods.retain(|p| p.uid != uid);
            if pods.is_empty() {
                self.by_node.remove(&node);
            }
        }
        true
    }

    fn add(&mut self, pod: Arc<PodInfo>, node: String) {
        self.node_of.insert(pod.uid.clone(), node.clone());
        self.by_node.entry(node).or_default().push(pod);
    }
}

impl Nominator {
    /// Nominate `pod` to `node`; an empty `node` means the node the pod itself carries in
    /// `status.nominatedNodeName` (upstream `AddNominatedPod` with no nominating info), and
    /// nothing when it carries none. Replaces any earlier nomination of the pod.
    pub fn add(&self, pod: &Arc<PodInfo>, node: &str) {
        let node = if node.is_empty() {
            pod.nominated_node_name.as_str()
        } else {
            node
        };
        let mut inner = self.inner.write();
        inner.delete(&pod.uid);
        // A bound pod holds its node through the cache, not a nomination.
        if !node.is_empty() && pod.node_name.is_empty() {
            inner.add(pod.clone(), node.to_string());
        }
        self.count.store(inner.node_of.len(), Ordering::Release);
    }

    /// Forget the pod's nomination.
    pub fn delete(&self, uid: &str) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut inner = self.inner.write();
        if inner.delete(uid) {
            self.count.store(inner.node_of.len(), Ordering::Release);
        }
    }

    /// The pod object changed (upstream `UpdateNominatedPod`): keep the in-memory nomination
    /// when neither version carries one — an update that arrives right after preemption
    /// nominated the pod, before the `nominatedNodeName` write is seen — and otherwise follow
    /// the object.
    pub fn update(&self, old: &PodInfo, new: &Arc<PodInfo>) {
        if self.count.load(Ordering::Acquire) == 0 && new.nominated_node_name.is_empty() {
            return;
        }
        let mut inner = self.inner.write();
        let mut node = String::new();
        if old.nominated_node_name.is_empty()
            && new.nominated_node_name.is_empty()
            && let Some(n) = inner.node_of.get(&old.uid)
        {
            node = n.clone();
        }
        inner.delete(&old.uid);
        if node.is_empty() {
            node = new.nominated_node_name.clone();
        }
        if !node.is_empty() && new.node_name.is_empty() {
            inner.add(new.clone(), node);
        }
        self.count.store(inner.node_of.len(), Ordering::Release);
    }

    /// Pods nominated to `node` (no allocation when there are none).
    pub fn pods_for(&self, node: &str) -> Vec<Arc<PodInfo>> {
        if self.count.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        self.inner
            .read()
            .by_node
            .get(node)
            .cloned()
            .unwrap_or_default()
    }

    /// The node the pod is nominated to.
    pub fn node_of(&self, uid: &str) -> Option<String> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.inner.read().node_of.get(uid).cloned()
    }

    /// Whether any pod is nominated anywhere.
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::framework::testing;

    fn pod(name: &str, nominated: &str) -> Arc<PodInfo> {
        let mut v = testing::simple_pod(name, "", "");
        if !nominated.is_empty() {
            v["status"] = serde_json::json!({ "nominatedNodeName": nominated });
        }
        testing::pod(v)
    }

    #[test]
    fn add_follows_the_pod_or_the_given_node_and_replaces_the_earlier_one() {
        let n = Nominator::default();
        assert!(!n.any());
        n.add(&pod("a", ""), "");
        assert!(!n.any(), "no node given, none carried: not nominated");
        n.add(&pod("a", "node1"), "");
        assert_eq!(n.pods_for("node1").len(), 1);
        n.add(&pod("a", "node1"), "node2");
        assert!(n.pods_for("node1").is_empty());
        assert_eq!(n.pods_for("node2")[0].name, "a");
        assert_eq!(n.node_of("a").as_deref(), Some("node2"));
        n.delete("a");
        assert!(!n.any());
        assert!(n.node_of("a").is_none());
    }

    /// Upstream `TestPriorityQueue_UpdateNominatedPodForNode`'s cases.
    #[test]
    fn update_keeps_an_in_memory_nomination_unless_the_object_says_otherwise() {
        let n = Nominator::default();
        let old = pod("p", "");
        n.add(&old, "node1");
        // Neither version carries a nomination: keep node1.
        let newer = pod("p", "");
        n.update(&old, &newer);
        assert_eq!(n.node_of("p").as_deref(), Some("node1"));
        // The object now says node2: follow it.
        let with_node2 = pod("p", "node2");
        n.update(&newer, &with_node2);
        assert_eq!(n.node_of("p").as_deref(), Some("node2"));
        assert!(n.pods_for("node1").is_empty());
        // The object drops its nomination: forget it.
        n.update(&with_node2, &pod("p", ""));
        assert!(n.node_of("p").is_none());
    }
}
