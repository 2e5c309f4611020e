//! Containers that exit, under each restart policy, as upstream's "Container Runtime, Restart
//! Policy, Pod Phases" checks them: Never ends the pod Succeeded or Failed with the terminated
//! state's exit code and reason; OnFailure restarts only failures; Always restarts every exit,
//! with CrashLoopBackOff between restarts. Exits come from the hollow behaviour annotations
//! `exit-after` and `exit-code`.

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;

use crate::TestContext;
use crate::support::object_events::{event_with, wait_for_events};
use crate::support::pods::{
    bound_pod, container_status, create_pod, hollow_node_name, last_terminated, phase,
    pod_condition, restarts, terminated, wait_pod, wait_pod_through, wait_restarts_rising_to,
    waiting_reason, with_behaviour, with_restart_policy,
};
use crate::support::{Condition, ns_api, wait_budget, wait_for};

/// A pod whose container exits after a moment with `code`, under `policy`.
async fn exiting_pod(ctx: &TestContext, name: &str, policy: &str, code: i32) -> anyhow::Result<()> {
    let node = hollow_node_name(ctx).await?;
    let code = code.to_string();
    let pod = with_restart_policy(
        with_behaviour(
            bound_pod(name, &node),
            &[("exit-after", "1s"), ("exit-code", code.as_str())],
        ),
        policy,
    );
    create_pod(ctx, &pod).await?;
    Ok(())
}

fn is_finished(pod: &Pod) -> bool {
    matches!(phase(pod), Some("Succeeded" | "Failed"))
}

/// With restartPolicy Never, a container exiting 0 ends the pod Succeeded: terminated with exit
/// code 0 and reason Completed, no restarts, Ready False with reason PodCompleted.
pub async fn exit_zero_with_restart_never_ends_the_pod_succeeded(
    ctx: TestContext,
) -> anyhow::Result<()> {
    exiting_pod(&ctx, "done", "Never", 0).await?;
    let pod = wait_pod(&ctx, "done", "to finish", is_finished).await?;
    ensure!(phase(&pod) == Some("Succeeded"), "phase {:?}", phase(&pod));
    let app = container_status(&pod, "app").context("no container status")?;
    ensure!(
        terminated(app) == Some((0, Some("Completed"))),
        "terminated state {:?}, want exit 0 Completed",
        terminated(app)
    );
    ensure!(
        app.restart_count == 0 && !app.ready,
        "restartCount {} ready {}",
        app.restart_count,
        app.ready
    );
    let ready = pod_condition(&pod, "Ready").context("no Ready condition")?;
    ensure!(
        ready.status == "False" && ready.reason.as_deref() == Some("PodCompleted"),
        "Ready {ready:?}, want False with reason PodCompleted"
    );
    Ok(())
}

/// With restartPolicy Never, a container exiting non-zero ends the pod Failed, its terminated
/// state carrying the exit code and reason Error.
pub async fn nonzero_exit_with_restart_never_fails_the_pod_with_the_exit_code(
    ctx: TestContext,
) -> anyhow::Result<()> {
    exiting_pod(&ctx, "broken", "Never", 3).await?;
    let pod = wait_pod(&ctx, "broken", "to finish", is_finished).await?;
    ensure!(phase(&pod) == Some("Failed"), "phase {:?}", phase(&pod));
    let app = container_status(&pod, "app").context("no container status")?;
    ensure!(
        terminated(app) == Some((3, Some("Error"))),
        "terminated state {:?}, want exit 3 Error",
        terminated(app)
    );
    let finished = app
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.finished_at.as_ref().zip(t.started_at.as_ref()));
    ensure!(
        finished.is_some_and(|(end, start)| end.0 >= start.0),
        "terminated state lacks startedAt ≤ finishedAt"
    );
    ensure!(app.restart_count == 0, "restartCount {}", app.restart_count);
    Ok(())
}

/// With restartPolicy OnFailure, a failing container is restarted: restartCount rises, the last
/// state records the exit code, and the pod stays Running.
pub async fn nonzero_exit_with_restart_on_failure_restarts_the_container(
    ctx: TestContext,
) -> anyhow::Result<()> {
    exiting_pod(&ctx, "retry", "OnFailure", 3).await?;
    let pod = wait_pod(&ctx, "retry", "to have restarted twice", |p| {
        restarts(p, "app") >= 2
    })
    .await?;
    let app = container_status(&pod, "app").expect("waited for it");
    ensure!(
        last_terminated(app) == Some((3, Some("Error"))),
        "lastState {:?}, want terminated exit 3 Error",
        last_terminated(app)
    );
    ensure!(
        phase(&pod) == Some("Running"),
        "a restarting pod is {:?}, want Running",
        phase(&pod)
    );
    Ok(())
}

/// With restartPolicy OnFailure, a container exiting 0 is not restarted: the pod Succeeds.
pub async fn zero_exit_with_restart_on_failure_ends_the_pod_succeeded(
    ctx: TestContext,
) -> anyhow::Result<()> {
    exiting_pod(&ctx, "once", "OnFailure", 0).await?;
    let pod = wait_pod(&ctx, "once", "to finish", is_finished).await?;
    ensure!(phase(&pod) == Some("Succeeded"), "phase {:?}", phase(&pod));
    ensure!(
        restarts(&pod, "app") == 0,
        "restartCount {}",
        restarts(&pod, "app")
    );
    Ok(())
}

/// With restartPolicy Always, even a container exiting 0 is restarted: its last state is
/// terminated Completed and the pod never finishes.
pub async fn restart_always_restarts_a_container_that_exits_zero(
    ctx: TestContext,
) -> anyhow::Result<()> {
    exiting_pod(&ctx, "again", "Always", 0).await?;
    let pod = wait_pod(&ctx, "again", "to have restarted twice", |p| {
        restarts(p, "app") >= 2
    })
    .await?;
    let app = container_status(&pod, "app").expect("waited for it");
    ensure!(
        last_terminated(app) == Some((0, Some("Completed"))),
        "lastState {:?}, want terminated exit 0 Completed",
        last_terminated(app)
    );
    ensure!(!is_finished(&pod), "phase {:?}", phase(&pod));
    Ok(())
}

/// A container that keeps failing waits in CrashLoopBackOff between restarts, with the kubelet's
/// message, and a Warning BackOff event says so.
pub async fn crash_looping_container_waits_in_crash_loop_back_off(
    ctx: TestContext,
) -> anyhow::Result<()> {
    exiting_pod(&ctx, "crashy", "Always", 1).await?;
    let pod = wait_pod(&ctx, "crashy", "to wait in CrashLoopBackOff", |p| {
        container_status(p, "app").is_some_and(|c| waiting_reason(c) == Some("CrashLoopBackOff"))
    })
    .await?;
    let app = container_status(&pod, "app").expect("waited for it");
    let message = app
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.message.clone())
        .unwrap_or_default();
    ensure!(
        message.starts_with("back-off ")
            && message.contains("restarting failed container=app pod=crashy_"),
        "waiting message {message:?}"
    );
    ensure!(
        last_terminated(app).is_some_and(|(code, _)| code == 1),
        "lastState {:?}, want exit 1",
        last_terminated(app)
    );
    ensure!(!app.ready, "a crash-looping container is ready");
    let events = wait_for_events(&ctx, &ctx.namespace, "crashy", "to include BackOff", |e| {
        event_with(e, "BackOff").is_some()
    })
    .await?;
    let backoff = event_with(&events, "BackOff").expect("waited for it");
    ensure!(
        backoff.type_.as_deref() == Some("Warning")
            && backoff.message.as_deref().is_some_and(
                |m| m.starts_with("Back-off restarting failed container app in pod crashy_")
            ),
        "BackOff event {:?} {:?}",
        backoff.type_,
        backoff.message
    );
    Ok(())
}

/// Restart counts only rise: a crash-looping container's restartCount goes 1, 2, 3 in every
/// status written, never back.
pub async fn restart_count_rises_monotonically(ctx: TestContext) -> anyhow::Result<()> {
    exiting_pod(&ctx, "counting", "Always", 1).await?;
    wait_restarts_rising_to(&ctx, "counting", "app", 3).await?;
    Ok(())
}

/// A failed pod can be deleted, and goes.
pub async fn failed_pod_can_be_deleted(ctx: TestContext) -> anyhow::Result<()> {
    exiting_pod(&ctx, "failed", "Never", 2).await?;
    wait_pod(&ctx, "failed", "to fail", |p| phase(p) == Some("Failed")).await?;
    let api = ns_api::<Pod>(&ctx);
    api.delete("failed", &DeleteParams::default()).await?;
    wait_for(&api, "failed", Condition::deleted(), wait_budget(&ctx)).await?;
    Ok(())
}

/// Each restart policy on one pod of three containers each exiting differently: Never ends
/// Failed if any container failed, restarts nothing; the failed container's status carries its
/// code while the succeeded one's says Completed.
pub async fn restart_never_pod_with_mixed_exits_fails_and_keeps_each_exit(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("mixed", &node);
    crate::support::pods::spec_mut(&mut pod)
        .containers
        .push(crate::support::container("bad"));
    let pod = with_restart_policy(
        with_behaviour(
            pod,
            &[
                ("exit-after", "1s"),
                ("exit-code.app", "0"),
                ("exit-code.bad", "7"),
            ],
        ),
        "Never",
    );
    create_pod(&ctx, &pod).await?;
    let done = wait_pod_through(&ctx, "mixed", vec![("to finish", Box::new(is_finished))]).await?;
    ensure!(phase(&done) == Some("Failed"), "phase {:?}", phase(&done));
    let app = container_status(&done, "app").context("no status for app")?;
    let bad = container_status(&done, "bad").context("no status for bad")?;
    ensure!(
        terminated(app) == Some((0, Some("Completed")))
            && terminated(bad) == Some((7, Some("Error"))),
        "app {:?}, bad {:?}",
        terminated(app),
        terminated(bad)
    );
    Ok(())
}
