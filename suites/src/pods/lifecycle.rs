//! A pod's life on a node, as the kubelet reports it: bound (by `spec.nodeName` or the binding
//! subresource), Pending while its containers are created, then Running with its IPs, start
//! time, conditions and container states; its QoS class kept through the kubelet's status
//! writes; and the whole lifecycle as a watch sees it, through deletion.

use std::net::Ipv4Addr;

use anyhow::{Context, ensure};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Binding, Node, ObjectReference, Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::ResourceExt;
use kube::api::{DeleteParams, PostParams, WatchParams};

use crate::TestContext;
use crate::support::pods::{
    bound_pod, condition_status, container_mut, container_status, create_pod, create_running,
    hollow_node_name, is_running, is_running_and_ready, phase, pod_condition, ready_node,
    ready_node_name, wait_pod, waiting_reason, with_behaviour,
};
use crate::support::{changes_until, meta, ns_api, unscheduled_pod, wait_budget};

fn internal_ip(node: &Node) -> Option<String> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone())
}

/// Whether `ip` lies in the IPv4 CIDR `cidr`.
fn in_cidr(ip: &str, cidr: &str) -> anyhow::Result<bool> {
    let ip: Ipv4Addr = ip
        .parse()
        .with_context(|| format!("{ip:?} is not an IPv4 address"))?;
    let (net, bits) = cidr
        .split_once('/')
        .with_context(|| format!("{cidr:?} is not a CIDR"))?;
    let net: Ipv4Addr = net.parse()?;
    let bits: u32 = bits.parse()?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Ok(u32::from(ip) & mask == u32::from(net) & mask)
}

/// A pod bound to a node runs with `hostIP` the node's InternalIP, a `podIP` from the node's
/// `podCIDR` (the same in `hostIPs`/`podIPs`), and a `startTime`.
pub async fn running_pod_reports_host_ip_pod_ip_from_the_node_cidr_and_start_time(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node(&ctx).await?;
    let node_name = node.name_any();
    let pod = create_running(&ctx, &bound_pod("addressed", &node_name)).await?;
    let status = pod.status.clone().context("no status")?;
    let host_ip = status.host_ip.clone().context("no hostIP")?;
    ensure!(
        Some(&host_ip) == internal_ip(&node).as_ref(),
        "hostIP {host_ip} is not the node's InternalIP {:?}",
        internal_ip(&node)
    );
    ensure!(
        status
            .host_ips
            .as_ref()
            .and_then(|v| v.first())
            .map(|h| &h.ip)
            == Some(&host_ip),
        "hostIPs {:?} does not start with hostIP {host_ip}",
        status.host_ips
    );
    let pod_ip = status.pod_ip.clone().context("no podIP")?;
    let cidr = node
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.clone())
        .context("the node has no podCIDR")?;
    ensure!(
        in_cidr(&pod_ip, &cidr)?,
        "podIP {pod_ip} is outside the node's podCIDR {cidr}"
    );
    ensure!(
        status
            .pod_ips
            .as_ref()
            .and_then(|v| v.first())
            .map(|p| &p.ip)
            == Some(&pod_ip),
        "podIPs {:?} does not start with podIP {pod_ip}",
        status.pod_ips
    );
    ensure!(status.start_time.is_some(), "no startTime");
    Ok(())
}

/// Two pods on one node get different pod IPs.
pub async fn pods_on_one_node_get_distinct_ips(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let a = create_running(&ctx, &bound_pod("first", &node)).await?;
    let b = create_running(&ctx, &bound_pod("second", &node)).await?;
    let ip = |p: &Pod| p.status.as_ref().and_then(|s| s.pod_ip.clone());
    ensure!(
        ip(&a).is_some() && ip(&a) != ip(&b),
        "pods on one node share the IP {:?}",
        ip(&a)
    );
    Ok(())
}

/// A running pod has PodScheduled, Initialized, ContainersReady and Ready True, each with a
/// `lastTransitionTime`, and its container is running, started and ready, with a container ID,
/// image ID and no restarts.
pub async fn running_pod_reports_its_conditions_and_container_state(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let pod = create_running(&ctx, &bound_pod("conditions", &node)).await?;
    for type_ in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
        let c = pod_condition(&pod, type_).with_context(|| format!("no {type_} condition"))?;
        ensure!(c.status == "True", "{type_} is {}", c.status);
        ensure!(
            c.last_transition_time.is_some(),
            "{type_} has no lastTransitionTime"
        );
    }
    let app = container_status(&pod, "app").context("no status for container app")?;
    let started_at = app
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .and_then(|r| r.started_at.as_ref());
    ensure!(
        started_at.is_some(),
        "container app is not running with a startedAt: {app:?}"
    );
    ensure!(
        app.started == Some(true) && app.ready && app.restart_count == 0,
        "container app started={:?} ready={} restartCount={}",
        app.started,
        app.ready,
        app.restart_count
    );
    let spec_image = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].image.clone());
    ensure!(
        Some(&app.image) == spec_image.as_ref(),
        "status image {:?}, spec image {spec_image:?}",
        app.image
    );
    ensure!(!app.image_id.is_empty(), "no imageID");
    let id = app.container_id.as_deref().unwrap_or("");
    ensure!(
        id.split_once("://")
            .is_some_and(|(runtime, hash)| !runtime.is_empty() && !hash.is_empty()),
        "containerID {id:?} is not <runtime>://<id>"
    );
    Ok(())
}

/// While its container is still being created a pod is Pending: PodScheduled and Initialized
/// True, ContainersReady and Ready False with reason ContainersNotReady, the container waiting
/// in ContainerCreating.
pub async fn starting_pod_is_pending_with_its_container_creating(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = hollow_node_name(&ctx).await?;
    let slow = with_behaviour(bound_pod("slow-start", &node), &[("start-delay", "1h")]);
    create_pod(&ctx, &slow).await?;
    let pod = wait_pod(&ctx, "slow-start", "to have its container waiting", |p| {
        container_status(p, "app").is_some_and(|c| waiting_reason(c).is_some())
    })
    .await?;
    ensure!(phase(&pod) == Some("Pending"), "phase {:?}", phase(&pod));
    let app = container_status(&pod, "app").expect("waited for it");
    ensure!(
        waiting_reason(app) == Some("ContainerCreating") && !app.ready,
        "container app: {app:?}"
    );
    for type_ in ["PodScheduled", "Initialized"] {
        ensure!(
            condition_status(&pod, type_) == Some("True"),
            "{type_} is {:?}",
            condition_status(&pod, type_)
        );
    }
    for type_ in ["ContainersReady", "Ready"] {
        let c = pod_condition(&pod, type_).with_context(|| format!("no {type_}"))?;
        ensure!(
            c.status == "False" && c.reason.as_deref() == Some("ContainersNotReady"),
            "{type_}: {c:?}"
        );
        ensure!(
            c.message.as_deref() == Some("containers with unready status: [app]"),
            "{type_} message {:?}",
            c.message
        );
    }
    ensure!(
        pod.status
            .as_ref()
            .and_then(|s| s.host_ip.as_ref())
            .is_some(),
        "a pod the node has accepted reports its hostIP"
    );
    Ok(())
}

/// A pod bound through the `binding` subresource (as a scheduler binds) gets `spec.nodeName`
/// and PodScheduled=True, and the node runs it.
pub async fn binding_subresource_binds_a_pod_the_node_then_runs(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let api = ns_api::<Pod>(&ctx);
    api.create(&PostParams::default(), &unscheduled_pod("bind-me", &[]))
        .await?;
    let binding = Binding {
        metadata: meta("bind-me", &[]),
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.clone()),
            ..ObjectReference::default()
        },
    };
    api.create_subresource::<Binding, serde_json::Value>(
        "binding",
        "bind-me",
        &PostParams::default(),
        &binding,
    )
    .await
    .context("POST pods/bind-me/binding")?;
    let pod = wait_pod(
        &ctx,
        "bind-me",
        "to run on the node it was bound to",
        is_running_and_ready,
    )
    .await?;
    ensure!(
        pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()),
        "spec.nodeName {:?}, want {node}",
        pod.spec.as_ref().and_then(|s| s.node_name.clone())
    );
    ensure!(
        condition_status(&pod, "PodScheduled") == Some("True"),
        "PodScheduled is {:?}",
        condition_status(&pod, "PodScheduled")
    );
    Ok(())
}

/// The API server sets `status.qosClass` (Guaranteed when requests equal limits, Burstable
/// with requests only, BestEffort with neither) and the kubelet's status writes keep it.
pub async fn qos_class_is_set_and_kept_while_the_pod_runs(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let resources = |requests: bool, limits: bool| {
        let q = || {
            [
                ("cpu".to_string(), Quantity("100m".into())),
                ("memory".to_string(), Quantity("100Mi".into())),
            ]
            .into_iter()
            .collect()
        };
        ResourceRequirements {
            requests: requests.then(q),
            limits: limits.then(q),
            ..ResourceRequirements::default()
        }
    };
    let cases = [
        ("guaranteed", Some(resources(true, true)), "Guaranteed"),
        ("burstable", Some(resources(true, false)), "Burstable"),
        ("besteffort", None, "BestEffort"),
    ];
    for (name, res, want) in cases {
        let mut pod = bound_pod(name, &node);
        container_mut(&mut pod, "app").resources = res;
        let created = create_pod(&ctx, &pod).await?;
        let class = created.status.as_ref().and_then(|s| s.qos_class.clone());
        ensure!(
            class.as_deref() == Some(want),
            "{name}: created with qosClass {class:?}, want {want}"
        );
        let running = wait_pod(&ctx, name, "to be Running and Ready", is_running_and_ready).await?;
        let class = running.status.as_ref().and_then(|s| s.qos_class.clone());
        ensure!(
            class.as_deref() == Some(want),
            "{name}: qosClass {class:?} after the kubelet's writes, want {want}"
        );
    }
    Ok(())
}

/// A watch sees the pod added, modified until Running, and — after a graceful delete the node
/// confirms — deleted.
pub async fn pod_lifecycle_is_seen_through_a_watch_from_creation_to_deletion(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let api = ns_api::<Pod>(&ctx);
    let mut events = api
        .watch(&WatchParams::default().labels("test=watched"), "0")
        .await?
        .boxed();
    create_pod(&ctx, &bound_pod("watched", &node)).await?;
    let mut seen = crate::support::next_changes(&mut events, 1, wait_budget(&ctx)).await?;
    ensure!(
        seen[0].kind == "ADDED" && seen[0].object.name_any() == "watched",
        "first event {}",
        seen[0].label()
    );
    loop {
        let next = crate::support::next_changes(&mut events, 1, wait_budget(&ctx))
            .await
            .context("waiting for the pod to be reported Running")?;
        let change = next.into_iter().next().expect("one change");
        let done = change.kind == "MODIFIED" && is_running_and_ready(&change.object);
        seen.push(change);
        if done {
            break;
        }
    }
    let running = &seen.last().expect("pushed").object;
    ensure!(
        container_status(running, "app").is_some_and(is_running),
        "Running pod's container is not running"
    );
    api.delete("watched", &DeleteParams::default()).await?;
    let until = changes_until(&mut events, "DELETED", "watched", wait_budget(&ctx)).await?;
    let terminating = until
        .iter()
        .any(|c| c.object.metadata.deletion_timestamp.is_some());
    ensure!(
        terminating,
        "the pod was deleted without ever showing a deletionTimestamp (graceful deletion)"
    );
    Ok(())
}
