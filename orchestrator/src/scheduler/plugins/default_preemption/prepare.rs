//! What happens once a candidate is chosen (upstream `prepareCandidate` and `PreemptPod`):
//! each victim gets the `DisruptionTarget` condition and is deleted gracefully, with a
//! `Preempted` event; lower-priority pods nominated to the node lose their nomination; the
//! preemptor is nominated to the node.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::api::{DeleteParams, Objects, WriteParams};
use crate::controllers::events::{EventRecorder, NORMAL, ObjectRef};
use crate::error::{ApiError, Reason};
use crate::patch::PatchType;
use crate::registry::{ResourceInfo, UpdateTarget, find};
use crate::scheduler::framework::PodInfo;

/// The event source (upstream: the scheduler's profile name, `default-scheduler`).
const COMPONENT: &str = "default-scheduler";

fn pods() -> &'static ResourceInfo {
    find("", "v1", "pods").expect("pods are served")
}

/// The API writes of a preemption.
pub struct Preparer {
    objects: Arc<Objects>,
    recorder: EventRecorder,
}

impl std::fmt::Debug for Preparer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preparer").finish_non_exhaustive()
    }
}

impl Preparer {
    /// Writes through `objects`.
    pub fn new(objects: Arc<Objects>) -> Self {
        Self {
            recorder: EventRecorder::new(objects.clone(), COMPONENT),
            objects,
        }
    }

    /// Upstream `PreemptPod`: mark the victim as a disruption target, delete it (a victim
    /// already gone is fine), and record `Preempted` on it.
    pub fn preempt(
        &self,
        preemptor: &PodInfo,
        victim: &PodInfo,
        node: &str,
    ) -> Result<(), ApiError> {
        let condition = json!({
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "PreemptionByScheduler",
            "message": format!(
                "{}: preempting to accommodate a higher priority pod",
                preemptor.scheduler_name
            ),
            "lastTransitionTime": crate::controllers::events::rfc3339(jiff::Timestamp::now()),
        });
        let patch = json!({ "status": { "conditions": [condition] } });
        match self.patch_status(victim, &patch, PatchType::StrategicMerge) {
            Ok(()) => {}
            Err(e) if e.reason == Reason::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        match self.objects.delete(
            pods(),
            &victim.namespace,
            &victim.name,
            &DeleteParams::default(),
        ) {
            Ok(_) => {}
            Err(e) if e.reason == Reason::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        let about = ObjectRef::of("Pod", &victim.stored.value());
        self.recorder.record(
            &about,
            NORMAL,
            "Preempted",
            &format!("Preempted by pod {} on node {}", preemptor.uid, node),
        );
        Ok(())
    }

    /// Set (or, with `""`, clear) a pod's `status.nominatedNodeName` through `pods/status`
    /// (upstream `util.ClearNominatedNodeName` and the failure handler's nomination write).
    pub fn set_nominated_node(&self, pod: &PodInfo, node: &str) -> Result<(), ApiError> {
        let value = if node.is_empty() {
            Value::Null
        } else {
            Value::String(node.to_string())
        };
        match self.patch_status(
            pod,
            &json!({ "status": { "nominatedNodeName": value } }),
            PatchType::Merge,
        ) {
            Err(e) if e.reason == Reason::NotFound => Ok(()),
            other => other,
        }
    }

    fn patch_status(&self, pod: &PodInfo, patch: &Value, kind: PatchType) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(patch).expect("a JSON value serializes");
        self.objects
            .patch(
                pods(),
                &pod.namespace,
                &pod.name,
                kind,
                &bytes,
                UpdateTarget::Status,
                &WriteParams::default(),
            )
            .map(|_| ())
    }
}
