//! InterPodAffinity (upstream `pkg/scheduler/framework/plugins/interpodaffinity`): required pod
//! affinity and anti-affinity as a filter, preferred terms (the pod's and existing pods') as a
//! score.
//!
//! - `filtering`: PreFilter counts, per topology pair, the existing pods whose required
//!   anti-affinity selects the incoming pod, and the existing pods the incoming pod's required
//!   terms select; Filter then only looks the node's labels up in those counts. The AddPod and
//!   RemovePod extensions keep the counts right during preemption's dry runs.
//! - `scoring`: PreScore sums the weights of matching preferred terms per topology pair; Score
//!   looks the node up; NormalizeScore scales to 0..=100.
//! - `counts`: the per-topology-pair counts both use.
//!
//! PreFilter visits only the nodes with pods that have required anti-affinity, unless the
//! incoming pod has required terms itself (then every pod must be checked against them, as
//! upstream). PreScore likewise visits only nodes with pods that have affinity unless the pod
//! has preferred terms.

mod counts;
mod filtering;
#[cfg(test)]
mod filtering_tests;
mod scoring;
#[cfg(test)]
mod scoring_tests;

use std::sync::Arc;

use parking_lot::Mutex;
use serde::Deserialize;

use crate::scheduler::framework::{
    ActionType, AffinityTerm, ClusterEvent, EventResource, Filter, Handle, Memo, Plugin, PreFilter,
    PreScore, Score,
};
use crate::scheduler::plugins::INTER_POD_AFFINITY;

pub use filtering::{
    ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
};

/// The plugin's arguments (upstream `InterPodAffinityArgs`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InterPodAffinityArgs {
    /// The score weight of an existing pod's required affinity term that the incoming pod
    /// matches (0..=100; default 1).
    #[serde(default = "default_hard_pod_affinity_weight")]
    pub hard_pod_affinity_weight: i32,
    /// Skip the existing pods' preferred terms when the incoming pod has no preferred terms
    /// (a scoring shortcut upstream offers for large clusters).
    #[serde(default)]
    pub ignore_preferred_terms_of_existing_pods: bool,
    #[serde(default, rename = "apiVersion")]
    #[doc(hidden)]
    pub api_version: Option<String>,
    #[serde(default)]
    #[doc(hidden)]
    pub kind: Option<String>,
}

fn default_hard_pod_affinity_weight() -> i32 {
    1
}

impl Default for InterPodAffinityArgs {
    fn default() -> Self {
        Self {
            hard_pod_affinity_weight: default_hard_pod_affinity_weight(),
            ignore_preferred_terms_of_existing_pods: false,
            api_version: None,
            kind: None,
        }
    }
}

impl InterPodAffinityArgs {
    /// From the `pluginConfig` args (`Null`: the defaults), validated as upstream's
    /// `ValidateInterPodAffinityArgs`.
    pub fn parse(args: &serde_json::Value) -> Result<Self, String> {
        let parsed: Self = if args.is_null() {
            Self::default()
        } else {
            serde_json::from_value(args.clone())
                .map_err(|e| format!("decoding InterPodAffinityArgs: {e}"))?
        };
        let w = parsed.hard_pod_affinity_weight;
        if !(0..=100).contains(&w) {
            return Err(format!(
                "hardPodAffinityWeight: Invalid value: {w}: not in valid range [0, 100]"
            ));
        }
        Ok(parsed)
    }
}

/// How many sets of counts of each kind the plugin keeps across cycles (a workload schedules
/// pods of a few templates at a time).
const KEPT_COUNTS: usize = 16;

/// The counts PreFilter and PreScore keep across cycles, each brought up to date with the
/// snapshot by revisiting only the nodes that changed (see `NodeSums`).
#[derive(Debug)]
pub(crate) struct Kept {
    existing_anti_affinity: Memo<filtering::ExistingKey, counts::KeptCounts>,
    incoming: Memo<filtering::IncomingKey, filtering::KeptIncoming>,
    score: Memo<scoring::ScoreKey, counts::KeptCounts>,
}

impl Default for Kept {
    fn default() -> Self {
        Self {
            existing_anti_affinity: Memo::new(KEPT_COUNTS),
            incoming: Memo::new(KEPT_COUNTS),
            score: Memo::new(KEPT_COUNTS),
        }
    }
}

/// The InterPodAffinity plugin.
#[derive(Debug)]
pub struct InterPodAffinity {
    args: InterPodAffinityArgs,
    handle: Handle,
    kept: Mutex<Kept>,
}

/// Makes the plugin (the registry's factory).
pub fn new(args: &serde_json::Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(InterPodAffinity::new(
        InterPodAffinityArgs::parse(args)?,
        handle.clone(),
    )))
}

impl InterPodAffinity {
    /// A plugin with these arguments.
    pub fn new(args: InterPodAffinityArgs, handle: Handle) -> Self {
        Self {
            args,
            handle,
            kept: Mutex::default(),
        }
    }

    /// Resolve a term's namespace selector into its namespace set (upstream
    /// `mergeAffinityTermNamespacesIfNotEmpty`), so matching an existing pod against the
    /// incoming pod's terms needs no namespace lookup. An empty selector (all namespaces) stays.
    fn merge_namespaces(&self, term: &mut AffinityTerm) {
        if let Some(sel) = &term.namespace_selector
            && !sel.is_empty()
        {
            let names = self.handle.namespaces_matching(sel);
            term.namespaces.extend(names);
            term.namespace_selector = None;
        }
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        INTER_POD_AFFINITY
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
    /// Upstream: an assigned pod added, deleted or relabelled may satisfy (or stop violating) a
    /// term; a node added or relabelled (or its taints changed, standing in for a node that
    /// became ready) may bring the topology key.
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(vec![
            ClusterEvent {
                resource: EventResource::Pod,
                action: ActionType::ADD | ActionType::UPDATE_POD_LABEL | ActionType::DELETE,
            },
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD
                    | ActionType::UPDATE_NODE_LABEL
                    | ActionType::UPDATE_NODE_TAINT,
            },
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_default_and_validate_like_upstream() {
        let a = InterPodAffinityArgs::parse(&serde_json::Value::Null).unwrap();
        assert_eq!(a.hard_pod_affinity_weight, 1);
        assert!(!a.ignore_preferred_terms_of_existing_pods);
        let a = InterPodAffinityArgs::parse(&serde_json::json!({
            "hardPodAffinityWeight": 0, "ignorePreferredTermsOfExistingPods": true
        }))
        .unwrap();
        assert_eq!(a.hard_pod_affinity_weight, 0);
        assert!(a.ignore_preferred_terms_of_existing_pods);
        assert_eq!(
            InterPodAffinityArgs::parse(&serde_json::json!({ "hardPodAffinityWeight": 101 }))
                .unwrap_err(),
            "hardPodAffinityWeight: Invalid value: 101: not in valid range [0, 100]"
        );
        assert!(InterPodAffinityArgs::parse(&serde_json::json!({ "bogus": 1 })).is_err());
    }
}
