//! InterPodAffinity: required pod affinity puts a pod in the topology domain (node, zone) of
//! the pods it selects, or leaves it Pending with upstream's `node(s) didn't match pod affinity
//! rules` until one exists (a pod selecting its own labels may start its group); required
//! anti-affinity — the pod's own (`node(s) didn't match pod anti-affinity rules`) and existing
//! pods' (`node(s) didn't satisfy existing pods anti-affinity rules`) — keeps pods apart; terms
//! reach other namespaces through `namespaces` and `namespaceSelector`; preferred terms, and an
//! existing pod's required affinity for the incoming one, outweigh a less loaded node.
//!
//! Pods the test wants at a given place are bound there directly ([`create_on`]), so each test
//! checks one scheduling decision. Where a score decides, the doc gives the arithmetic: with
//! the default profile InterPodAffinity's normalised score weighs 2 (up to 200), against a
//! LeastAllocated difference of about 50 between an idle node and one half full.

use anyhow::ensure;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::TestContext;
use crate::support::fixtures::{create_child_namespace, delete_namespace};
use crate::support::pods::create_pod;
use crate::support::scheduling::{
    EXISTING_ANTI_AFFINITY, HOSTNAME_KEY, NodeShape, POD_AFFINITY_MISMATCH,
    POD_ANTI_AFFINITY_MISMATCH, PrivateNodes, ZONE_KEY, create_on, delete_pod_and_wait,
    wait_all_bound, wait_bound, wait_unschedulable, with_labels, with_requests, with_spec,
    zone_name,
};

/// The label the pods of these tests select each other by.
const ROLE: &str = "role";

/// A pod affinity term: pods labelled `role=<role>` in the pod's own namespace, within
/// `topology_key`.
fn term(role: &str, topology_key: &str) -> Value {
    json!({"labelSelector": {"matchLabels": {ROLE: role}}, "topologyKey": topology_key})
}

/// The spec of a pod with one required term of `kind` (`podAffinity` or `podAntiAffinity`).
fn required(kind: &str, term: Value) -> Value {
    json!({"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}})
}

/// The spec of a pod with preferred terms of `kind`, each with its weight.
fn preferred(kind: &str, terms: &[(i32, Value)]) -> Value {
    let terms: Vec<Value> = terms
        .iter()
        .map(|(weight, term)| json!({"weight": weight, "podAffinityTerm": term}))
        .collect();
    json!({"affinity": {kind: {"preferredDuringSchedulingIgnoredDuringExecution": terms}}})
}

/// Pod `name` of `nodes` labelled `role=<role>` (no label when `role` is empty), with `spec`
/// merged in.
fn pod(nodes: &PrivateNodes, name: &str, role: &str, spec: Value) -> anyhow::Result<Pod> {
    let mut pod = nodes.pod(name);
    if !role.is_empty() {
        pod = with_labels(pod, &[(ROLE, role)]);
    }
    with_spec(pod, spec)
}

/// A pod requesting half of a default node (2 CPUs, 4 GiB): bound to a node, it makes that
/// node the one LeastAllocated avoids, by about 50 points, without unbalancing it.
fn half_node_load(nodes: &PrivateNodes, name: &str) -> Pod {
    with_requests(nodes.pod(name), &[("cpu", "2"), ("memory", "4Gi")])
}

/// Required pod affinity with `topologyKey: kubernetes.io/hostname` puts each pod on the node
/// of the pod it selects, although that node is the most loaded of three.
pub async fn required_pod_affinity_puts_the_pod_beside_the_pod_it_selects(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "beside", 3, &NodeShape::new()).await?;
    let db = with_labels(half_node_load(&nodes, "db"), &[(ROLE, "db")]);
    create_on(&ctx, db, nodes.name(1)).await?;
    for name in ["web-0", "web-1"] {
        let spec = required("podAffinity", term("db", HOSTNAME_KEY));
        create_pod(&ctx, &pod(&nodes, name, "web", spec)?).await?;
        let node = wait_bound(&ctx, name).await?;
        ensure!(
            node == nodes.name(1),
            "{name} went to {node}, not to {} where the db pod it requires runs",
            nodes.name(1)
        );
    }
    nodes.delete().await
}

/// With `topologyKey: topology.kubernetes.io/zone` the pod goes to the selected pod's zone,
/// not necessarily its node: that node is full (`pods: 1`), so the pod takes the other node
/// of the zone, though a node in another zone is idler.
pub async fn required_pod_affinity_by_zone_lands_in_the_selected_pods_zone(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (zone0, zone1) = (zone_name(&ctx, 0), zone_name(&ctx, 1));
    let full = NodeShape::new().zone(&zone0).capacity("pods", "1");
    let mut nodes = PrivateNodes::create(&ctx, "dbnode", 1, &full).await?;
    let same_zone = nodes
        .add(&ctx, "samezone", 1, &NodeShape::new().zone(&zone0))
        .await?
        .remove(0);
    let other_zone = nodes
        .add(&ctx, "otherzone", 1, &NodeShape::new().zone(&zone1))
        .await?
        .remove(0);
    create_on(&ctx, pod(&nodes, "db", "db", json!({}))?, nodes.name(0)).await?;
    create_on(&ctx, half_node_load(&nodes, "busy"), &same_zone).await?;
    let names: Vec<String> = (0..2).map(|i| format!("web-{i}")).collect();
    for name in &names {
        let spec = required("podAffinity", term("db", ZONE_KEY));
        create_pod(&ctx, &pod(&nodes, name, "web", spec)?).await?;
    }
    for (name, node) in names.iter().zip(wait_all_bound(&ctx, &names).await?) {
        ensure!(
            node == same_zone,
            "{name} went to {node}, not to {same_zone}, the node of the db pod's zone {zone0} \
             with room ({other_zone} is in {zone1})"
        );
    }
    nodes.delete().await
}

/// A pod whose required affinity selects no pod (and not itself) stays Pending, each of the
/// test's nodes counted under `node(s) didn't match pod affinity rules`; once a matching pod
/// runs on a node, the waiting pod is scheduled beside it.
pub async fn required_pod_affinity_matching_no_pod_waits_until_one_exists(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "lonely", 2, &NodeShape::new()).await?;
    let spec = required("podAffinity", term("db", HOSTNAME_KEY));
    create_pod(&ctx, &pod(&nodes, "web", "web", spec)?).await?;
    wait_unschedulable(&ctx, "web", POD_AFFINITY_MISMATCH)
        .await?
        .expect_exactly(2, POD_AFFINITY_MISMATCH)?;
    create_on(&ctx, pod(&nodes, "db", "db", json!({}))?, nodes.name(1)).await?;
    let node = wait_bound(&ctx, "web").await?;
    ensure!(
        node == nodes.name(1),
        "the waiting pod went to {node}, not beside the db pod on {}",
        nodes.name(1)
    );
    nodes.delete().await
}

/// Upstream's exception for the first pod of a group: when no pod matches a required affinity
/// term but the pod matches it itself, it may go anywhere; the rest of the group then follows
/// it to its node.
pub async fn a_pod_with_affinity_to_its_own_group_starts_it_and_the_rest_follow(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "group", 3, &NodeShape::new()).await?;
    let names: Vec<String> = (0..4).map(|i| format!("cache-{i}")).collect();
    for name in &names {
        let spec = required("podAffinity", term("cache", HOSTNAME_KEY));
        create_pod(&ctx, &pod(&nodes, name, "cache", spec)?).await?;
    }
    let placed = wait_all_bound(&ctx, &names).await?;
    ensure!(
        placed.iter().all(|n| n == &placed[0]),
        "the group did not gather on one node: {placed:?}"
    );
    nodes.delete().await
}

/// Required anti-affinity against its own group (hostname) spreads pods one per node; one pod
/// more than nodes stays Pending, every node counted under `node(s) didn't match pod
/// anti-affinity rules` (the pod's own rule is checked before the existing pods' ones); when a
/// pod of the group is deleted, the waiting one takes its node.
pub async fn required_pod_anti_affinity_spreads_pods_one_per_node(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "solo", 3, &NodeShape::new()).await?;
    let spec = || required("podAntiAffinity", term("solo", HOSTNAME_KEY));
    let names: Vec<String> = (0..3).map(|i| format!("solo-{i}")).collect();
    for name in &names {
        create_pod(&ctx, &pod(&nodes, name, "solo", spec())?).await?;
    }
    let mut placed = wait_all_bound(&ctx, &names).await?;
    placed.sort();
    placed.dedup();
    ensure!(
        placed.len() == 3,
        "three pods with anti-affinity to each other share nodes: {placed:?}"
    );

    create_pod(&ctx, &pod(&nodes, "solo-3", "solo", spec())?).await?;
    wait_unschedulable(&ctx, "solo-3", POD_ANTI_AFFINITY_MISMATCH)
        .await?
        .expect_exactly(3, POD_ANTI_AFFINITY_MISMATCH)?;
    let freed = wait_bound(&ctx, "solo-0").await?;
    delete_pod_and_wait(&ctx, "solo-0").await?;
    let node = wait_bound(&ctx, "solo-3").await?;
    ensure!(
        node == freed,
        "the waiting pod went to {node}, not to {freed} that solo-0 left"
    );
    nodes.delete().await
}

/// An existing pod's required anti-affinity (zone) keeps pods it selects out of its whole
/// zone, both nodes counted under `node(s) didn't satisfy existing pods anti-affinity rules`,
/// while pods it does not select are welcome; a node in another zone takes the waiting pod.
pub async fn existing_pods_anti_affinity_keeps_matching_pods_out_of_its_zone(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let (zone0, zone1) = (zone_name(&ctx, 0), zone_name(&ctx, 1));
    let mut nodes =
        PrivateNodes::create(&ctx, "guarded", 2, &NodeShape::new().zone(&zone0)).await?;
    let guard = pod(
        &nodes,
        "guard",
        "guard",
        required("podAntiAffinity", term("intruder", ZONE_KEY)),
    )?;
    create_on(&ctx, guard, nodes.name(0)).await?;

    create_pod(&ctx, &pod(&nodes, "intruder", "intruder", json!({}))?).await?;
    wait_unschedulable(&ctx, "intruder", EXISTING_ANTI_AFFINITY)
        .await?
        .expect_exactly(2, EXISTING_ANTI_AFFINITY)?;
    create_pod(&ctx, &pod(&nodes, "visitor", "visitor", json!({}))?).await?;
    let node = wait_bound(&ctx, "visitor").await?;
    ensure!(
        nodes.names()[..2].contains(&node),
        "the visitor went to {node}, outside the guarded zone"
    );

    let away = nodes
        .add(&ctx, "away", 1, &NodeShape::new().zone(&zone1))
        .await?
        .remove(0);
    let node = wait_bound(&ctx, "intruder").await?;
    ensure!(
        node == away,
        "the intruder went to {node}, not to {away} in {zone1}"
    );
    nodes.delete().await
}

/// A term selects pods of its own namespace unless it names others: by `namespaces`, by a
/// `namespaceSelector` (here on `kubernetes.io/metadata.name`), or in every namespace with
/// an empty `namespaceSelector`. Each of those finds the db pod of a second namespace; the
/// same term without them stays Pending.
pub async fn affinity_terms_select_pods_in_other_namespaces(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "nsaff", 3, &NodeShape::new()).await?;
    let other = create_child_namespace(&ctx, "other").await?;
    let mut db = pod(&nodes, "db", "shared-db", json!({}))?;
    db.metadata.namespace = Some(other.clone());
    create_on(&ctx, db, nodes.name(1)).await?;

    let with = |extra: Value| {
        let mut shared_db = term("shared-db", HOSTNAME_KEY);
        if let (Value::Object(t), Value::Object(e)) = (&mut shared_db, extra) {
            t.extend(e);
        }
        required("podAffinity", shared_db)
    };
    let cases = [
        ("by-namespaces", json!({"namespaces": [other]})),
        (
            "by-namespace-selector",
            json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": other}}}),
        ),
        ("in-any-namespace", json!({"namespaceSelector": {}})),
    ];
    for (name, extra) in cases {
        create_pod(&ctx, &pod(&nodes, name, "web", with(extra))?).await?;
        let node = wait_bound(&ctx, name).await?;
        ensure!(
            node == nodes.name(1),
            "{name} went to {node}, not beside the db pod of namespace {other} on {}",
            nodes.name(1)
        );
    }
    create_pod(&ctx, &pod(&nodes, "own-namespace", "web", with(json!({})))?).await?;
    wait_unschedulable(&ctx, "own-namespace", POD_AFFINITY_MISMATCH)
        .await?
        .expect_exactly(3, POD_AFFINITY_MISMATCH)?;
    delete_namespace(&ctx, &other).await?;
    nodes.delete().await
}

/// Preferred affinity draws a pod to the node of the pod it selects, though that node is half
/// full and the other idle (InterPodAffinity 200 against LeastAllocated about 50).
pub async fn preferred_pod_affinity_outweighs_an_idler_node(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "prefer", 2, &NodeShape::new()).await?;
    let db = with_labels(half_node_load(&nodes, "db"), &[(ROLE, "db")]);
    create_on(&ctx, db, nodes.name(0)).await?;
    let spec = preferred("podAffinity", &[(50, term("db", HOSTNAME_KEY))]);
    create_pod(&ctx, &pod(&nodes, "near-db", "web", spec)?).await?;
    let node = wait_bound(&ctx, "near-db").await?;
    ensure!(
        node == nodes.name(0),
        "the pod went to the idle node {node}, not beside the db pod it prefers"
    );
    nodes.delete().await
}

/// Preferred terms add up by weight per node: the node of the pod matched by the weight-80
/// term beats the one matched by the weight-20 term, and a term matching no pod neither blocks
/// nor steers.
pub async fn preferred_pod_affinity_picks_the_heavier_weighted_term(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "weights", 2, &NodeShape::new()).await?;
    create_on(&ctx, pod(&nodes, "db", "db", json!({}))?, nodes.name(0)).await?;
    create_on(
        &ctx,
        pod(&nodes, "cache", "cache", json!({}))?,
        nodes.name(1),
    )
    .await?;
    let spec = preferred(
        "podAffinity",
        &[
            (20, term("db", HOSTNAME_KEY)),
            (80, term("cache", HOSTNAME_KEY)),
            (100, term("absent", HOSTNAME_KEY)),
        ],
    );
    create_pod(&ctx, &pod(&nodes, "web", "web", spec)?).await?;
    let node = wait_bound(&ctx, "web").await?;
    ensure!(
        node == nodes.name(1),
        "the pod went to {node}, not beside the cache pod its weight-80 term prefers"
    );
    nodes.delete().await
}

/// Preferred anti-affinity steers a pod away from the node of the pods it selects, even to a
/// half-full node.
pub async fn preferred_pod_anti_affinity_steers_the_pod_away_to_a_busier_node(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "avoid", 2, &NodeShape::new()).await?;
    create_on(
        &ctx,
        pod(&nodes, "noisy", "noisy", json!({}))?,
        nodes.name(0),
    )
    .await?;
    create_on(&ctx, half_node_load(&nodes, "busy"), nodes.name(1)).await?;
    let spec = preferred("podAntiAffinity", &[(100, term("noisy", HOSTNAME_KEY))]);
    create_pod(&ctx, &pod(&nodes, "quiet", "quiet", spec)?).await?;
    let node = wait_bound(&ctx, "quiet").await?;
    ensure!(
        node == nodes.name(1),
        "the pod went to {node}, beside the noisy pod it prefers to avoid"
    );
    nodes.delete().await
}

/// Affinity is symmetric in scoring: an existing pod's required affinity for the incoming pod
/// counts for that pod's node (upstream's `hardPodAffinityWeight`, 1 by default, normalised to
/// the full 200), drawing a pod that has no affinity itself onto a half-full node.
pub async fn an_existing_pods_required_affinity_draws_the_pods_it_selects(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "symmetric", 2, &NodeShape::new()).await?;
    let fan = with_spec(
        half_node_load(&nodes, "fan"),
        required("podAffinity", term("web", HOSTNAME_KEY)),
    )?;
    create_on(&ctx, fan, nodes.name(0)).await?;
    create_pod(&ctx, &pod(&nodes, "web", "web", json!({}))?).await?;
    let node = wait_bound(&ctx, "web").await?;
    ensure!(
        node == nodes.name(0),
        "the pod went to the idle node {node}, not to the node of the pod whose affinity \
         selects it"
    );
    nodes.delete().await
}

/// `matchLabelKeys` and `mismatchLabelKeys` (beta, on by default since 1.31) take values from
/// the incoming pod's own labels: affinity to `role=roll` pods with the same
/// `pod-template-hash`, or anti-affinity to those with another one, both lead a `v2` pod to the
/// half-full node of the other `v2` pod rather than to the idler node of the `v1` pod.
pub async fn match_and_mismatch_label_keys_select_by_the_pods_own_label_values(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const HASH: &str = "pod-template-hash";
    let nodes = PrivateNodes::create(&ctx, "revisions", 2, &NodeShape::new()).await?;
    let old = with_labels(nodes.pod("roll-v1"), &[(ROLE, "roll"), (HASH, "v1")]);
    create_on(&ctx, old, nodes.name(0)).await?;
    let new = with_labels(
        half_node_load(&nodes, "roll-v2"),
        &[(ROLE, "roll"), (HASH, "v2")],
    );
    create_on(&ctx, new, nodes.name(1)).await?;
    let cases = [
        ("same-revision", "podAffinity", "matchLabelKeys"),
        (
            "away-from-other-revisions",
            "podAntiAffinity",
            "mismatchLabelKeys",
        ),
    ];
    for (name, kind, keys) in cases {
        let mut roll = term("roll", HOSTNAME_KEY);
        roll[keys] = json!([HASH]);
        let pod = with_labels(
            with_spec(nodes.pod(name), required(kind, roll))?,
            &[(ROLE, "roll"), (HASH, "v2")],
        );
        create_pod(&ctx, &pod).await?;
        let node = wait_bound(&ctx, name).await?;
        ensure!(
            node == nodes.name(1),
            "{name} ({kind} with {keys}: [{HASH}]) went to {node}, not beside the other v2 pod \
             on {}",
            nodes.name(1)
        );
    }
    nodes.delete().await
}

/// A node without a term's topology key is in no domain: it fails required affinity (the pod
/// goes to the busier node that has the key) and passes required anti-affinity (the pod goes
/// to it, as the only node not sharing a domain with the pod it avoids).
pub async fn a_node_without_the_topology_key_fails_affinity_but_passes_anti_affinity(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const RACK: &str = "kubeproof.io/e2e-rack";
    let mut nodes =
        PrivateNodes::create(&ctx, "rack", 1, &NodeShape::new().label(RACK, "r0")).await?;
    let unracked = nodes
        .add(&ctx, "unracked", 1, &NodeShape::new())
        .await?
        .remove(0);
    let db = with_labels(half_node_load(&nodes, "db"), &[(ROLE, "db")]);
    create_on(&ctx, db, nodes.name(0)).await?;

    let near = pod(
        &nodes,
        "near",
        "web",
        required("podAffinity", term("db", RACK)),
    )?;
    create_pod(&ctx, &near).await?;
    let node = wait_bound(&ctx, "near").await?;
    ensure!(
        node == nodes.name(0),
        "the pod with affinity to the db pod's rack went to {node}, which has no rack"
    );
    let far = pod(
        &nodes,
        "far",
        "web",
        required("podAntiAffinity", term("db", RACK)),
    )?;
    create_pod(&ctx, &far).await?;
    let node = wait_bound(&ctx, "far").await?;
    ensure!(
        node == unracked,
        "the pod avoiding the db pod's rack went to {node}, not to {unracked} with no rack"
    );
    nodes.delete().await
}
