//! Counts per topology pair (upstream `topologyToMatchedTermCount` and `scoreMap`): topology key
//! → topology value → count. A pod has a handful of terms, so the outer level is a short list
//! scanned linearly, and a lookup from a node's labels borrows `&str` without allocating — the
//! Filter path reads these once per node.

use std::collections::HashMap;
use std::sync::Arc;

use crate::scheduler::framework::{Labels, NodeInfo, NodeSums, Snapshot};

/// One node's contributions to counts: (topology key, topology value, amount), one entry per
/// matching term.
pub(crate) type Part = Vec<(String, String, i64)>;

/// Counts over the snapshot's nodes kept across cycles (see [`NodeSums`]): only nodes that
/// changed since the last cycle are visited again.
#[derive(Debug, Default)]
pub(crate) struct KeptCounts {
    sums: NodeSums<Part>,
    /// How many contributions each pair has: a pair stays while it has one, even at a zero sum
    /// (the score map's semantics; the filter counts only ever add positive amounts).
    hits: HashMap<(String, String), usize>,
    /// The counts, as the cycle state takes them.
    pub(crate) counts: Arc<TopologyCounts>,
}

impl KeptCounts {
    /// Bring the counts up to date with `snapshot`; `part` is one node's contributions.
    pub(crate) fn sync(&mut self, snapshot: &Snapshot, part: impl FnMut(&NodeInfo) -> Part) {
        let (hits, counts) = (&mut self.hits, &mut self.counts);
        self.sums.sync(&snapshot.nodes, part, |part, sign| {
            if part.is_empty() {
                return;
            }
            let counts = Arc::make_mut(counts);
            for (key, value, amount) in part {
                let pair = (key.clone(), value.clone());
                let n = hits.entry(pair).or_insert(0);
                *n = n.saturating_add_signed(sign as isize);
                if *n == 0 {
                    hits.remove(&(key.clone(), value.clone()));
                    counts.remove(key, value);
                } else {
                    counts.add_keeping_zero(key, value, amount * sign);
                }
            }
        });
    }
}

/// Topology value → count. Filter looks a node's value up once per node per key: foldhash
/// rather than SipHash (the keys are node label values, not attacker-chosen request input).
pub(crate) type ValueCounts = HashMap<String, i64, foldhash::fast::RandomState>;

/// Counts by topology key, then topology value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TopologyCounts {
    by_key: Vec<(String, ValueCounts)>,
}

impl TopologyCounts {
    /// Whether no pair has an entry (upstream `len(m) == 0`).
    pub(crate) fn is_empty(&self) -> bool {
        self.by_key.iter().all(|(_, m)| m.is_empty())
    }

    /// The count of one pair, 0 when absent.
    pub(crate) fn get(&self, key: &str, value: &str) -> i64 {
        self.values(key)
            .and_then(|m| m.get(value))
            .copied()
            .unwrap_or(0)
    }

    /// The values of one topology key.
    pub(crate) fn values(&self, key: &str) -> Option<&ValueCounts> {
        self.by_key.iter().find(|(k, _)| k == key).map(|(_, m)| m)
    }

    /// Every key with its values.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &ValueCounts)> {
        self.by_key.iter().map(|(k, m)| (k.as_str(), m))
    }

    fn slot(&mut self, key: &str) -> &mut ValueCounts {
        let i = match self.by_key.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.by_key.push((key.to_string(), ValueCounts::default()));
                self.by_key.len() - 1
            }
        };
        &mut self.by_key[i].1
    }

    /// Add `delta` to the pair and drop it when it reaches zero, as the filter's counts do
    /// (a preemption dry run adds and removes the same pods).
    pub(crate) fn add(&mut self, key: &str, value: &str, delta: i64) {
        let m = self.slot(key);
        match m.get_mut(value) {
            Some(c) => {
                *c += delta;
                if *c == 0 {
                    m.remove(value);
                }
            }
            None if delta != 0 => {
                m.insert(value.to_string(), delta);
            }
            None => {}
        }
    }

    /// Forget the pair.
    pub(crate) fn remove(&mut self, key: &str, value: &str) {
        if let Some(m) = self
            .by_key
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m)
        {
            m.remove(value);
        }
    }

    /// Add `delta` to the pair, keeping zero entries, as the score's map does (a key present
    /// with a zero sum still makes NormalizeScore run, upstream).
    pub(crate) fn add_keeping_zero(&mut self, key: &str, value: &str, delta: i64) {
        *self.slot(key).entry(value.to_string()).or_insert(0) += delta;
    }

    /// `add` on the pair (`key`, the node's value for `key`), when the node has the label
    /// (upstream `topologyToMatchedTermCount.update`).
    pub(crate) fn add_for_node(&mut self, node_labels: &Labels, key: &str, delta: i64) {
        if let Some(value) = node_labels.get(key) {
            self.add(key, value, delta);
        }
    }

    /// Whether the node has a label whose pair has a positive count.
    pub(crate) fn any_positive_on(&self, node_labels: &Labels) -> bool {
        self.by_key.iter().any(|(k, m)| {
            !m.is_empty()
                && node_labels
                    .get(k.as_str())
                    .is_some_and(|v| m.get(v.as_str()).is_some_and(|&c| c > 0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_that_returns_to_zero_is_forgotten() {
        let mut c = TopologyCounts::default();
        c.add("zone", "z1", 1);
        c.add("zone", "z1", 1);
        assert_eq!(c.get("zone", "z1"), 2);
        c.add("zone", "z1", -2);
        assert!(c.is_empty());
        assert_eq!(c.get("zone", "z1"), 0);
    }

    #[test]
    fn score_entries_keep_zero_sums() {
        let mut c = TopologyCounts::default();
        c.add_keeping_zero("zone", "z1", 3);
        c.add_keeping_zero("zone", "z1", -3);
        assert!(!c.is_empty());
        assert_eq!(c.get("zone", "z1"), 0);
    }

    #[test]
    fn a_node_is_hit_only_through_a_label_it_has() {
        let mut c = TopologyCounts::default();
        c.add("zone", "z1", 1);
        let labels = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(c.any_positive_on(&labels(&[("zone", "z1")])));
        assert!(!c.any_positive_on(&labels(&[("zone", "z2")])));
        assert!(!c.any_positive_on(&labels(&[("region", "z1")])));
    }
}
