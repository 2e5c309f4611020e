//! One sync of one Deployment, as upstream's `sync.go`: find (or create) the new ReplicaSet and
//! keep the revisions in order, scale proportionally on a scaling event or while paused, clean
//! up old ReplicaSets beyond `revisionHistoryLimit`, and compute the status.
//!
//! A [`Syncer`] holds the Deployment and its claimed ReplicaSets and writes through an [`Api`],
//! so the same code runs against the store and against a recording fake in unit tests.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::util::*;
use crate::controllers::events::{NORMAL, WARNING};
use crate::error::{ApiError, CauseKind, Reason};

/// The writes a sync makes (upstream's clientset and event recorder).
pub(crate) trait Api {
    /// Update a ReplicaSet (pinned to its resourceVersion); the stored result.
    fn update_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, ApiError>;
    /// Create a ReplicaSet; the stored result.
    fn create_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, ApiError>;
    /// Read a ReplicaSet (upstream reads its lister after an AlreadyExists).
    fn get_rs(&self, namespace: &str, name: &str) -> Result<ReplicaSet, ApiError>;
    /// Delete a ReplicaSet.
    fn delete_rs(&self, namespace: &str, name: &str) -> Result<(), ApiError>;
    /// Update the Deployment's status (pinned to its resourceVersion); the stored result.
    fn update_status(&self, d: &Deployment) -> Result<Deployment, ApiError>;
    /// Update the Deployment (a rollback); the stored result.
    fn update_deployment(&self, d: &Deployment) -> Result<Deployment, ApiError>;
    /// Record an event about the Deployment.
    fn event(&self, d: &Deployment, kind: &str, reason: &str, message: &str);
}

/// What a sync asks of the queue when it is done.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requeue {
    #[default]
    No,
    /// Check progress again after this long (`requeueStuckDeployment`).
    After(Duration),
    /// Check again soon, with backoff.
    RateLimited,
}

/// One Deployment being synced, with its ReplicaSets.
pub(crate) struct Syncer<'a, A: Api + ?Sized> {
    pub api: &'a A,
    pub d: Deployment,
    /// The ReplicaSets the Deployment controls (claimed), updated in place as they are written.
    pub rss: Vec<ReplicaSet>,
    /// Which of them is the new one, once found.
    pub new: Option<usize>,
    pub now: jiff::Timestamp,
    pub requeue: Requeue,
}

impl<'a, A: Api + ?Sized> Syncer<'a, A> {
    /// A sync of `d` over its claimed ReplicaSets at `now`.
    pub(crate) fn new(
        api: &'a A,
        d: Deployment,
        rss: Vec<ReplicaSet>,
        now: jiff::Timestamp,
    ) -> Self {
        Self {
            api,
            d,
            rss,
            new: None,
            now,
            requeue: Requeue::No,
        }
    }

    /// The old ReplicaSets' indexes (all but the new one).
    pub(crate) fn old(&self) -> Vec<usize> {
        (0..self.rss.len())
            .filter(|&i| Some(i) != self.new)
            .collect()
    }

    /// Every ReplicaSet, old and new.
    pub(crate) fn all(&self) -> Vec<usize> {
        (0..self.rss.len()).collect()
    }

    pub(crate) fn new_rs(&self) -> Option<&ReplicaSet> {
        self.new.map(|i| &self.rss[i])
    }

    fn status(&self) -> DeploymentStatus {
        self.d.status.clone().unwrap_or_default()
    }

    /// Write the Deployment's status. Upstream keeps writing its stale copy (and loses the next
    /// write to a conflict); we carry the new resourceVersion forward.
    pub(crate) fn write_status(&mut self) -> Result<(), ApiError> {
        let stored = self.api.update_status(&self.d)?;
        self.d.metadata.resource_version = stored.metadata.resource_version;
        Ok(())
    }

    /// `getAllReplicaSetsAndSyncRevision`: find the new ReplicaSet (creating it if asked and
    /// missing) with its revision and the Deployment's brought up to date.
    pub(crate) fn all_replica_sets_and_sync_revision(
        &mut self,
        create: bool,
    ) -> Result<(), ApiError> {
        self.new = find_new_rs(&self.d, &self.rss);
        self.get_new_replica_set(create)
    }

    /// `getNewReplicaSet`.
    fn get_new_replica_set(&mut self, create: bool) -> Result<(), ApiError> {
        let old = self.old();
        let max_old = max_revision(old.iter().map(|&i| &self.rss[i]));
        let new_revision = max_old + 1;

        if let Some(i) = self.new {
            let mut copy = self.rss[i].clone();
            let annotations_updated = set_new_rs_annotations(
                &self.d,
                &mut copy,
                new_revision,
                true,
                MAX_REVISION_HISTORY_CHARS,
            );
            let min_ready = self.d.spec.min_ready_seconds;
            if annotations_updated
                || copy.spec.min_ready_seconds.unwrap_or(0) != min_ready.unwrap_or(0)
            {
                copy.spec.min_ready_seconds = min_ready;
                self.rss[i] = self.api.update_rs(&copy)?;
                return Ok(());
            }
            let rev = copy
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                .cloned()
                .unwrap_or_default();
            let mut needs_update = set_deployment_revision(&mut self.d, &rev);
            let mut status = self.status();
            if has_progress_deadline(&self.d) && get_condition(&status, PROGRESSING).is_none() {
                let msg = format!("Found new replica set {:?}", name(&copy));
                set_condition(
                    &mut status,
                    new_condition(PROGRESSING, "True", FOUND_NEW_RS, &msg, self.now),
                );
                self.d.status = Some(status);
                needs_update = true;
            }
            if needs_update {
                self.write_status()?;
            }
            return Ok(());
        }
        if !create {
            return Ok(());
        }

        // The new ReplicaSet does not exist: create it.
        let d = &self.d;
        let mut template = d.spec.template.clone();
        let collision_count = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = compute_hash(&template, collision_count);
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut selector = d.spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut new_rs = ReplicaSet {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(format!("{}-{hash}", name_of(d))),
                namespace: d.metadata.namespace.clone(),
                owner_references: Some(vec![controller_ref(d)]),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                ..Default::default()
            },
            spec: k8s_openapi::api::apps::v1::ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.min_ready_seconds,
                selector,
                template: Some(template),
            },
            status: None,
        };
        let all: Vec<&ReplicaSet> = old.iter().map(|&i| &self.rss[i]).chain([&new_rs]).collect();
        let count = new_rs_new_replicas(d, &all, &new_rs).map_err(ApiError::internal)?;
        set_rs_replicas(&mut new_rs, count);
        set_new_rs_annotations(
            d,
            &mut new_rs,
            new_revision,
            false,
            MAX_REVISION_HISTORY_CHARS,
        );

        let mut already_exists = false;
        let created = match self.api.create_rs(&new_rs) {
            Ok(rs) => rs,
            Err(e) if e.reason == Reason::AlreadyExists => {
                already_exists = true;
                let existing = self.api.get_rs(namespace_of(d), name(&new_rs))?;
                let ours = existing
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .find(|r| r.controller == Some(true))
                    .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
                if ours && equal_ignore_hash(&d.spec.template, &rs_template(&existing)) {
                    existing
                } else {
                    // A hash collision: count it, so the next sync hashes differently.
                    let mut status = self.status();
                    let before = status.collision_count.unwrap_or(0);
                    status.collision_count = Some(before + 1);
                    self.d.status = Some(status);
                    if self.write_status().is_ok() {
                        tracing::debug!(deployment = %name_of(&self.d), before, "hash collision; bumped collisionCount");
                    }
                    return Err(e);
                }
            }
            Err(e)
                if e.causes
                    .iter()
                    .any(|c| c.kind == CauseKind::NamespaceTerminating) =>
            {
                return Err(e);
            }
            Err(e) => {
                let msg = format!(
                    "Failed to create new replica set {:?}: {}",
                    name(&new_rs),
                    e.message
                );
                if has_progress_deadline(&self.d) {
                    let mut status = self.status();
                    set_condition(
                        &mut status,
                        new_condition(PROGRESSING, "False", FAILED_RS_CREATE, &msg, self.now),
                    );
                    self.d.status = Some(status);
                    let _ = self.write_status();
                }
                self.api.event(&self.d, WARNING, FAILED_RS_CREATE, &msg);
                return Err(e);
            }
        };
        if !already_exists && count > 0 {
            self.api.event(
                &self.d,
                NORMAL,
                "ScalingReplicaSet",
                &format!("Scaled up replica set {} from 0 to {count}", name(&created)),
            );
        }
        let created_name = name(&created).to_string();
        self.rss.push(created);
        self.new = Some(self.rss.len() - 1);

        let mut needs_update = set_deployment_revision(&mut self.d, &new_revision.to_string());
        if !already_exists && has_progress_deadline(&self.d) {
            let mut status = self.status();
            let msg = format!("Created new replica set {created_name:?}");
            set_condition(
                &mut status,
                new_condition(PROGRESSING, "True", NEW_RS_CREATED, &msg, self.now),
            );
            self.d.status = Some(status);
            needs_update = true;
        }
        if needs_update {
            self.write_status()?;
        }
        Ok(())
    }

    /// `sync`: reconcile on a scaling event or while paused.
    pub(crate) fn sync(&mut self) -> Result<(), ApiError> {
        self.all_replica_sets_and_sync_revision(false)?;
        self.scale()?;
        // Clean up while paused (no rollback can be in flight on apps/v1).
        if self.d.spec.paused == Some(true) && rollback_to(&self.d).is_none() {
            self.cleanup_deployment()?;
        }
        self.sync_deployment_status()
    }

    /// `syncStatusOnly`: a Deployment being deleted only gets its status.
    pub(crate) fn sync_status_only(&mut self) -> Result<(), ApiError> {
        self.all_replica_sets_and_sync_revision(false)?;
        self.sync_deployment_status()
    }

    /// `checkPausedConditions`: Progressing Unknown with DeploymentPaused / DeploymentResumed,
    /// so a resumed Deployment does not time out for the time it was paused.
    pub(crate) fn check_paused_conditions(&mut self) -> Result<(), ApiError> {
        if !has_progress_deadline(&self.d) {
            return Ok(());
        }
        let mut status = self.status();
        let cond = get_condition(&status, PROGRESSING);
        if cond.is_some_and(|c| c.reason.as_deref() == Some(TIMED_OUT)) {
            return Ok(());
        }
        let paused_cond = cond.is_some_and(|c| c.reason.as_deref() == Some(PAUSED));
        let paused = self.d.spec.paused == Some(true);
        let (reason, message) = if paused && !paused_cond {
            (PAUSED, "Deployment is paused")
        } else if !paused && paused_cond {
            (RESUMED, "Deployment is resumed")
        } else {
            return Ok(());
        };
        set_condition(
            &mut status,
            new_condition(PROGRESSING, "Unknown", reason, message, self.now),
        );
        self.d.status = Some(status);
        self.write_status()
    }

    /// `isScalingEvent`: an active ReplicaSet was sized for a different `spec.replicas`.
    pub(crate) fn is_scaling_event(&mut self) -> Result<bool, ApiError> {
        self.all_replica_sets_and_sync_revision(false)?;
        let replicas = d_replicas(&self.d);
        Ok(self
            .rss
            .iter()
            .filter(|rs| is_active(rs))
            .filter_map(desired_replicas_annotation)
            .any(|desired| desired != replicas))
    }

    /// `scale`: proportional scaling of the active ReplicaSets (or the one active or newest one
    /// to the full size), so a scaling event during a rollout does not hasten or undo it.
    pub(crate) fn scale(&mut self) -> Result<(), ApiError> {
        let replicas = d_replicas(&self.d);
        if let Some(i) = self.active_or_latest() {
            if rs_replicas(&self.rss[i]) == replicas {
                return Ok(());
            }
            self.scale_rs_and_record_event(i, replicas)?;
            return Ok(());
        }
        // A saturated new ReplicaSet: old ones go to zero (adoption during a finished rollout).
        if is_saturated(&self.d, self.new_rs()) {
            for i in self.old() {
                if is_active(&self.rss[i]) {
                    self.scale_rs_and_record_event(i, 0)?;
                }
            }
            return Ok(());
        }
        if !is_rolling_update(&self.d) {
            return Ok(());
        }
        // Old ReplicaSets with pods and an unsaturated new one: share the change.
        let mut active: Vec<usize> = self
            .old()
            .into_iter()
            .chain(self.new)
            .filter(|&i| is_active(&self.rss[i]))
            .collect();
        let current = replica_count(active.iter().map(|&i| &self.rss[i]));
        let allowed = if replicas > 0 {
            replicas + max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed - current;
        // Larger ReplicaSets first; among equals, newer first when growing, older when shrinking.
        match to_add.cmp(&0) {
            std::cmp::Ordering::Greater => {
                active.sort_by(|&a, &b| by_size_newer(&self.rss[a], &self.rss[b]))
            }
            std::cmp::Ordering::Less => {
                active.sort_by(|&a, &b| by_size_older(&self.rss[a], &self.rss[b]))
            }
            std::cmp::Ordering::Equal => {}
        }
        let mut added = 0;
        let mut sizes = Vec::with_capacity(active.len());
        for &i in &active {
            let rs = &self.rss[i];
            if to_add != 0 {
                let proportion = get_proportion(Some(rs), &self.d, to_add, added);
                sizes.push(rs_replicas(rs) + proportion);
                added += proportion;
            } else {
                sizes.push(rs_replicas(rs));
            }
        }
        for (n, &i) in active.iter().enumerate() {
            // Leftovers go to the largest.
            if n == 0 && to_add != 0 {
                sizes[0] = (sizes[0] + to_add - added).max(0);
            }
            self.scale_replica_set(i, sizes[n])?;
        }
        Ok(())
    }

    /// `FindActiveOrLatest`: the only active ReplicaSet, or the newest when none is active;
    /// `None` when several are active.
    fn active_or_latest(&self) -> Option<usize> {
        if self.rss.is_empty() {
            return None;
        }
        let mut old = self.old();
        old.sort_by(|&a, &b| by_creation(&self.rss[b], &self.rss[a]));
        let active: Vec<usize> = old
            .iter()
            .copied()
            .chain(self.new)
            .filter(|&i| is_active(&self.rss[i]))
            .collect();
        match active.len() {
            0 => self.new.or(old.first().copied()),
            1 => Some(active[0]),
            _ => None,
        }
    }

    /// `scaleReplicaSetAndRecordEvent`: whether it was scaled.
    pub(crate) fn scale_rs_and_record_event(
        &mut self,
        i: usize,
        to: i32,
    ) -> Result<bool, ApiError> {
        if rs_replicas(&self.rss[i]) == to {
            return Ok(false);
        }
        self.scale_replica_set(i, to)
    }

    /// `scaleReplicaSet`: set the size and the replica annotations; an event when the size
    /// changed.
    pub(crate) fn scale_replica_set(&mut self, i: usize, to: i32) -> Result<bool, ApiError> {
        let rs = &self.rss[i];
        let replicas = d_replicas(&self.d);
        let max = replicas + max_surge(&self.d);
        let size_changes = rs_replicas(rs) != to;
        if !size_changes && !replicas_annotations_need_update(rs, replicas, max) {
            return Ok(false);
        }
        let from = rs_replicas(rs);
        let mut copy = rs.clone();
        set_rs_replicas(&mut copy, to);
        set_replicas_annotations(&mut copy, replicas, max);
        let stored = self.api.update_rs(&copy)?;
        let rs_name = name(&stored).to_string();
        self.rss[i] = stored;
        if size_changes {
            let op = if from < to { "up" } else { "down" };
            self.api.event(
                &self.d,
                NORMAL,
                "ScalingReplicaSet",
                &format!("Scaled {op} replica set {rs_name} from {from} to {to}"),
            );
        }
        Ok(size_changes)
    }

    /// `cleanupDeployment`: delete the oldest revisions beyond `revisionHistoryLimit`, only those
    /// fully scaled down and observed so.
    pub(crate) fn cleanup_deployment(&mut self) -> Result<(), ApiError> {
        let Some(limit) = self.d.spec.revision_history_limit else {
            return Ok(());
        };
        let mut cleanable: Vec<usize> = self
            .old()
            .into_iter()
            .filter(|&i| self.rss[i].metadata.deletion_timestamp.is_none())
            .collect();
        let diff = cleanable.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return Ok(());
        }
        cleanable.sort_by(|&a, &b| by_revision(&self.rss[a], &self.rss[b]));
        let mut deleted = Vec::new();
        for &i in cleanable.iter().take(diff as usize) {
            let rs = &self.rss[i];
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if rs_status_replicas(rs) != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > observed
                || rs.metadata.deletion_timestamp.is_some()
            {
                continue;
            }
            match self.api.delete_rs(namespace_of(&self.d), name(rs)) {
                Ok(()) => deleted.push(i),
                Err(e) if e.reason == Reason::NotFound => deleted.push(i),
                Err(e) => return Err(e),
            }
        }
        // Forget the deleted ones (highest index first so the others keep theirs).
        deleted.sort_unstable_by(|a, b| b.cmp(a));
        for i in deleted {
            self.rss.remove(i);
            if let Some(n) = self.new.as_mut()
                && *n > i
            {
                *n -= 1;
            }
        }
        Ok(())
    }

    /// `syncDeploymentStatus`.
    pub(crate) fn sync_deployment_status(&mut self) -> Result<(), ApiError> {
        let new_status = self.calculate_status();
        if self.d.status.as_ref() == Some(&new_status) {
            return Ok(());
        }
        self.d.status = Some(new_status);
        self.write_status()
    }

    /// `calculateStatus`: counts summed over the ReplicaSets, the Available condition.
    pub(crate) fn calculate_status(&self) -> DeploymentStatus {
        let all = || self.rss.iter();
        let available = available_replica_count(all());
        let total = replica_count(all());
        let unavailable = (total - available).max(0);
        let current = self.status();
        let nz = |n: i32| (n != 0).then_some(n);
        let mut status = DeploymentStatus {
            observed_generation: self.d.metadata.generation.filter(|g| *g != 0),
            replicas: nz(actual_replica_count(all())),
            updated_replicas: nz(actual_replica_count(self.new_rs())),
            ready_replicas: nz(ready_replica_count(all())),
            available_replicas: nz(available),
            unavailable_replicas: nz(unavailable),
            collision_count: current.collision_count,
            conditions: current.conditions.clone(),
            // Not in 1.32's DeploymentStatus.
            terminating_replicas: None,
        };
        let cond = if available >= d_replicas(&self.d) - max_unavailable(&self.d) {
            new_condition(
                AVAILABLE,
                "True",
                MIN_AVAILABLE,
                "Deployment has minimum availability.",
                self.now,
            )
        } else {
            new_condition(
                AVAILABLE,
                "False",
                MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
                self.now,
            )
        };
        set_condition(&mut status, cond);
        status
    }
}

/// The rollback an extensions/v1beta1 client asked for (`getRollbackTo`), from the annotation
/// apps/v1 keeps it in.
pub(crate) fn rollback_to(d: &Deployment) -> Option<i64> {
    let v = d.metadata.annotations.as_ref()?.get(ROLLBACK_TO)?;
    // Empty or not a number: ignored, as upstream.
    v.parse().ok()
}

/// A ReplicaSet's name.
pub(crate) fn name(rs: &ReplicaSet) -> &str {
    rs.metadata.name.as_deref().unwrap_or("")
}

/// A Deployment's name.
pub(crate) fn name_of(d: &Deployment) -> &str {
    d.metadata.name.as_deref().unwrap_or("")
}

/// A Deployment's namespace.
pub(crate) fn namespace_of(d: &Deployment) -> &str {
    d.metadata.namespace.as_deref().unwrap_or("")
}

/// The ownerReference of what a Deployment controls (`metav1.NewControllerRef`).
pub(crate) fn controller_ref(d: &Deployment) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: name_of(d).into(),
        uid: d.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}
