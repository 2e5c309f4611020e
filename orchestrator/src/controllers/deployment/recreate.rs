//! The Recreate strategy, as upstream's `recreate.go`: scale every old ReplicaSet to zero, wait
//! until none of their pods is running, then create (or scale up) the new one.

use std::collections::HashMap;

use super::sync::{Api, Syncer};
use super::util::*;
use crate::error::ApiError;

/// The phases of a Deployment's pods, by the uid of the ReplicaSet controlling them
/// (`getPodMapForDeployment`).
pub(crate) type PodMap = HashMap<String, Vec<String>>;

impl<A: Api + ?Sized> Syncer<'_, A> {
    /// `rolloutRecreate`.
    pub(crate) fn rollout_recreate(&mut self, pods: &PodMap) -> Result<(), ApiError> {
        // Do not create the new ReplicaSet yet: scaling up must wait for the old pods to go.
        self.all_replica_sets_and_sync_revision(false)?;
        let mut scaled_down = false;
        for i in self.old() {
            if !is_active(&self.rss[i]) {
                continue;
            }
            scaled_down |= self.scale_rs_and_record_event(i, 0)?;
        }
        if scaled_down {
            return self.sync_rollout_status();
        }
        if self.old_pods_running(pods) {
            return self.sync_rollout_status();
        }
        if self.new.is_none() {
            self.all_replica_sets_and_sync_revision(true)?;
        }
        if let Some(new) = self.new {
            self.scale_rs_and_record_event(new, d_replicas(&self.d))?;
        }
        let status = self.d.status.clone().unwrap_or_default();
        if deployment_complete(&self.d, &status) {
            self.cleanup_deployment()?;
        }
        self.sync_rollout_status()
    }

    /// `oldPodsRunning`: an old ReplicaSet still counts pods, or one of their pods is not
    /// finished (Unknown counts as running).
    fn old_pods_running(&self, pods: &PodMap) -> bool {
        if actual_replica_count(self.old().into_iter().map(|i| &self.rss[i])) > 0 {
            return true;
        }
        let new_uid = self.new_rs().and_then(|rs| rs.metadata.uid.as_deref());
        pods.iter()
            .filter(|(uid, _)| Some(uid.as_str()) != new_uid)
            .flat_map(|(_, phases)| phases)
            .any(|phase| phase != "Failed" && phase != "Succeeded")
    }
}
