//! `kubectl apply`: a multi-document manifest creates every object; applying it again is
//! `unchanged`, applying a change is `configured`; broken manifests fail with kubectl's usual
//! error text.

use anyhow::ensure;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, ReplicationController, Service};

use super::manifests::bundle;
use crate::TestContext;
use crate::support::{kubectl_with_stdin, ns_api};

/// Applying the bundle creates all four objects (as kubectl reports and the API confirms).
pub async fn apply_multi_document_manifest_creates_every_object(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let out = kubectl_with_stdin(&ctx, &["apply", "-f", "-"], &bundle(&ctx.namespace, "one"))
        .await?
        .ok()?;
    for line in [
        "configmap/kc-config created",
        "service/kc-svc created",
        "replicationcontroller/kc-rc created",
        "deployment.apps/kc-deploy created",
    ] {
        ensure!(
            out.lines().any(|l| l.trim() == line),
            "kubectl apply output lacks {line:?}:\n{out}"
        );
    }
    let cm = ns_api::<ConfigMap>(&ctx).get("kc-config").await?;
    ensure!(
        cm.data
            .unwrap_or_default()
            .get("marker")
            .map(String::as_str)
            == Some("one"),
        "configmap data not applied"
    );
    ns_api::<Service>(&ctx).get("kc-svc").await?;
    ns_api::<ReplicationController>(&ctx).get("kc-rc").await?;
    ns_api::<Deployment>(&ctx).get("kc-deploy").await?;
    Ok(())
}

/// Applying the same manifest twice reports `unchanged`; applying a change reports
/// `configured` for the changed object only.
pub async fn apply_twice_is_unchanged_and_a_change_is_configured(
    ctx: TestContext,
) -> anyhow::Result<()> {
    kubectl_with_stdin(&ctx, &["apply", "-f", "-"], &bundle(&ctx.namespace, "one"))
        .await?
        .ok()?;
    let again = kubectl_with_stdin(&ctx, &["apply", "-f", "-"], &bundle(&ctx.namespace, "one"))
        .await?
        .ok()?;
    for line in [
        "configmap/kc-config unchanged",
        "service/kc-svc unchanged",
        "replicationcontroller/kc-rc unchanged",
        "deployment.apps/kc-deploy unchanged",
    ] {
        ensure!(
            again.lines().any(|l| l.trim() == line),
            "second apply output lacks {line:?}:\n{again}"
        );
    }
    let changed = kubectl_with_stdin(&ctx, &["apply", "-f", "-"], &bundle(&ctx.namespace, "two"))
        .await?
        .ok()?;
    ensure!(
        changed
            .lines()
            .any(|l| l.trim() == "configmap/kc-config configured"),
        "changed apply output:\n{changed}"
    );
    ensure!(
        changed
            .lines()
            .any(|l| l.trim() == "service/kc-svc unchanged"),
        "changed apply output:\n{changed}"
    );
    let cm = ns_api::<ConfigMap>(&ctx).get("kc-config").await?;
    ensure!(
        cm.data
            .unwrap_or_default()
            .get("marker")
            .map(String::as_str)
            == Some("two"),
        "the change was not applied"
    );
    Ok(())
}

/// Invalid YAML fails with kubectl's parse error; an unknown field under strict validation
/// fails naming the field.
pub async fn broken_manifests_fail_with_kubectls_error_text(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let invalid_yaml = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n  namespace: {}\n",
        ctx.namespace
    );
    let err = kubectl_with_stdin(&ctx, &["apply", "-f", "-"], &invalid_yaml)
        .await?
        .failed()?;
    ensure!(
        err.contains("error: error parsing") || err.contains("error converting YAML to JSON"),
        "invalid YAML: kubectl said {err:?}"
    );

    let unknown = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kc-strict\n  namespace: {ns}\nspec:\n  foo: bar\n  selector:\n    matchLabels:\n      app: kc-strict\n  template:\n    metadata:\n      labels:\n        app: kc-strict\n    spec:\n      containers:\n      - name: app\n        image: {img}\n",
        ns = ctx.namespace,
        img = crate::support::PAUSE_IMAGE
    );
    let err = kubectl_with_stdin(&ctx, &["apply", "--validate=strict", "-f", "-"], &unknown)
        .await?
        .failed()?;
    ensure!(
        err.contains("unknown field \"spec.foo\""),
        "unknown field under strict validation: kubectl said {err:?}"
    );
    ensure!(
        ns_api::<Deployment>(&ctx)
            .get_opt("kc-strict")
            .await?
            .is_none(),
        "the strict-rejected deployment was created"
    );
    Ok(())
}
