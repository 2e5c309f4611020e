//! Waiting on workload controllers and their pods: a controller's status counts, the live pods
//! of a selector, and who owns them.

use std::fmt::Debug;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
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

/// Waits until the objects of `api` matching `params` satisfy `test`: a list, then a watch from
/// its resourceVersion, listing again on every change (and when the watch ends or expires).
/// Returns the satisfying list.
pub async fn wait_list<K>(
    ctx: &TestContext,
    api: &Api<K>,
    params: &ListParams,
    what: &str,
    test: impl Fn(&[K]) -> bool,
) -> anyhow::Result<Vec<K>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let watch_params = WatchParams {
        label_selector: params.label_selector.clone(),
        field_selector: params.field_selector.clone(),
        ..WatchParams::default()
    };
    let mut last = Vec::new();
    let waited = tokio::time::timeout(wait_budget(ctx), async {
        loop {
            let listed = api.list(params).await?;
            let rv = listed.metadata.resource_version.clone().unwrap_or_default();
            last = listed.items;
            if test(&last) {
                return anyhow::Ok(());
            }
            let mut events = api.watch(&watch_params, &rv).await?.boxed();
            while let Some(event) = events.try_next().await? {
                if matches!(event, WatchEvent::Bookmark(_) | WatchEvent::Error(_)) {
                    break;
                }
                let listed = api.list(params).await?;
                last = listed.items;
                if test(&last) {
                    return Ok(());
                }
            }
        }
    })
    .await;
    match waited {
        Ok(result) => result.map(|()| last),
        Err(_) => {
            let names: Vec<String> = last.iter().map(|o| o.name_any()).collect();
            anyhow::bail!(
                "timed out waiting for {} {what}; last saw {names:?}",
                K::kind(&())
            )
        }
    }
}

/// Waits until exactly `count` live pods of `selector` exist and `test` holds of all of them.
pub async fn wait_live_pods(
    ctx: &TestContext,
    selector: &str,
    count: usize,
    what: &str,
    test: impl Fn(&Pod) -> bool,
) -> anyhow::Result<Vec<Pod>> {
    let live = |pods: &[Pod]| -> Vec<Pod> {
        let mut live: Vec<Pod> = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .cloned()
            .collect();
        live.sort_by_key(|p| p.name_any());
        live
    };
    let what = format!("{count} live pods of {selector} {what}");
    let pods = wait_list(
        ctx,
        &ns_api::<Pod>(ctx),
        &ListParams::default().labels(selector),
        &what,
        |pods| {
            let live = live(pods);
            live.len() == count && live.iter().all(&test)
        },
    )
    .await?;
    Ok(live(&pods))
}
