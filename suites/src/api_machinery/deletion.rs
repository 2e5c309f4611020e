//! Deletion: finalizers hold an object in "terminating", graceful deletion of pods (immediate
//! when unbound, held for the kubelet when bound), and every propagationPolicy is accepted.

use anyhow::{bail, ensure};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::errors::expect_cause;
use crate::support::{
    Condition, configmap, expect_status, ns_api, unscheduled_pod, wait_budget, wait_for,
};

const HOLD: &str = "kubeproof.io/hold";

/// An object with a finalizer is only marked on delete (deletionTimestamp set, still readable,
/// no new finalizers allowed) and goes away once its finalizers are removed.
pub async fn object_with_a_finalizer_stays_until_the_finalizer_is_removed(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let mut held = configmap("held", &[], &[("k", "v")]);
    held.metadata.finalizers = Some(vec![HOLD.to_string()]);
    api.create(&PostParams::default(), &held).await?;

    let deleted = api.delete("held", &DeleteParams::default()).await?;
    let Some(marked) = deleted.left() else {
        bail!("delete of an object with a finalizer answered a Status, not the marked object");
    };
    ensure!(
        marked.metadata.deletion_timestamp.is_some(),
        "delete did not set deletionTimestamp"
    );
    ensure!(
        marked.finalizers() == [HOLD],
        "finalizers changed by delete: {:?}",
        marked.finalizers()
    );

    let still = api.get("held").await?;
    ensure!(
        still.metadata.deletion_timestamp.is_some(),
        "the held object lost its deletionTimestamp"
    );
    ensure!(
        still.metadata.deletion_grace_period_seconds == Some(0),
        "deletionGracePeriodSeconds is {:?}, want 0",
        still.metadata.deletion_grace_period_seconds
    );

    let more = api
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": [HOLD, "kubeproof.io/another"]}})),
        )
        .await;
    let status = expect_status(
        more,
        422,
        "Invalid",
        "adding a finalizer to a terminating object",
    )?;
    let message = expect_cause(&status, "metadata.finalizers", "FieldValueForbidden")?;
    ensure!(
        message.contains("no new finalizers can be added if the object is being deleted"),
        "unexpected cause message {message:?}"
    );

    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    wait_for(&api, "held", Condition::deleted(), wait_budget(&ctx)).await?;
    Ok(())
}

/// A pod no node has is deleted at once even when a grace period is asked for: there is no
/// kubelet to wait for.
pub async fn unbound_pod_deleted_with_a_grace_period_is_removed_at_once(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<Pod>(&ctx);
    api.create(&PostParams::default(), &unscheduled_pod("unbound", &[]))
        .await?;
    api.delete("unbound", &DeleteParams::default().grace_period(30))
        .await?;
    expect_status(
        api.get("unbound").await,
        404,
        "NotFound",
        "get of an unbound pod right after a graceful delete",
    )?;
    Ok(())
}

/// A pod bound to a node is only marked on a graceful delete (the kubelet finishes the job);
/// a zero-grace delete, as the kubelet sends, removes it. This test plays the kubelet.
pub async fn bound_pod_stays_terminating_until_a_zero_grace_delete(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<Pod>(&ctx);
    let node = "kubeproof-absent-node";
    api.create(&PostParams::default(), &unscheduled_pod("bound", &[]))
        .await?;
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "bound"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    let _: serde_json::Value = api
        .create_subresource("binding", "bound", &PostParams::default(), &binding)
        .await?;
    let bound = api.get("bound").await?;
    ensure!(
        bound.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node),
        "binding did not set spec.nodeName: {:?}",
        bound.spec.as_ref().and_then(|s| s.node_name.clone())
    );

    api.delete("bound", &DeleteParams::default().grace_period(30))
        .await?;
    let terminating = api.get("bound").await?;
    ensure!(
        terminating.metadata.deletion_timestamp.is_some(),
        "graceful delete of a bound pod did not set deletionTimestamp"
    );
    ensure!(
        terminating.metadata.deletion_grace_period_seconds == Some(30),
        "deletionGracePeriodSeconds is {:?}, want 30",
        terminating.metadata.deletion_grace_period_seconds
    );

    api.delete("bound", &DeleteParams::default().grace_period(0))
        .await?;
    wait_for(&api, "bound", Condition::deleted(), wait_budget(&ctx)).await?;
    Ok(())
}

/// Background, Foreground and Orphan are all accepted. Background removes an object with no
/// dependents at once; Foreground and Orphan mark it with the `foregroundDeletion` / `orphan`
/// finalizer for the garbage collector (which may already have finished).
pub async fn every_propagation_policy_is_accepted(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    api.create(
        &PostParams::default(),
        &configmap("prop-background", &[], &[]),
    )
    .await?;
    api.delete("prop-background", &DeleteParams::background())
        .await?;
    expect_status(
        api.get("prop-background").await,
        404,
        "NotFound",
        "get after a Background delete",
    )?;

    for (name, params, finalizer) in [
        (
            "prop-foreground",
            DeleteParams::foreground(),
            "foregroundDeletion",
        ),
        ("prop-orphan", DeleteParams::orphan(), "orphan"),
    ] {
        api.create(&PostParams::default(), &configmap(name, &[], &[]))
            .await?;
        let answer = api.delete(name, &params).await?;
        match (answer.clone().left(), answer.right()) {
            (Some(marked), _) => {
                ensure!(
                    marked.metadata.deletion_timestamp.is_some(),
                    "{name}: no deletionTimestamp after delete"
                );
                ensure!(
                    marked.finalizers().iter().any(|f| f == finalizer),
                    "{name}: finalizers {:?} lack {finalizer}",
                    marked.finalizers()
                );
            }
            (None, Some(status)) => {
                ensure!(status.is_success(), "{name}: delete answered {status:?}")
            }
            (None, None) => unreachable!("an Either is left or right"),
        }
        // Stand in for a garbage collector the target may not run.
        let cleared = api
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await;
        match cleared {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        wait_for(&api, name, Condition::deleted(), wait_budget(&ctx)).await?;
    }
    Ok(())
}
