//! The kubelet's back-offs, in model time: client-go's `flowcontrol.Backoff` (CrashLoopBackOff
//! and image pulls: 10 s doubling to 300 s, forgotten after twice the maximum without a new
//! failure) and the volume manager's exponential back-off for failed mounts
//! (`nestedpendingoperations`: 500 ms doubling to 2m2s).
//!
//! Times are real `Instant`s; the back-off durations are model time, turned into real time
//! through the machine's [`SimClock`] when compared.

use std::time::Duration;

use tokio::time::Instant;

use crate::clock::SimClock;

/// kubelet `backOffPeriod`: the first CrashLoopBackOff and image pull back-off.
pub const BACK_OFF_PERIOD: Duration = Duration::from_secs(10);
/// kubelet `MaxContainerBackOff` (and `MaxImageBackOff`): the cap.
pub const MAX_CONTAINER_BACK_OFF: Duration = Duration::from_secs(300);
/// `nestedpendingoperations` `initialDurationBeforeRetry`.
pub const MOUNT_INITIAL_RETRY: Duration = Duration::from_millis(500);
/// `nestedpendingoperations` `maxDurationBeforeRetry`.
pub const MOUNT_MAX_RETRY: Duration = Duration::from_secs(122);

/// One key's entry of `flowcontrol.Backoff`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Backoff {
    entry: Option<Entry>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    /// Model time.
    backoff: Duration,
    last_update: Instant,
}

impl Backoff {
    /// The current back-off (model time), `backOff.Get(key)`; zero when there is none.
    pub fn get(&self) -> Duration {
        self.entry.map_or(Duration::ZERO, |e| e.backoff)
    }

    /// `IsInBackOffSince(key, event_time)`: whether `now` is still within the back-off counted
    /// from `event_time` (a container's `finishedAt`).
    pub fn in_backoff_since(&self, clock: &SimClock, event_time: Instant, now: Instant) -> bool {
        let Some(e) = self.entry else { return false };
        if expired(clock, event_time, e.last_update) {
            return false;
        }
        now.saturating_duration_since(event_time) < clock.real(e.backoff)
    }

    /// `IsInBackOffSinceUpdate(key, now)`: whether `now` is within the back-off counted from the
    /// last failure.
    pub fn in_backoff_since_update(&self, clock: &SimClock, now: Instant) -> bool {
        let Some(e) = self.entry else { return false };
        if expired(clock, now, e.last_update) {
            return false;
        }
        now.saturating_duration_since(e.last_update) < clock.real(e.backoff)
    }

    /// `Next(key, event_time)`: a failure at `event_time`, recorded at `now`. The first, or the
    /// first after a long quiet spell, starts at [`BACK_OFF_PERIOD`]; the others double it.
    pub fn next(&mut self, clock: &SimClock, event_time: Instant, now: Instant) {
        let backoff = match self.entry {
            Some(e) if !expired(clock, event_time, e.last_update) => {
                (e.backoff * 2).min(MAX_CONTAINER_BACK_OFF)
            }
            _ => BACK_OFF_PERIOD,
        };
        self.entry = Some(Entry {
            backoff,
            last_update: now,
        });
    }

    /// When the back-off counted from the last failure ends (real time).
    pub fn update_ends(&self, clock: &SimClock) -> Option<Instant> {
        self.entry.map(|e| e.last_update + clock.real(e.backoff))
    }

    /// When the back-off counted from `from` ends (real time).
    pub fn ends(&self, clock: &SimClock, from: Instant) -> Instant {
        from + clock.real(self.get())
    }
}

/// `hasExpired`: quiet for more than twice the maximum back-off (10 minutes) resets it.
fn expired(clock: &SimClock, event_time: Instant, last_update: Instant) -> bool {
    event_time.saturating_duration_since(last_update) > clock.real(MAX_CONTAINER_BACK_OFF * 2)
}

/// kubelet `podAttachAndMountTimeout`: how long a pod sync waits for its volumes before it
/// reports `Unable to attach or mount volumes`.
pub const MOUNT_TIMEOUT: Duration = Duration::from_secs(123);

/// The exponential back-off between retries of a failed mount (model time).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MountBackoff {
    last: Option<Duration>,
}

impl MountBackoff {
    /// The delay before the retry after one more failure.
    pub fn next(&mut self) -> Duration {
        let d = match self.last {
            None => MOUNT_INITIAL_RETRY,
            Some(d) => (d * 2).min(MOUNT_MAX_RETRY),
        };
        self.last = Some(d);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_backoff_doubles_to_the_cap_and_resets_after_ten_quiet_minutes() {
        let clock = SimClock::default();
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert!(!b.in_backoff_since(&clock, t0, t0));
        let mut t = t0;
        let mut seen = Vec::new();
        for _ in 0..8 {
            b.next(&clock, t, t);
            seen.push(b.get().as_secs());
            t += Duration::from_secs(1);
        }
        assert_eq!(seen, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert!(b.in_backoff_since(&clock, t, t + Duration::from_secs(299)));
        assert!(!b.in_backoff_since(&clock, t, t + Duration::from_secs(300)));
        // A failure more than 10 minutes after the last update starts again at 10 s.
        let late = t + Duration::from_secs(601);
        assert!(!b.in_backoff_since(&clock, late, late));
        b.next(&clock, late, late);
        assert_eq!(b.get(), BACK_OFF_PERIOD);
    }

    #[test]
    fn backoff_runs_in_model_time() {
        let clock = SimClock::new(10.0);
        let t0 = Instant::now();
        let mut b = Backoff::default();
        b.next(&clock, t0, t0);
        assert!(b.in_backoff_since_update(&clock, t0 + Duration::from_millis(999)));
        assert!(!b.in_backoff_since_update(&clock, t0 + Duration::from_secs(1)));
        assert_eq!(b.ends(&clock, t0), t0 + Duration::from_secs(1));
    }

    #[test]
    fn mount_retries_double_from_half_a_second_to_two_minutes() {
        let mut m = MountBackoff::default();
        let got: Vec<u128> = (0..10).map(|_| m.next().as_millis()).collect();
        assert_eq!(
            got,
            [
                500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 122000, 122000
            ]
        );
    }
}
