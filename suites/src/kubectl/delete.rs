//! kubectl deletions: `delete -l selector` and `delete namespace` followed by
//! `wait --for=delete`.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};

use crate::TestContext;
use crate::support::{configmap, create_child_namespace, kubectl, ns_api};

/// `kubectl delete configmaps -l …` deletes exactly the selected objects and says so.
pub async fn kubectl_delete_with_a_label_selector_deletes_only_matches(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    for (name, fate) in [("del-1", "doomed"), ("del-2", "doomed"), ("del-3", "kept")] {
        api.create(
            &PostParams::default(),
            &configmap(name, &[("fate", fate)], &[]),
        )
        .await?;
    }
    let out = kubectl(
        &ctx,
        &[
            "-n",
            ctx.namespace.as_str(),
            "delete",
            "configmaps",
            "-l",
            "fate=doomed",
        ],
    )
    .await?
    .ok()?;
    let mut lines: Vec<&str> = out.lines().map(str::trim).collect();
    lines.sort();
    ensure!(
        lines == ["configmap \"del-1\" deleted", "configmap \"del-2\" deleted"],
        "kubectl delete -l printed {lines:?}"
    );
    let left: Vec<String> = api
        .list(&ListParams::default().labels("fate"))
        .await?
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    ensure!(left == ["del-3"], "left after delete -l: {left:?}");
    Ok(())
}

/// `kubectl delete namespace --wait=false` then `kubectl wait --for=delete` returns once the
/// namespace is gone.
pub async fn kubectl_delete_namespace_then_wait_for_delete(ctx: TestContext) -> anyhow::Result<()> {
    let name = create_child_namespace(&ctx, "kc-gone").await?;
    Api::<ConfigMap>::namespaced(ctx.client.clone(), &name)
        .create(&PostParams::default(), &configmap("inside", &[], &[]))
        .await?;
    let target = format!("namespace/{name}");
    let out = kubectl(&ctx, &["delete", &target, "--wait=false"])
        .await?
        .ok()?;
    ensure!(
        out.trim() == format!("namespace \"{name}\" deleted"),
        "kubectl delete namespace printed {out:?}"
    );
    let waited = kubectl(&ctx, &["wait", "--for=delete", &target, "--timeout=60s"]).await?;
    let gone = Api::<Namespace>::all(ctx.client.clone())
        .get_opt(&name)
        .await?
        .is_none();
    ensure!(
        waited.success,
        "kubectl wait --for=delete failed: {}",
        waited.stderr
    );
    ensure!(
        gone,
        "kubectl wait --for=delete returned but namespace {name} still exists"
    );
    Ok(())
}
