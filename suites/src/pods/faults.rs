//! Container faults injected through node control: a killed container exits 137 and is
//! restarted in the same pod; probes forced to fail give Unhealthy events and, for liveness, a
//! restart, for readiness only an unready pod — until the fault is lifted.

use anyhow::{Context, ensure};
use simulator::pod::ProbeKind;

use crate::TestContext;
use crate::support::object_events::{has_event, wait_for_events};
use crate::support::pods::{
    bound_pod, condition_status, container_mut, container_status, create_running, exec_probe,
    last_terminated, ready_node_name, restarts, wait_pod,
};

/// A killed container exits with 137 and is restarted in the same pod: same uid, restartCount
/// 1, a new container ID, the old one in `lastState`.
pub async fn killed_container_restarts_in_the_same_pod(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let before = create_running(&ctx, &bound_pod("killed", &node)).await?;
    let first_id = container_status(&before, "app").and_then(|c| c.container_id.clone());
    ctx.node_control()?
        .kill_container(&ctx.namespace, "killed", "app")
        .await?;
    let after = wait_pod(&ctx, "killed", "to restart its container", |p| {
        restarts(p, "app") >= 1
    })
    .await?;
    ensure!(
        after.metadata.uid == before.metadata.uid,
        "the pod was replaced"
    );
    let app = container_status(&after, "app").context("no status for app")?;
    ensure!(
        last_terminated(app).is_some_and(|(code, _)| code == 137),
        "lastState {:?}, want terminated with exit 137",
        last_terminated(app)
    );
    let last_id = app
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.container_id.clone());
    ensure!(
        first_id.is_some() && last_id == first_id && app.container_id != first_id,
        "container IDs: first {first_id:?}, lastState {last_id:?}, now {:?}",
        app.container_id
    );
    wait_pod(&ctx, "killed", "to be Ready again", |p| {
        condition_status(p, "Ready") == Some("True")
    })
    .await?;
    Ok(())
}

/// Liveness probes forced to fail give Unhealthy events and restart the container.
pub async fn failing_liveness_fault_restarts_the_container(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let mut pod = bound_pod("sick", &node);
    container_mut(&mut pod, "app").liveness_probe = Some(exec_probe(1, 2));
    create_running(&ctx, &pod).await?;
    let control = ctx.node_control()?;
    control
        .fail_probes(&ctx.namespace, "sick", "app", ProbeKind::Liveness, true)
        .await?;
    wait_pod(&ctx, "sick", "to restart its container", |p| {
        restarts(p, "app") >= 1
    })
    .await?;
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "sick",
        "to include Unhealthy (liveness)",
        |e| has_event(e, "Unhealthy", Some("Liveness probe failed:")),
    )
    .await?;
    control
        .fail_probes(&ctx.namespace, "sick", "app", ProbeKind::Liveness, false)
        .await?;
    Ok(())
}

/// Readiness probes forced to fail make the pod unready without restarting it; lifting the
/// fault makes it Ready again.
pub async fn failing_readiness_fault_makes_the_pod_unready_until_lifted(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let mut pod = bound_pod("wobbly", &node);
    container_mut(&mut pod, "app").readiness_probe = Some(exec_probe(1, 1));
    create_running(&ctx, &pod).await?;
    let control = ctx.node_control()?;
    control
        .fail_probes(&ctx.namespace, "wobbly", "app", ProbeKind::Readiness, true)
        .await?;
    let unready = wait_pod(&ctx, "wobbly", "to become unready", |p| {
        condition_status(p, "Ready") == Some("False")
    })
    .await?;
    ensure!(
        restarts(&unready, "app") == 0,
        "a readiness failure restarted the container"
    );
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "wobbly",
        "to include Unhealthy (readiness)",
        |e| has_event(e, "Unhealthy", Some("Readiness probe failed:")),
    )
    .await?;
    control
        .fail_probes(&ctx.namespace, "wobbly", "app", ProbeKind::Readiness, false)
        .await?;
    wait_pod(&ctx, "wobbly", "to be Ready again", |p| {
        condition_status(p, "Ready") == Some("True")
    })
    .await?;
    Ok(())
}
