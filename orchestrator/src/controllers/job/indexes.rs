//! Indexed Jobs' completion indexes (upstream `indexed_job_utils.go`): the
//! `status.completedIndexes` intervals (`"1,3-5,7"`), the index each pod carries, which indexes
//! still need a pod, and which pods with duplicate or out-of-range indexes go first.

use std::collections::BTreeSet;

/// The annotation (and, since 1.28, label) carrying a pod's index.
pub(crate) const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// An inclusive range of indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interval {
    pub first: i64,
    pub last: i64,
}

/// Sorted, disjoint, non-adjacent intervals (upstream `orderedIntervals`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Intervals(pub Vec<Interval>);

impl Intervals {
    /// Parse `status.completedIndexes`, keeping indexes below `completions` (upstream
    /// `parseIndexesFromString`): corrupt intervals are skipped, adjacent ones merged.
    pub(crate) fn parse(s: &str, completions: i64) -> Self {
        let mut out: Vec<Interval> = Vec::new();
        if s.is_empty() {
            return Self(out);
        }
        for part in s.split(',') {
            let mut limits = part.split('-');
            let Ok(first) = limits.next().unwrap_or("").parse::<i64>() else {
                continue;
            };
            if first >= completions {
                break;
            }
            let last = match limits.next() {
                Some(l) => match l.parse::<i64>() {
                    Ok(l) => l.min(completions - 1),
                    Err(_) => continue,
                },
                None => first,
            };
            match out.last_mut() {
                Some(prev) if prev.last == first - 1 => prev.last = last,
                _ => out.push(Interval { first, last }),
            }
        }
        Self(out)
    }

    /// How many indexes the intervals hold.
    pub(crate) fn total(&self) -> i64 {
        self.0.iter().map(|i| i.last - i.first + 1).sum()
    }

    pub(crate) fn has(&self, ix: i64) -> bool {
        self.0.iter().any(|i| i.first <= ix && ix <= i.last)
    }

    /// Merge two interval lists (upstream `merge`).
    pub(crate) fn merge(&self, other: &Intervals) -> Intervals {
        let mut out: Vec<Interval> = Vec::new();
        let mut push = |iv: Interval| match out.last_mut() {
            Some(last) if iv.first <= last.last + 1 => last.last = last.last.max(iv.last),
            _ => out.push(iv),
        };
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            if self.0[i].first < other.0[j].first {
                push(self.0[i]);
                i += 1;
            } else {
                push(other.0[j]);
                j += 1;
            }
        }
        self.0[i..].iter().for_each(|iv| push(*iv));
        other.0[j..].iter().for_each(|iv| push(*iv));
        Intervals(out)
    }

    /// With these indexes (sorted) added (upstream `withOrderedIndexes`).
    pub(crate) fn with_indexes(&self, indexes: impl IntoIterator<Item = i64>) -> Intervals {
        let new = Intervals(
            indexes
                .into_iter()
                .map(|ix| Interval {
                    first: ix,
                    last: ix,
                })
                .collect(),
        );
        self.merge(&new)
    }
}

impl std::fmt::Display for Intervals {
    /// Upstream's format: a pair is written `a,b`, longer runs `a-b`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, iv) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}", iv.first)?;
            if iv.last > iv.first {
                let sep = if iv.last == iv.first + 1 { "," } else { "-" };
                write!(f, "{sep}{}", iv.last)?;
            }
        }
        Ok(())
    }
}

/// A pod's completion index from its annotation; `None` when absent, malformed or negative.
pub(crate) fn completion_index(annotation: Option<&str>) -> Option<i64> {
    annotation?.parse::<i64>().ok().filter(|ix| *ix >= 0)
}

/// The lowest `count` indexes below `completions` that neither succeeded nor have an active pod
/// (upstream `firstPendingIndexes`).
pub(crate) fn first_pending(
    succeeded: &Intervals,
    active: &BTreeSet<i64>,
    count: usize,
    completions: i64,
) -> Vec<i64> {
    let non_pending = succeeded.with_indexes(active.iter().copied());
    let mut out = Vec::with_capacity(count);
    let mut candidate = 0;
    for iv in &non_pending.0 {
        while candidate < completions && out.len() < count && candidate < iv.first {
            out.push(candidate);
            candidate += 1;
        }
        candidate = candidate.max(iv.last + 1);
    }
    while candidate < completions && out.len() < count {
        out.push(candidate);
        candidate += 1;
    }
    out
}

/// `<job>-<index>-`, cut so the random suffix still fits (upstream
/// `podGenerateNameWithIndex`).
pub(crate) fn generate_name(job: &str, index: i64) -> String {
    const MAX_GENERATED_NAME_LENGTH: usize = 58;
    let append = format!("-{index}-");
    let prefix = format!("{job}{append}");
    if prefix.len() > MAX_GENERATED_NAME_LENGTH {
        format!(
            "{}{append}",
            &job[..MAX_GENERATED_NAME_LENGTH - append.len()]
        )
    } else {
        prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn iv(pairs: &[(i64, i64)]) -> Intervals {
        Intervals(
            pairs
                .iter()
                .map(|&(first, last)| Interval { first, last })
                .collect(),
        )
    }

    // upstream TestParseIndexesFromString
    #[rstest]
    #[case::empty("", 3, &[])]
    #[case::one("1", 3, &[(1, 1)])]
    #[case::interval("1-2", 3, &[(1, 2)])]
    #[case::many("1,3,5-7,9", 10, &[(1, 1), (3, 3), (5, 7), (9, 9)])]
    #[case::adjacent_merged("1,2,3-5,6", 10, &[(1, 6)])]
    #[case::past_completions_cut("1,4-6,8", 6, &[(1, 1), (4, 5)])]
    #[case::corrupt_skipped("1,a,3-b,5", 10, &[(1, 1), (5, 5)])]
    fn parsing_completed_indexes(
        #[case] s: &str,
        #[case] completions: i64,
        #[case] want: &[(i64, i64)],
    ) {
        assert_eq!(Intervals::parse(s, completions), iv(want));
    }

    // upstream TestCalculateSucceededIndexes / the String() cases
    #[rstest]
    #[case(&[], "")]
    #[case(&[(0, 0)], "0")]
    #[case(&[(0, 1)], "0,1")]
    #[case(&[(0, 2), (5, 5), (7, 8)], "0-2,5,7,8")]
    fn formatting_completed_indexes(#[case] intervals: &[(i64, i64)], #[case] want: &str) {
        assert_eq!(iv(intervals).to_string(), want);
    }

    #[test]
    fn adding_indexes_merges_neighbours() {
        let base = iv(&[(1, 2), (6, 6)]);
        assert_eq!(
            base.with_indexes([0, 3, 5, 9]),
            iv(&[(0, 3), (5, 6), (9, 9)])
        );
        assert_eq!(base.with_indexes([0, 3, 5, 9]).total(), 7);
        assert!(base.has(2) && !base.has(3));
    }

    // upstream TestFirstPendingIndexes
    #[rstest]
    #[case::cnt_greater_than_completions(&[], &[], 5, 3, &[0, 1, 2])]
    #[case::cnt_less(&[], &[], 2, 5, &[0, 1])]
    #[case::first_pods_active(&[], &[0, 1], 3, 5, &[2, 3, 4])]
    #[case::last_pods_active_or_succeeded(&[(4, 4)], &[3], 3, 5, &[0, 1, 2])]
    #[case::mixed(&[(3, 5), (9, 9)], &[1, 2], 3, 10, &[0, 6, 7])]
    fn first_pending_indexes(
        #[case] succeeded: &[(i64, i64)],
        #[case] active: &[i64],
        #[case] count: usize,
        #[case] completions: i64,
        #[case] want: &[i64],
    ) {
        let active: BTreeSet<i64> = active.iter().copied().collect();
        assert_eq!(
            first_pending(&iv(succeeded), &active, count, completions),
            want
        );
    }

    #[test]
    fn indexes_are_read_only_when_well_formed() {
        assert_eq!(completion_index(Some("3")), Some(3));
        assert_eq!(completion_index(Some("-1")), None);
        assert_eq!(completion_index(Some("x")), None);
        assert_eq!(completion_index(None), None);
    }

    #[test]
    fn long_job_names_are_cut_before_the_index() {
        assert_eq!(generate_name("pi", 3), "pi-3-");
        let long = "x".repeat(70);
        let name = generate_name(&long, 12);
        assert_eq!(name.len(), 58);
        assert!(name.ends_with("-12-"));
    }
}
