//! NodeAffinity: `nodeSelector`, required node affinity with every operator (In, NotIn, Exists,
//! DoesNotExist, Gt, Lt) and `matchFields`, and preferred node affinity as a score. Each test
//! labels its own nodes (`color`, `size`, …) and checks where its pods land, or that they wait
//! with upstream's `node(s) didn't match Pod's node affinity/selector`.

use anyhow::ensure;
use serde_json::{Value, json};

use crate::TestContext;
use crate::support::pods::create_pod;
use crate::support::scheduling::{
    NODE_AFFINITY_MISMATCH, NodeShape, PrivateNodes, wait_bound, wait_unschedulable, with_spec,
};

/// Three nodes labelled `color=red|green|blue` and `size=1|5|10`, and (red only) `gpu=yes`.
async fn labelled_nodes(ctx: &TestContext, tag: &str) -> anyhow::Result<PrivateNodes> {
    let mut nodes = PrivateNodes::new(ctx)?;
    for (color, size, gpu) in [
        ("red", "1", true),
        ("green", "5", false),
        ("blue", "10", false),
    ] {
        let mut shape = NodeShape::new().label("color", color).label("size", size);
        if gpu {
            shape = shape.label("gpu", "yes");
        }
        nodes.add(ctx, &format!("{tag}{color}"), 1, &shape).await?;
    }
    Ok(nodes)
}

/// A required node affinity of one term with one expression.
fn required(key: &str, operator: &str, values: &[&str]) -> Value {
    let mut expression = json!({"key": key, "operator": operator});
    if !values.is_empty() {
        expression["values"] = json!(values);
    }
    json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [expression]}]
    }}}})
}

/// Creates pod `name` with `spec` merged in and waits for it to be bound; returns its node.
async fn place(
    ctx: &TestContext,
    nodes: &PrivateNodes,
    name: &str,
    spec: Value,
) -> anyhow::Result<String> {
    create_pod(ctx, &with_spec(nodes.pod(name), spec)?).await?;
    wait_bound(ctx, name).await
}

/// A pod whose `nodeSelector` matches one node's label is scheduled onto that node.
pub async fn node_selector_places_the_pod_on_the_matching_node(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "sel").await?;
    let node = place(
        &ctx,
        &nodes,
        "with-labels",
        json!({"nodeSelector": {"color": "green"}}),
    )
    .await?;
    ensure!(
        node == nodes.name(1),
        "the pod went to {node}, not the green node"
    );
    nodes.delete().await
}

/// A pod whose `nodeSelector` matches no node stays Pending, each of the test's nodes counted
/// under `node(s) didn't match Pod's node affinity/selector`.
pub async fn node_selector_matching_no_node_leaves_the_pod_pending(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "nosel").await?;
    create_pod(
        &ctx,
        &with_spec(
            nodes.pod("restricted"),
            json!({"nodeSelector": {"color": "purple"}}),
        )?,
    )
    .await?;
    wait_unschedulable(&ctx, "restricted", NODE_AFFINITY_MISMATCH)
        .await?
        .expect_at_least(3, NODE_AFFINITY_MISMATCH)?;
    nodes.delete().await
}

/// `In` picks a node whose label has one of the values; `NotIn` every node but those.
pub async fn node_affinity_in_and_not_in_select_by_label_value(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "in").await?;
    let node = place(
        &ctx,
        &nodes,
        "in-blue",
        required("color", "In", &["blue", "purple"]),
    )
    .await?;
    ensure!(node == nodes.name(2), "In [blue, purple] went to {node}");
    let node = place(
        &ctx,
        &nodes,
        "not-red-green",
        required("color", "NotIn", &["red", "green"]),
    )
    .await?;
    ensure!(node == nodes.name(2), "NotIn [red, green] went to {node}");
    nodes.delete().await
}

/// `Exists` needs the label whatever its value; `DoesNotExist` needs it absent.
pub async fn node_affinity_exists_and_does_not_exist_test_the_label_key(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "ex").await?;
    let node = place(&ctx, &nodes, "has-gpu", required("gpu", "Exists", &[])).await?;
    ensure!(node == nodes.name(0), "Exists gpu went to {node}");
    for i in 0..2 {
        let name = format!("no-gpu-{i}");
        let node = place(&ctx, &nodes, &name, required("gpu", "DoesNotExist", &[])).await?;
        ensure!(
            node != nodes.name(0),
            "DoesNotExist gpu went to the gpu node {node}"
        );
    }
    nodes.delete().await
}

/// `Gt` and `Lt` compare the label as an integer: size > 6 is only blue (10), size < 3 only red.
pub async fn node_affinity_gt_and_lt_compare_label_values_as_integers(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "cmp").await?;
    let node = place(&ctx, &nodes, "bigger", required("size", "Gt", &["6"])).await?;
    ensure!(node == nodes.name(2), "Gt 6 went to {node}");
    let node = place(&ctx, &nodes, "smaller", required("size", "Lt", &["3"])).await?;
    ensure!(node == nodes.name(0), "Lt 3 went to {node}");
    nodes.delete().await
}

/// Required node affinity terms are ORed and their expressions ANDed: a pod whose terms each
/// need two labels no single node has stays Pending with the affinity reason.
pub async fn node_affinity_matching_no_node_leaves_the_pod_pending(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "noaff").await?;
    let spec = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [
            {"matchExpressions": [
                {"key": "color", "operator": "In", "values": ["red"]},
                {"key": "size", "operator": "Gt", "values": ["5"]}
            ]},
            {"matchExpressions": [
                {"key": "gpu", "operator": "Exists"},
                {"key": "color", "operator": "In", "values": ["blue"]}
            ]}
        ]
    }}}});
    create_pod(&ctx, &with_spec(nodes.pod("restricted"), spec)?).await?;
    wait_unschedulable(&ctx, "restricted", NODE_AFFINITY_MISMATCH)
        .await?
        .expect_at_least(3, NODE_AFFINITY_MISMATCH)?;
    nodes.delete().await
}

/// `matchFields` on `metadata.name` pins a pod to one node by name, as DaemonSet pods are.
pub async fn node_affinity_match_fields_pins_the_pod_to_a_named_node(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "field").await?;
    let spec = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [nodes.name(1)]}
        ]}]
    }}}});
    let node = place(&ctx, &nodes, "pinned", spec).await?;
    ensure!(node == nodes.name(1), "the pinned pod went to {node}");
    nodes.delete().await
}

/// Preferred node affinity scores nodes by the summed weight of matching terms: the node
/// matching the heavier preference wins.
pub async fn preferred_node_affinity_picks_the_heavier_preference(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "pref").await?;
    let spec = json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 20, "preference": {"matchExpressions": [
            {"key": "color", "operator": "In", "values": ["red"]}]}},
        {"weight": 80, "preference": {"matchExpressions": [
            {"key": "size", "operator": "Gt", "values": ["7"]}]}}
    ]}}});
    let node = place(&ctx, &nodes, "preferring", spec).await?;
    ensure!(
        node == nodes.name(2),
        "the pod went to {node}, not the blue node that matches the weight-80 preference"
    );
    nodes.delete().await
}

/// A preference is only a preference: a pod preferring a label no node has is scheduled
/// anyway, and one preferring a node its required affinity excludes goes elsewhere.
pub async fn preferred_node_affinity_never_blocks_or_overrides_requirements(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = labelled_nodes(&ctx, "soft").await?;
    let unmet = json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [
            {"key": "color", "operator": "In", "values": ["purple"]}]}}
    ]}}});
    place(&ctx, &nodes, "unmet-preference", unmet).await?;
    let mut both = required("color", "NotIn", &["red"]);
    both["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = json!([
        {"weight": 100, "preference": {"matchExpressions": [
            {"key": "color", "operator": "In", "values": ["red"]}]}}
    ]);
    let node = place(&ctx, &nodes, "required-wins", both).await?;
    ensure!(
        node != nodes.name(0),
        "the pod went to the red node it prefers but its required affinity excludes"
    );
    nodes.delete().await
}
