//! LimitRange admission: defaults applied to a pod's containers, and min / max /
//! maxLimitRequestRatio violations refused with 403 Forbidden and upstream's messages.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{LimitRange, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::TestContext;
use crate::support::errors::expect_message;
use crate::support::{expect_status, ns_api, unscheduled_pod};

fn limit_range(name: &str, container_limits: Value) -> LimitRange {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"limits": [container_limits]},
    }))
    .expect("a valid LimitRange")
}

fn standard_limits() -> Value {
    json!({
        "type": "Container",
        "default": {"cpu": "500m", "memory": "500Mi"},
        "defaultRequest": {"cpu": "100m", "memory": "200Mi"},
        "min": {"cpu": "50m", "memory": "100Mi"},
        "max": {"cpu": "1", "memory": "1Gi"},
    })
}

fn pod_with(name: &str, resources: Value) -> Pod {
    let mut p = unscheduled_pod(name, &[]);
    p.spec.as_mut().expect("fixture pod has a spec").containers[0].resources =
        Some(serde_json::from_value(resources).expect("valid resource requirements"));
    p
}

fn resources_of(p: &Pod) -> Value {
    let r = p
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.resources.clone());
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// A pod without resources gets the LimitRange's defaultRequest and default; a pod with only a
/// cpu limit keeps it, gets it as its cpu request, and gets the memory defaults.
pub async fn limit_range_defaults_are_applied_to_containers(
    ctx: TestContext,
) -> anyhow::Result<()> {
    ns_api::<LimitRange>(&ctx)
        .create(
            &PostParams::default(),
            &limit_range("defaults", standard_limits()),
        )
        .await?;
    let pods = ns_api::<Pod>(&ctx);

    let bare = pods
        .create(&PostParams::default(), &unscheduled_pod("bare", &[]))
        .await?;
    let want = json!({"limits": {"cpu": "500m", "memory": "500Mi"}, "requests": {"cpu": "100m", "memory": "200Mi"}});
    ensure!(
        resources_of(&bare) == want,
        "a bare pod's resources are {}, want {want}",
        resources_of(&bare)
    );
    let note = bare
        .annotations()
        .get("kubernetes.io/limit-ranger")
        .cloned()
        .unwrap_or_default();
    ensure!(
        note.starts_with("LimitRanger plugin set:"),
        "kubernetes.io/limit-ranger annotation is {note:?}"
    );

    let partial = pods
        .create(
            &PostParams::default(),
            &pod_with("partial", json!({"limits": {"cpu": "300m"}})),
        )
        .await?;
    let want = json!({"limits": {"cpu": "300m", "memory": "500Mi"}, "requests": {"cpu": "300m", "memory": "200Mi"}});
    ensure!(
        resources_of(&partial) == want,
        "a cpu-limited pod's resources are {}, want {want}",
        resources_of(&partial)
    );
    Ok(())
}

/// A request below the minimum is refused.
pub async fn limit_range_refuses_requests_below_the_minimum(
    ctx: TestContext,
) -> anyhow::Result<()> {
    ns_api::<LimitRange>(&ctx)
        .create(
            &PostParams::default(),
            &limit_range("floor", standard_limits()),
        )
        .await?;
    let tiny = pod_with(
        "tiny",
        json!({"requests": {"cpu": "10m", "memory": "200Mi"}, "limits": {"cpu": "500m", "memory": "500Mi"}}),
    );
    let status = expect_status(
        ns_api::<Pod>(&ctx)
            .create(&PostParams::default(), &tiny)
            .await,
        403,
        "Forbidden",
        "a request below min",
    )?;
    expect_message(
        &status,
        "pods \"tiny\" is forbidden: minimum cpu usage per Container is 50m, but request is 10m",
    )?;
    Ok(())
}

/// A limit above the maximum is refused.
pub async fn limit_range_refuses_limits_above_the_maximum(ctx: TestContext) -> anyhow::Result<()> {
    ns_api::<LimitRange>(&ctx)
        .create(
            &PostParams::default(),
            &limit_range("ceiling", standard_limits()),
        )
        .await?;
    let huge = pod_with(
        "huge",
        json!({"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"cpu": "500m", "memory": "2Gi"}}),
    );
    let status = expect_status(
        ns_api::<Pod>(&ctx)
            .create(&PostParams::default(), &huge)
            .await,
        403,
        "Forbidden",
        "a limit above max",
    )?;
    expect_message(
        &status,
        "pods \"huge\" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi",
    )?;
    Ok(())
}

/// A limit/request ratio above maxLimitRequestRatio is refused.
pub async fn limit_range_refuses_a_limit_to_request_ratio_above_the_maximum(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let limits = json!({"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}});
    ns_api::<LimitRange>(&ctx)
        .create(&PostParams::default(), &limit_range("ratio", limits))
        .await?;
    let spiky = pod_with(
        "spiky",
        json!({"requests": {"cpu": "100m"}, "limits": {"cpu": "500m"}}),
    );
    let status = expect_status(
        ns_api::<Pod>(&ctx)
            .create(&PostParams::default(), &spiky)
            .await,
        403,
        "Forbidden",
        "a ratio above max",
    )?;
    expect_message(
        &status,
        "pods \"spiky\" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000",
    )?;
    Ok(())
}

/// LimitRanges are listed across namespaces by label, patched, and deleted as a collection.
pub async fn limit_ranges_are_listed_patched_and_deleted_by_collection(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<LimitRange>(&ctx);
    let selector = format!("limitrange={}", ctx.namespace);
    for name in ["lr-a", "lr-b"] {
        let mut lr = limit_range(name, standard_limits());
        lr.labels_mut()
            .insert("limitrange".into(), ctx.namespace.clone());
        api.create(&PostParams::default(), &lr).await?;
    }
    let everywhere: Api<LimitRange> = Api::all(ctx.client.clone());
    let listed = everywhere
        .list(&ListParams::default().labels(&selector))
        .await?;
    ensure!(
        listed.items.len() == 2,
        "listing across namespaces by label found {} LimitRanges",
        listed.items.len()
    );

    let patch = json!({"metadata": {"labels": {"patched": "yes"}}, "spec": {"limits": [{
        "type": "Container", "max": {"cpu": "2", "memory": "2Gi"}, "min": {"cpu": "50m", "memory": "100Mi"},
        "default": {"cpu": "500m", "memory": "500Mi"}, "defaultRequest": {"cpu": "100m", "memory": "200Mi"}
    }]}});
    let patched = api
        .patch("lr-a", &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    let max_cpu = patched
        .spec
        .as_ref()
        .and_then(|s| s.limits.first())
        .and_then(|l| l.max.as_ref())
        .and_then(|m| m.get("cpu"))
        .map(|q| q.0.clone());
    ensure!(
        max_cpu.as_deref() == Some("2") && patched.labels().contains_key("patched"),
        "patch not applied: max cpu {max_cpu:?}"
    );

    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels(&selector),
    )
    .await?;
    ensure!(
        api.list(&ListParams::default().labels(&selector))
            .await?
            .items
            .is_empty(),
        "deletecollection left LimitRanges"
    );
    Ok(())
}
