//! Scheduling in tests: hollow nodes private to one test, pods that only those nodes accept, the
//! reasons kube-scheduler gives when no node fits, and waits on a pod being bound or found
//! unschedulable.
//!
//! Tests run in parallel on one cluster, beside other areas' pods. A test that needs particular
//! nodes adds its own ([`PrivateNodes`]), each registered with a NoSchedule taint
//! `kubeproof.io/test=<namespace>` and the label `kubeproof.io/test=<namespace>`; its pods
//! ([`PrivateNodes::pod`]) tolerate that taint and select that label, so nobody else's pods land
//! on its nodes and its pods land nowhere else. Every other node then fails the pod at
//! TaintToleration or NodeAffinity, before any later filter runs: the reasons later filters give
//! (`Insufficient cpu`, `Too many pods`, …) count this test's nodes exactly, while the
//! `0/N nodes are available` total counts the whole cluster.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail, ensure};
use k8s_openapi::api::core::v1::{Event, Node, Pod, Taint, Toleration};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use simulator::{NodeControl, NodePool};

use crate::TestContext;
use crate::support::nodes::{NOT_READY, has_taint, node_condition_status, own_node_prefix};
use crate::support::object_events::{describe, wait_for_events};
use crate::support::pods::{condition_status, pod_condition, spec_mut, wait_pod};
use crate::support::{Condition, container, meta, ns_api, wait_budget, wait_for};

/// The key of the taint and label that make a test's nodes its own.
pub const TEST_KEY: &str = "kubeproof.io/test";

/// `NodeResourcesFit`: not enough CPU left.
pub const INSUFFICIENT_CPU: &str = "Insufficient cpu";
/// `NodeResourcesFit`: not enough memory left.
pub const INSUFFICIENT_MEMORY: &str = "Insufficient memory";
/// `NodeResourcesFit`: the node's `pods` capacity is used up.
pub const TOO_MANY_PODS: &str = "Too many pods";
/// `NodeAffinity`: nodeSelector or required node affinity not matched.
pub const NODE_AFFINITY_MISMATCH: &str = "node(s) didn't match Pod's node affinity/selector";
/// `NodeUnschedulable`: the node is cordoned.
pub const NODE_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// `NodePorts`: a requested host port is taken.
pub const NO_FREE_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";
/// `InterPodAffinity`: required pod affinity not met.
pub const POD_AFFINITY_MISMATCH: &str = "node(s) didn't match pod affinity rules";
/// `InterPodAffinity`: the pod's own required anti-affinity not met.
pub const POD_ANTI_AFFINITY_MISMATCH: &str = "node(s) didn't match pod anti-affinity rules";
/// `InterPodAffinity`: an existing pod's required anti-affinity rejects the pod.
pub const EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";
/// `PodTopologySpread`: placing the pod there would exceed maxSkew.
pub const SPREAD_MISMATCH: &str = "node(s) didn't match pod topology spread constraints";

/// `TaintToleration`: a NoSchedule or NoExecute taint the pod does not tolerate. Releases before
/// 1.34 named the taint (`node(s) had untolerated taint {key: value}`); [`FitMessage::parse`]
/// reads that older form as this one, so the tests pass on either.
pub const UNTOLERATED_TAINT: &str = "node(s) had untolerated taint(s)";

/// The parts of a `FailedScheduling` message (upstream `FitError.Error()`):
/// `0/<total> nodes are available: <n> <reason>, <n> <reason>. preemption: …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FitMessage {
    /// Every node the scheduler considered (the whole cluster).
    pub total: usize,
    /// `(count, reason)` pairs, sorted as upstream sorts them (as strings).
    pub reasons: Vec<(usize, String)>,
    /// What PostFilter (preemption) added after the reasons, if anything.
    pub post_filter: Option<String>,
    /// The whole message, for failure messages.
    pub text: String,
}

impl FitMessage {
    /// Parses `text`; fails when it is not in upstream's shape.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let shape = || anyhow!("not upstream's \"0/N nodes are available: …\" shape: {text:?}");
        let rest = text.strip_prefix("0/").ok_or_else(shape)?;
        let (total, rest) = rest
            .split_once(" nodes are available: ")
            .ok_or_else(shape)?;
        let total: usize = total.parse().map_err(|_| shape())?;
        // The histogram ends at the first ". " followed by what PostFilter says, or at the final
        // "."; reasons never contain ". " (taint keys and values have dots, not dot-spaces).
        let (histogram, post_filter) = match rest.split_once(". ") {
            Some((h, post)) => (h, Some(post.to_owned())),
            None => (rest.strip_suffix('.').ok_or_else(shape)?, None),
        };
        let reasons = histogram
            .split(", ")
            .map(|entry| {
                let (n, reason) = entry.split_once(' ').ok_or_else(shape)?;
                let reason = if reason.starts_with("node(s) had untolerated taint {") {
                    UNTOLERATED_TAINT
                } else {
                    reason
                };
                Ok((n.parse().map_err(|_| shape())?, reason.to_owned()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            total,
            reasons,
            post_filter,
            text: text.to_owned(),
        })
    }

    /// How many nodes gave `reason` (0 when none did).
    pub fn count(&self, reason: &str) -> usize {
        self.reasons
            .iter()
            .filter(|(_, r)| r == reason)
            .map(|(n, _)| n)
            .sum()
    }

    /// Checks that exactly `n` nodes gave `reason`: for reasons only this test's nodes can give.
    pub fn expect_exactly(&self, n: usize, reason: &str) -> anyhow::Result<()> {
        ensure!(
            self.count(reason) == n,
            "expected {n} node(s) with {reason:?} in the FailedScheduling message, found {}: {:?}",
            self.count(reason),
            self.text
        );
        ensure!(
            self.total >= n,
            "the message counts {} nodes in all, fewer than the {n} of this test: {:?}",
            self.total,
            self.text
        );
        Ok(())
    }

    /// Checks that at least `n` nodes gave `reason`: for reasons other tests' nodes give too.
    pub fn expect_at_least(&self, n: usize, reason: &str) -> anyhow::Result<()> {
        ensure!(
            self.count(reason) >= n,
            "expected at least {n} node(s) with {reason:?} in the FailedScheduling message, \
             found {}: {:?}",
            self.count(reason),
            self.text
        );
        Ok(())
    }
}

/// The capacity, labels, taints and zone of hollow nodes a test adds. Allocatable equals
/// capacity (nothing reserved), so a test can fill a node exactly.
#[derive(Clone, Debug)]
pub struct NodeShape {
    capacity: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    taints: Vec<Taint>,
    images: Vec<String>,
}

impl Default for NodeShape {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeShape {
    /// 4 CPUs, 8 GiB, 110 pods, no extra labels or taints.
    pub fn new() -> Self {
        let capacity = [
            ("cpu", "4"),
            ("memory", "8Gi"),
            ("pods", "110"),
            ("ephemeral-storage", "100Gi"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            capacity,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            images: Vec::new(),
        }
    }

    /// Sets the capacity (and allocatable) of `resource`: `cpu`, `memory`, `pods` or an extended
    /// resource such as `example.com/widget`.
    pub fn capacity(mut self, resource: &str, quantity: &str) -> Self {
        self.capacity
            .insert(resource.to_owned(), quantity.to_owned());
        self
    }

    /// Adds a node label.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Places the node in `zone` (`topology.kubernetes.io/zone`).
    pub fn zone(self, zone: &str) -> Self {
        self.label(ZONE_KEY, zone)
    }

    /// Adds a taint the node registers with.
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        self.taints.push(Taint {
            key: key.to_owned(),
            value: (!value.is_empty()).then(|| value.to_owned()),
            effect: effect.to_owned(),
            time_added: None,
        });
        self
    }

    /// Adds an image the node already holds (`status.images`).
    pub fn image(mut self, image: &str) -> Self {
        self.images.push(image.to_owned());
        self
    }

    fn pool(&self, namespace: &str) -> NodePool {
        let mut labels = self.labels.clone();
        labels.insert(TEST_KEY.to_owned(), namespace.to_owned());
        let mut taints = vec![private_taint(namespace)];
        taints.extend(self.taints.iter().cloned());
        NodePool {
            name: format!("test-{}", super::short_hash(namespace)),
            capacity: self.capacity.clone(),
            reserved: BTreeMap::new(),
            labels,
            taints,
            images: self.images.clone(),
            ..NodePool::default()
        }
    }
}

/// The zone label.
pub const ZONE_KEY: &str = "topology.kubernetes.io/zone";
/// The hostname label.
pub const HOSTNAME_KEY: &str = "kubernetes.io/hostname";

/// The taint that keeps everyone else's pods off a test's nodes.
pub fn private_taint(namespace: &str) -> Taint {
    Taint {
        key: TEST_KEY.to_owned(),
        value: Some(namespace.to_owned()),
        effect: "NoSchedule".to_owned(),
        time_added: None,
    }
}

/// The toleration of [`private_taint`].
pub fn private_toleration(namespace: &str) -> Toleration {
    Toleration {
        key: Some(TEST_KEY.to_owned()),
        operator: Some("Equal".to_owned()),
        value: Some(namespace.to_owned()),
        effect: Some("NoSchedule".to_owned()),
        toleration_seconds: None,
    }
}

/// A name for zone `i` of this test, unique to it (`kp-1a2b3c4d-z0`), so its zones hold no
/// other test's nodes.
pub fn zone_name(ctx: &TestContext, i: usize) -> String {
    format!("kp-{}-z{i}", super::short_hash(&ctx.namespace))
}

/// Hollow nodes of one test's own (see the module doc). They are deleted by
/// [`PrivateNodes::delete`], or, when a test fails before that, in the background when dropped:
/// the namespace cleanup does not delete nodes.
pub struct PrivateNodes {
    client: kube::Client,
    control: Arc<dyn NodeControl>,
    namespace: String,
    names: Vec<String>,
}

impl PrivateNodes {
    /// No nodes yet; add them with [`PrivateNodes::add`]. Needs `Need::NodeControl`.
    pub fn new(ctx: &TestContext) -> anyhow::Result<Self> {
        ctx.node_control()?;
        let control = ctx.nodes.clone().context("checked above")?;
        Ok(Self {
            client: ctx.client.clone(),
            control,
            namespace: ctx.namespace.clone(),
            names: Vec::new(),
        })
    }

    /// `count` nodes of `shape`, private to the test, Ready.
    pub async fn create(
        ctx: &TestContext,
        tag: &str,
        count: usize,
        shape: &NodeShape,
    ) -> anyhow::Result<Self> {
        let mut nodes = Self::new(ctx)?;
        nodes.add(ctx, tag, count, shape).await?;
        Ok(nodes)
    }

    /// Adds `count` nodes of `shape` named `<prefix of the test and tag>-<i>`, and waits until
    /// each is Ready without the not-ready taint; returns their names.
    pub async fn add(
        &mut self,
        ctx: &TestContext,
        tag: &str,
        count: usize,
        shape: &NodeShape,
    ) -> anyhow::Result<Vec<String>> {
        let prefix = own_node_prefix(&self.namespace, tag);
        let names = self
            .control
            .add_nodes_from(&prefix, count, shape.pool(&self.namespace))
            .await
            .with_context(|| format!("adding {count} hollow nodes {prefix}-*"))?;
        self.names.extend(names.iter().cloned());
        for name in &names {
            wait_for(
                &Api::<Node>::all(self.client.clone()),
                name,
                Condition::exists_and("to be Ready and without the not-ready taint", |n| {
                    node_condition_status(n, "Ready") == Some("True")
                        && !has_taint(n, NOT_READY, "NoSchedule")
                }),
                wait_budget(ctx),
            )
            .await?;
        }
        Ok(names)
    }

    /// Every node's name, in the order added.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Node `i`'s name.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// A one-container pod named `name` (label `name=<name>`) that tolerates these nodes' taint
    /// and selects their label, with a short grace period.
    pub fn pod(&self, name: &str) -> Pod {
        let mut pod = Pod {
            metadata: meta(name, &[("name", name)]),
            spec: Some(k8s_openapi::api::core::v1::PodSpec {
                containers: vec![container("app")],
                node_selector: Some(BTreeMap::from([(
                    TEST_KEY.to_owned(),
                    self.namespace.clone(),
                )])),
                tolerations: Some(vec![private_toleration(&self.namespace)]),
                termination_grace_period_seconds: Some(1),
                ..Default::default()
            }),
            ..Pod::default()
        };
        pod.metadata.namespace = Some(self.namespace.clone());
        pod
    }

    /// Removes node `name` from the set and deletes it.
    pub async fn delete_one(&mut self, name: &str) -> anyhow::Result<()> {
        self.names.retain(|n| n != name);
        delete_node(&*self.control, name).await
    }

    /// Deletes every node (their pods go with them, through PodGC).
    pub async fn delete(mut self) -> anyhow::Result<()> {
        let names = std::mem::take(&mut self.names);
        for name in names {
            delete_node(&*self.control, &name).await?;
        }
        Ok(())
    }
}

async fn delete_node(control: &dyn NodeControl, name: &str) -> anyhow::Result<()> {
    match control.delete_node(name).await {
        Ok(()) | Err(simulator::FaultError::NoSuchNode(_)) => Ok(()),
        Err(e) => Err(anyhow!("deleting node {name}: {e}")),
    }
}

impl Drop for PrivateNodes {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let names = std::mem::take(&mut self.names);
        let control = self.control.clone();
        // A test that failed early still must not leave its nodes to the next tests.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for name in names {
                    let _ = delete_node(&*control, &name).await;
                }
            });
        }
    }
}

/// `pod` with container `app`'s requests set to `pairs` (`("cpu", "500m")`).
pub fn with_requests(mut pod: Pod, pairs: &[(&str, &str)]) -> Pod {
    resources_mut(&mut pod).requests = Some(quantities(pairs));
    pod
}

/// `pod` with container `app`'s limits set to `pairs` and no requests: the API server defaults
/// the requests to the limits.
pub fn with_limits(mut pod: Pod, pairs: &[(&str, &str)]) -> Pod {
    resources_mut(&mut pod).limits = Some(quantities(pairs));
    pod
}

fn resources_mut(pod: &mut Pod) -> &mut k8s_openapi::api::core::v1::ResourceRequirements {
    spec_mut(pod).containers[0]
        .resources
        .get_or_insert_with(Default::default)
}

fn quantities(
    pairs: &[(&str, &str)],
) -> BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                k8s_openapi::apimachinery::pkg::api::resource::Quantity(v.to_string()),
            )
        })
        .collect()
}

/// `pod` with `spec` fields merged in from JSON (`{"affinity": …}`), for the structures
/// (affinity, spread constraints, ports) that read best as upstream's YAML does.
pub fn with_spec(pod: Pod, spec: serde_json::Value) -> anyhow::Result<Pod> {
    let mut value = serde_json::to_value(&pod)?;
    merge(&mut value["spec"], spec);
    serde_json::from_value(value).context("the merged pod spec does not parse")
}

/// `pod` with container `app` given `ports` (JSON list of ContainerPort).
pub fn with_ports(pod: Pod, ports: serde_json::Value) -> anyhow::Result<Pod> {
    let mut value = serde_json::to_value(&pod)?;
    value["spec"]["containers"][0]["ports"] = ports;
    serde_json::from_value(value).context("the pod with ports does not parse")
}

/// `pod` with more labels.
pub fn with_labels(mut pod: Pod, pairs: &[(&str, &str)]) -> Pod {
    let labels = pod.metadata.labels.get_or_insert_with(Default::default);
    for (k, v) in pairs {
        labels.insert(k.to_string(), v.to_string());
    }
    pod
}

/// JSON merge: objects merge key by key, anything else replaces.
fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The node a pod is bound to, if it is.
pub fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
}

/// Waits until pod `name` is bound to a node; returns the node's name.
pub async fn wait_bound(ctx: &TestContext, name: &str) -> anyhow::Result<String> {
    let pod = wait_pod(ctx, name, "to be bound to a node", |p| node_of(p).is_some()).await?;
    Ok(node_of(&pod).unwrap_or_default().to_owned())
}

/// Waits until each of `names` is bound; returns their nodes, in order.
pub async fn wait_all_bound(ctx: &TestContext, names: &[String]) -> anyhow::Result<Vec<String>> {
    let mut nodes = Vec::with_capacity(names.len());
    for name in names {
        nodes.push(wait_bound(ctx, name).await?);
    }
    Ok(nodes)
}

/// Whether the scheduler has found the pod unschedulable (PodScheduled False, Unschedulable)
/// while it is still unbound.
pub fn is_unschedulable(pod: &Pod) -> bool {
    node_of(pod).is_none()
        && pod_condition(pod, "PodScheduled")
            .is_some_and(|c| c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
}

/// Waits until the scheduler has found pod `name` unschedulable, and until its
/// `FailedScheduling` event carries a message naming `reason`; returns that message, parsed.
/// The PodScheduled condition's message is checked to be in the same shape.
pub async fn wait_unschedulable(
    ctx: &TestContext,
    name: &str,
    reason: &str,
) -> anyhow::Result<FitMessage> {
    let pod = wait_pod(
        ctx,
        name,
        "to be found unschedulable (PodScheduled False, Unschedulable)",
        is_unschedulable,
    )
    .await?;
    let condition = pod_condition(&pod, "PodScheduled")
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    FitMessage::parse(&condition).context("the PodScheduled condition's message")?;
    let wanted = reason.to_owned();
    let events = wait_for_events(
        ctx,
        &ctx.namespace,
        name,
        &format!("to include FailedScheduling naming {reason:?}"),
        |events| failed_scheduling(events, &wanted).is_some(),
    )
    .await?;
    let event = failed_scheduling(&events, reason).context("found above")?;
    ensure!(
        event.type_.as_deref() == Some("Warning"),
        "FailedScheduling is not a Warning event: {:?}",
        describe(std::slice::from_ref(event))
    );
    ensure!(
        event
            .source
            .as_ref()
            .and_then(|s| s.component.as_deref())
            .is_some_and(|c| c == "default-scheduler")
            || event.reporting_component.as_deref() == Some("default-scheduler"),
        "FailedScheduling was not reported by default-scheduler: source {:?}, reporting \
         component {:?}",
        event.source,
        event.reporting_component
    );
    FitMessage::parse(event.message.as_deref().unwrap_or_default())
}

/// The latest `FailedScheduling` event whose message counts nodes under `reason` (or, when it is
/// not in upstream's shape, contains it).
fn failed_scheduling<'a>(events: &'a [Event], reason: &str) -> Option<&'a Event> {
    events.iter().rev().find(|e| {
        let message = e.message.as_deref().unwrap_or("");
        e.reason.as_deref() == Some("FailedScheduling")
            && FitMessage::parse(message)
                .map_or_else(|_| message.contains(reason), |m| m.count(reason) > 0)
    })
}

/// Checks that pod `name` is unbound now.
pub async fn expect_unbound(ctx: &TestContext, name: &str) -> anyhow::Result<Pod> {
    let pod = ns_api::<Pod>(ctx).get(name).await?;
    if let Some(node) = node_of(&pod) {
        bail!("pod {name} was bound to {node}, but should not have been");
    }
    Ok(pod)
}

/// Whether the pod's PodScheduled condition is True.
pub fn is_scheduled(pod: &Pod) -> bool {
    condition_status(pod, "PodScheduled") == Some("True")
}

/// Cordons node `name` (`spec.unschedulable: true`), as `kubectl cordon` does.
pub async fn set_unschedulable(
    ctx: &TestContext,
    name: &str,
    unschedulable: bool,
) -> anyhow::Result<()> {
    Api::<Node>::all(ctx.client.clone())
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"unschedulable": unschedulable}})),
        )
        .await
        .with_context(|| format!("setting spec.unschedulable={unschedulable} on node {name}"))?;
    Ok(())
}

/// Deletes pod `name` and waits until it is gone.
pub async fn delete_pod_and_wait(ctx: &TestContext, name: &str) -> anyhow::Result<()> {
    match ns_api::<Pod>(ctx)
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(anyhow!("deleting pod {name}: {e}")),
    }
    wait_for(
        &ns_api::<Pod>(ctx),
        name,
        Condition::deleted(),
        wait_budget(ctx),
    )
    .await?;
    Ok(())
}

/// How many of `nodes` each bound pod of `pods` sits on: node name → count (every node of
/// `nodes` present, 0 when empty).
pub fn pods_per_node(pods: &[Pod], nodes: &[String]) -> BTreeMap<String, usize> {
    let mut counts: BTreeMap<String, usize> = nodes.iter().map(|n| (n.clone(), 0)).collect();
    for pod in pods {
        if let Some(node) = node_of(pod)
            && let Some(n) = counts.get_mut(node)
        {
            *n += 1;
        }
    }
    counts
}

/// Creates `pod` bound straight to `node` (`spec.nodeName` set, no scheduler involved), in the
/// pod's own namespace or else the test's: a pod placed where the test wants it, which the
/// scheduler then counts (for affinity, spreading, load) like any other.
pub async fn create_on(ctx: &TestContext, mut pod: Pod, node: &str) -> anyhow::Result<Pod> {
    spec_mut(&mut pod).node_name = Some(node.to_owned());
    let namespace = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| ctx.namespace.clone());
    let name = pod.metadata.name.clone().unwrap_or_default();
    Api::<Pod>::namespaced(ctx.client.clone(), &namespace)
        .create(&Default::default(), &pod)
        .await
        .with_context(|| format!("creating pod {namespace}/{name} bound to {node}"))
}

/// The pods of the test's namespace that carry the label `key=value`.
pub async fn pods_labelled(ctx: &TestContext, key: &str, value: &str) -> anyhow::Result<Vec<Pod>> {
    let params = kube::api::ListParams::default().labels(&format!("{key}={value}"));
    Ok(ns_api::<Pod>(ctx)
        .list(&params)
        .await
        .with_context(|| format!("listing the pods labelled {key}={value}"))?
        .items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_fit_error_parses_into_its_histogram_and_preemption_part() {
        let m = FitMessage::parse(
            "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint \
             {kubeproof.io/test: kp-a}. preemption: 0/5 nodes are available: 2 No preemption \
             victims found for incoming pod, 3 Preemption is not helpful for scheduling.",
        )
        .unwrap();
        assert_eq!(m.total, 5);
        assert_eq!(m.count(INSUFFICIENT_CPU), 2);
        assert_eq!(
            m.count(UNTOLERATED_TAINT),
            3,
            "the older form names the taint"
        );
        assert!(m.post_filter.unwrap().starts_with("preemption: 0/5"));
    }

    #[test]
    fn a_fit_error_without_post_filter_ends_at_its_full_stop() {
        let m = FitMessage::parse(
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
        )
        .unwrap();
        assert_eq!(m.reasons, vec![(3, NODE_AFFINITY_MISMATCH.to_owned())]);
        assert_eq!(m.post_filter, None);
        assert!(m.expect_exactly(3, NODE_AFFINITY_MISMATCH).is_ok());
        assert!(m.expect_exactly(2, NODE_AFFINITY_MISMATCH).is_err());
        assert!(m.expect_at_least(4, NODE_AFFINITY_MISMATCH).is_err());
    }

    #[test]
    fn messages_in_another_shape_are_refused() {
        assert!(FitMessage::parse("no nodes available to schedule pods").is_err());
        assert!(FitMessage::parse("0/3 nodes are available: lots Insufficient cpu.").is_err());
        assert!(FitMessage::parse("0/3 nodes are available: 3 Insufficient cpu").is_err());
    }

    #[test]
    fn a_shape_makes_a_private_pool_with_its_taint_first() {
        let pool = NodeShape::new()
            .capacity("cpu", "1")
            .zone("z")
            .taint("k", "v", "NoExecute")
            .pool("kp-ns");
        assert_eq!(pool.capacity["cpu"], "1");
        assert_eq!(pool.labels[TEST_KEY], "kp-ns");
        assert_eq!(pool.labels[ZONE_KEY], "z");
        assert_eq!(pool.taints[0], private_taint("kp-ns"));
        assert_eq!(pool.taints[1].effect, "NoExecute");
        assert!(pool.reserved.is_empty(), "allocatable must equal capacity");
    }

    #[test]
    fn spec_json_merges_into_the_pod_keeping_the_private_selector() {
        let pod = Pod {
            spec: Some(k8s_openapi::api::core::v1::PodSpec {
                containers: vec![container("app")],
                node_selector: Some(BTreeMap::from([("a".to_owned(), "b".to_owned())])),
                ..Default::default()
            }),
            ..Pod::default()
        };
        let pod = with_spec(pod, json!({"nodeSelector": {"c": "d"}, "priority": 3})).unwrap();
        let spec = pod.spec.unwrap();
        assert_eq!(spec.node_selector.unwrap().len(), 2);
        assert_eq!(spec.priority, Some(3));
    }
}
