//! DaemonSet updates, watched on every state (`support::daemon_rollout`): RollingUpdate with
//! `maxUnavailable` (node by node) and with `maxSurge` (a new pod beside the old one before it
//! goes), rollback of a bad update that restarts none of the pods it never reached, undo to a
//! revision through `kubectl rollout`, and OnDelete.

use anyhow::ensure;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::daemon_rollout::{DaemonBounds, DaemonReport, DaemonWatch};
use crate::support::pods::is_running_and_ready;
use crate::support::scheduling::{NodeShape, PrivateNodes};
use crate::support::workloads::{
    image_of, live_pods, private_daemon_set, wait_ds_ready, wait_live_pods, wait_object,
};
use crate::support::{PAUSE_IMAGE, kubectl_ns, ns_api};

const SELECTOR: &str = "app=daemon";
const NODES: usize = 3;

/// The test's nodes and a DaemonSet `daemon` with `strategy` running on each of them.
async fn running(
    ctx: &TestContext,
    tag: &str,
    strategy: serde_json::Value,
) -> anyhow::Result<PrivateNodes> {
    let nodes = PrivateNodes::create(ctx, tag, NODES, &NodeShape::new()).await?;
    let mut ds = private_daemon_set(ctx, "daemon")?;
    ds.spec.update_strategy = Some(serde_json::from_value(strategy)?);
    ns_api::<DaemonSet>(ctx)
        .create(&PostParams::default(), &ds)
        .await?;
    wait_ds_ready(ctx, "daemon", NODES as i32).await?;
    Ok(nodes)
}

async fn patch_image(ctx: &TestContext, image: &str) -> anyhow::Result<()> {
    ns_api::<DaemonSet>(ctx)
        .patch(
            "daemon",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {
                "containers": [{"name": "app", "image": image}]}}}})),
        )
        .await?;
    Ok(())
}

/// Waits until a daemon pod of `image` runs and is ready on every node.
async fn wait_all_on(ctx: &TestContext, image: &str) -> anyhow::Result<Vec<Pod>> {
    let image = image.to_owned();
    let what = format!("all of {image}, running and ready");
    wait_live_pods(ctx, SELECTOR, NODES, &what, move |p| {
        image_of(p) == Some(image.as_str()) && is_running_and_ready(p)
    })
    .await
}

async fn revisions(ctx: &TestContext) -> anyhow::Result<Vec<i64>> {
    let mut revisions: Vec<i64> = ns_api::<ControllerRevision>(ctx)
        .list(&ListParams::default().labels(SELECTOR))
        .await?
        .items
        .iter()
        .filter_map(|r| r.revision)
        .collect();
    revisions.sort();
    Ok(revisions)
}

/// Upstream's RollingUpdate case with the default `maxUnavailable: 1`, driven by `kubectl set
/// image` and `kubectl rollout status`: pods are replaced node by node, never more than one node
/// without an available pod and never two pods on a node; both templates are kept as
/// ControllerRevisions, listed by `kubectl rollout history`.
pub async fn a_daemon_set_rolls_out_one_node_at_a_time(ctx: TestContext) -> anyhow::Result<()> {
    let nodes = running(
        &ctx,
        "roll",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}),
    )
    .await?;
    let bounds = DaemonBounds {
        max_surge: 0,
        max_unavailable: 1,
    };
    let watch = DaemonWatch::start(&ctx, SELECTOR, nodes.names(), bounds).await?;
    kubectl_ns(&ctx, &["set", "image", "daemonset/daemon", "app=nginx:1.1"]).await?;
    kubectl_ns(
        &ctx,
        &["rollout", "status", "daemonset/daemon", "--timeout=60s"],
    )
    .await?;
    wait_all_on(&ctx, "nginx:1.1").await?;
    let report: DaemonReport = watch.finish().await?;
    ensure!(
        report.max_unavailable == 1 && report.max_surging == 0,
        "a node-by-node update takes one node down at a time and never surges: {report:?}"
    );
    wait_ds_ready(&ctx, "daemon", NODES as i32).await?;
    ensure!(
        revisions(&ctx).await? == [1, 2],
        "ControllerRevisions {:?}",
        revisions(&ctx).await?
    );
    let history = kubectl_ns(&ctx, &["rollout", "history", "daemonset/daemon"]).await?;
    let listed: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    ensure!(listed == ["1", "2"], "rollout history:\n{history}");
    nodes.delete().await
}

/// RollingUpdate with `maxSurge: 1, maxUnavailable: 0`: each node gets its new pod beside the
/// old one, which goes only once the new one is available; no node is ever without an available
/// daemon pod.
pub async fn a_surging_daemon_set_update_keeps_every_node_available(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = running(
        &ctx,
        "surge",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
    )
    .await?;
    let bounds = DaemonBounds {
        max_surge: 1,
        max_unavailable: 0,
    };
    let watch = DaemonWatch::start(&ctx, SELECTOR, nodes.names(), bounds).await?;
    patch_image(&ctx, "nginx:1.1").await?;
    wait_all_on(&ctx, "nginx:1.1").await?;
    wait_ds_ready(&ctx, "daemon", NODES as i32).await?;
    let report = watch.finish().await?;
    ensure!(
        report.max_surging == 1 && report.max_unavailable == 0,
        "the update surged on one node at a time, keeping all available: {report:?}"
    );
    nodes.delete().await
}

/// Upstream's rollback case: an update to an image that cannot be pulled stalls after one node
/// (`maxUnavailable: 1`); `kubectl rollout undo` brings that node back, and the pods the update
/// never reached are not restarted.
pub async fn a_bad_daemon_set_update_rolls_back_without_restarting_untouched_pods(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = running(
        &ctx,
        "rollback",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}),
    )
    .await?;
    patch_image(&ctx, "nginx:doesnotexist").await?;
    wait_stalled(&ctx).await?;
    let untouched: Vec<String> = live_pods(&ctx, SELECTOR)
        .await?
        .iter()
        .filter(|p| image_of(p) == Some(PAUSE_IMAGE))
        .filter_map(|p| p.uid())
        .collect();
    ensure!(
        untouched.len() == NODES - 1,
        "the stalled update reached {} nodes, not one",
        NODES - untouched.len()
    );
    kubectl_ns(&ctx, &["rollout", "undo", "daemonset/daemon"]).await?;
    let pods = wait_all_on(&ctx, PAUSE_IMAGE).await?;
    for uid in &untouched {
        ensure!(
            pods.iter()
                .any(|p| p.uid().as_deref() == Some(uid.as_str())),
            "pod {uid}, never updated, was restarted by the rollback"
        );
    }
    wait_ds_ready(&ctx, "daemon", NODES as i32).await?;
    nodes.delete().await
}

/// Waits until the update to the bad image has replaced one pod and is stuck on it.
async fn wait_stalled(ctx: &TestContext) -> anyhow::Result<()> {
    wait_live_pods(
        ctx,
        SELECTOR,
        NODES,
        "with exactly one on the unpullable image",
        |_| true,
    )
    .await?;
    wait_object(
        ctx,
        &ns_api::<DaemonSet>(ctx),
        "daemon",
        "to have scheduled one updated pod that is not available",
        |ds: &DaemonSet| {
            let s = ds.status.clone().unwrap_or_default();
            s.observed_generation == ds.metadata.generation
                && s.updated_number_scheduled == Some(1)
                && s.number_unavailable == Some(1)
        },
    )
    .await?;
    Ok(())
}

/// `kubectl rollout undo --to-revision` on a DaemonSet: after two updates, back to the first
/// template, which becomes revision 4 (ControllerRevisions keep one entry per template).
pub async fn kubectl_rollout_undo_returns_a_daemon_set_to_a_given_revision(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = running(
        &ctx,
        "undo",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 3}}),
    )
    .await?;
    for image in ["nginx:1.1", "nginx:1.2"] {
        patch_image(&ctx, image).await?;
        wait_all_on(&ctx, image).await?;
    }
    kubectl_ns(
        &ctx,
        &["rollout", "undo", "daemonset/daemon", "--to-revision=1"],
    )
    .await?;
    wait_all_on(&ctx, PAUSE_IMAGE).await?;
    wait_ds_ready(&ctx, "daemon", NODES as i32).await?;
    let revs = revisions(&ctx).await?;
    ensure!(
        revs == [2, 3, 4],
        "revision 1's template is now revision 4; revisions {revs:?}"
    );
    nodes.delete().await
}

/// OnDelete: a template change replaces no pod by itself; a pod deleted by hand comes back with
/// the new template, and the others keep the old one.
pub async fn on_delete_updates_a_daemon_pod_only_when_it_is_deleted(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = running(&ctx, "ondelete", json!({"type": "OnDelete"})).await?;
    let before = live_pods(&ctx, SELECTOR).await?;
    patch_image(&ctx, "nginx:1.1").await?;
    wait_object(
        &ctx,
        &ns_api::<DaemonSet>(&ctx),
        "daemon",
        "to observe the new template with no pod updated",
        |ds: &DaemonSet| {
            let s = ds.status.clone().unwrap_or_default();
            s.observed_generation == ds.metadata.generation
                && s.updated_number_scheduled.unwrap_or(0) == 0
                && s.number_available == Some(NODES as i32)
        },
    )
    .await?;
    let now = live_pods(&ctx, SELECTOR).await?;
    ensure!(
        now.iter().map(|p| p.uid()).collect::<Vec<_>>()
            == before.iter().map(|p| p.uid()).collect::<Vec<_>>(),
        "OnDelete replaced pods by itself"
    );
    let victim = before[0].name_any();
    ns_api::<Pod>(&ctx)
        .delete(&victim, &DeleteParams::default())
        .await?;
    let pods = wait_live_pods(
        &ctx,
        SELECTOR,
        NODES,
        "running and ready, the deleted one replaced",
        is_running_and_ready,
    )
    .await?;
    let new: Vec<&Pod> = pods
        .iter()
        .filter(|p| image_of(p) == Some("nginx:1.1"))
        .collect();
    ensure!(
        new.len() == 1 && new[0].name_any() != victim,
        "only the replacement runs the new template: {:?}",
        pods.iter()
            .map(|p| (p.name_any(), image_of(p).map(str::to_owned)))
            .collect::<Vec<_>>()
    );
    nodes.delete().await
}
