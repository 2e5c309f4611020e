//! Discovery and the server's own endpoints: `/version`, `/api`, `/apis` with preferred versions
//! and resource lists, and `/metrics`.

use anyhow::{bail, ensure};
use http::Method;

use crate::TestContext;
use crate::support::raw_request;

/// `/version` reports integer major and minor versions and a `v`-prefixed gitVersion.
pub async fn server_version_has_integer_major_and_minor(ctx: TestContext) -> anyhow::Result<()> {
    let info = ctx.client.apiserver_version().await?;
    let major = info.major.as_str();
    let minor = info.minor.as_str();
    ensure!(
        major.parse::<u32>().is_ok(),
        "major {major:?} is not an integer"
    );
    ensure!(
        minor.trim_end_matches('+').parse::<u32>().is_ok(),
        "minor {minor:?} is not an integer"
    );
    let git = info.git_version.as_str();
    ensure!(
        git.starts_with('v'),
        "gitVersion {git:?} does not start with v"
    );
    Ok(())
}

/// `/api` offers v1, whose resource list has the core resources with their verbs and
/// subresources.
pub async fn core_discovery_lists_v1_resources(ctx: TestContext) -> anyhow::Result<()> {
    let versions = ctx.client.list_core_api_versions().await?;
    ensure!(
        versions.versions.iter().any(|v| v == "v1"),
        "/api versions {:?} lack v1",
        versions.versions
    );
    let resources = ctx.client.list_core_api_resources("v1").await?;
    ensure!(
        resources.group_version == "v1",
        "/api/v1 groupVersion {:?}",
        resources.group_version
    );
    let find = |name: &str| resources.resources.iter().find(|r| r.name == name);
    for (name, kind, namespaced) in [
        ("configmaps", "ConfigMap", true),
        ("pods", "Pod", true),
        ("namespaces", "Namespace", false),
    ] {
        let Some(r) = find(name) else {
            bail!("/api/v1 lacks {name}")
        };
        ensure!(
            r.kind == kind && r.namespaced == namespaced,
            "{name}: kind {} namespaced {}",
            r.kind,
            r.namespaced
        );
        for verb in [
            "create", "delete", "get", "list", "patch", "update", "watch",
        ] {
            ensure!(
                r.verbs.iter().any(|v| v == verb),
                "{name} lacks verb {verb}: {:?}",
                r.verbs
            );
        }
    }
    for sub in [
        "pods/status",
        "pods/binding",
        "namespaces/finalize",
        "namespaces/status",
    ] {
        ensure!(find(sub).is_some(), "/api/v1 lacks subresource {sub}");
    }
    Ok(())
}

/// Every API group names a preferred version among its versions, and each preferred
/// group-version's resource list carries that groupVersion and at least one resource.
pub async fn api_groups_have_preferred_versions_and_resources(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let groups = ctx.client.list_api_groups().await?;
    ensure!(
        groups.groups.iter().any(|g| g.name == "apps"),
        "/apis lacks the apps group"
    );
    for group in &groups.groups {
        let Some(preferred) = &group.preferred_version else {
            bail!("group {} has no preferredVersion", group.name)
        };
        ensure!(
            group
                .versions
                .iter()
                .any(|v| v.group_version == preferred.group_version),
            "group {}: preferred {} is not among its versions",
            group.name,
            preferred.group_version
        );
        let resources = ctx
            .client
            .list_api_group_resources(&preferred.group_version)
            .await?;
        ensure!(
            resources.group_version == preferred.group_version,
            "{} lists groupVersion {}",
            preferred.group_version,
            resources.group_version
        );
        ensure!(
            !resources.resources.is_empty(),
            "{} lists no resources",
            preferred.group_version
        );
    }
    let apps = groups
        .groups
        .iter()
        .find(|g| g.name == "apps")
        .expect("checked above");
    ensure!(
        apps.preferred_version
            .as_ref()
            .map(|p| p.group_version.as_str())
            == Some("apps/v1"),
        "apps prefers {:?}, want apps/v1",
        apps.preferred_version
    );
    Ok(())
}

/// `/metrics` is Prometheus text with upstream's `apiserver_request_total`.
pub async fn metrics_endpoint_exposes_apiserver_request_total(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let response = raw_request(&ctx.client, Method::GET, "/metrics", None, Vec::new()).await?;
    ensure!(
        response.status.is_success(),
        "/metrics answered {}",
        response.status
    );
    ensure!(
        response
            .body
            .lines()
            .any(|l| l.starts_with("apiserver_request_total{")
                || l.starts_with("apiserver_request_total ")),
        "/metrics has no apiserver_request_total sample"
    );
    ensure!(
        response
            .body
            .contains("# TYPE apiserver_request_total counter"),
        "apiserver_request_total is not typed as a counter"
    );
    Ok(())
}
