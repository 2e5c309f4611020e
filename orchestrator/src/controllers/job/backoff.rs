//! The delay before a Job replaces failed pods (upstream `backoff_utils.go`): 10 s after the
//! first failure since the last success, doubling per further failure up to 10 minutes, counted
//! from the last failure's finish time.

use std::time::Duration;

/// Upstream `DefaultJobPodFailureBackOff`.
pub(crate) const DEFAULT_BACKOFF: Duration = Duration::from_secs(10);
/// Upstream `MaxJobPodFailureBackOff`.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Failures since the last success, and when the latest one finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BackoffRecord {
    pub failures_after_last_success: u32,
    pub last_failure: Option<jiff::Timestamp>,
}

impl BackoffRecord {
    /// The record after pods newly finished (upstream `newBackoffRecord`); each list holds the
    /// pods' finish times.
    pub(crate) fn next(
        self,
        mut succeeded: Vec<jiff::Timestamp>,
        mut failed: Vec<jiff::Timestamp>,
    ) -> Self {
        succeeded.sort();
        failed.sort();
        let Some(&last_success) = succeeded.last() else {
            let Some(&last_failure) = failed.last() else {
                return self;
            };
            return Self {
                failures_after_last_success: self.failures_after_last_success + failed.len() as u32,
                last_failure: Some(last_failure),
            };
        };
        let mut out = Self::default();
        for &t in failed.iter().rev() {
            if t <= last_success {
                break;
            }
            out.last_failure.get_or_insert(t);
            out.failures_after_last_success += 1;
        }
        out
    }

    /// How long until pods may be created again at `now` (upstream `getRemainingTime`).
    pub(crate) fn remaining(
        &self,
        now: jiff::Timestamp,
        base: Duration,
        max: Duration,
    ) -> Duration {
        let (n, Some(last)) = (self.failures_after_last_success, self.last_failure) else {
            return Duration::ZERO;
        };
        if n == 0 {
            return Duration::ZERO;
        }
        let mut backoff = base;
        for _ in 1..n {
            backoff *= 2;
            if backoff >= max {
                backoff = max;
                break;
            }
        }
        let elapsed = Duration::try_from(now.duration_since(last)).unwrap_or(Duration::ZERO);
        backoff.saturating_sub(elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn t(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    // upstream TestNewBackoffRecord
    #[test]
    fn failures_accumulate_until_a_later_success() {
        let r = BackoffRecord::default().next(vec![], vec![t(2), t(1)]);
        assert_eq!(
            r,
            BackoffRecord {
                failures_after_last_success: 2,
                last_failure: Some(t(2))
            }
        );
        let r = r.next(vec![], vec![t(5)]);
        assert_eq!(r.failures_after_last_success, 3);
        assert_eq!(r.next(vec![], vec![]), r, "nothing new, nothing changes");
        assert_eq!(r.next(vec![t(6)], vec![]), BackoffRecord::default());
        let mixed = r.next(vec![t(6)], vec![t(4), t(7), t(8)]);
        assert_eq!(
            mixed,
            BackoffRecord {
                failures_after_last_success: 2,
                last_failure: Some(t(8))
            }
        );
    }

    // upstream TestGetRemainingBackoffTime
    #[rstest]
    #[case::no_failures(0, 0, 0)]
    #[case::one_failure_just_now(1, 0, 10)]
    #[case::one_failure_5s_ago(1, 5, 5)]
    #[case::two_failures(2, 0, 20)]
    #[case::three_failures(3, 10, 30)]
    #[case::backoff_expired(1, 20, 0)]
    #[case::capped_at_max(20, 0, 600)]
    fn remaining_backoff(#[case] failures: u32, #[case] ago: i64, #[case] want_secs: u64) {
        let r = BackoffRecord {
            failures_after_last_success: failures,
            last_failure: Some(t(0)),
        };
        assert_eq!(
            r.remaining(t(ago), DEFAULT_BACKOFF, MAX_BACKOFF),
            Duration::from_secs(want_secs)
        );
    }
}
