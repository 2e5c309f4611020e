//! The scheduler cache (upstream `internal/cache/cache.go` + `node_tree.go` + `snapshot.go`):
//! nodes and the pods on them, kept from watch events, plus the pods the scheduler has
//! *assumed* onto a node while their binding is in flight, so the next cycle already sees the
//! resources they take.
//!
//! Every change bumps one cache-wide generation and stamps the node with it; the nodes changed
//! since a snapshot's generation are found through `recent` (generation → node), so
//! [`Cache::update_snapshot`] costs O(changed nodes), not O(nodes): each changed node is an
//! `Arc` clone. A node changed while a snapshot still holds it is copied on write
//! (`Arc::make_mut`), which is upstream's `NodeInfo.Snapshot()` clone moved to the writer.
//!
//! Node order is upstream's NodeTree: nodes grouped by zone (region + zone labels), zones in the
//! order first seen, listed round-robin across zones, so a sampled prefix of the list spans
//! zones.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use super::framework::{ActionType, NodeInfo, PodInfo, Snapshot};
use crate::store::Stored;

/// `topology.kubernetes.io/zone`.
const ZONE: &str = "topology.kubernetes.io/zone";
/// `topology.kubernetes.io/region`.
const REGION: &str = "topology.kubernetes.io/region";
const BETA_ZONE: &str = "failure-domain.beta.kubernetes.io/zone";
const BETA_REGION: &str = "failure-domain.beta.kubernetes.io/region";

/// Upstream `utilnode.GetZoneKey`: region and zone joined with a NUL so no label value can
/// collide; "" for nodes with neither.
fn zone_key(info: &NodeInfo) -> String {
    let get = |a: &str, b: &str| {
        info.labels
            .get(a)
            .or_else(|| info.labels.get(b))
            .map(String::as_str)
            .unwrap_or("")
    };
    let (zone, region) = (get(ZONE, BETA_ZONE), get(REGION, BETA_REGION));
    if zone.is_empty() && region.is_empty() {
        return String::new();
    }
    format!("{region}:\u{0}:{zone}")
}

/// Upstream's `nodeTree`: node names by zone, zones in first-seen order.
#[derive(Debug, Default)]
struct NodeTree {
    zones: Vec<(String, Vec<String>)>,
    len: usize,
}

impl NodeTree {
    fn add(&mut self, zone: &str, name: &str) {
        match self.zones.iter_mut().find(|(z, _)| z == zone) {
            Some((_, names)) => {
                if names.iter().any(|n| n == name) {
                    return;
                }
                names.push(name.to_string());
            }
            None => self
                .zones
                .push((zone.to_string(), vec![name.to_string()])),
        }
        self.len += 1;
    }

    fn remove(&mut self, zone: &str, name: &str) {
        let Some(z) = self.zones.iter().position(|(k, _)| k == zone) else {
            return;
        };
        let names = &mut self.zones[z].1;
        if let Some(i) = names.iter().position(|n| n == name) {
            names.remove(i);
            self.len -= 1;
        }
        if names.is_empty() {
            self.zones.remove(z);
        }
    }

    /// Round-robin across zones (upstream `nodeTree.list`).
    fn list(&self) -> Vec<&str> {
        let mut out = Vec::with_capacity(self.len);
        let mut i = 0;
        while out.len() < self.len {
            for (_, names) in &self.zones {
                if let Some(n) = names.get(i) {
                    out.push(n.as_str());
                }
            }
            i += 1;
        }
        out
    }
}

#[derive(Debug)]
struct PodEntry {
    pod: Arc<PodInfo>,
    node: String,
    assumed: bool,
}

#[derive(Debug, Default)]
struct State {
    nodes: HashMap<String, Arc<NodeInfo>>,
    /// Zone key of each node in the tree (nodes with a Node object).
    zones: HashMap<String, String>,
    tree: NodeTree,
    pods: HashMap<String, PodEntry>,
    generation: u64,
    /// The generation each node (or deleted node) was last changed at → its name.
    recent: BTreeMap<u64, String>,
    /// The generation of every node name's last change, to find its `recent` entry.
    stamped: HashMap<String, u64>,
    /// How many nodes list each image name.
    images: HashMap<String, usize>,
}

impl State {
    fn stamp(&mut self, name: &str) -> u64 {
        self.generation += 1;
        let g = self.generation;
        if let Some(old) = self.stamped.insert(name.to_string(), g) {
            self.recent.remove(&old);
        }
        self.recent.insert(g, name.to_string());
        g
    }

    /// The node's info for changing (created empty when pods name a node not seen yet), with
    /// its generation bumped.
    fn node_mut(&mut self, name: &str) -> &mut NodeInfo {
        let g = self.stamp(name);
        let entry = self.nodes.entry(name.to_string()).or_insert_with(|| {
            Arc::new(NodeInfo {
                name: name.to_string(),
                ..NodeInfo::default()
            })
        });
        let info = Arc::make_mut(entry);
        info.generation = g;
        info
    }

    fn add_pod_to_node(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.node_mut(node).add_pod(pod);
    }

    fn remove_pod_from_node(&mut self, uid: &str, node: &str) {
        if !self.nodes.contains_key(node) {
            return;
        }
        let info = self.node_mut(node);
        info.remove_pod(uid);
        if info.node.is_none() && info.pods.is_empty() {
            self.nodes.remove(node);
        }
    }

    fn count_images(&mut self, info: &NodeInfo, delta: isize) {
        for name in info.images.keys() {
            let n = self.images.entry(name.clone()).or_default();
            *n = n.saturating_add_signed(delta);
            if *n == 0 {
                self.images.remove(name);
            }
        }
    }
}

/// Counts for `scheduler_cache_size` and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheSize {
    pub nodes: usize,
    pub pods: usize,
    pub assumed_pods: usize,
}

/// The cache.
#[derive(Debug, Default)]
pub struct Cache {
    state: Mutex<State>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// A node was added or changed. Returns what changed for the queue (upstream
    /// `nodeSchedulingPropertiesChange`), or `None` when nothing the scheduler reads changed
    /// (a heartbeat): then the cache is left alone and no generation moves.
    pub fn set_node(&self, stored: Arc<Stored>) -> Result<Option<ActionType>, String> {
        let mut fresh = NodeInfo::from_node(stored.clone())?;
        let name = fresh.name.clone();
        let mut s = self.state.lock();
        let mut action = ActionType(0);
        match s.nodes.get(&name).filter(|c| c.node.is_some()) {
            None => action = ActionType::ADD,
            Some(cur) => {
                if cur.labels != fresh.labels {
                    action = action | ActionType::UPDATE_NODE_LABEL;
                }
                if cur.taints != fresh.taints || cur.unschedulable != fresh.unschedulable {
                    action = action | ActionType::UPDATE_NODE_TAINT;
                }
                if cur.allocatable != fresh.allocatable {
                    action = action | ActionType::UPDATE_NODE_ALLOCATABLE;
                }
                let same_images = cur.images.len() == fresh.images.len()
                    && fresh
                        .images
                        .iter()
                        .all(|(k, v)| cur.images.get(k).is_some_and(|c| c.size == v.size));
                if !same_images {
                    action = action | ActionType::UPDATE;
                }
            }
        }
        if action.0 == 0 {
            return Ok(None);
        }
        if let Some(old) = s.nodes.get(&name).cloned() {
            s.count_images(&old, -1);
        }
        s.count_images(&fresh, 1);
        for (k, v) in &mut fresh.images {
            v.num_nodes = s.images.get(k).copied().unwrap_or(0);
        }
        let zone = zone_key(&fresh);
        if let Some(old_zone) = s.zones.insert(name.clone(), zone.clone()) {
            if old_zone != zone {
                s.tree.remove(&old_zone, &name);
                s.tree.add(&zone, &name);
            }
        } else {
            s.tree.add(&zone, &name);
        }
        let info = s.node_mut(&name);
        info.labels = fresh.labels;
        info.taints = fresh.taints;
        info.unschedulable = fresh.unschedulable;
        info.allocatable = fresh.allocatable;
        info.images = fresh.images;
        info.node = Some(stored);
        Ok(Some(action))
    }

    /// A node was deleted. Its pods stay accounted (they are deleted separately), but it
    /// leaves the node list.
    pub fn remove_node(&self, name: &str) {
        let mut s = self.state.lock();
        let Some(old) = s.nodes.get(name).cloned() else {
            return;
        };
        s.count_images(&old, -1);
        if let Some(zone) = s.zones.remove(name) {
            s.tree.remove(&zone, name);
        }
        let info = s.node_mut(name);
        info.node = None;
        if info.pods.is_empty() {
            s.nodes.remove(name);
        }
    }

    /// A bound pod was added or changed (from the watch). Confirms an assumed pod.
    pub fn set_pod(&self, pod: Arc<PodInfo>) {
        let mut s = self.state.lock();
        let uid = pod.uid.clone();
        let node = pod.node_name.clone();
        if let Some(old) = s.pods.remove(&uid) {
            s.remove_pod_from_node(&uid, &old.node);
        }
        s.add_pod_to_node(pod.clone(), &node);
        s.pods.insert(
            uid,
            PodEntry {
                pod,
                node,
                assumed: false,
            },
        );
    }

    /// A bound pod was deleted (or finished).
    pub fn remove_pod(&self, uid: &str) {
        let mut s = self.state.lock();
        if let Some(old) = s.pods.remove(uid) {
            s.remove_pod_from_node(uid, &old.node);
        }
    }

    /// Account `pod` to `node` before its binding is written (upstream `AssumePod`).
    pub fn assume(&self, pod: Arc<PodInfo>, node: &str) -> Result<(), String> {
        let mut s = self.state.lock();
        if s.pods.contains_key(&pod.uid) {
            return Err(format!(
                "pod {} (uid {}) is in the cache, so can't be assumed",
                pod.key(),
                pod.uid
            ));
        }
        s.add_pod_to_node(pod.clone(), node);
        s.pods.insert(
            pod.uid.clone(),
            PodEntry {
                pod,
                node: node.to_string(),
                assumed: true,
            },
        );
        Ok(())
    }

    /// Roll an assumed pod back (its binding failed; upstream `ForgetPod`). A pod the watch
    /// already confirmed is left alone.
    pub fn forget(&self, uid: &str) {
        let mut s = self.state.lock();
        if s.pods.get(uid).is_some_and(|p| p.assumed)
            && let Some(old) = s.pods.remove(uid)
        {
            s.remove_pod_from_node(uid, &old.node);
        }
    }

    /// Whether the pod is assumed and not yet confirmed.
    pub fn is_assumed(&self, uid: &str) -> bool {
        self.state.lock().pods.get(uid).is_some_and(|p| p.assumed)
    }

    /// The cached pod with this uid (bound or assumed).
    pub fn pod(&self, uid: &str) -> Option<Arc<PodInfo>> {
        self.state.lock().pods.get(uid).map(|p| p.pod.clone())
    }

    /// Nodes, pods and assumed pods held.
    pub fn size(&self) -> CacheSize {
        let s = self.state.lock();
        CacheSize {
            nodes: s.tree.len,
            pods: s.pods.len(),
            assumed_pods: s.pods.values().filter(|p| p.assumed).count(),
        }
    }

    /// Uids of every cached pod (for reconciling after a relist).
    pub fn pod_uids(&self) -> Vec<String> {
        self.state.lock().pods.keys().cloned().collect()
    }

    /// Names of every node with a Node object (for reconciling after a relist).
    pub fn node_names(&self) -> Vec<String> {
        self.state.lock().zones.keys().cloned().collect()
    }

    /// Bring `snap` up to date (upstream `UpdateSnapshot`): copy the nodes changed since its
    /// generation; rebuild the node list only when nodes came or went; recompute the affinity
    /// lists only when a changed node gained or lost pods with affinity.
    pub fn update_snapshot(&self, snap: &mut Snapshot) {
        let s = self.state.lock();
        if snap.generation == s.generation && snap.nodes.len() == s.tree.len {
            return;
        }
        let mut rebuild = false;
        let mut affinity_changed = false;
        for name in s.recent.range(snap.generation + 1..).map(|(_, n)| n) {
            let current = s.nodes.get(name).filter(|n| n.node.is_some());
            match (current, snap.index.get(name)) {
                (Some(info), Some(&i)) => {
                    let old = &snap.nodes[i];
                    if old.pods_with_affinity.is_empty() != info.pods_with_affinity.is_empty()
                        || old.pods_with_required_anti_affinity.is_empty()
                            != info.pods_with_required_anti_affinity.is_empty()
                    {
                        affinity_changed = true;
                    }
                    snap.nodes[i] = info.clone();
                }
                (None, None) => {}
                _ => rebuild = true,
            }
        }
        if rebuild || snap.nodes.len() != s.tree.len {
            snap.nodes = s
                .tree
                .list()
                .into_iter()
                .map(|n| s.nodes[n].clone())
                .collect();
            snap.index = snap
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.clone(), i))
                .collect();
            affinity_changed = true;
        }
        if affinity_changed {
            snap.with_affinity = (0..snap.nodes.len())
                .filter(|&i| !snap.nodes[i].pods_with_affinity.is_empty())
                .collect();
            snap.with_required_anti_affinity = (0..snap.nodes.len())
                .filter(|&i| !snap.nodes[i].pods_with_required_anti_affinity.is_empty())
                .collect();
        }
        snap.generation = s.generation;
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
