//! A node's health as the control plane sees it: heartbeats that stop (Ready Unknown, the
//! unreachable taints, its pods unready) and resume, conditions the node itself reports
//! (NotReady, MemoryPressure) and the taints they bring, and cordon.
//! Each test disturbs only a hollow node of its own.

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::TestContext;
use crate::support::kubectl;
use crate::support::nodes::{
    MEMORY_PRESSURE, NOT_READY, UNREACHABLE, UNSCHEDULABLE, has_taint, node_condition_status,
    nodes_api, own_node, taint, taint_labels, wait_node,
};
use crate::support::object_events::{has_event, wait_for_events};
use crate::support::pods::{bound_pod, condition_status, create_running, pod_condition, wait_pod};

fn ready_reason(node: &Node) -> Option<String> {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.reason.clone())
}

fn ready_message(node: &Node) -> Option<String> {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.message.clone())
}

/// A node whose heartbeats stop goes Ready=Unknown ("Kubelet stopped posting node status."),
/// gets the unreachable NoExecute (with timeAdded) and NoSchedule taints, and its pods get
/// Ready=False; NodeNotReady events say so about the node and about each pod.
pub async fn stopped_heartbeats_make_the_node_unknown_tainted_and_its_pods_unready(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_node(&ctx).await?;
    create_running(&ctx, &bound_pod("victim", &node)).await?;
    ctx.node_control()?.stop_heartbeats(&node)?;

    let unknown = wait_node(
        &ctx,
        &node,
        "to have Ready=Unknown and the unreachable taints",
        |n| {
            node_condition_status(n, "Ready") == Some("Unknown")
                && has_taint(n, UNREACHABLE, "NoExecute")
                && has_taint(n, UNREACHABLE, "NoSchedule")
        },
    )
    .await?;
    ensure!(
        ready_reason(&unknown).as_deref() == Some("NodeStatusUnknown"),
        "Ready reason {:?}, want NodeStatusUnknown",
        ready_reason(&unknown)
    );
    ensure!(
        ready_message(&unknown).as_deref() == Some("Kubelet stopped posting node status."),
        "Ready message {:?}",
        ready_message(&unknown)
    );
    for type_ in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
        ensure!(
            node_condition_status(&unknown, type_) == Some("Unknown"),
            "{type_} is {:?}, want Unknown",
            node_condition_status(&unknown, type_)
        );
    }
    let no_execute = taint(&unknown, UNREACHABLE, "NoExecute").expect("waited for it");
    ensure!(
        no_execute.time_added.is_some(),
        "the NoExecute taint has no timeAdded"
    );

    let pod = wait_pod(&ctx, "victim", "to get Ready=False", |p| {
        condition_status(p, "Ready") == Some("False")
    })
    .await?;
    ensure!(
        pod.metadata.deletion_timestamp.is_none(),
        "the pod tolerates unreachable for 300 s (DefaultTolerationSeconds) but is being deleted"
    );
    // As upstream's node lifecycle controller: a Normal event about the node (in `default`,
    // where events about cluster-scoped objects go) and a Warning about each of its pods.
    let said = format!("Node {node} status is now: NodeNotReady");
    wait_for_events(&ctx, "default", &node, "to include NodeNotReady", |e| {
        has_event(e, "NodeNotReady", Some(&said))
    })
    .await?;
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "victim",
        "to include NodeNotReady",
        |e| has_event(e, "NodeNotReady", Some("Node is not ready")),
    )
    .await?;
    Ok(())
}

/// When its heartbeats resume, an unreachable node is Ready again and its unreachable taints are
/// removed.
pub async fn resumed_heartbeats_bring_the_node_back_ready_without_taints(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_node(&ctx).await?;
    let control = ctx.node_control()?;
    control.stop_heartbeats(&node)?;
    wait_node(&ctx, &node, "to be tainted unreachable", |n| {
        has_taint(n, UNREACHABLE, "NoExecute")
    })
    .await?;
    control.resume_heartbeats(&node)?;
    wait_node(&ctx, &node, "to be Ready without unreachable taints", |n| {
        node_condition_status(n, "Ready") == Some("True")
            && !has_taint(n, UNREACHABLE, "NoExecute")
            && !has_taint(n, UNREACHABLE, "NoSchedule")
    })
    .await?;
    Ok(())
}

/// The pods the node lifecycle controller marked not ready while their node was unreachable are
/// Ready again once the node is back: the kubelet's status manager writes back the status it
/// holds on its next sync.
pub async fn pods_marked_unready_by_the_control_plane_are_ready_again_when_their_node_is_back(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_node(&ctx).await?;
    create_running(&ctx, &bound_pod("survivor", &node)).await?;
    let control = ctx.node_control()?;
    control.stop_heartbeats(&node)?;
    wait_pod(&ctx, "survivor", "to be marked Ready=False", |p| {
        condition_status(p, "Ready") == Some("False")
    })
    .await?;
    control.resume_heartbeats(&node)?;
    let pod = wait_pod(&ctx, "survivor", "to be Ready again", |p| {
        condition_status(p, "Ready") == Some("True")
    })
    .await?;
    ensure!(
        pod.metadata.deletion_timestamp.is_none(),
        "the pod tolerates unreachable for 300 s and stays"
    );
    Ok(())
}

/// A node that reports Ready=False gets the not-ready NoExecute and NoSchedule taints; they go
/// when it reports Ready again.
pub async fn node_reporting_not_ready_gets_the_not_ready_taints(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_node(&ctx).await?;
    let control = ctx.node_control()?;
    control.set_condition(&node, "Ready", false)?;
    let tainted = wait_node(
        &ctx,
        &node,
        "to be NotReady with the not-ready taints",
        |n| {
            node_condition_status(n, "Ready") == Some("False")
                && has_taint(n, NOT_READY, "NoExecute")
                && has_taint(n, NOT_READY, "NoSchedule")
        },
    )
    .await?;
    ensure!(
        !has_taint(&tainted, UNREACHABLE, "NoExecute"),
        "a node that posts NotReady is reachable, yet tainted unreachable: {:?}",
        taint_labels(&tainted)
    );
    control.set_condition(&node, "Ready", true)?;
    wait_node(&ctx, &node, "to lose the not-ready taints", |n| {
        node_condition_status(n, "Ready") == Some("True")
            && !has_taint(n, NOT_READY, "NoExecute")
            && !has_taint(n, NOT_READY, "NoSchedule")
    })
    .await?;
    Ok(())
}

/// A node under memory pressure gets the memory-pressure NoSchedule taint (and no NoExecute
/// one: memory pressure does not evict through taints); it goes when the pressure ends.
pub async fn memory_pressure_adds_the_memory_pressure_no_schedule_taint(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_node(&ctx).await?;
    let control = ctx.node_control()?;
    control.set_condition(&node, "MemoryPressure", true)?;
    let tainted = wait_node(&ctx, &node, "to have the memory-pressure taint", |n| {
        node_condition_status(n, "MemoryPressure") == Some("True")
            && has_taint(n, MEMORY_PRESSURE, "NoSchedule")
    })
    .await?;
    ensure!(
        !has_taint(&tainted, MEMORY_PRESSURE, "NoExecute"),
        "memory pressure must not add a NoExecute taint: {:?}",
        taint_labels(&tainted)
    );
    ensure!(
        node_condition_status(&tainted, "Ready") == Some("True"),
        "memory pressure alone made the node {:?}",
        node_condition_status(&tainted, "Ready")
    );
    control.set_condition(&node, "MemoryPressure", false)?;
    wait_node(&ctx, &node, "to lose the memory-pressure taint", |n| {
        !has_taint(n, MEMORY_PRESSURE, "NoSchedule")
    })
    .await?;
    Ok(())
}

/// `kubectl cordon` sets `spec.unschedulable`, the node gets the unschedulable NoSchedule taint
/// and shows `Ready,SchedulingDisabled`; `kubectl uncordon` undoes all three. Running pods stay.
pub async fn kubectl_cordon_taints_the_node_unschedulable_and_uncordon_clears_it(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_node(&ctx).await?;
    create_running(&ctx, &bound_pod("stays", &node)).await?;
    kubectl(&ctx, &["cordon", &node]).await?.ok()?;
    let cordoned = wait_node(&ctx, &node, "to have the unschedulable taint", |n| {
        has_taint(n, UNSCHEDULABLE, "NoSchedule")
    })
    .await?;
    ensure!(
        cordoned.spec.as_ref().and_then(|s| s.unschedulable) == Some(true),
        "kubectl cordon did not set spec.unschedulable"
    );
    let out = kubectl(&ctx, &["get", "node", &node]).await?.ok()?;
    ensure!(
        out.contains("Ready,SchedulingDisabled"),
        "kubectl get node does not show Ready,SchedulingDisabled:\n{out}"
    );

    kubectl(&ctx, &["uncordon", &node]).await?.ok()?;
    let uncordoned = wait_node(&ctx, &node, "to lose the unschedulable taint", |n| {
        !has_taint(n, UNSCHEDULABLE, "NoSchedule")
    })
    .await?;
    ensure!(
        !uncordoned
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false),
        "kubectl uncordon left spec.unschedulable set"
    );
    let pod = wait_pod(&ctx, "stays", "to still be Ready", |p| {
        condition_status(p, "Ready") == Some("True")
    })
    .await?;
    ensure!(
        pod.metadata.deletion_timestamp.is_none() && pod_condition(&pod, "Ready").is_some(),
        "cordon disturbed a running pod"
    );
    Ok(())
}

/// Setting `spec.unschedulable` through the API (as cordon does) adds the taint too, and
/// clearing it removes the taint.
pub async fn unschedulable_spec_adds_and_removes_the_unschedulable_taint(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_node(&ctx).await?;
    let api: Api<Node> = nodes_api(&ctx);
    let set = |value: bool| json!({"spec": {"unschedulable": value}});
    api.patch(&node, &PatchParams::default(), &Patch::Merge(set(true)))
        .await
        .context("cordoning through the API")?;
    wait_node(&ctx, &node, "to have the unschedulable taint", |n| {
        has_taint(n, UNSCHEDULABLE, "NoSchedule")
    })
    .await?;
    api.patch(&node, &PatchParams::default(), &Patch::Merge(set(false)))
        .await
        .context("uncordoning through the API")?;
    wait_node(&ctx, &node, "to lose the unschedulable taint", |n| {
        !has_taint(n, UNSCHEDULABLE, "NoSchedule")
    })
    .await?;
    Ok(())
}
