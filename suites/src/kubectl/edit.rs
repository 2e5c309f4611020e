//! kubectl verbs that change objects: `label`, `annotate`, `scale` (with a failing
//! `--current-replicas` precondition) and `set image`, each read back through the API.

use anyhow::ensure;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ReplicationController};
use kube::ResourceExt;
use kube::api::PostParams;

use super::manifests::bundle;
use crate::TestContext;
use crate::support::{configmap, kubectl, kubectl_with_stdin, ns_api, unscheduled_pod};

/// `kubectl label` adds a label to a pod and `key-` removes it.
pub async fn kubectl_label_adds_and_removes_a_label(ctx: TestContext) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    pods.create(&PostParams::default(), &unscheduled_pod("labelled", &[]))
        .await?;
    let ns = ctx.namespace.as_str();
    let out = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "label",
            "pods",
            "labelled",
            "testing-label=testing-label-value",
        ],
    )
    .await?
    .ok()?;
    ensure!(
        out.trim() == "pod/labelled labeled",
        "kubectl label printed {out:?}"
    );
    let pod = pods.get("labelled").await?;
    ensure!(
        pod.labels().get("testing-label").map(String::as_str) == Some("testing-label-value"),
        "label not set: {:?}",
        pod.labels()
    );

    let out = kubectl(
        &ctx,
        &["-n", ns, "label", "pods", "labelled", "testing-label-"],
    )
    .await?
    .ok()?;
    ensure!(
        out.trim() == "pod/labelled unlabeled",
        "kubectl label key- printed {out:?}"
    );
    let pod = pods.get("labelled").await?;
    ensure!(
        !pod.labels().contains_key("testing-label"),
        "label not removed: {:?}",
        pod.labels()
    );
    Ok(())
}

/// `kubectl annotate` sets an annotation that the API then shows; `--overwrite` replaces it.
pub async fn kubectl_annotate_sets_an_annotation(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    api.create(&PostParams::default(), &configmap("annotated", &[], &[]))
        .await?;
    let ns = ctx.namespace.as_str();
    let out = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "annotate",
            "configmap",
            "annotated",
            "kubeproof.io/note=first",
        ],
    )
    .await?
    .ok()?;
    ensure!(
        out.trim() == "configmap/annotated annotated",
        "kubectl annotate printed {out:?}"
    );
    let cm = api.get("annotated").await?;
    ensure!(
        cm.annotations()
            .get("kubeproof.io/note")
            .map(String::as_str)
            == Some("first"),
        "annotations {:?}",
        cm.annotations()
    );

    let err = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "annotate",
            "configmap",
            "annotated",
            "kubeproof.io/note=second",
        ],
    )
    .await?
    .failed()?;
    ensure!(
        err.contains("--overwrite is false but found the following declared annotation(s)"),
        "annotate without --overwrite said {err:?}"
    );
    kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "annotate",
            "--overwrite",
            "configmap",
            "annotated",
            "kubeproof.io/note=second",
        ],
    )
    .await?
    .ok()?;
    let cm = api.get("annotated").await?;
    ensure!(
        cm.annotations()
            .get("kubeproof.io/note")
            .map(String::as_str)
            == Some("second"),
        "annotations {:?}",
        cm.annotations()
    );
    Ok(())
}

/// `kubectl scale rc --replicas=3` changes spec.replicas; a `--current-replicas` that does not
/// match fails with kubectl's precondition error and changes nothing.
pub async fn kubectl_scale_sets_replicas_and_checks_the_precondition(
    ctx: TestContext,
) -> anyhow::Result<()> {
    kubectl_with_stdin(
        &ctx,
        &["apply", "-f", "-"],
        &bundle(&ctx.namespace, "scale"),
    )
    .await?
    .ok()?;
    let ns = ctx.namespace.as_str();
    let out = kubectl(&ctx, &["-n", ns, "scale", "rc/kc-rc", "--replicas=3"])
        .await?
        .ok()?;
    ensure!(
        out.trim() == "replicationcontroller/kc-rc scaled",
        "kubectl scale printed {out:?}"
    );
    let rcs = ns_api::<ReplicationController>(&ctx);
    let replicas = rcs.get("kc-rc").await?.spec.and_then(|s| s.replicas);
    ensure!(
        replicas == Some(3),
        "spec.replicas after scale is {replicas:?}, want 3"
    );

    let err = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "scale",
            "rc/kc-rc",
            "--current-replicas=5",
            "--replicas=1",
        ],
    )
    .await?
    .failed()?;
    ensure!(
        err.contains("Expected replicas to be 5, was 3"),
        "a mismatched --current-replicas said {err:?}"
    );
    let replicas = rcs.get("kc-rc").await?.spec.and_then(|s| s.replicas);
    ensure!(
        replicas == Some(3),
        "a failed precondition changed spec.replicas to {replicas:?}"
    );

    kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "scale",
            "rc/kc-rc",
            "--current-replicas=3",
            "--replicas=0",
        ],
    )
    .await?
    .ok()?;
    let replicas = rcs.get("kc-rc").await?.spec.and_then(|s| s.replicas);
    ensure!(
        replicas == Some(0),
        "a matching precondition did not scale: {replicas:?}"
    );
    Ok(())
}

/// `kubectl set image` changes a deployment's container image.
pub async fn kubectl_set_image_updates_the_container_image(ctx: TestContext) -> anyhow::Result<()> {
    kubectl_with_stdin(
        &ctx,
        &["apply", "-f", "-"],
        &bundle(&ctx.namespace, "image"),
    )
    .await?
    .ok()?;
    let ns = ctx.namespace.as_str();
    let out = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "set",
            "image",
            "deployment/kc-deploy",
            "app=registry.k8s.io/pause:3.9",
        ],
    )
    .await?
    .ok()?;
    ensure!(
        out.trim() == "deployment.apps/kc-deploy image updated",
        "kubectl set image printed {out:?}"
    );
    let d = ns_api::<Deployment>(&ctx).get("kc-deploy").await?;
    let image = d
        .spec
        .template
        .spec
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    ensure!(
        image.as_deref() == Some("registry.k8s.io/pause:3.9"),
        "image after set image is {image:?}"
    );
    Ok(())
}

/// `kubectl patch` adds an annotation to a pod.
pub async fn kubectl_patch_adds_an_annotation(ctx: TestContext) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    pods.create(&PostParams::default(), &unscheduled_pod("patched", &[]))
        .await?;
    let ns = ctx.namespace.as_str();
    let out = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "patch",
            "pod",
            "patched",
            "-p",
            r#"{"metadata":{"annotations":{"x":"y"}}}"#,
        ],
    )
    .await?
    .ok()?;
    ensure!(
        out.trim() == "pod/patched patched",
        "kubectl patch printed {out:?}"
    );
    let pod = pods.get("patched").await?;
    ensure!(
        pod.annotations().get("x").map(String::as_str) == Some("y"),
        "annotations {:?}",
        pod.annotations()
    );
    Ok(())
}

/// `kubectl patch --dry-run=server` answers with the patched pod but leaves the stored pod alone.
pub async fn kubectl_server_side_dry_run_leaves_the_pod_unchanged(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    let before = pods
        .create(&PostParams::default(), &unscheduled_pod("dry", &[]))
        .await?;
    let ns = ctx.namespace.as_str();
    let patch = r#"{"spec":{"containers":[{"name":"app","image":"registry.k8s.io/pause:3.9"}]}}"#;
    let answered = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "patch",
            "pod",
            "dry",
            "-p",
            patch,
            "--dry-run=server",
            "-o",
            "json",
        ],
    )
    .await?
    .json()?;
    ensure!(
        answered["spec"]["containers"][0]["image"] == "registry.k8s.io/pause:3.9",
        "the dry-run answer does not show the patch: {}",
        answered["spec"]["containers"][0]
    );
    let after = pods.get("dry").await?;
    let image = after
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone());
    ensure!(
        image.as_deref() == Some(crate::support::PAUSE_IMAGE),
        "a server-side dry run changed the image to {image:?}"
    );
    ensure!(
        after.resource_version() == before.resource_version(),
        "a server-side dry run moved resourceVersion"
    );
    Ok(())
}

/// `kubectl replace` replaces a pod's container image from a modified manifest.
pub async fn kubectl_replace_updates_the_container_image(ctx: TestContext) -> anyhow::Result<()> {
    let pods = ns_api::<Pod>(&ctx);
    pods.create(&PostParams::default(), &unscheduled_pod("replaced", &[]))
        .await?;
    let ns = ctx.namespace.as_str();
    let mut manifest = kubectl(&ctx, &["-n", ns, "get", "pod", "replaced", "-o", "json"])
        .await?
        .json()?;
    manifest["spec"]["containers"][0]["image"] = serde_json::json!("registry.k8s.io/pause:3.9");
    let out = kubectl_with_stdin(
        &ctx,
        &["-n", ns, "replace", "-f", "-"],
        &manifest.to_string(),
    )
    .await?
    .ok()?;
    ensure!(
        out.trim() == "pod/replaced replaced",
        "kubectl replace printed {out:?}"
    );
    let image = pods
        .get("replaced")
        .await?
        .spec
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    ensure!(
        image.as_deref() == Some("registry.k8s.io/pause:3.9"),
        "image after replace is {image:?}"
    );
    Ok(())
}
