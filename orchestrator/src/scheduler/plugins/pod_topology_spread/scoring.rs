//! PodTopologySpread's PreScore, Score and NormalizeScore (upstream
//! `podtopologyspread/scoring.go`): the `ScheduleAnyway` constraints, and the default
//! constraints for pods without any, which spread a controller's replicas over nodes and zones.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::PodTopologySpread;
use super::common::{Constraint, LABEL_HOSTNAME, SCHEDULE_ANYWAY, has_all_topology_keys};
use crate::scheduler::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, NodeScore, PodInfo, PreScore, Score, Snapshot, Status,
};

const PRE_SCORE_STATE_KEY: &str = "PreScorePodTopologySpread";

/// What PreScore computes for Score (upstream `preScoreState`).
#[derive(Clone, Debug, Default)]
pub(crate) struct PreScoreState {
    pub(crate) constraints: Vec<Constraint>,
    /// Filtered nodes lacking a topology key, when every key is required: scored 0.
    pub(crate) ignored_nodes: HashSet<String>,
    /// Per constraint (other than hostname, counted per node in Score): topology value of
    /// the filtered nodes → matching pods in that domain over all nodes.
    pub(crate) topology_value_to_pod_counts: Vec<HashMap<String, i64>>,
    /// Per constraint: `ln(domains + 2)`, so constraints with more domains weigh more.
    pub(crate) topology_normalizing_weight: Vec<f64>,
}

/// Upstream `topologyNormalizingWeight`.
fn topology_normalizing_weight(size: usize) -> f64 {
    ((size + 2) as f64).ln()
}

/// Upstream `scoreForCount`: `maxSkew - 1` is added so that skews within the tolerance weigh
/// less.
fn score_for_count(count: i64, max_skew: i32, weight: f64) -> f64 {
    count as f64 * weight + f64::from(max_skew - 1)
}

impl PodTopologySpread {
    /// Upstream `initPreScoreState`: the soft constraints and the domains of the filtered
    /// nodes.
    fn init_pre_score_state(
        &self,
        pod: &PodInfo,
        filtered: &[Arc<NodeInfo>],
        require_all_topologies: bool,
    ) -> Result<PreScoreState, String> {
        let constraints = self.constraints(pod, SCHEDULE_ANYWAY)?;
        let mut s = PreScoreState::default();
        if constraints.is_empty() {
            return Ok(s);
        }
        s.topology_value_to_pod_counts = vec![HashMap::new(); constraints.len()];
        for node in filtered {
            if require_all_topologies && !has_all_topology_keys(&node.labels, &constraints) {
                s.ignored_nodes.insert(node.name.clone());
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == LABEL_HOSTNAME {
                    continue;
                }
                let value = node
                    .labels
                    .get(&c.topology_key)
                    .map(String::as_str)
                    .unwrap_or("");
                if !s.topology_value_to_pod_counts[i].contains_key(value) {
                    s.topology_value_to_pod_counts[i].insert(value.to_string(), 0);
                }
            }
        }
        s.topology_normalizing_weight = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == LABEL_HOSTNAME {
                    filtered.len() - s.ignored_nodes.len()
                } else {
                    s.topology_value_to_pod_counts[i].len()
                };
                topology_normalizing_weight(size)
            })
            .collect();
        s.constraints = constraints;
        Ok(s)
    }
}

impl PreScore for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status {
        if snapshot.is_empty() {
            return Status::skip();
        }
        // Only the pod's own constraints, or non-system defaults, require every topology key:
        // nodes without a zone label still get hostname spreading by default.
        let require_all = !pod.topology_spread_constraints.is_empty() || !self.system_defaulted;
        let mut s = match self.init_pre_score_state(pod, nodes, require_all) {
            Ok(s) => s,
            Err(e) => return Status::error(format!("calculating preScoreState: {e}")),
        };
        if s.constraints.is_empty() {
            return Status::skip();
        }
        for node in &snapshot.nodes {
            if node.node.is_none() {
                continue;
            }
            if require_all && !has_all_topology_keys(&node.labels, &s.constraints) {
                continue;
            }
            for (i, c) in s.constraints.iter().enumerate() {
                if c.topology_key == LABEL_HOSTNAME || !c.includes(pod, node) {
                    continue;
                }
                let value = node
                    .labels
                    .get(&c.topology_key)
                    .map(String::as_str)
                    .unwrap_or("");
                // Domains without a candidate node are not needed.
                if let Some(n) = s.topology_value_to_pod_counts[i].get_mut(value) {
                    *n += c.count_on(node, &pod.namespace);
                }
            }
        }
        state.write(s);
        Status::success()
    }
}

fn missing_state() -> Status {
    Status::error(format!(
        "error reading \"{PRE_SCORE_STATE_KEY}\" from cycleState: not found"
    ))
}

impl Score for PodTopologySpread {
    /// The weighted matching pods in the node's domains: lower is better, inverted in
    /// NormalizeScore.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> (i64, Status) {
        let Some(s) = state.read::<PreScoreState>() else {
            return (0, missing_state());
        };
        if !s.ignored_nodes.is_empty() && s.ignored_nodes.contains(&node.name) {
            return (0, Status::success());
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.labels.get(&c.topology_key) else {
                continue;
            };
            let count = if c.topology_key == LABEL_HOSTNAME {
                c.count_on(node, &pod.namespace)
            } else {
                s.topology_value_to_pod_counts[i]
                    .get(value.as_str())
                    .copied()
                    .unwrap_or(0)
            };
            score += score_for_count(count, c.max_skew, s.topology_normalizing_weight[i]);
        }
        (score.round() as i64, Status::success())
    }

    fn has_normalize(&self) -> bool {
        true
    }

    /// The fewest matching pods become 100 (upstream `NormalizeScore`); ignored nodes 0.
    fn normalize(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        let Some(s) = state.read::<PreScoreState>() else {
            return missing_state();
        };
        let ignored = |name: &str| !s.ignored_nodes.is_empty() && s.ignored_nodes.contains(name);
        let mut min = i64::MAX;
        let mut max = 0;
        for sc in scores.iter().filter(|sc| !ignored(sc.name)) {
            min = min.min(sc.score);
            max = max.max(sc.score);
        }
        for sc in scores.iter_mut() {
            sc.score = if ignored(sc.name) {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - sc.score) / max
            };
        }
        Status::success()
    }
}
