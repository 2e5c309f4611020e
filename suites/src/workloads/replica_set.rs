//! ReplicaSets: replicas kept running and ready, adoption and release, the scale subresource,
//! and pods of a failed node recreated elsewhere.

use anyhow::ensure;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::pods::{create_pod, is_running_and_ready};
use crate::support::workloads::{
    controller_uid, live_pods, wait_live_pods, wait_object, wait_rs_ready,
};
use crate::support::{ns_api, pod, pod_template};

const SELECTOR: &str = "app=web";

fn replica_set(name: &str, replicas: i32) -> anyhow::Result<ReplicaSet> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": pod_template(&[("app", "web")])},
    }))?)
}

/// Upstream's basic case: every replica runs and turns Ready, controlled by the ReplicaSet.
pub async fn a_replica_set_runs_every_replica_ready(ctx: TestContext) -> anyhow::Result<()> {
    let rs = ns_api::<ReplicaSet>(&ctx)
        .create(&PostParams::default(), &replica_set("web", 3)?)
        .await?;
    wait_rs_ready(&ctx, "web", 3).await?;
    let pods = live_pods(&ctx, SELECTOR).await?;
    ensure!(pods.len() == 3, "{} pods", pods.len());
    for p in &pods {
        ensure!(
            is_running_and_ready(p),
            "{} not running and ready",
            p.name_any()
        );
        ensure!(
            controller_uid(p) == rs.uid(),
            "{} not controlled by the ReplicaSet",
            p.name_any()
        );
    }
    Ok(())
}

/// Upstream's case: a matching orphan is adopted on creation, and released when relabelled.
pub async fn a_replica_set_adopts_matching_pods_and_releases_relabelled_ones(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create_pod(&ctx, &pod("pod-adoption-release", &[("app", "web")])).await?;
    let rs = ns_api::<ReplicaSet>(&ctx)
        .create(&PostParams::default(), &replica_set("web", 1)?)
        .await?;
    let uid = rs.uid();
    wait_object(
        &ctx,
        &ns_api::<Pod>(&ctx),
        "pod-adoption-release",
        "to be adopted",
        move |p: &Pod| controller_uid(p) == uid,
    )
    .await?;
    wait_rs_ready(&ctx, "web", 1).await?;
    ns_api::<Pod>(&ctx)
        .patch(
            "pod-adoption-release",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"app": "released"}}})),
        )
        .await?;
    wait_object(
        &ctx,
        &ns_api::<Pod>(&ctx),
        "pod-adoption-release",
        "to be released",
        |p: &Pod| controller_uid(p).is_none(),
    )
    .await?;
    wait_live_pods(&ctx, SELECTOR, 1, "replacing the released pod", |p| {
        p.name_any() != "pod-adoption-release"
    })
    .await?;
    Ok(())
}

/// Upstream's case: the `scale` subresource reads and sets the ReplicaSet's replicas.
pub async fn the_scale_subresource_resizes_a_replica_set(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ReplicaSet>(&ctx);
    api.create(&PostParams::default(), &replica_set("web", 1)?)
        .await?;
    wait_rs_ready(&ctx, "web", 1).await?;
    let scale = api.get_scale("web").await?;
    ensure!(
        scale.spec.as_ref().and_then(|s| s.replicas) == Some(1),
        "scale {scale:?}"
    );
    ensure!(
        scale.status.as_ref().and_then(|s| s.selector.as_deref()) == Some("app=web"),
        "scale selector {:?}",
        scale.status
    );
    api.patch_scale(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await?;
    wait_rs_ready(&ctx, "web", 2).await?;
    ensure!(live_pods(&ctx, SELECTOR).await?.len() == 2);
    Ok(())
}
