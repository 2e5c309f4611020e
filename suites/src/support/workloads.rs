//! Waiting on workload controllers and their pods: a controller's status counts, the live pods
//! of a selector, and who owns them.

use std::fmt::Debug;

use anyhow::Context;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Condition, ns_api, wait_budget, wait_for};
use crate::TestContext;

/// Waits until `name` of `api` exists and `test` holds; returns it.
pub async fn wait_object<K>(
    ctx: &TestContext,
    api: &Api<K>,
    name: &str,
    what: &str,
    test: impl Fn(&K) -> bool + Send + Sync + 'static,
) -> anyhow::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug + Send + 'static,
{
    wait_for(
        api,
        name,
        Condition::exists_and(what, test),
        wait_budget(ctx),
    )
    .await?
    .with_context(|| format!("{name} vanished"))
}

/// Waits until `name` no longer exists.
pub async fn wait_gone<K>(ctx: &TestContext, api: &Api<K>, name: &str) -> anyhow::Result<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug + Send + 'static,
{
    wait_for(api, name, Condition::deleted(), wait_budget(ctx)).await?;
    Ok(())
}

/// Waits until ReplicationController `name` has observed its generation and reports `ready`
/// ready and available replicas out of `ready`.
pub async fn wait_rc_ready(
    ctx: &TestContext,
    name: &str,
    ready: i32,
) -> anyhow::Result<ReplicationController> {
    let what = format!("to have {ready} ready and available replicas");
    wait_object(
        ctx,
        &ns_api(ctx),
        name,
        &what,
        move |rc: &ReplicationController| {
            let s = rc.status.clone().unwrap_or_default();
            s.observed_generation == rc.metadata.generation
                && s.replicas == ready
                && s.ready_replicas.unwrap_or(0) == ready
                && s.available_replicas.unwrap_or(0) == ready
        },
    )
    .await
}

/// Waits until ReplicaSet `name` reports `ready` ready and available replicas out of `ready`.
pub async fn wait_rs_ready(
    ctx: &TestContext,
    name: &str,
    ready: i32,
) -> anyhow::Result<ReplicaSet> {
    let what = format!("to have {ready} ready and available replicas");
    wait_object(ctx, &ns_api(ctx), name, &what, move |rs: &ReplicaSet| {
        let s = rs.status.clone().unwrap_or_default();
        s.observed_generation == rs.metadata.generation
            && s.replicas == ready
            && s.ready_replicas.unwrap_or(0) == ready
            && s.available_replicas.unwrap_or(0) == ready
    })
    .await
}

/// The pods of `selector` in the test's namespace that are not being deleted, by name.
pub async fn live_pods(ctx: &TestContext, selector: &str) -> anyhow::Result<Vec<Pod>> {
    let mut pods: Vec<Pod> = ns_api::<Pod>(ctx)
        .list(&ListParams::default().labels(selector))
        .await?
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    pods.sort_by_key(|p| p.name_any());
    Ok(pods)
}

/// The uid of the pod's controller, if it has one.
pub fn controller_uid(pod: &Pod) -> Option<String> {
    pod.owner_references()
        .iter()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.clone())
}

/// Waits until exactly `count` live pods of `selector` exist and `test` holds of all of them.
pub async fn wait_live_pods(
    ctx: &TestContext,
    selector: &str,
    count: usize,
    what: &str,
    test: impl Fn(&Pod) -> bool,
) -> anyhow::Result<Vec<Pod>> {
    let deadline = tokio::time::Instant::now() + wait_budget(ctx);
    loop {
        let pods = live_pods(ctx, selector).await?;
        if pods.len() == count && pods.iter().all(&test) {
            return Ok(pods);
        }
        if tokio::time::Instant::now() >= deadline {
            let names: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
            anyhow::bail!(
                "timed out waiting for {count} pods of {selector} {what}; last saw {names:?}"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
