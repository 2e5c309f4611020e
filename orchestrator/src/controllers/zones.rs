//! Zones as the node lifecycle controller sees them: each zone's health (upstream
//! `ComputeZoneState`), and a rate-limited queue of nodes waiting for their NoExecute taint
//! (upstream `RateLimitedTimedQueue` with a token bucket of burst 1), whose rate drops in a
//! partially disrupted zone and stops when every zone is fully disrupted — a control plane that
//! lost touch with all its nodes should not evict everything. Pure state; the controller does
//! the I/O.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

/// A zone's health (upstream `ZoneState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ZoneState {
    /// Not judged yet.
    Initial,
    /// Few or no nodes are not ready.
    Normal,
    /// More than 2 and at least the unhealthy threshold of the nodes are not ready.
    PartialDisruption,
    /// No node is ready.
    FullDisruption,
}

/// Judge a zone from its nodes' Ready condition statuses (`None`: no Ready condition). Returns
/// the number of nodes that are not ready, and the state.
pub(crate) fn zone_state(ready: &[Option<String>], unhealthy_threshold: f32) -> (usize, ZoneState) {
    let ready_nodes = ready
        .iter()
        .filter(|s| s.as_deref() == Some("True"))
        .count();
    let not_ready = ready.len() - ready_nodes;
    let state = if ready_nodes == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && not_ready as f32 / ready.len() as f32 >= unhealthy_threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    };
    (not_ready, state)
}

/// The zone key upstream builds from a node's region and zone labels (`GetZoneKey`): empty for
/// a node with neither.
pub(crate) fn zone_key(label: impl Fn(&str) -> Option<String>) -> String {
    let zone = label("topology.kubernetes.io/zone")
        .or_else(|| label("failure-domain.beta.kubernetes.io/zone"))
        .unwrap_or_default();
    let region = label("topology.kubernetes.io/region")
        .or_else(|| label("failure-domain.beta.kubernetes.io/region"))
        .unwrap_or_default();
    if zone.is_empty() && region.is_empty() {
        return String::new();
    }
    format!("{region}:\0:{zone}")
}

/// A token bucket of burst 1 (client-go `NewTokenBucketRateLimiter(qps, 1)`); a rate of 0
/// never accepts.
#[derive(Clone, Debug)]
pub(crate) struct Limiter {
    qps: f32,
    tokens: f64,
    last: Instant,
}

impl Limiter {
    /// A full bucket.
    pub(crate) fn new(qps: f32, now: Instant) -> Self {
        Self {
            qps,
            tokens: 1.0,
            last: now,
        }
    }

    /// Take a token if one is there.
    pub(crate) fn try_accept(&mut self, now: Instant) -> bool {
        if self.qps <= 0.0 {
            return false;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * f64::from(self.qps)).min(1.0);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Change the rate; a bucket that was empty stays empty (upstream `SwapLimiter`).
    pub(crate) fn swap(&mut self, qps: f32, now: Instant) {
        if self.qps == qps {
            return;
        }
        let had_token = self.try_accept(now);
        *self = Self::new(qps, now);
        if !had_token {
            self.tokens = 0.0;
        }
    }
}

/// What tainting one queued node came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Done (tainted, or nothing to do): leave the queue, stay in the set.
    Done,
    /// Try again after this long.
    RetryAfter(Duration),
}

/// Nodes of one zone waiting for a NoExecute taint. A node stays in the set after it was
/// tainted, so it is not queued again until it is removed (node ready again, or its taint
/// disappeared).
#[derive(Debug)]
pub(crate) struct Tainter {
    limiter: Limiter,
    members: HashSet<String>,
    queue: VecDeque<(String, Instant)>,
}

impl Tainter {
    /// An empty queue tainting at `qps`.
    pub(crate) fn new(qps: f32, now: Instant) -> Self {
        Self {
            limiter: Limiter::new(qps, now),
            members: HashSet::new(),
            queue: VecDeque::new(),
        }
    }

    /// Queue a node; false if it is already in the set.
    pub(crate) fn add(&mut self, node: &str, now: Instant) -> bool {
        if !self.members.insert(node.to_string()) {
            return false;
        }
        self.queue.push_back((node.to_string(), now));
        true
    }

    /// Forget a node entirely; true if it was in the set. Called on every update of every
    /// healthy node, so the queue is only scanned for a node known to be in it.
    pub(crate) fn remove(&mut self, node: &str) -> bool {
        if !self.members.remove(node) {
            return false;
        }
        self.queue.retain(|(n, _)| n != node);
        true
    }

    /// Whether anything waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Change the tainting rate.
    pub(crate) fn swap_limiter(&mut self, qps: f32, now: Instant) {
        self.limiter.swap(qps, now);
    }

    /// Work through due nodes in order while the rate allows (upstream `Try`).
    pub(crate) fn try_each(&mut self, now: Instant, mut f: impl FnMut(&str) -> Attempt) {
        while let Some((node, due)) = self.queue.front().cloned() {
            if !self.limiter.try_accept(now) {
                break;
            }
            if now < due {
                break;
            }
            self.queue.pop_front();
            match f(&node) {
                Attempt::Done => {}
                Attempt::RetryAfter(wait) => {
                    let at = now + wait + Duration::from_nanos(1);
                    let pos = self
                        .queue
                        .iter()
                        .position(|(_, d)| *d > at)
                        .unwrap_or(self.queue.len());
                    self.queue.insert(pos, (node, at));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn statuses(ready: usize, not_ready: usize) -> Vec<Option<String>> {
        let mut v = vec![Some("True".to_string()); ready];
        v.extend(std::iter::repeat_n(Some("Unknown".to_string()), not_ready));
        v
    }

    #[rstest]
    #[case(3, 0, ZoneState::Normal)]
    #[case(0, 1, ZoneState::FullDisruption)]
    #[case(1, 2, ZoneState::Normal)]
    #[case(2, 3, ZoneState::PartialDisruption)]
    #[case(3, 3, ZoneState::Normal)]
    #[case(0, 0, ZoneState::Normal)]
    fn zones_are_judged_by_their_not_ready_share(
        #[case] ready: usize,
        #[case] not_ready: usize,
        #[case] expected: ZoneState,
    ) {
        let (n, state) = zone_state(&statuses(ready, not_ready), 0.55);
        assert_eq!((n, state), (not_ready, expected));
    }

    #[test]
    fn zone_keys_join_region_and_zone() {
        let labels = |k: &str| match k {
            "topology.kubernetes.io/zone" => Some("z1".to_string()),
            "failure-domain.beta.kubernetes.io/region" => Some("r".to_string()),
            _ => None,
        };
        assert_eq!(zone_key(labels), "r:\0:z1");
        assert_eq!(zone_key(|_| None), "");
    }

    #[test]
    fn the_first_node_is_tainted_at_once_and_the_next_after_the_rate_allows() {
        let t0 = Instant::now();
        let mut q = Tainter::new(0.5, t0);
        assert!(q.add("a", t0));
        assert!(q.add("b", t0));
        assert!(!q.add("a", t0), "a queued node is not queued twice");
        let mut done = Vec::new();
        q.try_each(t0, |n| {
            done.push(n.to_string());
            Attempt::Done
        });
        assert_eq!(done, vec!["a"]);
        q.try_each(t0 + Duration::from_secs(1), |n| {
            done.push(n.to_string());
            Attempt::Done
        });
        assert_eq!(done, vec!["a"], "half a token after one second");
        q.try_each(t0 + Duration::from_secs(2), |n| {
            done.push(n.to_string());
            Attempt::Done
        });
        assert_eq!(done, vec!["a", "b"]);
        assert!(!q.add("a", t0), "a tainted node stays in the set");
        assert!(q.remove("a"));
        assert!(q.add("a", t0));
    }

    #[test]
    fn a_stopped_limiter_taints_nothing_and_a_retry_waits() {
        let t0 = Instant::now();
        let mut q = Tainter::new(100.0, t0);
        q.add("a", t0);
        q.swap_limiter(0.0, t0);
        let mut calls = 0;
        q.try_each(t0 + Duration::from_secs(10), |_| {
            calls += 1;
            Attempt::Done
        });
        assert_eq!(calls, 0);
        q.swap_limiter(100.0, t0);
        q.try_each(t0 + Duration::from_secs(10), |_| {
            calls += 1;
            Attempt::RetryAfter(Duration::from_secs(1))
        });
        assert_eq!(calls, 1);
        assert!(!q.is_empty(), "a failed attempt stays queued");
        q.try_each(t0 + Duration::from_secs(12), |_| {
            calls += 1;
            Attempt::Done
        });
        assert_eq!(calls, 2);
        assert!(q.is_empty());
    }
}
