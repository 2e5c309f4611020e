//! ReplicationControllers: replicas kept running and ready, self-healing, scaling with `kubectl
//! scale` and its `--current-replicas` precondition, adoption of matching orphans, release of
//! pods that stop matching, surplus pods removed, quota failures surfaced as `ReplicaFailure`,
//! and the whole API lifecycle (patch, status, scale, list, deletecollection) seen by a watch.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{Pod, ReplicationController, ResourceQuota};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchParams};
use serde_json::json;

use crate::TestContext;
use crate::support::pods::{create_pod, is_running_and_ready};
use crate::support::workloads::{
    controller_uid, live_pods, replace_status_with_retries, wait_live_pods, wait_object,
    wait_rc_ready,
};
use crate::support::{
    Change, change_where, kubectl, ns_api, open_watch, pod, replication_controller, wait_budget,
};

const SELECTOR: &str = "app=web";

async fn create_rc(
    ctx: &TestContext,
    name: &str,
    replicas: i32,
) -> anyhow::Result<ReplicationController> {
    Ok(ns_api::<ReplicationController>(ctx)
        .create(
            &PostParams::default(),
            &replication_controller(name, replicas, &[("app", "web")]),
        )
        .await?)
}

/// Upstream's basic case: every replica runs and turns Ready, controlled by the RC.
pub async fn a_replication_controller_runs_every_replica_ready(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let rc = create_rc(&ctx, "web", 3).await?;
    wait_rc_ready(&ctx, "web", 3).await?;
    let pods = live_pods(&ctx, SELECTOR).await?;
    ensure!(pods.len() == 3, "{} pods", pods.len());
    for p in &pods {
        ensure!(
            is_running_and_ready(p),
            "{} is not running and ready",
            p.name_any()
        );
        ensure!(
            controller_uid(p) == rc.uid(),
            "{} is not controlled by the RC",
            p.name_any()
        );
        ensure!(
            p.name_any().starts_with("web-"),
            "pod name {}",
            p.name_any()
        );
    }
    Ok(())
}

/// A deleted replica is replaced by a new pod.
pub async fn a_deleted_replica_is_replaced(ctx: TestContext) -> anyhow::Result<()> {
    create_rc(&ctx, "web", 2).await?;
    wait_rc_ready(&ctx, "web", 2).await?;
    let victim = live_pods(&ctx, SELECTOR).await?[0].name_any();
    ns_api::<Pod>(&ctx)
        .delete(&victim, &DeleteParams::default())
        .await?;
    let pods = wait_live_pods(
        &ctx,
        SELECTOR,
        2,
        "running and ready, without the deleted one",
        |p| is_running_and_ready(p) && p.name_any() != victim,
    )
    .await?;
    ensure!(pods.iter().all(|p| p.name_any() != victim));
    Ok(())
}

/// `kubectl scale` resizes the RC; with `--current-replicas` it refuses when the count differs.
pub async fn kubectl_scale_resizes_a_replication_controller_under_a_precondition(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create_rc(&ctx, "web", 1).await?;
    wait_rc_ready(&ctx, "web", 1).await?;
    let ns = ctx.namespace.as_str();
    let out = kubectl(&ctx, &["-n", ns, "scale", "rc/web", "--replicas=3"])
        .await?
        .ok()?;
    ensure!(
        out.trim() == "replicationcontroller/web scaled",
        "kubectl scale printed {out:?}"
    );
    wait_rc_ready(&ctx, "web", 3).await?;
    let refused = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "scale",
            "rc/web",
            "--current-replicas=2",
            "--replicas=1",
        ],
    )
    .await?
    .failed()?;
    ensure!(
        refused.contains("Expected replicas to be 2, was 3"),
        "kubectl scale with a wrong precondition said {refused:?}"
    );
    kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "scale",
            "rc/web",
            "--current-replicas=3",
            "--replicas=1",
        ],
    )
    .await?
    .ok()?;
    wait_rc_ready(&ctx, "web", 1).await?;
    wait_live_pods(&ctx, SELECTOR, 1, "after scaling down", |_| true).await?;
    Ok(())
}

/// Upstream's adoption case: a pod matching the selector with no controller is adopted, not
/// duplicated.
pub async fn a_matching_orphan_is_adopted(ctx: TestContext) -> anyhow::Result<()> {
    let orphan = create_pod(&ctx, &pod("pod-adoption", &[("app", "web")])).await?;
    let rc = create_rc(&ctx, "web", 1).await?;
    let adopted = wait_object(
        &ctx,
        &ns_api::<Pod>(&ctx),
        "pod-adoption",
        "to be adopted",
        {
            let uid = rc.uid();
            move |p: &Pod| controller_uid(p) == uid
        },
    )
    .await?;
    ensure!(adopted.uid() == orphan.uid(), "the same pod is adopted");
    wait_rc_ready(&ctx, "web", 1).await?;
    let pods = live_pods(&ctx, SELECTOR).await?;
    ensure!(
        pods.len() == 1,
        "no second pod: {:?}",
        pods.iter().map(|p| p.name_any()).collect::<Vec<_>>()
    );
    Ok(())
}

/// Upstream's release case: a pod relabelled out of the selector loses its controller
/// reference and is replaced.
pub async fn a_pod_that_stops_matching_is_released_and_replaced(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create_rc(&ctx, "web", 1).await?;
    wait_rc_ready(&ctx, "web", 1).await?;
    let name = live_pods(&ctx, SELECTOR).await?[0].name_any();
    ns_api::<Pod>(&ctx)
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"app": "released"}}})),
        )
        .await?;
    wait_object(
        &ctx,
        &ns_api::<Pod>(&ctx),
        &name,
        "to be released",
        |p: &Pod| controller_uid(p).is_none(),
    )
    .await?;
    wait_rc_ready(&ctx, "web", 1).await?;
    let replacement = live_pods(&ctx, SELECTOR).await?;
    ensure!(
        replacement.len() == 1 && replacement[0].name_any() != name,
        "replaced by a new pod"
    );
    Ok(())
}

/// Matching pods beyond `replicas` are adopted and the surplus deleted.
pub async fn surplus_matching_pods_are_removed(ctx: TestContext) -> anyhow::Result<()> {
    create_rc(&ctx, "web", 2).await?;
    wait_rc_ready(&ctx, "web", 2).await?;
    for name in ["extra-1", "extra-2"] {
        create_pod(&ctx, &pod(name, &[("app", "web")])).await?;
    }
    wait_live_pods(&ctx, SELECTOR, 2, "after the surplus is removed", |_| true).await?;
    wait_rc_ready(&ctx, "web", 2).await?;
    Ok(())
}

/// Upstream's quota case: creates refused by a quota show as `ReplicaFailure`, which clears
/// once the RC fits.
pub async fn a_quota_refusing_pods_surfaces_replica_failure_until_scaled_to_fit(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let quota: ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "condition-test"}, "spec": {"hard": {"pods": "2"}}}))?;
    ns_api::<ResourceQuota>(&ctx)
        .create(&PostParams::default(), &quota)
        .await?;
    wait_object(
        &ctx,
        &ns_api::<ResourceQuota>(&ctx),
        "condition-test",
        "to publish its usage",
        |q: &ResourceQuota| q.status.as_ref().is_some_and(|s| s.used.is_some()),
    )
    .await?;
    create_rc(&ctx, "condition-test", 3).await?;
    let failing = |rc: &ReplicationController| {
        rc.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "ReplicaFailure" && c.status == "True")
            })
    };
    let rc = wait_object(
        &ctx,
        &ns_api(&ctx),
        "condition-test",
        "to have ReplicaFailure",
        failing,
    )
    .await?;
    let cond = rc.status.and_then(|s| s.conditions).unwrap_or_default();
    ensure!(
        cond[0].reason.as_deref() == Some("FailedCreate")
            && cond[0]
                .message
                .as_deref()
                .unwrap_or("")
                .contains("exceeded quota: condition-test"),
        "condition {cond:?}"
    );
    ns_api::<ReplicationController>(&ctx)
        .patch(
            "condition-test",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await?;
    wait_object(
        &ctx,
        &ns_api(&ctx),
        "condition-test",
        "to lose ReplicaFailure",
        move |rc: &ReplicationController| {
            !failing(rc) && rc.status.as_ref().is_some_and(|s| s.replicas == 2)
        },
    )
    .await?;
    Ok(())
}

/// Upstream's lifecycle case, step by step through a watch opened before the RC exists: it is
/// ADDED and gets its ready replica; a label patch, a status patch (zero ready), a scale patch
/// to two and a status update each show as MODIFIED in that order, with what they wrote; the
/// RC is listed by label across namespaces with both labels; a `deletecollection` by label
/// ends with DELETED.
pub async fn a_replication_controller_goes_through_its_api_lifecycle(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const NAME: &str = "rc-test";
    const STATIC: &str = "test-rc-static=true";
    let api = ns_api::<ReplicationController>(&ctx);
    let budget = wait_budget(&ctx);
    let listed = api.list(&ListParams::default().labels(STATIC)).await?;
    let mut events = open_watch(
        &api,
        &WatchParams::default().labels(STATIC),
        &listed.metadata.resource_version.unwrap_or_default(),
    )
    .await?;
    let is = |kind: &'static str| {
        move |c: &Change<ReplicationController>| c.kind == kind && c.object.name_any() == NAME
    };
    let status = |c: &Change<ReplicationController>| c.object.status.clone().unwrap_or_default();

    api.create(
        &PostParams::default(),
        &replication_controller(NAME, 1, &[("test-rc-static", "true")]),
    )
    .await?;
    change_where(&mut events, "ADDED", budget, is("ADDED")).await?;
    change_where(&mut events, "with one ready replica", budget, |c| {
        is("MODIFIED")(c) && status(c).replicas == 1 && status(c).ready_replicas == Some(1)
    })
    .await?;

    let patched = api
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {"test-rc": "patched"}}})),
        )
        .await?;
    ensure!(
        patched.labels().get("test-rc").map(String::as_str) == Some("patched"),
        "the label patch answered labels {:?}",
        patched.labels()
    );
    change_where(
        &mut events,
        "MODIFIED with label test-rc=patched",
        budget,
        |c| {
            is("MODIFIED")(c)
                && c.object.labels().get("test-rc").map(String::as_str) == Some("patched")
        },
    )
    .await?;

    let status_patched = api
        .patch_status(
            NAME,
            &PatchParams::default(),
            &Patch::Strategic(json!({"status": {"readyReplicas": 0, "availableReplicas": 0}})),
        )
        .await?;
    let answered = status_patched.status.unwrap_or_default();
    ensure!(
        answered.ready_replicas.unwrap_or(0) == 0,
        "the status patch answered readyReplicas {:?}",
        answered.ready_replicas
    );
    change_where(&mut events, "MODIFIED with no ready replica", budget, |c| {
        is("MODIFIED")(c)
            && status(c).ready_replicas.unwrap_or(0) == 0
            && status(c).available_replicas.unwrap_or(0) == 0
    })
    .await?;
    // The controller puts the truth back.
    change_where(
        &mut events,
        "with its one replica ready again",
        budget,
        |c| is("MODIFIED")(c) && status(c).replicas == 1 && status(c).ready_replicas == Some(1),
    )
    .await?;
    let read = api.get_status(NAME).await?;
    ensure!(
        read.status.as_ref().map(|s| s.replicas) == Some(1),
        "GET /status: {:?}",
        read.status
    );

    api.patch_scale(
        NAME,
        &PatchParams::default(),
        &Patch::Strategic(json!({"spec": {"replicas": 2}})),
    )
    .await?;
    change_where(
        &mut events,
        "MODIFIED with two replicas wanted",
        budget,
        |c| is("MODIFIED")(c) && c.object.spec.as_ref().and_then(|s| s.replicas) == Some(2),
    )
    .await?;
    change_where(&mut events, "with two ready replicas", budget, |c| {
        is("MODIFIED")(c) && status(c).replicas == 2 && status(c).ready_replicas == Some(2)
    })
    .await?;
    let fetched = api.get(NAME).await?;
    ensure!(
        fetched.labels().get("test-rc").map(String::as_str) == Some("patched"),
        "the patched label is gone: {:?}",
        fetched.labels()
    );

    replace_status_with_retries(&api, NAME, |rc| {
        let s = rc.status.get_or_insert_with(Default::default);
        s.available_replicas = Some(1);
        s.ready_replicas = Some(1);
    })
    .await?;
    change_where(&mut events, "MODIFIED by the status update", budget, |c| {
        is("MODIFIED")(c)
            && status(c).ready_replicas == Some(1)
            && status(c).available_replicas == Some(1)
    })
    .await?;

    let everywhere = Api::<ReplicationController>::all(ctx.client.clone())
        .list(&ListParams::default().labels(STATIC))
        .await?;
    ensure!(
        everywhere.items.iter().any(|rc| {
            rc.name_any() == NAME
                && rc.namespace().as_deref() == Some(ctx.namespace.as_str())
                && rc.labels().get("test-rc-static").map(String::as_str) == Some("true")
                && rc.labels().get("test-rc").map(String::as_str) == Some("patched")
        }),
        "listed {:?}",
        everywhere
            .items
            .iter()
            .map(|rc| (rc.namespace(), rc.name_any(), rc.labels().clone()))
            .collect::<Vec<_>>()
    );

    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels(STATIC),
    )
    .await?;
    change_where(&mut events, "DELETED", budget, is("DELETED")).await?;
    Ok(())
}
