//! The DaemonSet controller's decisions, as pure functions of what it read (upstream
//! `daemon_controller.go` `podsShouldBeOnNode` and `updateDaemonSetStatus`, and `update.go`
//! `rollingUpdate`): which nodes need a pod, which pods go, and the status counts. The
//! controller (`mod.rs`) gathers the inputs and carries the plan out.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::eligibility::Verdict;

/// The label carrying the template generation a pod was made from (upstream
/// `extensions.DaemonSetTemplateGenerationKey`).
pub(crate) const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The label carrying the hash of the revision a pod was made from.
pub(crate) const HASH_LABEL: &str = "controller-revision-hash";

/// What the plan reads of one daemon pod.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DaemonPod {
    pub name: String,
    /// Bound to a node (`spec.nodeName` set).
    pub scheduled: bool,
    pub created: Option<jiff::Timestamp>,
    pub deleting: bool,
    pub phase: String,
    pub ready: bool,
    /// Ready for `minReadySeconds` now.
    pub available: bool,
    /// Made from the current revision (upstream `IsPodUpdated`).
    pub updated: bool,
}

impl DaemonPod {
    fn terminal(&self) -> bool {
        self.phase == "Succeeded" || self.phase == "Failed"
    }
}

/// Upstream `podByCreationTimestampAndPhase`: bound pods first, then oldest, then by name.
pub(crate) fn by_age(a: &DaemonPod, b: &DaemonPod) -> Ordering {
    b.scheduled
        .cmp(&a.scheduled)
        .then_with(|| a.created.cmp(&b.created))
        .then_with(|| a.name.cmp(&b.name))
}

/// Whether a pod carries the current revision's hash or template generation (upstream
/// `IsPodUpdated`).
pub(crate) fn is_updated(
    hash_label: Option<&str>,
    generation_label: Option<&str>,
    hash: &str,
    generation: Option<i64>,
) -> bool {
    let template_matches =
        generation.is_some_and(|g| generation_label == Some(g.to_string().as_str()));
    let hash_matches = !hash.is_empty() && hash_label == Some(hash);
    hash_matches || template_matches
}

/// What one node needs (upstream `podsShouldBeOnNode`).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct NodePlan {
    pub create: bool,
    pub delete: Vec<String>,
    /// Failed pods to delete now (each gets a `FailedDaemonPod` event).
    pub delete_failed: Vec<String>,
    /// Failed pods left alone while the node's backoff runs.
    pub failed_in_backoff: bool,
}

/// Decide for one node, given its pods (not sorted), the node's verdict, and whether the
/// DaemonSet surges. `backoff_allows` says whether a failed pod may be deleted now (and
/// starts the node's next backoff step when it does).
pub(crate) fn pods_should_be_on_node(
    verdict: Verdict,
    pods: &[DaemonPod],
    surge: bool,
    min_ready_available: impl Fn(&DaemonPod) -> bool,
    mut backoff_allows: impl FnMut() -> bool,
) -> NodePlan {
    let mut plan = NodePlan::default();
    let exists = !pods.is_empty();
    if verdict.should_run && !exists {
        plan.create = true;
        return plan;
    }
    if verdict.should_continue_running {
        let mut running = Vec::new();
        for pod in pods {
            if pod.deleting {
                continue;
            }
            if pod.phase == "Failed" {
                if backoff_allows() {
                    plan.delete_failed.push(pod.name.clone());
                } else {
                    plan.failed_in_backoff = true;
                }
            } else {
                running.push(pod.clone());
            }
        }
        running.sort_by(by_age);
        if !surge {
            // Only the oldest stays.
            plan.delete
                .extend(running.iter().skip(1).map(|p| p.name.clone()));
            return plan;
        }
        if running.len() <= 1 {
            if running.is_empty() && verdict.should_run {
                // Surging needs at least one live pod on the node.
                plan.create = true;
            }
            return plan;
        }
        // Surging keeps two pods only while the oldest new one is not yet available and the
        // oldest old one is ready; if neither is ready, the new one stays.
        let mut oldest_new: Option<&DaemonPod> = None;
        let mut oldest_old: Option<&DaemonPod> = None;
        for pod in &running {
            let slot = if pod.updated {
                &mut oldest_new
            } else {
                &mut oldest_old
            };
            if slot.is_none() {
                *slot = Some(pod);
            } else {
                plan.delete.push(pod.name.clone());
            }
        }
        if let (Some(new), Some(old)) = (oldest_new, oldest_old)
            && (!old.ready || min_ready_available(new))
        {
            plan.delete.push(old.name.clone());
        }
        return plan;
    }
    if exists {
        plan.delete
            .extend(pods.iter().filter(|p| !p.deleting).map(|p| p.name.clone()));
    }
    plan
}

/// Upstream `intstr.GetScaledValueFromIntOrPercent` rounding up: an int as is, `N%` of `total`
/// rounded up; anything else is an error.
pub(crate) fn scaled_up(v: &IntOrString, total: usize) -> Result<usize, String> {
    match v {
        IntOrString::Int(n) => Ok((*n).max(0) as usize),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("invalid value for IntOrString: {s:?}"))?;
            Ok((pct.max(0) as usize * total).div_ceil(100))
        }
    }
}

/// The rolling update's bounds for `desired` nodes (upstream `updatedDesiredNodeCounts`): surge
/// and unavailability scaled up; both zero means one unavailable.
pub(crate) fn surge_and_unavailable(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: usize,
) -> Result<(usize, usize), String> {
    let surge = max_surge.map_or(Ok(0), |v| scaled_up(v, desired))?;
    let mut unavailable = max_unavailable.map_or(Ok(0), |v| scaled_up(v, desired))?;
    if desired > 0 && surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

/// One node's pods as the rolling update sees them.
#[derive(Debug)]
pub(crate) struct NodeState<'a> {
    pub verdict: Verdict,
    pub pods: &'a [DaemonPod],
}

/// The live new and old pod on a node (upstream `findUpdatedPodsOnNode`); `None` if the node has
/// more than one of either (the manage loop cleans that up first).
fn updated_and_old(pods: &[DaemonPod]) -> Option<(Option<&DaemonPod>, Option<&DaemonPod>)> {
    let (mut new, mut old) = (None, None);
    for pod in pods.iter().filter(|p| !p.deleting) {
        let slot = if pod.updated { &mut new } else { &mut old };
        if slot.is_some() {
            return None;
        }
        *slot = Some(pod);
    }
    Some((new, old))
}

/// What a rolling update step does: delete these pods, create on these nodes.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Step {
    pub delete: Vec<String>,
    pub create: Vec<String>,
}

/// One rolling update step (upstream `rollingUpdate`). `nodes` maps every node that has daemon
/// pods or should run one to its state; `desired` is how many nodes should run one.
pub(crate) fn rolling_update(
    nodes: &BTreeMap<String, NodeState<'_>>,
    desired: usize,
    max_surge: usize,
    max_unavailable: usize,
) -> Step {
    if max_surge == 0 {
        return replace_within_unavailability(nodes, max_unavailable);
    }
    let mut step = Step::default();
    let mut should_not_run = Vec::new();
    let mut candidates = Vec::new();
    let mut allowed = Vec::new();
    let (mut surging, mut available) = (0usize, 0usize);
    for (node, state) in nodes {
        let Some((new, old)) = updated_and_old(state.pods) else {
            surging += 1;
            continue;
        };
        if old.or(new).is_some_and(|p| p.available) {
            available += 1;
        }
        match (new, old) {
            (_, None) => {}
            (None, Some(old)) if !old.available => {
                if !state.verdict.should_run {
                    step.delete.push(old.name.clone());
                } else {
                    allowed.push(node.clone());
                }
            }
            (None, Some(old)) => {
                if !state.verdict.should_run {
                    should_not_run.push(old.name.clone());
                } else if surging < max_surge {
                    candidates.push(node.clone());
                }
            }
            (Some(new), Some(old)) => {
                if new.available {
                    step.delete.push(old.name.clone());
                } else {
                    surging += 1;
                }
            }
        }
    }
    // With surge the owner expects full availability: pods on nodes the DaemonSet left go only
    // once enough pods elsewhere are available.
    let deletable = available.saturating_sub(desired).min(should_not_run.len());
    step.delete
        .extend(should_not_run.into_iter().take(deletable));
    let remaining = max_surge.saturating_sub(surging).min(candidates.len());
    step.create = allowed;
    step.create.extend(candidates.into_iter().take(remaining));
    step
}

/// The rolling update without surge: delete old pods while fewer than `max_unavailable` nodes
/// are unavailable; old pods that are unavailable anyway always go.
fn replace_within_unavailability(
    nodes: &BTreeMap<String, NodeState<'_>>,
    max_unavailable: usize,
) -> Step {
    let mut unavailable = 0;
    let mut allowed = Vec::new();
    let mut candidates = Vec::new();
    for state in nodes.values() {
        let Some((new, old)) = updated_and_old(state.pods) else {
            unavailable += 1;
            continue;
        };
        match (new, old) {
            (None, None) | (Some(_), Some(_)) => unavailable += 1,
            (Some(new), None) => {
                if !new.available {
                    unavailable += 1;
                }
            }
            (None, Some(old)) => {
                if !old.available {
                    allowed.push(old.name.clone());
                    unavailable += 1;
                } else if unavailable < max_unavailable {
                    candidates.push(old.name.clone());
                }
            }
        }
    }
    let remaining = max_unavailable
        .saturating_sub(unavailable)
        .min(candidates.len());
    let mut delete = allowed;
    delete.extend(candidates.into_iter().take(remaining));
    Step {
        delete,
        create: Vec::new(),
    }
}

/// The status counts (upstream `updateDaemonSetStatus`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub desired: i32,
    pub current: i32,
    pub misscheduled: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    pub unavailable: i32,
}

/// Count over every node: its verdict and its daemon pods (without terminal pods being
/// deleted); the oldest pod of a node stands for it.
pub(crate) fn counts<'a>(nodes: impl IntoIterator<Item = (Verdict, &'a [DaemonPod])>) -> Counts {
    let mut c = Counts::default();
    for (verdict, pods) in nodes {
        let scheduled = !pods.is_empty();
        if !verdict.should_run {
            if scheduled {
                c.misscheduled += 1;
            }
            continue;
        }
        c.desired += 1;
        let Some(pod) = pods.iter().min_by(|a, b| by_age(a, b)) else {
            continue;
        };
        c.current += 1;
        if pod.ready {
            c.ready += 1;
            if pod.available {
                c.available += 1;
            }
        }
        if pod.updated {
            c.updated += 1;
        }
    }
    c.unavailable = c.desired - c.available;
    c
}

/// Whether a pod counts for the status and rolling update: terminal pods being deleted do not
/// (upstream `getNodesToDaemonPods` with `includeDeletedTerminal` false).
pub(crate) fn counts_for_status(pod: &DaemonPod) -> bool {
    !(pod.terminal() && pod.deleting)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const RUN: Verdict = Verdict {
        should_run: true,
        should_continue_running: true,
    };
    const STAY: Verdict = Verdict {
        should_run: false,
        should_continue_running: true,
    };
    const NO: Verdict = Verdict {
        should_run: false,
        should_continue_running: false,
    };

    fn pod(name: &str, age: i64, updated: bool, available: bool) -> DaemonPod {
        DaemonPod {
            name: name.into(),
            scheduled: true,
            created: Some(jiff::Timestamp::from_second(1_000 + age).unwrap()),
            deleting: false,
            phase: "Running".into(),
            ready: available,
            available,
            updated,
        }
    }

    fn plan(verdict: Verdict, pods: &[DaemonPod], surge: bool) -> NodePlan {
        pods_should_be_on_node(verdict, pods, surge, |p| p.available, || true)
    }

    #[test]
    fn a_node_that_should_run_and_has_no_pod_gets_one() {
        assert!(plan(RUN, &[], false).create);
        assert_eq!(plan(STAY, &[], false), NodePlan::default());
    }

    #[test]
    fn without_surge_only_the_oldest_pod_stays() {
        let pods = [
            pod("b", 2, true, true),
            pod("a", 1, true, true),
            pod("c", 3, false, true),
        ];
        assert_eq!(plan(RUN, &pods, false).delete, ["b", "c"]);
    }

    #[test]
    fn pods_on_a_node_that_evicts_them_are_deleted_unless_already_going() {
        let mut going = pod("b", 2, true, true);
        going.deleting = true;
        assert_eq!(
            plan(NO, &[pod("a", 1, true, true), going], false).delete,
            ["a"]
        );
    }

    #[test]
    fn failed_pods_are_deleted_when_the_backoff_allows() {
        let mut failed = pod("f", 1, true, false);
        failed.phase = "Failed".into();
        let p = plan(RUN, std::slice::from_ref(&failed), false);
        assert_eq!(p.delete_failed, ["f"]);
        assert!(
            !p.create,
            "the replacement comes once the failed pod is gone"
        );
        let held = pods_should_be_on_node(RUN, &[failed], false, |_| true, || false);
        assert!(held.failed_in_backoff && held.delete_failed.is_empty());
    }

    #[rstest]
    // new not ready, old ready: both stay while the new one comes up
    #[case(false, true, vec![])]
    // old not ready: it goes at once
    #[case(false, false, vec!["old"])]
    // new available: the old one goes
    #[case(true, true, vec!["old"])]
    fn surging_keeps_two_pods_only_while_the_new_one_comes_up(
        #[case] new_available: bool,
        #[case] old_ready: bool,
        #[case] want: Vec<&str>,
    ) {
        let new = pod("new", 2, true, new_available);
        let old = pod("old", 1, false, old_ready);
        assert_eq!(plan(RUN, &[new, old], true).delete, want);
    }

    #[test]
    fn surging_keeps_one_pod_of_each_revision_at_most() {
        let pods = [
            pod("new1", 3, true, false),
            pod("new2", 4, true, false),
            pod("old1", 1, false, true),
            pod("old2", 2, false, true),
        ];
        assert_eq!(plan(RUN, &pods, true).delete, ["old2", "new2"]);
    }

    // upstream TestGetUnavailableNumbers / the surge and unavailable arithmetic
    #[rstest]
    #[case(None, Some(IntOrString::Int(1)), 0, (0, 1))]
    #[case(None, Some(IntOrString::String("50%".into())), 0, (0, 0))]
    #[case(None, Some(IntOrString::Int(1)), 5, (0, 1))]
    #[case(None, Some(IntOrString::String("50%".into())), 5, (0, 3))]
    #[case(Some(IntOrString::String("50%".into())), Some(IntOrString::Int(0)), 5, (3, 0))]
    #[case(Some(IntOrString::Int(0)), Some(IntOrString::Int(0)), 5, (0, 1))]
    #[case(Some(IntOrString::String("1%".into())), None, 3, (1, 0))]
    #[case(None, Some(IntOrString::String("0%".into())), 100, (0, 1))]
    fn surge_and_unavailability_scale_up_and_default_to_one_unavailable(
        #[case] surge: Option<IntOrString>,
        #[case] unavailable: Option<IntOrString>,
        #[case] desired: usize,
        #[case] want: (usize, usize),
    ) {
        assert_eq!(
            surge_and_unavailable(surge.as_ref(), unavailable.as_ref(), desired),
            Ok(want)
        );
    }

    #[test]
    fn a_percentage_must_end_in_percent() {
        assert!(scaled_up(&IntOrString::String("5".into()), 10).is_err());
    }

    fn states<'a>(nodes: &'a [(&str, Verdict, Vec<DaemonPod>)]) -> BTreeMap<String, NodeState<'a>> {
        nodes
            .iter()
            .map(|(n, v, pods)| {
                (
                    n.to_string(),
                    NodeState {
                        verdict: *v,
                        pods: pods.as_slice(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn without_surge_old_pods_go_up_to_max_unavailable() {
        let nodes = [
            ("n1", RUN, vec![pod("a", 1, false, true)]),
            ("n2", RUN, vec![pod("b", 1, false, true)]),
            ("n3", RUN, vec![pod("c", 1, false, true)]),
        ];
        assert_eq!(rolling_update(&states(&nodes), 3, 0, 2).delete, ["a", "b"]);
    }

    #[test]
    fn without_surge_an_unavailable_new_pod_uses_up_the_budget() {
        let nodes = [
            ("n1", RUN, vec![pod("new", 2, true, false)]),
            ("n2", RUN, vec![pod("b", 1, false, true)]),
            ("n3", RUN, vec![pod("c", 1, false, false)]),
        ];
        // n3's old pod is unavailable anyway, so it is replaced regardless of the budget
        assert_eq!(rolling_update(&states(&nodes), 3, 0, 1).delete, ["c"]);
    }

    #[test]
    fn with_surge_new_pods_start_beside_old_ones_up_to_max_surge() {
        let nodes = [
            ("n1", RUN, vec![pod("a", 1, false, true)]),
            ("n2", RUN, vec![pod("b", 1, false, true)]),
            ("n3", RUN, vec![pod("c", 1, false, false)]),
        ];
        let step = rolling_update(&states(&nodes), 3, 1, 0);
        assert_eq!(
            step.create,
            ["n3", "n1"],
            "the unavailable one is always allowed"
        );
        assert!(step.delete.is_empty());
    }

    #[test]
    fn with_surge_an_available_new_pod_retires_the_old_one() {
        let nodes = [(
            "n1",
            RUN,
            vec![pod("old", 1, false, true), pod("new", 2, true, true)],
        )];
        let step = rolling_update(&states(&nodes), 1, 1, 0);
        assert_eq!(step.delete, ["old"]);
        assert!(step.create.is_empty());
    }

    #[test]
    fn with_surge_pods_on_left_nodes_go_only_when_enough_are_available() {
        let nodes = [
            ("n1", STAY, vec![pod("left", 1, false, true)]),
            ("n2", RUN, vec![pod("b", 1, true, false)]),
        ];
        assert!(rolling_update(&states(&nodes), 1, 1, 0).delete.is_empty());
        let nodes = [
            ("n1", STAY, vec![pod("left", 1, false, true)]),
            ("n2", RUN, vec![pod("b", 1, true, true)]),
        ];
        assert_eq!(rolling_update(&states(&nodes), 1, 1, 0).delete, ["left"]);
    }

    #[test]
    fn status_counts_follow_the_oldest_pod_of_each_node() {
        let nodes = [
            (
                RUN,
                vec![pod("a", 1, true, true), pod("a2", 2, false, false)],
            ),
            (RUN, vec![pod("b", 1, false, false)]),
            (RUN, vec![]),
            (NO, vec![pod("x", 1, true, true)]),
        ];
        let c = counts(nodes.iter().map(|(v, p)| (*v, p.as_slice())));
        assert_eq!(
            c,
            Counts {
                desired: 3,
                current: 2,
                misscheduled: 1,
                ready: 1,
                updated: 1,
                available: 1,
                unavailable: 2,
            }
        );
    }

    #[test]
    fn pods_are_updated_by_hash_or_template_generation() {
        assert!(is_updated(Some("h1"), None, "h1", Some(2)));
        assert!(is_updated(Some("h0"), Some("2"), "h1", Some(2)));
        assert!(!is_updated(Some("h0"), Some("1"), "h1", Some(2)));
        assert!(!is_updated(None, None, "", None));
    }
}
