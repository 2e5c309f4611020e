//! NodeResourcesFit (upstream `noderesources/fit.go`): Filter checks that the node has room for
//! the pod's requests (`pods` count, cpu, memory, ephemeral storage, extended and hugepages
//! resources, overhead included), with upstream's reasons ("Too many pods", "Insufficient cpu",
//! …); Score ranks nodes by a strategy of [`scorer`](super::scorer) from `scoringStrategy`
//! (LeastAllocated by default).
//!
//! The pod's requests are parsed once when the pod enters the scheduler ([`PodInfo::requests`],
//! upstream `PodRequests`); PreFilter copies them into the cycle state as upstream does, and the
//! Filter compares integers and allocates only when the pod does not fit.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use super::scorer::{
    ResourceAllocationScorer, ResourceSpec, Strategy, UtilizationShapePoint,
    default_and_validate_resources, shape,
};
use crate::scheduler::framework::resource::{self, Resource};
use crate::scheduler::framework::{
    ActionType, ClusterEvent, Code, CycleState, EventResource, Filter, Handle, NodeInfo, Plugin,
    PodInfo, PreFilter, PreFilterResult, PreScore, Score, Snapshot, Status,
};
use crate::scheduler::plugins::NODE_RESOURCES_FIT;

/// `NodeResourcesFitArgs` (upstream `config/v1`), as JSON in a profile's `pluginConfig`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FitArgs {
    /// Resources the Filter does not check (extended resources only, as upstream).
    #[serde(default)]
    pub ignored_resources: Vec<String>,
    /// Resource name prefixes (`example.com` for `example.com/gpu`) the Filter does not check.
    #[serde(default)]
    pub ignored_resource_groups: Vec<String>,
    #[serde(default)]
    pub scoring_strategy: Option<ScoringStrategyArgs>,
    /// Tolerated for round trips of full configurations.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
}

/// `ScoringStrategy`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoringStrategyArgs {
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    #[serde(default)]
    pub resources: Option<Vec<ResourceSpec>>,
    #[serde(default)]
    pub requested_to_capacity_ratio: Option<RequestedToCapacityRatioArgs>,
}

/// `RequestedToCapacityRatioParam`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RequestedToCapacityRatioArgs {
    #[serde(default)]
    pub shape: Vec<UtilizationShapePoint>,
}

/// One resource the pod lacks on a node (upstream `InsufficientResource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsufficientResource {
    pub resource_name: String,
    pub reason: Cow<'static, str>,
    pub requested: i64,
    pub used: i64,
    pub capacity: i64,
    /// The pod would not fit even on the empty node: preemption cannot help.
    pub unresolvable: bool,
}

/// The plugin.
#[derive(Debug)]
pub struct Fit {
    ignored_resources: BTreeSet<String>,
    ignored_resource_groups: BTreeSet<String>,
    scorer: ResourceAllocationScorer,
}

/// PreFilter state: the pod's requests.
#[derive(Clone, Debug)]
struct PreFilterState(Resource);

/// PreScore state: the pod's (non-zero) request of each scored resource.
#[derive(Clone, Debug)]
struct PreScoreState(Vec<i64>);

/// Makes the plugin from `NodeResourcesFitArgs` (`Null`: the defaults).
pub fn new(args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(Fit::from_args(args)?))
}

impl Fit {
    /// Parse, default and validate the arguments (upstream `SetDefaults_NodeResourcesFitArgs`,
    /// `ValidateNodeResourcesFitArgs`).
    pub fn from_args(args: &serde_json::Value) -> Result<Self, String> {
        let args: FitArgs = if args.is_null() {
            FitArgs::default()
        } else {
            serde_json::from_value(args.clone())
                .map_err(|e| format!("decoding NodeResourcesFitArgs: {e}"))?
        };
        for (i, group) in args.ignored_resource_groups.iter().enumerate() {
            if group.contains('/') {
                return Err(format!(
                    "ignoredResourceGroups[{i}]: Invalid value: {group:?}: resource group name can't contain '/'"
                ));
            }
        }
        let strategy_args = args.scoring_strategy.unwrap_or_default();
        let resources =
            default_and_validate_resources(strategy_args.resources, "scoringStrategy.resources")?;
        let strategy = match strategy_args.type_.as_deref().unwrap_or("LeastAllocated") {
            "LeastAllocated" | "" => Strategy::LeastAllocated,
            "MostAllocated" => Strategy::MostAllocated,
            "RequestedToCapacityRatio" => {
                let points = strategy_args
                    .requested_to_capacity_ratio
                    .map(|r| r.shape)
                    .unwrap_or_default();
                Strategy::RequestedToCapacityRatio(shape(&points)?)
            }
            other => {
                return Err(format!(
                    "scoringStrategy.type: Unsupported value: {other:?}: supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\""
                ));
            }
        };
        Ok(Self {
            ignored_resources: args.ignored_resources.into_iter().collect(),
            ignored_resource_groups: args.ignored_resource_groups.into_iter().collect(),
            scorer: ResourceAllocationScorer {
                strategy,
                resources,
                use_requested: false,
            },
        })
    }

    /// Whether the Filter leaves this extended resource unchecked.
    fn ignored(&self, name: &str) -> bool {
        if !is_extended(name) {
            return false;
        }
        self.ignored_resources.contains(name)
            || (!self.ignored_resource_groups.is_empty()
                && self
                    .ignored_resource_groups
                    .contains(name.split('/').next().unwrap_or("")))
    }

    /// What the pod lacks on the node (upstream `fitsRequest`); empty when it fits. Allocates
    /// only when something is lacking.
    pub fn fits_request(&self, request: &Resource, node: &NodeInfo) -> Vec<InsufficientResource> {
        let mut out = Vec::new();
        let alloc = &node.allocatable;
        let used = &node.requested;
        let pods = node.pods.len() as i64;
        // The common case first, without the per-resource bookkeeping below: a pod with no
        // extended resources that fits (each check below passes when `req <= cap - used`).
        let fits = |req: i64, used: i64, cap: i64| req <= 0 || req <= cap - used;
        if pods < alloc.allowed_pod_number
            && request.scalar.is_empty()
            && fits(request.milli_cpu, used.milli_cpu, alloc.milli_cpu)
            && fits(request.memory, used.memory, alloc.memory)
            && fits(
                request.ephemeral_storage,
                used.ephemeral_storage,
                alloc.ephemeral_storage,
            )
        {
            return out;
        }
        if pods + 1 > alloc.allowed_pod_number {
            out.push(InsufficientResource {
                resource_name: resource::PODS.to_string(),
                reason: Cow::Borrowed("Too many pods"),
                requested: 1,
                used: pods,
                capacity: alloc.allowed_pod_number,
                unresolvable: false,
            });
        }
        if request.milli_cpu == 0
            && request.memory == 0
            && request.ephemeral_storage == 0
            && request.scalar.is_empty()
        {
            return out;
        }
        let mut check = |name: &str, reason: Cow<'static, str>, req: i64, used: i64, cap: i64| {
            if req > 0 && req > cap - used {
                out.push(InsufficientResource {
                    resource_name: name.to_string(),
                    reason,
                    requested: req,
                    used,
                    capacity: cap,
                    unresolvable: req > cap,
                });
            }
        };
        check(
            resource::CPU,
            Cow::Borrowed("Insufficient cpu"),
            request.milli_cpu,
            used.milli_cpu,
            alloc.milli_cpu,
        );
        check(
            resource::MEMORY,
            Cow::Borrowed("Insufficient memory"),
            request.memory,
            used.memory,
            alloc.memory,
        );
        check(
            resource::EPHEMERAL_STORAGE,
            Cow::Borrowed("Insufficient ephemeral-storage"),
            request.ephemeral_storage,
            used.ephemeral_storage,
            alloc.ephemeral_storage,
        );
        for (name, &req) in &request.scalar {
            if req == 0 || self.ignored(name) {
                continue;
            }
            let (u, cap) = (used.get(name), alloc.get(name));
            if req > cap - u {
                check(
                    name,
                    Cow::Owned(format!("Insufficient {name}")),
                    req,
                    u,
                    cap,
                );
            }
        }
        out
    }
}

/// Upstream `IsExtendedResourceName`: a domain-prefixed name outside `kubernetes.io/`, not a
/// quota `requests.` name.
fn is_extended(name: &str) -> bool {
    name.contains('/') && !name.starts_with("requests.") && !name.contains("kubernetes.io/")
}

impl Plugin for Fit {
    fn name(&self) -> &'static str {
        NODE_RESOURCES_FIT
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
    /// Upstream's list with queueing hints on: an assigned pod deleted, a node added or its
    /// allocatable changed.
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(vec![
            ClusterEvent {
                resource: EventResource::AssignedPod,
                action: ActionType::DELETE,
            },
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD | ActionType::UPDATE_NODE_ALLOCATABLE,
            },
        ])
    }
}

impl PreFilter for Fit {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status) {
        state.write(PreFilterState(pod.requests.clone()));
        (None, Status::success())
    }
}

impl Filter for Fit {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let request = match state.read::<PreFilterState>() {
            Some(s) => &s.0,
            None => &pod.requests,
        };
        let insufficient = self.fits_request(request, node);
        if insufficient.is_empty() {
            return Status::success();
        }
        let code = if insufficient.iter().any(|r| r.unresolvable) {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        };
        Status::with_reasons(code, insufficient.into_iter().map(|r| r.reason).collect())
    }
}

impl PreScore for Fit {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        _snapshot: &Snapshot,
    ) -> Status {
        state.write(PreScoreState(self.scorer.pod_requests(pod)));
        Status::success()
    }
}

impl Score for Fit {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> (i64, Status) {
        let score = match state.read::<PreScoreState>() {
            Some(s) => self.scorer.score(node, &s.0),
            None => self.scorer.score(node, &self.scorer.pod_requests(pod)),
        };
        (score, Status::success())
    }
}

#[cfg(test)]
#[path = "fit_tests.rs"]
mod tests;
