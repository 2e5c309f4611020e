//! Priority and preemption: PriorityClasses (scheduling.k8s.io/v1) give pods their `priority`
//! and `preemptionPolicy` at admission, one class may be the global default, and a class's value
//! never changes; a pod that fits nowhere evicts lower-priority pods to make room (each victim
//! marked `DisruptionTarget` and deleted gracefully, with a `Preempted` event), is nominated to
//! the node in `status.nominatedNodeName`, and is bound there once the victims are gone. Pods of
//! equal or higher priority are never victims, and a pod with `preemptionPolicy: Never` waits
//! instead.
//!
//! PriorityClasses are cluster-scoped: each test names its own after its namespace and deletes
//! them at the end ([`Classes`]), and the one test that makes a global default is Serial, since
//! that default reaches every pod created meanwhile.

use anyhow::{Context, anyhow, bail, ensure};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchParams};
use serde_json::{Value, json};

use crate::TestContext;
use crate::support::errors::{expect_message, expect_status};
use crate::support::events::{Events, next_changes, open_watch};
use crate::support::object_events::{has_event, wait_for_events};
use crate::support::pods::{create_pod, pod_condition, wait_pod};
use crate::support::scheduling::{
    FitMessage, NodeShape, PrivateNodes, delete_pod_and_wait, expect_unbound, node_of, wait_bound,
    wait_unschedulable, with_limits, with_spec,
};
use crate::support::{Condition, ns_api, wait_budget, wait_for};

/// The extended resource the preemption tests fill nodes with, as upstream's tests do (a node's
/// CPU would also count other pods' defaults; this resource only this test's pods ask for).
const FOO: &str = "scheduling.k8s.io/foo";
/// Upstream's built-in class for cluster-critical pods.
const SYSTEM_CLUSTER_CRITICAL: &str = "system-cluster-critical";
/// Its value (upstream `scheduling.SystemCriticalPriority`).
const SYSTEM_CRITICAL_PRIORITY: i32 = 2_000_000_000;
/// What a victim's DisruptionTarget condition says (upstream `PodReasonPreemptionByScheduler`).
const PREEMPTION_BY_SCHEDULER: &str = "PreemptionByScheduler";
/// The reason the dry run gives a node where evicting lower-priority pods would not help.
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// PriorityClasses a test made, deleted at the end (or, when the test fails early, on drop):
/// a class left behind, above all a global default, would change every later test's pods.
struct Classes {
    api: Api<PriorityClass>,
    prefix: String,
    names: Vec<String>,
}

impl Classes {
    fn new(ctx: &TestContext) -> Self {
        Self {
            api: Api::all(ctx.client.clone()),
            prefix: ctx.namespace.clone(),
            names: Vec::new(),
        }
    }

    /// Creates class `<namespace>-<suffix>` of `value`, with more fields from `extra`
    /// (`{"preemptionPolicy": "Never"}`); returns its name.
    async fn create(&mut self, suffix: &str, value: i32, extra: Value) -> anyhow::Result<String> {
        let name = format!("{}-{suffix}", self.prefix);
        let mut object = json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": value,
        });
        if let (Some(object), Value::Object(extra)) = (object.as_object_mut(), extra) {
            object.extend(extra);
        }
        let class: PriorityClass = serde_json::from_value(object)?;
        self.api
            .create(&PostParams::default(), &class)
            .await
            .with_context(|| format!("creating PriorityClass {name}"))?;
        self.names.push(name.clone());
        Ok(name)
    }

    /// Deletes every class made.
    async fn delete(mut self) -> anyhow::Result<()> {
        for name in std::mem::take(&mut self.names) {
            match self.api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(anyhow!("deleting PriorityClass {name}: {e}")),
            }
        }
        Ok(())
    }
}

impl Drop for Classes {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.names);
        if names.is_empty() {
            return;
        }
        let api = self.api.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for name in names {
                    let _ = api.delete(&name, &DeleteParams::default()).await;
                }
            });
        }
    }
}

/// A pod of `nodes` in `class` (none when empty) asking for `units` of [`FOO`] (none when 0).
fn pod_of(nodes: &PrivateNodes, name: &str, class: &str, units: u32) -> anyhow::Result<Pod> {
    let mut pod = nodes.pod(name);
    if units > 0 {
        pod = with_limits(pod, &[(FOO, &units.to_string())]);
    }
    if class.is_empty() {
        return Ok(pod);
    }
    with_spec(pod, json!({"priorityClassName": class}))
}

/// `pod` pinned to `node` by required node affinity on `metadata.name`, as upstream's preemption
/// tests pin their victims (the scheduler still places them, unlike `spec.nodeName`).
fn pinned(pod: Pod, node: &str) -> anyhow::Result<Pod> {
    with_spec(
        pod,
        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [node]}
            ]}]
        }}}}),
    )
}

/// Creates `pod` pinned to `node` and waits until it is bound there.
async fn place(ctx: &TestContext, pod: Pod, node: &str) -> anyhow::Result<()> {
    let name = pod.name_any();
    create_pod(ctx, &pinned(pod, node)?).await?;
    let bound = wait_bound(ctx, &name).await?;
    ensure!(bound == node, "{name} went to {bound}, not {node}");
    Ok(())
}

fn priority(pod: &Pod) -> Option<i32> {
    pod.spec.as_ref().and_then(|s| s.priority)
}

fn preemption_policy(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref())
}

fn nominated_node(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.nominated_node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Whether the pod is gone or being deleted.
fn is_going(pod: Option<&Pod>) -> bool {
    pod.is_none_or(|p| p.metadata.deletion_timestamp.is_some())
}

/// Creates the preemptor `pod` and follows it through a watch opened at its creation, so no
/// step is missed however fast preemption is: returns the node it was first nominated to and
/// the node it was bound to, checking that the binding cleared the nomination.
async fn create_preemptor(ctx: &TestContext, pod: &Pod) -> anyhow::Result<(Pod, String, String)> {
    let created = create_pod(ctx, pod).await?;
    let name = created.name_any();
    let version = created.resource_version().unwrap_or_default();
    let mut events: Events<Pod> = open_watch(
        &ns_api::<Pod>(ctx),
        &WatchParams::default().fields(&format!("metadata.name={name}")),
        &version,
    )
    .await?;
    let deadline = tokio::time::Instant::now() + wait_budget(ctx);
    let mut nominated: Option<String> = None;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let change = next_changes(&mut events, 1, left)
            .await
            .with_context(|| {
                format!("following preemptor {name} until bound (nominated so far: {nominated:?})")
            })?
            .remove(0);
        let pod = change.object;
        if nominated.is_none() {
            nominated = nominated_node(&pod).map(str::to_owned);
        }
        if let Some(node) = node_of(&pod) {
            let nominated = nominated.with_context(|| {
                format!("preemptor {name} was bound to {node} without status.nominatedNodeName")
            })?;
            // Upstream's API server clears the nomination on binding (since 1.35).
            ensure!(
                nominated_node(&pod).is_none(),
                "preemptor {name} is bound to {node} but still nominated to {:?}",
                nominated_node(&pod)
            );
            return Ok((created, nominated, node.to_owned()));
        }
    }
}

/// Waits until `victim` is gone or terminating, and checks its `Preempted` event names the
/// preemptor's UID and the node.
async fn expect_preempted(
    ctx: &TestContext,
    victim: &str,
    preemptor: &Pod,
    node: &str,
) -> anyhow::Result<()> {
    wait_for(
        &ns_api::<Pod>(ctx),
        victim,
        Condition::new("to be deleted or terminating", is_going),
        wait_budget(ctx),
    )
    .await?;
    let message = format!(
        "Preempted by pod {} on node {node}",
        preemptor.uid().unwrap_or_default()
    );
    wait_for_events(
        ctx,
        &ctx.namespace,
        victim,
        &format!("to include Preempted: {message:?}"),
        |events| has_event(events, "Preempted", Some(&message)),
    )
    .await?;
    Ok(())
}

/// Checks that pod `name` is still there and not being deleted.
async fn expect_untouched(ctx: &TestContext, name: &str) -> anyhow::Result<()> {
    let pod = ns_api::<Pod>(ctx).get(name).await?;
    ensure!(
        pod.metadata.deletion_timestamp.is_none(),
        "{name} (priority {:?}) was deleted, but it should not have been a victim",
        priority(&pod)
    );
    Ok(())
}

/// Priority admission: a pod naming a class gets the class's value as `spec.priority` and its
/// `preemptionPolicy`; a pod naming no class gets priority 0 (no global default here); a pod
/// naming a class that does not exist, or stating a priority other than its class's, is refused
/// with the API server's 403.
pub async fn a_pod_takes_its_priority_and_preemption_policy_from_its_class(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "admit", 1, &NodeShape::new()).await?;
    let mut classes = Classes::new(&ctx);
    let high = classes.create("high", 1000, json!({})).await?;
    let polite = classes
        .create("polite", 500, json!({"preemptionPolicy": "Never"}))
        .await?;

    let cases = [
        ("in-high", high.as_str(), 1000, "PreemptLowerPriority"),
        ("in-polite", polite.as_str(), 500, "Never"),
        ("classless", "", 0, "PreemptLowerPriority"),
    ];
    for (name, class, value, policy) in cases {
        let created = create_pod(&ctx, &pod_of(&nodes, name, class, 0)?).await?;
        ensure!(
            priority(&created) == Some(value) && preemption_policy(&created) == Some(policy),
            "{name} (class {class:?}) was admitted with priority {:?} and preemptionPolicy {:?}, \
             not {value} and {policy}",
            priority(&created),
            preemption_policy(&created)
        );
        wait_bound(&ctx, name).await?;
    }

    let missing = format!("{}-missing", ctx.namespace);
    let refused = ns_api::<Pod>(&ctx)
        .create(
            &PostParams::default(),
            &pod_of(&nodes, "orphan", &missing, 0)?,
        )
        .await;
    let status = expect_status(refused, 403, "Forbidden", "a pod naming a missing class")?;
    expect_message(
        &status,
        &format!("pods \"orphan\" is forbidden: no PriorityClass with name {missing} was found"),
    )?;

    let overriding = with_spec(
        pod_of(&nodes, "override", &high, 0)?,
        json!({"priority": 7}),
    )?;
    let refused = ns_api::<Pod>(&ctx)
        .create(&PostParams::default(), &overriding)
        .await;
    let status = expect_status(refused, 403, "Forbidden", "a pod stating its own priority")?;
    expect_message(
        &status,
        "the integer value of priority (7) must not be provided in pod spec",
    )?;
    classes.delete().await?;
    nodes.delete().await
}

/// A class marked `globalDefault` gives its name and value to pods that name no class, and a
/// second global default is refused. Serial: the default reaches every pod created meanwhile.
pub async fn a_global_default_class_applies_to_pods_without_a_class(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let existing = Api::<PriorityClass>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .find(|c| c.global_default == Some(true));
    if let Some(class) = existing {
        return Err(crate::Skipped(format!(
            "the cluster already has a global default PriorityClass ({})",
            class.name_any()
        ))
        .into());
    }
    let nodes = PrivateNodes::create(&ctx, "default", 1, &NodeShape::new()).await?;
    let mut classes = Classes::new(&ctx);
    let default = classes
        .create("default", 42, json!({"globalDefault": true}))
        .await?;
    let created = create_pod(&ctx, &nodes.pod("defaulted")).await?;
    let class = created
        .spec
        .as_ref()
        .and_then(|s| s.priority_class_name.as_deref());
    ensure!(
        class == Some(default.as_str()) && priority(&created) == Some(42),
        "a pod without a class was admitted with class {class:?} and priority {:?}, not {default} \
         and 42",
        priority(&created)
    );
    wait_bound(&ctx, "defaulted").await?;

    let second = format!("{}-second", ctx.namespace);
    let refused = classes
        .create("second", 43, json!({"globalDefault": true}))
        .await;
    let error = match refused {
        Ok(_) => bail!("a second global default PriorityClass {second} was accepted"),
        Err(e) => e,
    };
    let status = match error.downcast_ref::<kube::Error>() {
        Some(kube::Error::Api(status)) => status.clone(),
        _ => bail!("creating a second global default failed otherwise: {error:#}"),
    };
    ensure!(
        status.code == 403
            && status.message.contains(&format!(
                "PriorityClass {default} is already marked as default. Only one default can exist"
            )),
        "a second global default was refused with {} {:?}",
        status.code,
        status.message
    );
    classes.delete().await?;
    nodes.delete().await
}

/// Upstream's PriorityClass endpoints case: a class's `value` cannot be changed by a patch or
/// an update, its `description` can; the class lists, and reads back with its old value and
/// new description.
pub async fn a_priority_class_value_is_immutable_and_its_description_is_not(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = Api::<PriorityClass>::all(ctx.client.clone());
    let mut classes = Classes::new(&ctx);
    let p1 = classes.create("p1", 1, json!({})).await?;
    let p2 = classes.create("p2", 2, json!({})).await?;

    let patched = api
        .patch(
            &p1,
            &PatchParams::default(),
            &Patch::Strategic(json!({"value": 10})),
        )
        .await;
    expect_status(patched, 422, "Invalid", "patching a class's value")?;
    let mut changed = api.get(&p2).await?;
    changed.value = Some(20);
    let updated = api.replace(&p2, &PostParams::default(), &changed).await;
    expect_status(updated, 422, "Invalid", "updating a class's value")?;

    let description = "updated description";
    api.patch(
        &p1,
        &PatchParams::default(),
        &Patch::Strategic(json!({"description": description})),
    )
    .await
    .context("patching a class's description")?;
    let mut changed = api.get(&p2).await?;
    changed.description = Some(description.to_owned());
    api.replace(&p2, &PostParams::default(), &changed)
        .await
        .context("updating a class's description")?;

    let listed: Vec<String> = api
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    for (name, value) in [(&p1, 1), (&p2, 2)] {
        ensure!(listed.contains(name), "{name} is not listed: {listed:?}");
        let live = api.get(name).await?;
        ensure!(
            live.value == Some(value) && live.description.as_deref() == Some(description),
            "{name} reads back with value {:?} and description {:?}",
            live.value,
            live.description
        );
    }
    classes.delete().await
}

/// Two nodes of three `foo` each: node 0 holds a low-priority pod, node 1 a medium one, both
/// asking for two. Returns the nodes and the classes (`low`, `medium`, `high`).
async fn nodes_with_victims(
    ctx: &TestContext,
    tag: &str,
) -> anyhow::Result<(PrivateNodes, Classes, [String; 3])> {
    let nodes = PrivateNodes::create(ctx, tag, 2, &NodeShape::new().capacity(FOO, "3")).await?;
    let mut classes = Classes::new(ctx);
    let low = classes.create("low", 1, json!({})).await?;
    let medium = classes.create("medium", 100, json!({})).await?;
    let high = classes.create("high", 1000, json!({})).await?;
    place(ctx, pod_of(&nodes, "pod0", &low, 2)?, nodes.name(0)).await?;
    place(ctx, pod_of(&nodes, "pod1", &medium, 2)?, nodes.name(1)).await?;
    Ok((nodes, classes, [low, medium, high]))
}

/// Upstream's basic preemption case: a high-priority pod that fits on no node evicts the
/// low-priority pod (never the medium one), is nominated to its node, and is bound there.
pub async fn a_higher_priority_pod_preempts_a_lower_priority_one(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (nodes, classes, [_, _, high]) = nodes_with_victims(&ctx, "basic").await?;
    let preemptor = pod_of(&nodes, "preemptor-pod", &high, 2)?;
    let (created, nominated, bound) = create_preemptor(&ctx, &preemptor).await?;
    ensure!(
        nominated == nodes.name(0) && bound == nodes.name(0),
        "the preemptor was nominated to {nominated} and bound to {bound}, not to {} where the \
         low-priority pod was",
        nodes.name(0)
    );
    expect_preempted(&ctx, "pod0", &created, nodes.name(0)).await?;
    expect_untouched(&ctx, "pod1").await?;
    classes.delete().await?;
    nodes.delete().await
}

/// Upstream's critical pod case: a pod of the built-in `system-cluster-critical` class, which
/// needs no object of its own, preempts the lower-priority pod. (Upstream runs it in
/// kube-system; admission does not require that, so it runs in the test's namespace here.)
pub async fn a_critical_pod_preempts_a_lower_priority_one(ctx: TestContext) -> anyhow::Result<()> {
    let (nodes, classes, _) = nodes_with_victims(&ctx, "critical").await?;
    let critical = pod_of(&nodes, "critical-pod", SYSTEM_CLUSTER_CRITICAL, 2)?;
    let (created, _, bound) = create_preemptor(&ctx, &critical).await?;
    ensure!(
        priority(&created) == Some(SYSTEM_CRITICAL_PRIORITY),
        "the critical pod was admitted with priority {:?}",
        priority(&created)
    );
    ensure!(
        bound == nodes.name(0),
        "the critical pod went to {bound}, not to {}",
        nodes.name(0)
    );
    expect_preempted(&ctx, "pod0", &created, nodes.name(0)).await?;
    expect_untouched(&ctx, "pod1").await?;
    classes.delete().await?;
    nodes.delete().await
}

/// A finalizer of this test's, that keeps a victim visible after its deletion.
const FINALIZER: &str = "kubeproof.io/e2e-preemption";

/// Upstream's disruption condition case: the victim (kept by a finalizer) is terminating with
/// `DisruptionTarget` True, reason `PreemptionByScheduler`; once the finalizer goes, the
/// preemptor takes its place.
pub async fn a_preempted_pod_is_marked_as_a_disruption_target(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes =
        PrivateNodes::create(&ctx, "disrupt", 1, &NodeShape::new().capacity(FOO, "1")).await?;
    let mut classes = Classes::new(&ctx);
    let low = classes.create("low", 1, json!({})).await?;
    let high = classes.create("high", 1000, json!({})).await?;
    let mut victim = pod_of(&nodes, "victim-pod", &low, 1)?;
    victim.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
    place(&ctx, victim, nodes.name(0)).await?;

    create_pod(&ctx, &pod_of(&nodes, "preemptor-pod", &high, 1)?).await?;
    let marked = wait_pod(
        &ctx,
        "victim-pod",
        "to be terminating with DisruptionTarget True",
        |p| {
            p.metadata.deletion_timestamp.is_some()
                && pod_condition(p, "DisruptionTarget").is_some_and(|c| c.status == "True")
        },
    )
    .await;
    // Whatever happened, the finalizer must go, or the namespace never empties.
    let released = ns_api::<Pod>(&ctx)
        .patch(
            "victim-pod",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await;
    let marked = marked?;
    released.context("removing the victim's finalizer")?;
    let condition = pod_condition(&marked, "DisruptionTarget").context("checked above")?;
    let message = "default-scheduler: preempting to accommodate a higher priority pod";
    ensure!(
        condition.reason.as_deref() == Some(PREEMPTION_BY_SCHEDULER)
            && condition.message.as_deref() == Some(message),
        "the victim's DisruptionTarget condition says {:?}: {:?}, not {PREEMPTION_BY_SCHEDULER}: \
         {message:?}",
        condition.reason,
        condition.message
    );
    let node = wait_bound(&ctx, "preemptor-pod").await?;
    ensure!(node == nodes.name(0), "the preemptor went to {node}");
    classes.delete().await?;
    nodes.delete().await
}

/// A pod with `preemptionPolicy: Never` does not preempt, however high its priority: it waits
/// with PostFilter's `not eligible due to preemptionPolicy=Never`, the lower-priority pod keeps
/// running, and the pod is scheduled once that pod is deleted.
pub async fn a_pod_with_preemption_policy_never_waits_instead_of_preempting(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes =
        PrivateNodes::create(&ctx, "never", 1, &NodeShape::new().capacity(FOO, "1")).await?;
    let mut classes = Classes::new(&ctx);
    let low = classes.create("low", 1, json!({})).await?;
    let polite = classes
        .create("polite", 1000, json!({"preemptionPolicy": "Never"}))
        .await?;
    place(&ctx, pod_of(&nodes, "incumbent", &low, 1)?, nodes.name(0)).await?;

    create_pod(&ctx, &pod_of(&nodes, "patient", &polite, 1)?).await?;
    let reason = format!("Insufficient {FOO}");
    let message = wait_unschedulable(&ctx, "patient", &reason).await?;
    message.expect_exactly(1, &reason)?;
    ensure!(
        message.post_filter.as_deref()
            == Some("preemption: not eligible due to preemptionPolicy=Never."),
        "the FailedScheduling message does not say why the pod did not preempt: {:?}",
        message.text
    );
    let patient = expect_unbound(&ctx, "patient").await?;
    ensure!(
        nominated_node(&patient).is_none(),
        "the pod was nominated to {:?} without preempting",
        nominated_node(&patient)
    );
    expect_untouched(&ctx, "incumbent").await?;

    delete_pod_and_wait(&ctx, "incumbent").await?;
    let node = wait_bound(&ctx, "patient").await?;
    ensure!(node == nodes.name(0), "the pod went to {node}");
    classes.delete().await?;
    nodes.delete().await
}

/// Victims are only ever of lower priority: a pod of medium priority facing a node full of a
/// medium and a high pod finds no victims (`No preemption victims found for incoming pod` for
/// that node in the preemption message) and waits; a high pod then evicts the medium pod, never
/// the high one.
pub async fn pods_of_equal_or_higher_priority_are_never_preempted(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes =
        PrivateNodes::create(&ctx, "equal", 1, &NodeShape::new().capacity(FOO, "2")).await?;
    let mut classes = Classes::new(&ctx);
    let medium = classes.create("medium", 100, json!({})).await?;
    let high = classes.create("high", 1000, json!({})).await?;
    place(&ctx, pod_of(&nodes, "peer", &medium, 1)?, nodes.name(0)).await?;
    place(&ctx, pod_of(&nodes, "elder", &high, 1)?, nodes.name(0)).await?;

    create_pod(&ctx, &pod_of(&nodes, "newcomer", &medium, 1)?).await?;
    let reason = format!("Insufficient {FOO}");
    let message = wait_unschedulable(&ctx, "newcomer", &reason).await?;
    message.expect_exactly(1, &reason)?;
    let dry_run = message
        .post_filter
        .as_deref()
        .and_then(|p| p.strip_prefix("preemption: "))
        .with_context(|| format!("no preemption part in {:?}", message.text))?;
    FitMessage::parse(dry_run)
        .context("the preemption part of the message")?
        .expect_exactly(1, NO_VICTIMS)?;
    expect_untouched(&ctx, "peer").await?;
    expect_untouched(&ctx, "elder").await?;

    let urgent = pod_of(&nodes, "urgent", &high, 1)?;
    let (created, _, bound) = create_preemptor(&ctx, &urgent).await?;
    ensure!(bound == nodes.name(0), "the urgent pod went to {bound}");
    expect_preempted(&ctx, "peer", &created, nodes.name(0)).await?;
    expect_untouched(&ctx, "elder").await?;
    expect_unbound(&ctx, "newcomer").await?;
    classes.delete().await?;
    nodes.delete().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_is_going_once_deleted_or_terminating() {
        assert!(is_going(None));
        assert!(!is_going(Some(&Pod::default())));
        let terminating: Pod = serde_json::from_value(
            json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}),
        )
        .expect("parses");
        assert!(is_going(Some(&terminating)));
    }

    #[test]
    fn an_empty_nomination_is_no_nomination() {
        let pod: Pod =
            serde_json::from_value(json!({"status": {"nominatedNodeName": ""}})).expect("parses");
        assert_eq!(nominated_node(&pod), None);
    }
}
