//! The status subresource split: the main resource ignores status, `/status` ignores spec, and
//! `metadata.generation` counts spec changes only. Shown on Deployments, whose status only a
//! controller writes (and whose replicas are 0 here, so a real controller has nothing to do).

use anyhow::ensure;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::{deployment, ns_api};

fn custom_condition() -> DeploymentCondition {
    DeploymentCondition {
        type_: Some("KubeproofProbe".to_string()),
        status: Some("True".to_string()),
        reason: Some("Written".to_string()),
        message: Some("written by the status subresource test".to_string()),
        ..DeploymentCondition::default()
    }
}

/// A PUT to the main resource that changes status stores the spec change and drops the status.
pub async fn writing_the_main_resource_ignores_status(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    api.create(
        &PostParams::default(),
        &deployment("main-ignores-status", 0, &[("app", "mis")]),
    )
    .await?;
    // The Deployment controller writes status too, so a read-modify-write may conflict with it:
    // read again and retry, as any client does.
    let mut attempts = 0;
    let after = loop {
        let mut changed = api.get("main-ignores-status").await?;
        changed.spec.min_ready_seconds = Some(7);
        changed.status = Some(DeploymentStatus {
            observed_generation: Some(42),
            replicas: Some(3),
            conditions: Some(vec![custom_condition()]),
            ..DeploymentStatus::default()
        });
        match api
            .replace("main-ignores-status", &PostParams::default(), &changed)
            .await
        {
            Err(kube::Error::Api(e)) if e.code == 409 && attempts < 10 => attempts += 1,
            other => break other?,
        }
    };
    ensure!(
        after.spec.min_ready_seconds == Some(7),
        "the spec change in a main-resource PUT was not stored"
    );
    let status = after.status.unwrap_or_default();
    ensure!(
        status.observed_generation != Some(42)
            && status.replicas != Some(3)
            && !status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == custom_condition().type_),
        "status written through the main resource: {status:?}"
    );
    Ok(())
}

/// A PUT to `/status` that changes spec stores the status change and drops the spec change.
pub async fn writing_the_status_subresource_ignores_spec(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    api.create(
        &PostParams::default(),
        &deployment("status-ignores-spec", 0, &[("app", "sis")]),
    )
    .await?;
    let before = api.get("status-ignores-spec").await?;
    let mut changed = before.clone();
    changed.spec.min_ready_seconds = Some(9);
    let mut status = changed.status.clone().unwrap_or_default();
    status.conditions = Some(vec![custom_condition()]);
    changed.status = Some(status);
    // Unpinned: the Deployment controller writes status of its own meanwhile.
    changed.metadata.resource_version = None;
    let after = api
        .replace_status("status-ignores-spec", &PostParams::default(), &changed)
        .await?;
    ensure!(
        after.spec == before.spec,
        "a /status PUT changed spec: before {:?}, after {:?}",
        before.spec,
        after.spec
    );
    let conditions = after.status.and_then(|s| s.conditions).unwrap_or_default();
    ensure!(
        conditions
            .iter()
            .any(|c| c.type_.as_deref() == Some("KubeproofProbe")
                && c.status.as_deref() == Some("True")),
        "the status written through /status was not stored: {conditions:?}"
    );
    let stored = api.get("status-ignores-spec").await?;
    ensure!(
        stored.spec == before.spec,
        "spec changed in storage after a /status PUT"
    );
    Ok(())
}

/// `metadata.generation` starts at 1 and moves only when the spec changes: not for labels, not
/// for status.
pub async fn generation_moves_on_spec_changes_only(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    let name = "generation";
    let created = api
        .create(
            &PostParams::default(),
            &deployment(name, 0, &[("app", "gen")]),
        )
        .await?;
    ensure!(
        created.metadata.generation == Some(1),
        "generation on create is {:?}, want 1",
        created.metadata.generation
    );

    let relabelled = api
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
        )
        .await?;
    ensure!(
        relabelled.metadata.generation == Some(1),
        "a label change moved generation to {:?}",
        relabelled.metadata.generation
    );

    let respecced = api
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"minReadySeconds": 5}})),
        )
        .await?;
    ensure!(
        respecced.metadata.generation == Some(2),
        "a spec change left generation at {:?}, want 2",
        respecced.metadata.generation
    );

    let restatused = api
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"conditions": [{"type": "KubeproofProbe", "status": "True"}]}}),
            ),
        )
        .await?;
    ensure!(
        restatused.metadata.generation == Some(2),
        "a status change moved generation to {:?}",
        restatused.metadata.generation
    );

    let unchanged = api
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"minReadySeconds": 5}})),
        )
        .await?;
    ensure!(
        unchanged.metadata.generation == Some(2),
        "a no-op spec patch moved generation to {:?}",
        unchanged.metadata.generation
    );
    Ok(())
}
