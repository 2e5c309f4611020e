//! Lifecycle hooks: a postStart hook holds its container back (not started, not ready) until it
//! finishes, and a failing one kills the container; a preStop hook runs on deletion, within the
//! grace period, before the container stops — so the pod outlives a pod without one — and a
//! failing one is reported. Hook durations and failures come from the hollow behaviour
//! annotations (`poststart-duration`, `poststart-fail`, `prestop-duration`, `prestop-fail`).

use anyhow::ensure;
use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, Lifecycle, LifecycleHandler, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::DeleteParams;

use crate::TestContext;
use crate::support::container;
use crate::support::object_events::{describe, has_event, wait_for_events};
use crate::support::pods::{
    bound_pod, condition_status, container_mut, container_status, create_pod, create_running,
    hollow_node_name, restarts, spec_mut, wait_pod, wait_pod_through, with_behaviour,
};
use crate::support::{Condition, ns_api, wait_budget, wait_for};

fn exec_handler() -> LifecycleHandler {
    LifecycleHandler {
        exec: Some(ExecAction {
            command: Some(vec!["sh".into(), "-c".into(), "echo hook".into()]),
        }),
        ..LifecycleHandler::default()
    }
}

fn http_handler() -> LifecycleHandler {
    LifecycleHandler {
        http_get: Some(HTTPGetAction {
            path: Some("/echo?msg=hook".into()),
            port: IntOrString::Int(8080),
            ..HTTPGetAction::default()
        }),
        ..LifecycleHandler::default()
    }
}

fn ready(pod: &Pod, name: &str) -> bool {
    container_status(pod, name).is_some_and(|c| c.ready)
}

/// postStart hooks (exec and HTTP) hold their containers back: while the hooks run, a sibling
/// without one is ready and the hooked containers are not; when they finish, all are ready.
pub async fn post_start_hooks_hold_their_container_back_until_done(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("post-start", &node);
    let mut by_exec = container("by-exec");
    by_exec.lifecycle = Some(Lifecycle {
        post_start: Some(exec_handler()),
        ..Lifecycle::default()
    });
    let mut by_http = container("by-http");
    by_http.lifecycle = Some(Lifecycle {
        post_start: Some(http_handler()),
        ..Lifecycle::default()
    });
    spec_mut(&mut pod).containers = vec![container("plain"), by_exec, by_http];
    let pod = with_behaviour(pod, &[("poststart-duration", "30s")]);
    create_pod(&ctx, &pod).await?;
    wait_pod_through(
        &ctx,
        "post-start",
        vec![
            (
                "plain ready while the hooked containers are not",
                Box::new(|p: &Pod| {
                    ready(p, "plain") && !ready(p, "by-exec") && !ready(p, "by-http")
                }),
            ),
            (
                "all ready",
                Box::new(|p: &Pod| condition_status(p, "Ready") == Some("True")),
            ),
        ],
    )
    .await?;
    Ok(())
}

/// A failing postStart hook kills its container (a FailedPostStartHook event) and the container
/// is restarted.
pub async fn failing_post_start_hook_kills_and_restarts_the_container(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = with_behaviour(bound_pod("bad-hook", &node), &[("poststart-fail", "true")]);
    container_mut(&mut pod, "app").lifecycle = Some(Lifecycle {
        post_start: Some(exec_handler()),
        ..Lifecycle::default()
    });
    create_pod(&ctx, &pod).await?;
    wait_pod(&ctx, "bad-hook", "to restart its container", |p| {
        restarts(p, "app") >= 1
    })
    .await?;
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "bad-hook",
        "to include FailedPostStartHook",
        |e| has_event(e, "FailedPostStartHook", None),
    )
    .await?;
    Ok(())
}

/// A preStop hook (exec or HTTP) runs when the pod is deleted, before its container stops: the
/// pod stays (Terminating) while a pod without a hook, deleted at the same moment, is already
/// gone; the kubelet records Killing "Stopping container app"; then the pod goes.
pub async fn pre_stop_hook_runs_before_the_container_stops(ctx: TestContext) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let hooked = |name: &str, handler: LifecycleHandler| {
        let mut pod = with_behaviour(bound_pod(name, &node), &[("prestop-duration", "30s")]);
        spec_mut(&mut pod).termination_grace_period_seconds = Some(60);
        container_mut(&mut pod, "app").lifecycle = Some(Lifecycle {
            pre_stop: Some(handler),
            ..Lifecycle::default()
        });
        pod
    };
    create_running(&ctx, &hooked("by-exec", exec_handler())).await?;
    create_running(&ctx, &hooked("by-http", http_handler())).await?;
    create_running(&ctx, &bound_pod("plain", &node)).await?;

    let api = ns_api::<Pod>(&ctx);
    for name in ["by-exec", "by-http", "plain"] {
        api.delete(name, &DeleteParams::default()).await?;
    }
    wait_for(&api, "plain", Condition::deleted(), wait_budget(&ctx)).await?;
    for name in ["by-exec", "by-http"] {
        let pod = api.get_opt(name).await?;
        ensure!(
            pod.is_some_and(|p| p.metadata.deletion_timestamp.is_some()),
            "pod {name} went before its preStop hook could have run"
        );
    }
    for name in ["by-exec", "by-http"] {
        let events = wait_for_events(&ctx, &ctx.namespace, name, "to include Killing", |e| {
            has_event(e, "Killing", Some("Stopping container app"))
        })
        .await?;
        ensure!(
            !has_event(&events, "FailedPreStopHook", None),
            "{name}: the preStop hook failed: {:?}",
            describe(&events)
        );
        wait_for(&api, name, Condition::deleted(), wait_budget(&ctx)).await?;
    }
    Ok(())
}

/// A failing preStop hook is reported with a FailedPreStopHook event, and the pod is still
/// deleted.
pub async fn failing_pre_stop_hook_is_reported_and_the_pod_still_goes(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = with_behaviour(bound_pod("bad-stop", &node), &[("prestop-fail", "true")]);
    container_mut(&mut pod, "app").lifecycle = Some(Lifecycle {
        pre_stop: Some(exec_handler()),
        ..Lifecycle::default()
    });
    create_running(&ctx, &pod).await?;
    let api = ns_api::<Pod>(&ctx);
    api.delete("bad-stop", &DeleteParams::default()).await?;
    wait_for(&api, "bad-stop", Condition::deleted(), wait_budget(&ctx)).await?;
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "bad-stop",
        "to include FailedPreStopHook",
        |e| has_event(e, "FailedPreStopHook", None),
    )
    .await?;
    Ok(())
}
