//! ReplicaSets: replicas kept running and ready, adoption and release, the scale subresource,
//! and pods of a failed node recreated elsewhere.

use anyhow::{Context, ensure};
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

/// A node that stops heartbeating is tainted unreachable; its pod (tolerating that for 0 s) is
/// evicted and the ReplicaSet recreates it on a healthy node.
pub async fn pods_of_a_failed_node_are_recreated_on_a_healthy_one(
    ctx: TestContext,
) -> anyhow::Result<()> {
    use crate::support::nodes::{NOT_READY, UNREACHABLE, own_nodes};
    let nodes = own_nodes(&ctx, "rsfail", 2).await?;
    let mut rs = replica_set("web", 2)?;
    let spec = rs
        .spec
        .template
        .as_mut()
        .and_then(|t| t.spec.as_mut())
        .context("template spec")?;
    spec.affinity = Some(serde_json::from_value(json!({"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": nodes}]}]}}}))?);
    spec.tolerations = Some(serde_json::from_value(json!([
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0},
        {"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0},
    ]))?);
    ns_api::<ReplicaSet>(&ctx)
        .create(&PostParams::default(), &rs)
        .await?;
    wait_rs_ready(&ctx, "web", 2).await?;
    let placed = live_pods(&ctx, SELECTOR).await?;
    let failed = placed[0]
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .context("the pod is bound")?;
    let healthy = nodes
        .iter()
        .find(|n| **n != failed)
        .cloned()
        .context("two nodes")?;
    let doomed: Vec<String> = placed
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(failed.as_str()))
        .map(|p| p.name_any())
        .collect();
    ctx.node_control()?.stop_heartbeats(&failed)?;
    let pods = wait_live_pods(&ctx, SELECTOR, 2, "all on the healthy node, ready", |p| {
        p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(healthy.as_str())
            && is_running_and_ready(p)
    })
    .await?;
    ensure!(
        pods.iter().all(|p| !doomed.contains(&p.name_any())),
        "the evicted pods were replaced by new ones"
    );
    ctx.node_control()?.resume_heartbeats(&failed)?;
    Ok(())
}
