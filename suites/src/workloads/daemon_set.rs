//! DaemonSets: one pod on every eligible node and on no other, following nodes as they come, go
//! and change their labels; the tolerations every daemon pod gets (so a cordoned node keeps its
//! daemon); failed daemon pods replaced; listing and deleting a collection; the
//! ControllerRevisions that hold a DaemonSet's history, handled through the API beside its
//! controller.
//!
//! Each test runs its DaemonSet on hollow nodes of its own ([`PrivateNodes`]), so "every node"
//! means the test's nodes and no other test's pods or nodes take part.

use anyhow::{Context, ensure};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchParams};
use serde_json::json;

use crate::TestContext;
use crate::support::pods::is_running_and_ready;
use crate::support::scheduling::{NodeShape, PrivateNodes};
use crate::support::workloads::{
    controller_uid, live_pods, node_of, nodes_of, private_daemon_set, wait_ds_ready, wait_list,
    wait_live_pods,
};
use crate::support::{changes_until, labels_of, ns_api, open_watch, wait_budget};

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

/// The label a DaemonSet's ControllerRevisions carry with the hash of their template.
const HASH_LABEL: &str = "controller-revision-hash";

/// Waits until exactly `n` ControllerRevisions match `selector` in the test's namespace.
async fn wait_revisions(
    ctx: &TestContext,
    selector: &str,
    n: usize,
) -> anyhow::Result<Vec<ControllerRevision>> {
    wait_list(
        ctx,
        &ns_api::<ControllerRevision>(ctx),
        &ListParams::default().labels(selector),
        &format!("of {selector} to number {n}"),
        |revs| revs.len() == n,
    )
    .await
}

/// Upstream's "should manage the lifecycle of a ControllerRevision": a DaemonSet's one
/// revision is listed across namespaces and patched; a copy made through the API (same data, the
/// next revision number, controlled by the DaemonSet) stands in for it once it is deleted; the
/// copy is updated; a template change makes the controller add revision 3; deleting the copy as
/// a collection leaves revision 3 alone.
pub async fn controller_revisions_are_listed_patched_created_updated_and_deleted(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const NAME: &str = "e2e-daemon-set";
    const LABEL: &str = "daemonset-name";
    let nodes = PrivateNodes::create(&ctx, "revs", 2, &NodeShape::new()).await?;
    let selector = format!("{LABEL}={}", ctx.namespace);
    let mut ds = private_daemon_set(&ctx, NAME)?;
    ds.labels_mut().insert(LABEL.into(), ctx.namespace.clone());
    ds.spec
        .template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(Default::default)
        .insert(LABEL.into(), ctx.namespace.clone());
    create(&ctx, &ds).await?;
    wait_ds_ready(&ctx, NAME, 2).await?;
    let pods = wait_live_pods(
        &ctx,
        &format!("app={NAME}"),
        2,
        "running and ready",
        is_running_and_ready,
    )
    .await?;
    ensure!(
        nodes_of(&pods) == sorted(nodes.names()),
        "daemon pods on {:?}, nodes {:?}",
        nodes_of(&pods),
        nodes.names()
    );
    let listed = Api::<DaemonSet>::all(ctx.client.clone())
        .list(&ListParams::default().labels(&selector))
        .await?;
    ensure!(listed.items.len() == 1, "{} DaemonSets", listed.items.len());
    let ds = ns_api::<DaemonSet>(&ctx).get(NAME).await?;

    let revisions = ns_api::<ControllerRevision>(&ctx);
    let everywhere = Api::<ControllerRevision>::all(ctx.client.clone())
        .list(&ListParams::default().labels(&selector))
        .await?;
    let names: Vec<String> = everywhere.items.iter().map(|r| r.name_any()).collect();
    ensure!(
        names.len() == 1,
        "ControllerRevisions of {selector}: {names:?}"
    );
    let owner = everywhere.items[0].owner_references().first().cloned();
    ensure!(
        owner
            .as_ref()
            .is_some_and(|o| o.kind == "DaemonSet" && Some(&o.uid) == ds.metadata.uid.as_ref()),
        "{} is owned by {owner:?}, not the DaemonSet",
        names[0]
    );
    let initial = revisions.get(&names[0]).await?;
    let initial_name = initial.name_any();

    let patched = revisions
        .patch(
            &initial_name,
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {initial_name.as_str(): "patched"}}})),
        )
        .await?;
    ensure!(
        patched.labels().get(&initial_name).map(String::as_str) == Some("patched"),
        "patched labels {:?}",
        patched.labels()
    );

    // Upstream names its copy after a hash it computes the controller's way; the controller's
    // hash here is not upstream's, so the copy gets a name of its own.
    let copy_hash = "e2e-copy";
    let copy_name = format!("{NAME}-{copy_hash}");
    let mut copy_labels = ds
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    copy_labels.insert(HASH_LABEL.into(), copy_hash.into());
    let copy = ControllerRevision {
        metadata: kube::api::ObjectMeta {
            name: Some(copy_name.clone()),
            labels: Some(copy_labels),
            annotations: ds.metadata.annotations.clone(),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "DaemonSet".into(),
                name: NAME.into(),
                uid: ds.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        data: initial.data.clone(),
        revision: Some(initial.revision.unwrap_or(0) + 1),
    };
    // Both now match the template, so any sync of the DaemonSet — its own status write, a pod
    // changing — keeps the higher revision and deletes the original, upstream's
    // `dedupCurHistories` and ours. The watch sees the two exist together however soon that is.
    let listed = revisions
        .list(&ListParams::default().labels(&selector))
        .await?;
    let rv = listed.metadata.resource_version.unwrap_or_default();
    let mut events = open_watch(&revisions, &WatchParams::default().labels(&selector), &rv).await?;
    revisions.create(&PostParams::default(), &copy).await?;
    let seen = changes_until(&mut events, "ADDED", &copy_name, wait_budget(&ctx)).await?;
    ensure!(
        !labels_of(&seen).contains(&format!("DELETED {initial_name}")),
        "{initial_name} was deleted before its copy existed: {:?}",
        labels_of(&seen)
    );

    match revisions
        .delete(&initial_name, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        // Only if the controller has deleted it already: then the watch shows it.
        Err(kube::Error::Api(e)) if e.code == 404 => {
            changes_until(&mut events, "DELETED", &initial_name, wait_budget(&ctx))
                .await
                .context("the delete answered 404 for a revision nobody deleted")?;
        }
        Err(e) => return Err(e.into()),
    }
    wait_revisions(&ctx, &selector, 1).await?;
    let left = revisions.list(&ListParams::default()).await?.items;
    let current_name = left.first().map(|r| r.name_any()).unwrap_or_default();
    ensure!(
        left.len() == 1 && current_name == copy_name,
        "after deleting {initial_name} the namespace holds {:?}",
        left.iter().map(|r| r.name_any()).collect::<Vec<_>>()
    );

    let mut attempts = 0;
    let updated = loop {
        let mut current = revisions.get(&current_name).await?;
        current
            .labels_mut()
            .insert(current_name.clone(), "updated".into());
        match revisions
            .replace(&current_name, &PostParams::default(), &current)
            .await
        {
            Ok(r) => break r,
            // Written in between (upstream retries on conflict).
            Err(kube::Error::Api(e)) if e.code == 409 && attempts < 5 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    };
    ensure!(
        updated.labels().get(&current_name).map(String::as_str) == Some("updated"),
        "updated labels {:?}",
        updated.labels()
    );

    // Upstream's patch, with its misplaced top-level `updateStrategy` (not a DaemonSet field:
    // dropped, with a warning). The private DaemonSet already stops in 1 s, so 2.
    ns_api::<DaemonSet>(&ctx)
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Strategic(json!({
                "spec": {"template": {"spec": {"terminationGracePeriodSeconds": 2}}},
                "updateStrategy": {"type": "RollingUpdate"},
            })),
        )
        .await?;
    wait_revisions(&ctx, &selector, 2).await?;

    revisions
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&format!("{current_name}=updated")),
        )
        .await?;
    wait_revisions(&ctx, &selector, 1).await?;
    let left = revisions.list(&ListParams::default()).await?.items;
    ensure!(
        left.len() == 1 && left[0].revision == Some(3),
        "left {:?}",
        left.iter()
            .map(|r| (r.name_any(), r.revision))
            .collect::<Vec<_>>()
    );
    let last = &left[0];
    ensure!(
        last.owner_references()
            .iter()
            .any(|o| o.controller == Some(true) && Some(&o.uid) == ds.metadata.uid.as_ref()),
        "revision 3 {} is not controlled by the DaemonSet: {:?}",
        last.name_any(),
        last.owner_references()
    );
    nodes.delete().await
}
