//! Waiting on workload controllers and their pods: a controller's status counts, the live pods
//! of a selector, and who owns them; DaemonSets on a test's private nodes, and Jobs; replacing
//! an object (or its status) again after a conflict.

use std::fmt::Debug;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, ReplicaSet};
use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
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

/// A DaemonSet `name` of pods labelled `app=<name>` that runs on this test's private nodes only
/// (see [`super::scheduling::PrivateNodes`]): it selects their label and tolerates their taint,
/// so every other test's nodes are ineligible and its pods land nowhere else.
pub fn private_daemon_set(ctx: &TestContext, name: &str) -> anyhow::Result<DaemonSet> {
    use super::scheduling::{TEST_KEY, private_toleration};
    let mut template = super::pod_template(&[("app", name)]);
    let spec = template.spec.as_mut().context("a template has a spec")?;
    spec.node_selector = Some([(TEST_KEY.to_owned(), ctx.namespace.clone())].into());
    spec.tolerations = Some(vec![private_toleration(&ctx.namespace)]);
    spec.termination_grace_period_seconds = Some(1);
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": template},
    }))?)
}

/// Waits until DaemonSet `name` has observed its generation and reports `nodes` nodes that
/// should run its pod, each running an updated, ready and available one, and none misscheduled.
pub async fn wait_ds_ready(ctx: &TestContext, name: &str, nodes: i32) -> anyhow::Result<DaemonSet> {
    let what = format!("to run an updated, available pod on each of {nodes} nodes");
    wait_object(ctx, &ns_api(ctx), name, &what, move |ds: &DaemonSet| {
        let Some(s) = ds.status.as_ref() else {
            return false;
        };
        s.observed_generation == ds.metadata.generation
            && s.desired_number_scheduled == nodes
            && s.current_number_scheduled == nodes
            && s.number_ready == nodes
            && s.number_available.unwrap_or(0) == nodes
            && s.updated_number_scheduled.unwrap_or(0) == nodes
            && s.number_misscheduled == 0
    })
    .await
}

/// The node a pod runs on: its `nodeName`, or before binding the node a DaemonSet pinned it to
/// (the `metadata.name` field its required node affinity matches).
pub fn node_of(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(node) = &spec.node_name {
        return Some(node.clone());
    }
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name")
        .and_then(|f| f.values.as_ref()?.first().cloned())
}

/// The nodes `pods` run on, sorted (a node twice if two pods run there).
pub fn nodes_of(pods: &[Pod]) -> Vec<String> {
    let mut nodes: Vec<String> = pods.iter().filter_map(node_of).collect();
    nodes.sort();
    nodes
}

/// The image of the pod's first container.
pub fn image_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.containers.first()?.image.as_deref()
}

/// Waits until Job `name` exists and `test` holds of it; returns it.
pub async fn wait_job(
    ctx: &TestContext,
    name: &str,
    what: &str,
    test: impl Fn(&Job) -> bool + Send + Sync + 'static,
) -> anyhow::Result<Job> {
    wait_object(ctx, &ns_api(ctx), name, what, test).await
}

/// The Job's condition `type_` (`Complete`, `Failed`, `Suspended`, …) if it is `True`.
pub fn job_condition<'a>(job: &'a Job, type_: &str) -> Option<&'a JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
}

/// Reads `name`, changes it with `change` and writes it back, reading again after a 409
/// Conflict (upstream's `retry.RetryOnConflict` and `Update…WithRetries`); returns what the
/// server stored.
pub async fn replace_with_retries<K>(
    api: &Api<K>,
    name: &str,
    change: impl Fn(&mut K),
) -> anyhow::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    write_with_retries(api, name, false, change).await
}

/// [`replace_with_retries`] through the `/status` subresource.
pub async fn replace_status_with_retries<K>(
    api: &Api<K>,
    name: &str,
    change: impl Fn(&mut K),
) -> anyhow::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    write_with_retries(api, name, true, change).await
}

async fn write_with_retries<K>(
    api: &Api<K>,
    name: &str,
    status: bool,
    change: impl Fn(&mut K),
) -> anyhow::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    // client-go's `retry.DefaultRetry` makes five attempts.
    let mut attempts = 5;
    loop {
        let mut object = api.get(name).await?;
        change(&mut object);
        let written = if status {
            api.replace_status(name, &PostParams::default(), &object)
                .await
        } else {
            api.replace(name, &PostParams::default(), &object).await
        };
        match written {
            Err(kube::Error::Api(s)) if s.code == 409 && attempts > 1 => attempts -= 1,
            other => {
                return other.with_context(|| {
                    let what = if status { "the status of " } else { "" };
                    format!("replacing {what}{name}")
                });
            }
        }
    }
}
