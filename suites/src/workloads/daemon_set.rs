//! DaemonSets: one pod on every eligible node and on no other, following nodes as they come, go
//! and change their labels; the tolerations every daemon pod gets (so a cordoned node keeps its
//! daemon); failed daemon pods replaced; listing and deleting a collection.
//!
//! Each test runs its DaemonSet on hollow nodes of its own ([`PrivateNodes`]), so "every node"
//! means the test's nodes and no other test's pods or nodes take part.

use anyhow::{Context, ensure};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::ns_api;
use crate::support::pods::is_running_and_ready;
use crate::support::scheduling::{NodeShape, PrivateNodes};
use crate::support::workloads::{
    controller_uid, live_pods, node_of, nodes_of, private_daemon_set, wait_ds_ready, wait_live_pods,
};

const SELECTOR: &str = "app=daemon";

async fn create(ctx: &TestContext, ds: &DaemonSet) -> anyhow::Result<DaemonSet> {
    ns_api::<DaemonSet>(ctx)
        .create(&PostParams::default(), ds)
        .await
        .context("creating the DaemonSet")
}

fn sorted(names: &[String]) -> Vec<String> {
    let mut names = names.to_vec();
    names.sort();
    names
}

/// Upstream's simple daemon: a pod on each node, controlled by the DaemonSet; a deleted daemon
/// pod is replaced on the same node.
pub async fn a_daemon_set_runs_one_pod_per_node_and_replaces_a_deleted_one(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "simple", 3, &NodeShape::new()).await?;
    let ds = create(&ctx, &private_daemon_set(&ctx, "daemon")?).await?;
    wait_ds_ready(&ctx, "daemon", 3).await?;
    let pods = wait_live_pods(&ctx, SELECTOR, 3, "running and ready", is_running_and_ready).await?;
    ensure!(
        nodes_of(&pods) == sorted(nodes.names()),
        "daemon pods on {:?}, nodes {:?}",
        nodes_of(&pods),
        nodes.names()
    );
    for p in &pods {
        ensure!(
            controller_uid(p) == ds.uid(),
            "{} is not controlled by the DaemonSet",
            p.name_any()
        );
    }

    let victim = pods[0].name_any();
    let node = node_of(&pods[0]).context("a running pod has a node")?;
    ns_api::<Pod>(&ctx)
        .delete(&victim, &DeleteParams::default())
        .await?;
    let pods = wait_live_pods(
        &ctx,
        SELECTOR,
        3,
        "running and ready, the deleted one replaced",
        |p| p.name_any() != victim && is_running_and_ready(p),
    )
    .await?;
    ensure!(
        nodes_of(&pods) == sorted(nodes.names()),
        "after the replacement daemon pods run on {:?}; the deleted one ran on {node}",
        nodes_of(&pods)
    );
    nodes.delete().await
}

/// Upstream's complex daemon: with a nodeSelector, a pod runs only where a node carries the
/// label; relabelling the node removes it, and changing the DaemonSet's selector to the new label
/// brings it back.
pub async fn daemon_pods_follow_the_node_labels_they_select(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const COLOR: &str = "kubeproof.io/e2e-color";
    let nodes = PrivateNodes::create(&ctx, "colors", 2, &NodeShape::new()).await?;
    let mut ds = private_daemon_set(&ctx, "daemon")?;
    let spec = ds.spec.template.spec.as_mut().context("template spec")?;
    spec.node_selector
        .get_or_insert_with(Default::default)
        .insert(COLOR.to_owned(), "blue".to_owned());
    create(&ctx, &ds).await?;
    wait_ds_ready(&ctx, "daemon", 0).await?;
    ensure!(
        live_pods(&ctx, SELECTOR).await?.is_empty(),
        "no node is blue"
    );

    let node_api = Api::<Node>::all(ctx.client.clone());
    let label = |color: &str| Patch::Merge(json!({"metadata": {"labels": {COLOR: color}}}));
    let blue = nodes.name(0).to_owned();
    node_api
        .patch(&blue, &PatchParams::default(), &label("blue"))
        .await?;
    let on = blue.clone();
    wait_live_pods(&ctx, SELECTOR, 1, "on the blue node, ready", move |p| {
        node_of(p).as_deref() == Some(on.as_str()) && is_running_and_ready(p)
    })
    .await?;
    wait_ds_ready(&ctx, "daemon", 1).await?;

    node_api
        .patch(&blue, &PatchParams::default(), &label("green"))
        .await?;
    wait_live_pods(&ctx, SELECTOR, 0, "once no node is blue", |_| true).await?;
    wait_ds_ready(&ctx, "daemon", 0).await?;

    ns_api::<DaemonSet>(&ctx)
        .patch(
            "daemon",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"template": {"spec": {"nodeSelector": {COLOR: "green"}}}}}),
            ),
        )
        .await?;
    let on = blue.clone();
    wait_live_pods(&ctx, SELECTOR, 1, "on the green node, ready", move |p| {
        node_of(p).as_deref() == Some(on.as_str()) && is_running_and_ready(p)
    })
    .await?;
    wait_ds_ready(&ctx, "daemon", 1).await?;
    nodes.delete().await
}

/// A node added later gets a daemon pod, and a node deleted takes its pod out of the counts.
pub async fn a_new_node_gets_a_daemon_pod_and_a_deleted_one_leaves_the_count(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut nodes = PrivateNodes::create(&ctx, "grow", 1, &NodeShape::new()).await?;
    create(&ctx, &private_daemon_set(&ctx, "daemon")?).await?;
    wait_ds_ready(&ctx, "daemon", 1).await?;

    let added = nodes.add(&ctx, "grow2", 2, &NodeShape::new()).await?;
    wait_ds_ready(&ctx, "daemon", 3).await?;
    let pods = wait_live_pods(&ctx, SELECTOR, 3, "running and ready", is_running_and_ready).await?;
    ensure!(
        nodes_of(&pods) == sorted(nodes.names()),
        "daemon pods on {:?}, nodes {:?} ({added:?} added)",
        nodes_of(&pods),
        nodes.names()
    );

    let gone = added[0].clone();
    nodes.delete_one(&gone).await?;
    wait_ds_ready(&ctx, "daemon", 2).await?;
    let remaining = sorted(nodes.names());
    let pods = wait_live_pods(&ctx, SELECTOR, 2, "on the remaining nodes", |p| {
        node_of(p).is_some_and(|n| n != gone)
    })
    .await?;
    ensure!(
        nodes_of(&pods) == remaining,
        "pods on {:?}",
        nodes_of(&pods)
    );
    nodes.delete().await
}

/// Every daemon pod gets upstream's tolerations (not-ready and unreachable NoExecute without a
/// limit, the pressure and unschedulable NoSchedule ones), so a cordoned node and a node under
/// memory pressure still get their daemon.
pub async fn daemon_pods_tolerate_node_problems_and_run_on_cordoned_nodes(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "cordon", 2, &NodeShape::new()).await?;
    let cordoned = nodes.name(0).to_owned();
    Api::<Node>::all(ctx.client.clone())
        .patch(
            &cordoned,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"unschedulable": true}})),
        )
        .await?;
    ctx.node_control()?
        .set_condition(nodes.name(1), "MemoryPressure", true)?;
    create(&ctx, &private_daemon_set(&ctx, "daemon")?).await?;
    wait_ds_ready(&ctx, "daemon", 2).await?;
    let pods = live_pods(&ctx, SELECTOR).await?;
    ensure!(
        nodes_of(&pods) == sorted(nodes.names()),
        "daemon pods on {:?}: the cordoned and the pressured node each get one",
        nodes_of(&pods)
    );
    let tolerations = pods[0]
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let has = |key: &str, effect: &str| {
        tolerations.iter().any(|t| {
            t.key.as_deref() == Some(key)
                && t.operator.as_deref() == Some("Exists")
                && t.effect.as_deref() == Some(effect)
                && t.toleration_seconds.is_none()
        })
    };
    for (key, effect) in [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ] {
        ensure!(
            has(key, effect),
            "no {key}:{effect} toleration among {tolerations:?}"
        );
    }
    ctx.node_control()?
        .set_condition(nodes.name(1), "MemoryPressure", false)?;
    nodes.delete().await
}

/// Upstream's failed daemon pod: a daemon pod whose phase turns Failed is deleted and replaced
/// by a new one on the same node.
pub async fn a_failed_daemon_pod_is_replaced(ctx: TestContext) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "failed", 1, &NodeShape::new()).await?;
    create(&ctx, &private_daemon_set(&ctx, "daemon")?).await?;
    wait_ds_ready(&ctx, "daemon", 1).await?;
    let failed = live_pods(&ctx, SELECTOR).await?[0].name_any();
    ns_api::<Pod>(&ctx)
        .patch_status(
            &failed,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Failed"}})),
        )
        .await?;
    let node = nodes.name(0).to_owned();
    wait_live_pods(
        &ctx,
        SELECTOR,
        1,
        "replacing the failed one, ready",
        move |p| {
            p.name_any() != failed
                && node_of(p).as_deref() == Some(node.as_str())
                && is_running_and_ready(p)
        },
    )
    .await?;
    wait_ds_ready(&ctx, "daemon", 1).await?;
    nodes.delete().await
}

/// Upstream's collection case: DaemonSets listed by label in every namespace, then removed
/// with one `deletecollection`.
pub async fn daemon_sets_are_listed_and_deleted_as_a_collection(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "coll", 1, &NodeShape::new()).await?;
    let api = ns_api::<DaemonSet>(&ctx);
    let label = format!("kubeproof.io/e2e-collection={}", ctx.namespace);
    for name in ["daemon", "daemon-b"] {
        let mut ds = private_daemon_set(&ctx, name)?;
        ds.labels_mut()
            .insert("kubeproof.io/e2e-collection".into(), ctx.namespace.clone());
        create(&ctx, &ds).await?;
    }
    wait_ds_ready(&ctx, "daemon", 1).await?;
    let everywhere = Api::<DaemonSet>::all(ctx.client.clone())
        .list(&ListParams::default().labels(&label))
        .await?;
    ensure!(
        everywhere.items.len() == 2,
        "listed {:?}",
        everywhere
            .items
            .iter()
            .map(|d| d.name_any())
            .collect::<Vec<_>>()
    );
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels(&label),
    )
    .await?;
    for name in ["daemon", "daemon-b"] {
        crate::support::workloads::wait_gone(&ctx, &api, name).await?;
    }
    wait_live_pods(
        &ctx,
        "app in (daemon, daemon-b)",
        0,
        "once the DaemonSets are gone",
        |_| true,
    )
    .await?;
    let left = api.list(&ListParams::default().labels(&label)).await?;
    ensure!(
        left.items.is_empty(),
        "{} DaemonSets left",
        left.items.len()
    );
    nodes.delete().await
}

/// The status subresource: what the controller reports is readable through `/status`, and a
/// status patch changes status alone.
pub async fn the_status_subresource_reads_and_patches_daemon_set_status(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "status", 1, &NodeShape::new()).await?;
    let api = ns_api::<DaemonSet>(&ctx);
    create(&ctx, &private_daemon_set(&ctx, "daemon")?).await?;
    wait_ds_ready(&ctx, "daemon", 1).await?;
    let read = api.get_status("daemon").await?;
    ensure!(
        read.status.as_ref().map(|s| s.desired_number_scheduled) == Some(1),
        "status {:?}",
        read.status
    );
    let patched = api
        .patch_status(
            "daemon",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "spec": {"minReadySeconds": 99},
                "status": {"conditions": [{"type": "StatusPatched", "status": "True",
                                           "reason": "E2E", "message": "patched"}]},
            })),
        )
        .await?;
    ensure!(
        patched.spec.min_ready_seconds != Some(99),
        "a status patch changed the spec"
    );
    ensure!(
        patched
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs
                .iter()
                .any(|c| c.type_.as_deref() == Some("StatusPatched"))),
        "the patched condition is missing from {:?}",
        patched.status
    );
    nodes.delete().await
}
