//! The Pod API as upstream's pod conformance tests use it beside the node: a label update on a
//! running pod persists and selects it (while the kubelet keeps writing its status), pods are
//! deleted by collection, and the status subresource takes patches and replacements from a
//! client (on an unbound pod, whose status no kubelet owns).

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::pods::{bound_pod, create_running, pod_condition, ready_node_name};
use crate::support::{Condition, ns_api, unscheduled_pod, wait_budget, wait_for};

/// A running pod's labels can be updated; the update persists and a label selector finds the
/// pod by its new label, while its node keeps it running.
pub async fn running_pod_label_update_persists_and_selects_it(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let api = ns_api::<Pod>(&ctx);
    create_running(&ctx, &bound_pod("relabelled", &node)).await?;
    let mut pod = api.get("relabelled").await?;
    pod.labels_mut().insert("time".into(), "updated".into());
    api.replace("relabelled", &PostParams::default(), &pod)
        .await
        .context("updating the running pod's labels")?;
    let found = api
        .list(&ListParams::default().labels("time=updated"))
        .await?;
    ensure!(
        found.items.len() == 1 && found.items[0].name_any() == "relabelled",
        "the selector time=updated found {:?}",
        found.items.iter().map(|p| p.name_any()).collect::<Vec<_>>()
    );
    let read = api.get("relabelled").await?;
    ensure!(
        read.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"),
        "the label update disturbed the pod: phase {:?}",
        read.status.as_ref().and_then(|s| s.phase.clone())
    );
    Ok(())
}

/// Pods selected by a label are deleted as a collection (each through its node's
/// confirmation); others stay.
pub async fn pods_are_deleted_by_collection(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let api = ns_api::<Pod>(&ctx);
    let mut names = Vec::new();
    for i in 0..3 {
        let name = format!("doomed-{i}");
        let mut pod = bound_pod(&name, &node);
        pod.labels_mut().insert("set".into(), "doomed".into());
        create_running(&ctx, &pod).await?;
        names.push(name);
    }
    create_running(&ctx, &bound_pod("kept", &node)).await?;
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("set=doomed"),
    )
    .await?;
    for name in &names {
        wait_for(&api, name, Condition::deleted(), wait_budget(&ctx)).await?;
    }
    let kept = api.get("kept").await?;
    ensure!(
        kept.metadata.deletion_timestamp.is_none(),
        "a pod outside the selector was deleted"
    );
    Ok(())
}

/// The status subresource: a patch adds a condition and a replacement changes it; neither
/// changes the spec.
pub async fn pod_status_is_patched_and_replaced_through_the_status_subresource(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<Pod>(&ctx);
    api.create(&PostParams::default(), &unscheduled_pod("statused", &[]))
        .await?;
    let patched = api
        .patch_status(
            "statused",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [
                {"type": "PodStatusPatched", "status": "True", "reason": "E2E"}
            ]}})),
        )
        .await?;
    let c: Option<&PodCondition> = pod_condition(&patched, "PodStatusPatched");
    ensure!(
        c.is_some_and(|c| c.status == "True"),
        "the patched condition is {c:?}"
    );

    let mut read = api.get("statused").await?;
    if let Some(conditions) = read.status.as_mut().and_then(|s| s.conditions.as_mut()) {
        for c in conditions
            .iter_mut()
            .filter(|c| c.type_ == "PodStatusPatched")
        {
            c.status = "False".into();
        }
    }
    read.spec
        .as_mut()
        .context("no spec")?
        .active_deadline_seconds = Some(99);
    let replaced = api
        .replace_status("statused", &PostParams::default(), &read)
        .await?;
    ensure!(
        pod_condition(&replaced, "PodStatusPatched").is_some_and(|c| c.status == "False"),
        "the replaced condition is {:?}",
        pod_condition(&replaced, "PodStatusPatched")
    );
    ensure!(
        replaced
            .spec
            .as_ref()
            .and_then(|s| s.active_deadline_seconds)
            .is_none(),
        "a status replacement changed the spec"
    );
    Ok(())
}
