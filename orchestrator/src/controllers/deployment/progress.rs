//! Rollout progress, as upstream's `progress.go`: the Progressing condition (new ReplicaSet
//! created, progressing, complete, or timed out after `progressDeadlineSeconds` without
//! progress), ReplicaFailure surfaced from the ReplicaSets, and a requeue at the deadline so a
//! stuck rollout is noticed without a resync.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};

use super::sync::{Api, Requeue, Syncer, name, name_of};
use super::util::*;
use crate::error::ApiError;

impl<A: Api + ?Sized> Syncer<'_, A> {
    /// `syncRolloutStatus`.
    pub(crate) fn sync_rollout_status(&mut self) -> Result<(), ApiError> {
        let mut status = self.calculate_status();
        if !has_progress_deadline(&self.d) {
            remove_condition(&mut status, PROGRESSING);
        }
        let current = self.d.status.clone().unwrap_or_default();
        let current_cond = get_condition(&current, PROGRESSING).cloned();
        let complete_already = status.replicas == status.updated_replicas
            && current_cond
                .as_ref()
                .is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
        if has_progress_deadline(&self.d) && !complete_already {
            let new_name = self.new_rs().map(|rs| name(rs).to_string());
            let about = |what: &str| match &new_name {
                Some(n) => format!("ReplicaSet {n:?} {what}."),
                None => format!("Deployment {:?} {what}.", name_of(&self.d)),
            };
            if deployment_complete(&self.d, &status) {
                let msg = about("has successfully progressed");
                set_condition(
                    &mut status,
                    new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, &msg, self.now),
                );
            } else if deployment_progressing(&self.d, &status) {
                let msg = about("is progressing");
                let mut cond = new_condition(PROGRESSING, "True", RS_UPDATED, &msg, self.now);
                // Progress moves lastUpdateTime even when the reason stays the same.
                if let Some(c) = &current_cond {
                    if c.status.as_deref() == Some("True") {
                        cond.last_transition_time = c.last_transition_time.clone();
                    }
                    remove_condition(&mut status, PROGRESSING);
                }
                set_condition(&mut status, cond);
            } else if deployment_timed_out(&self.d, &status, self.now) {
                let msg = about("has timed out progressing");
                set_condition(
                    &mut status,
                    new_condition(PROGRESSING, "False", TIMED_OUT, &msg, self.now),
                );
            }
        }
        match self.replica_failures().into_iter().next() {
            Some(failure) => set_condition(&mut status, failure),
            None => remove_condition(&mut status, REPLICA_FAILURE),
        }
        if current == status {
            self.requeue = self.requeue_stuck_deployment(&status);
            return Ok(());
        }
        self.d.status = Some(status);
        self.write_status()
    }

    /// `getReplicaFailures`: the new ReplicaSet's ReplicaFailure conditions, else the others'.
    fn replica_failures(&self) -> Vec<DeploymentCondition> {
        let failures = |i: usize| -> Vec<DeploymentCondition> {
            self.rss[i]
                .status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .filter(|c| c.type_.as_deref() == Some(REPLICA_FAILURE))
                .map(|c| DeploymentCondition {
                    type_: c.type_.clone(),
                    status: c.status.clone(),
                    last_transition_time: c.last_transition_time.clone(),
                    last_update_time: c.last_transition_time.clone(),
                    reason: c.reason.clone(),
                    message: c.message.clone(),
                })
                .collect()
        };
        if let Some(new) = self.new {
            let found = failures(new);
            if !found.is_empty() {
                return found;
            }
        }
        self.all().into_iter().flat_map(failures).collect()
    }

    /// `requeueStuckDeployment`: when the rollout has made no progress, check again at its
    /// deadline (at once, with backoff, when that is under a second away).
    fn requeue_stuck_deployment(&self, status: &DeploymentStatus) -> Requeue {
        let current = self.d.status.clone().unwrap_or_default();
        let Some(cond) = get_condition(&current, PROGRESSING) else {
            return Requeue::No;
        };
        if !has_progress_deadline(&self.d)
            || deployment_complete(&self.d, status)
            || cond.reason.as_deref() == Some(TIMED_OUT)
        {
            return Requeue::No;
        }
        let deadline = i64::from(self.d.spec.progress_deadline_seconds.unwrap_or(0));
        let last = cond
            .last_update_time
            .as_ref()
            .map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.0);
        let after = (last + jiff::SignedDuration::from_secs(deadline)).duration_since(self.now);
        if after < jiff::SignedDuration::from_secs(1) {
            return Requeue::RateLimited;
        }
        // A second more against rounding (upstream's AddAfter skew).
        let after = Duration::try_from(after).unwrap_or_default() + Duration::from_secs(1);
        Requeue::After(after)
    }
}
