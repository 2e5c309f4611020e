//! Choosing among candidates (upstream `pickOneNodeForPreemption`): the criteria in upstream's
//! order, each consulted only to break the previous one's ties.

use super::candidates::{Candidate, start_time_nanos};

/// Upstream's criteria, each a score where higher is better:
/// 1. fewest PodDisruptionBudget violations;
/// 2. lowest highest-victim priority;
/// 3. lowest sum of victim priorities (each shifted by 2^31 so negative priorities do not make
///    more victims look cheaper);
/// 4. fewest victims;
/// 5. latest start of the earliest-started highest-priority victim.
///
/// Remaining ties: the first candidate, in the order they were found.
pub fn pick_one(candidates: &[Candidate], now: i128) -> Option<usize> {
    let scores: [&dyn Fn(&Candidate) -> i128; 5] = [
        &|c| -(c.num_pdb_violations as i128),
        &|c| -(c.victims.first().map_or(0, |p| p.priority) as i128),
        &|c| {
            -c.victims
                .iter()
                .map(|p| p.priority as i128 + (i32::MAX as i128 + 1))
                .sum::<i128>()
        },
        &|c| -(c.victims.len() as i128),
        &|c| earliest_start_of_highest(c, now),
    ];
    let mut remaining: Vec<usize> = (0..candidates.len()).collect();
    if remaining.is_empty() {
        return None;
    }
    for score in scores {
        let mut best = i128::MIN;
        let mut selected = Vec::new();
        for &i in &remaining {
            let s = score(&candidates[i]);
            if s > best {
                best = s;
                selected.clear();
            }
            if s == best {
                selected.push(i);
            }
        }
        if selected.len() == 1 {
            return Some(selected[0]);
        }
        remaining = selected;
    }
    remaining.first().copied()
}

/// Upstream `GetEarliestPodStartTime`: the earliest start among the victims of the highest
/// priority (victims are sorted most important first).
fn earliest_start_of_highest(c: &Candidate, now: i128) -> i128 {
    let Some(first) = c.victims.first() else {
        return i128::MIN;
    };
    c.victims
        .iter()
        .filter(|p| p.priority == first.priority)
        .map(|p| start_time_nanos(p, now))
        .min()
        .unwrap_or(i128::MIN)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::scheduler::framework::{PodInfo, testing};

    fn victim(name: &str, priority: i32, start: &str) -> Arc<PodInfo> {
        let mut v = testing::simple_pod(name, "", "");
        v["spec"]["priority"] = priority.into();
        if !start.is_empty() {
            v["status"] = serde_json::json!({ "startTime": start });
        }
        testing::pod(v)
    }

    /// Nodes with victims given as (priority, start time); victims sorted as upstream keeps
    /// them (most important first).
    fn candidates(nodes: &[Vec<(i32, &str)>]) -> Vec<Candidate> {
        nodes
            .iter()
            .enumerate()
            .map(|(i, vs)| {
                let mut victims: Vec<_> = vs
                    .iter()
                    .enumerate()
                    .map(|(j, (p, s))| victim(&format!("n{i}-p{j}"), *p, s))
                    .collect();
                victims.sort_by_key(|p| std::cmp::Reverse(p.priority));
                Candidate {
                    node: format!("node{}", i + 1),
                    victims,
                    num_pdb_violations: 0,
                }
            })
            .collect()
    }

    const T0: &str = "2026-01-01T00:00:00Z";
    const T1: &str = "2026-01-01T00:00:01Z";
    const T2: &str = "2026-01-01T00:00:02Z";

    /// Upstream `TestPickOneNodeForPreemption`'s cases, victims as they come out of
    /// `SelectVictimsOnNode`.
    #[rstest::rstest]
    #[case::a_tie_picks_the_first(vec![vec![(1, T0)], vec![(1, T0)]], "node1")]
    #[case::min_highest_priority(vec![vec![(100, T0)], vec![(50, T0), (50, T0)], vec![(100, T0)]], "node2")]
    #[case::min_sum_when_highest_ties(
        vec![vec![(100, T0), (50, T0)], vec![(100, T0), (10, T0)], vec![(100, T0), (10, T0), (10, T0)]],
        "node2"
    )]
    #[case::fewer_victims_make_a_smaller_sum(
        vec![vec![(100, T0), (-50, T0), (50, T0)], vec![(100, T0), (0, T0)], vec![(100, T0), (0, T0)]],
        "node2"
    )]
    #[case::negative_priorities_do_not_favour_more_victims(
        vec![vec![(-10, T0), (-10, T0)], vec![(-10, T0)]],
        "node2"
    )]
    #[case::latest_start_when_all_else_ties(
        vec![vec![(10, T0), (10, T1)], vec![(10, T2), (10, T2)], vec![(10, T1), (10, T2)]],
        "node2"
    )]
    fn picks_as_upstream(#[case] nodes: Vec<Vec<(i32, &str)>>, #[case] want: &str) {
        let c = candidates(&nodes);
        let now = jiff::Timestamp::now().as_nanosecond();
        assert_eq!(c[pick_one(&c, now).unwrap()].node, want);
    }

    #[test]
    fn no_candidate_no_pick() {
        assert_eq!(pick_one(&[], 0), None);
    }
}
