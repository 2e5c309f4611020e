//! InterPodAffinity's PreFilter, its AddPod/RemovePod extensions and Filter (upstream
//! `interpodaffinity/filtering.go`).

use std::sync::Arc;

use super::InterPodAffinity;
use super::counts::{KeptCounts, Part, TopologyCounts};
use crate::scheduler::framework::{
    AffinityTerm, CycleState, Filter, Labels, NodeInfo, PodInfo, PreFilter, PreFilterResult,
    Snapshot, Status,
};

/// The cycle-state key upstream uses, for error messages.
const PRE_FILTER_STATE_KEY: &str = "PreFilterInterPodAffinity";

/// Existing pods' required anti-affinity selects the incoming pod in the node's domain.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
/// The incoming pod's required affinity is not satisfied in the node's domain.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// The incoming pod's required anti-affinity selects a pod in the node's domain.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't match pod anti-affinity rules";

/// What PreFilter computes for Filter (upstream `preFilterState`).
#[derive(Clone, Debug, Default)]
pub(crate) struct PreFilterState {
    /// Per topology pair, existing pods with a required anti-affinity term selecting the pod.
    /// The counts are shared with the plugin's kept counts until preemption changes them.
    pub(crate) existing_anti_affinity_counts: Arc<TopologyCounts>,
    /// Per topology pair, existing pods matching all of the pod's required affinity terms.
    pub(crate) affinity_counts: Arc<TopologyCounts>,
    /// Per topology pair, existing pods matching one of the pod's required anti-affinity terms.
    pub(crate) anti_affinity_counts: Arc<TopologyCounts>,
    /// The pod's required affinity terms, namespace selectors resolved.
    pub(crate) affinity_terms: Vec<AffinityTerm>,
    /// The pod's required anti-affinity terms, namespace selectors resolved.
    pub(crate) anti_affinity_terms: Vec<AffinityTerm>,
    /// The labels of the pod's namespace (existing pods' terms may select it by them).
    pub(crate) namespace_labels: Option<Labels>,
    /// Whether the pod matches all its own required affinity terms (the "first pod of a group"
    /// rule), computed once rather than per node.
    pub(crate) matches_own_affinity: bool,
}

/// Whether `pod` matches every term (upstream `podMatchesAllAffinityTerms`; false for none).
pub(crate) fn matches_all(terms: &[AffinityTerm], pod: &PodInfo, ns: Option<&Labels>) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, ns))
}

impl TopologyCounts {
    /// For each term, count `pod` in the node's domain when it matches all of them (upstream
    /// `updateWithAffinityTerms`).
    fn update_with_affinity_terms(
        &mut self,
        terms: &[AffinityTerm],
        pod: &PodInfo,
        ns: Option<&Labels>,
        node: &Labels,
        delta: i64,
    ) {
        if matches_all(terms, pod, ns) {
            for t in terms {
                self.add_for_node(node, &t.topology_key, delta);
            }
        }
    }

    /// For each term `pod` matches, count it in the node's domain (upstream
    /// `updateWithAntiAffinityTerms`).
    fn update_with_anti_affinity_terms(
        &mut self,
        terms: &[AffinityTerm],
        pod: &PodInfo,
        ns: Option<&Labels>,
        node: &Labels,
        delta: i64,
    ) {
        for t in terms {
            if t.matches(pod, ns) {
                self.add_for_node(node, &t.topology_key, delta);
            }
        }
    }
}

impl PreFilterState {
    /// Account `other` being added to (`delta` 1) or removed from (-1) `node` (upstream
    /// `preFilterState.updateWithPod`).
    fn update_with_pod(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, delta: i64) {
        Arc::make_mut(&mut self.existing_anti_affinity_counts).update_with_anti_affinity_terms(
            &other.required_anti_affinity_terms,
            pod,
            self.namespace_labels.as_ref(),
            &node.labels,
            delta,
        );
        // The incoming pod's terms have their namespace selectors resolved: no label lookup.
        Arc::make_mut(&mut self.affinity_counts).update_with_affinity_terms(
            &self.affinity_terms,
            other,
            None,
            &node.labels,
            delta,
        );
        Arc::make_mut(&mut self.anti_affinity_counts).update_with_anti_affinity_terms(
            &self.anti_affinity_terms,
            other,
            None,
            &node.labels,
            delta,
        );
    }

    /// Whether the node satisfies the pod's required affinity (upstream `satisfyPodAffinity`).
    fn satisfies_pod_affinity(&self, node: &NodeInfo) -> bool {
        let mut pods_exist = true;
        for t in &self.affinity_terms {
            match node.labels.get(&t.topology_key) {
                // Every topology label must be on the node.
                None => return false,
                Some(v) => {
                    if self.affinity_counts.get(&t.topology_key, v) <= 0 {
                        pods_exist = false;
                    }
                }
            }
        }
        // The first pod of a group with affinity to itself: when no pod anywhere matches, it
        // may go to any node with the topology labels if it matches its own terms, or it
        // would stay pending forever.
        pods_exist || (self.affinity_counts.is_empty() && self.matches_own_affinity)
    }

    /// Whether the node satisfies the pod's required anti-affinity (upstream
    /// `satisfyPodAntiAffinity`).
    fn satisfies_pod_anti_affinity(&self, node: &NodeInfo) -> bool {
        if self.anti_affinity_counts.is_empty() {
            return true;
        }
        !self.anti_affinity_terms.iter().any(|t| {
            node.labels
                .get(&t.topology_key)
                .is_some_and(|v| self.anti_affinity_counts.get(&t.topology_key, v) > 0)
        })
    }

    /// Whether placing the pod on the node breaks no existing pod's required anti-affinity
    /// (upstream `satisfyExistingPodsAntiAffinity`).
    fn satisfies_existing_pods_anti_affinity(&self, node: &NodeInfo) -> bool {
        !self
            .existing_anti_affinity_counts
            .any_positive_on(&node.labels)
    }
}

/// What the existing pods' anti-affinity counts depend on besides the nodes: the incoming
/// pod's namespace (and its labels) and labels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ExistingKey {
    namespace: String,
    labels: Labels,
    namespace_labels: Option<Labels>,
}

/// What the incoming pod's counts depend on besides the nodes: its required terms, namespace
/// selectors resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IncomingKey {
    affinity_terms: Vec<AffinityTerm>,
    anti_affinity_terms: Vec<AffinityTerm>,
}

/// Both of the incoming pod's counts, kept across cycles.
#[derive(Debug, Default)]
pub(crate) struct KeptIncoming {
    affinity: KeptCounts,
    anti_affinity: KeptCounts,
}

impl InterPodAffinity {
    /// Per topology pair, the existing pods whose required anti-affinity terms select `pod`
    /// (upstream `getExistingAntiAffinityCounts`), from the kept counts.
    fn existing_anti_affinity_counts(
        &self,
        pod: &PodInfo,
        ns: Option<&Labels>,
        snapshot: &Snapshot,
    ) -> Arc<TopologyCounts> {
        if snapshot.with_required_anti_affinity.is_empty() {
            return Arc::default();
        }
        let key = ExistingKey {
            namespace: pod.namespace.clone(),
            labels: pod.labels.clone(),
            namespace_labels: ns.cloned(),
        };
        let mut kept = self.kept.lock();
        let kept = kept
            .existing_anti_affinity
            .get_or_insert_with(key, KeptCounts::default);
        kept.sync(snapshot, |node| {
            let mut part = Part::new();
            if node.node.is_none() {
                return part;
            }
            for existing in &node.pods_with_required_anti_affinity {
                for t in &existing.required_anti_affinity_terms {
                    if t.matches(pod, ns)
                        && let Some(v) = node.labels.get(&t.topology_key)
                    {
                        part.push((t.topology_key.clone(), v.clone(), 1));
                    }
                }
            }
            part
        });
        kept.counts.clone()
    }

    /// Per topology pair, the existing pods matching the incoming pod's required affinity (all
    /// terms) and anti-affinity (each term) (upstream `getIncomingAffinityAntiAffinityCounts`),
    /// from the kept counts.
    fn incoming_counts(&self, state: &mut PreFilterState, snapshot: &Snapshot) {
        if state.affinity_terms.is_empty() && state.anti_affinity_terms.is_empty() {
            return;
        }
        let key = IncomingKey {
            affinity_terms: state.affinity_terms.clone(),
            anti_affinity_terms: state.anti_affinity_terms.clone(),
        };
        let mut kept = self.kept.lock();
        let kept = kept.incoming.get_or_insert_with(key, KeptIncoming::default);
        let (affinity, anti) = (&state.affinity_terms, &state.anti_affinity_terms);
        let part = |node: &NodeInfo, anti_side: bool| {
            let mut part = Part::new();
            if node.node.is_none() {
                return part;
            }
            for existing in &node.pods {
                if anti_side {
                    for t in anti {
                        if t.matches(existing, None)
                            && let Some(v) = node.labels.get(&t.topology_key)
                        {
                            part.push((t.topology_key.clone(), v.clone(), 1));
                        }
                    }
                } else if matches_all(affinity, existing, None) {
                    for t in affinity {
                        if let Some(v) = node.labels.get(&t.topology_key) {
                            part.push((t.topology_key.clone(), v.clone(), 1));
                        }
                    }
                }
            }
            part
        };
        if !affinity.is_empty() {
            kept.affinity.sync(snapshot, |n| part(n, false));
            state.affinity_counts = kept.affinity.counts.clone();
        }
        if !anti.is_empty() {
            kept.anti_affinity.sync(snapshot, |n| part(n, true));
            state.anti_affinity_counts = kept.anti_affinity.counts.clone();
        }
    }
}

fn missing_state() -> Status {
    Status::error(format!(
        "error reading \"{PRE_FILTER_STATE_KEY}\" from cycleState: not found"
    ))
}

impl PreFilter for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let mut s = PreFilterState {
            affinity_terms: pod.required_affinity_terms.clone(),
            anti_affinity_terms: pod.required_anti_affinity_terms.clone(),
            ..PreFilterState::default()
        };
        for t in s
            .affinity_terms
            .iter_mut()
            .chain(s.anti_affinity_terms.iter_mut())
        {
            self.merge_namespaces(t);
        }
        s.namespace_labels = self.handle.namespace_labels(&pod.namespace);
        s.existing_anti_affinity_counts =
            self.existing_anti_affinity_counts(pod, s.namespace_labels.as_ref(), snapshot);
        self.incoming_counts(&mut s, snapshot);
        if s.existing_anti_affinity_counts.is_empty()
            && s.affinity_terms.is_empty()
            && s.anti_affinity_terms.is_empty()
        {
            return (None, Status::skip());
        }
        s.matches_own_affinity = matches_all(&s.affinity_terms, pod, None);
        state.write(s);
        (None, Status::success())
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

impl Filter for InterPodAffinity {
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>() else {
            return missing_state();
        };
        if !s.satisfies_pod_affinity(node) {
            return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
        }
        if !s.satisfies_pod_anti_affinity(node) {
            return Status::unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        if !s.satisfies_existing_pods_anti_affinity(node) {
            return Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        Status::success()
    }
}
