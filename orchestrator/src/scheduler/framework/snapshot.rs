//! The nodes one scheduling cycle sees (upstream `internal/cache.Snapshot`): an immutable view
//! for the cycle, refreshed from the cache before each cycle by copying only the nodes whose
//! generation changed (see `cache.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use super::node_info::NodeInfo;

/// Every node with its pods, in a stable order (the cache's), plus the indexes plugins need.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Every node, in the cache's order.
    pub nodes: Vec<Arc<NodeInfo>>,
    /// Index into `nodes` by name.
    pub index: HashMap<String, usize>,
    /// Indexes into `nodes` of nodes that have a pod with any (anti-)affinity term.
    pub with_affinity: Vec<usize>,
    /// Indexes into `nodes` of nodes that have a pod with a required anti-affinity term.
    pub with_required_anti_affinity: Vec<usize>,
    /// The cache generation this snapshot reflects.
    pub generation: u64,
}

impl Snapshot {
    /// A snapshot of exactly these nodes (tests and benchmarks; the scheduler refreshes its
    /// snapshot incrementally from the cache).
    pub fn from_nodes(nodes: Vec<NodeInfo>) -> Self {
        let mut s = Snapshot::default();
        for n in nodes {
            s.generation = s.generation.max(n.generation);
            s.nodes.push(Arc::new(n));
        }
        s.reindex();
        s
    }

    /// Rebuild `index`, the affinity lists and images' `num_nodes` from `nodes`.
    pub fn reindex(&mut self) {
        self.index = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        self.with_affinity = (0..self.nodes.len())
            .filter(|&i| !self.nodes[i].pods_with_affinity.is_empty())
            .collect();
        self.with_required_anti_affinity = (0..self.nodes.len())
            .filter(|&i| !self.nodes[i].pods_with_required_anti_affinity.is_empty())
            .collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for n in &self.nodes {
            for name in n.images.keys() {
                *counts.entry(name.as_str()).or_default() += 1;
            }
        }
        let counts: HashMap<String, usize> = counts
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        for n in &mut self.nodes {
            if n.images
                .values()
                .zip(n.images.keys())
                .any(|(s, k)| counts.get(k) != Some(&s.num_nodes))
            {
                let n = Arc::make_mut(n);
                for (k, s) in &mut n.images {
                    s.num_nodes = counts.get(k).copied().unwrap_or(0);
                }
            }
        }
    }

    /// The node named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Nodes with a pod that has any (anti-)affinity term.
    pub fn nodes_with_affinity(&self) -> impl Iterator<Item = &Arc<NodeInfo>> {
        self.with_affinity.iter().map(|&i| &self.nodes[i])
    }

    /// Nodes with a pod that has a required anti-affinity term.
    pub fn nodes_with_required_anti_affinity(&self) -> impl Iterator<Item = &Arc<NodeInfo>> {
        self.with_required_anti_affinity
            .iter()
            .map(|&i| &self.nodes[i])
    }
}
