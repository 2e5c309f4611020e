//! DefaultPreemption (upstream `plugins/defaultpreemption` over `framework/preemption`): the
//! PostFilter that, when no node fits a pod, looks for a node where evicting lower-priority
//! pods would make room, evicts them and nominates the pod to that node.
//!
//! - [`candidates`]: victims per node (`SelectVictimsOnNode`) and the dry run over nodes;
//! - [`pick`]: choosing one candidate (`pickOneNodeForPreemption`);
//! - [`prepare`]: the API writes (victims' condition, deletion and event; nominations).
//!
//! PodDisruptionBudgets (policy/v1) are not served yet: no victim counts as violating one.
//! The preemptor's nomination is written to `status.nominatedNodeName` here; the scheduling
//! loop records it in the queue's nominator from the returned [`PostFilterResult`].

pub mod candidates;
pub mod pick;
pub mod prepare;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;

use crate::scheduler::framework::{
    Code, CycleState, FilterRunner, Handle, NodeInfo, NodeToStatus, Plugin, PodInfo, PostFilter,
    PostFilterResult, Snapshot, Status,
};

use super::DEFAULT_PREEMPTION;
use candidates::{dry_run, num_candidates};
use prepare::Preparer;

/// `PreemptionPolicy: Never`.
const PREEMPT_NEVER: &str = "Never";
/// What nodes that filters rejected as unresolvable say in the preemption message (upstream
/// `NewDefaultNodeToStatus`'s status for absent nodes).
const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// `DefaultPreemptionArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    /// The share of nodes (percent) to find candidates on before choosing.
    pub min_candidate_nodes_percentage: i64,
    /// At least this many candidate nodes (when there are that many).
    pub min_candidate_nodes_absolute: i64,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
        }
    }
}

impl Args {
    /// Parse and validate (upstream `ValidateDefaultPreemptionArgs`); unset fields take the
    /// defaults.
    pub fn parse(args: &Value) -> Result<Self, String> {
        let mut out = Args::default();
        let int = |key: &str| -> Result<Option<i64>, String> {
            match args.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| format!("{key}: must be an integer")),
            }
        };
        if let Some(p) = int("minCandidateNodesPercentage")? {
            out.min_candidate_nodes_percentage = p;
        }
        if let Some(a) = int("minCandidateNodesAbsolute")? {
            out.min_candidate_nodes_absolute = a;
        }
        let mut errs = Vec::new();
        let (p, a) = (
            out.min_candidate_nodes_percentage,
            out.min_candidate_nodes_absolute,
        );
        if !(0..=100).contains(&p) {
            errs.push(format!(
                "minCandidateNodesPercentage: Invalid value: {p}: not in valid range [0, 100]"
            ));
        }
        if a < 0 {
            errs.push(format!(
                "minCandidateNodesAbsolute: Invalid value: {a}: not in valid range [0, inf)"
            ));
        }
        if p == 0 && a == 0 {
            errs.push(
                "minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute".to_string(),
            );
        }
        if errs.is_empty() {
            Ok(out)
        } else {
            Err(errs.join(", "))
        }
    }
}

/// The plugin.
pub struct DefaultPreemption {
    args: Args,
    handle: Handle,
    preparer: Preparer,
    /// Start the dry run at a random node (upstream); tests turn this off for determinism.
    random_offset: bool,
}

impl std::fmt::Debug for DefaultPreemption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultPreemption")
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

/// The factory: `args` is a `DefaultPreemptionArgs` object (or null).
pub fn new(args: &Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(DefaultPreemption::with_args(
        Args::parse(args)?,
        handle.clone(),
    )))
}

impl DefaultPreemption {
    /// The plugin with these arguments.
    pub fn with_args(args: Args, handle: Handle) -> Self {
        Self {
            args,
            preparer: Preparer::new(handle.objects().clone()),
            handle,
            random_offset: true,
        }
    }

    /// Upstream `PodEligibleToPreemptOthers`: not with `preemptionPolicy: Never`, and not while
    /// lower-priority victims of an earlier preemption are still terminating on the node the
    /// pod is nominated to (unless filters now call that node unresolvable).
    fn eligible(
        &self,
        pod: &PodInfo,
        snapshot: &Snapshot,
        statuses: &NodeToStatus,
    ) -> Result<(), &'static str> {
        if pod.preemption_policy == PREEMPT_NEVER {
            return Err("not eligible due to preemptionPolicy=Never.");
        }
        let nominated = pod.nominated_node_name.as_str();
        if nominated.is_empty() {
            return Ok(());
        }
        if statuses
            .get(nominated)
            .is_some_and(|s| s.code() == Code::UnschedulableAndUnresolvable)
        {
            return Ok(());
        }
        if let Some(node) = snapshot.get(nominated)
            && node
                .pods
                .iter()
                .any(|p| p.priority < pod.priority && terminating_by_preemption(p))
        {
            return Err("not eligible due to a terminating pod on the nominated node.");
        }
        Ok(())
    }

    /// Upstream `Evaluator.Preempt`, without the "preemption: " prefix.
    fn preempt(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        statuses: &NodeToStatus,
        runner: &dyn FilterRunner,
    ) -> (Option<PostFilterResult>, Status) {
        // 0) The latest version of the pod (its nomination may have changed).
        let latest = match self
            .handle
            .objects()
            .store()
            .get("pods", &pod.namespace, &pod.name)
            .map_err(|e| e.message)
            .and_then(PodInfo::from_stored)
        {
            Ok(p) => p,
            Err(e) => return (None, Status::error(e)),
        };
        let pod = &latest;
        // 1) Eligibility.
        if let Err(msg) = self.eligible(pod, snapshot, statuses) {
            return (None, Status::unschedulable(msg));
        }
        if snapshot.is_empty() {
            return (None, Status::error("no nodes available"));
        }
        // 2) Candidates, among the nodes that filters rejected as Unschedulable (resolvable).
        let potential: Vec<Arc<NodeInfo>> = snapshot
            .nodes
            .iter()
            .filter(|n| {
                statuses
                    .get(&n.name)
                    .is_some_and(|s| s.code() == Code::Unschedulable)
            })
            .cloned()
            .collect();
        let now = jiff::Timestamp::now().as_nanosecond();
        let (found, node_statuses) = if potential.is_empty() {
            if !pod.nominated_node_name.is_empty() {
                // Preemption will not help anywhere: drop a stale nomination (not critical).
                if let Err(e) = self.preparer.set_nominated_node(pod, "") {
                    tracing::debug!(error = %e, "could not clear nominatedNodeName");
                }
            }
            (Vec::new(), NodeToStatus::new())
        } else {
            let offset = if self.random_offset {
                rand::random_range(0..potential.len())
            } else {
                0
            };
            let wanted = num_candidates(
                potential.len(),
                self.args.min_candidate_nodes_percentage,
                self.args.min_candidate_nodes_absolute,
            );
            dry_run(state, pod, &potential, offset, wanted, runner, now)
        };
        if found.is_empty() {
            if let Some(err) = node_statuses.values().find(|s| s.code() == Code::Error) {
                return (None, err.clone());
            }
            return (
                Some(PostFilterResult::default()),
                Status::unschedulable(fit_error(snapshot.len(), &node_statuses)),
            );
        }
        // 4) The best candidate.
        let Some(best) = pick::pick_one(&found, now).map(|i| &found[i]) else {
            return (
                None,
                Status::unschedulable("no candidate node for preemption"),
            );
        };
        // 5) Evict, clear lower nominations, nominate.
        for victim in &best.victims {
            if let Err(e) = self.preparer.preempt(pod, victim, &best.node) {
                return (None, Status::error(e.message));
            }
        }
        for other in runner.nominated_pods(&best.node) {
            if other.priority < pod.priority
                && other.uid != pod.uid
                && let Err(e) = self.preparer.set_nominated_node(&other, "")
            {
                tracing::debug!(error = %e, "could not clear a lower-priority nomination");
            }
        }
        if let Err(e) = self.preparer.set_nominated_node(pod, &best.node) {
            return (None, Status::error(e.message));
        }
        (
            Some(PostFilterResult {
                nominated_node_name: best.node.clone(),
            }),
            Status::success(),
        )
    }
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        DEFAULT_PREEMPTION
    }

    fn as_post_filter(&self) -> Option<&dyn PostFilter> {
        Some(self)
    }
}

impl PostFilter for DefaultPreemption {
    /// Upstream `DefaultPreemption.PostFilter`: a non-empty message gets the "preemption: "
    /// prefix, so the runtime can append it to the FailedScheduling message as is.
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        statuses: &NodeToStatus,
        runner: &dyn FilterRunner,
    ) -> (Option<PostFilterResult>, Status) {
        let (result, status) = self.preempt(state, pod, snapshot, statuses, runner);
        if status.reasons().is_empty() {
            return (result, status);
        }
        let prefixed = Status::new(status.code(), format!("preemption: {}", status.message()));
        (result, prefixed)
    }
}

/// Whether a pod is being deleted by an earlier preemption (upstream
/// `podTerminatingByPreemption`).
fn terminating_by_preemption(p: &PodInfo) -> bool {
    if !p.terminating {
        return false;
    }
    p.stored
        .value()
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c.get("type").and_then(Value::as_str) == Some("DisruptionTarget")
                && c.get("status").and_then(Value::as_str) == Some("True")
                && c.get("reason").and_then(Value::as_str) == Some("PreemptionByScheduler")
        })
}

/// Upstream `FitError.Error()` for the dry run: "0/N nodes are available: " and the sorted
/// histogram of reasons, nodes with no status of their own counting as "Preemption is not
/// helpful for scheduling".
fn fit_error(num_nodes: usize, statuses: &NodeToStatus) -> String {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for s in statuses.values() {
        for r in s.reasons() {
            *counts.entry(r.as_ref()).or_default() += 1;
        }
    }
    if statuses.len() < num_nodes {
        *counts.entry(NOT_HELPFUL).or_default() += num_nodes - statuses.len();
    }
    let mut reasons: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    reasons.sort();
    let mut msg = format!("0/{num_nodes} nodes are available:");
    if !reasons.is_empty() {
        msg.push_str(&format!(" {}.", reasons.join(", ")));
    }
    msg
}
