//! A binary heap of queued pods addressable by pod uid (upstream `internal/heap.Heap`): the
//! active queue and the backoff queue both need "pop the first" and "find, update or delete
//! this pod" in O(log n).
//!
//! The order is not stored in the heap: every operation that moves entries takes the `less`
//! function, so the active queue can order through the profile's QueueSort plugin and the
//! backoff queue by backoff expiry without two heap types.

use std::collections::HashMap;

use super::super::framework::QueuedPodInfo;

/// Pods in heap order, with each pod's position by uid.
#[derive(Debug, Default)]
pub(super) struct PodHeap {
    items: Vec<QueuedPodInfo>,
    index: HashMap<String, usize>,
}

impl PodHeap {
    /// Number of pods.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the heap holds the pod with this uid.
    pub fn contains(&self, uid: &str) -> bool {
        self.index.contains_key(uid)
    }

    /// The pod with this uid.
    pub fn get(&self, uid: &str) -> Option<&QueuedPodInfo> {
        self.index.get(uid).map(|&i| &self.items[i])
    }

    /// The first pod in `less` order.
    pub fn peek(&self) -> Option<&QueuedPodInfo> {
        self.items.first()
    }

    /// Every pod, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &QueuedPodInfo> {
        self.items.iter()
    }

    /// Add a pod, or replace the one with the same uid (upstream `Heap.Add` is add-or-update).
    pub fn push(
        &mut self,
        item: QueuedPodInfo,
        less: impl Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool,
    ) {
        if let Some(&i) = self.index.get(item.pod.uid.as_str()) {
            self.items[i] = item;
            self.fix(i, &less);
            return;
        }
        let i = self.items.len();
        self.index.insert(item.pod.uid.clone(), i);
        self.items.push(item);
        self.up(i, &less);
    }

    /// Remove and return the first pod.
    pub fn pop(
        &mut self,
        less: impl Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool,
    ) -> Option<QueuedPodInfo> {
        if self.items.is_empty() {
            return None;
        }
        Some(self.remove_at(0, &less))
    }

    /// Remove the pod with this uid.
    pub fn remove(
        &mut self,
        uid: &str,
        less: impl Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool,
    ) -> Option<QueuedPodInfo> {
        let i = *self.index.get(uid)?;
        Some(self.remove_at(i, &less))
    }

    fn remove_at(
        &mut self,
        i: usize,
        less: &impl Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool,
    ) -> QueuedPodInfo {
        let last = self.items.len() - 1;
        self.swap(i, last);
        let item = self.items.pop().expect("the heap is not empty");
        self.index.remove(item.pod.uid.as_str());
        if i < self.items.len() {
            self.fix(i, less);
        }
        item
    }

    fn fix(&mut self, i: usize, less: &impl Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool) {
        if !self.down(i, less) {
            self.up(i, less);
        }
    }

    fn up(&mut self, mut i: usize, less: &impl Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !less(&self.items[i], &self.items[parent]) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    /// Sift down; whether the entry moved.
    fn down(
        &mut self,
        start: usize,
        less: &impl Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool,
    ) -> bool {
        let n = self.items.len();
        let mut i = start;
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let mut child = left;
            if left + 1 < n && less(&self.items[left + 1], &self.items[left]) {
                child = left + 1;
            }
            if !less(&self.items[child], &self.items[i]) {
                break;
            }
            self.swap(i, child);
            i = child;
        }
        i > start
    }

    fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        self.items.swap(a, b);
        *self
            .index
            .get_mut(self.items[a].pod.uid.as_str())
            .expect("every item is indexed") = a;
        *self
            .index
            .get_mut(self.items[b].pod.uid.as_str())
            .expect("every item is indexed") = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::framework::testing;

    fn queued(name: &str, priority: i64) -> QueuedPodInfo {
        let mut v = testing::simple_pod(name, "", "");
        v["spec"]["priority"] = priority.into();
        QueuedPodInfo {
            pod: testing::pod(v),
            initial_attempt: None,
            timestamp: tokio::time::Instant::now(),
            attempts: 0,
            unschedulable_plugins: Vec::new(),
            pending_plugins: Vec::new(),
        }
    }

    fn by_priority(a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        a.pod.priority > b.pod.priority
    }

    #[test]
    fn pops_in_order_and_finds_removes_and_replaces_by_uid() {
        let mut h = PodHeap::default();
        for (i, p) in [5, 1, 9, 3, 7, 2, 8].into_iter().enumerate() {
            h.push(queued(&format!("p{i}"), p), by_priority);
        }
        assert_eq!(h.len(), 7);
        assert!(h.contains("p2"));
        assert_eq!(h.remove("p2", by_priority).unwrap().pod.priority, 9);
        assert!(h.remove("p2", by_priority).is_none());
        // Replacing p1 (priority 1) with priority 10 moves it to the front.
        h.push(queued("p1", 10), by_priority);
        assert_eq!(h.len(), 6);
        assert_eq!(h.get("p1").unwrap().pod.priority, 10);
        let order: Vec<i32> = std::iter::from_fn(|| h.pop(by_priority))
            .map(|q| q.pod.priority)
            .collect();
        assert_eq!(order, vec![10, 8, 7, 5, 3, 2]);
        assert!(h.peek().is_none());
    }
}
