//! What the Job controller reads of its pods beyond the shared facts (completion index,
//! tracking finalizer, finish time, restarts), and the finalizer's removal.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use serde::Deserialize;
use serde_json::json;

use super::conditions::only_replace_failed;
use super::indexes::{self, COMPLETION_INDEX};
use super::{TRACKING_FINALIZER, pods_info};
use crate::api::{Objects, WriteParams};
use crate::controllers::runtime::pods::PodFacts;
use crate::error::ApiError;
use crate::patch::PatchType;
use crate::registry::UpdateTarget;
use crate::store::Stored;

/// What the Job controller reads of a pod beyond the shared facts.
#[derive(Debug)]
pub(super) struct JobPod {
    pub facts: Arc<PodFacts>,
    /// Carries the tracking finalizer.
    pub tracked: bool,
    pub index: Option<i64>,
    pub finished_at: jiff::Timestamp,
    /// Restarts of every container, init containers included.
    pub restarts_total: i64,
}

impl JobPod {
    pub(super) fn parse(facts: Arc<PodFacts>) -> Self {
        #[derive(Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        struct Raw {
            metadata: RawMeta,
            status: RawStatus,
        }
        #[derive(Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        struct RawMeta {
            finalizers: Vec<String>,
            annotations: HashMap<String, String>,
            deletion_timestamp: Option<jiff::Timestamp>,
            creation_timestamp: Option<jiff::Timestamp>,
        }
        #[derive(Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        struct RawStatus {
            conditions: Vec<RawCondition>,
            container_statuses: Vec<RawContainer>,
            init_container_statuses: Vec<RawContainer>,
        }
        #[derive(Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        struct RawCondition {
            #[serde(rename = "type")]
            type_: String,
            status: String,
            last_transition_time: Option<jiff::Timestamp>,
        }
        #[derive(Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        struct RawContainer {
            restart_count: i64,
            state: RawState,
        }
        #[derive(Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        struct RawState {
            terminated: Option<RawTerminated>,
        }
        #[derive(Default, Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        struct RawTerminated {
            finished_at: Option<jiff::Timestamp>,
        }
        let raw: Raw = serde_json::from_slice(&facts.stored.bytes).unwrap_or_default();
        let containers = raw
            .status
            .container_statuses
            .iter()
            .chain(&raw.status.init_container_statuses);
        // upstream `getFinishedTime`: the last container's finish, else when Ready turned
        // False, else the deletion, else the creation
        let finished_at = raw
            .status
            .container_statuses
            .iter()
            .filter_map(|c| c.state.terminated.as_ref()?.finished_at)
            .max()
            .or_else(|| {
                raw.status
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "Ready" && c.status == "False")
                    .and_then(|c| c.last_transition_time)
            })
            .or(raw.metadata.deletion_timestamp)
            .or(raw.metadata.creation_timestamp)
            .unwrap_or_default();
        Self {
            tracked: raw
                .metadata
                .finalizers
                .iter()
                .any(|f| f == TRACKING_FINALIZER),
            index: indexes::completion_index(
                raw.metadata
                    .annotations
                    .get(COMPLETION_INDEX)
                    .map(String::as_str),
            ),
            finished_at,
            restarts_total: containers.map(|c| c.restart_count).sum(),
            facts,
        }
    }

    pub(super) fn uid(&self) -> &str {
        &self.facts.uid
    }

    pub(super) fn phase(&self) -> &str {
        &self.facts.phase
    }
}

/// Whether a pod counts as failed (upstream `isPodFailed`): Failed, or — unless only failed
/// pods are replaced — deleted before it succeeded.
pub(super) fn is_pod_failed(p: &JobPod, job: &Job) -> bool {
    if p.phase() == "Failed" {
        return true;
    }
    if only_replace_failed(job) {
        return false;
    }
    p.facts.deleting && p.phase() != "Succeeded"
}

/// Whether a stored pod still carries the tracking finalizer.
pub(super) fn has_tracking_finalizer(pod: &Stored) -> bool {
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct Raw {
        metadata: Meta,
    }
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct Meta {
        finalizers: Vec<String>,
    }
    let raw: Raw = serde_json::from_slice(&pod.bytes).unwrap_or_default();
    raw.metadata
        .finalizers
        .iter()
        .any(|f| f == TRACKING_FINALIZER)
}

/// Take the tracking finalizer off a pod (upstream `removeTrackingFinalizerPatch`).
pub(super) fn remove_finalizer(objects: &Objects, p: &JobPod) -> Result<(), ApiError> {
    remove_finalizer_from(objects, p.facts.namespace(), p.facts.name())
}

/// Take the tracking finalizer off pod `namespace/name`.
pub(super) fn remove_finalizer_from(
    objects: &Objects,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}});
    objects.patch(
        pods_info(),
        namespace,
        name,
        PatchType::StrategicMerge,
        patch.to_string().as_bytes(),
        UpdateTarget::Main,
        &WriteParams::default(),
    )?;
    Ok(())
}
