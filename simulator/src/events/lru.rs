//! A bounded least-recently-used map, the counterpart of the `groupcache/lru` cache client-go's
//! event correlator keeps its state in. Bounded so that a simulator running for days keeps a flat
//! memory profile whatever it records: the least recently touched entry makes room.
//!
//! Entries live in a slab (`Vec`) threaded by a doubly linked list of indices, so a touch and an
//! eviction are O(1) and reuse the evicted slot instead of allocating.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

const NIL: usize = usize::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    /// Towards the most recent entry.
    prev: usize,
    /// Towards the least recent entry.
    next: usize,
}

/// A map holding at most `capacity` entries; touching (get or insert) makes an entry the most
/// recent, and inserting into a full map evicts the least recent one.
pub(crate) struct Lru<K, V> {
    index: HashMap<K, usize>,
    nodes: Vec<Node<K, V>>,
    /// Most recently used.
    head: usize,
    /// Least recently used: the next to go.
    tail: usize,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty map for at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            // Grow on demand: a recorder that sees few objects stays small.
            index: HashMap::new(),
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            capacity,
        }
    }

    /// How many entries the map holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The value under `key`, now the most recent entry.
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let at = *self.index.get(key)?;
        self.touch(at);
        Some(&mut self.nodes[at].value)
    }

    /// Store `value` under `key` as the most recent entry, evicting the least recent entry when
    /// the map is full.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        if let Some(&at) = self.index.get(&key) {
            self.nodes[at].value = value;
            self.touch(at);
            return;
        }
        let at = if self.nodes.len() < self.capacity {
            self.nodes.push(Node {
                key: key.clone(),
                value,
                prev: NIL,
                next: NIL,
            });
            self.nodes.len() - 1
        } else {
            // Reuse the least recent slot in place.
            let at = self.tail;
            self.unlink(at);
            let node = &mut self.nodes[at];
            self.index.remove(&node.key);
            node.key = key.clone();
            node.value = value;
            at
        };
        self.index.insert(key, at);
        self.push_front(at);
    }

    /// The value under `key`, inserting `make()` first when absent; either way the entry becomes
    /// the most recent.
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let at = match self.index.get(&key) {
            Some(&at) => {
                self.touch(at);
                at
            }
            None => {
                self.insert(key, make());
                self.head
            }
        };
        &mut self.nodes[at].value
    }

    fn touch(&mut self, at: usize) {
        if self.head != at {
            self.unlink(at);
            self.push_front(at);
        }
    }

    fn unlink(&mut self, at: usize) {
        let (prev, next) = (self.nodes[at].prev, self.nodes[at].next);
        match prev {
            NIL => self.head = next,
            p => self.nodes[p].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.nodes[n].prev = prev,
        }
        self.nodes[at].prev = NIL;
        self.nodes[at].next = NIL;
    }

    fn push_front(&mut self, at: usize) {
        self.nodes[at].prev = NIL;
        self.nodes[at].next = self.head;
        match self.head {
            NIL => self.tail = at,
            h => self.nodes[h].prev = at,
        }
        self.head = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_evicts_the_least_recently_used_entry() {
        let mut lru = Lru::new(2);
        lru.insert("a", 1);
        lru.insert("b", 2);
        // Touching "a" leaves "b" as the least recent.
        assert_eq!(lru.get_mut("a"), Some(&mut 1));
        lru.insert("c", 3);
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.get_mut("b"), None);
        assert_eq!(lru.get_mut("a"), Some(&mut 1));
        assert_eq!(lru.get_mut("c"), Some(&mut 3));
    }

    #[test]
    fn inserting_an_existing_key_replaces_and_touches_it() {
        let mut lru = Lru::new(2);
        lru.insert("a", 1);
        lru.insert("b", 2);
        lru.insert("a", 10);
        lru.insert("c", 3);
        assert_eq!(lru.get_mut("a"), Some(&mut 10));
        assert_eq!(lru.get_mut("b"), None);
    }

    #[test]
    fn get_or_insert_with_makes_only_when_absent() {
        let mut lru = Lru::new(3);
        *lru.get_or_insert_with("a", || 1) += 1;
        *lru.get_or_insert_with("a", || 100) += 1;
        assert_eq!(lru.get_mut("a"), Some(&mut 3));
    }

    #[test]
    fn the_map_stays_bounded_over_many_keys() {
        let mut lru = Lru::new(64);
        for i in 0..10_000u32 {
            lru.insert(i, i);
            assert!(lru.len() <= 64);
        }
        // The 64 most recent survive, in a consistent list.
        for i in 10_000 - 64..10_000 {
            assert_eq!(lru.get_mut(&i), Some(&mut i.clone()));
        }
        assert_eq!(lru.get_mut(&(10_000 - 65)), None);
        assert_eq!(lru.index.len(), 64);
    }

    #[test]
    fn a_capacity_of_zero_still_holds_one_entry() {
        let mut lru = Lru::new(0);
        lru.insert("a", 1);
        lru.insert("b", 2);
        assert_eq!(lru.len(), 1);
        assert_eq!(lru.get_mut("b"), Some(&mut 2));
    }
}
