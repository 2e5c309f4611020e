//! The scheduling algorithm of one cycle (upstream `schedule_one.go` `schedulePod`): PreFilter,
//! the filters over a sampled, rotating window of nodes with an early stop, PreScore and Score
//! over the feasible nodes, and the choice of the best node with ties broken at random. No I/O:
//! the task around it (`scheduler.rs`) pops pods, assumes, binds and reports failures.
//!
//! When no node fits, the outcome is a [`FitError`] whose message is upstream's
//! `FitError.Error()`, word for word: what `kubectl describe pod` shows in `FailedScheduling`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use super::framework::runtime::Framework;
use super::framework::{
    Code, CycleState, NodeInfo, NodeToStatus, PodInfo, PreFilterResult, Snapshot, Status,
};
use super::metrics::point;

/// At least this many nodes are checked for feasibility (upstream `minFeasibleNodesToFind`).
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// And at least this percentage of them (upstream `minFeasibleNodesPercentageToFind`).
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;
/// Share of cycles whose per-plugin durations are recorded (upstream
/// `pluginMetricsSamplePercent`).
pub const PLUGIN_METRICS_SAMPLE_PERCENT: u32 = 10;

/// Why a pod fits nowhere, node by node (upstream `framework.Diagnosis`).
#[derive(Clone, Debug)]
pub struct Diagnosis {
    /// The status of each node that was checked and rejected.
    pub node_to_status: NodeToStatus,
    /// The status of every node not in `node_to_status` (upstream `AbsentNodesStatus`):
    /// UnschedulableAndUnresolvable with no reason unless PreFilter set one.
    pub absent_status: Status,
    /// Plugins that rejected the pod on some node: only their events may requeue it.
    pub unschedulable_plugins: BTreeSet<&'static str>,
    /// Plugins that returned Pending.
    pub pending_plugins: BTreeSet<&'static str>,
    /// The PreFilter rejection's message, if PreFilter rejected the pod.
    pub pre_filter_msg: String,
    /// The PostFilter (preemption) message.
    pub post_filter_msg: String,
}

impl Default for Diagnosis {
    fn default() -> Self {
        Self {
            node_to_status: NodeToStatus::new(),
            absent_status: Status::with_reasons(Code::UnschedulableAndUnresolvable, Vec::new()),
            unschedulable_plugins: BTreeSet::new(),
            pending_plugins: BTreeSet::new(),
            pre_filter_msg: String::new(),
            post_filter_msg: String::new(),
        }
    }
}

impl Diagnosis {
    /// Upstream `Diagnosis.AddPluginStatus`.
    pub fn add_plugin_status(&mut self, s: &Status) {
        if s.plugin().is_empty() {
            return;
        }
        if s.is_rejected() {
            self.unschedulable_plugins.insert(s.plugin());
        }
        if s.code() == Code::Pending {
            self.pending_plugins.insert(s.plugin());
        }
    }

    /// Every node's status, absent nodes filled with the absent status (what PostFilter reads).
    pub fn all_statuses(&self, snapshot: &Snapshot) -> NodeToStatus {
        let mut out = self.node_to_status.clone();
        for n in &snapshot.nodes {
            if !out.contains_key(&n.name) {
                out.insert(n.name.clone(), self.absent_status.clone());
            }
        }
        out
    }
}

/// No node fits the pod (upstream `framework.FitError`).
#[derive(Clone, Debug)]
pub struct FitError {
    pub num_all_nodes: usize,
    pub diagnosis: Diagnosis,
}

impl fmt::Display for FitError {
    /// "0/X nodes are available: <PreFilterMsg>. <reasons histogram>. <PostFilterMsg>"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        let d = &self.diagnosis;
        if !d.pre_filter_msg.is_empty() {
            write!(f, " {}.", d.pre_filter_msg)?;
        } else {
            let mut counts: std::collections::HashMap<&str, usize> = Default::default();
            for s in d.node_to_status.values() {
                for r in s.reasons() {
                    *counts.entry(r).or_default() += 1;
                }
            }
            let explicit = d.node_to_status.len();
            if explicit < self.num_all_nodes {
                for r in d.absent_status.reasons() {
                    *counts.entry(r).or_default() += self.num_all_nodes - explicit;
                }
            }
            let mut lines: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
            lines.sort();
            if !lines.is_empty() {
                write!(f, " {}.", lines.join(", "))?;
            }
        }
        if !d.post_filter_msg.is_empty() {
            write!(f, " {}", d.post_filter_msg)?;
        }
        Ok(())
    }
}

/// Why a cycle found no node.
#[derive(Clone, Debug)]
pub enum ScheduleError {
    /// The cluster has no nodes (upstream `ErrNoNodesAvailable`).
    NoNodesAvailable,
    /// No node fits.
    Fit(FitError),
    /// A plugin failed.
    Error(Status),
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleError::NoNodesAvailable => f.write_str("no nodes available to schedule pods"),
            ScheduleError::Fit(e) => e.fmt(f),
            ScheduleError::Error(s) => f.write_str(&s.message()),
        }
    }
}

/// Where the pod goes (upstream `ScheduleResult`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    pub suggested_host: String,
    /// Nodes checked by the filters.
    pub evaluated_nodes: usize,
    /// Of which fit.
    pub feasible_nodes: usize,
}

/// Upstream `numFeasibleNodesToFind`: how many feasible nodes are enough to stop filtering.
/// `percentage` is the profile's, else the global one; 0 means adaptive (50% minus 1% per 125
/// nodes, at least 5%); never fewer than 100 nodes.
pub fn num_feasible_nodes_to_find(percentage: i32, num_all_nodes: usize) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut pct = percentage.max(0) as usize;
    if pct == 0 {
        pct = 50usize
            .saturating_sub(num_all_nodes / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let n = num_all_nodes * pct / 100;
    n.max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// The state the algorithm keeps between cycles: where the node window starts, the tie-break
/// RNG, and buffers reused so a cycle does not allocate them again.
#[derive(Debug)]
pub struct Algorithm {
    /// The global `percentageOfNodesToScore` (0: adaptive).
    pub percentage_of_nodes_to_score: i32,
    /// Upstream `nextStartNodeIndex`.
    pub next_start_node_index: usize,
    rng: SmallRng,
    feasible: Vec<Arc<NodeInfo>>,
    totals: Vec<i64>,
}

impl Algorithm {
    /// A fresh algorithm state; `seed` drives tie-breaking and metrics sampling.
    pub fn new(percentage_of_nodes_to_score: i32, seed: u64) -> Self {
        Self {
            percentage_of_nodes_to_score,
            next_start_node_index: 0,
            rng: SmallRng::seed_from_u64(seed),
            feasible: Vec::new(),
            totals: Vec::new(),
        }
    }

    /// Whether this cycle records per-plugin durations (10% of cycles, as upstream).
    pub fn sample_plugin_metrics(&mut self) -> bool {
        self.rng.random_range(0..100) < PLUGIN_METRICS_SAMPLE_PERCENT
    }

    /// Find the node for `pod` (upstream `schedulePod`). `snapshot` must be current.
    pub fn schedule_pod(
        &mut self,
        fw: &Framework,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<ScheduleResult, ScheduleError> {
        if snapshot.is_empty() {
            return Err(ScheduleError::NoNodesAvailable);
        }
        let mut diagnosis = Diagnosis::default();
        self.find_nodes_that_fit_pod(fw, state, pod, snapshot, &mut diagnosis)?;
        let evaluated = self.feasible.len() + diagnosis.node_to_status.len();
        match self.feasible.len() {
            0 => {
                return Err(ScheduleError::Fit(FitError {
                    num_all_nodes: snapshot.len(),
                    diagnosis,
                }));
            }
            1 => {
                return Ok(ScheduleResult {
                    suggested_host: self.feasible[0].name.clone(),
                    evaluated_nodes: 1 + diagnosis.node_to_status.len(),
                    feasible_nodes: 1,
                });
            }
            _ => {}
        }
        let best = self.prioritize(fw, state, pod, snapshot)?;
        Ok(ScheduleResult {
            suggested_host: self.feasible[best].name.clone(),
            evaluated_nodes: evaluated,
            feasible_nodes: self.feasible.len(),
        })
    }

    /// The nodes that passed the filters in the last [`Self::schedule_pod`].
    pub fn feasible(&self) -> &[Arc<NodeInfo>] {
        &self.feasible
    }

    fn find_nodes_that_fit_pod(
        &mut self,
        fw: &Framework,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        diagnosis: &mut Diagnosis,
    ) -> Result<(), ScheduleError> {
        self.feasible.clear();
        let (pre_res, s, with_nodes) = fw.run_pre_filter(state, pod, snapshot);
        diagnosis.unschedulable_plugins = with_nodes.iter().copied().collect();
        if !s.is_success() {
            if !s.is_rejected() {
                return Err(ScheduleError::Error(s));
            }
            diagnosis.pre_filter_msg = s.message();
            diagnosis.add_plugin_status(&s);
            diagnosis.absent_status = s;
            return Ok(());
        }
        let active = fw.active_filters(state);
        if !pod.nominated_node_name.is_empty()
            && let Some(node) = snapshot.get(&pod.nominated_node_name)
        {
            let mut scratch = Diagnosis::default();
            self.pass_filters(fw, &active, state, pod, &mut scratch, std::slice::from_ref(node))?;
            if !self.feasible.is_empty() {
                return Ok(());
            }
        }
        let restricted: Vec<Arc<NodeInfo>>;
        let nodes: &[Arc<NodeInfo>] = match pre_res {
            Some(PreFilterResult {
                node_names: Some(names),
            }) => {
                restricted = names
                    .iter()
                    .filter_map(|n| snapshot.get(n).cloned())
                    .collect();
                let mut plugins = with_nodes.clone();
                plugins.sort_unstable();
                diagnosis.absent_status = Status::unresolvable(format!(
                    "node(s) didn't satisfy plugin(s) [{}]",
                    plugins.join(" ")
                ));
                &restricted
            }
            _ => &snapshot.nodes,
        };
        let result = self.pass_filters(fw, &active, state, pod, diagnosis, nodes);
        let processed = self.feasible.len() + diagnosis.node_to_status.len();
        self.next_start_node_index = (self.next_start_node_index + processed) % snapshot.len();
        result
    }

    /// Upstream `findNodesThatPassFilters`, sequential: from the rotating start, until enough
    /// feasible nodes are found.
    fn pass_filters(
        &mut self,
        fw: &Framework,
        active: &[usize],
        state: &CycleState,
        pod: &PodInfo,
        diagnosis: &mut Diagnosis,
        nodes: &[Arc<NodeInfo>],
    ) -> Result<(), ScheduleError> {
        self.feasible.clear();
        let n = nodes.len();
        if n == 0 {
            return Ok(());
        }
        let percentage = fw
            .percentage_of_nodes_to_score()
            .unwrap_or(self.percentage_of_nodes_to_score);
        let mut to_find = num_feasible_nodes_to_find(percentage, n);
        if !fw.has_score_plugins() {
            to_find = 1;
        }
        let start = self.next_start_node_index % n;
        if !fw.has_filter_plugins() {
            self.feasible
                .extend((0..to_find.min(n)).map(|i| nodes[(start + i) % n].clone()));
            return Ok(());
        }
        let started = Instant::now();
        let mut code = Code::Success;
        for i in 0..n {
            let node = &nodes[(start + i) % n];
            let s = fw.run_filters_with_nominated_pods(active, state, pod, node);
            if s.is_success() {
                self.feasible.push(node.clone());
                if self.feasible.len() >= to_find {
                    break;
                }
            } else if s.code() == Code::Error {
                code = Code::Error;
                fw_metrics_filter(fw, code, started);
                return Err(ScheduleError::Error(s));
            } else {
                diagnosis.add_plugin_status(&s);
                diagnosis.node_to_status.insert(node.name.clone(), s);
            }
        }
        fw_metrics_filter(fw, code, started);
        Ok(())
    }

    /// PreScore, Score and the choice of node: the index into `feasible` of the best.
    fn prioritize(
        &mut self,
        fw: &Framework,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<usize, ScheduleError> {
        if !fw.has_score_plugins() {
            self.totals.clear();
            self.totals.resize(self.feasible.len(), 1);
        } else {
            let s = fw.run_pre_score(state, pod, &self.feasible, snapshot);
            if !s.is_success() {
                return Err(ScheduleError::Error(s));
            }
            let s = fw.run_score(state, pod, &self.feasible, &mut self.totals);
            if !s.is_success() {
                return Err(ScheduleError::Error(s));
            }
        }
        Ok(select_host(&self.totals, &mut self.rng))
    }
}

fn fw_metrics_filter(fw: &Framework, code: Code, started: Instant) {
    fw.observe_extension_point(point::FILTER, code, started);
}

/// The index of the highest score, ties broken uniformly at random (reservoir sampling, as
/// upstream's `selectHost` did before the heap; the heap's order is not random without
/// extenders).
pub fn select_host(totals: &[i64], rng: &mut SmallRng) -> usize {
    let mut best = 0;
    let mut ties = 1u32;
    for i in 1..totals.len() {
        if totals[i] > totals[best] {
            best = i;
            ties = 1;
        } else if totals[i] == totals[best] {
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                best = i;
            }
        }
    }
    best
}

#[cfg(test)]
#[path = "schedule_one_tests.rs"]
mod tests;
