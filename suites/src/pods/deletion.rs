//! Graceful deletion: a deleted pod stays, Terminating with `deletionTimestamp` and
//! `deletionGracePeriodSeconds`, until its node has stopped the containers and confirms with a
//! zero-grace delete; a zero grace period removes it at once; a container that ignores SIGTERM
//! runs until the grace period ends. A partitioned node (whose confirmations are held back) and
//! a sibling pod are the clocks, so nothing here sleeps.

use anyhow::ensure;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;

use crate::TestContext;
use crate::support::nodes::own_nodes;
use crate::support::pods::{
    bound_pod, create_running, hollow_node_name, spec_mut, wait_pod, with_behaviour,
};
use crate::support::{Condition, expect_status, ns_api, wait_budget, wait_for};

/// A graceful delete leaves the pod Terminating — `deletionTimestamp` set and
/// `deletionGracePeriodSeconds` from the request — until its node confirms: on a partitioned
/// node it stays while a pod elsewhere deleted after it is already gone; when the partition
/// ends it goes.
pub async fn graceful_deletion_waits_for_the_node_to_confirm(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = own_nodes(&ctx, "confirm", 2).await?;
    let (cut, open) = (&nodes[0], &nodes[1]);
    create_running(&ctx, &bound_pod("held", cut)).await?;
    create_running(&ctx, &bound_pod("clock", open)).await?;
    ctx.node_control()?.partition(cut, true)?;

    let api = ns_api::<Pod>(&ctx);
    api.delete("held", &DeleteParams::default().grace_period(12))
        .await?;
    let terminating = wait_pod(&ctx, "held", "to be Terminating", |p| {
        p.metadata.deletion_timestamp.is_some()
    })
    .await?;
    ensure!(
        terminating.metadata.deletion_grace_period_seconds == Some(12),
        "deletionGracePeriodSeconds {:?}, want the 12 the delete asked for",
        terminating.metadata.deletion_grace_period_seconds
    );
    api.delete("clock", &DeleteParams::default()).await?;
    wait_for(&api, "clock", Condition::deleted(), wait_budget(&ctx)).await?;
    ensure!(
        api.get_opt("held").await?.is_some(),
        "the pod on the partitioned node went before its node could confirm"
    );

    ctx.node_control()?.partition(cut, false)?;
    wait_for(&api, "held", Condition::deleted(), wait_budget(&ctx)).await?;
    Ok(())
}

/// A delete with grace period 0 removes the pod at once, without the node's confirmation (the
/// node is partitioned here): the next read finds nothing.
pub async fn zero_grace_deletion_removes_the_pod_at_once(ctx: TestContext) -> anyhow::Result<()> {
    let node = own_nodes(&ctx, "force", 1).await?.remove(0);
    create_running(&ctx, &bound_pod("forced", &node)).await?;
    ctx.node_control()?.partition(&node, true)?;
    let api = ns_api::<Pod>(&ctx);
    api.delete("forced", &DeleteParams::default().grace_period(0))
        .await?;
    expect_status(
        api.get("forced").await,
        404,
        "NotFound",
        "get after a zero-grace delete",
    )?;
    ctx.node_control()?.partition(&node, false)?;
    Ok(())
}

/// Without a grace period in the request, the pod's `terminationGracePeriodSeconds` applies.
pub async fn deletion_uses_the_pods_termination_grace_period(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_nodes(&ctx, "grace", 1).await?.remove(0);
    let mut pod = bound_pod("graceful", &node);
    spec_mut(&mut pod).termination_grace_period_seconds = Some(17);
    create_running(&ctx, &pod).await?;
    ctx.node_control()?.partition(&node, true)?;
    ns_api::<Pod>(&ctx)
        .delete("graceful", &DeleteParams::default())
        .await?;
    let terminating = wait_pod(&ctx, "graceful", "to be Terminating", |p| {
        p.metadata.deletion_timestamp.is_some()
    })
    .await?;
    ensure!(
        terminating.metadata.deletion_grace_period_seconds == Some(17),
        "deletionGracePeriodSeconds {:?}, want the pod's 17",
        terminating.metadata.deletion_grace_period_seconds
    );
    ctx.node_control()?.partition(&node, false)?;
    wait_for(
        &ns_api::<Pod>(&ctx),
        "graceful",
        Condition::deleted(),
        wait_budget(&ctx),
    )
    .await?;
    Ok(())
}

/// A container that ignores SIGTERM runs until its grace period ends: deleted together with a
/// pod whose container stops at once, it outlives that pod, then goes.
pub async fn container_ignoring_sigterm_runs_until_the_grace_period_ends(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let with_grace = |pod: Pod| {
        let mut pod = pod;
        spec_mut(&mut pod).termination_grace_period_seconds = Some(30);
        pod
    };
    create_running(
        &ctx,
        &with_grace(with_behaviour(
            bound_pod("stubborn", &node),
            &[("ignore-sigterm", "true")],
        )),
    )
    .await?;
    create_running(&ctx, &with_grace(bound_pod("polite", &node))).await?;
    let api = ns_api::<Pod>(&ctx);
    api.delete("stubborn", &DeleteParams::default()).await?;
    api.delete("polite", &DeleteParams::default()).await?;
    wait_for(&api, "polite", Condition::deleted(), wait_budget(&ctx)).await?;
    ensure!(
        api.get_opt("stubborn").await?.is_some(),
        "the container ignoring SIGTERM stopped as soon as one that honours it"
    );
    wait_for(&api, "stubborn", Condition::deleted(), wait_budget(&ctx)).await?;
    Ok(())
}
