//! Garbage collection through `ownerReferences`: the three propagation policies, owners kept in
//! the foreground until their blocking dependents are gone, dependents with another live owner,
//! dependency cycles, owners that are gone or were replaced, and cluster-scoped owners.
//!
//! Upstream's ReplicationController cases create their dependents through the RC controller;
//! these create them directly (pods no scheduler binds, owned by a ReplicationController of zero
//! replicas whose selector they do not match), so they check the garbage collector alone and run
//! on any target, whatever controllers it has. The Deployment cases are upstream's: the
//! Deployment and ReplicaSet controllers make the dependents, two levels of them.

use anyhow::ensure;
use http::Method;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ReplicationController};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::TestContext;
use crate::support::workloads::{controller_uid, wait_list};
use crate::support::{
    Condition, configmap, deployment, kubectl, ns_api, raw_request, replication_controller,
    unscheduled_pod, wait_budget, wait_for,
};

/// A finalizer of the test's own, to hold a dependent in "terminating".
const HOLD: &str = "kubeproof.io/hold";

/// A reference to `owner`, blocking its foreground deletion when `block`.
fn owner_ref<K: Resource<DynamicType = ()>>(owner: &K, block: bool) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        block_owner_deletion: Some(block),
        controller: None,
    }
}

/// An unbound pod owned by `owners`, labelled so that no RC selects it.
fn owned_pod(name: &str, owners: Vec<OwnerReference>) -> Pod {
    let mut pod = unscheduled_pod(name, &[("gc", "dependent")]);
    pod.metadata.owner_references = Some(owners);
    pod
}

fn owned_configmap(name: &str, owners: Vec<OwnerReference>) -> ConfigMap {
    let mut cm = configmap(name, &[], &[]);
    cm.metadata.owner_references = Some(owners);
    cm
}

/// A ReplicationController of zero replicas, to own pods the test makes.
async fn create_rc(ctx: &TestContext, name: &str) -> anyhow::Result<ReplicationController> {
    let rc = replication_controller(name, 0, &[("gc-rc", name)]);
    Ok(ns_api::<ReplicationController>(ctx)
        .create(&PostParams::default(), &rc)
        .await?)
}

fn owner_names<K: Resource>(obj: &K) -> Vec<String> {
    obj.meta()
        .owner_references
        .iter()
        .flatten()
        .map(|r| r.name.clone())
        .collect()
}

/// Waits until `name` is owned by exactly `owners` (names, in order).
async fn wait_owned_by<K>(
    ctx: &TestContext,
    api: &Api<K>,
    name: &str,
    owners: &[&str],
) -> anyhow::Result<()>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let want: Vec<String> = owners.iter().map(|s| s.to_string()).collect();
    let what = format!("to be owned by {owners:?}");
    wait_for(
        api,
        name,
        Condition::exists_and(what, move |o: &K| owner_names(o) == want),
        wait_budget(ctx),
    )
    .await?;
    Ok(())
}

async fn wait_deleted<K>(ctx: &TestContext, api: &Api<K>, name: &str) -> anyhow::Result<()>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    wait_for(api, name, Condition::deleted(), wait_budget(ctx)).await?;
    Ok(())
}

/// Deleting a ReplicationController with `propagationPolicy: Background` deletes it at once and
/// its pods after it.
pub async fn background_deletion_of_a_replication_controller_deletes_its_pods(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    let rc = create_rc(&ctx, "bg").await?;
    for i in 0..3 {
        pods.create(
            &PostParams::default(),
            &owned_pod(&format!("bg-{i}"), vec![owner_ref(&rc, true)]),
        )
        .await?;
    }
    ns_api::<ReplicationController>(&ctx)
        .delete("bg", &DeleteParams::background())
        .await?;
    for i in 0..3 {
        wait_deleted(&ctx, &pods, &format!("bg-{i}")).await?;
    }
    Ok(())
}

/// Deleting a ReplicationController with `propagationPolicy: Orphan` leaves its pods, with the
/// reference to it removed.
pub async fn orphan_deletion_of_a_replication_controller_leaves_its_pods(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    let rcs = ns_api::<ReplicationController>(&ctx);
    let rc = create_rc(&ctx, "orphaner").await?;
    for i in 0..2 {
        pods.create(
            &PostParams::default(),
            &owned_pod(&format!("orphan-{i}"), vec![owner_ref(&rc, true)]),
        )
        .await?;
    }
    rcs.delete("orphaner", &DeleteParams::orphan()).await?;
    wait_deleted(&ctx, &rcs, "orphaner").await?;
    for i in 0..2 {
        let name = format!("orphan-{i}");
        wait_owned_by(&ctx, &pods, &name, &[]).await?;
        let pod = pods.get(&name).await?;
        ensure!(
            pod.metadata.deletion_timestamp.is_none(),
            "orphaned pod {name} is being deleted"
        );
    }
    Ok(())
}

/// Deleting a ReplicationController with `propagationPolicy: Foreground` marks it with the
/// `foregroundDeletion` finalizer and keeps it while any pod that blocks it remains.
pub async fn foreground_deletion_keeps_the_replication_controller_until_its_pods_are_gone(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    let rcs = ns_api::<ReplicationController>(&ctx);
    let rc = create_rc(&ctx, "keeper").await?;
    let names: Vec<String> = (0..2).map(|i| format!("kept-{i}")).collect();
    for name in &names {
        let mut pod = owned_pod(name, vec![owner_ref(&rc, true)]);
        // Held, so that the controller has to wait for it.
        pod.metadata.finalizers = Some(vec![HOLD.to_string()]);
        pods.create(&PostParams::default(), &pod).await?;
    }
    let answer = rcs.delete("keeper", &DeleteParams::foreground()).await?;
    if let Some(marked) = answer.left() {
        ensure!(
            marked
                .finalizers()
                .iter()
                .any(|f| f == "foregroundDeletion"),
            "foreground delete left finalizers {:?}",
            marked.finalizers()
        );
    }
    for name in &names {
        wait_for(
            &pods,
            name,
            Condition::exists_and("to be deleted by the garbage collector", |p: &Pod| {
                p.metadata.deletion_timestamp.is_some()
            }),
            wait_budget(&ctx),
        )
        .await?;
    }
    let waiting = rcs.get("keeper").await?;
    ensure!(
        waiting.metadata.deletion_timestamp.is_some()
            && waiting
                .finalizers()
                .iter()
                .any(|f| f == "foregroundDeletion"),
        "the controller should wait for its pods in the foreground; finalizers {:?}",
        waiting.finalizers()
    );
    for name in &names {
        pods.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await?;
    }
    for name in &names {
        wait_deleted(&ctx, &pods, name).await?;
    }
    wait_deleted(&ctx, &rcs, "keeper").await
}

/// Of the dependents of an owner deleted in the foreground, those with another live owner stay
/// (losing the reference to the deleted one); the others are deleted, then the owner.
pub async fn dependents_with_another_valid_owner_survive_foreground_deletion(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    let rcs = ns_api::<ReplicationController>(&ctx);
    let first = create_rc(&ctx, "first").await?;
    let second = create_rc(&ctx, "second").await?;
    for i in 0..4 {
        let mut owners = vec![owner_ref(&first, true)];
        if i % 2 == 0 {
            owners.push(owner_ref(&second, false));
        }
        pods.create(
            &PostParams::default(),
            &owned_pod(&format!("shared-{i}"), owners),
        )
        .await?;
    }
    rcs.delete("first", &DeleteParams::foreground()).await?;
    wait_deleted(&ctx, &rcs, "first").await?;
    for i in [1, 3] {
        wait_deleted(&ctx, &pods, &format!("shared-{i}")).await?;
    }
    for i in [0, 2] {
        wait_owned_by(&ctx, &pods, &format!("shared-{i}"), &["second"]).await?;
    }
    ensure!(
        rcs.get_opt("second").await?.is_some(),
        "the other owner was deleted"
    );
    Ok(())
}

/// Three pods owning each other in a circle, every reference blocking: deleting one in the
/// foreground still deletes all three.
pub async fn a_dependency_cycle_does_not_block_foreground_deletion(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    let one = pods
        .create(&PostParams::default(), &owned_pod("cycle-1", vec![]))
        .await?;
    let two = pods
        .create(
            &PostParams::default(),
            &owned_pod("cycle-2", vec![owner_ref(&one, true)]),
        )
        .await?;
    let three = pods
        .create(
            &PostParams::default(),
            &owned_pod("cycle-3", vec![owner_ref(&two, true)]),
        )
        .await?;
    pods.patch(
        "cycle-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"ownerReferences": [owner_ref(&three, true)]}})),
    )
    .await?;
    pods.delete("cycle-1", &DeleteParams::foreground()).await?;
    for name in ["cycle-1", "cycle-2", "cycle-3"] {
        wait_deleted(&ctx, &pods, name).await?;
    }
    Ok(())
}

/// A dependent whose owner reference names an object that no longer exists — here, an object
/// of that name with another uid — is collected; the namesake is not touched.
pub async fn a_dependent_whose_owner_was_replaced_is_collected(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let cms = ns_api::<ConfigMap>(&ctx);
    let original = cms
        .create(&PostParams::default(), &configmap("owner", &[], &[]))
        .await?;
    cms.delete("owner", &DeleteParams::default()).await?;
    wait_deleted(&ctx, &cms, "owner").await?;
    cms.create(&PostParams::default(), &configmap("owner", &[], &[]))
        .await?;
    cms.create(
        &PostParams::default(),
        &owned_configmap("dependent", vec![owner_ref(&original, true)]),
    )
    .await?;
    wait_deleted(&ctx, &cms, "dependent").await?;
    ensure!(
        cms.get_opt("owner").await?.is_some(),
        "the namesake owner was deleted"
    );
    Ok(())
}

/// A cluster-scoped owner (a StorageClass) takes namespaced dependents with it.
pub async fn a_cluster_scoped_owner_takes_its_namespaced_dependents_along(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let classes: Api<StorageClass> = Api::all(ctx.client.clone());
    let name = format!("{}-gc-owner", ctx.namespace);
    let class = StorageClass {
        metadata: kube::api::ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        provisioner: "kubeproof.io/none".to_string(),
        ..Default::default()
    };
    let class = classes.create(&PostParams::default(), &class).await?;
    let cms = ns_api::<ConfigMap>(&ctx);
    cms.create(
        &PostParams::default(),
        &owned_configmap("by-class", vec![owner_ref(&class, true)]),
    )
    .await?;
    classes.delete(&name, &DeleteParams::background()).await?;
    wait_deleted(&ctx, &cms, "by-class").await
}

/// `kubectl delete --cascade=orphan` leaves the dependents without the reference;
/// `--cascade=foreground` returns once the owner is gone, its dependents before it.
pub async fn kubectl_cascade_orphan_and_foreground_are_honoured(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let cms = ns_api::<ConfigMap>(&ctx);
    for owner in ["orphaning-owner", "foreground-owner"] {
        let o = cms
            .create(&PostParams::default(), &configmap(owner, &[], &[]))
            .await?;
        cms.create(
            &PostParams::default(),
            &owned_configmap(&format!("{owner}-dep"), vec![owner_ref(&o, true)]),
        )
        .await?;
    }
    let ns = ctx.namespace.as_str();
    kubectl(
        &ctx,
        &[
            "delete",
            "configmap",
            "orphaning-owner",
            "-n",
            ns,
            "--cascade=orphan",
        ],
    )
    .await?
    .ok()?;
    wait_owned_by(&ctx, &cms, "orphaning-owner-dep", &[]).await?;
    kubectl(
        &ctx,
        &[
            "delete",
            "configmap",
            "foreground-owner",
            "-n",
            ns,
            "--cascade=foreground",
        ],
    )
    .await?
    .ok()?;
    ensure!(
        cms.get_opt("foreground-owner-dep").await?.is_none(),
        "kubectl returned from a foreground delete before the dependent was deleted"
    );
    ensure!(
        cms.get_opt("orphaning-owner-dep").await?.is_some(),
        "the orphaned dependent was deleted"
    );
    Ok(())
}

/// The deprecated `orphanDependents` is still a policy, in the body or the query: `true`
/// orphans, `false` deletes in the background, and together with `propagationPolicy` it is
/// refused.
pub async fn orphan_dependents_still_chooses_between_orphaning_and_background(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let cms = ns_api::<ConfigMap>(&ctx);
    for owner in ["legacy-orphan", "legacy-background", "legacy-query"] {
        let o = cms
            .create(&PostParams::default(), &configmap(owner, &[], &[]))
            .await?;
        cms.create(
            &PostParams::default(),
            &owned_configmap(&format!("{owner}-dep"), vec![owner_ref(&o, true)]),
        )
        .await?;
    }
    let path = |name: &str| format!("/api/v1/namespaces/{}/configmaps/{name}", ctx.namespace);
    let delete = |name: String, body: serde_json::Value| {
        let client = ctx.client.clone();
        async move {
            raw_request(
                &client,
                Method::DELETE,
                &name,
                Some("application/json"),
                serde_json::to_vec(&body)?,
            )
            .await
        }
    };
    let both = delete(
        path("legacy-orphan"),
        json!({"orphanDependents": true, "propagationPolicy": "Orphan"}),
    )
    .await?;
    both.expect(422, "Invalid")?;

    let orphaned = delete(path("legacy-orphan"), json!({"orphanDependents": true})).await?;
    ensure!(
        orphaned.status.is_success(),
        "orphan delete answered {orphaned:?}"
    );
    wait_deleted(&ctx, &cms, "legacy-orphan").await?;
    wait_owned_by(&ctx, &cms, "legacy-orphan-dep", &[]).await?;

    let background = delete(
        path("legacy-background"),
        json!({"orphanDependents": false}),
    )
    .await?;
    ensure!(
        background.status.is_success(),
        "background delete answered {background:?}"
    );
    wait_deleted(&ctx, &cms, "legacy-background-dep").await?;
    ensure!(
        cms.get_opt("legacy-orphan-dep").await?.is_some(),
        "the orphaned dependent was deleted"
    );

    let both = delete(
        format!("{}?orphanDependents=true", path("legacy-query")),
        json!({"propagationPolicy": "Background"}),
    )
    .await?;
    both.expect(422, "Invalid")?;
    let query = delete(
        format!("{}?orphanDependents=true", path("legacy-query")),
        json!({}),
    )
    .await?;
    ensure!(query.status.is_success(), "query delete answered {query:?}");
    wait_deleted(&ctx, &cms, "legacy-query").await?;
    wait_owned_by(&ctx, &cms, "legacy-query-dep", &[]).await?;
    Ok(())
}

/// Upstream's owner Deployment: two replicas of pods that stop at once when deleted, selected by
/// a label of their own.
fn owner_deployment(label: (&str, &str)) -> Deployment {
    let mut d = deployment("simpletest.deployment", 2, &[label]);
    if let Some(spec) = d.spec.template.spec.as_mut() {
        spec.termination_grace_period_seconds = Some(0);
    }
    d
}

/// Waits until the test's namespace holds exactly `deployments` Deployments, `replica_sets`
/// ReplicaSets and `pods` pods (terminating ones included, as upstream counts them).
async fn wait_remaining(
    ctx: &TestContext,
    deployments: usize,
    replica_sets: usize,
    pods: usize,
) -> anyhow::Result<()> {
    let all = ListParams::default();
    let what = |n: usize| format!("to number {n}");
    wait_list(
        ctx,
        &ns_api::<Deployment>(ctx),
        &all,
        &what(deployments),
        |d| d.len() == deployments,
    )
    .await?;
    wait_list(
        ctx,
        &ns_api::<ReplicaSet>(ctx),
        &all,
        &what(replica_sets),
        |rs| rs.len() == replica_sets,
    )
    .await?;
    wait_list(ctx, &ns_api::<Pod>(ctx), &all, &what(pods), |p| {
        p.len() == pods
    })
    .await?;
    Ok(())
}

/// The namespace's Deployments, ReplicaSets and pods, counted now.
async fn remaining(ctx: &TestContext) -> anyhow::Result<(usize, Vec<ReplicaSet>, Vec<Pod>)> {
    let all = ListParams::default();
    let deployments = ns_api::<Deployment>(ctx).list(&all).await?.items.len();
    let replica_sets = ns_api::<ReplicaSet>(ctx).list(&all).await?.items;
    let pods = ns_api::<Pod>(ctx).list(&all).await?.items;
    Ok((deployments, replica_sets, pods))
}

/// Deletes `d` with `propagationPolicy: <policy>` and a precondition on its uid, as upstream does.
async fn delete_deployment(
    ctx: &TestContext,
    d: &Deployment,
    mut params: DeleteParams,
) -> anyhow::Result<()> {
    params.preconditions = Some(Preconditions {
        uid: d.metadata.uid.clone(),
        resource_version: None,
    });
    ns_api::<Deployment>(ctx)
        .delete(&d.name_any(), &params)
        .await?;
    Ok(())
}

/// Upstream's "should delete RS created by deployment when not orphaning": deleting a
/// Deployment with `propagationPolicy: Background` deletes its ReplicaSet, and that the pods.
pub async fn background_deletion_of_a_deployment_deletes_its_replica_sets_and_pods(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let d = ns_api::<Deployment>(&ctx)
        .create(
            &PostParams::default(),
            &owner_deployment(("gctest", "delete-rs")),
        )
        .await?;
    // Upstream deletes as soon as a ReplicaSet exists; waiting for its pods as well makes the
    // pods' deletion part of what is checked rather than a race.
    wait_list(
        &ctx,
        &ns_api::<ReplicaSet>(&ctx),
        &ListParams::default(),
        "to be created by the Deployment",
        |rs| !rs.is_empty(),
    )
    .await?;
    wait_list(
        &ctx,
        &ns_api::<Pod>(&ctx),
        &ListParams::default().labels("gctest=delete-rs"),
        "to be created by the ReplicaSet",
        |pods| pods.len() == 2,
    )
    .await?;
    delete_deployment(&ctx, &d, DeleteParams::background()).await?;
    wait_remaining(&ctx, 0, 0, 0).await
}

/// Upstream's "should orphan RS created by deployment when deleteOptions.PropagationPolicy is
/// Orphan": once the Deployment is gone its ReplicaSet remains, no longer controlled by anyone,
/// and so do the ReplicaSet's pods.
pub async fn orphan_deletion_of_a_deployment_leaves_its_replica_sets_and_pods(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let deployments = ns_api::<Deployment>(&ctx);
    let d = deployments
        .create(
            &PostParams::default(),
            &owner_deployment(("gctest", "orphan-rs")),
        )
        .await?;
    let rs = wait_list(
        &ctx,
        &ns_api::<ReplicaSet>(&ctx),
        &ListParams::default(),
        "to be created by the Deployment",
        |rs| !rs.is_empty(),
    )
    .await?
    .remove(0);
    let generation = rs.metadata.generation;
    wait_for(
        &ns_api::<ReplicaSet>(&ctx),
        &rs.name_any(),
        Condition::exists_and("to have created its replicas", move |rs: &ReplicaSet| {
            rs.status.as_ref().is_some_and(|s| {
                s.observed_generation >= generation && Some(s.replicas) == rs.spec.replicas
            })
        }),
        wait_budget(&ctx),
    )
    .await?;
    delete_deployment(&ctx, &d, DeleteParams::orphan()).await?;
    wait_deleted(&ctx, &deployments, &d.name_any()).await?;
    // Once the Deployment is gone the garbage collector has done all it will: the orphan
    // finalizer is removed only after the dependents' references are.
    let (deployments, replica_sets, pods) = remaining(&ctx).await?;
    ensure!(
        (deployments, replica_sets.len(), pods.len()) == (0, 1, 2),
        "left {deployments} Deployments, ReplicaSets {:?}, pods {:?}",
        replica_sets
            .iter()
            .map(|r| r.name_any())
            .collect::<Vec<_>>(),
        pods.iter().map(|p| p.name_any()).collect::<Vec<_>>()
    );
    let orphan = &replica_sets[0];
    ensure!(
        orphan.owner_references().is_empty() && orphan.metadata.deletion_timestamp.is_none(),
        "the orphaned ReplicaSet keeps owners {:?} (deletion {:?})",
        orphan.owner_references(),
        orphan.metadata.deletion_timestamp
    );
    for pod in &pods {
        ensure!(
            controller_uid(pod) == orphan.metadata.uid && pod.metadata.deletion_timestamp.is_none(),
            "pod {} is not a live pod of the orphaned ReplicaSet: owners {:?}",
            pod.name_any(),
            pod.owner_references()
        );
    }
    Ok(())
}
