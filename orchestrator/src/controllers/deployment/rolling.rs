//! The RollingUpdate strategy, as upstream's `rolling.go`: grow the new ReplicaSet as far as the
//! surge allows, then shrink the old ones as far as availability allows — unhealthy replicas
//! first, since removing them costs no availability.

use super::sync::{Api, Syncer};
use super::util::*;
use crate::error::ApiError;

impl<A: Api + ?Sized> Syncer<'_, A> {
    /// `rolloutRolling`.
    pub(crate) fn rollout_rolling(&mut self) -> Result<(), ApiError> {
        self.all_replica_sets_and_sync_revision(true)?;
        if self.reconcile_new_replica_set()? {
            return self.sync_rollout_status();
        }
        let old_active: Vec<usize> = self
            .old()
            .into_iter()
            .filter(|&i| is_active(&self.rss[i]))
            .collect();
        if self.reconcile_old_replica_sets(old_active)? {
            return self.sync_rollout_status();
        }
        let status = self.d.status.clone().unwrap_or_default();
        if deployment_complete(&self.d, &status) {
            self.cleanup_deployment()?;
        }
        self.sync_rollout_status()
    }

    /// `reconcileNewReplicaSet`: whether the new ReplicaSet was scaled.
    pub(crate) fn reconcile_new_replica_set(&mut self) -> Result<bool, ApiError> {
        let Some(new) = self.new else {
            return Ok(false);
        };
        let replicas = d_replicas(&self.d);
        let current = rs_replicas(&self.rss[new]);
        if current == replicas {
            return Ok(false);
        }
        if current > replicas {
            return self.scale_rs_and_record_event(new, replicas);
        }
        let all: Vec<&_> = self.rss.iter().collect();
        let count =
            new_rs_new_replicas(&self.d, &all, &self.rss[new]).map_err(ApiError::internal)?;
        self.scale_rs_and_record_event(new, count)
    }

    /// `reconcileOldReplicaSets`: whether any old ReplicaSet was scaled down. `old` are the
    /// active old ReplicaSets.
    pub(crate) fn reconcile_old_replica_sets(&mut self, old: Vec<usize>) -> Result<bool, ApiError> {
        let old_pods = replica_count(old.iter().map(|&i| &self.rss[i]));
        if old_pods == 0 {
            return Ok(false);
        }
        let Some(new) = self.new else {
            return Ok(false);
        };
        let all_pods = replica_count(self.rss.iter());
        let min_available = d_replicas(&self.d) - max_unavailable(&self.d);
        let new_unavailable = rs_replicas(&self.rss[new]) - rs_available(&self.rss[new]);
        // Scaling down may not take the total below minAvailable, counting the new
        // ReplicaSet's unavailable pods as gone already: they may never become available.
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        // Upstream logs and reports "nothing scaled" when these fail; the next sync retries.
        let (old, cleaned) = match self.cleanup_unhealthy_replicas(old, max_scaled_down) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "could not clean up unhealthy replicas");
                return Ok(false);
            }
        };
        let scaled = match self.scale_down_old_replica_sets_for_rolling_update(old) {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "could not scale down old replica sets");
                return Ok(false);
            }
        };
        Ok(cleaned + scaled > 0)
    }

    /// `cleanupUnhealthyReplicas`: scale old ReplicaSets down by their unavailable replicas,
    /// oldest first, at most `max_cleanup` in all. The ReplicaSets (sorted) and how many went.
    pub(crate) fn cleanup_unhealthy_replicas(
        &mut self,
        mut old: Vec<usize>,
        max_cleanup: i32,
    ) -> Result<(Vec<usize>, i32), ApiError> {
        old.sort_by(|&a, &b| by_creation(&self.rss[a], &self.rss[b]));
        let mut total = 0;
        for &i in &old {
            if total >= max_cleanup {
                break;
            }
            let rs = &self.rss[i];
            let replicas = rs_replicas(rs);
            if replicas == 0 || replicas == rs_available(rs) {
                continue;
            }
            let count = (max_cleanup - total).min(replicas - rs_available(rs));
            let to = replicas - count;
            if to > replicas {
                return Err(ApiError::internal(format!(
                    "when cleaning up unhealthy replicas, got invalid request to scale down {} {replicas} -> {to}",
                    super::sync::name(rs)
                )));
            }
            self.scale_rs_and_record_event(i, to)?;
            total += count;
        }
        Ok((old, total))
    }

    /// `scaleDownOldReplicaSetsForRollingUpdate`: scale the (active) old ReplicaSets `old` down,
    /// oldest first, by as many replicas as they and the new one have available beyond
    /// minAvailable. How many went.
    pub(crate) fn scale_down_old_replica_sets_for_rolling_update(
        &mut self,
        mut old: Vec<usize>,
    ) -> Result<i32, ApiError> {
        let min_available = d_replicas(&self.d) - max_unavailable(&self.d);
        // Upstream counts the active old ReplicaSets and the new one: an inactive old one's
        // pods may still be available while they go, but they are going.
        let available = available_replica_count(old.iter().chain(&self.new).map(|&i| &self.rss[i]));
        if available <= min_available {
            return Ok(0);
        }
        old.sort_by(|&a, &b| by_creation(&self.rss[a], &self.rss[b]));
        let total_to_scale_down = available - min_available;
        let mut total = 0;
        for i in old {
            if total >= total_to_scale_down {
                break;
            }
            let replicas = rs_replicas(&self.rss[i]);
            if replicas == 0 {
                continue;
            }
            let count = replicas.min(total_to_scale_down - total);
            self.scale_rs_and_record_event(i, replicas - count)?;
            total += count;
        }
        Ok(total)
    }
}
