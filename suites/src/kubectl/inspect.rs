//! kubectl verbs that read: `get -l … -o json`, the `get pods` table, `describe`,
//! `api-versions`, `version` and `cluster-info`.

use std::collections::BTreeSet;

use anyhow::ensure;
use k8s_openapi::api::core::v1::Pod;
use kube::api::PostParams;

use super::manifests::bundle;
use crate::TestContext;
use crate::support::{kubectl, kubectl_with_stdin, ns_api, unscheduled_pod};

/// `kubectl get … -l selector -o json` returns a List of exactly the selected objects.
pub async fn kubectl_get_with_a_label_selector_prints_json(ctx: TestContext) -> anyhow::Result<()> {
    kubectl_with_stdin(&ctx, &["apply", "-f", "-"], &bundle(&ctx.namespace, "get"))
        .await?
        .ok()?;
    let ns = ctx.namespace.as_str();
    let kinds_of = |list: &serde_json::Value| -> BTreeSet<String> {
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                format!(
                    "{}/{}",
                    i["kind"].as_str().unwrap_or(""),
                    i["metadata"]["name"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let all = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "get",
            "configmaps,services,rc,deployments",
            "-l",
            "app=kc",
            "-o",
            "json",
        ],
    )
    .await?
    .json()?;
    ensure!(
        all["kind"] == "List",
        "kubectl get -o json printed kind {}",
        all["kind"]
    );
    let want: BTreeSet<String> = [
        "ConfigMap/kc-config",
        "Service/kc-svc",
        "ReplicationController/kc-rc",
        "Deployment/kc-deploy",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    ensure!(
        kinds_of(&all) == want,
        "app=kc selected {:?}, want {want:?}",
        kinds_of(&all)
    );

    let workloads = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "get",
            "configmaps,services,rc,deployments",
            "-l",
            "app=kc,part in (workload)",
            "-o",
            "json",
        ],
    )
    .await?
    .json()?;
    let want: BTreeSet<String> = ["ReplicationController/kc-rc", "Deployment/kc-deploy"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    ensure!(
        kinds_of(&workloads) == want,
        "part in (workload) selected {:?}",
        kinds_of(&workloads)
    );

    let not_config = kubectl(
        &ctx,
        &[
            "-n",
            ns,
            "get",
            "configmaps,services",
            "-l",
            "app=kc,part!=config",
            "-o",
            "json",
        ],
    )
    .await?
    .json()?;
    let want: BTreeSet<String> = ["Service/kc-svc"].iter().map(|s| s.to_string()).collect();
    ensure!(
        kinds_of(&not_config) == want,
        "part!=config selected {:?}",
        kinds_of(&not_config)
    );
    Ok(())
}

/// `kubectl get pods` prints upstream's table header: NAME READY STATUS RESTARTS AGE.
pub async fn kubectl_get_pods_prints_the_table_header(ctx: TestContext) -> anyhow::Result<()> {
    ns_api::<Pod>(&ctx)
        .create(&PostParams::default(), &unscheduled_pod("tabled", &[]))
        .await?;
    let out = kubectl(&ctx, &["-n", ctx.namespace.as_str(), "get", "pods"])
        .await?
        .ok()?;
    let mut lines = out.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    ensure!(
        header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "kubectl get pods header is {header:?}:\n{out}"
    );
    let row: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    ensure!(
        row.first() == Some(&"tabled")
            && row.get(1) == Some(&"0/1")
            && row.get(2) == Some(&"Pending"),
        "pod row is {row:?}"
    );
    Ok(())
}

/// `kubectl describe` prints Name, Namespace and Labels for a configmap and an RC.
pub async fn kubectl_describe_prints_name_namespace_and_labels(
    ctx: TestContext,
) -> anyhow::Result<()> {
    kubectl_with_stdin(
        &ctx,
        &["apply", "-f", "-"],
        &bundle(&ctx.namespace, "describe"),
    )
    .await?
    .ok()?;
    let ns = ctx.namespace.as_str();
    for (target, name) in [("configmap/kc-config", "kc-config"), ("rc/kc-rc", "kc-rc")] {
        let out = kubectl(&ctx, &["-n", ns, "describe", target]).await?.ok()?;
        let field = |key: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(key).map(str::trim).map(str::to_string))
        };
        ensure!(
            field("Name:").as_deref() == Some(name),
            "describe {target}: Name line wrong:\n{out}"
        );
        ensure!(
            field("Namespace:").as_deref() == Some(ns),
            "describe {target}: Namespace line wrong:\n{out}"
        );
        ensure!(
            field("Labels:").is_some_and(|l| l.contains("app=kc")),
            "describe {target}: Labels line wrong:\n{out}"
        );
    }
    Ok(())
}

/// `kubectl api-versions` lists v1 (and apps/v1).
pub async fn kubectl_api_versions_lists_v1(ctx: TestContext) -> anyhow::Result<()> {
    let out = kubectl(&ctx, &["api-versions"]).await?.ok()?;
    let versions: Vec<&str> = out.lines().map(str::trim).collect();
    ensure!(
        versions.contains(&"v1") && versions.contains(&"apps/v1"),
        "kubectl api-versions printed {versions:?}"
    );
    Ok(())
}

/// `kubectl version -o json` reports both the client and the server version.
pub async fn kubectl_version_reports_client_and_server(ctx: TestContext) -> anyhow::Result<()> {
    let v = kubectl(&ctx, &["version", "-o", "json"]).await?.json()?;
    ensure!(
        v["clientVersion"]["major"].is_string(),
        "no clientVersion: {v}"
    );
    ensure!(
        v["serverVersion"]["major"].is_string() && v["serverVersion"]["gitVersion"].is_string(),
        "no serverVersion: {v}"
    );
    Ok(())
}

/// `kubectl cluster-info` reports where the control plane runs.
pub async fn kubectl_cluster_info_reports_the_control_plane(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let out = kubectl(&ctx, &["cluster-info"]).await?.ok()?;
    ensure!(
        out.contains("Kubernetes control plane") && out.contains("is running at"),
        "kubectl cluster-info printed {out:?}"
    );
    Ok(())
}
