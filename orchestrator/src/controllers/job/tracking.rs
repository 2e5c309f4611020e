//! Counting finished pods (upstream `trackJobStatusAndRemoveFinalizers` and
//! `flushUncountedAndRemoveFinalizers`): a finished pod's uid is written to
//! `status.uncountedTerminatedPods` before its finalizer comes off, and moves into
//! `succeeded`/`failed` once the finalizer is gone, so a pod is counted exactly once whatever
//! fails in between. The terminal condition is set only when nothing is left uncounted or
//! terminating (`enactJobFinished`).

use std::collections::HashSet;

use k8s_openapi::api::batch::v1::{JobStatus, UncountedTerminatedPods};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::conditions::{condition, ensure_condition, is_indexed};
use super::pod::{is_pod_failed, remove_finalizer};
use super::{JobController, MAX_UNCOUNTED_PODS, SyncCtx, jobs_info, now, policy_verdict};
use crate::api::WriteParams;
use crate::controllers::events::{NORMAL, WARNING};
use crate::error::{ApiError, Reason};
use crate::registry::UpdateTarget;

impl JobController {
    /// Count finished pods, take their finalizers off, and finish the Job when nothing is left
    /// (upstream `trackJobStatusAndRemoveFinalizers`).
    pub(super) fn track_status_and_remove_finalizers(
        &self,
        ctx: &mut SyncCtx,
        mut needs_flush: bool,
    ) -> Result<(), ApiError> {
        let indexed = is_indexed(&ctx.job);
        let completions = ctx
            .job
            .spec
            .as_ref()
            .and_then(|s| s.completions)
            .map_or(0, i64::from);
        let mut order: Vec<usize> = (0..ctx.pods.len()).collect();
        if indexed {
            order.sort_by_key(|&i| ctx.pods[i].index.unwrap_or(-1));
        }
        let mut with_finalizer: HashSet<String> = ctx
            .pods
            .iter()
            .filter(|p| p.tracked && !ctx.expected_rm_finalizers.contains(p.uid()))
            .map(|p| p.uid().to_string())
            .collect();
        let job = ctx.job.clone();
        let status = ctx.job.status.get_or_insert_with(Default::default);
        needs_flush |= clean_uncounted(status, &with_finalizer);
        let mut to_remove: Vec<usize> = Vec::new();
        let mut new_indexes = Vec::new();
        let mut reached_max = false;
        let mut uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let mut uc_succeeded = uncounted.succeeded.take().unwrap_or_default();
        let mut uc_failed = uncounted.failed.take().unwrap_or_default();
        let job_deleting = ctx.job.metadata.deletion_timestamp.is_some();
        let success_met = ctx
            .finished
            .as_ref()
            .is_some_and(|c| c.type_ == "SuccessCriteriaMet");
        for i in order {
            let p = &ctx.pods[i];
            if !p.tracked || ctx.expected_rm_finalizers.contains(p.uid()) {
                continue;
            }
            let failed = is_pod_failed(p, &job);
            let can_remove =
                job_deleting || ctx.finished.is_some() || p.phase() == "Succeeded" || failed;
            if !can_remove {
                continue;
            }
            to_remove.push(i);
            if p.phase() == "Succeeded" && !ctx.uncounted_failed.contains(p.uid()) {
                if indexed {
                    if let Some(ix) = p.index
                        && ix < completions
                        && !ctx.prev_succeeded_indexes.has(ix)
                    {
                        new_indexes.push(ix);
                    }
                } else if !ctx.uncounted_succeeded.contains(p.uid()) {
                    needs_flush = true;
                    uc_succeeded.push(p.uid().to_string());
                }
            } else if (failed || (ctx.finished.is_some() && !success_met))
                && !ctx.uncounted_failed.contains(p.uid())
                && (!indexed || p.index.is_some_and(|ix| ix < completions))
                && policy_verdict(&job, p).count
            {
                needs_flush = true;
                uc_failed.push(p.uid().to_string());
            }
            if new_indexes.len() + uc_succeeded.len() + uc_failed.len() >= MAX_UNCOUNTED_PODS {
                reached_max = true;
                break;
            }
        }
        uncounted.succeeded = Some(uc_succeeded);
        uncounted.failed = Some(uc_failed);
        status.uncounted_terminated_pods = Some(uncounted);
        if indexed {
            new_indexes.sort_unstable();
            ctx.succeeded_indexes = ctx.succeeded_indexes.with_indexes(new_indexes);
            let s = ctx.succeeded_indexes.to_string();
            if status.completed_indexes.as_deref().unwrap_or("") != s {
                needs_flush = true;
            }
            status.succeeded = Some(ctx.succeeded_indexes.total() as i32);
            status.completed_indexes = Some(s);
        }
        let now = now();
        if let Some(finished) = ctx.finished.clone() {
            let conditions = status.conditions.get_or_insert_with(Vec::new);
            let reason = finished.reason.clone().unwrap_or_default();
            let message = finished.message.clone().unwrap_or_default();
            match finished.type_.as_str() {
                "FailureTarget" => {
                    needs_flush |= ensure_condition(
                        conditions,
                        "FailureTarget",
                        "True",
                        &reason,
                        &message,
                        now,
                    );
                    ctx.finished = Some(condition("Failed", "True", &reason, &message, now));
                }
                "SuccessCriteriaMet" => {
                    if !conditions
                        .iter()
                        .any(|c| c.type_ == "SuccessCriteriaMet" && c.status == "True")
                    {
                        conditions.push(finished.clone());
                        needs_flush = true;
                    }
                    ctx.finished = Some(condition("Complete", "True", &reason, &message, now));
                }
                _ => {}
            }
        }
        // Flush what was counted before taking finalizers off, so no pod is lost.
        if needs_flush {
            self.write_status(ctx)?;
            self.backoffs
                .lock()
                .insert(ctx.key.clone(), ctx.new_backoff);
            needs_flush = false;
        }
        let uids: Vec<String> = to_remove
            .iter()
            .map(|&i| ctx.pods[i].uid().to_string())
            .collect();
        self.finalizers.expect(&ctx.key, uids);
        let mut remove_err = None;
        for &i in &to_remove {
            let p = &ctx.pods[i];
            match remove_finalizer(&self.objects, p) {
                Ok(()) => {
                    with_finalizer.remove(p.uid());
                }
                Err(e) if e.reason == Reason::NotFound => {
                    self.finalizers.observed(&ctx.key, p.uid());
                    with_finalizer.remove(p.uid());
                }
                Err(e) => {
                    self.finalizers.observed(&ctx.key, p.uid());
                    remove_err.get_or_insert(e);
                }
            }
        }
        let status = ctx.job.status.get_or_insert_with(Default::default);
        needs_flush |= clean_uncounted(status, &with_finalizer);
        if let Some(e) = remove_err {
            if needs_flush {
                self.write_status(ctx)?;
            }
            return Err(e);
        }
        let finished = !reached_max && self.enact_finished(ctx);
        if finished || needs_flush {
            self.write_status(ctx)?;
            if finished {
                self.record_finished(ctx);
            }
        }
        Ok(())
    }

    /// Set the final condition once nothing is uncounted or terminating (upstream
    /// `enactJobFinished`).
    pub(super) fn enact_finished(&self, ctx: &mut SyncCtx) -> bool {
        let Some(finished) = ctx.finished.clone() else {
            return false;
        };
        let status = ctx.job.status.get_or_insert_with(Default::default);
        let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        if !uncounted.succeeded.unwrap_or_default().is_empty()
            || !uncounted.failed.unwrap_or_default().is_empty()
        {
            return false;
        }
        if status.terminating.unwrap_or(0) > 0 {
            return false;
        }
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        let at = finished
            .last_transition_time
            .as_ref()
            .map_or_else(now, |t| t.0);
        ensure_condition(
            conditions,
            &finished.type_,
            &finished.status,
            finished.reason.as_deref().unwrap_or(""),
            finished.message.as_deref().unwrap_or(""),
            at,
        );
        if finished.type_ == "Complete" {
            status.completion_time = Some(Time(at));
        }
        true
    }

    pub(super) fn record_finished(&self, ctx: &SyncCtx) {
        let Some(finished) = &ctx.finished else {
            return;
        };
        if finished.type_ == "Complete" {
            self.events
                .record(&ctx.owner.event_ref(), NORMAL, "Completed", "Job completed");
        } else {
            self.events.record(
                &ctx.owner.event_ref(),
                WARNING,
                finished.reason.as_deref().unwrap_or(""),
                finished.message.as_deref().unwrap_or(""),
            );
        }
    }

    /// Write `ctx.job.status` (pinned to the version read, as upstream's UpdateStatus).
    pub(super) fn write_status(&self, ctx: &mut SyncCtx) -> Result<(), ApiError> {
        let mut status = ctx.job.status.clone().unwrap_or_default();
        // Go omits empty lists: `uncountedTerminatedPods: {}`.
        if let Some(u) = status.uncounted_terminated_pods.as_mut() {
            u.succeeded.take_if(|l| l.is_empty());
            u.failed.take_if(|l| l.is_empty());
        }
        let mut body = ctx.stored.clone();
        body["status"] =
            serde_json::to_value(status).map_err(|e| ApiError::internal(e.to_string()))?;
        let stored = self.objects.update(
            jobs_info(),
            &ctx.owner.namespace,
            &ctx.owner.name,
            body,
            UpdateTarget::Status,
            &WriteParams::default(),
        )?;
        ctx.stored = stored.value();
        Ok(())
    }
}

/// Move uids whose finalizer is gone from `uncountedTerminatedPods` into the counters (upstream
/// `cleanUncountedPodsWithoutFinalizers`); whether anything changed.
pub(super) fn clean_uncounted(status: &mut JobStatus, with_finalizer: &HashSet<String>) -> bool {
    let uncounted = status
        .uncounted_terminated_pods
        .get_or_insert_with(UncountedTerminatedPods::default);
    let mut changed = false;
    for (list, counter) in [
        (&mut uncounted.succeeded, &mut status.succeeded),
        (&mut uncounted.failed, &mut status.failed),
    ] {
        let uids = list.take().unwrap_or_default();
        let before = uids.len();
        let kept: Vec<String> = uids
            .into_iter()
            .filter(|u| with_finalizer.contains(u))
            .collect();
        let moved = before - kept.len();
        if moved > 0 {
            changed = true;
            *counter = Some(counter.unwrap_or(0) + moved as i32);
        }
        *list = Some(kept);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_whose_finalizer_is_gone_move_into_the_counters() {
        let mut status = JobStatus {
            succeeded: Some(1),
            uncounted_terminated_pods: Some(UncountedTerminatedPods {
                succeeded: Some(vec!["a".into(), "b".into()]),
                failed: Some(vec!["c".into()]),
            }),
            ..Default::default()
        };
        let still: HashSet<String> = ["b".to_string()].into();
        assert!(clean_uncounted(&mut status, &still));
        assert_eq!((status.succeeded, status.failed), (Some(2), Some(1)));
        let u = status.uncounted_terminated_pods.as_ref().unwrap();
        assert_eq!(
            (u.succeeded.clone().unwrap(), u.failed.clone().unwrap()),
            (vec!["b".to_string()], vec![])
        );
        assert!(
            !clean_uncounted(&mut status, &still),
            "nothing more to move"
        );
    }
}
