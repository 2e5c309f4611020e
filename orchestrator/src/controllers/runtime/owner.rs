//! An owning controller's side of ownerReferences (upstream `controller_ref_manager.go` and
//! `controller_utils.go` `GetPodFromTemplate`): the reference it sets, claiming pods (keeping
//! those it controls that still match, adopting matching orphans, releasing those that stopped
//! matching) and the pods it makes from its template.

use std::sync::Arc;

use serde_json::{Value, json};

use super::pods::{PodCache, PodFacts};
use crate::api::{Objects, WriteParams};
use crate::error::{ApiError, Reason};
use crate::patch::PatchType;
use crate::registry::{ResourceInfo, UpdateTarget};
use crate::store::LabelSelector;

/// The object controlling pods: what its ownerReference names.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The owner has `deletionTimestamp`: it adopts nothing.
    pub deleting: bool,
    /// Finalizers its adoption adds to a pod (upstream `PodControllerRefManager.finalizers`: the
    /// Job controller's tracking finalizer).
    pub adoption_finalizers: &'static [&'static str],
}

impl Owner {
    /// The ownerReference a controller sets on what it creates or adopts.
    pub(crate) fn reference(&self) -> Value {
        json!({
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": true,
            "blockOwnerDeletion": true,
        })
    }

    /// The owner's events are about it.
    pub(crate) fn event_ref(&self) -> crate::controllers::events::ObjectRef {
        crate::controllers::events::ObjectRef {
            api_version: self.api_version,
            kind: self.kind,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid: Some(self.uid.clone()),
            resource_version: None,
        }
    }
}

/// Claim the pods `owner` should control (upstream `ClaimPods`): its own pods that still match
/// `selector` (and, while it is being deleted, all of its own), plus the orphans of its namespace
/// that match and are not being deleted, which it adopts. Its pods that stopped matching are
/// released. Adoptions and releases that fail (the pod changed or went) are skipped: the pod's
/// event brings the owner back.
pub(crate) fn claim_pods(
    objects: &Objects,
    cache: &PodCache,
    owner: &Owner,
    selector: &LabelSelector,
) -> Vec<Arc<PodFacts>> {
    let matches = |p: &PodFacts| selector.matches(|k| p.label(k));
    let mut claimed = Vec::new();
    for pod in cache.controlled_by(&owner.uid) {
        if pod.namespace() != owner.namespace {
            continue;
        }
        if matches(&pod) || owner.deleting {
            claimed.push(pod);
        } else if !pod.deleting
            && let Err(e) = release(objects, &pod, owner)
        {
            tracing::debug!(pod = %pod.key(), error = %e, "could not release a pod");
        }
    }
    if owner.deleting {
        return claimed;
    }
    for pod in cache.orphans_in(&owner.namespace) {
        if pod.deleting || !matches(&pod) {
            continue;
        }
        match adopt(objects, &pod, owner) {
            Ok(()) => claimed.push(pod),
            Err(e) => tracing::debug!(pod = %pod.key(), error = %e, "could not adopt a pod"),
        }
    }
    claimed
}

fn pods() -> &'static ResourceInfo {
    crate::registry::find("", "v1", "pods").expect("pods are served")
}

/// Add `owner` as the pod's controller, and its adoption finalizers (a strategic merge patch,
/// as upstream's `ownerRefControllerPatch`), preconditioned on the pod's uid.
pub(crate) fn adopt(objects: &Objects, pod: &PodFacts, owner: &Owner) -> Result<(), ApiError> {
    let mut patch = json!({"metadata": {"ownerReferences": [owner.reference()], "uid": pod.uid}});
    if !owner.adoption_finalizers.is_empty() {
        patch["metadata"]["finalizers"] = json!(owner.adoption_finalizers);
    }
    patch_pod(objects, pod, &patch)
}

/// Remove `owner`'s reference from the pod (upstream's release patch).
pub(crate) fn release(objects: &Objects, pod: &PodFacts, owner: &Owner) -> Result<(), ApiError> {
    let patch = json!({"metadata": {
        "ownerReferences": [{"$patch": "delete", "uid": owner.uid}],
        "uid": pod.uid,
    }});
    match patch_pod(objects, pod, &patch) {
        // Gone or replaced: nothing left to release.
        Err(e) if matches!(e.reason, Reason::NotFound) => Ok(()),
        other => other,
    }
}

fn patch_pod(objects: &Objects, pod: &PodFacts, patch: &Value) -> Result<(), ApiError> {
    let current = objects.store().get("pods", pod.namespace(), pod.name())?;
    let uid = current.value()["metadata"]["uid"].clone();
    if uid != json!(pod.uid) {
        return Err(ApiError::not_found("", "pods", pod.name()));
    }
    objects.patch(
        pods(),
        pod.namespace(),
        pod.name(),
        PatchType::StrategicMerge,
        patch.to_string().as_bytes(),
        UpdateTarget::Main,
        &WriteParams::default(),
    )?;
    Ok(())
}

/// The pod a controller creates from its template (upstream `GetPodFromTemplate`): the
/// template's labels, annotations, finalizers and spec, named `<prefix>` plus a random suffix by
/// the API server, controlled by `owner`.
pub(crate) fn pod_from_template(template: &Value, owner: &Owner, prefix: &str) -> Value {
    let mut metadata = serde_json::Map::new();
    for field in ["labels", "annotations", "finalizers"] {
        if let Some(v) = template.pointer(&format!("/metadata/{field}")) {
            metadata.insert(field.into(), v.clone());
        }
    }
    metadata.insert("generateName".into(), json!(prefix));
    metadata.insert("ownerReferences".into(), json!([owner.reference()]));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Upstream's `generateName` prefix for a controller's pods: `<name>-`, cut to leave room for the
/// random suffix (`apimachinery`'s `MaxGeneratedNameLength`: 63 − 5).
pub(crate) fn pod_name_prefix(owner: &str) -> String {
    let mut prefix = format!("{owner}-");
    if prefix.len() > 58 {
        prefix.truncate(58);
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            api_version: "apps/v1",
            kind: "ReplicaSet",
            namespace: "ns".into(),
            name: "web".into(),
            uid: "rs-uid".into(),
            deleting: false,
            adoption_finalizers: &[],
        }
    }

    #[test]
    fn pods_from_a_template_carry_its_metadata_and_the_controller_reference() {
        let template = json!({
            "metadata": {"labels": {"app": "web"}, "annotations": {"a": "1"}, "name": "ignored"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        });
        let pod = pod_from_template(&template, &owner(), "web-");
        assert_eq!(pod["metadata"]["generateName"], "web-");
        assert_eq!(pod["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(pod["metadata"]["annotations"], json!({"a": "1"}));
        assert!(pod["metadata"].get("name").is_none());
        assert_eq!(
            pod["metadata"]["ownerReferences"],
            json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid",
                    "controller": true, "blockOwnerDeletion": true}])
        );
        assert_eq!(pod["spec"], template["spec"]);
    }

    #[test]
    fn long_names_leave_room_for_the_random_suffix() {
        assert_eq!(pod_name_prefix("web"), "web-");
        assert_eq!(pod_name_prefix(&"x".repeat(80)).len(), 58);
    }
}
