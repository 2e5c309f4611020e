//! Faults of a whole node, as the fault-control interface injects them: a node deleted
//! (`kubectl delete node`, or a machine that disappears) takes its pods with it (PodGC); a
//! partition holds a node's pod updates back until it ends; a slowed-down node runs its pods
//! later. Each test uses hollow nodes of its own; another node's pod is the clock that shows an
//! update was held back, so nothing here sleeps.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{Node, Pod};

use crate::TestContext;
use crate::support::nodes::{nodes_api, own_nodes};
use crate::support::pods::{
    bound_pod, create_pod, create_running, is_running_and_ready, phase, wait_pod, with_behaviour,
};
use crate::support::{Condition, kubectl, ns_api, wait_budget, wait_for};

async fn wait_pod_deleted(ctx: &TestContext, name: &str) -> anyhow::Result<()> {
    wait_for(
        &ns_api::<Pod>(ctx),
        name,
        Condition::deleted(),
        wait_budget(ctx),
    )
    .await?;
    Ok(())
}

async fn wait_node_deleted(ctx: &TestContext, name: &str) -> anyhow::Result<()> {
    wait_for(
        &nodes_api(ctx),
        name,
        Condition::<Node>::deleted(),
        wait_budget(ctx),
    )
    .await?;
    Ok(())
}

/// `kubectl delete node` removes the node, and the pods bound to it are deleted after it
/// (PodGC), so nothing is left pointing at a node that does not exist.
pub async fn kubectl_delete_node_deletes_its_pods(ctx: TestContext) -> anyhow::Result<()> {
    let node = own_nodes(&ctx, "gone", 1).await?.remove(0);
    create_running(&ctx, &bound_pod("orphan-a", &node)).await?;
    create_running(&ctx, &bound_pod("orphan-b", &node)).await?;
    kubectl(&ctx, &["delete", "node", &node]).await?.ok()?;
    wait_node_deleted(&ctx, &node).await?;
    wait_pod_deleted(&ctx, "orphan-a").await?;
    wait_pod_deleted(&ctx, "orphan-b").await?;
    Ok(())
}

/// A machine that disappears (the delete_node fault) leaves no Node behind, and its pods are
/// garbage-collected; a pod on another node is untouched.
pub async fn a_vanished_node_takes_its_pods_with_it(ctx: TestContext) -> anyhow::Result<()> {
    let nodes = own_nodes(&ctx, "vanish", 2).await?;
    create_running(&ctx, &bound_pod("lost", &nodes[0])).await?;
    create_running(&ctx, &bound_pod("bystander", &nodes[1])).await?;
    ctx.node_control()?.delete_node(&nodes[0]).await?;
    wait_node_deleted(&ctx, &nodes[0]).await?;
    wait_pod_deleted(&ctx, "lost").await?;
    let bystander = ns_api::<Pod>(&ctx).get("bystander").await?;
    ensure!(
        bystander.metadata.deletion_timestamp.is_none() && is_running_and_ready(&bystander),
        "a pod on another node was disturbed: phase {:?}",
        phase(&bystander)
    );
    Ok(())
}

/// A partitioned node's pod updates are held back: a quick pod there is not reported Running
/// while a slower pod elsewhere already is; once the partition ends, its status arrives.
pub async fn a_partition_holds_pod_updates_back_until_it_ends(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = own_nodes(&ctx, "part", 2).await?;
    let (cut, open) = (&nodes[0], &nodes[1]);
    ctx.node_control()?.partition(cut, true)?;
    create_pod(&ctx, &bound_pod("held", cut)).await?;
    let clock = with_behaviour(bound_pod("clock", open), &[("start-delay", "10s")]);
    create_running(&ctx, &clock).await?;

    let held = ns_api::<Pod>(&ctx).get("held").await?;
    ensure!(
        phase(&held) != Some("Running")
            && held
                .status
                .as_ref()
                .and_then(|s| s.host_ip.as_ref())
                .is_none(),
        "a pod on a partitioned node had its status written: phase {:?}",
        phase(&held)
    );

    ctx.node_control()?.partition(cut, false)?;
    wait_pod(
        &ctx,
        "held",
        "to be Running once the partition ends",
        is_running_and_ready,
    )
    .await?;
    Ok(())
}

/// A slowed-down node starts its pods later: a pod there is still starting while the same pod
/// on a normal node, told to start slower, already runs; then it runs too.
pub async fn a_slowed_down_node_starts_its_pods_later(ctx: TestContext) -> anyhow::Result<()> {
    let nodes = own_nodes(&ctx, "slow", 2).await?;
    let (slow, normal) = (&nodes[0], &nodes[1]);
    ctx.node_control()?.slow_down(slow, 20.0)?;
    create_pod(
        &ctx,
        &with_behaviour(bound_pod("sluggish", slow), &[("start-delay", "2s")]),
    )
    .await?;
    create_running(
        &ctx,
        &with_behaviour(bound_pod("clock", normal), &[("start-delay", "10s")]),
    )
    .await?;
    let sluggish = ns_api::<Pod>(&ctx).get("sluggish").await?;
    ensure!(
        !is_running_and_ready(&sluggish),
        "the pod on the node slowed down 20x started before one with a 5x longer start delay \
         on a normal node"
    );
    wait_pod(
        &ctx,
        "sluggish",
        "to be Running at last",
        is_running_and_ready,
    )
    .await?;
    Ok(())
}
