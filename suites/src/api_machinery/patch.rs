//! Patch types: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch
//! (lists merged by key: containers and env by name; `$patch: delete`).

use std::collections::BTreeMap;

use anyhow::ensure;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar};
use kube::ResourceExt;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::errors::expect_message;
use crate::support::{configmap, container, deployment, expect_status, ns_api};

fn env(pairs: &[(&str, &str)]) -> Vec<EnvVar> {
    pairs
        .iter()
        .map(|(n, v)| EnvVar {
            name: n.to_string(),
            value: Some(v.to_string()),
            ..EnvVar::default()
        })
        .collect()
}

/// A deployment whose pods have containers `a` (env X=1, Y=2) and `b`.
fn two_container_deployment(name: &str) -> Deployment {
    let mut d = deployment(name, 0, &[("app", name)]);
    let spec = d
        .spec
        .template
        .spec
        .as_mut()
        .expect("fixture template has a spec");
    spec.containers = vec![
        Container {
            env: Some(env(&[("X", "1"), ("Y", "2")])),
            ..container("a")
        },
        container("b"),
    ];
    d
}

fn containers(d: &Deployment) -> Vec<Container> {
    d.spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default()
}

/// JSON patch applies add, replace and remove in order, and a failing `test` op rejects the
/// whole patch.
pub async fn json_patch_applies_operations_in_order(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    api.create(
        &PostParams::default(),
        &configmap("jp", &[], &[("a", "1"), ("b", "2")]),
    )
    .await?;
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/data/c", "value": "3"},
        {"op": "replace", "path": "/data/a", "value": "10"},
        {"op": "remove", "path": "/data/b"},
        {"op": "add", "path": "/metadata/labels", "value": {"patched": "json"}},
    ]))?;
    let patched = api
        .patch("jp", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await?;
    let want: BTreeMap<String, String> = [("a", "10"), ("c", "3")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ensure!(
        patched.data.as_ref() == Some(&want),
        "data after JSON patch: {:?}, want {want:?}",
        patched.data
    );
    ensure!(
        patched.labels().get("patched").map(String::as_str) == Some("json"),
        "labels after JSON patch: {:?}",
        patched.labels()
    );

    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/a", "value": "999"},
        {"op": "replace", "path": "/data/a", "value": "never"},
    ]))?;
    let result = api
        .patch("jp", &PatchParams::default(), &Patch::Json::<()>(failing))
        .await;
    expect_status(result, 422, "Invalid", "JSON patch with a failing test op")?;
    ensure!(
        api.get("jp").await?.data.as_ref() == Some(&want),
        "a rejected JSON patch changed the object"
    );
    Ok(())
}

/// Merge patch sets keys, deletes keys given `null`, and replaces lists wholesale.
pub async fn merge_patch_sets_removes_and_replaces_lists(ctx: TestContext) -> anyhow::Result<()> {
    let cms = ns_api::<ConfigMap>(&ctx);
    cms.create(
        &PostParams::default(),
        &configmap("mp", &[], &[("a", "1"), ("b", "2")]),
    )
    .await?;
    let patched = cms
        .patch(
            "mp",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": null, "c": "3"}})),
        )
        .await?;
    let data = patched.data.unwrap_or_default();
    ensure!(
        data.len() == 2
            && data.get("b").map(String::as_str) == Some("2")
            && data.get("c").map(String::as_str) == Some("3"),
        "data after merge patch: {data:?}, want b=2, c=3"
    );

    let deployments = ns_api::<Deployment>(&ctx);
    deployments
        .create(&PostParams::default(), &two_container_deployment("mp-list"))
        .await?;
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "registry.k8s.io/pause:3.9"}]}}}});
    let patched = deployments
        .patch("mp-list", &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    let cs = containers(&patched);
    ensure!(
        cs.len() == 1
            && cs[0].name == "b"
            && cs[0].image.as_deref() == Some("registry.k8s.io/pause:3.9"),
        "a merge patch must replace the containers list wholesale; got {:?}",
        cs.iter().map(|c| (&c.name, &c.image)).collect::<Vec<_>>()
    );
    Ok(())
}

/// Strategic merge patch merges containers by name: the named container changes, the others stay.
pub async fn strategic_merge_patch_merges_containers_by_name(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    api.create(
        &PostParams::default(),
        &two_container_deployment("smp-containers"),
    )
    .await?;
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "registry.k8s.io/pause:3.9"}]}}}});
    let patched = api
        .patch(
            "smp-containers",
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await?;
    let cs = containers(&patched);
    let summary: Vec<(String, Option<String>)> = cs
        .iter()
        .map(|c| (c.name.clone(), c.image.clone()))
        .collect();
    ensure!(
        cs.len() == 2,
        "strategic merge changed the number of containers: {summary:?}"
    );
    ensure!(
        cs[0].name == "a" && cs[0].image.as_deref() == Some(crate::support::PAUSE_IMAGE),
        "container a changed: {summary:?}"
    );
    ensure!(
        cs[1].name == "b" && cs[1].image.as_deref() == Some("registry.k8s.io/pause:3.9"),
        "container b not patched: {summary:?}"
    );
    ensure!(
        cs[0].env.as_ref().map(Vec::len) == Some(2),
        "container a's env was lost: {:?}",
        cs[0].env
    );
    Ok(())
}

/// Strategic merge patch merges env by name: existing names are updated, new ones added, others kept.
pub async fn strategic_merge_patch_merges_env_by_name(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    api.create(&PostParams::default(), &two_container_deployment("smp-env"))
        .await?;
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a", "env": [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}]}
    ]}}}});
    let patched = api
        .patch("smp-env", &PatchParams::default(), &Patch::Strategic(patch))
        .await?;
    let cs = containers(&patched);
    let a = cs
        .iter()
        .find(|c| c.name == "a")
        .ok_or_else(|| anyhow::anyhow!("container a vanished"))?;
    let got: BTreeMap<String, String> = a
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect();
    let want: BTreeMap<String, String> = [("X", "1"), ("Y", "3"), ("Z", "4")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ensure!(
        got == want,
        "env after strategic merge: {got:?}, want {want:?}"
    );
    ensure!(
        cs.len() == 2,
        "strategic merge on env changed the containers list"
    );
    Ok(())
}

/// `$patch: delete` in a strategic merge patch removes the list item with that key.
pub async fn strategic_merge_patch_delete_directive_removes_an_item(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    api.create(
        &PostParams::default(),
        &two_container_deployment("smp-delete"),
    )
    .await?;
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "$patch": "delete"}]}}}});
    let patched = api
        .patch(
            "smp-delete",
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await?;
    let names: Vec<String> = containers(&patched).into_iter().map(|c| c.name).collect();
    ensure!(
        names == ["a"],
        "after $patch: delete of b, containers are {names:?}"
    );
    Ok(())
}

/// A patch carrying a stale `metadata.resourceVersion` is a 409 Conflict, like an update.
pub async fn patch_with_a_stale_resource_version_is_a_conflict(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let created = api
        .create(
            &PostParams::default(),
            &configmap("patch-rv", &[], &[("k", "1")]),
        )
        .await?;
    api.patch(
        "patch-rv",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await?;
    let stale =
        json!({"metadata": {"resourceVersion": created.resource_version()}, "data": {"k": "3"}});
    let status = expect_status(
        api.patch("patch-rv", &PatchParams::default(), &Patch::Merge(stale))
            .await,
        409,
        "Conflict",
        "merge patch with a stale resourceVersion",
    )?;
    expect_message(
        &status,
        "Operation cannot be fulfilled on configmaps \"patch-rv\"",
    )?;
    Ok(())
}
