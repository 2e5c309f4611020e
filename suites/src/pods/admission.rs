//! What the node itself refuses or ends: the kubelet's admission rejects a pod bound to a node
//! that lacks the resources for it (phase Failed, reason OutOfcpu, upstream's message), and
//! `activeDeadlineSeconds` ends a running pod (Failed, DeadlineExceeded). Also the hollow
//! node's own input check: a behaviour annotation it cannot read is reported, not obeyed.

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::{Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::TestContext;
use crate::support::ns_api;
use crate::support::object_events::{event_with, has_event, wait_for_events};
use crate::support::pods::{
    bound_pod, container_mut, create_pod, create_running, is_running_and_ready, phase,
    ready_node_name, wait_pod, with_behaviour,
};

fn status_reason(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.reason.as_deref())
}

fn status_message(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.message.as_deref())
}

/// A pod bound to a node whose allocatable CPU it exceeds is rejected by the kubelet: phase
/// Failed, reason OutOfcpu, message "Pod was rejected: Node didn't have enough resource: cpu,
/// requested: …", and a Warning OutOfcpu event; its containers never run.
pub async fn pod_exceeding_the_nodes_cpu_is_rejected_out_of_cpu(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let mut pod = bound_pod("too-big", &node);
    container_mut(&mut pod, "app").resources = Some(ResourceRequirements {
        requests: Some([("cpu".to_string(), Quantity("1000".into()))].into()),
        ..ResourceRequirements::default()
    });
    create_pod(&ctx, &pod).await?;
    let pod = wait_pod(&ctx, "too-big", "to be rejected", |p| {
        phase(p) == Some("Failed")
    })
    .await?;
    ensure!(
        status_reason(&pod) == Some("OutOfcpu"),
        "status.reason {:?}, want OutOfcpu",
        status_reason(&pod)
    );
    let message = status_message(&pod).unwrap_or_default();
    ensure!(
        message.starts_with(
            "Pod was rejected: Node didn't have enough resource: cpu, requested: 1000000, used: "
        ) && message.contains(", capacity: "),
        "status.message {message:?}"
    );
    let events = wait_for_events(
        &ctx,
        &ctx.namespace,
        "too-big",
        "to include OutOfcpu",
        |e| has_event(e, "OutOfcpu", None),
    )
    .await?;
    let event = event_with(&events, "OutOfcpu").expect("waited for it");
    ensure!(
        event.type_.as_deref() == Some("Warning"),
        "OutOfcpu event is {:?}",
        event.type_
    );
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    ensure!(
        statuses
            .iter()
            .all(|c| c.restart_count == 0 && c.state.as_ref().is_none_or(|s| s.running.is_none())),
        "a rejected pod's container ran: {statuses:?}"
    );
    Ok(())
}

/// Setting `activeDeadlineSeconds` on a running pod ends it when the deadline passes: phase
/// Failed with reason DeadlineExceeded.
pub async fn active_deadline_fails_a_running_pod(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    create_running(&ctx, &bound_pod("deadline", &node)).await?;
    ns_api::<Pod>(&ctx)
        .patch(
            "deadline",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"activeDeadlineSeconds": 5}})),
        )
        .await
        .context("setting activeDeadlineSeconds")?;
    let pod = wait_pod(&ctx, "deadline", "to fail", |p| phase(p) == Some("Failed")).await?;
    ensure!(
        status_reason(&pod) == Some("DeadlineExceeded"),
        "status.reason {:?}, want DeadlineExceeded",
        status_reason(&pod)
    );
    Ok(())
}

/// A behaviour annotation the hollow node cannot read is reported as a Warning
/// InvalidBehaviour event naming it, and ignored: the pod runs with the defaults.
pub async fn unreadable_behaviour_annotation_is_reported_and_ignored(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let pod = with_behaviour(bound_pod("odd", &node), &[("exit-after", "soon")]);
    create_pod(&ctx, &pod).await?;
    wait_pod(
        &ctx,
        "odd",
        "to run with the defaults",
        is_running_and_ready,
    )
    .await?;
    let events = wait_for_events(
        &ctx,
        &ctx.namespace,
        "odd",
        "to include InvalidBehaviour",
        |e| has_event(e, "InvalidBehaviour", Some("kubeproof.io/exit-after")),
    )
    .await?;
    let event = event_with(&events, "InvalidBehaviour").expect("waited for it");
    ensure!(
        event.type_.as_deref() == Some("Warning"),
        "InvalidBehaviour is {:?}, want Warning",
        event.type_
    );
    Ok(())
}
