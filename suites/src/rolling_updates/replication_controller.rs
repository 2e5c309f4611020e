//! The classic rolling update of a ReplicationController, as `kubectl rolling-update` did it
//! client-side before it was removed (kubectl 1.18, `pkg/kubectl/rolling_updater.go`): the test
//! is that client. It adds a `deployment` key to the old controller's template, pods and
//! selector, creates `<name>-<hash>` with zero replicas, then moves one pod at a time (new up by
//! one and ready, old down by one: maxSurge 1, maxUnavailable 0), deletes the old controller and
//! renames the new one to the old name by creating a copy and deleting the hashed one with
//! its pods orphaned, so the copy adopts them.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::rollout::{Invariants, RolloutWatch, Watched};
use crate::support::workloads::{
    controller_uid, live_pods, wait_gone, wait_live_pods, wait_object, wait_rc_ready,
};
use crate::support::{ns_api, replication_controller};

const REPLICAS: i32 = 3;

/// kubectl's name for the new controller's template: a hash of what changed (here the image).
fn hash(image: &str) -> String {
    crate::support::short_hash(image)
}

fn with_image(mut rc: ReplicationController, image: &str) -> ReplicationController {
    if let Some(c) = rc
        .spec
        .as_mut()
        .and_then(|s| s.template.as_mut())
        .and_then(|t| t.spec.as_mut())
        .and_then(|s| s.containers.first_mut())
    {
        c.image = Some(image.into());
    }
    rc
}

async fn scale(ctx: &TestContext, name: &str, replicas: i32) -> anyhow::Result<()> {
    ns_api::<ReplicationController>(ctx)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await?;
    Ok(())
}

/// Waits until `name` has `ready` ready replicas and `replicas` in its spec has been observed.
async fn wait_ready(ctx: &TestContext, name: &str, ready: i32) -> anyhow::Result<()> {
    let what = format!("to have {ready} ready replicas");
    wait_object(
        ctx,
        &ns_api(ctx),
        name,
        &what,
        move |rc: &ReplicationController| {
            let s = rc.status.clone().unwrap_or_default();
            s.observed_generation == rc.metadata.generation
                && s.replicas == ready
                && s.available_replicas.unwrap_or(0) == ready
        },
    )
    .await?;
    Ok(())
}

/// The classic rolling update, checked on every state: never more than 4 pods, never fewer
/// than 3 available; the renamed controller keeps the new pods.
pub async fn a_client_side_rolling_update_replaces_a_replication_controller_one_pod_at_a_time(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let rcs = ns_api::<ReplicationController>(&ctx);
    let old = with_image(
        replication_controller("web", REPLICAS, &[("app", "web")]),
        "nginx:1.0",
    );
    rcs.create(&PostParams::default(), &old).await?;
    wait_rc_ready(&ctx, "web", REPLICAS).await?;

    // AddDeploymentKeyToReplicationController: template, then pods, then selector.
    let old_hash = hash("nginx:1.0");
    rcs.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"template": {"metadata": {"labels": {"deployment": old_hash}}}}}),
        ),
    )
    .await?;
    for p in live_pods(&ctx, "app=web").await? {
        ns_api::<Pod>(&ctx)
            .patch(
                &p.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"deployment": old_hash}}})),
            )
            .await?;
    }
    rcs.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"selector": {"deployment": old_hash}}})),
    )
    .await?;
    wait_rc_ready(&ctx, "web", REPLICAS).await?;

    let watch = RolloutWatch::start(
        &ctx,
        "app=web",
        Watched::ReplicationControllers(Invariants {
            replicas: REPLICAS,
            max_surge: 1,
            max_unavailable: 0,
            ..Invariants::default()
        }),
    )
    .await?;
    let new_hash = hash("nginx:1.1");
    let new_name = format!("web-{new_hash}");
    let mut new = with_image(
        replication_controller(&new_name, 0, &[("app", "web"), ("deployment", &new_hash)]),
        "nginx:1.1",
    );
    new.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    new.metadata.annotations = Some(
        [(
            "kubectl.kubernetes.io/desired-replicas".to_string(),
            REPLICAS.to_string(),
        )]
        .into(),
    );
    rcs.create(&PostParams::default(), &new).await?;
    for step in 1..=REPLICAS {
        scale(&ctx, &new_name, step).await?;
        wait_ready(&ctx, &new_name, step).await?;
        scale(&ctx, "web", REPLICAS - step).await?;
        wait_ready(&ctx, "web", REPLICAS - step).await?;
    }
    let report = watch.finish().await?;
    ensure!(report.max_pods <= (REPLICAS + 1) as usize, "{report:?}");
    ensure!(
        report.min_available == Some(REPLICAS as usize),
        "{report:?}"
    );

    // Delete the old controller, then rename the new one: a copy under the old name adopts the
    // pods the hashed one leaves orphaned.
    rcs.delete("web", &DeleteParams::default()).await?;
    wait_gone(&ctx, &rcs, "web").await?;
    let hashed = rcs.get(&new_name).await?;
    let mut renamed = hashed.clone();
    renamed.metadata = kube::api::ObjectMeta {
        name: Some("web".into()),
        labels: hashed.metadata.labels.clone(),
        annotations: hashed.metadata.annotations.clone(),
        ..Default::default()
    };
    renamed.status = None;
    let renamed = rcs.create(&PostParams::default(), &renamed).await?;
    rcs.delete(&new_name, &DeleteParams::orphan()).await?;
    wait_gone(&ctx, &rcs, &new_name).await?;
    let uid = renamed.uid();
    let selector = format!("app=web,deployment={new_hash}");
    wait_live_pods(
        &ctx,
        &selector,
        REPLICAS as usize,
        "adopted by the renamed controller",
        |p| controller_uid(p) == uid,
    )
    .await?;
    wait_rc_ready(&ctx, "web", REPLICAS).await?;
    let all = ns_api::<Pod>(&ctx)
        .list(&ListParams::default().labels("app=web"))
        .await?;
    let images: Vec<String> = all
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.spec.as_ref()?.containers.first()?.image.clone())
        .collect();
    ensure!(
        images == vec!["nginx:1.1"; REPLICAS as usize],
        "images after the update: {images:?}"
    );
    Ok(())
}
