//! Finding preemption candidates (upstream `framework/preemption/preemption.go`
//! `DryRunPreemption` and `default_preemption.go` `SelectVictimsOnNode`): for each node where
//! evicting pods could help, the smallest set of lower-priority victims that lets the pod fit.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::scheduler::framework::{
    Code, CycleState, FilterRunner, NodeInfo, NodeToStatus, PodInfo, Status,
};

/// Victims on one node (upstream `extenderv1.Victims` with the node name: `Candidate`).
#[derive(Clone, Debug)]
pub struct Candidate {
    pub node: String,
    /// In order of importance, most important first (upstream keeps them sorted so).
    pub victims: Vec<Arc<PodInfo>>,
    /// How many victims' eviction would violate a PodDisruptionBudget (always 0 until
    /// policy/v1 is served).
    pub num_pdb_violations: usize,
}

/// A pod's start time in nanoseconds since the epoch; a pod not started yet counts as
/// starting now (upstream `GetPodStartTime`).
pub fn start_time_nanos(pod: &PodInfo, now: i128) -> i128 {
    if pod.start_time.is_empty() {
        return now;
    }
    pod.start_time
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_nanosecond())
        .unwrap_or(now)
}

/// Upstream `util.MoreImportantPod`: higher priority, then earlier start.
pub fn more_important(a: &PodInfo, b: &PodInfo, now: i128) -> bool {
    if a.priority != b.priority {
        return a.priority > b.priority;
    }
    start_time_nanos(a, now) < start_time_nanos(b, now)
}

fn importance_order(a: &Arc<PodInfo>, b: &Arc<PodInfo>, now: i128) -> Ordering {
    if more_important(a, b, now) {
        Ordering::Less
    } else if more_important(b, a, now) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// Upstream `SelectVictimsOnNode`: remove every lower-priority pod; if the pod then fits,
/// reprieve victims one by one from the most important, keeping each whose return still lets
/// the pod fit. `node` and `state` are the caller's copies and end up reflecting the victims'
/// removal. Success with the victims, or the status saying why this node cannot help.
pub fn select_victims_on_node(
    state: &mut CycleState,
    pod: &PodInfo,
    node: &mut NodeInfo,
    runner: &dyn FilterRunner,
    now: i128,
) -> Result<(Vec<Arc<PodInfo>>, usize), Status> {
    let mut potential: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    for p in &potential {
        remove_pod(state, pod, node, p, runner)?;
    }
    if potential.is_empty() {
        return Err(Status::unresolvable(
            "No preemption victims found for incoming pod",
        ));
    }
    // Not fitting with every lower-priority pod gone: preemption cannot help here (upstream
    // deliberately ignores affinity to the victims themselves).
    let fits = runner.run_filters(state, pod, node);
    if !fits.is_success() {
        return Err(fits);
    }
    potential.sort_by(|a, b| importance_order(a, b, now));
    // PodDisruptionBudgets are not served yet: every victim is non-violating.
    let mut victims = Vec::new();
    for p in potential {
        add_pod(state, pod, node, &p, runner)?;
        if !runner.run_filters(state, pod, node).is_success() {
            remove_pod(state, pod, node, &p, runner)?;
            victims.push(p);
        }
    }
    Ok((victims, 0))
}

fn remove_pod(
    state: &mut CycleState,
    pod: &PodInfo,
    node: &mut NodeInfo,
    victim: &Arc<PodInfo>,
    runner: &dyn FilterRunner,
) -> Result<(), Status> {
    node.remove_pod(&victim.uid);
    let s = runner.run_pre_filter_remove_pod(state, pod, victim, node);
    if s.is_success() {
        Ok(())
    } else {
        Err(as_error(s))
    }
}

fn add_pod(
    state: &mut CycleState,
    pod: &PodInfo,
    node: &mut NodeInfo,
    victim: &Arc<PodInfo>,
    runner: &dyn FilterRunner,
) -> Result<(), Status> {
    node.add_pod(victim.clone());
    let s = runner.run_pre_filter_add_pod(state, pod, victim, node);
    if s.is_success() {
        Ok(())
    } else {
        Err(as_error(s))
    }
}

/// A PreFilter extension failing is an error of the dry run, not a verdict on the node
/// (upstream `framework.AsStatus(err)`).
fn as_error(s: Status) -> Status {
    if s.code() == Code::Error {
        s
    } else {
        Status::error(s.message())
    }
}

/// Upstream `calculateNumCandidates`: a percentage of the nodes, at least an absolute number,
/// at most every node.
pub fn num_candidates(num_nodes: usize, percentage: i64, absolute: i64) -> usize {
    let mut n = (num_nodes as i64 * percentage / 100) as usize;
    if (n as i64) < absolute {
        n = absolute.max(0) as usize;
    }
    n.min(num_nodes)
}

/// Upstream `DryRunPreemption`: try the potential nodes from `offset` (wrapping) until
/// `wanted` candidates are found (at least one without PDB violations); the statuses of the
/// nodes that could not help, by name.
pub fn dry_run(
    state: &CycleState,
    pod: &PodInfo,
    potential: &[Arc<NodeInfo>],
    offset: usize,
    wanted: usize,
    runner: &dyn FilterRunner,
    now: i128,
) -> (Vec<Candidate>, NodeToStatus) {
    let mut non_violating = Vec::new();
    let mut violating = Vec::new();
    let mut statuses = NodeToStatus::new();
    for i in 0..potential.len() {
        let original = &potential[(offset + i) % potential.len()];
        let mut node = (**original).clone();
        let mut state = state.clone();
        match select_victims_on_node(&mut state, pod, &mut node, runner, now) {
            Ok((victims, violations)) if !victims.is_empty() => {
                let c = Candidate {
                    node: node.name.clone(),
                    victims,
                    num_pdb_violations: violations,
                };
                if violations == 0 {
                    non_violating.push(c);
                } else {
                    violating.push(c);
                }
                if !non_violating.is_empty() && non_violating.len() + violating.len() >= wanted {
                    break;
                }
            }
            Ok(_) => {
                statuses.insert(
                    node.name.clone(),
                    Status::error(format!(
                        "expected at least one victim pod on node {:?}",
                        node.name
                    )),
                );
            }
            Err(status) => {
                statuses.insert(node.name.clone(), status);
            }
        }
    }
    non_violating.extend(violating);
    (non_violating, statuses)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    /// Upstream `TestGetOffsetAndNumCandidates`' cases (percentage, absolute).
    #[rstest]
    #[case::no_nodes(0, 10, 100, 0)]
    #[case::fewer_nodes_than_the_absolute(10, 10, 100, 10)]
    #[case::the_absolute_wins(1000, 5, 100, 100)]
    #[case::the_percentage_wins(1000, 40, 100, 400)]
    #[case::every_node(1000, 100, 0, 1000)]
    fn candidate_counts(
        #[case] nodes: usize,
        #[case] percentage: i64,
        #[case] absolute: i64,
        #[case] want: usize,
    ) {
        assert_eq!(num_candidates(nodes, percentage, absolute), want);
    }
}
