//! Probes as the kubelet's prober runs them, one behaviour per test: a failing liveness probe
//! of each kind restarts the container (not the pod), passing ones never do; readiness only
//! flips Ready; startup probes gate the others and restart a container that never starts; and
//! each parameter (`initialDelaySeconds`, `periodSeconds`, `failureThreshold`,
//! `successThreshold`, `timeoutSeconds`) shows in what the pod reports.
//!
//! Outcomes come from the hollow behaviour annotations (`liveness-fail-after`, `ready-after`,
//! `readiness-fail-after`, `startup-after`, `probe-latency`). Where a test must show that
//! something has *not* happened yet, a sibling container with a quicker setting is the clock.

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::{GRPCAction, HTTPGetAction, Pod, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::TestContext;
use crate::support::container;
use crate::support::object_events::{describe, event_with, has_event, wait_for_events};
use crate::support::pods::wait_restarts_rising_to;
use crate::support::pods::{
    bound_pod, condition_status, container_mut, container_status, create_pod, create_running,
    exec_probe, hollow_node_name, is_running, phase, restarts, spec_mut, wait_pod,
    wait_pod_through, with_behaviour,
};

/// An HTTP GET probe of `/healthz` on 8080.
fn http_probe(period: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::Int(8080),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    }
}

/// A TCP probe of port 8080.
fn tcp_probe(period: i32, failure_threshold: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(8080),
            ..TCPSocketAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    }
}

/// A gRPC health probe of port 9090.
fn grpc_probe(period: i32, failure_threshold: i32) -> Probe {
    Probe {
        grpc: Some(GRPCAction {
            port: 9090,
            ..GRPCAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    }
}

fn ready(pod: &Pod, name: &str) -> bool {
    container_status(pod, name).is_some_and(|c| c.ready)
}

fn container_id(pod: &Pod, name: &str) -> Option<String> {
    container_status(pod, name).and_then(|c| c.container_id.clone())
}

/// A pod whose `app` container's liveness `probe` fails from the start: it is killed and
/// restarted in the same pod (same uid, new container ID, restartCount up, last state
/// terminated), with Unhealthy and Killing events. `shape` is what the Unhealthy message says
/// for this probe kind.
async fn failing_liveness_restarts(
    ctx: &TestContext,
    name: &str,
    probe: Probe,
    shape: &str,
) -> anyhow::Result<()> {
    let node = hollow_node_name(ctx).await?;
    let mut pod = with_behaviour(bound_pod(name, &node), &[("liveness-fail-after", "3s")]);
    container_mut(&mut pod, "app").liveness_probe = Some(probe);
    create_pod(ctx, &pod).await?;
    let first = wait_pod(ctx, name, "to run", |p| {
        container_status(p, "app").is_some_and(is_running)
    })
    .await?;
    let first_id = container_id(&first, "app");
    let restarted = wait_pod(ctx, name, "to restart its container", |p| {
        restarts(p, "app") >= 1
    })
    .await?;
    ensure!(
        restarted.metadata.uid == first.metadata.uid,
        "the pod was replaced, not its container"
    );
    let app = container_status(&restarted, "app").expect("waited for it");
    ensure!(
        app.last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .is_some(),
        "lastState of the restarted container is not terminated: {:?}",
        app.last_state
    );
    let last_id = app
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.container_id.clone());
    ensure!(
        first_id.is_some() && last_id == first_id,
        "lastState.terminated.containerID {last_id:?} is not the first container's {first_id:?}"
    );
    let events = wait_for_events(
        ctx,
        &ctx.namespace,
        name,
        "to include Unhealthy and Killing",
        |e| {
            has_event(e, "Unhealthy", Some("Liveness probe failed:"))
                && has_event(
                    e,
                    "Killing",
                    Some("failed liveness probe, will be restarted"),
                )
        },
    )
    .await?;
    ensure!(
        has_event(&events, "Unhealthy", Some(shape)),
        "no Unhealthy event saying {shape:?}: {:?}",
        describe(&events)
    );
    let killing = event_with(&events, "Killing").expect("waited for it");
    ensure!(
        killing.message.as_deref()
            == Some("Container app failed liveness probe, will be restarted"),
        "Killing message {:?}",
        killing.message
    );
    Ok(())
}

/// A failing exec liveness probe restarts the container, not the pod.
pub async fn failing_exec_liveness_probe_restarts_the_container_not_the_pod(
    ctx: TestContext,
) -> anyhow::Result<()> {
    failing_liveness_restarts(
        &ctx,
        "live-exec",
        exec_probe(1, 1),
        "Liveness probe failed:",
    )
    .await
}

/// A failing HTTP liveness probe restarts the container; the event gives the status code.
pub async fn failing_http_liveness_probe_restarts_the_container(
    ctx: TestContext,
) -> anyhow::Result<()> {
    failing_liveness_restarts(&ctx, "live-http", http_probe(1, 1), "HTTP probe failed").await
}

/// A failing TCP liveness probe restarts the container.
pub async fn failing_tcp_liveness_probe_restarts_the_container(
    ctx: TestContext,
) -> anyhow::Result<()> {
    failing_liveness_restarts(&ctx, "live-tcp", tcp_probe(1, 1), "Liveness probe failed:").await
}

/// A failing gRPC liveness probe restarts the container.
pub async fn failing_grpc_liveness_probe_restarts_the_container(
    ctx: TestContext,
) -> anyhow::Result<()> {
    failing_liveness_restarts(
        &ctx,
        "live-grpc",
        grpc_probe(1, 1),
        "Liveness probe failed:",
    )
    .await
}

/// Repeated liveness failures restart the container again and again: its restartCount rises
/// 1, 2, 3 and never goes back (each new container is healthy for a while, then fails).
pub async fn repeated_liveness_failures_raise_the_restart_count_monotonically(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = with_behaviour(
        bound_pod("relapsing", &node),
        &[("liveness-fail-after", "2s")],
    );
    container_mut(&mut pod, "app").liveness_probe = Some(http_probe(1, 1));
    create_pod(&ctx, &pod).await?;
    wait_restarts_rising_to(&ctx, "relapsing", "app", 3).await?;
    Ok(())
}

/// Passing liveness probes of every kind never restart their containers — shown while a
/// sibling container with a failing probe, probed as often, has restarted twice.
pub async fn passing_liveness_probes_of_every_kind_cause_no_restarts(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("live-ok", &node);
    let kinds = [
        ("exec", exec_probe(1, 1)),
        ("http", http_probe(1, 1)),
        ("tcp", tcp_probe(1, 1)),
        ("grpc", grpc_probe(1, 1)),
    ];
    spec_mut(&mut pod).containers = kinds
        .iter()
        .map(|(name, probe)| {
            let mut c = container(name);
            c.liveness_probe = Some(probe.clone());
            c
        })
        .collect();
    let mut clock = container("clock");
    clock.liveness_probe = Some(exec_probe(1, 1));
    spec_mut(&mut pod).containers.push(clock);
    let pod = with_behaviour(pod, &[("liveness-fail-after.clock", "2s")]);
    create_pod(&ctx, &pod).await?;
    let pod = wait_pod(
        &ctx,
        "live-ok",
        "to restart the clock container twice",
        |p| restarts(p, "clock") >= 2,
    )
    .await?;
    for (name, _) in kinds {
        ensure!(
            restarts(&pod, name) == 0,
            "container {name} with a passing liveness probe restarted {} times",
            restarts(&pod, name)
        );
    }
    Ok(())
}

/// `failureThreshold` counts consecutive failures before a restart: of two containers whose
/// liveness probes fail from the same moment, the one with threshold 1 restarts first, the
/// one with threshold 8 only later.
pub async fn liveness_failure_threshold_delays_the_restart(ctx: TestContext) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("threshold", &node);
    let mut quick = container("quick");
    quick.liveness_probe = Some(exec_probe(5, 1));
    let mut patient = container("patient");
    patient.liveness_probe = Some(exec_probe(5, 8));
    spec_mut(&mut pod).containers = vec![quick, patient];
    let pod = with_behaviour(pod, &[("liveness-fail-after", "1s")]);
    create_pod(&ctx, &pod).await?;
    wait_pod_through(
        &ctx,
        "threshold",
        vec![
            (
                "quick restarted while patient has not",
                Box::new(|p: &Pod| restarts(p, "quick") >= 1 && restarts(p, "patient") == 0),
            ),
            (
                "patient restarted too",
                Box::new(|p: &Pod| restarts(p, "patient") >= 1),
            ),
        ],
    )
    .await?;
    Ok(())
}

/// `periodSeconds` sets how often a probe runs, so how soon a failure is seen: of two
/// containers whose liveness probes fail from the same moment (threshold 1), the one probed
/// every second restarts before the one probed every 60 s.
pub async fn liveness_period_sets_how_soon_a_failure_is_seen(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("periods", &node);
    let mut often = container("often");
    often.liveness_probe = Some(exec_probe(1, 1));
    let mut seldom = container("seldom");
    seldom.liveness_probe = Some(exec_probe(60, 1));
    spec_mut(&mut pod).containers = vec![often, seldom];
    let pod = with_behaviour(pod, &[("liveness-fail-after", "5s")]);
    create_pod(&ctx, &pod).await?;
    wait_pod_through(
        &ctx,
        "periods",
        vec![
            (
                "often restarted while seldom has not",
                Box::new(|p: &Pod| restarts(p, "often") >= 1 && restarts(p, "seldom") == 0),
            ),
            (
                "seldom restarted too",
                Box::new(|p: &Pod| restarts(p, "seldom") >= 1),
            ),
        ],
    )
    .await?;
    Ok(())
}

/// `initialDelaySeconds` holds readiness back: a container whose readiness probe starts after a
/// delay is not ready while a sibling without the delay already is; then it is, with no
/// restarts.
pub async fn readiness_initial_delay_holds_ready_back(ctx: TestContext) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("initial-delay", &node);
    let mut prompt = container("prompt");
    prompt.readiness_probe = Some(exec_probe(1, 3));
    let mut delayed = container("delayed");
    delayed.readiness_probe = Some(Probe {
        initial_delay_seconds: Some(30),
        ..exec_probe(1, 3)
    });
    spec_mut(&mut pod).containers = vec![prompt, delayed];
    create_pod(&ctx, &pod).await?;
    let done = wait_pod_through(
        &ctx,
        "initial-delay",
        vec![
            (
                "prompt ready while delayed runs unready",
                Box::new(|p: &Pod| {
                    ready(p, "prompt")
                        && container_status(p, "delayed").is_some_and(|c| is_running(c) && !c.ready)
                        && condition_status(p, "Ready") == Some("False")
                }),
            ),
            (
                "both ready",
                Box::new(|p: &Pod| condition_status(p, "Ready") == Some("True")),
            ),
        ],
    )
    .await?;
    ensure!(
        restarts(&done, "prompt") == 0 && restarts(&done, "delayed") == 0,
        "readiness probes restarted a container"
    );
    Ok(())
}

/// `successThreshold` needs consecutive successes before Ready: with readiness passing from the
/// start, a container needing 5 successes becomes ready after a sibling needing 1.
pub async fn readiness_success_threshold_needs_consecutive_successes(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("successes", &node);
    let mut eager = container("eager");
    eager.readiness_probe = Some(exec_probe(5, 3));
    let mut demanding = container("demanding");
    demanding.readiness_probe = Some(Probe {
        success_threshold: Some(5),
        ..exec_probe(5, 3)
    });
    spec_mut(&mut pod).containers = vec![eager, demanding];
    create_pod(&ctx, &pod).await?;
    wait_pod_through(
        &ctx,
        "successes",
        vec![
            (
                "eager ready while demanding is not",
                Box::new(|p: &Pod| ready(p, "eager") && !ready(p, "demanding")),
            ),
            (
                "demanding ready too",
                Box::new(|p: &Pod| ready(p, "demanding")),
            ),
        ],
    )
    .await?;
    Ok(())
}

/// A readiness probe that always fails keeps the pod Running but unready (Ready and
/// ContainersReady False), with repeated Unhealthy events, and never restarts the container.
pub async fn always_failing_readiness_keeps_the_pod_unready_without_restarts(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = with_behaviour(bound_pod("never-ready", &node), &[("ready-after", "1h")]);
    container_mut(&mut pod, "app").readiness_probe = Some(exec_probe(1, 1));
    create_pod(&ctx, &pod).await?;
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "never-ready",
        "to include an Unhealthy readiness event repeated 3 times",
        |e| {
            e.iter().any(|e| {
                e.reason.as_deref() == Some("Unhealthy")
                    && e.message
                        .as_deref()
                        .is_some_and(|m| m.starts_with("Readiness probe failed:"))
                    && e.count.unwrap_or(1) >= 3
            })
        },
    )
    .await?;
    let pod = wait_pod(&ctx, "never-ready", "to run", |p| {
        phase(p) == Some("Running")
    })
    .await?;
    for type_ in ["Ready", "ContainersReady"] {
        ensure!(
            condition_status(&pod, type_) == Some("False"),
            "{type_} is {:?} with a failing readiness probe",
            condition_status(&pod, type_)
        );
    }
    ensure!(
        restarts(&pod, "app") == 0,
        "a readiness failure restarted the container"
    );
    Ok(())
}

/// A readiness probe that starts failing after the container was ready flips Ready to False —
/// the same container, no restart.
pub async fn readiness_failure_only_flips_ready(ctx: TestContext) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = with_behaviour(bound_pod("flip", &node), &[("readiness-fail-after", "5s")]);
    container_mut(&mut pod, "app").readiness_probe = Some(exec_probe(1, 1));
    create_pod(&ctx, &pod).await?;
    let first = wait_pod(&ctx, "flip", "to be Ready", |p| {
        condition_status(p, "Ready") == Some("True")
    })
    .await?;
    let unready = wait_pod(&ctx, "flip", "to become unready", |p| {
        condition_status(p, "Ready") == Some("False")
    })
    .await?;
    ensure!(
        container_id(&unready, "app") == container_id(&first, "app")
            && restarts(&unready, "app") == 0,
        "the readiness failure replaced the container"
    );
    ensure!(
        phase(&unready) == Some("Running"),
        "phase {:?}",
        phase(&unready)
    );
    Ok(())
}

/// A startup probe gates the others: until it succeeds the container runs with started=false
/// and is not ready although its readiness probe would pass; then it is started and ready.
pub async fn startup_probe_gates_readiness_until_it_succeeds(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = with_behaviour(bound_pod("gated", &node), &[("startup-after", "20s")]);
    let app = container_mut(&mut pod, "app");
    app.startup_probe = Some(exec_probe(1, 120));
    app.readiness_probe = Some(exec_probe(1, 1));
    create_pod(&ctx, &pod).await?;
    wait_pod_through(
        &ctx,
        "gated",
        vec![
            (
                "running, not started, not ready",
                Box::new(|p: &Pod| {
                    container_status(p, "app")
                        .is_some_and(|c| is_running(c) && c.started == Some(false) && !c.ready)
                }),
            ),
            (
                "started and ready",
                Box::new(|p: &Pod| {
                    container_status(p, "app").is_some_and(|c| c.started == Some(true) && c.ready)
                }),
            ),
        ],
    )
    .await?;
    Ok(())
}

/// A startup probe that fails past its `failureThreshold` kills the container, which restarts;
/// the Unhealthy event names the startup probe.
pub async fn failing_startup_probe_restarts_the_container(ctx: TestContext) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = with_behaviour(bound_pod("never-starts", &node), &[("startup-after", "1h")]);
    container_mut(&mut pod, "app").startup_probe = Some(exec_probe(1, 3));
    create_pod(&ctx, &pod).await?;
    let pod = wait_pod(&ctx, "never-starts", "to restart its container", |p| {
        restarts(p, "app") >= 1
    })
    .await?;
    ensure!(
        container_status(&pod, "app").is_some_and(|c| !c.ready),
        "a container that never started is ready"
    );
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "never-starts",
        "to include Unhealthy (startup)",
        |e| has_event(e, "Unhealthy", Some("Startup probe failed:")),
    )
    .await?;
    Ok(())
}

/// A probe that answers slower than `timeoutSeconds` fails: the slow container never becomes
/// ready while a fast sibling does, and its Unhealthy event says it timed out.
pub async fn probe_slower_than_its_timeout_fails(ctx: TestContext) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("timeouts", &node);
    let probe = Probe {
        timeout_seconds: Some(1),
        ..http_probe(1, 1)
    };
    let mut fast = container("fast");
    fast.readiness_probe = Some(probe.clone());
    let mut slow = container("slow");
    slow.readiness_probe = Some(probe);
    spec_mut(&mut pod).containers = vec![fast, slow];
    let pod = with_behaviour(pod, &[("probe-latency.slow", "3s")]);
    create_pod(&ctx, &pod).await?;
    wait_pod(&ctx, "timeouts", "to have fast ready", |p| ready(p, "fast")).await?;
    let events = wait_for_events(
        &ctx,
        &ctx.namespace,
        "timeouts",
        "to include a readiness failure of slow",
        |e| {
            e.iter().any(|e| {
                e.reason.as_deref() == Some("Unhealthy")
                    && e.involved_object.field_path.as_deref() == Some("spec.containers{slow}")
            })
        },
    )
    .await?;
    let unhealthy = events
        .iter()
        .find(|e| {
            e.reason.as_deref() == Some("Unhealthy")
                && e.involved_object.field_path.as_deref() == Some("spec.containers{slow}")
        })
        .context("waited for it")?;
    ensure!(
        unhealthy
            .message
            .as_deref()
            .is_some_and(|m| m.contains("timeout") || m.contains("deadline exceeded")),
        "the slow probe's failure does not say it timed out: {:?}",
        unhealthy.message
    );
    let pod = crate::support::ns_api::<Pod>(&ctx).get("timeouts").await?;
    ensure!(!ready(&pod, "slow"), "the slow container is ready");
    Ok(())
}

/// Pods with probes run normally when the probes pass: a pod with passing liveness, readiness
/// and startup probes becomes Ready with no restarts.
pub async fn pod_with_passing_probes_of_each_type_becomes_ready(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = bound_pod("all-probes", &node);
    let app = container_mut(&mut pod, "app");
    app.startup_probe = Some(exec_probe(1, 30));
    app.readiness_probe = Some(http_probe(1, 3));
    app.liveness_probe = Some(tcp_probe(1, 3));
    let pod = create_running(&ctx, &pod).await?;
    ensure!(
        restarts(&pod, "app") == 0,
        "restartCount {}",
        restarts(&pod, "app")
    );
    Ok(())
}
