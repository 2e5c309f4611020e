//! Controller expectations (upstream `pkg/controller/controller_utils.go`
//! `ControllerExpectations` and `UIDTrackingControllerExpectations`): after a controller creates
//! or deletes pods it does not act on that owner again until the watch has shown it those
//! creates and deletes, so a sync running on a cache that has not caught up does not create or
//! delete twice. Expectations lapse after five minutes, as upstream's, so a lost event cannot
//! wedge an owner forever.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

/// How long unmet expectations hold an owner back (upstream `ExpectationsTimeout`).
pub(crate) const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Outstanding creates and deletes per owner key.
#[derive(Debug, Default)]
pub(crate) struct Expectations {
    by_owner: parking_lot::Mutex<HashMap<String, Pending>>,
}

#[derive(Debug)]
struct Pending {
    adds: i64,
    /// Pods (`namespace/name`) whose deletion the owner waits to see.
    deletes: HashSet<String>,
    set_at: Instant,
}

impl Expectations {
    /// Whether `owner` may act: it expects nothing more, or its expectations lapsed.
    pub(crate) fn satisfied(&self, owner: &str) -> bool {
        match self.by_owner.lock().get(owner) {
            None => true,
            Some(p) => {
                (p.adds <= 0 && p.deletes.is_empty()) || p.set_at.elapsed() > EXPECTATIONS_TIMEOUT
            }
        }
    }

    /// `owner` is about to create `adds` pods.
    pub(crate) fn expect_creations(&self, owner: &str, adds: usize) {
        self.by_owner.lock().insert(
            owner.to_string(),
            Pending {
                adds: adds as i64,
                deletes: HashSet::new(),
                set_at: Instant::now(),
            },
        );
    }

    /// `owner` is about to delete these pods (`namespace/name`).
    pub(crate) fn expect_deletions(&self, owner: &str, pods: impl IntoIterator<Item = String>) {
        self.by_owner.lock().insert(
            owner.to_string(),
            Pending {
                adds: 0,
                deletes: pods.into_iter().collect(),
                set_at: Instant::now(),
            },
        );
    }

    /// A create of `owner`'s was seen (or failed, so will never be seen).
    pub(crate) fn creation_observed(&self, owner: &str) {
        if let Some(p) = self.by_owner.lock().get_mut(owner) {
            p.adds -= 1;
        }
    }

    /// A deletion of `pod` (`namespace/name`) was seen, or its delete failed.
    pub(crate) fn deletion_observed(&self, owner: &str, pod: &str) {
        if let Some(p) = self.by_owner.lock().get_mut(owner) {
            p.deletes.remove(pod);
        }
    }

    /// Forget `owner` (it was deleted).
    pub(crate) fn forget(&self, owner: &str) {
        self.by_owner.lock().remove(owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_with_no_record_may_act() {
        assert!(Expectations::default().satisfied("ns/rs"));
    }

    #[test]
    fn creations_hold_the_owner_until_each_is_observed() {
        let e = Expectations::default();
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
        assert!(e.satisfied("ns/other"), "owners are independent");
    }

    #[test]
    fn a_deletion_counts_once_however_often_it_is_seen() {
        let e = Expectations::default();
        e.expect_deletions("ns/rs", ["ns/p1".to_string(), "ns/p2".to_string()]);
        e.deletion_observed("ns/rs", "ns/p1");
        e.deletion_observed("ns/rs", "ns/p1");
        assert!(!e.satisfied("ns/rs"), "p2 is still expected");
        e.deletion_observed("ns/rs", "ns/p2");
        assert!(e.satisfied("ns/rs"));
    }

    #[tokio::test(start_paused = true)]
    async fn unmet_expectations_lapse_after_five_minutes() {
        let e = Expectations::default();
        e.expect_creations("ns/rs", 1);
        tokio::time::advance(EXPECTATIONS_TIMEOUT - Duration::from_secs(1)).await;
        assert!(!e.satisfied("ns/rs"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn forgetting_an_owner_clears_its_expectations() {
        let e = Expectations::default();
        e.expect_creations("ns/rs", 3);
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }
}
