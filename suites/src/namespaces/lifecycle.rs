//! Namespace lifecycle: creation (Active, the `kubernetes` finalizer, the name label), updates,
//! status and finalizers through their subresources, isolation of equal names, the deletion
//! cascade, and the terminating-namespace rule.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::errors::expect_message;
use crate::support::{
    Condition, configmap, create_child_namespace, delete_namespace, expect_status, service,
    unscheduled_pod, wait_budget, wait_for,
};

fn namespaces(ctx: &TestContext) -> Api<Namespace> {
    Api::all(ctx.client.clone())
}

fn phase(ns: &Namespace) -> Option<&str> {
    ns.status.as_ref().and_then(|s| s.phase.as_deref())
}

/// A new namespace is Active, carries the `kubernetes` finalizer and the
/// `kubernetes.io/metadata.name` label.
pub async fn new_namespace_is_active_with_the_kubernetes_finalizer(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let name = create_child_namespace(&ctx, "fresh").await?;
    let ns = namespaces(&ctx).get(&name).await?;
    ensure!(
        phase(&ns) == Some("Active"),
        "phase {:?}, want Active",
        phase(&ns)
    );
    let finalizers = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    ensure!(
        finalizers == ["kubernetes"],
        "spec.finalizers {finalizers:?}, want [kubernetes]"
    );
    ensure!(
        ns.labels().get("kubernetes.io/metadata.name") == Some(&name),
        "labels {:?} lack kubernetes.io/metadata.name={name}",
        ns.labels()
    );
    delete_namespace(&ctx, &name).await?;
    Ok(())
}

/// Patching a namespace adds a label; updating it persists a changed label.
pub async fn namespace_patch_and_update_persist(ctx: TestContext) -> anyhow::Result<()> {
    let api = namespaces(&ctx);
    let name = create_child_namespace(&ctx, "edit").await?;
    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"testLabel": "testValue"}}})),
    )
    .await?;
    let patched = api.get(&name).await?;
    ensure!(
        patched.labels().get("testLabel").map(String::as_str) == Some("testValue"),
        "patch lost: {:?}",
        patched.labels()
    );

    let mut updated = patched.clone();
    updated
        .labels_mut()
        .insert("testLabel".into(), "updated".into());
    api.replace(&name, &PostParams::default(), &updated).await?;
    let read = api.get(&name).await?;
    ensure!(
        read.labels().get("testLabel").map(String::as_str) == Some("updated"),
        "update lost: {:?}",
        read.labels()
    );
    delete_namespace(&ctx, &name).await?;
    Ok(())
}

/// Namespace status changes go through `/status` (patch and update both persist), while a
/// status write cannot change the spec.
pub async fn namespace_status_changes_persist_through_the_status_subresource(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = namespaces(&ctx);
    let name = create_child_namespace(&ctx, "status").await?;
    let condition = json!({"type": "StatusPatch", "status": "True", "reason": "E2E", "message": "Patched by an e2e test"});
    let patched = api
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [condition]}})),
        )
        .await?;
    let conditions = patched
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    ensure!(
        conditions
            .iter()
            .any(|c| c.type_ == "StatusPatch" && c.reason.as_deref() == Some("E2E")),
        "patched status lacks the condition: {conditions:?}"
    );
    ensure!(
        phase(&patched) == Some("Active"),
        "a status patch changed the phase to {:?}",
        phase(&patched)
    );

    let mut updated = api.get(&name).await?;
    if let Some(status) = updated.status.as_mut() {
        for c in status.conditions.iter_mut().flatten() {
            c.message = Some("Updated by an e2e test".into());
        }
    }
    updated.spec.get_or_insert_with(Default::default).finalizers =
        Some(vec!["kubernetes".into(), "kubeproof.io/sneaky".into()]);
    let after = api
        .replace_status(&name, &PostParams::default(), &updated)
        .await?;
    let conditions = after
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    ensure!(
        conditions
            .iter()
            .any(|c| c.message.as_deref() == Some("Updated by an e2e test")),
        "updated status lacks the new message: {conditions:?}"
    );
    let finalizers = after
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    ensure!(
        finalizers == ["kubernetes"],
        "a status update changed spec.finalizers to {finalizers:?}"
    );
    delete_namespace(&ctx, &name).await?;
    Ok(())
}

/// `spec.finalizers` change only through `/finalize`: an ordinary update leaves them alone,
/// a finalize update adds and removes one.
pub async fn namespace_finalizers_change_only_through_finalize(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = namespaces(&ctx);
    let name = create_child_namespace(&ctx, "finalize").await?;
    let fake = "kubeproof.io/fake-finalizer";
    let with = |mut ns: Namespace, list: Vec<&str>| {
        ns.spec.get_or_insert_with(Default::default).finalizers =
            Some(list.into_iter().map(String::from).collect());
        ns
    };
    let finalizers = |ns: &Namespace| {
        ns.spec
            .as_ref()
            .and_then(|s| s.finalizers.clone())
            .unwrap_or_default()
    };

    let current = api.get(&name).await?;
    let ignored = api
        .replace(
            &name,
            &PostParams::default(),
            &with(current, vec!["kubernetes", fake]),
        )
        .await?;
    ensure!(
        finalizers(&ignored) == ["kubernetes"],
        "an ordinary update changed spec.finalizers to {:?}",
        finalizers(&ignored)
    );

    let current = api.get(&name).await?;
    let added = api
        .replace_subresource(
            "finalize",
            &name,
            &PostParams::default(),
            &with(current, vec!["kubernetes", fake]),
        )
        .await?;
    ensure!(
        finalizers(&added) == ["kubernetes", fake],
        "finalize did not add {fake}: {:?}",
        finalizers(&added)
    );

    let current = api.get(&name).await?;
    let removed = api
        .replace_subresource(
            "finalize",
            &name,
            &PostParams::default(),
            &with(current, vec!["kubernetes"]),
        )
        .await?;
    ensure!(
        finalizers(&removed) == ["kubernetes"],
        "finalize did not remove {fake}: {:?}",
        finalizers(&removed)
    );
    delete_namespace(&ctx, &name).await?;
    Ok(())
}

/// The same name in two namespaces is two independent objects.
pub async fn same_name_in_two_namespaces_is_two_objects(ctx: TestContext) -> anyhow::Result<()> {
    let other = create_child_namespace(&ctx, "twin").await?;
    let here: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let there: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &other);
    let a = here
        .create(
            &PostParams::default(),
            &configmap("shared", &[], &[("where", "here")]),
        )
        .await?;
    let b = there
        .create(
            &PostParams::default(),
            &configmap("shared", &[], &[("where", "there")]),
        )
        .await?;
    ensure!(
        a.uid() != b.uid(),
        "both namespaces' objects have uid {:?}",
        a.uid()
    );
    let read = here.get("shared").await?;
    ensure!(
        read.data
            .unwrap_or_default()
            .get("where")
            .map(String::as_str)
            == Some("here"),
        "reading here got the other namespace's object"
    );
    there.delete("shared", &Default::default()).await?;
    ensure!(
        here.get_opt("shared").await?.is_some(),
        "deleting there removed the object here"
    );
    expect_status(
        there.get("shared").await,
        404,
        "NotFound",
        "the deleted twin",
    )?;
    delete_namespace(&ctx, &other).await?;
    Ok(())
}

/// Creating in a namespace that does not exist is 404 NotFound naming the namespace.
pub async fn creating_in_a_missing_namespace_is_not_found(ctx: TestContext) -> anyhow::Result<()> {
    let missing = crate::support::child_namespace_name(&ctx, "absent");
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &missing);
    let status = expect_status(
        api.create(&PostParams::default(), &configmap("orphan", &[], &[]))
            .await,
        404,
        "NotFound",
        "create in a missing namespace",
    )?;
    expect_message(&status, &format!("namespaces \"{missing}\" not found"))?;
    Ok(())
}

/// Deleting a namespace marks it Terminating, removes its pods, services and configmaps, and
/// then removes the namespace.
pub async fn deleting_a_namespace_removes_its_objects(ctx: TestContext) -> anyhow::Result<()> {
    let name = create_child_namespace(&ctx, "doomed").await?;
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &name);
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &name);
    let configmaps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
    for i in 0..3 {
        pods.create(
            &PostParams::default(),
            &unscheduled_pod(&format!("pod-{i}"), &[("doomed", "yes")]),
        )
        .await?;
    }
    services
        .create(
            &PostParams::default(),
            &service("svc", &[("doomed", "yes")]),
        )
        .await?;
    configmaps
        .create(
            &PostParams::default(),
            &configmap("cm", &[("doomed", "yes")], &[]),
        )
        .await?;

    let api = namespaces(&ctx);
    let answer = api.delete(&name, &Default::default()).await?;
    if let Some(ns) = answer.left() {
        ensure!(
            phase(&ns) == Some("Terminating"),
            "the deleted namespace's phase is {:?}, want Terminating",
            phase(&ns)
        );
        ensure!(
            ns.metadata.deletion_timestamp.is_some(),
            "the deleted namespace has no deletionTimestamp"
        );
    }
    if let Some(ns) = api.get_opt(&name).await? {
        ensure!(
            phase(&ns) == Some("Terminating"),
            "while deleting, phase is {:?}, want Terminating",
            phase(&ns)
        );
    }
    wait_for(&api, &name, Condition::deleted(), wait_budget(&ctx) * 2).await?;
    let lp = ListParams::default().labels("doomed=yes");
    ensure!(
        pods.list(&ListParams::default()).await?.items.is_empty(),
        "pods survived their namespace"
    );
    ensure!(
        services
            .list(&ListParams::default())
            .await?
            .items
            .is_empty(),
        "services survived their namespace"
    );
    ensure!(
        configmaps.list(&lp).await?.items.is_empty(),
        "configmaps survived their namespace"
    );
    Ok(())
}

/// A namespace held by an object's finalizer stays Terminating; creating in it is 403 Forbidden
/// with upstream's wording; removing the finalizer lets the namespace go.
pub async fn terminating_namespace_forbids_new_objects(ctx: TestContext) -> anyhow::Result<()> {
    let name = create_child_namespace(&ctx, "closing").await?;
    let configmaps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
    let mut held = configmap("held", &[], &[]);
    held.metadata.finalizers = Some(vec!["kubeproof.io/hold".into()]);
    configmaps.create(&PostParams::default(), &held).await?;

    let api = namespaces(&ctx);
    api.delete(&name, &Default::default()).await?;
    wait_for(
        &api,
        &name,
        Condition::exists_and("to be Terminating", |ns: &Namespace| {
            phase(ns) == Some("Terminating")
        }),
        wait_budget(&ctx),
    )
    .await?;

    let status = expect_status(
        configmaps
            .create(&PostParams::default(), &configmap("latecomer", &[], &[]))
            .await,
        403,
        "Forbidden",
        "create in a terminating namespace",
    )?;
    expect_message(
        &status,
        &format!(
            "configmaps \"latecomer\" is forbidden: unable to create new content in namespace {name} because it is being terminated"
        ),
    )?;

    configmaps
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await?;
    wait_for(&api, &name, Condition::deleted(), wait_budget(&ctx) * 2).await?;
    Ok(())
}
