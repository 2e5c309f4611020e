//! NodeResourcesFit and NodeResourcesBalancedAllocation: a pod goes only where its requests fit
//! (cpu, memory, extended resources, the `pods` count; limits standing in for missing requests),
//! waits Pending with upstream's `Insufficient cpu` / `Too many pods` reasons when nothing fits,
//! and is scheduled as soon as capacity appears (a node added, a pod deleted); among nodes that
//! fit, the least allocated and the most balanced are preferred.

use anyhow::ensure;
use k8s_openapi::api::core::v1::Pod;

use crate::TestContext;
use crate::support::pods::{create_pod, spec_mut};
use crate::support::scheduling::{
    INSUFFICIENT_CPU, NodeShape, PrivateNodes, TOO_MANY_PODS, delete_pod_and_wait, wait_bound,
    wait_unschedulable, with_limits, with_requests,
};

/// Nodes of one CPU: small enough that two pods of 700m and 500m do not fit together.
fn one_cpu() -> NodeShape {
    NodeShape::new().capacity("cpu", "1")
}

/// A pod whose request exceeds what is left on every node stays Pending with upstream's
/// `0/N nodes are available: 1 Insufficient cpu.` message; once a node with room joins, it is
/// scheduled there.
pub async fn pod_exceeding_free_cpu_waits_with_insufficient_cpu_until_a_node_is_added(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut nodes = PrivateNodes::create(&ctx, "fit", 1, &one_cpu()).await?;
    create_pod(
        &ctx,
        &with_requests(nodes.pod("filler"), &[("cpu", "700m")]),
    )
    .await?;
    let filled = wait_bound(&ctx, "filler").await?;
    ensure!(filled == nodes.name(0), "the filler went to {filled}");

    create_pod(
        &ctx,
        &with_requests(nodes.pod("waiting"), &[("cpu", "500m")]),
    )
    .await?;
    let message = wait_unschedulable(&ctx, "waiting", INSUFFICIENT_CPU).await?;
    message.expect_exactly(1, INSUFFICIENT_CPU)?;

    let added = nodes.add(&ctx, "fit-more", 1, &one_cpu()).await?;
    let node = wait_bound(&ctx, "waiting").await?;
    ensure!(
        node == added[0],
        "the waiting pod went to {node}, not the node added for it ({})",
        added[0]
    );
    nodes.delete().await
}

/// Deleting the pod that used the capacity lets a Pending pod be scheduled onto the node it
/// freed.
pub async fn deleting_a_pod_frees_its_capacity_for_a_pending_pod(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "free", 1, &one_cpu()).await?;
    create_pod(&ctx, &with_requests(nodes.pod("hog"), &[("cpu", "800m")])).await?;
    wait_bound(&ctx, "hog").await?;
    create_pod(
        &ctx,
        &with_requests(nodes.pod("patient"), &[("cpu", "800m")]),
    )
    .await?;
    wait_unschedulable(&ctx, "patient", INSUFFICIENT_CPU)
        .await?
        .expect_exactly(1, INSUFFICIENT_CPU)?;

    delete_pod_and_wait(&ctx, "hog").await?;
    let node = wait_bound(&ctx, "patient").await?;
    ensure!(node == nodes.name(0), "the pending pod went to {node}");
    nodes.delete().await
}

/// A container with limits and no requests is scheduled by its limits (the API server defaults
/// requests to limits): two such 600m containers do not share a one-CPU node.
pub async fn limits_only_containers_are_scheduled_by_their_limits(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "limits", 1, &one_cpu()).await?;
    let created = create_pod(&ctx, &with_limits(nodes.pod("first"), &[("cpu", "600m")])).await?;
    let requests = created.spec.as_ref().and_then(|s| {
        s.containers[0]
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("cpu"))
            .map(|q| q.0.clone())
    });
    ensure!(
        requests.as_deref() == Some("600m"),
        "the API server did not default the cpu request to the limit: {requests:?}"
    );
    wait_bound(&ctx, "first").await?;
    create_pod(&ctx, &with_limits(nodes.pod("second"), &[("cpu", "600m")])).await?;
    wait_unschedulable(&ctx, "second", INSUFFICIENT_CPU)
        .await?
        .expect_exactly(1, INSUFFICIENT_CPU)?;
    nodes.delete().await
}

/// A node's `pods` capacity counts: with room for two, the third pod waits with
/// `Too many pods`, however small it is.
pub async fn a_node_full_of_pods_refuses_more_with_too_many_pods(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let shape = NodeShape::new().capacity("pods", "2");
    let nodes = PrivateNodes::create(&ctx, "count", 1, &shape).await?;
    for name in ["one", "two"] {
        create_pod(&ctx, &nodes.pod(name)).await?;
        wait_bound(&ctx, name).await?;
    }
    create_pod(&ctx, &nodes.pod("three")).await?;
    wait_unschedulable(&ctx, "three", TOO_MANY_PODS)
        .await?
        .expect_exactly(1, TOO_MANY_PODS)?;
    nodes.delete().await
}

/// The extended resource a test node advertises.
const WIDGET: &str = "example.com/widget";

/// A pod requesting an extended resource goes to the node that advertises it; when all of it
/// is taken, the next waits with `Insufficient example.com/widget`, counted on the node that has
/// none as well.
pub async fn extended_resources_are_fitted_like_cpu(ctx: TestContext) -> anyhow::Result<()> {
    let mut nodes = PrivateNodes::create(&ctx, "plain", 1, &NodeShape::new()).await?;
    let with_widgets = nodes
        .add(&ctx, "widgets", 1, &NodeShape::new().capacity(WIDGET, "2"))
        .await?
        .remove(0);
    let wants = |name: &str, n: &str| with_limits(nodes.pod(name), &[(WIDGET, n)]);
    create_pod(&ctx, &wants("two-widgets", "2")).await?;
    let node = wait_bound(&ctx, "two-widgets").await?;
    ensure!(
        node == with_widgets,
        "the pod needing widgets went to {node}, which has none"
    );
    create_pod(&ctx, &wants("one-more", "1")).await?;
    let reason = format!("Insufficient {WIDGET}");
    wait_unschedulable(&ctx, "one-more", &reason)
        .await?
        .expect_exactly(2, &reason)?;
    nodes.delete().await
}

/// Binds `name` requesting `cpu` and `memory` straight to `node` (no scheduler involved), to
/// load a node before the pod under test is scheduled.
async fn preload(
    ctx: &TestContext,
    nodes: &PrivateNodes,
    name: &str,
    node: &str,
    requests: &[(&str, &str)],
) -> anyhow::Result<Pod> {
    let mut pod = with_requests(nodes.pod(name), requests);
    spec_mut(&mut pod).node_name = Some(node.to_owned());
    create_pod(ctx, &pod).await
}

/// LeastAllocated (NodeResourcesFit's default score): of two nodes that both fit, the pod goes
/// to the one with the larger share of CPU and memory free.
pub async fn the_least_allocated_node_is_preferred(ctx: TestContext) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "least", 2, &NodeShape::new()).await?;
    preload(
        &ctx,
        &nodes,
        "busy",
        nodes.name(0),
        &[("cpu", "3"), ("memory", "6Gi")],
    )
    .await?;
    create_pod(
        &ctx,
        &with_requests(nodes.pod("newcomer"), &[("cpu", "500m"), ("memory", "1Gi")]),
    )
    .await?;
    let node = wait_bound(&ctx, "newcomer").await?;
    ensure!(
        node == nodes.name(1),
        "the pod went to the busier node {node} (3 of 4 CPUs taken) rather than the idle one"
    );
    nodes.delete().await
}

/// Scores never override filters: the idle node is preferred, but when the pod does not fit
/// there (too few CPUs) it goes to the busy node that has room.
pub async fn a_preferred_node_that_does_not_fit_is_passed_over(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut nodes = PrivateNodes::create(&ctx, "small", 1, &one_cpu()).await?;
    let big = nodes
        .add(&ctx, "big", 1, &NodeShape::new())
        .await?
        .remove(0);
    preload(&ctx, &nodes, "busy", &big, &[("cpu", "2")]).await?;
    create_pod(
        &ctx,
        &with_requests(nodes.pod("large"), &[("cpu", "1500m")]),
    )
    .await?;
    let node = wait_bound(&ctx, "large").await?;
    ensure!(
        node == big,
        "the pod needing 1.5 CPUs went to {node}, a node of 1 CPU"
    );
    nodes.delete().await
}

/// NodeResourcesBalancedAllocation: between a node whose CPU and memory use would stay even and
/// one where CPU would run far ahead of memory, the balanced one wins even though it has less
/// free in all (scores: fit 25 + balance 100 against fit 43.75 + balance 68.75).
pub async fn the_node_left_balanced_between_cpu_and_memory_is_preferred(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "balance", 2, &NodeShape::new()).await?;
    let (lopsided, even) = (nodes.name(0).to_owned(), nodes.name(1).to_owned());
    preload(&ctx, &nodes, "cpu-heavy", &lopsided, &[("cpu", "2500m")]).await?;
    preload(
        &ctx,
        &nodes,
        "even-load",
        &even,
        &[("cpu", "2"), ("memory", "4Gi")],
    )
    .await?;
    create_pod(
        &ctx,
        &with_requests(nodes.pod("balanced"), &[("cpu", "1"), ("memory", "2Gi")]),
    )
    .await?;
    let node = wait_bound(&ctx, "balanced").await?;
    ensure!(
        node == even,
        "the pod went to {node}, leaving it at 88% CPU and 25% memory, rather than to {even} \
         (75% and 75%)"
    );
    nodes.delete().await
}
