//! InterPodAffinity's PreScore, Score and NormalizeScore (upstream
//! `interpodaffinity/scoring.go`): per topology pair, the summed weights of the preferred terms
//! that hold between the incoming pod and existing pods, in both directions, plus existing pods'
//! required affinity terms the incoming pod matches (`hardPodAffinityWeight`).

use std::sync::Arc;

use super::InterPodAffinity;
use super::counts::{KeptCounts, Part, TopologyCounts};
use crate::scheduler::framework::{
    AffinityTerm, CycleState, Labels, MAX_NODE_SCORE, NodeInfo, NodeScore, PodInfo, PreScore,
    Score, Snapshot, Status, WeightedAffinityTerm,
};

const PRE_SCORE_STATE_KEY: &str = "PreScoreInterPodAffinity";

/// What PreScore computes for Score (upstream `preScoreState`).
#[derive(Clone, Debug, Default)]
pub(crate) struct PreScoreState {
    /// Topology key → value → summed weight (shared with the plugin's kept sums).
    pub(crate) topology_score: Arc<TopologyCounts>,
}

/// Add `weight * multiplier` to the pair of `node`'s domain when `pod` matches the term
/// (upstream `scoreMap.processTerm`), as one contribution of the node's part.
fn process_term(
    part: &mut Part,
    term: &AffinityTerm,
    weight: i32,
    pod: &PodInfo,
    ns: Option<&Labels>,
    node: &Labels,
    multiplier: i32,
) {
    if term.matches(pod, ns)
        && let Some(v) = node.get(&term.topology_key)
    {
        part.push((
            term.topology_key.clone(),
            v.clone(),
            i64::from(weight * multiplier),
        ));
    }
}

fn process_terms(
    part: &mut Part,
    terms: &[WeightedAffinityTerm],
    pod: &PodInfo,
    ns: Option<&Labels>,
    node: &Labels,
    multiplier: i32,
) {
    for t in terms {
        process_term(part, &t.term, t.weight, pod, ns, node, multiplier);
    }
}

/// What the score sums depend on besides the nodes: the incoming pod's namespace (and its
/// labels), labels and preferred terms (namespace selectors resolved).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ScoreKey {
    namespace: String,
    labels: Labels,
    namespace_labels: Option<Labels>,
    preferred_affinity: Vec<WeightedAffinityTerm>,
    preferred_anti_affinity: Vec<WeightedAffinityTerm>,
}

/// The incoming pod's side of scoring, computed once per pod.
struct Incoming<'a> {
    pod: &'a PodInfo,
    preferred_affinity: Vec<WeightedAffinityTerm>,
    preferred_anti_affinity: Vec<WeightedAffinityTerm>,
    namespace_labels: Option<Labels>,
}

impl InterPodAffinity {
    /// Upstream `processExistingPod`, into the node's part.
    fn process_existing_pod(
        &self,
        incoming: &Incoming<'_>,
        existing: &PodInfo,
        node: &NodeInfo,
        part: &mut Part,
    ) {
        let labels = &node.labels;
        if labels.is_empty() {
            return;
        }
        let ns = incoming.namespace_labels.as_ref();
        // The incoming pod's terms have their namespace selectors resolved: no label lookup.
        process_terms(
            part,
            &incoming.preferred_affinity,
            existing,
            None,
            labels,
            1,
        );
        process_terms(
            part,
            &incoming.preferred_anti_affinity,
            existing,
            None,
            labels,
            -1,
        );
        let hard = self.args.hard_pod_affinity_weight;
        if hard > 0 {
            for t in &existing.required_affinity_terms {
                process_term(part, t, hard, incoming.pod, ns, labels, 1);
            }
        }
        process_terms(
            part,
            &existing.preferred_affinity_terms,
            incoming.pod,
            ns,
            labels,
            1,
        );
        process_terms(
            part,
            &existing.preferred_anti_affinity_terms,
            incoming.pod,
            ns,
            labels,
            -1,
        );
    }
}

impl PreScore for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status {
        if nodes.is_empty() {
            return Status::skip();
        }
        let has_constraints = !pod.preferred_affinity_terms.is_empty()
            || !pod.preferred_anti_affinity_terms.is_empty();
        if self.args.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::skip();
        }
        // Unless the pod has preferred terms, only pods with affinity can contribute.
        if !has_constraints && snapshot.with_affinity.is_empty() {
            return Status::skip();
        }
        let mut incoming = Incoming {
            pod,
            preferred_affinity: pod.preferred_affinity_terms.clone(),
            preferred_anti_affinity: pod.preferred_anti_affinity_terms.clone(),
            namespace_labels: None,
        };
        for t in incoming
            .preferred_affinity
            .iter_mut()
            .chain(incoming.preferred_anti_affinity.iter_mut())
        {
            self.merge_namespaces(&mut t.term);
        }
        incoming.namespace_labels = self.handle.namespace_labels(&pod.namespace);
        let key = ScoreKey {
            namespace: pod.namespace.clone(),
            labels: pod.labels.clone(),
            namespace_labels: incoming.namespace_labels.clone(),
            preferred_affinity: incoming.preferred_affinity.clone(),
            preferred_anti_affinity: incoming.preferred_anti_affinity.clone(),
        };
        let mut kept = self.kept.lock();
        let kept = kept.score.get_or_insert_with(key, KeptCounts::default);
        kept.sync(snapshot, |node| {
            let mut part = Part::new();
            if node.node.is_none() {
                return part;
            }
            let pods = if has_constraints {
                &node.pods
            } else {
                &node.pods_with_affinity
            };
            for existing in pods {
                self.process_existing_pod(&incoming, existing, node, &mut part);
            }
            part
        });
        if kept.counts.is_empty() {
            return Status::skip();
        }
        state.write(PreScoreState {
            topology_score: kept.counts.clone(),
        });
        Status::success()
    }
}

fn missing_state() -> Status {
    Status::error(format!(
        "error reading \"{PRE_SCORE_STATE_KEY}\" from cycleState: not found"
    ))
}

impl Score for InterPodAffinity {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> (i64, Status) {
        let Some(s) = state.read::<PreScoreState>() else {
            return (0, missing_state());
        };
        let mut score = 0;
        for (key, values) in s.topology_score.iter() {
            if let Some(v) = node.labels.get(key) {
                score += values.get(v.as_str()).copied().unwrap_or(0);
            }
        }
        (score, Status::success())
    }

    fn has_normalize(&self) -> bool {
        true
    }

    /// The highest raw score becomes 100 and the lowest 0, linearly (upstream
    /// `NormalizeScore`); nothing changes when no term applied.
    fn normalize(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        let Some(s) = state.read::<PreScoreState>() else {
            return missing_state();
        };
        if s.topology_score.is_empty() {
            return Status::success();
        }
        let min = scores.iter().map(|s| s.score).min().unwrap_or(0);
        let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
        let diff = max - min;
        for s in scores.iter_mut() {
            s.score = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((s.score - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
        Status::success()
    }
}
