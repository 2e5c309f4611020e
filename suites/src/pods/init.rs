//! Init containers, as upstream's init-container conformance tests check them: they run one
//! at a time, in order, each to completion, before any app container starts; a failing one is
//! retried under restartPolicy Always (the app never starts) and fails the pod under Never.

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::TestContext;
use crate::support::container;
use crate::support::pods::{
    bound_pod, condition_status, container_status, create_pod, hollow_node_name, init_status,
    is_running_and_ready, phase, pod_condition, spec_mut, terminated, wait_pod, waiting_reason,
    with_behaviour, with_restart_policy,
};

/// A pod with init containers `init-1` and `init-2` before `app`.
fn pod_with_inits(name: &str, node: &str) -> Pod {
    let mut pod = bound_pod(name, node);
    spec_mut(&mut pod).init_containers = Some(vec![container("init-1"), container("init-2")]);
    pod
}

/// When the container started (seconds since the epoch: the API's resolution).
fn started_at(status: &ContainerStatus) -> Option<i64> {
    let state = status.state.as_ref()?;
    state
        .terminated
        .as_ref()
        .and_then(|t| t.started_at.as_ref())
        .or_else(|| state.running.as_ref().and_then(|r| r.started_at.as_ref()))
        .map(|t| t.0.as_second())
}

/// When the container finished, if it did.
fn finished_at(status: &ContainerStatus) -> Option<i64> {
    status
        .state
        .as_ref()?
        .terminated
        .as_ref()?
        .finished_at
        .as_ref()
        .map(|t| t.0.as_second())
}

/// Both init containers completed (exit 0, Completed), in order — each finished no later than
/// the next started — before the app container started.
fn check_in_order(pod: &Pod) -> anyhow::Result<()> {
    let one = init_status(pod, "init-1").context("no status for init-1")?;
    let two = init_status(pod, "init-2").context("no status for init-2")?;
    for (name, s) in [("init-1", one), ("init-2", two)] {
        ensure!(
            terminated(s) == Some((0, Some("Completed"))),
            "{name}: {:?}, want terminated 0 Completed",
            terminated(s)
        );
    }
    let app = container_status(pod, "app").context("no status for app")?;
    let (f1, s2) = (finished_at(one), started_at(two));
    let (f2, sa) = (finished_at(two), started_at(app));
    ensure!(
        f1.is_some() && s2.is_some() && f1 <= s2,
        "init-2 started ({s2:?}) before init-1 finished ({f1:?})"
    );
    ensure!(
        f2.is_some() && sa.is_some() && f2 <= sa,
        "app started ({sa:?}) before init-2 finished ({f2:?})"
    );
    ensure!(
        condition_status(pod, "Initialized") == Some("True"),
        "Initialized is {:?}",
        condition_status(pod, "Initialized")
    );
    Ok(())
}

/// Under restartPolicy Always, init containers run in order to completion, then the app
/// container runs and the pod is Ready.
pub async fn init_containers_run_in_order_before_the_app_under_restart_always(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    create_pod(&ctx, &pod_with_inits("inits", &node)).await?;
    let pod = wait_pod(
        &ctx,
        "inits",
        "to be Running and Ready",
        is_running_and_ready,
    )
    .await?;
    check_in_order(&pod)
}

/// Under restartPolicy Never, init containers run in order, then the app container runs to
/// completion and the pod Succeeds.
pub async fn init_containers_then_the_app_run_to_completion_under_restart_never(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let pod = with_restart_policy(
        with_behaviour(
            pod_with_inits("inits-once", &node),
            &[("exit-after.app", "1s")],
        ),
        "Never",
    );
    create_pod(&ctx, &pod).await?;
    let pod = wait_pod(&ctx, "inits-once", "to finish", |p| {
        matches!(phase(p), Some("Succeeded" | "Failed"))
    })
    .await?;
    ensure!(phase(&pod) == Some("Succeeded"), "phase {:?}", phase(&pod));
    check_in_order(&pod)
}

/// Under restartPolicy Never, a failing init container fails the pod; the next init container
/// and the app never start (they wait in PodInitializing), and Initialized is False.
pub async fn failing_init_container_fails_the_pod_under_restart_never(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let pod = with_restart_policy(
        with_behaviour(
            pod_with_inits("init-fails", &node),
            &[("exit-code.init-1", "1")],
        ),
        "Never",
    );
    create_pod(&ctx, &pod).await?;
    let pod = wait_pod(&ctx, "init-fails", "to fail", |p| {
        phase(p) == Some("Failed")
    })
    .await?;
    let one = init_status(&pod, "init-1").context("no status for init-1")?;
    ensure!(
        terminated(one).is_some_and(|(code, _)| code == 1),
        "init-1 {:?}, want terminated with exit 1",
        terminated(one)
    );
    let app = container_status(&pod, "app").context("no status for app")?;
    ensure!(
        waiting_reason(app) == Some("PodInitializing") && app.restart_count == 0,
        "app never started, so it waits in PodInitializing: {app:?}"
    );
    let init = pod_condition(&pod, "Initialized").context("no Initialized condition")?;
    ensure!(
        init.status == "False" && init.reason.as_deref() == Some("ContainersNotInitialized"),
        "Initialized {init:?}"
    );
    Ok(())
}

/// Under restartPolicy Always, a failing init container is retried (its restartCount rises)
/// and the app container never starts; the pod stays Pending.
pub async fn failing_init_container_is_retried_under_restart_always(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let pod = with_behaviour(
        pod_with_inits("init-retries", &node),
        &[("exit-code.init-1", "1")],
    );
    create_pod(&ctx, &pod).await?;
    let pod = wait_pod(&ctx, "init-retries", "to retry init-1 twice", |p| {
        init_status(p, "init-1").is_some_and(|s| s.restart_count >= 2)
    })
    .await?;
    ensure!(phase(&pod) == Some("Pending"), "phase {:?}", phase(&pod));
    let two = init_status(&pod, "init-2").context("no status for init-2")?;
    ensure!(
        two.restart_count == 0 && terminated(two).is_none(),
        "init-2 ran although init-1 never succeeded: {two:?}"
    );
    let app = container_status(&pod, "app").context("no status for app")?;
    ensure!(
        waiting_reason(app) == Some("PodInitializing"),
        "app: {app:?}, want waiting PodInitializing"
    );
    Ok(())
}
