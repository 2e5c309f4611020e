//! Pods on nodes: builders for pods bound to a node (there is no scheduler yet, and a bound pod
//! tests the node, not scheduling) with hollow behaviour annotations, readers of the status a
//! kubelet writes, and waits on that status.

use std::sync::Mutex;

use anyhow::Context;
use k8s_openapi::api::core::v1::{ContainerStatus, Node, Pod, PodCondition, Probe, Toleration};
use kube::api::{Api, ListParams, PostParams};

use crate::TestContext;
use crate::support::{Condition, container, meta, ns_api, wait_budget, wait_for};

/// The prefix of the hollow behaviour annotations (`kubeproof.io/exit-after`); the knobs are
/// documented in docs/behaviour.md. Real nodes ignore them.
pub const BEHAVIOUR_PREFIX: &str = "kubeproof.io/";

/// A one-container pod (`app`) bound to `node` through `spec.nodeName`.
pub fn bound_pod(name: &str, node: &str) -> Pod {
    let mut pod = Pod {
        metadata: meta(name, &[("test", name)]),
        spec: Some(k8s_openapi::api::core::v1::PodSpec {
            containers: vec![container("app")],
            node_name: Some(node.to_string()),
            ..Default::default()
        }),
        ..Pod::default()
    };
    // A short grace keeps deletions in tests quick on real nodes too.
    pod.spec
        .as_mut()
        .expect("set above")
        .termination_grace_period_seconds = Some(5);
    pod
}

/// `pod` with hollow behaviour `knobs` (`("exit-after", "1s")`, `("exit-code.web", "3")`).
pub fn with_behaviour(mut pod: Pod, knobs: &[(&str, &str)]) -> Pod {
    let annotations = pod
        .metadata
        .annotations
        .get_or_insert_with(Default::default);
    for (knob, value) in knobs {
        annotations.insert(format!("{BEHAVIOUR_PREFIX}{knob}"), value.to_string());
    }
    pod
}

/// `pod` with `restartPolicy`.
pub fn with_restart_policy(mut pod: Pod, policy: &str) -> Pod {
    spec_mut(&mut pod).restart_policy = Some(policy.to_string());
    pod
}

/// `pod` with these tolerations added.
pub fn with_tolerations(mut pod: Pod, tolerations: Vec<Toleration>) -> Pod {
    spec_mut(&mut pod)
        .tolerations
        .get_or_insert_with(Vec::new)
        .extend(tolerations);
    pod
}

/// A toleration of `key` with `effect`, operator Exists, for `seconds` (forever when `None`).
pub fn toleration(key: &str, effect: &str, seconds: Option<i64>) -> Toleration {
    Toleration {
        key: Some(key.to_string()),
        operator: Some("Exists".to_string()),
        effect: Some(effect.to_string()),
        toleration_seconds: seconds,
        ..Toleration::default()
    }
}

/// The pod's spec, created when missing.
pub fn spec_mut(pod: &mut Pod) -> &mut k8s_openapi::api::core::v1::PodSpec {
    pod.spec.get_or_insert_with(Default::default)
}

/// Container `name` of `pod` (regular or init), for setting probes, hooks, images.
pub fn container_mut<'a>(
    pod: &'a mut Pod,
    name: &str,
) -> &'a mut k8s_openapi::api::core::v1::Container {
    let spec = spec_mut(pod);
    spec.containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("the fixture pod has no container {name:?}"))
}

/// An exec probe (`cat /tmp/healthy`) every `period` seconds with the given thresholds; the
/// other parameters at their defaults.
pub fn exec_probe(period: i32, failure_threshold: i32) -> Probe {
    Probe {
        exec: Some(k8s_openapi::api::core::v1::ExecAction {
            command: Some(vec!["cat".into(), "/tmp/healthy".into()]),
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    }
}

/// `status.phase`.
pub fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

/// The pod condition of `type_`.
pub fn pod_condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a PodCondition> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
}

/// The status (`True`, `False`, `Unknown`) of the pod condition `type_`.
pub fn condition_status<'a>(pod: &'a Pod, type_: &str) -> Option<&'a str> {
    pod_condition(pod, type_).map(|c| c.status.as_str())
}

/// Whether the pod is Running with its Ready condition True.
pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == Some("Running") && condition_status(pod, "Ready") == Some("True")
}

/// The status of regular container `name`.
pub fn container_status<'a>(pod: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == name))
}

/// The status of init container `name`.
pub fn init_status<'a>(pod: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.init_container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == name))
}

/// The restart count of regular container `name` (0 when it has no status yet).
pub fn restarts(pod: &Pod, name: &str) -> i32 {
    container_status(pod, name).map_or(0, |c| c.restart_count)
}

/// The reason a container is waiting, if it is.
pub fn waiting_reason(status: &ContainerStatus) -> Option<&str> {
    status
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref())
}

/// Whether the container is running.
pub fn is_running(status: &ContainerStatus) -> bool {
    status.state.as_ref().is_some_and(|s| s.running.is_some())
}

/// `(exitCode, reason)` of the container's current terminated state.
pub fn terminated(status: &ContainerStatus) -> Option<(i32, Option<&str>)> {
    status
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| (t.exit_code, t.reason.as_deref()))
}

/// `(exitCode, reason)` of the container's last terminated state.
pub fn last_terminated(status: &ContainerStatus) -> Option<(i32, Option<&str>)> {
    status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| (t.exit_code, t.reason.as_deref()))
}

/// Creates `pod` in the test's namespace.
pub async fn create_pod(ctx: &TestContext, pod: &Pod) -> anyhow::Result<Pod> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    ns_api::<Pod>(ctx)
        .create(&PostParams::default(), pod)
        .await
        .with_context(|| format!("creating pod {name}"))
}

/// Waits until pod `name` exists and `test` holds of it; returns it.
pub async fn wait_pod(
    ctx: &TestContext,
    name: &str,
    what: &str,
    test: impl Fn(&Pod) -> bool + Send + Sync + 'static,
) -> anyhow::Result<Pod> {
    let pod = wait_for(
        &ns_api::<Pod>(ctx),
        name,
        Condition::exists_and(what, test),
        wait_budget(ctx),
    )
    .await?;
    pod.with_context(|| format!("pod {name} vanished"))
}

/// A test of a pod's state, for [`wait_pod_through`].
pub type PodTest = Box<dyn Fn(&Pod) -> bool + Send + Sync>;

/// One step of [`wait_pod_through`]: what the state should be ("both ready"), and the test.
pub type Step = (&'static str, PodTest);

/// Waits until pod `name` goes through every state in `steps`, in order (a state may satisfy
/// several steps in a row); returns the pod as it was when the last step held. This is how a
/// test shows an intermediate state existed ("b ready while a is not yet") without timing it.
pub async fn wait_pod_through(
    ctx: &TestContext,
    name: &str,
    steps: Vec<Step>,
) -> anyhow::Result<Pod> {
    let what = steps
        .iter()
        .map(|(w, _)| *w)
        .collect::<Vec<_>>()
        .join(", then ");
    let reached = std::sync::Arc::new(Mutex::new(0usize));
    let seen = reached.clone();
    let total = steps.len();
    let result = wait_for(
        &ns_api::<Pod>(ctx),
        name,
        Condition::exists_and(format!("to go through: {what}"), move |pod: &Pod| {
            let mut at = seen.lock().expect("not poisoned");
            while *at < total && (steps[*at].1)(pod) {
                *at += 1;
            }
            *at == total
        }),
        wait_budget(ctx),
    )
    .await;
    match result {
        Ok(pod) => pod.with_context(|| format!("pod {name} vanished")),
        Err(e) => {
            let at = *reached.lock().expect("not poisoned");
            Err(e.context(format!("pod {name} passed only {at} of {total} steps")))
        }
    }
}

/// Creates `pod` and waits until it is Running and Ready.
pub async fn create_running(ctx: &TestContext, pod: &Pod) -> anyhow::Result<Pod> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    create_pod(ctx, pod).await?;
    wait_pod(ctx, &name, "to be Running and Ready", is_running_and_ready).await
}

/// A node of the target to run pods on without disturbing it: the first Ready, schedulable node
/// by name, preferring the target's own nodes to those tests added.
pub async fn ready_node(ctx: &TestContext) -> anyhow::Result<Node> {
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    let mut list = nodes.list(&ListParams::default()).await?.items;
    // Nodes other tests added for themselves (`kp-…`, see `own_node_prefix`) may be disturbed
    // at any moment: take them last.
    list.sort_by_key(|n| {
        let name = n.metadata.name.clone().unwrap_or_default();
        (name.starts_with("kp-"), name)
    });
    list.into_iter()
        .find(|n| {
            super::nodes::node_condition_status(n, "Ready") == Some("True")
                && !n
                    .spec
                    .as_ref()
                    .and_then(|s| s.unschedulable)
                    .unwrap_or(false)
        })
        .context("the target has no Ready, schedulable node to run pods on")
}

/// The name of [`ready_node`].
pub async fn ready_node_name(ctx: &TestContext) -> anyhow::Result<String> {
    Ok(ready_node(ctx).await?.metadata.name.unwrap_or_default())
}

/// Waits until container `container` of pod `name` has restarted `n` times, checking that its
/// restartCount never goes down in any status seen on the way.
pub async fn wait_restarts_rising_to(
    ctx: &TestContext,
    name: &str,
    container: &str,
    n: i32,
) -> anyhow::Result<Pod> {
    // (highest count so far, the first fall, every (resourceVersion, count) seen).
    type Seen = (i32, Option<String>, Vec<(String, i32)>);
    let seen = std::sync::Arc::new(Mutex::new(Seen::default()));
    let track = seen.clone();
    let container = container.to_string();
    let pod = wait_pod(ctx, name, &format!("to reach {n} restarts"), move |p| {
        let count = restarts(p, &container);
        let mut s = track.lock().expect("not poisoned");
        let version = p.metadata.resource_version.clone().unwrap_or_default();
        if s.2.last().is_none_or(|(v, _)| *v != version) {
            s.2.push((version, count));
        }
        if count < s.0 && s.1.is_none() {
            s.1 = Some(format!("restartCount fell from {} to {count}", s.0));
        }
        s.0 = s.0.max(count);
        count >= n
    })
    .await?;
    let (_, fell, history) = seen.lock().expect("not poisoned").clone();
    anyhow::ensure!(
        fell.is_none(),
        "{} (resourceVersion, restartCount) seen: {history:?}",
        fell.unwrap_or_default()
    );
    Ok(pod)
}

/// A hollow node (one kubeproof's simulator runs) for pods whose behaviour comes from
/// `kubeproof.io/…` annotations — exits, probe outcomes, hook durations — which real nodes
/// ignore. Prefers the target's own nodes to those tests added; a [`crate::Skipped`] error on a
/// target without hollow nodes (the tests using it declare `Need::NodeControl`).
pub async fn hollow_node_name(ctx: &TestContext) -> anyhow::Result<String> {
    let mut names = ctx.node_control()?.node_names();
    names.sort_by_key(|n| (n.starts_with("kp-"), n.clone()));
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    for name in names {
        if let Some(node) = nodes.get_opt(&name).await?
            && super::nodes::node_condition_status(&node, "Ready") == Some("True")
        {
            return Ok(name);
        }
    }
    anyhow::bail!("none of the simulator's hollow nodes is Ready")
}
