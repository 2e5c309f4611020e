//! TaintToleration and NodeUnschedulable: NoSchedule and NoExecute taints keep pods without a
//! matching toleration (Equal with the value, or Exists on the key) off a node, with upstream's
//! `node(s) had untolerated taint(s)`; PreferNoSchedule only lowers a node's score; a
//! cordoned node takes no new pods (`node(s) were unschedulable`) unless they tolerate the
//! unschedulable taint, and takes them again once uncordoned.

use anyhow::ensure;
use k8s_openapi::api::core::v1::Toleration;

use crate::TestContext;
use crate::support::kubectl;
use crate::support::nodes::{UNSCHEDULABLE, remove_taint};
use crate::support::pods::{create_pod, with_tolerations};
use crate::support::scheduling::{
    NODE_UNSCHEDULABLE, NodeShape, PrivateNodes, UNTOLERATED_TAINT, set_unschedulable, wait_bound,
    wait_unschedulable,
};

/// The key of the taints these tests put on their nodes.
const KEY: &str = "kubeproof.io/e2e-taint-key";
const VALUE: &str = "testing-taint-value";

fn tolerate(operator: &str, value: Option<&str>, effect: &str) -> Toleration {
    Toleration {
        key: Some(KEY.to_owned()),
        operator: Some(operator.to_owned()),
        value: value.map(str::to_owned),
        effect: Some(effect.to_owned()),
        toleration_seconds: None,
    }
}

/// A pod that does not tolerate a node's NoSchedule taint stays Pending, the node counted under
/// its untolerated taint; once the taint is removed the pod is scheduled there.
pub async fn no_schedule_taint_keeps_intolerant_pods_away_until_removed(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let shape = NodeShape::new().taint(KEY, VALUE, "NoSchedule");
    let nodes = PrivateNodes::create(&ctx, "nosched", 1, &shape).await?;
    create_pod(&ctx, &nodes.pod("still-no-tolerations")).await?;
    wait_unschedulable(&ctx, "still-no-tolerations", UNTOLERATED_TAINT)
        .await?
        .expect_at_least(1, UNTOLERATED_TAINT)?;
    remove_taint(&ctx, nodes.name(0), KEY).await?;
    let node = wait_bound(&ctx, "still-no-tolerations").await?;
    ensure!(node == nodes.name(0), "the pod went to {node}");
    nodes.delete().await
}

/// Tolerations match NoSchedule taints by `Equal` (key, value and effect) or `Exists` (key and
/// effect, any value); a toleration with the wrong value does not.
pub async fn equal_and_exists_tolerations_admit_pods_to_a_tainted_node(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let shape = NodeShape::new().taint(KEY, VALUE, "NoSchedule");
    let nodes = PrivateNodes::create(&ctx, "tolerate", 1, &shape).await?;
    let equal = with_tolerations(
        nodes.pod("with-tolerations"),
        vec![tolerate("Equal", Some(VALUE), "NoSchedule")],
    );
    let exists = with_tolerations(
        nodes.pod("exists"),
        vec![tolerate("Exists", None, "NoSchedule")],
    );
    let wrong = with_tolerations(
        nodes.pod("wrong-value"),
        vec![tolerate("Equal", Some("another-value"), "NoSchedule")],
    );
    for pod in [&equal, &exists, &wrong] {
        create_pod(&ctx, pod).await?;
    }
    for name in ["with-tolerations", "exists"] {
        let node = wait_bound(&ctx, name).await?;
        ensure!(node == nodes.name(0), "{name} went to {node}");
    }
    wait_unschedulable(&ctx, "wrong-value", UNTOLERATED_TAINT)
        .await?
        .expect_at_least(1, UNTOLERATED_TAINT)?;
    nodes.delete().await
}

/// A NoExecute taint also keeps new pods off (a toleration for NoSchedule does not cover it);
/// a pod tolerating NoExecute is scheduled there.
pub async fn no_execute_taint_keeps_new_pods_off_unless_tolerated(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let shape = NodeShape::new().taint(KEY, VALUE, "NoExecute");
    let nodes = PrivateNodes::create(&ctx, "noexec", 1, &shape).await?;
    let wrong_effect = with_tolerations(
        nodes.pod("tolerates-no-schedule"),
        vec![tolerate("Exists", None, "NoSchedule")],
    );
    create_pod(&ctx, &wrong_effect).await?;
    let tolerant = with_tolerations(
        nodes.pod("tolerates-no-execute"),
        vec![tolerate("Equal", Some(VALUE), "NoExecute")],
    );
    create_pod(&ctx, &tolerant).await?;
    let node = wait_bound(&ctx, "tolerates-no-execute").await?;
    ensure!(node == nodes.name(0), "the tolerant pod went to {node}");
    wait_unschedulable(&ctx, "tolerates-no-schedule", UNTOLERATED_TAINT)
        .await?
        .expect_at_least(1, UNTOLERATED_TAINT)?;
    nodes.delete().await
}

/// PreferNoSchedule never blocks, but TaintToleration's score sends a pod that does not
/// tolerate it to the untainted node when both fit.
pub async fn prefer_no_schedule_taint_steers_pods_to_untainted_nodes(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut nodes = PrivateNodes::create(
        &ctx,
        "prefer",
        1,
        &NodeShape::new().taint(KEY, VALUE, "PreferNoSchedule"),
    )
    .await?;
    let clean = nodes
        .add(&ctx, "clean", 1, &NodeShape::new())
        .await?
        .remove(0);
    for i in 0..3 {
        let name = format!("avoider-{i}");
        create_pod(&ctx, &nodes.pod(&name)).await?;
        let node = wait_bound(&ctx, &name).await?;
        ensure!(
            node == clean,
            "{name} went to the PreferNoSchedule-tainted node {node}"
        );
    }
    nodes.delete().await
}

/// When the only node that fits carries a PreferNoSchedule taint, the pod is scheduled there:
/// the taint is a preference, not a filter.
pub async fn prefer_no_schedule_taint_does_not_block_the_only_node(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let shape = NodeShape::new().taint(KEY, VALUE, "PreferNoSchedule");
    let nodes = PrivateNodes::create(&ctx, "only", 1, &shape).await?;
    create_pod(&ctx, &nodes.pod("accepting")).await?;
    let node = wait_bound(&ctx, "accepting").await?;
    ensure!(node == nodes.name(0), "the pod went to {node}");
    nodes.delete().await
}

/// `kubectl cordon` keeps new pods off a node (`node(s) were unschedulable`); `kubectl
/// uncordon` lets the waiting pod be scheduled there.
pub async fn cordoned_node_takes_no_new_pods_until_uncordoned(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "cordon", 1, &NodeShape::new()).await?;
    kubectl(&ctx, &["cordon", nodes.name(0)]).await?.ok()?;
    create_pod(&ctx, &nodes.pod("waits-for-uncordon")).await?;
    wait_unschedulable(&ctx, "waits-for-uncordon", NODE_UNSCHEDULABLE)
        .await?
        .expect_at_least(1, NODE_UNSCHEDULABLE)?;
    kubectl(&ctx, &["uncordon", nodes.name(0)]).await?.ok()?;
    let node = wait_bound(&ctx, "waits-for-uncordon").await?;
    ensure!(node == nodes.name(0), "the pod went to {node}");
    nodes.delete().await
}

/// A pod tolerating the `node.kubernetes.io/unschedulable` taint (as DaemonSet pods do) is
/// scheduled onto a cordoned node.
pub async fn pod_tolerating_the_unschedulable_taint_lands_on_a_cordoned_node(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "cordtol", 1, &NodeShape::new()).await?;
    set_unschedulable(&ctx, nodes.name(0), true).await?;
    let tolerant = with_tolerations(
        nodes.pod("daemon-like"),
        vec![Toleration {
            key: Some(UNSCHEDULABLE.to_owned()),
            operator: Some("Exists".to_owned()),
            effect: Some("NoSchedule".to_owned()),
            ..Toleration::default()
        }],
    );
    create_pod(&ctx, &tolerant).await?;
    let node = wait_bound(&ctx, "daemon-like").await?;
    ensure!(node == nodes.name(0), "the pod went to {node}");
    nodes.delete().await
}
