//! PodTopologySpread: `DoNotSchedule` constraints keep the matching pods of each domain within
//! `maxSkew` of the emptiest one — or leave a pod Pending with upstream's `node(s) didn't match
//! pod topology spread constraints` — with `minDomains` counting missing domains as empty and
//! `nodeAffinityPolicy` / `nodeTaintsPolicy` deciding which nodes make domains; `ScheduleAnyway`
//! constraints only steer; and pods with no constraints that a Service or a ReplicaSet selects
//! are spread over nodes and zones by the system default constraints.
//!
//! Zones are the test's own ([`zone_name`]); a node's zone is whatever the test gave it. Where a
//! score decides, the doc gives the arithmetic: PodTopologySpread's normalised score weighs 2 in
//! the default profile, against a LeastAllocated difference of about 45 between an idle node
//! and one half full.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{Node, Pod, PodTemplateSpec, Service, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::TestContext;
use crate::support::fixtures::{labels, meta, service};
use crate::support::nodes::{add_taint, remove_taint};
use crate::support::ns_api;
use crate::support::pods::create_pod;
use crate::support::scheduling::{
    NODE_AFFINITY_MISMATCH, NodeShape, PrivateNodes, SPREAD_MISMATCH, UNTOLERATED_TAINT, ZONE_KEY,
    create_on, pods_labelled, pods_per_node, wait_all_bound, wait_bound, wait_unschedulable,
    with_labels, with_requests, with_spec, zone_name,
};

/// The label whose value names the group of pods a constraint counts.
const GROUP: &str = "group";

/// The key of the NoSchedule taint these tests put on a node to close it.
const CLOSED: &str = "kubeproof.io/e2e-closed";

/// One spread constraint counting pods labelled `group=<group>` over `topology_key`, with
/// `maxSkew: 1` unless `extra` (merged in) says otherwise.
fn constraint(topology_key: &str, group: &str, when_unsatisfiable: &str, extra: Value) -> Value {
    let mut c = json!({
        "maxSkew": 1,
        "topologyKey": topology_key,
        "whenUnsatisfiable": when_unsatisfiable,
        "labelSelector": {"matchLabels": {GROUP: group}},
    });
    if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
        c.extend(extra);
    }
    c
}

/// Pod `name` of `nodes` in group `group`, spread by `constraint`.
fn spread_pod(nodes: &PrivateNodes, name: &str, group: &str, c: Value) -> anyhow::Result<Pod> {
    with_spec(
        with_labels(nodes.pod(name), &[(GROUP, group)]),
        json!({"topologySpreadConstraints": [c]}),
    )
}

/// A pod requesting half of a default node (2 CPUs, 4 GiB), to make a node the one
/// LeastAllocated avoids.
fn half_node_load(nodes: &PrivateNodes, name: &str) -> Pod {
    with_requests(nodes.pod(name), &[("cpu", "2"), ("memory", "4Gi")])
}

/// Two zones of one node each: node 0 open in the test's zone 0, and a node in zone 1 closed by
/// a NoSchedule taint (returned by name), which still makes a domain unless a policy says not.
async fn open_and_closed_zones(ctx: &TestContext) -> anyhow::Result<(PrivateNodes, String)> {
    let (zone0, zone1) = (zone_name(ctx, 0), zone_name(ctx, 1));
    let mut nodes = PrivateNodes::create(ctx, "open", 1, &NodeShape::new().zone(&zone0)).await?;
    let closed_shape = NodeShape::new()
        .zone(&zone1)
        .taint(CLOSED, "yes", "NoSchedule");
    let closed = nodes.add(ctx, "closed", 1, &closed_shape).await?.remove(0);
    Ok((nodes, closed))
}

/// Pods of `nodes` per zone, the zone of each node given by `zone_of`.
fn per_zone(
    per_node: &BTreeMap<String, usize>,
    zone_of: impl Fn(&str) -> String,
) -> BTreeMap<String, usize> {
    let mut zones = BTreeMap::new();
    for (node, n) in per_node {
        *zones.entry(zone_of(node)).or_default() += n;
    }
    zones
}

/// `DoNotSchedule`, `maxSkew: 1` over zones: pods are created one by one and after each the
/// zones differ by at most one pod, though one zone has a single node and the other three
/// (LeastAllocated alone would give the single node no more than 2 of the 6).
pub async fn do_not_schedule_spread_keeps_zones_within_max_skew(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (zone0, zone1) = (zone_name(&ctx, 0), zone_name(&ctx, 1));
    let mut nodes = PrivateNodes::create(&ctx, "many", 3, &NodeShape::new().zone(&zone0)).await?;
    let single = nodes
        .add(&ctx, "single", 1, &NodeShape::new().zone(&zone1))
        .await?
        .remove(0);
    let zone_of = |node: &str| {
        if node == single {
            zone1.clone()
        } else {
            zone0.clone()
        }
    };
    let mut names = Vec::new();
    for i in 0..6 {
        let name = format!("even-{i}");
        let c = constraint(ZONE_KEY, "even", "DoNotSchedule", json!({}));
        create_pod(&ctx, &spread_pod(&nodes, &name, "even", c)?).await?;
        wait_bound(&ctx, &name).await?;
        names.push(name);
        let pods = pods_labelled(&ctx, GROUP, "even").await?;
        let zones = per_zone(&pods_per_node(&pods, nodes.names()), zone_of);
        let (most, least) = (zones.values().max(), zones.values().min());
        ensure!(
            zones.len() == 2 && most.zip(least).is_some_and(|(m, l)| m - l <= 1),
            "after {} pods the zones hold {zones:?}: a skew above maxSkew 1",
            i + 1
        );
    }
    nodes.delete().await
}

/// A pod that could only go where it would exceed `maxSkew` stays Pending, its node counted
/// under `node(s) didn't match pod topology spread constraints`: the other zone's node is
/// tainted, but with the default `nodeTaintsPolicy: Ignore` it still counts as an empty domain.
/// Once the taint is removed the pod goes there.
pub async fn a_pod_that_would_exceed_max_skew_waits_until_another_zone_opens(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (nodes, closed) = open_and_closed_zones(&ctx).await?;
    let c = || constraint(ZONE_KEY, "skew", "DoNotSchedule", json!({}));
    create_pod(&ctx, &spread_pod(&nodes, "skew-0", "skew", c())?).await?;
    let node = wait_bound(&ctx, "skew-0").await?;
    ensure!(node == nodes.name(0), "the first pod went to {node}");

    create_pod(&ctx, &spread_pod(&nodes, "skew-1", "skew", c())?).await?;
    let message = wait_unschedulable(&ctx, "skew-1", SPREAD_MISMATCH).await?;
    message.expect_exactly(1, SPREAD_MISMATCH)?;
    message.expect_at_least(1, UNTOLERATED_TAINT)?;
    remove_taint(&ctx, &closed, CLOSED).await?;
    let node = wait_bound(&ctx, "skew-1").await?;
    ensure!(
        node == closed,
        "the waiting pod went to {node}, not to {closed} in the other zone"
    );
    nodes.delete().await
}

/// With `nodeTaintsPolicy: Honor` a node whose taints the pod does not tolerate makes no
/// domain: the only open zone is the only zone, so every pod goes there.
pub async fn node_taints_policy_honor_leaves_tainted_nodes_out_of_the_domains(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (nodes, _) = open_and_closed_zones(&ctx).await?;
    let names: Vec<String> = (0..3).map(|i| format!("honor-{i}")).collect();
    for name in &names {
        let c = constraint(
            ZONE_KEY,
            "honor",
            "DoNotSchedule",
            json!({"nodeTaintsPolicy": "Honor"}),
        );
        create_pod(&ctx, &spread_pod(&nodes, name, "honor", c)?).await?;
    }
    for (name, node) in names.iter().zip(wait_all_bound(&ctx, &names).await?) {
        ensure!(node == nodes.name(0), "{name} went to {node}");
    }
    nodes.delete().await
}

/// `nodeAffinityPolicy` decides whether nodes the pod's node affinity excludes make domains:
/// with `Honor` (the default) they do not, so two pods requiring rack `r0`'s pool both go
/// there; with `Ignore` rack `r1` counts as an empty domain and the second pod stays Pending.
pub async fn node_affinity_policy_decides_whether_excluded_nodes_count_as_domains(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const RACK: &str = "kubeproof.io/e2e-rack";
    let shape = |rack: &str, pool: &str| NodeShape::new().label(RACK, rack).label("pool", pool);
    let mut nodes = PrivateNodes::create(&ctx, "rack0", 1, &shape("r0", "a")).await?;
    nodes.add(&ctx, "rack1", 1, &shape("r1", "b")).await?;
    let pod = |name: &str, group: &str, policy: &str| {
        let c = constraint(
            RACK,
            group,
            "DoNotSchedule",
            json!({"nodeAffinityPolicy": policy}),
        );
        with_spec(
            spread_pod(&nodes, name, group, c)?,
            json!({"nodeSelector": {"pool": "a"}}),
        )
    };
    for name in ["honor-0", "honor-1"] {
        create_pod(&ctx, &pod(name, "honor", "Honor")?).await?;
        let node = wait_bound(&ctx, name).await?;
        ensure!(node == nodes.name(0), "{name} went to {node}");
    }
    create_pod(&ctx, &pod("ignore-0", "ignore", "Ignore")?).await?;
    let node = wait_bound(&ctx, "ignore-0").await?;
    ensure!(node == nodes.name(0), "ignore-0 went to {node}");
    create_pod(&ctx, &pod("ignore-1", "ignore", "Ignore")?).await?;
    let message = wait_unschedulable(&ctx, "ignore-1", SPREAD_MISMATCH).await?;
    message.expect_exactly(1, SPREAD_MISMATCH)?;
    message.expect_at_least(1, NODE_AFFINITY_MISMATCH)?;
    nodes.delete().await
}

/// `minDomains: 3` with two zones: the missing third domain counts as empty, so each zone
/// takes one pod and the third waits; a node in a third zone takes it.
pub async fn min_domains_counts_missing_zones_as_empty(ctx: TestContext) -> anyhow::Result<()> {
    let mut nodes = PrivateNodes::new(&ctx)?;
    for i in 0..2 {
        let zone = NodeShape::new().zone(&zone_name(&ctx, i));
        nodes.add(&ctx, &format!("zone{i}"), 1, &zone).await?;
    }
    let c = || constraint(ZONE_KEY, "few", "DoNotSchedule", json!({"minDomains": 3}));
    let names: Vec<String> = (0..2).map(|i| format!("few-{i}")).collect();
    for name in &names {
        create_pod(&ctx, &spread_pod(&nodes, name, "few", c())?).await?;
    }
    let placed = wait_all_bound(&ctx, &names).await?;
    ensure!(
        placed[0] != placed[1],
        "two pods share {} although each zone may take one",
        placed[0]
    );
    create_pod(&ctx, &spread_pod(&nodes, "few-2", "few", c())?).await?;
    wait_unschedulable(&ctx, "few-2", SPREAD_MISMATCH)
        .await?
        .expect_exactly(2, SPREAD_MISMATCH)?;
    let zone2 = NodeShape::new().zone(&zone_name(&ctx, 2));
    let third = nodes.add(&ctx, "zone2", 1, &zone2).await?.remove(0);
    let node = wait_bound(&ctx, "few-2").await?;
    ensure!(
        node == third,
        "the third pod went to {node}, not to {third} in the third zone"
    );
    nodes.delete().await
}

/// `ScheduleAnyway` steers: the pod goes to the zone with none of its group although that
/// zone's node is half full (PodTopologySpread 200 against LeastAllocated about 45). It never
/// blocks: with that node closed, two more pods join the two already in the other zone,
/// far beyond `maxSkew: 1`.
pub async fn schedule_anyway_steers_to_the_emptier_zone_but_never_blocks(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (zone0, zone1) = (zone_name(&ctx, 0), zone_name(&ctx, 1));
    let mut nodes =
        PrivateNodes::create(&ctx, "crowded", 1, &NodeShape::new().zone(&zone0)).await?;
    let busy = nodes
        .add(&ctx, "busy", 1, &NodeShape::new().zone(&zone1))
        .await?
        .remove(0);
    let crowded = nodes.name(0).to_owned();
    for i in 0..2 {
        let member = with_labels(nodes.pod(&format!("soft-{i}")), &[(GROUP, "soft")]);
        create_on(&ctx, member, &crowded).await?;
    }
    create_on(&ctx, half_node_load(&nodes, "load"), &busy).await?;
    let c = || constraint(ZONE_KEY, "soft", "ScheduleAnyway", json!({}));
    create_pod(&ctx, &spread_pod(&nodes, "soft-2", "soft", c())?).await?;
    let node = wait_bound(&ctx, "soft-2").await?;
    ensure!(
        node == busy,
        "the pod went to {node} beside two of its group, not to {busy} in the empty zone"
    );

    let closed = Taint {
        key: CLOSED.to_owned(),
        value: Some("yes".to_owned()),
        effect: "NoSchedule".to_owned(),
        time_added: None,
    };
    add_taint(&ctx, &busy, closed).await?;
    let names: Vec<String> = (3..5).map(|i| format!("soft-{i}")).collect();
    for name in &names {
        create_pod(&ctx, &spread_pod(&nodes, name, "soft", c())?).await?;
    }
    for (name, node) in names.iter().zip(wait_all_bound(&ctx, &names).await?) {
        ensure!(node == crowded, "{name} went to {node}");
    }
    nodes.delete().await
}

/// Three nodes, two in one zone and one, half full, in the other: pods no Service or
/// controller selects follow LeastAllocated and all avoid the busy node.
async fn three_nodes_one_busy(ctx: &TestContext) -> anyhow::Result<(PrivateNodes, String)> {
    let (zone0, zone1) = (zone_name(ctx, 0), zone_name(ctx, 1));
    let mut nodes = PrivateNodes::create(ctx, "idle", 2, &NodeShape::new().zone(&zone0)).await?;
    let busy = nodes
        .add(ctx, "busy", 1, &NodeShape::new().zone(&zone1))
        .await?
        .remove(0);
    create_on(ctx, half_node_load(&nodes, "load"), &busy).await?;
    Ok((nodes, busy))
}

/// Checks how the six pods labelled `app=<app>` spread over `nodes`: upstream's system default
/// constraints (hostname maxSkew 3, zone maxSkew 5, both ScheduleAnyway) score the emptier node
/// and zone higher at every step, enough to outweigh LeastAllocated, which alone would put all
/// six in the idle zone. Worked through, they land 2, 2 and 2; the tolerance asserted is at
/// least one per node and at least two in the busy node's zone.
async fn expect_spread_by_default(
    ctx: &TestContext,
    nodes: &PrivateNodes,
    busy: &str,
    app: &str,
) -> anyhow::Result<()> {
    let pods = pods_labelled(ctx, "app", app).await?;
    let counts = pods_per_node(&pods, nodes.names());
    ensure!(
        counts.values().all(|&n| n >= 1) && counts[busy] >= 2,
        "six {app} pods were not spread over nodes and zones (at least one per node, two in \
         the zone of {busy}): {counts:?}"
    );
    Ok(())
}

/// Pods a Service selects are spread by the system default constraints; pods it does not
/// select are not (they follow LeastAllocated, away from the busy node). See
/// [`expect_spread_by_default`] for the tolerance.
pub async fn default_spreading_spreads_a_services_pods_over_nodes_and_zones(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (nodes, busy) = three_nodes_one_busy(&ctx).await?;
    let plain: Vec<String> = (0..3).map(|i| format!("plain-{i}")).collect();
    for name in &plain {
        create_pod(&ctx, &with_labels(nodes.pod(name), &[("app", "plain")])).await?;
    }
    for (name, node) in plain.iter().zip(wait_all_bound(&ctx, &plain).await?) {
        ensure!(
            node != busy,
            "{name}, selected by no Service, went to the busy node {node}"
        );
    }

    ns_api::<Service>(&ctx)
        .create(&PostParams::default(), &service("web", &[("app", "web")]))
        .await
        .context("creating service web")?;
    let web: Vec<String> = (0..6).map(|i| format!("web-{i}")).collect();
    for name in &web {
        create_pod(&ctx, &with_labels(nodes.pod(name), &[("app", "web")])).await?;
    }
    wait_all_bound(&ctx, &web).await?;
    expect_spread_by_default(&ctx, &nodes, &busy, "web").await?;
    nodes.delete().await
}

/// Pods owned by a ReplicaSet (its controller reference) are spread by the system default
/// constraints over its selector. The ReplicaSet is created through the API and its pods by
/// the test, as its controller would, so the test holds with or without that controller (the
/// pods it creates are all the ReplicaSet wants). See [`expect_spread_by_default`].
pub async fn default_spreading_spreads_a_replica_sets_pods_over_nodes_and_zones(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (nodes, busy) = three_nodes_one_busy(&ctx).await?;
    let template = with_labels(nodes.pod("template"), &[("app", "replica")]);
    let replica_set = ReplicaSet {
        metadata: meta("replicas", &[("app", "replica")]),
        spec: ReplicaSetSpec {
            replicas: Some(6),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", "replica")])),
                ..LabelSelector::default()
            },
            template: Some(PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&[("app", "replica")])),
                    ..ObjectMeta::default()
                }),
                spec: template.spec,
            }),
            ..ReplicaSetSpec::default()
        },
        ..ReplicaSet::default()
    };
    ns_api::<ReplicaSet>(&ctx)
        .create(&PostParams::default(), &replica_set)
        .await
        .context("creating replicaset replicas")?;
    // The ReplicaSet controller makes the six pods.
    let names: Vec<String> =
        crate::support::workloads::wait_live_pods(&ctx, "app=replica", 6, "created", |_| true)
            .await?
            .iter()
            .map(kube::ResourceExt::name_any)
            .collect();
    wait_all_bound(&ctx, &names).await?;
    expect_spread_by_default(&ctx, &nodes, &busy, "replica").await?;
    nodes.delete().await
}

/// `matchLabelKeys: [pod-template-hash]` counts only the pods of the incoming pod's own
/// revision: with the other zone's node closed (but still a domain), a `v2` pod joins the `v1`
/// pod's node, while the same pod spreading over all `group=roll` pods would exceed
/// `maxSkew: 1` and waits.
pub async fn match_label_keys_spread_each_revision_on_its_own(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const HASH: &str = "pod-template-hash";
    let (nodes, _) = open_and_closed_zones(&ctx).await?;
    let old = with_labels(nodes.pod("roll-v1"), &[(GROUP, "roll"), (HASH, "v1")]);
    create_on(&ctx, old, nodes.name(0)).await?;
    let v2 = |name: &str, extra: Value| -> anyhow::Result<Pod> {
        let c = constraint(ZONE_KEY, "roll", "DoNotSchedule", extra);
        Ok(with_labels(
            spread_pod(&nodes, name, "roll", c)?,
            &[(HASH, "v2")],
        ))
    };
    create_pod(&ctx, &v2("by-revision", json!({"matchLabelKeys": [HASH]}))?).await?;
    let node = wait_bound(&ctx, "by-revision").await?;
    ensure!(node == nodes.name(0), "by-revision went to {node}");
    create_pod(&ctx, &v2("all-revisions", json!({}))?).await?;
    wait_unschedulable(&ctx, "all-revisions", SPREAD_MISMATCH)
        .await?
        .expect_exactly(1, SPREAD_MISMATCH)?;
    nodes.delete().await
}

/// `DoNotSchedule` needs the topology key on the node: a pod spreading over a key none of the
/// test's nodes has stays Pending, each counted under upstream's `node(s) didn't match pod
/// topology spread constraints (missing required label)`; once a node gets the label, the pod
/// goes there.
pub async fn nodes_without_the_topology_key_are_no_candidates(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const MISSING_LABEL: &str =
        "node(s) didn't match pod topology spread constraints (missing required label)";
    const ROW: &str = "kubeproof.io/e2e-row";
    let nodes = PrivateNodes::create(&ctx, "unrowed", 2, &NodeShape::new()).await?;
    let c = constraint(ROW, "rows", "DoNotSchedule", json!({}));
    create_pod(&ctx, &spread_pod(&nodes, "rowless", "rows", c)?).await?;
    wait_unschedulable(&ctx, "rowless", MISSING_LABEL)
        .await?
        .expect_exactly(2, MISSING_LABEL)?;
    Api::<Node>::all(ctx.client.clone())
        .patch(
            nodes.name(1),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {ROW: "1"}}})),
        )
        .await
        .with_context(|| format!("labelling node {}", nodes.name(1)))?;
    let node = wait_bound(&ctx, "rowless").await?;
    ensure!(
        node == nodes.name(1),
        "the pod went to {node}, not to the node given the row label"
    );
    nodes.delete().await
}
