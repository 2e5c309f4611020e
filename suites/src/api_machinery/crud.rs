//! Create, read, update, delete: the basic contract every resource keeps, shown on ConfigMaps.

use anyhow::ensure;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, PostParams};

use crate::TestContext;
use crate::support::errors::expect_message;
use crate::support::{configmap, expect_status, ns_api};

/// A created object reads back with the same data and server-set metadata.
pub async fn create_then_get_returns_the_object(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let created = api
        .create(
            &PostParams::default(),
            &configmap("crud", &[("app", "crud")], &[("k", "v")]),
        )
        .await?;
    let uid = created.metadata.uid.clone().unwrap_or_default();
    ensure!(!uid.is_empty(), "create did not set metadata.uid");
    ensure!(
        created.metadata.creation_timestamp.is_some(),
        "create did not set creationTimestamp"
    );
    let rv = created.resource_version().unwrap_or_default();
    ensure!(
        !rv.is_empty(),
        "create did not set metadata.resourceVersion"
    );
    ensure!(
        created.metadata.namespace.as_deref() == Some(ctx.namespace.as_str()),
        "namespace not set on create"
    );

    let got = api.get("crud").await?;
    ensure!(
        got.metadata.uid.as_deref() == Some(uid.as_str()),
        "uid differs on get"
    );
    ensure!(
        got.resource_version().as_deref() == Some(rv.as_str()),
        "resourceVersion differs on get"
    );
    ensure!(
        got.data == created.data,
        "data differs: {:?} vs {:?}",
        got.data,
        created.data
    );
    ensure!(
        got.labels().get("app").map(String::as_str) == Some("crud"),
        "labels lost: {:?}",
        got.labels()
    );
    Ok(())
}

/// `generateName` makes a fresh name for each create: the prefix plus five random characters.
pub async fn generate_name_gives_distinct_names_with_the_prefix(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let mut template = configmap("", &[], &[]);
    template.metadata.name = None;
    template.metadata.generate_name = Some("gen-".to_string());
    let a = api.create(&PostParams::default(), &template).await?;
    let b = api.create(&PostParams::default(), &template).await?;
    for object in [&a, &b] {
        let name = object.name_any();
        ensure!(
            name.starts_with("gen-") && name.len() == "gen-".len() + 5,
            "generated name {name:?} is not gen-XXXXX"
        );
        ensure!(
            object.metadata.generate_name.as_deref() == Some("gen-"),
            "generateName not kept on {name}"
        );
        api.get(&name).await?;
    }
    ensure!(
        a.name_any() != b.name_any(),
        "two creates with generateName got the same name {}",
        a.name_any()
    );
    Ok(())
}

/// An update carrying an old resourceVersion loses: 409 Conflict, upstream's wording.
pub async fn update_with_a_stale_resource_version_is_a_conflict(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let original = api
        .create(
            &PostParams::default(),
            &configmap("stale", &[], &[("k", "1")]),
        )
        .await?;
    let mut first = original.clone();
    first.data = Some(crate::support::labels(&[("k", "2")]));
    let updated = api.replace("stale", &PostParams::default(), &first).await?;
    ensure!(
        updated.resource_version() != original.resource_version(),
        "update did not change resourceVersion"
    );

    let mut second = original.clone();
    second.data = Some(crate::support::labels(&[("k", "3")]));
    let status = expect_status(
        api.replace("stale", &PostParams::default(), &second).await,
        409,
        "Conflict",
        "stale update",
    )?;
    expect_message(
        &status,
        "Operation cannot be fulfilled on configmaps \"stale\": the object has been modified; please apply your changes to the latest version and try again",
    )?;
    let now = api.get("stale").await?;
    ensure!(
        now.data == updated.data,
        "the losing update was applied: {:?}",
        now.data
    );
    Ok(())
}

/// Creating a name that exists is 409 AlreadyExists, with the name and resource in details.
pub async fn creating_an_existing_name_is_already_exists(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    api.create(&PostParams::default(), &configmap("twice", &[], &[]))
        .await?;
    let status = expect_status(
        api.create(&PostParams::default(), &configmap("twice", &[], &[]))
            .await,
        409,
        "AlreadyExists",
        "second create",
    )?;
    expect_message(&status, "configmaps \"twice\" already exists")?;
    let details = status.details.as_ref();
    ensure!(
        details.is_some_and(|d| d.name == "twice" && d.kind == "configmaps"),
        "details should name configmaps/twice: {details:?}"
    );
    Ok(())
}

/// After delete the object is gone: get is 404 NotFound, and deleting again is 404 too.
pub async fn deleted_object_is_not_found_afterwards(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    api.create(&PostParams::default(), &configmap("gone", &[], &[]))
        .await?;
    api.delete("gone", &DeleteParams::default()).await?;
    let status = expect_status(api.get("gone").await, 404, "NotFound", "get after delete")?;
    expect_message(&status, "configmaps \"gone\" not found")?;
    let details = status.details.as_ref();
    ensure!(
        details.is_some_and(|d| d.name == "gone" && d.kind == "configmaps"),
        "details should name configmaps/gone: {details:?}"
    );
    expect_status(
        api.delete("gone", &DeleteParams::default()).await,
        404,
        "NotFound",
        "second delete",
    )?;
    Ok(())
}

/// `deletecollection` with a label selector removes exactly the matching objects.
pub async fn delete_collection_removes_only_selected_objects(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    for (name, group) in [("dc-a", "doomed"), ("dc-b", "doomed"), ("dc-c", "kept")] {
        api.create(
            &PostParams::default(),
            &configmap(name, &[("group", group)], &[]),
        )
        .await?;
    }
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("group=doomed"),
    )
    .await?;
    let mut left: Vec<String> = api
        .list(&ListParams::default().labels("group"))
        .await?
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    left.sort();
    ensure!(
        left == ["dc-c"],
        "after deletecollection group=doomed, left {left:?}; want [dc-c]"
    );
    Ok(())
}

/// A replace keeps the uid and creationTimestamp and moves the resourceVersion forward.
pub async fn replace_keeps_identity_and_changes_resource_version(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let created = api
        .create(
            &PostParams::default(),
            &configmap("repl", &[], &[("k", "1")]),
        )
        .await?;
    let mut changed = created.clone();
    changed.data = Some(crate::support::labels(&[("k", "2"), ("extra", "x")]));
    changed.metadata.uid = None;
    changed.metadata.creation_timestamp = None;
    let replaced = api
        .replace("repl", &PostParams::default(), &changed)
        .await?;
    ensure!(
        replaced.metadata.uid == created.metadata.uid,
        "uid changed on replace"
    );
    ensure!(
        replaced.metadata.creation_timestamp == created.metadata.creation_timestamp,
        "creationTimestamp changed on replace"
    );
    ensure!(
        replaced.resource_version() != created.resource_version(),
        "resourceVersion unchanged on replace"
    );
    ensure!(
        replaced.data == changed.data,
        "replace did not store the new data: {:?}",
        replaced.data
    );
    Ok(())
}

/// `dryRun=All` runs a create, update and delete through admission and validation, answers as
/// if done, and persists nothing.
pub async fn dry_run_writes_persist_nothing(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let answered = api
        .create(&dry, &configmap("dry", &[], &[("k", "v")]))
        .await?;
    ensure!(
        answered.name_any() == "dry",
        "a dry-run create answered {answered:?}"
    );
    expect_status(
        api.get("dry").await,
        404,
        "NotFound",
        "get after a dry-run create",
    )?;
    expect_status(
        api.create(&dry, &configmap("Bad_Name", &[], &[])).await,
        422,
        "Invalid",
        "a dry-run create of an invalid object",
    )?;

    let real = api
        .create(
            &PostParams::default(),
            &configmap("wet", &[], &[("k", "1")]),
        )
        .await?;
    let mut changed = real.clone();
    changed.data = Some(crate::support::labels(&[("k", "2")]));
    let answered = api.replace("wet", &dry, &changed).await?;
    ensure!(
        answered.data == changed.data,
        "a dry-run update answered {:?}",
        answered.data
    );
    let stored = api.get("wet").await?;
    ensure!(
        stored.data == real.data && stored.resource_version() == real.resource_version(),
        "a dry-run update was stored"
    );

    api.delete("wet", &DeleteParams::default().dry_run())
        .await?;
    ensure!(
        api.get_opt("wet").await?.is_some(),
        "a dry-run delete removed the object"
    );
    Ok(())
}
