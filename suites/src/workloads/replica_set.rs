//! ReplicaSets: replicas kept running and ready, adoption and release, the scale subresource,
//! replacing and patching, listing and deleting as a collection, the status subresource, and
//! pods of a failed node recreated elsewhere.

use anyhow::{Context, ensure};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchParams};
use serde_json::json;

use crate::TestContext;
use crate::support::pods::{create_pod, is_running_and_ready};
use crate::support::workloads::{
    controller_uid, live_pods, replace_status_with_retries, replace_with_retries, wait_live_pods,
    wait_object, wait_rs_ready,
};
use crate::support::{
    change_where, ns_api, open_watch, pod, pod_template, short_hash, wait_budget,
};

const SELECTOR: &str = "app=web";

/// The labels upstream gives its sample ReplicaSets and their pods.
const SAMPLE: &[(&str, &str)] = &[("name", "sample-pod"), ("pod", "httpd")];

fn replica_set(name: &str, replicas: i32) -> anyhow::Result<ReplicaSet> {
    labelled_replica_set(name, replicas, &[("app", "web")])
}

/// ReplicaSet `name` whose pods, selector and own metadata carry `labels`, as upstream's `newRS`.
fn labelled_replica_set(
    name: &str,
    replicas: i32,
    labels: &[(&str, &str)],
) -> anyhow::Result<ReplicaSet> {
    let labels = crate::support::labels(labels);
    let mut template = pod_template(&[]);
    template
        .metadata
        .get_or_insert_with(Default::default)
        .labels = Some(labels.clone());
    template
        .spec
        .as_mut()
        .context("template spec")?
        .termination_grace_period_seconds = Some(0);
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": template},
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

/// Upstream's replace-and-patch case: a ReplicaSet is replaced with two replicas, then a
/// strategic merge patch adds a label, raises replicas to three and adds a container (which
/// the patch puts first, merging the containers list by name) with no termination grace; a
/// watch opened before it existed sees it with all of that and three ready, available
/// replicas.
pub async fn a_replica_set_is_replaced_then_patched(ctx: TestContext) -> anyhow::Result<()> {
    const PATCHED_IMAGE: &str = "registry.k8s.io/pause:3.9";
    let api = ns_api::<ReplicaSet>(&ctx);
    let listed = Api::<ReplicaSet>::all(ctx.client.clone())
        .list(&ListParams::default().labels("test-rs=patched"))
        .await?;
    let mut events = open_watch(
        &api,
        &WatchParams::default().labels("test-rs=patched"),
        &listed.metadata.resource_version.unwrap_or_default(),
    )
    .await?;
    api.create(
        &PostParams::default(),
        &labelled_replica_set("test-rs", 1, SAMPLE)?,
    )
    .await?;
    wait_rs_ready(&ctx, "test-rs", 1).await?;
    let replaced = replace_with_retries(&api, "test-rs", |rs| {
        rs.spec.replicas = Some(2);
    })
    .await?;
    ensure!(
        replaced.spec.replicas == Some(2),
        "the replaced spec: {:?}",
        replaced.spec
    );
    wait_rs_ready(&ctx, "test-rs", 2).await?;
    api.patch(
        "test-rs",
        &PatchParams::default(),
        &Patch::Strategic(json!({
            "metadata": {"labels": {"test-rs": "patched"}},
            "spec": {"replicas": 3, "template": {"spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "test-rs", "image": PATCHED_IMAGE}],
            }}},
        })),
    )
    .await?;
    let seen = change_where(
        &mut events,
        "showing the patch with three ready, available replicas",
        wait_budget(&ctx),
        |c| {
            let rs = &c.object;
            let status = rs.status.clone().unwrap_or_default();
            let pod_spec = rs.spec.template.as_ref().and_then(|t| t.spec.as_ref());
            rs.name_any() == "test-rs"
                && rs.labels().get("test-rs").map(String::as_str) == Some("patched")
                && status.ready_replicas == Some(3)
                && status.available_replicas == Some(3)
                && pod_spec.is_some_and(|p| {
                    p.containers.first().and_then(|c| c.image.as_deref()) == Some(PATCHED_IMAGE)
                        && p.termination_grace_period_seconds == Some(0)
                })
        },
    )
    .await?;
    let containers: Vec<String> = seen
        .object
        .spec
        .template
        .and_then(|t| t.spec)
        .map(|p| p.containers.into_iter().map(|c| c.name).collect())
        .unwrap_or_default();
    ensure!(
        containers == ["test-rs", "app"],
        "the patch merges containers by name, the new one first: {containers:?}"
    );
    Ok(())
}

/// Upstream's collection case: a ReplicaSet found by label across namespaces, then removed
/// with one `deletecollection` (grace period 1 s); listed again, it is gone, and so (through
/// garbage collection) are its pods.
pub async fn replica_sets_are_listed_and_deleted_as_a_collection(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ReplicaSet>(&ctx);
    let everywhere = Api::<ReplicaSet>::all(ctx.client.clone());
    let value = short_hash(&ctx.namespace);
    let mut labels = SAMPLE.to_vec();
    labels.push(("e2e", &value));
    api.create(
        &PostParams::default(),
        &labelled_replica_set("test-rs", 3, &labels)?,
    )
    .await?;
    wait_rs_ready(&ctx, "test-rs", 3).await?;
    let by_label = ListParams::default().labels(&format!("e2e={value}"));
    let listed = everywhere.list(&by_label).await?;
    ensure!(
        listed.items.len() == 1 && listed.items[0].name_any() == "test-rs",
        "listed {:?}",
        listed
            .items
            .iter()
            .map(|r| r.name_any())
            .collect::<Vec<_>>()
    );
    api.delete_collection(
        &DeleteParams {
            grace_period_seconds: Some(1),
            ..DeleteParams::default()
        },
        &by_label,
    )
    .await?;
    let left = everywhere.list(&by_label).await?;
    ensure!(
        left.items.is_empty(),
        "left after deletecollection: {:?}",
        left.items.iter().map(|r| r.name_any()).collect::<Vec<_>>()
    );
    wait_live_pods(
        &ctx,
        "name=sample-pod",
        0,
        "once the ReplicaSet is gone",
        |_| true,
    )
    .await?;
    Ok(())
}

/// Upstream's status case: `/status` reads the ReplicaSet; a status update adding a
/// condition and a status merge patch replacing the conditions are both seen by a watch opened
/// before the ReplicaSet existed.
pub async fn the_status_subresource_reads_updates_and_patches_replica_set_status(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ReplicaSet>(&ctx);
    let selector = "name=sample-pod,pod=httpd";
    let listed = Api::<ReplicaSet>::all(ctx.client.clone())
        .list(&ListParams::default().labels(selector))
        .await?;
    let mut events = open_watch(
        &api,
        &WatchParams::default().labels(selector),
        &listed.metadata.resource_version.unwrap_or_default(),
    )
    .await?;
    let created = api
        .create(
            &PostParams::default(),
            &labelled_replica_set("test-rs", 1, SAMPLE)?,
        )
        .await?;
    wait_rs_ready(&ctx, "test-rs", 1).await?;

    let read = api.get_status("test-rs").await?;
    ensure!(
        read.uid() == created.uid() && read.status.as_ref().map(|s| s.replicas) == Some(1),
        "GET /status answered {:?} with status {:?}",
        read.uid(),
        read.status
    );

    let updated = replace_status_with_retries(&api, "test-rs", |rs| {
        rs.status
            .get_or_insert_with(Default::default)
            .conditions
            .get_or_insert_with(Vec::new)
            .push(ReplicaSetCondition {
                type_: Some("StatusUpdate".into()),
                status: Some("True".into()),
                reason: Some("E2E".into()),
                message: Some("Set from e2e test".into()),
                last_transition_time: None,
            });
    })
    .await?;
    ensure!(
        has_condition(&updated, "StatusUpdate"),
        "the update's answer lacks the condition: {:?}",
        updated.status
    );
    change_where(
        &mut events,
        "carrying the StatusUpdate condition",
        wait_budget(&ctx),
        |c| {
            c.object.name_any() == "test-rs"
                && conditions(&c.object).iter().any(|cond| {
                    cond.type_.as_deref() == Some("StatusUpdate")
                        && cond.reason.as_deref() == Some("E2E")
                        && cond.message.as_deref() == Some("Set from e2e test")
                })
        },
    )
    .await?;

    let patched = api
        .patch_status(
            "test-rs",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [
                {"type": "StatusPatched", "status": "True"}]}})),
        )
        .await?;
    ensure!(
        has_condition(&patched, "StatusPatched"),
        "the patch's answer lacks the condition: {:?}",
        patched.status
    );
    change_where(
        &mut events,
        "carrying the StatusPatched condition",
        wait_budget(&ctx),
        |c| c.object.name_any() == "test-rs" && has_condition(&c.object, "StatusPatched"),
    )
    .await?;
    Ok(())
}

fn conditions(rs: &ReplicaSet) -> Vec<ReplicaSetCondition> {
    rs.status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
}

fn has_condition(rs: &ReplicaSet, type_: &str) -> bool {
    conditions(rs)
        .iter()
        .any(|c| c.type_.as_deref() == Some(type_))
}
