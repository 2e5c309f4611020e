//! PodTopologySpread's PreFilter, its AddPod/RemovePod extensions and Filter (upstream
//! `podtopologyspread/filtering.go`): the `DoNotSchedule` constraints.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{NodeSelector, Toleration};

use super::PodTopologySpread;
use super::common::{Constraint, DO_NOT_SCHEDULE, has_all_topology_keys};
use crate::scheduler::framework::{
    CycleState, Filter, Labels, NodeInfo, NodeSums, PodInfo, PreFilter, PreFilterResult, Snapshot,
    Status,
};
use crate::store::LabelSelector;

const PRE_FILTER_STATE_KEY: &str = "PreFilterPodTopologySpread";

/// Topology value → matching pods. Filter looks a node's value up once per node per
/// constraint: foldhash rather than SipHash (the keys are node label values).
pub(crate) type ValueCounts = HashMap<String, i64, foldhash::fast::RandomState>;

/// The node's domain has too many matching pods for a constraint's `maxSkew`.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints";
/// The node lacks a constraint's topology key.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// The domain with the fewest matching pods and the runner-up (upstream `criticalPaths`).
/// Two suffice because preemption evaluates one node at a time on its own copy of the state:
/// removing pods from one domain can only promote the runner-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CriticalPaths([(String, i64); 2]);

impl Default for CriticalPaths {
    fn default() -> Self {
        let unset = (String::new(), i64::from(i32::MAX));
        Self([unset.clone(), unset])
    }
}

impl CriticalPaths {
    /// Record that domain `value` now has `num` matching pods (upstream `criticalPaths.update`).
    pub(crate) fn update(&mut self, value: &str, num: i64) {
        let p = &mut self.0;
        let i = if value == p[0].0 {
            Some(0)
        } else if value == p[1].0 {
            Some(1)
        } else {
            None
        };
        match i {
            Some(i) => {
                p[i].1 = num;
                if p[0].1 > p[1].1 {
                    p.swap(0, 1);
                }
            }
            None if num < p[0].1 => {
                p[1] = std::mem::replace(&mut p[0], (value.to_string(), num));
            }
            None if num < p[1].1 => p[1] = (value.to_string(), num),
            None => {}
        }
    }

    /// The smallest count.
    pub(crate) fn min(&self) -> i64 {
        self.0[0].1
    }

    /// The two (value, count) pairs, smallest first.
    #[cfg(test)]
    pub(crate) fn pairs(&self) -> &[(String, i64); 2] {
        &self.0
    }
}

/// What PreFilter computes for Filter (upstream `preFilterState`), one entry per constraint.
#[derive(Clone, Debug, Default)]
pub(crate) struct PreFilterState {
    pub(crate) constraints: Vec<Constraint>,
    pub(crate) critical_paths: Vec<CriticalPaths>,
    /// Per constraint: topology value → matching pods in that domain (shared with the
    /// plugin's kept counts until preemption's dry runs change it).
    pub(crate) tp_value_to_match_num: Vec<Arc<ValueCounts>>,
    /// Per constraint: the eligible domains of its topology key (upstream
    /// `TpKeyToDomainsNum[key]`, summed over the constraints with that key).
    pub(crate) domains_num: Vec<usize>,
    /// Per constraint: 1 when the incoming pod matches the selector itself.
    pub(crate) self_match_num: Vec<i64>,
}

impl PreFilterState {
    /// The global minimum for the skew: 0 while fewer than `minDomains` domains exist
    /// (upstream `minMatchNum`).
    fn min_match_num(&self, i: usize) -> i64 {
        if self.domains_num[i] < self.constraints[i].min_domains.max(0) as usize {
            0
        } else {
            self.critical_paths[i].min()
        }
    }

    /// Account `other` added to (`delta` 1) or removed from (-1) `node` (upstream
    /// `updateWithPod`).
    fn update_with_pod(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) {
        if other.namespace != pod.namespace || node.node.is_none() {
            return;
        }
        if !has_all_topology_keys(&node.labels, &self.constraints) {
            return;
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.selects(&other.labels) || !c.includes(pod, node) {
                continue;
            }
            let v = &node.labels[&c.topology_key];
            let n = Arc::make_mut(&mut self.tp_value_to_match_num[i])
                .entry(v.clone())
                .or_insert(0);
            *n += delta;
            let n = *n;
            self.critical_paths[i].update(v, n);
        }
    }
}

/// What one constraint's domain counts depend on besides the nodes: the pods it counts
/// (namespace, selector), the nodes it counts on (every constraint's topology key, and the
/// pod's node affinity and tolerations where the inclusion policies honour them).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CountKey {
    namespace: String,
    selector: Option<LabelSelector>,
    topology_key: String,
    required_keys: Vec<String>,
    node_affinity: Option<(Labels, Option<NodeSelector>)>,
    tolerations: Option<Vec<Toleration>>,
}

impl CountKey {
    pub(crate) fn new(pod: &PodInfo, c: &Constraint, all: &[Constraint]) -> Self {
        Self {
            namespace: pod.namespace.clone(),
            selector: c.selector.clone(),
            topology_key: c.topology_key.clone(),
            required_keys: all.iter().map(|c| c.topology_key.clone()).collect(),
            node_affinity: c.honor_node_affinity.then(|| {
                (
                    pod.node_selector.clone(),
                    pod.required_node_affinity().cloned(),
                )
            }),
            tolerations: c.honor_node_taints.then(|| pod.tolerations.clone()),
        }
    }
}

/// One constraint's matching pods per domain over the snapshot's nodes, kept across cycles
/// (see [`NodeSums`]): what upstream's `calPreFilterState` counts from every pod each cycle.
#[derive(Debug, Default)]
pub(crate) struct DomainCounts {
    /// Each node's domain and matching pods; `None` for a node that does not count.
    sums: NodeSums<Option<(String, i64)>>,
    /// Topology value → nodes counted in it (a domain exists while it has one).
    nodes: HashMap<String, usize>,
    /// Topology value → matching pods, as the cycle state takes it.
    counts: Arc<ValueCounts>,
    /// The critical paths of `counts`, recomputed when it changes.
    paths: Option<CriticalPaths>,
}

impl DomainCounts {
    /// Bring the counts up to date with `snapshot` for `pod`'s constraint `c` (one of `all`).
    fn sync(&mut self, pod: &PodInfo, c: &Constraint, all: &[Constraint], snapshot: &Snapshot) {
        let (nodes, counts) = (&mut self.nodes, &mut self.counts);
        let changed = self.sums.sync(
            &snapshot.nodes,
            |node| {
                if node.node.is_none()
                    || !has_all_topology_keys(&node.labels, all)
                    || !c.includes(pod, node)
                {
                    return None;
                }
                let value = node.labels[&c.topology_key].clone();
                Some((value, c.count_on(node, &pod.namespace)))
            },
            |part, sign| {
                let Some((value, n)) = part else { return };
                let counts = Arc::make_mut(counts);
                let members = nodes.entry(value.clone()).or_insert(0);
                *members = members.saturating_add_signed(sign as isize);
                if *members == 0 {
                    nodes.remove(value);
                    counts.remove(value);
                } else {
                    *counts.entry(value.clone()).or_insert(0) += n * sign;
                }
            },
        );
        if changed > 0 || self.paths.is_none() {
            let mut paths = CriticalPaths::default();
            for (value, &num) in self.counts.iter() {
                paths.update(value, num);
            }
            self.paths = Some(paths);
        }
    }
}

impl PodTopologySpread {
    /// Upstream `calPreFilterState`; `None` when the pod has no hard constraints. The counts
    /// per domain come from the plugin's kept counts, brought up to date with the snapshot.
    pub(crate) fn pre_filter_state(
        &self,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<Option<PreFilterState>, String> {
        let constraints = self.constraints(pod, DO_NOT_SCHEDULE)?;
        if constraints.is_empty() {
            return Ok(None);
        }
        let mut s = PreFilterState {
            critical_paths: Vec::with_capacity(constraints.len()),
            tp_value_to_match_num: Vec::with_capacity(constraints.len()),
            self_match_num: constraints
                .iter()
                .map(|c| i64::from(c.selects(&pod.labels)))
                .collect(),
            domains_num: vec![0; constraints.len()],
            constraints: Vec::new(),
        };
        let mut kept = self.filter_counts.lock();
        for c in &constraints {
            let counts = kept.get_or_insert_with(CountKey::new(pod, c, &constraints), || {
                DomainCounts::default()
            });
            counts.sync(pod, c, &constraints, snapshot);
            s.tp_value_to_match_num.push(counts.counts.clone());
            s.critical_paths
                .push(counts.paths.clone().expect("set by sync"));
        }
        drop(kept);
        s.constraints = constraints;
        for i in 0..s.constraints.len() {
            let key = &s.constraints[i].topology_key;
            s.domains_num[i] = s
                .constraints
                .iter()
                .zip(&s.tp_value_to_match_num)
                .filter(|(c, _)| &c.topology_key == key)
                .map(|(_, m)| m.len())
                .sum();
        }
        Ok(Some(s))
    }
}

fn missing_state() -> Status {
    Status::error(format!(
        "error reading \"{PRE_FILTER_STATE_KEY}\" from cycleState: not found"
    ))
}

impl PreFilter for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        match self.pre_filter_state(pod, snapshot) {
            Err(e) => (None, Status::error(e)),
            Ok(None) => (None, Status::skip()),
            Ok(Some(s)) => {
                state.write(s);
                (None, Status::success())
            }
        }
    }

    fn has_extensions(&self) -> bool {
        true
    }

    /// A missing state means PreFilter skipped the plugin for this pod; upstream's runtime
    /// does not call the extensions then, so there is nothing to adjust.
    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_add: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        if let Some(s) = state.read_mut::<PreFilterState>() {
            s.update_with_pod(pod, to_add, node, 1);
        }
        Status::success()
    }

    /// As `add_pod`, with the pod taken away.
    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_remove: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        if let Some(s) = state.read_mut::<PreFilterState>() {
            s.update_with_pod(pod, to_remove, node, -1);
        }
        Status::success()
    }
}

impl Filter for PodTopologySpread {
    /// For each constraint: matching pods in the node's domain, plus the pod itself if it
    /// matches, minus the global minimum, must not exceed `maxSkew`.
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>() else {
            return missing_state();
        };
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.labels.get(&c.topology_key) else {
                return Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
            };
            let match_num = s.tp_value_to_match_num[i]
                .get(value.as_str())
                .copied()
                .unwrap_or(0);
            let skew = match_num + s.self_match_num[i] - s.min_match_num(i);
            if skew > i64::from(c.max_skew) {
                return Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}
