//! Sums over the snapshot's nodes kept from one cycle to the next. Upstream's InterPodAffinity
//! and PodTopologySpread PreFilter/PreScore count matching pods over every node on every cycle
//! (in 16 goroutines); between two cycles of the same kind of pod, only the node the last pod
//! was assumed to has changed. [`NodeSums`] remembers each node's part of a sum together with
//! the node it was computed from, and on the next cycle recomputes only the parts of nodes that
//! are no longer the same.
//!
//! "The same" is pointer identity of the `Arc<NodeInfo>`: the cache copies a node on write
//! (`Arc::make_mut`) while anyone else holds it, and [`NodeSums`] holds every node it counted,
//! so a changed node is always a new `Arc`. The sums are therefore exactly what a full recount
//! over the snapshot gives, whatever snapshot they are synced with (another snapshot's nodes
//! are simply all "changed").
//!
//! [`Memo`] keeps a few such sums keyed by what they depend on (a pod's namespace and labels, a
//! selector, …), most recently used first.

use std::sync::Arc;

use super::node_info::NodeInfo;

/// Each node's part of a sum, with the node it was computed from, by position in the node
/// list.
#[derive(Debug)]
pub struct NodeSums<P> {
    seen: Vec<Arc<NodeInfo>>,
    parts: Vec<P>,
}

impl<P> Default for NodeSums<P> {
    fn default() -> Self {
        Self {
            seen: Vec::new(),
            parts: Vec::new(),
        }
    }
}

impl<P> NodeSums<P> {
    /// Bring the sum up to date with `nodes`: for every position whose node is not the one
    /// counted last time, take the old part out (`apply(old, -1)`), compute the new one with
    /// `part` and put it in (`apply(new, 1)`). Returns how many positions changed (0: the sum
    /// is the same as after the last sync).
    pub fn sync(
        &mut self,
        nodes: &[Arc<NodeInfo>],
        mut part: impl FnMut(&NodeInfo) -> P,
        mut apply: impl FnMut(&P, i64),
    ) -> usize {
        let mut changed = 0;
        while self.seen.len() > nodes.len() {
            self.seen.pop();
            if let Some(old) = self.parts.pop() {
                apply(&old, -1);
            }
            changed += 1;
        }
        for (i, node) in nodes.iter().enumerate() {
            if let Some(seen) = self.seen.get(i) {
                if Arc::ptr_eq(seen, node) {
                    continue;
                }
                apply(&self.parts[i], -1);
                let new = part(node);
                apply(&new, 1);
                self.parts[i] = new;
                self.seen[i] = node.clone();
            } else {
                let new = part(node);
                apply(&new, 1);
                self.parts.push(new);
                self.seen.push(node.clone());
            }
            changed += 1;
        }
        changed
    }

    /// Every node's part, in node order (as of the last sync).
    pub fn parts(&self) -> &[P] {
        &self.parts
    }
}

/// A few values keyed by what they were computed for, most recently used first; the least
/// recently used is dropped beyond the capacity.
#[derive(Debug)]
pub struct Memo<K, V> {
    entries: Vec<(K, V)>,
    capacity: usize,
}

impl<K: PartialEq, V> Memo<K, V> {
    /// An empty memo holding at most `capacity` values.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// The value for `key`, made by `make` when absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        match self.entries.iter().position(|(k, _)| *k == key) {
            Some(0) => {}
            Some(i) => {
                let e = self.entries.remove(i);
                self.entries.insert(0, e);
            }
            None => {
                if self.entries.len() >= self.capacity {
                    self.entries.pop();
                }
                self.entries.insert(0, (key, make()));
            }
        }
        &mut self.entries[0].1
    }

    /// How many values are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod};

    fn node_with(name: &str, pods: usize) -> Arc<NodeInfo> {
        let pods: Vec<_> = (0..pods)
            .map(|i| pod(simple_pod(&format!("{name}-{i}"), "", "")))
            .collect();
        Arc::new(node(simple_node(name, "4", "8Gi", &[]), &pods))
    }

    fn pods_total(sums: &mut NodeSums<usize>, nodes: &[Arc<NodeInfo>], total: &mut i64) -> usize {
        sums.sync(
            nodes,
            |n| n.pods.len(),
            |p, sign| *total += *p as i64 * sign,
        )
    }

    #[test]
    fn only_changed_nodes_are_recounted_and_the_total_matches_a_recount() {
        let mut nodes = vec![node_with("a", 1), node_with("b", 2), node_with("c", 0)];
        let (mut sums, mut total) = (NodeSums::default(), 0);
        assert_eq!(pods_total(&mut sums, &nodes, &mut total), 3);
        assert_eq!(total, 3);
        assert_eq!(pods_total(&mut sums, &nodes, &mut total), 0);
        // A pod assumed onto c (a new Arc, as the cache's copy on write makes), then forgotten.
        let mut c = (*nodes[2]).clone();
        c.add_pod(pod(simple_pod("assumed", "", "")));
        nodes[2] = Arc::new(c.clone());
        assert_eq!(pods_total(&mut sums, &nodes, &mut total), 1);
        assert_eq!(total, 4);
        assert!(c.remove_pod("assumed"));
        nodes[2] = Arc::new(c);
        assert_eq!(pods_total(&mut sums, &nodes, &mut total), 1);
        assert_eq!(total, 3);
        // A node removed, another snapshot order.
        nodes.remove(0);
        nodes.reverse();
        pods_total(&mut sums, &nodes, &mut total);
        assert_eq!(total, 2);
        assert_eq!(sums.parts(), &[0, 2]);
    }

    #[test]
    fn the_memo_keeps_the_most_recently_used() {
        let mut m: Memo<u32, &str> = Memo::new(2);
        m.get_or_insert_with(1, || "one");
        m.get_or_insert_with(2, || "two");
        assert_eq!(*m.get_or_insert_with(1, || "new one"), "one");
        m.get_or_insert_with(3, || "three");
        assert_eq!(m.len(), 2);
        assert_eq!(*m.get_or_insert_with(2, || "two again"), "two again");
        assert_eq!(*m.get_or_insert_with(3, || "three again"), "three");
    }
}
