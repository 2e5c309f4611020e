//! Routing and gates: a scheduler handles only pods whose `spec.schedulerName` is one of its
//! profiles, so a pod for another scheduler stays Pending with neither a condition nor an event
//! from this one; a pod with `spec.schedulingGates` is held out of scheduling (PodScheduled
//! False, reason `SchedulingGated`) until an update removes the last gate.
//!
//! Both check that the scheduler left a pod alone, which no single observation shows; they
//! create a pod the scheduler does handle afterwards (a sentinel) and wait for it to be bound.
//! The scheduler takes pods of equal priority in the order they came, so by the time the
//! sentinel is bound the pod under test has had its turn.

use anyhow::{bail, ensure};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::errors::{expect_message, expect_status};
use crate::support::object_events::{describe, events_about};
use crate::support::pods::{create_pod, pod_condition};
use crate::support::scheduling::{NodeShape, PrivateNodes, expect_unbound, wait_bound, with_spec};
use crate::support::{NO_SCHEDULER, ns_api};

/// What the API server says of a gated pod's PodScheduled condition.
const SCHEDULING_GATED: &str = "SchedulingGated";

/// Creates a pod of `nodes` named `name` and waits until it is bound to one of them: the
/// scheduler has handled every pod that came before it.
async fn sentinel(ctx: &TestContext, nodes: &PrivateNodes, name: &str) -> anyhow::Result<()> {
    create_pod(ctx, &nodes.pod(name)).await?;
    let node = wait_bound(ctx, name).await?;
    ensure!(nodes.names().contains(&node), "the sentinel went to {node}");
    Ok(())
}

/// Checks that no scheduler event (`Scheduled`, `FailedScheduling`) concerns pod `name`.
async fn expect_no_scheduler_events(ctx: &TestContext, name: &str) -> anyhow::Result<()> {
    let events = events_about(ctx, &ctx.namespace, name).await?;
    if events
        .iter()
        .any(|e| matches!(e.reason.as_deref(), Some("Scheduled" | "FailedScheduling")))
    {
        bail!(
            "the scheduler reported on {name}, which it should have left alone: {:?}",
            describe(&events)
        );
    }
    Ok(())
}

/// A pod naming a scheduler this cluster does not run stays Pending untouched: no node, no
/// PodScheduled condition, no `FailedScheduling` event — though a pod just like it, for the
/// default scheduler, is bound at once.
pub async fn a_pod_for_another_scheduler_is_left_alone(ctx: TestContext) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "other", 1, &NodeShape::new()).await?;
    let elsewhere = with_spec(
        nodes.pod("for-another-scheduler"),
        json!({"schedulerName": NO_SCHEDULER}),
    )?;
    create_pod(&ctx, &elsewhere).await?;
    sentinel(&ctx, &nodes, "for-the-default-scheduler").await?;

    let pod = expect_unbound(&ctx, "for-another-scheduler").await?;
    ensure!(
        pod_condition(&pod, "PodScheduled").is_none(),
        "the default scheduler wrote PodScheduled on a pod for {NO_SCHEDULER}: {:?}",
        pod_condition(&pod, "PodScheduled")
    );
    expect_no_scheduler_events(&ctx, "for-another-scheduler").await?;
    nodes.delete().await
}

/// Whether the pod carries the API server's PodScheduled False, `SchedulingGated`.
fn is_gated(pod: &Pod) -> bool {
    pod_condition(pod, "PodScheduled")
        .is_some_and(|c| c.status == "False" && c.reason.as_deref() == Some(SCHEDULING_GATED))
}

/// Scheduling gates: a pod created with two gates is `SchedulingGated` from the start and stays
/// so, unbound and without scheduler events, while either gate remains; a gate cannot be added
/// back; the update removing the last gate lets it be scheduled.
pub async fn a_gated_pod_is_scheduled_only_once_its_gates_are_removed(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "gates", 1, &NodeShape::new()).await?;
    let gated = with_spec(
        nodes.pod("gated"),
        json!({"schedulingGates": [{"name": "example.com/one"}, {"name": "example.com/two"}]}),
    )?;
    let created = create_pod(&ctx, &gated).await?;
    ensure!(
        is_gated(&created),
        "the pod was created without PodScheduled False, {SCHEDULING_GATED}: {:?}",
        pod_condition(&created, "PodScheduled")
    );

    let api = ns_api::<Pod>(&ctx);
    let one_gate = json!({"spec": {"schedulingGates": [{"name": "example.com/two"}]}});
    api.patch("gated", &PatchParams::default(), &Patch::Merge(one_gate))
        .await?;
    sentinel(&ctx, &nodes, "sentinel").await?;
    let pod = expect_unbound(&ctx, "gated").await?;
    ensure!(
        is_gated(&pod),
        "with one gate left, the pod is no longer SchedulingGated: {:?}",
        pod_condition(&pod, "PodScheduled")
    );
    expect_no_scheduler_events(&ctx, "gated").await?;

    let mut regated = pod.clone();
    if let Some(spec) = regated.spec.as_mut() {
        spec.scheduling_gates = Some(serde_json::from_value(
            json!([{"name": "example.com/two"}, {"name": "example.com/three"}]),
        )?);
    }
    let refused = api.replace("gated", &PostParams::default(), &regated).await;
    let status = expect_status(refused, 422, "Invalid", "adding a scheduling gate")?;
    expect_message(
        &status,
        "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new \
         scheduling gate 'example.com/three'",
    )?;

    let no_gates = json!({"spec": {"schedulingGates": null}});
    api.patch("gated", &PatchParams::default(), &Patch::Merge(no_gates))
        .await?;
    let node = wait_bound(&ctx, "gated").await?;
    ensure!(node == nodes.name(0), "the ungated pod went to {node}");
    nodes.delete().await
}
