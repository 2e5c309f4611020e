//! Node registration and heartbeats as a kubelet does them: the labels and status a node
//! registers with, its Lease in `kube-node-lease` and the renewals of it, the Node and Lease APIs
//! themselves, and `kubectl get nodes`.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use anyhow::{Context, ensure};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::nodes::{nodes_api, own_node, quantity_value};
use crate::support::object_events::{has_event, wait_for_events};
use crate::support::{
    Condition, expect_status, kubectl, meta, ready_node, ready_node_name, wait_budget, wait_for,
};

/// The kubelet's labels on every node, with the values the profile gives them
/// (`kubernetes.io/hostname` is the node's name), and zones spread round robin.
pub async fn hollow_nodes_register_with_the_kubelet_labels_spread_over_zones(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let names = ctx.node_control()?.node_names();
    ensure!(!names.is_empty(), "the simulator manages no nodes");
    let api = nodes_api(&ctx);
    let mut zones = BTreeSet::new();
    for name in &names {
        let node = api.get(name).await?;
        let labels = node.labels();
        let want = [
            ("kubernetes.io/hostname", name.as_str()),
            ("kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("node.kubernetes.io/instance-type", "hollow-standard"),
            ("topology.kubernetes.io/region", "region-1"),
        ];
        for (key, value) in want {
            ensure!(
                labels.get(key).map(String::as_str) == Some(value),
                "node {name}: label {key} is {:?}, want {value:?}",
                labels.get(key)
            );
        }
        let zone = labels
            .get("topology.kubernetes.io/zone")
            .with_context(|| format!("node {name} has no zone label"))?;
        ensure!(
            zone.starts_with("region-1-"),
            "node {name}: zone {zone:?} is not in region-1"
        );
        zones.insert(zone.clone());
    }
    let expected = names.len().min(3);
    ensure!(
        zones.len() == expected,
        "{} nodes spread over zones {zones:?}, want {expected} zones",
        names.len()
    );
    Ok(())
}

/// A kubelet starting on a new node records its registration as events about the node (in
/// `default`): Starting, the three healthy-condition events, NodeAllocatableEnforced and
/// NodeReady, worded as upstream's.
pub async fn new_node_records_the_kubelets_startup_events(ctx: TestContext) -> anyhow::Result<()> {
    let node = own_node(&ctx).await?;
    let status_now = |what: &str| format!("Node {node} status is now: {what}");
    let want = [
        ("Starting", "Starting kubelet.".to_string()),
        (
            "NodeHasSufficientMemory",
            status_now("NodeHasSufficientMemory"),
        ),
        ("NodeHasNoDiskPressure", status_now("NodeHasNoDiskPressure")),
        ("NodeHasSufficientPID", status_now("NodeHasSufficientPID")),
        (
            "NodeAllocatableEnforced",
            "Updated Node Allocatable limit across pods".to_string(),
        ),
        ("NodeReady", status_now("NodeReady")),
    ];
    let events = wait_for_events(
        &ctx,
        "default",
        &node,
        "to include the startup events",
        |e| {
            want.iter()
                .all(|(reason, message)| has_event(e, reason, Some(message)))
        },
    )
    .await?;
    // Only the kubelet's: the node controller's RegisteredNode may be there too, first or not.
    let kubelets = events.iter().filter(|e| {
        want.iter()
            .any(|(reason, _)| e.reason.as_deref() == Some(*reason))
    });
    for e in kubelets {
        let source = e.source.clone().unwrap_or_default();
        ensure!(
            source.component.as_deref() == Some("kubelet")
                && source.host.as_deref() == Some(node.as_str())
                && e.involved_object.kind.as_deref() == Some("Node"),
            "event {:?} is not from the kubelet on {node} about the Node: {source:?}",
            e.reason
        );
    }
    Ok(())
}

/// A node's status as the kubelet writes it: capacity and a smaller allocatable, its addresses,
/// node info, the kubelet endpoint, and healthy conditions with upstream's reasons; its spec
/// carries a pod CIDR.
pub async fn node_status_reports_capacity_addresses_info_and_conditions(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node(&ctx).await?;
    let name = node.name_any();
    let status = node.status.clone().context("the node has no status")?;
    let capacity = status.capacity.clone().unwrap_or_default();
    let allocatable = status.allocatable.clone().unwrap_or_default();
    for resource in ["cpu", "memory", "pods", "ephemeral-storage"] {
        let cap = capacity
            .get(resource)
            .and_then(|q| quantity_value(&q.0))
            .with_context(|| format!("node {name}: no capacity {resource} in {capacity:?}"))?;
        let alloc = allocatable
            .get(resource)
            .and_then(|q| quantity_value(&q.0))
            .with_context(|| format!("node {name}: no allocatable {resource}"))?;
        ensure!(
            cap > 0.0 && alloc > 0.0 && alloc <= cap,
            "node {name}: {resource} allocatable {alloc} vs capacity {cap}"
        );
    }

    let addresses = status.addresses.clone().unwrap_or_default();
    let internal = addresses
        .iter()
        .find(|a| a.type_ == "InternalIP")
        .with_context(|| format!("node {name}: no InternalIP in {addresses:?}"))?;
    internal
        .address
        .parse::<Ipv4Addr>()
        .with_context(|| format!("InternalIP {:?} is not an IPv4 address", internal.address))?;
    ensure!(
        addresses
            .iter()
            .any(|a| a.type_ == "Hostname" && a.address == name),
        "node {name}: no Hostname address equal to its name in {addresses:?}"
    );

    let info = status.node_info.clone().context("no nodeInfo")?;
    ensure!(
        info.kubelet_version.starts_with('v'),
        "kubeletVersion {:?}",
        info.kubelet_version
    );
    ensure!(
        info.operating_system == "linux" && info.architecture == "amd64",
        "nodeInfo os/arch {}/{}",
        info.operating_system,
        info.architecture
    );
    for (field, value) in [
        ("containerRuntimeVersion", &info.container_runtime_version),
        ("kernelVersion", &info.kernel_version),
        ("osImage", &info.os_image),
        ("machineID", &info.machine_id),
        ("systemUUID", &info.system_uuid),
        ("bootID", &info.boot_id),
    ] {
        ensure!(!value.is_empty(), "nodeInfo.{field} is empty");
    }
    let port = status
        .daemon_endpoints
        .as_ref()
        .and_then(|d| d.kubelet_endpoint.as_ref())
        .map(|e| e.port);
    ensure!(
        port == Some(10250),
        "kubelet endpoint port {port:?}, want 10250"
    );

    let conditions = status.conditions.clone().unwrap_or_default();
    let want = [
        ("Ready", "True", "KubeletReady"),
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
    ];
    for (type_, status, reason) in want {
        let c = conditions
            .iter()
            .find(|c| c.type_ == type_)
            .with_context(|| format!("node {name}: no {type_} condition"))?;
        ensure!(
            c.status == status && c.reason.as_deref() == Some(reason),
            "node {name}: {type_} is {} ({:?}), want {status} ({reason})",
            c.status,
            c.reason
        );
        ensure!(
            c.last_heartbeat_time.is_some() && c.last_transition_time.is_some(),
            "node {name}: {type_} lacks lastHeartbeatTime or lastTransitionTime"
        );
    }

    let spec = node.spec.clone().unwrap_or_default();
    let cidr = spec.pod_cidr.clone().context("no spec.podCIDR")?;
    ensure!(
        cidr.contains('/')
            && cidr
                .split('/')
                .next()
                .is_some_and(|a| a.parse::<Ipv4Addr>().is_ok()),
        "podCIDR {cidr:?} is not an IPv4 CIDR"
    );
    ensure!(
        spec.pod_cidrs.as_deref().and_then(|c| c.first()) == Some(&cidr),
        "podCIDRs {:?} does not start with podCIDR {cidr}",
        spec.pod_cidrs
    );
    Ok(())
}

/// The kubelet keeps a Lease `kube-node-lease/<node>` held by the node, owned by the Node, and
/// renews it: its `renewTime` advances.
pub async fn node_lease_is_held_by_the_node_and_renewed(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node(&ctx).await?;
    let name = node.name_any();
    let leases: Api<Lease> = Api::namespaced(ctx.client.clone(), "kube-node-lease");
    let lease = leases
        .get(&name)
        .await
        .with_context(|| format!("reading the lease kube-node-lease/{name}"))?;
    let spec = lease.spec.clone().context("the lease has no spec")?;
    ensure!(
        spec.holder_identity.as_deref() == Some(name.as_str()),
        "holderIdentity {:?}, want {name}",
        spec.holder_identity
    );
    ensure!(
        spec.lease_duration_seconds == Some(40),
        "leaseDurationSeconds {:?}, want the kubelet's 40",
        spec.lease_duration_seconds
    );
    let owners = lease.owner_references();
    ensure!(
        owners.iter().any(|o| o.kind == "Node"
            && o.name == name
            && Some(&o.uid) == node.metadata.uid.as_ref()),
        "the lease is not owned by Node {name}: {owners:?}"
    );
    let first = spec
        .renew_time
        .clone()
        .context("the lease has no renewTime")?;
    wait_for(
        &leases,
        &name,
        Condition::exists_and("to be renewed", move |l: &Lease| {
            l.spec
                .as_ref()
                .and_then(|s| s.renew_time.as_ref())
                .is_some_and(|t| t.0 > first.0)
        }),
        wait_budget(&ctx),
    )
    .await?;
    Ok(())
}

/// The coordination.k8s.io Lease API: create, get, update, patch, list by label,
/// delete by collection, delete.
pub async fn lease_api_supports_crud_list_and_delete_collection(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let leases: Api<Lease> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let lease = Lease {
        metadata: meta("lease-one", &[("e2e", "leases")]),
        spec: Some(LeaseSpec {
            holder_identity: Some("holder-one".into()),
            lease_duration_seconds: Some(30),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }),
    };
    leases.create(&PostParams::default(), &lease).await?;
    let mut read = leases.get("lease-one").await?;
    ensure!(
        read.spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some("holder-one"),
        "created lease reads back as {read:?}"
    );

    if let Some(spec) = read.spec.as_mut() {
        spec.holder_identity = Some("holder-two".into());
        spec.lease_transitions = Some(1);
    }
    leases
        .replace("lease-one", &PostParams::default(), &read)
        .await?;
    let patched = leases
        .patch(
            "lease-one",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"holderIdentity": "holder-three", "leaseTransitions": 2}}),
            ),
        )
        .await?;
    let spec = patched.spec.clone().unwrap_or_default();
    ensure!(
        spec.holder_identity.as_deref() == Some("holder-three")
            && spec.lease_transitions == Some(2),
        "patched lease spec {spec:?}"
    );

    let mut second = lease.clone();
    second.metadata = meta("lease-two", &[("e2e", "leases")]);
    leases.create(&PostParams::default(), &second).await?;
    let listed = leases
        .list(&ListParams::default().labels("e2e=leases"))
        .await?;
    ensure!(
        listed.items.len() == 2,
        "listed {} leases by label, want 2",
        listed.items.len()
    );
    leases
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("e2e=leases"),
        )
        .await?;
    let left = leases
        .list(&ListParams::default().labels("e2e=leases"))
        .await?;
    ensure!(
        left.items.is_empty(),
        "{} leases left after delete collection",
        left.items.len()
    );

    leases.create(&PostParams::default(), &lease).await?;
    leases.delete("lease-one", &DeleteParams::default()).await?;
    expect_status(
        leases.get("lease-one").await,
        404,
        "NotFound",
        "get after delete",
    )?;
    Ok(())
}

/// The Node API: create, get, patch, list by label, update, delete, as upstream's "Node,
/// resource lifecycle" does with a fake node no kubelet runs.
pub async fn node_resource_lifecycle_create_patch_list_update_delete(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = nodes_api(&ctx);
    let name = format!("{}-fake", ctx.namespace);
    let label = format!("e2e-fake-node={}", ctx.namespace);
    let node = Node {
        metadata: meta(&name, &[("e2e-fake-node", ctx.namespace.as_str())]),
        ..Node::default()
    };
    api.create(&PostParams::default(), &node).await?;
    let read = api.get(&name).await?;
    ensure!(read.name_any() == name, "got {}", read.name_any());

    api.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"patched": "true"}}})),
    )
    .await?;
    let listed = api.list(&ListParams::default().labels(&label)).await?;
    ensure!(
        listed.items.len() == 1
            && listed.items[0].labels().get("patched").map(String::as_str) == Some("true"),
        "list by label found {:?}",
        listed
            .items
            .iter()
            .map(|n| n.labels().clone())
            .collect::<Vec<_>>()
    );

    let mut current = api.get(&name).await?;
    current.labels_mut().insert("updated".into(), "true".into());
    api.replace(&name, &PostParams::default(), &current).await?;
    let read = api.get(&name).await?;
    ensure!(
        read.labels().get("updated").map(String::as_str) == Some("true"),
        "update lost: {:?}",
        read.labels()
    );

    api.delete(&name, &DeleteParams::default()).await?;
    wait_for(&api, &name, Condition::deleted(), wait_budget(&ctx)).await?;
    expect_status(api.get(&name).await, 404, "NotFound", "get after delete")?;
    Ok(())
}

/// `kubectl get nodes` lists the nodes with their status Ready.
pub async fn kubectl_get_nodes_shows_the_nodes_ready(ctx: TestContext) -> anyhow::Result<()> {
    let name = ready_node_name(&ctx).await?;
    let out = kubectl(&ctx, &["get", "nodes"]).await?.ok()?;
    let header = out.lines().next().unwrap_or_default();
    for column in ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] {
        ensure!(header.contains(column), "header {header:?} lacks {column}");
    }
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))
        .with_context(|| format!("kubectl get nodes does not list {name}:\n{out}"))?;
    let columns: Vec<&str> = line.split_whitespace().collect();
    ensure!(
        columns.get(1) == Some(&"Ready"),
        "node {name} shows status {:?}, want Ready:\n{out}",
        columns.get(1)
    );
    ensure!(
        columns.last().is_some_and(|v| v.starts_with('v')),
        "the VERSION column of {line:?} is not a kubelet version"
    );
    Ok(())
}
