//! NodeAffinity (upstream `plugins/nodeaffinity` over `component-helpers/.../nodeaffinity`):
//! Filter on the pod's `nodeSelector` and required node affinity (and the profile's
//! `addedAffinity`); Score by the weights of the preferred terms a node matches, normalized to
//! 0..=100.
//!
//! Selectors are compiled once per pod in PreFilter/PreScore ([`RequiredNodeAffinity`],
//! [`PreferredSchedulingTerms`]), so the per-node checks are label lookups with no allocation.
//! PreFilter also narrows the candidate nodes when every required term pins `metadata.name`.
//!
//! Upstream's parsing rules are kept: an empty term selects nothing; a term that does not parse
//! (an `In` with no values, a `Gt` that is not an integer, a field selector with several values)
//! is skipped in required affinity and makes preferred scoring fail with an error.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1 as core;
use serde::Deserialize;

use super::taint_toleration::default_normalize_score;
use crate::scheduler::framework::{
    ActionType, ClusterEvent, CycleState, EventResource, Filter, Handle, Labels, MAX_NODE_SCORE,
    NodeInfo, NodeScore, Plugin, PodInfo, PreFilter, PreFilterResult, PreScore, Score, Snapshot,
    Status,
};
use crate::scheduler::plugins::NODE_AFFINITY;
use crate::store::Requirement;

/// The Filter reason for the pod's own selector or affinity (upstream `ErrReasonPod`).
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// The Filter reason for the profile's `addedAffinity` (upstream `errReasonEnforced`).
pub const ERR_REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";
/// The PreFilter reason when the terms pin disjoint node names (upstream `errReasonConflict`).
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

/// The field `matchFields` may select on (upstream `metav1.ObjectNameField`).
const OBJECT_NAME_FIELD: &str = "metadata.name";

/// A `matchFields` requirement: `key` equals (or not) `value`. Nodes have only `metadata.name`;
/// any other key reads as "".
#[derive(Clone, Debug, PartialEq, Eq)]
struct FieldRequirement {
    key: String,
    value: String,
    equal: bool,
}

impl FieldRequirement {
    fn matches(&self, node_name: &str) -> bool {
        let actual = if self.key == OBJECT_NAME_FIELD {
            node_name
        } else {
            ""
        };
        (actual == self.value) == self.equal
    }
}

/// A compiled `NodeSelectorTerm`: its label and field requirements (ANDed), or why it does not
/// parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledTerm {
    labels: Vec<Requirement>,
    fields: Vec<FieldRequirement>,
    error: Option<String>,
}

impl CompiledTerm {
    /// Compile a term (upstream `newNodeSelectorTerm`).
    pub fn new(term: &core::NodeSelectorTerm) -> Self {
        let mut out = CompiledTerm {
            labels: Vec::new(),
            fields: Vec::new(),
            error: None,
        };
        let mut errors = Vec::new();
        for (i, r) in term.match_expressions.iter().flatten().enumerate() {
            match label_requirement(r) {
                Ok(req) => out.labels.push(req),
                Err(e) => errors.push(format!("matchExpressions[{i}]: {e}")),
            }
        }
        for (i, r) in term.match_fields.iter().flatten().enumerate() {
            let values = r.values.as_deref().unwrap_or_default();
            if values.len() != 1 {
                errors.push(format!(
                    "matchFields[{i}].values: Invalid value: {values:?}: must have one element"
                ));
                continue;
            }
            let equal = match r.operator.as_str() {
                "In" => true,
                "NotIn" => false,
                op => {
                    errors.push(format!(
                        "matchFields[{i}].operator: Unsupported value: {op:?}: supported values: \"In\", \"NotIn\""
                    ));
                    continue;
                }
            };
            out.fields.push(FieldRequirement {
                key: r.key.clone(),
                value: values[0].clone(),
                equal,
            });
        }
        if !errors.is_empty() {
            out.error = Some(errors.join(", "));
        }
        out
    }

    /// Whether the node matches (upstream `nodeSelectorTerm.match`); a term that did not parse
    /// matches nothing.
    pub fn matches(&self, node_name: &str, labels: &Labels) -> bool {
        self.error.is_none()
            && self
                .labels
                .iter()
                .all(|r| r.matches(|k| labels.get(k).map(String::as_str)))
            && self.fields.iter().all(|f| f.matches(node_name))
    }
}

/// Whether a term has no requirements at all (it selects nothing).
fn is_empty_term(term: &core::NodeSelectorTerm) -> bool {
    term.match_expressions.as_ref().is_none_or(Vec::is_empty)
        && term.match_fields.as_ref().is_none_or(Vec::is_empty)
}

/// Upstream `nodeSelectorRequirementsAsSelector` for one requirement (with `labels.NewRequirement`'s
/// value checks).
fn label_requirement(r: &core::NodeSelectorRequirement) -> Result<Requirement, String> {
    let values = r.values.clone().unwrap_or_default();
    let key = r.key.clone();
    match r.operator.as_str() {
        "In" | "NotIn" if values.is_empty() => Err(
            "values: Required value: for 'in', 'notin' operators, values set can't be empty"
                .to_string(),
        ),
        "In" => Ok(Requirement::In(key, values)),
        "NotIn" => Ok(Requirement::NotIn(key, values)),
        "Exists" | "DoesNotExist" if !values.is_empty() => Err(
            "values: Forbidden: values set must be empty for exists and does not exist".to_string(),
        ),
        "Exists" => Ok(Requirement::Exists(key)),
        "DoesNotExist" => Ok(Requirement::DoesNotExist(key)),
        op @ ("Gt" | "Lt") => {
            if values.len() != 1 {
                return Err(
                    "values: Required value: for 'Gt', 'Lt' operators, exactly one value is required"
                        .to_string(),
                );
            }
            let n: i64 = values[0].parse().map_err(|_| {
                format!(
                    "values[0]: Invalid value: {:?}: for 'Gt', 'Lt' operators, the value must be an integer",
                    values[0]
                )
            })?;
            Ok(if op == "Gt" {
                Requirement::GreaterThan(key, n)
            } else {
                Requirement::LessThan(key, n)
            })
        }
        op => Err(format!(
            "operator: Invalid value: {op:?}: not a valid selector operator"
        )),
    }
}

/// A compiled `NodeSelector`: terms ORed; empty terms dropped (they select nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledNodeSelector {
    terms: Vec<CompiledTerm>,
}

impl CompiledNodeSelector {
    /// Compile, keeping terms that do not parse (they match nothing), as upstream's
    /// `LazyErrorNodeSelector` does for pods.
    pub fn lazy(selector: &core::NodeSelector) -> Self {
        Self {
            terms: selector
                .node_selector_terms
                .iter()
                .filter(|t| !is_empty_term(t))
                .map(CompiledTerm::new)
                .collect(),
        }
    }

    /// Compile, failing on the first term that does not parse (upstream `NewNodeSelector`, for
    /// configuration).
    pub fn strict(selector: &core::NodeSelector) -> Result<Self, String> {
        let s = Self::lazy(selector);
        match s.terms.iter().find_map(|t| t.error.clone()) {
            Some(e) => Err(e),
            None => Ok(s),
        }
    }

    /// Whether any term matches the node.
    pub fn matches(&self, node_name: &str, labels: &Labels) -> bool {
        self.terms.iter().any(|t| t.matches(node_name, labels))
    }
}

/// The pod's `nodeSelector` and required node affinity, compiled (upstream
/// `RequiredNodeAffinity`, also used by PodTopologySpread's `nodeAffinityPolicy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequiredNodeAffinity {
    node_selector: Labels,
    affinity: Option<CompiledNodeSelector>,
}

impl RequiredNodeAffinity {
    /// From the pod (upstream `GetRequiredNodeAffinity`).
    pub fn from_pod(pod: &PodInfo) -> Self {
        let affinity = pod.required_node_affinity().map(CompiledNodeSelector::lazy);
        Self {
            node_selector: pod.node_selector.clone(),
            affinity,
        }
    }

    /// Whether the node satisfies both (upstream `RequiredNodeAffinity.Match`).
    pub fn matches(&self, node: &NodeInfo) -> bool {
        self.node_selector
            .iter()
            .all(|(k, v)| node.labels.get(k) == Some(v))
            && self
                .affinity
                .as_ref()
                .is_none_or(|a| a.matches(&node.name, &node.labels))
    }
}

/// Compiled preferred terms with their weights (upstream `PreferredSchedulingTerms`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferredSchedulingTerms {
    terms: Vec<(CompiledTerm, i64)>,
}

impl PreferredSchedulingTerms {
    /// Compile; terms of weight 0 and empty terms are dropped; any term that does not parse is
    /// an error (upstream `NewPreferredSchedulingTerms`).
    pub fn new(terms: &[core::PreferredSchedulingTerm]) -> Result<Self, String> {
        let mut out = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            if t.weight == 0 || is_empty_term(&t.preference) {
                continue;
            }
            let term = CompiledTerm::new(&t.preference);
            if let Some(e) = &term.error {
                return Err(format!("[{i}].preference.{e}"));
            }
            out.push((term, i64::from(t.weight)));
        }
        Ok(Self { terms: out })
    }

    /// The sum of the weights of the terms the node matches.
    pub fn score(&self, node: &NodeInfo) -> i64 {
        self.terms
            .iter()
            .filter(|(t, _)| t.matches(&node.name, &node.labels))
            .map(|(_, w)| w)
            .sum()
    }
}

/// `NodeAffinityArgs` (upstream `config/v1`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAffinityArgs {
    /// Affinity every pod of the profile gets in addition to its own.
    #[serde(default)]
    pub added_affinity: Option<core::NodeAffinity>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
}

/// The plugin.
#[derive(Debug, Default)]
pub struct NodeAffinity {
    added_node_selector: Option<CompiledNodeSelector>,
    added_pref_sched_terms: Option<PreferredSchedulingTerms>,
}

/// PreFilter state: the pod's compiled required affinity.
#[derive(Clone, Debug)]
struct PreFilterState(RequiredNodeAffinity);

/// PreScore state: the pod's compiled preferred terms (`None`: the pod has none).
#[derive(Clone, Debug)]
struct PreScoreState(Option<PreferredSchedulingTerms>);

/// Makes the plugin from `NodeAffinityArgs` (`Null`: no added affinity).
pub fn new(args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(NodeAffinity::from_args(args)?))
}

impl NodeAffinity {
    /// Parse and compile the arguments.
    pub fn from_args(args: &serde_json::Value) -> Result<Self, String> {
        let args: NodeAffinityArgs = if args.is_null() {
            NodeAffinityArgs::default()
        } else {
            serde_json::from_value(args.clone())
                .map_err(|e| format!("decoding NodeAffinityArgs: {e}"))?
        };
        let mut pl = NodeAffinity::default();
        if let Some(added) = args.added_affinity {
            if let Some(ns) = &added.required_during_scheduling_ignored_during_execution {
                pl.added_node_selector = Some(CompiledNodeSelector::strict(ns).map_err(|e| {
                    format!(
                        "parsing addedAffinity.requiredDuringSchedulingIgnoredDuringExecution: {e}"
                    )
                })?);
            }
            if let Some(terms) = added
                .preferred_during_scheduling_ignored_during_execution
                .as_ref()
                .filter(|t| !t.is_empty())
            {
                pl.added_pref_sched_terms =
                    Some(PreferredSchedulingTerms::new(terms).map_err(|e| {
                        format!("parsing addedAffinity.preferredDuringSchedulingIgnoredDuringExecution: {e}")
                    })?);
            }
        }
        Ok(pl)
    }
}

/// The pod's preferred terms (`Ok(None)` when the field is absent).
fn pod_preferred(pod: &PodInfo) -> Result<Option<PreferredSchedulingTerms>, String> {
    match pod
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        }) {
        Some(terms) => PreferredSchedulingTerms::new(terms).map(Some),
        None => Ok(None),
    }
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NODE_AFFINITY
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilter> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn Filter> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScore> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn Score> {
        Some(self)
    }
    /// Upstream's list with queueing hints on: a node added or its labels changed.
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(vec![ClusterEvent {
            resource: EventResource::Node,
            action: ActionType::ADD | ActionType::UPDATE_NODE_LABEL,
        }])
    }
}

impl PreFilter for NodeAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        let required = pod.required_node_affinity();
        if required.is_none() && self.added_node_selector.is_none() && pod.node_selector.is_empty()
        {
            return (None, Status::skip());
        }
        state.write(PreFilterState(RequiredNodeAffinity::from_pod(pod)));
        let Some(required) = required.filter(|r| !r.node_selector_terms.is_empty()) else {
            return (None, Status::success());
        };
        // Terms are ORed; within a term, `metadata.name In` requirements are ANDed. Any term
        // without one can match any node, so nothing is narrowed.
        let mut node_names: BTreeSet<String> = BTreeSet::new();
        for term in &required.node_selector_terms {
            let mut term_names: Option<BTreeSet<String>> = None;
            for r in term.match_fields.iter().flatten() {
                if r.key == OBJECT_NAME_FIELD && r.operator == "In" {
                    let s: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
                    term_names = Some(match term_names {
                        None => s,
                        Some(prev) => prev.intersection(&s).cloned().collect(),
                    });
                }
            }
            let Some(names) = term_names else {
                return (None, Status::success());
            };
            node_names.extend(names);
        }
        if node_names.is_empty() {
            return (None, Status::unresolvable(ERR_REASON_CONFLICT));
        }
        (
            Some(PreFilterResult {
                node_names: Some(node_names),
            }),
            Status::success(),
        )
    }
}

impl Filter for NodeAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if let Some(added) = &self.added_node_selector
            && !added.matches(&node.name, &node.labels)
        {
            return Status::unresolvable(ERR_REASON_ENFORCED);
        }
        let matches = match state.read::<PreFilterState>() {
            Some(s) => s.0.matches(node),
            // PreFilter disabled: compile here (slow, but correct).
            None => RequiredNodeAffinity::from_pod(pod).matches(node),
        };
        if matches {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_POD)
        }
    }
}

impl PreScore for NodeAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snapshot: &Snapshot,
    ) -> Status {
        let preferred = match pod_preferred(pod) {
            Ok(p) => p,
            Err(e) => return Status::error(e),
        };
        if preferred.is_none() && self.added_pref_sched_terms.is_none() {
            return Status::skip();
        }
        state.write(PreScoreState(preferred));
        Status::success()
    }
}

impl Score for NodeAffinity {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> (i64, Status) {
        let mut count = self
            .added_pref_sched_terms
            .as_ref()
            .map_or(0, |t| t.score(node));
        match state.read::<PreScoreState>() {
            Some(s) => count += s.0.as_ref().map_or(0, |t| t.score(node)),
            None => match pod_preferred(pod) {
                Ok(p) => count += p.map_or(0, |t| t.score(node)),
                Err(e) => return (0, Status::error(e)),
            },
        }
        (count, Status::success())
    }
    fn has_normalize(&self) -> bool {
        true
    }
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
        Status::success()
    }
}

#[cfg(test)]
#[path = "node_affinity_tests.rs"]
mod tests;
