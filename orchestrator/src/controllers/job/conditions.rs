//! Job conditions and the spec questions the sync keeps asking (upstream `newCondition`,
//! `ensureJobConditionStatus`, `IsJobFinished`, `onlyReplaceFailedPods`).

use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub(super) fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    at: jiff::Timestamp,
) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: (!reason.is_empty()).then(|| reason.into()),
        message: (!message.is_empty()).then(|| message.into()),
        last_probe_time: Some(Time(at)),
        last_transition_time: Some(Time(at)),
    }
}

pub(super) fn find_condition<'a>(job: &'a Job, type_: &str) -> Option<&'a JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
}

/// Upstream `ensureJobConditionStatus`: set a condition, replacing one of the same type whose
/// status, reason or message differ; a False condition is not added.
pub(super) fn ensure_condition(
    list: &mut Vec<JobCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    at: jiff::Timestamp,
) -> bool {
    if let Some(c) = list.iter_mut().find(|c| c.type_ == type_) {
        if c.status != status
            || c.reason.as_deref().unwrap_or("") != reason
            || c.message.as_deref().unwrap_or("") != message
        {
            *c = condition(type_, status, reason, message, at);
            return true;
        }
        return false;
    }
    if status != "False" {
        list.push(condition(type_, status, reason, message, at));
        return true;
    }
    false
}

/// Finished: `Complete` or `Failed` is True (upstream `IsJobFinished`).
pub(super) fn is_finished(job: &Job) -> bool {
    find_condition(job, "Complete").is_some() || find_condition(job, "Failed").is_some()
}

pub(super) fn suspended(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.suspend) == Some(true)
}

pub(super) fn is_indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

/// Only Failed pods are replaced (upstream `onlyReplaceFailedPods`).
pub(super) fn only_replace_failed(job: &Job) -> bool {
    let spec = job.spec.as_ref();
    spec.and_then(|s| s.pod_replacement_policy.as_deref()) == Some("Failed")
        || spec.is_some_and(|s| s.pod_failure_policy.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    // upstream TestEnsureJobConditionStatus
    #[test]
    fn a_condition_is_added_updated_or_left_alone() {
        let mut list = Vec::new();
        assert!(
            !ensure_condition(
                &mut list,
                "Suspended",
                "False",
                "JobResumed",
                "Job resumed",
                at(0)
            ),
            "a False condition is not added"
        );
        assert!(ensure_condition(
            &mut list,
            "Suspended",
            "True",
            "JobSuspended",
            "Job suspended",
            at(1)
        ));
        assert!(
            !ensure_condition(
                &mut list,
                "Suspended",
                "True",
                "JobSuspended",
                "Job suspended",
                at(2)
            ),
            "the same condition again changes nothing"
        );
        assert_eq!(list[0].last_transition_time.as_ref().unwrap().0, at(1));
        assert!(ensure_condition(
            &mut list,
            "Suspended",
            "False",
            "JobResumed",
            "Job resumed",
            at(3)
        ));
        assert_eq!((list.len(), list[0].status.as_str()), (1, "False"));
        assert_eq!(list[0].last_transition_time.as_ref().unwrap().0, at(3));
    }
}
