//! Evicting a pod (`POST pods/{name}/eviction`), upstream's `addConditionAndDeletePod`
//! (`pkg/registry/core/pod/storage/eviction.go`): the pod is first marked as a disruption
//! target — condition `DisruptionTarget`, reason `EvictionByEvictionAPI`, written through its
//! status — and then deleted on the eviction's terms. The mark is what lets a Job's pod failure
//! policy tell an eviction from the pod's own failure. (PodDisruptionBudgets are not served
//! yet, so every eviction is allowed.)

use super::objects::{DeleteOutcome, DeleteParams, Objects, WriteParams, check_preconditions};
use crate::controllers::pod_conditions::{DISRUPTION_TARGET, with_condition};
use crate::error::{ApiError, Reason};
use crate::registry::{ResourceInfo, UpdateTarget};

/// Attempts at the condition write when it races another writer (upstream retries on
/// conflict, with client-go's `retry.DefaultRetry`-like budget, unless the caller pinned a
/// resourceVersion).
const ATTEMPTS: usize = 5;

impl Objects {
    /// Evict pod `name`: add the `DisruptionTarget` condition to the latest pod (checked
    /// against the eviction's preconditions), then delete it with `p`. A resourceVersion
    /// precondition moves to the version the condition write made, so it still pins the pod
    /// the caller saw. A dry run writes nothing.
    pub fn evict(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        p: &DeleteParams,
    ) -> Result<DeleteOutcome, ApiError> {
        let mut p = p.clone();
        if !p.dry_run {
            let mut attempts = ATTEMPTS;
            loop {
                match self.mark_disruption_target(info, namespace, name, &p) {
                    Ok(Some(revision)) if p.preconditions.revision.is_some() => {
                        p.preconditions.revision = Some(revision);
                        break;
                    }
                    Ok(_) => break,
                    Err(e)
                        if e.reason == Reason::Conflict
                            && p.preconditions.revision.is_none()
                            && attempts > 1 =>
                    {
                        attempts -= 1;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.delete(info, namespace, name, &p)
    }

    /// Writes the condition onto the current pod unless it already reads so; the revision
    /// written, if any. A concurrent write makes it fail with a conflict.
    fn mark_disruption_target(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        p: &DeleteParams,
    ) -> Result<Option<u64>, ApiError> {
        let current = self.store().get(info.store_key, namespace, name)?;
        check_preconditions(info, name, &current, &p.preconditions)?;
        let Some(marked) = with_condition(
            &current.value(),
            DISRUPTION_TARGET,
            "True",
            "EvictionByEvictionAPI",
            "Eviction API: evicting",
        ) else {
            return Ok(None);
        };
        // `marked` keeps the resourceVersion read above: the write is refused if the pod
        // changed since.
        let stored = self.update(
            info,
            namespace,
            name,
            marked,
            UpdateTarget::Status,
            &WriteParams::default(),
        )?;
        Ok(Some(stored.revision))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;

    fn objects_with_pod() -> Arc<Objects> {
        crate::api::objects::bind_tests::objects_with_pod(json!({"nodeName": "n1"}), Value::Null)
    }

    fn pods() -> &'static ResourceInfo {
        crate::registry::find("", "v1", "pods").expect("served")
    }

    fn disruption(pod: &Value) -> Option<Value> {
        pod["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == DISRUPTION_TARGET)
            .cloned()
    }

    #[test]
    fn an_evicted_pod_is_marked_as_a_disruption_target_before_its_graceful_delete() {
        let objects = objects_with_pod();
        let outcome = objects
            .evict(pods(), "default", "p", &DeleteParams::default())
            .unwrap();
        let DeleteOutcome::Pending(pod) = outcome else {
            panic!("a bound pod is deleted gracefully: {outcome:?}");
        };
        let pod = pod.value();
        assert!(pod["metadata"]["deletionTimestamp"].is_string());
        let c = disruption(&pod).expect("the DisruptionTarget condition");
        assert_eq!(c["status"], "True");
        assert_eq!(c["reason"], "EvictionByEvictionAPI");
        assert_eq!(c["message"], "Eviction API: evicting");
    }

    #[test]
    fn a_resource_version_precondition_follows_the_condition_write() {
        let objects = objects_with_pod();
        let seen = objects
            .store()
            .get("pods", "default", "p")
            .unwrap()
            .revision;
        let mut p = DeleteParams::default();
        p.preconditions.revision = Some(seen);
        let outcome = objects.evict(pods(), "default", "p", &p).unwrap();
        assert!(disruption(&outcome.object().value()).is_some());

        let stale = objects_with_pod();
        let mut p = DeleteParams::default();
        p.preconditions.revision = Some(seen + 100);
        let err = stale.evict(pods(), "default", "p", &p).unwrap_err();
        assert_eq!(err.reason, Reason::Conflict);
        let pod = stale.store().get("pods", "default", "p").unwrap().value();
        assert!(
            disruption(&pod).is_none() && pod["metadata"]["deletionTimestamp"].is_null(),
            "a refused eviction changes nothing: {pod:#}"
        );
    }

    #[test]
    fn a_dry_run_eviction_writes_nothing() {
        let objects = objects_with_pod();
        let p = DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        };
        objects.evict(pods(), "default", "p", &p).unwrap();
        let pod = objects.store().get("pods", "default", "p").unwrap().value();
        assert!(disruption(&pod).is_none() && pod["metadata"]["deletionTimestamp"].is_null());
    }
}
