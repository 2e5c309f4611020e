//! The events a kubelet records about a pod, as `kubectl describe pod` shows them: Pulling,
//! Pulled, Created and Started for each container, from source `kubelet` on the pod's node,
//! about the container (`fieldPath`); and a repeated event aggregated into one Event object
//! whose `count` rises, as client-go's event correlator does.

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::Event;

use crate::TestContext;
use crate::support::kubectl;
use crate::support::object_events::{describe, event_with, has_event, wait_for_events};
use crate::support::pods::{
    bound_pod, container_mut, create_pod, create_running, exec_probe, hollow_node_name,
    ready_node_name, with_behaviour,
};

/// The container's start, as the kubelet records it.
const START_REASONS: [&str; 4] = ["Pulling", "Pulled", "Created", "Started"];

/// A pod's start is recorded as Pulling, Pulled, Created and Started events, in that order,
/// each Normal, from the kubelet on the pod's node, about `spec.containers{app}` of the pod,
/// worded as the current kubelet words them ("Container created", "Container started").
pub async fn starting_a_pod_records_pulling_pulled_created_started(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let mut pod = bound_pod("eventful", &node);
    container_mut(&mut pod, "app").image_pull_policy = Some("Always".into());
    let pod = create_running(&ctx, &pod).await?;
    let events = wait_for_events(
        &ctx,
        &ctx.namespace,
        "eventful",
        "to include Pulling, Pulled, Created and Started",
        |e| START_REASONS.iter().all(|r| has_event(e, r, None)),
    )
    .await?;
    let first_of = |reason: &str| {
        events
            .iter()
            .position(|e| e.reason.as_deref() == Some(reason))
    };
    let order: Vec<Option<usize>> = START_REASONS.iter().map(|r| first_of(r)).collect();
    ensure!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "events out of order: {:?}",
        describe(&events)
    );
    for reason in START_REASONS {
        let e = event_with(&events, reason).expect("waited for it");
        check_kubelet_event(e, &node, pod.metadata.uid.as_deref())
            .with_context(|| format!("the {reason} event"))?;
    }
    let created = event_with(&events, "Created").expect("waited for it");
    ensure!(
        created.message.as_deref() == Some("Container created"),
        "Created message {:?}",
        created.message
    );
    let started = event_with(&events, "Started").expect("waited for it");
    ensure!(
        started.message.as_deref() == Some("Container started"),
        "Started message {:?}",
        started.message
    );
    Ok(())
}

/// An event the kubelet on `node` recorded about container `app` of the pod with `uid`.
fn check_kubelet_event(e: &Event, node: &str, uid: Option<&str>) -> anyhow::Result<()> {
    ensure!(e.type_.as_deref() == Some("Normal"), "type {:?}", e.type_);
    let source = e.source.clone().unwrap_or_default();
    ensure!(
        source.component.as_deref() == Some("kubelet") && source.host.as_deref() == Some(node),
        "source {source:?}, want kubelet on {node}"
    );
    let object = &e.involved_object;
    ensure!(
        object.kind.as_deref() == Some("Pod")
            && object.uid.as_deref() == uid
            && object.field_path.as_deref() == Some("spec.containers{app}"),
        "involvedObject {object:?}"
    );
    ensure!(
        e.first_timestamp.is_some() && e.last_timestamp.is_some() && e.count.unwrap_or(0) >= 1,
        "firstTimestamp {:?}, lastTimestamp {:?}, count {:?}",
        e.first_timestamp,
        e.last_timestamp,
        e.count
    );
    Ok(())
}

/// `kubectl describe pod` shows the pod's node, its container's state, and the kubelet's
/// events (reason, source `kubelet`, message) in its Events section.
pub async fn kubectl_describe_pod_shows_the_kubelet_events(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let mut pod = bound_pod("described", &node);
    container_mut(&mut pod, "app").image_pull_policy = Some("Always".into());
    create_running(&ctx, &pod).await?;
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "described",
        "to include Started",
        |e| has_event(e, "Started", None),
    )
    .await?;
    let out = kubectl(
        &ctx,
        &["describe", "pod", "described", "-n", &ctx.namespace],
    )
    .await?
    .ok()?;
    ensure!(
        out.lines()
            .any(|l| l.starts_with("Node:") && l.contains(node.as_str())),
        "describe does not show Node: {node}:\n{out}"
    );
    ensure!(
        out.lines()
            .any(|l| l.trim_start().starts_with("State:") && l.contains("Running")),
        "describe does not show the container Running:\n{out}"
    );
    let events = out
        .split_once("\nEvents:")
        .map(|(_, e)| e)
        .with_context(|| format!("describe has no Events section:\n{out}"))?;
    for reason in START_REASONS {
        ensure!(
            events.lines().any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.first() == Some(&"Normal")
                    && cols.get(1) == Some(&reason)
                    && l.contains("kubelet")
            }),
            "the Events section lacks \"Normal {reason} … kubelet …\":\n{events}"
        );
    }
    Ok(())
}

/// A repeated event is aggregated: the readiness probe failing again and again gives one
/// Unhealthy Event object whose `count` rises and whose `lastTimestamp` is not before its
/// `firstTimestamp`.
pub async fn repeated_events_are_counted_on_one_event(ctx: TestContext) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let mut pod = with_behaviour(bound_pod("repeats", &node), &[("ready-after", "1h")]);
    container_mut(&mut pod, "app").readiness_probe = Some(exec_probe(1, 1));
    create_pod(&ctx, &pod).await?;
    let events = wait_for_events(
        &ctx,
        &ctx.namespace,
        "repeats",
        "to have an Unhealthy event counted 3 times",
        |e| {
            e.iter()
                .any(|e| e.reason.as_deref() == Some("Unhealthy") && e.count.unwrap_or(1) >= 3)
        },
    )
    .await?;
    let unhealthy: Vec<&Event> = events
        .iter()
        .filter(|e| {
            e.reason.as_deref() == Some("Unhealthy")
                && e.message
                    .as_deref()
                    .is_some_and(|m| m.starts_with("Readiness probe failed"))
        })
        .collect();
    ensure!(
        unhealthy.len() == 1,
        "the same readiness failure was recorded as {} Event objects, not one: {:?}",
        unhealthy.len(),
        describe(&events)
    );
    let e = unhealthy[0];
    ensure!(
        e.type_.as_deref() == Some("Warning"),
        "Unhealthy is {:?}, want Warning",
        e.type_
    );
    let (first, last) = (
        e.first_timestamp.as_ref().context("no firstTimestamp")?,
        e.last_timestamp.as_ref().context("no lastTimestamp")?,
    );
    ensure!(
        last.0 >= first.0,
        "lastTimestamp {:?} before firstTimestamp {:?}",
        last.0,
        first.0
    );
    Ok(())
}
