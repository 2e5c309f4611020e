//! NodePorts, NodeName and ImageLocality: a pod asking for a host port goes only where that
//! port is free for its protocol and address (a pod on `0.0.0.0` takes the port on every
//! address), or waits with upstream's `node(s) didn't have free ports for the requested pod
//! ports`; a pod created with `spec.nodeName` never passes through the scheduler; among nodes
//! that fit, one that already holds the pod's (large) image is preferred.

use anyhow::{Context, bail, ensure};
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use crate::support::container;
use crate::support::nodes::nodes_api;
use crate::support::object_events::{describe, events_about};
use crate::support::pods::{create_pod, phase, spec_mut, wait_pod};
use crate::support::scheduling::{
    NO_FREE_PORTS, NodeShape, PrivateNodes, delete_pod_and_wait, is_scheduled, set_unschedulable,
    wait_bound, wait_unschedulable, with_ports,
};
use crate::{Skipped, TestContext};

/// The host port the conformance tests use for the no-conflict case.
const PORT: i32 = 54321;
/// The host port of the `0.0.0.0` case (upstream uses another port for it).
const WILDCARD_PORT: i32 = 54322;

/// One container port exposed on the host: `hostIP` omitted when `ip` is empty.
fn host_port(port: i32, protocol: &str, ip: &str) -> Value {
    let mut entry = json!({"containerPort": 8080, "hostPort": port, "protocol": protocol});
    if !ip.is_empty() {
        entry["hostIP"] = json!(ip);
    }
    json!([entry])
}

/// A pod of `nodes` exposing `port` on the host.
fn port_pod(
    nodes: &PrivateNodes,
    name: &str,
    port: i32,
    protocol: &str,
    ip: &str,
) -> anyhow::Result<Pod> {
    with_ports(nodes.pod(name), host_port(port, protocol, ip))
}

/// A node's `InternalIP`, as upstream's tests use for the second address.
async fn internal_ip(ctx: &TestContext, node: &str) -> anyhow::Result<String> {
    let node: Node = nodes_api(ctx).get(node).await?;
    node.status
        .and_then(|s| s.addresses)
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address)
        .context("the node reports no InternalIP")
}

/// Two pods asking for the same host port and protocol on the wildcard address go to different
/// nodes; a third, with both nodes' port taken, waits with `didn't have free ports` counted on
/// each of them, and is scheduled as soon as one of the first two is deleted.
pub async fn a_taken_host_port_sends_the_next_pod_elsewhere_or_leaves_it_pending(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "port", 2, &NodeShape::new()).await?;
    let mut placed = Vec::new();
    for name in ["first", "second"] {
        create_pod(&ctx, &port_pod(&nodes, name, PORT, "TCP", "")?).await?;
        placed.push(wait_bound(&ctx, name).await?);
    }
    ensure!(
        placed[0] != placed[1],
        "both pods asking for host port {PORT}/TCP went to {}",
        placed[0]
    );
    create_pod(&ctx, &port_pod(&nodes, "third", PORT, "TCP", "")?).await?;
    wait_unschedulable(&ctx, "third", NO_FREE_PORTS)
        .await?
        .expect_exactly(2, NO_FREE_PORTS)?;

    delete_pod_and_wait(&ctx, "first").await?;
    let node = wait_bound(&ctx, "third").await?;
    ensure!(
        node == placed[0],
        "the third pod went to {node}, not to {} whose port the deleted pod freed",
        placed[0]
    );
    nodes.delete().await
}

/// Upstream's conformance case: on one node, pods using the same host port co-exist when they
/// bind different addresses (127.0.0.1 and the node's IP) or the same address with another
/// protocol (TCP and UDP).
pub async fn the_same_host_port_on_another_ip_or_protocol_does_not_conflict(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "hostip", 1, &NodeShape::new()).await?;
    let node_ip = internal_ip(&ctx, nodes.name(0)).await?;
    let pods = [
        ("pod1", "TCP", "127.0.0.1"),
        ("pod2", "TCP", node_ip.as_str()),
        ("pod3", "UDP", node_ip.as_str()),
    ];
    for (name, protocol, ip) in pods {
        create_pod(&ctx, &port_pod(&nodes, name, PORT, protocol, ip)?).await?;
        let node = wait_bound(&ctx, name).await?;
        ensure!(
            node == nodes.name(0),
            "{name} ({ip}:{PORT}/{protocol}) went to {node}"
        );
    }
    nodes.delete().await
}

/// Upstream's conformance case: a pod holding a host port on `0.0.0.0` holds it on every
/// address, so a pod asking for the same port and protocol on the node's IP cannot join it.
pub async fn a_host_port_on_the_wildcard_ip_conflicts_with_any_ip(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "wildcard", 1, &NodeShape::new()).await?;
    let node_ip = internal_ip(&ctx, nodes.name(0)).await?;
    create_pod(
        &ctx,
        &port_pod(&nodes, "pod4", WILDCARD_PORT, "TCP", "0.0.0.0")?,
    )
    .await?;
    wait_bound(&ctx, "pod4").await?;
    create_pod(
        &ctx,
        &port_pod(&nodes, "pod5", WILDCARD_PORT, "TCP", &node_ip)?,
    )
    .await?;
    wait_unschedulable(&ctx, "pod5", NO_FREE_PORTS)
        .await?
        .expect_exactly(1, NO_FREE_PORTS)?;
    nodes.delete().await
}

/// A pod created with `spec.nodeName` is bound already: the scheduler never handles it, so it
/// runs on a cordoned node the scheduler would refuse, with no `Scheduled` event and no
/// `FailedScheduling` either.
pub async fn a_pod_created_with_a_node_name_bypasses_the_scheduler(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "nodename", 1, &NodeShape::new()).await?;
    set_unschedulable(&ctx, nodes.name(0), true).await?;
    let mut pod = nodes.pod("preassigned");
    spec_mut(&mut pod).node_name = Some(nodes.name(0).to_owned());
    create_pod(&ctx, &pod).await?;
    let running = wait_pod(&ctx, "preassigned", "to be Running", |p| {
        phase(p) == Some("Running")
    })
    .await?;
    ensure!(
        is_scheduled(&running),
        "the kubelet did not report PodScheduled True"
    );
    let events = events_about(&ctx, &ctx.namespace, "preassigned").await?;
    if events
        .iter()
        .any(|e| matches!(e.reason.as_deref(), Some("Scheduled" | "FailedScheduling")))
    {
        bail!(
            "the scheduler handled a pod created with spec.nodeName: {:?}",
            describe(&events)
        );
    }
    nodes.delete().await
}

/// An image the hollow nodes report at about 250 MB (their sizes are a stable function of the
/// name), large enough that ImageLocality scores a node holding it on a small cluster.
const LARGE_IMAGE: &str = "registry.k8s.io/e2e-test-images/kubeproof-large-1422:1.0";
/// Containers of the pod under test, all running [`LARGE_IMAGE`]: upstream sums the image's
/// score per container, so four of them lift the score well above rounding.
const LARGE_IMAGE_CONTAINERS: usize = 4;
const MB: f64 = 1024.0 * 1024.0;

/// Upstream ImageLocality's score for a node holding an image of `size` bytes that is on
/// `holders` of `total` nodes, for a pod whose `containers` all run it.
fn image_locality_score(size: i64, holders: usize, total: usize, containers: usize) -> i64 {
    let (min, max) = (23.0 * MB, 1000.0 * MB * containers as f64);
    let sum = (size as f64 * holders as f64 / total as f64 * containers as f64).clamp(min, max);
    (100.0 * (sum - min) / (max - min)) as i64
}

/// ImageLocality: of four equal nodes, the pod goes to the one that already holds its large
/// image. Upstream scales an image's size by the share of nodes holding it, so on a cluster of
/// many nodes one node's image scores nothing: the test computes the score from the API and is
/// skipped when it would be 0 (Serial, so other tests' nodes do not change the count midway).
pub async fn a_node_already_holding_the_pods_image_is_preferred(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut nodes = PrivateNodes::create(&ctx, "noimage", 3, &NodeShape::new()).await?;
    let holder = nodes
        .add(&ctx, "image", 1, &NodeShape::new().image(LARGE_IMAGE))
        .await?
        .remove(0);
    let all = nodes_api(&ctx).list(&Default::default()).await?.items;
    let size = all
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(holder.as_str()))
        .and_then(|n| n.status.as_ref()?.images.as_ref())
        .into_iter()
        .flatten()
        .find(|i| i.names.iter().flatten().any(|n| n == LARGE_IMAGE))
        .and_then(|i| i.size_bytes)
        .context("the node added with the image does not report it in status.images")?;
    let score = image_locality_score(size, 1, all.len(), LARGE_IMAGE_CONTAINERS);
    if score < 1 {
        nodes.delete().await?;
        return Err(Skipped(format!(
            "an image of {:.0} MB on 1 of {} nodes scores 0 under ImageLocality's spread scaling",
            size as f64 / MB,
            all.len()
        ))
        .into());
    }
    let mut pod = nodes.pod("wants-the-image");
    spec_mut(&mut pod).containers = (0..LARGE_IMAGE_CONTAINERS)
        .map(|i| {
            let mut c = container(&format!("c{i}"));
            c.image = Some(LARGE_IMAGE.to_owned());
            c
        })
        .collect();
    create_pod(&ctx, &pod).await?;
    let node = wait_bound(&ctx, "wants-the-image").await?;
    ensure!(
        node == holder,
        "the pod went to {node}, not to {holder} which holds its image (ImageLocality score \
         {score} there, 0 elsewhere)"
    );
    nodes.delete().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_large_image_scores_on_a_small_cluster_and_not_on_a_large_one() {
        let size = 249_972_431;
        assert!(image_locality_score(size, 1, 7, LARGE_IMAGE_CONTAINERS) >= 2);
        assert_eq!(
            image_locality_score(size, 1, 100, LARGE_IMAGE_CONTAINERS),
            0
        );
        // On every node, an image says nothing: the same score everywhere.
        assert_eq!(image_locality_score(size, 7, 7, 1), 22);
    }
}
