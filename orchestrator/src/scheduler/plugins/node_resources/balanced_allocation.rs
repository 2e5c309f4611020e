//! NodeResourcesBalancedAllocation (upstream `noderesources/balanced_allocation.go`): favours
//! nodes whose resources would be used evenly with the pod on them — score
//! `(1 - std) * 100` over the configured resources' requested fractions (cpu and memory by
//! default). Counts actual requests (not the non-zero defaults), and skips best-effort pods,
//! which would otherwise all pile onto one node (kubernetes#129138).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use super::scorer::{ResourceAllocationScorer, ResourceSpec, Strategy, default_resources};
use crate::scheduler::framework::{
    CycleState, Handle, NodeInfo, Plugin, PodInfo, PreScore, Score, Snapshot, Status,
};
use crate::scheduler::plugins::NODE_RESOURCES_BALANCED_ALLOCATION;

/// `NodeResourcesBalancedAllocationArgs` (upstream `config/v1`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BalancedAllocationArgs {
    #[serde(default)]
    pub resources: Option<Vec<ResourceSpec>>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
}

/// The plugin.
#[derive(Debug)]
pub struct BalancedAllocation {
    scorer: ResourceAllocationScorer,
}

/// PreScore state: the pod's request of each resource.
#[derive(Clone, Debug)]
struct PreScoreState(Vec<i64>);

/// Makes the plugin from `NodeResourcesBalancedAllocationArgs` (`Null`: cpu and memory).
pub fn new(args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(BalancedAllocation::from_args(args)?))
}

impl BalancedAllocation {
    /// Parse, default and validate (upstream `ValidateNodeResourcesBalancedAllocationArgs`:
    /// names unique, every weight 1).
    pub fn from_args(args: &serde_json::Value) -> Result<Self, String> {
        let args: BalancedAllocationArgs = if args.is_null() {
            BalancedAllocationArgs::default()
        } else {
            serde_json::from_value(args.clone())
                .map_err(|e| format!("decoding NodeResourcesBalancedAllocationArgs: {e}"))?
        };
        let mut resources = match args.resources {
            Some(r) if !r.is_empty() => r,
            _ => default_resources(),
        };
        let mut seen = BTreeSet::new();
        for (i, r) in resources.iter_mut().enumerate() {
            if r.weight == 0 {
                r.weight = 1;
            }
            if !seen.insert(r.name.clone()) {
                return Err(format!(
                    "resources[{i}].name: Duplicate value: {:?}",
                    r.name
                ));
            }
            if r.weight != 1 {
                return Err(format!(
                    "resources[{i}].weight: Invalid value: {}: must be 1",
                    r.weight
                ));
            }
        }
        Ok(Self {
            scorer: ResourceAllocationScorer {
                strategy: Strategy::Balanced,
                resources,
                use_requested: true,
            },
        })
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NODE_RESOURCES_BALANCED_ALLOCATION
    }
    fn as_pre_score(&self) -> Option<&dyn PreScore> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn Score> {
        Some(self)
    }
}

impl PreScore for BalancedAllocation {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snapshot: &Snapshot,
    ) -> Status {
        let requests = self.scorer.pod_requests(pod);
        if requests.iter().all(|&r| r == 0) {
            return Status::skip();
        }
        state.write(PreScoreState(requests));
        Status::success()
    }
}

impl Score for BalancedAllocation {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> (i64, Status) {
        let score = match state.read::<PreScoreState>() {
            Some(s) => self.scorer.score(node, &s.0),
            None => {
                let requests = self.scorer.pod_requests(pod);
                if requests.iter().all(|&r| r == 0) {
                    0
                } else {
                    self.scorer.score(node, &requests)
                }
            }
        };
        (score, Status::success())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::scheduler::framework::testing::{node, pod, simple_pod};

    fn sized_node(name: &str, cpu: i64, memory: i64, extra: Value) -> NodeInfo {
        let mut alloc =
            json!({ "cpu": format!("{cpu}m"), "memory": memory.to_string(), "pods": "110" });
        for (k, v) in extra.as_object().into_iter().flatten() {
            alloc[k] = v.clone();
        }
        node(
            json!({ "metadata": { "name": name }, "status": { "allocatable": alloc } }),
            &[],
        )
    }

    fn scores(ba: &BalancedAllocation, p: &PodInfo, nodes: &[NodeInfo]) -> Option<Vec<i64>> {
        let mut state = CycleState::new();
        let st = ba.pre_score(&mut state, p, &[], &Snapshot::default());
        if st.is_skip() {
            return None;
        }
        Some(nodes.iter().map(|n| ba.score(&state, p, n).0).collect())
    }

    // Upstream `TestNodeResourcesBalancedAllocation`.
    #[test]
    fn evenly_used_nodes_score_higher() {
        let ba = BalancedAllocation::from_args(&Value::Null).unwrap();
        // 3000m cpu and 5000 bytes.
        let mut v = simple_pod("p", "1000m", "2000");
        v["spec"]["containers"].as_array_mut().unwrap().push(
            json!({"name": "c1", "image": "pause", "resources": {"requests": {"cpu": "2000m", "memory": "3000"}}}),
        );
        let p = pod(v);
        // n1: cpu 0.75, memory 0.5 → std 0.125 → 87; n2: 0.5 and 0.5 → 100.
        let nodes = [
            sized_node("n1", 4000, 10000, json!({})),
            sized_node("n2", 6000, 10000, json!({})),
        ];
        assert_eq!(scores(&ba, &p, &nodes), Some(vec![87, 100]));
        // Fractions above 1 count as 1: cpu 1.0 (capped), memory 0.5 → 75.
        let nodes = [sized_node("n", 2000, 10000, json!({}))];
        assert_eq!(scores(&ba, &p, &nodes), Some(vec![75]));
    }

    #[test]
    fn three_resources_use_the_standard_deviation() {
        let ba = BalancedAllocation::from_args(&json!({"resources": [
            {"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1},
            {"name": "example.com/gpu", "weight": 1}]}))
        .unwrap();
        let mut v = simple_pod("p", "3000m", "5000");
        v["spec"]["containers"][0]["resources"]["requests"]["example.com/gpu"] = "1".into();
        let p = pod(v);
        // Fractions 0.75, 0.5, 0.25: mean 0.5, std sqrt(0.125/3) = 0.2041 → 79.
        let n = sized_node("n", 4000, 10000, json!({"example.com/gpu": "4"}));
        assert_eq!(scores(&ba, &p, &[n]), Some(vec![79]));
        // Without the gpu on the node, cpu and memory only: 87.
        let n = sized_node("m", 4000, 10000, json!({}));
        assert_eq!(scores(&ba, &p, &[n]), Some(vec![87]));
    }

    #[test]
    fn best_effort_pods_are_skipped() {
        let ba = BalancedAllocation::from_args(&Value::Null).unwrap();
        let p = pod(simple_pod("p", "", ""));
        assert_eq!(
            scores(&ba, &p, &[sized_node("n", 1000, 1000, json!({}))]),
            None
        );
    }

    #[test]
    fn weights_other_than_one_are_rejected() {
        assert!(
            BalancedAllocation::from_args(&json!({"resources": [{"name": "cpu", "weight": 2}]}))
                .is_err()
        );
        assert!(
            BalancedAllocation::from_args(&json!({"resources": [
            {"name": "cpu", "weight": 1}, {"name": "cpu", "weight": 1}]}))
            .is_err()
        );
    }
}
