//! A batch: 1,000 pods onto 100 private nodes at once, then checked from the API alone — every
//! pod bound exactly once (one `Scheduled` event, naming the node the pod is on), no node over
//! its cpu, memory or pods capacity, and the pods spread about evenly, as LeastAllocated and
//! BalancedAllocation spread identical pods over identical nodes.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, anyhow, bail, ensure};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};

use crate::TestContext;
use crate::support::ns_api;
use crate::support::pods::create_pod;
use crate::support::scheduling::{NodeShape, PrivateNodes, node_of, pods_per_node, with_requests};

const NODES: usize = 100;
const PODS: usize = 1_000;
/// Pod creations in flight at once.
const IN_FLIGHT: usize = 16;
/// Each node: 2 CPUs, 4 GiB and room for 30 pods; each pod: 150m and 256 Mi. A node holds at
/// most 13 such pods by CPU, 16 by memory and 30 by count, against 10 on average: capacity
/// bounds the batch only if the scheduler overcommits.
const NODE_CPU_MILLI: u64 = 2_000;
const NODE_MEMORY_MI: u64 = 4_096;
const NODE_PODS: usize = 30;
const POD_CPU_MILLI: u64 = 150;
const POD_MEMORY_MI: u64 = 256;
/// The spread accepted: every node between 7 and 13 pods around the mean of 10. Scoring alone
/// keeps identical nodes within one or two pods of each other; 13 is also the CPU bound.
const SPREAD: std::ops::RangeInclusive<usize> = 7..=13;

fn shape() -> NodeShape {
    NodeShape::new()
        .capacity("cpu", &format!("{NODE_CPU_MILLI}m"))
        .capacity("memory", &format!("{NODE_MEMORY_MI}Mi"))
        .capacity("pods", &NODE_PODS.to_string())
}

/// Waits, through a watch on the namespace's pods, until `count` of them are bound; returns the
/// pods as last seen.
async fn wait_bound_count(ctx: &TestContext, count: usize) -> anyhow::Result<Vec<Pod>> {
    let api = ns_api::<Pod>(ctx);
    let mut pods: BTreeMap<String, Pod> = BTreeMap::new();
    let bound =
        |pods: &BTreeMap<String, Pod>| pods.values().filter(|p| node_of(p).is_some()).count();
    // Most of the test's budget: a thousand pods bind in seconds, but a debug build on a busy
    // machine is slower.
    let budget = ctx.timeout.mul_f64(0.6);
    let watched = async {
        loop {
            let list = api.list(&ListParams::default()).await?;
            pods = list.items.into_iter().map(|p| (p.name_any(), p)).collect();
            if bound(&pods) >= count {
                return Ok::<(), anyhow::Error>(());
            }
            let version = list.metadata.resource_version.unwrap_or_default();
            let mut events = api
                .watch(&WatchParams::default().timeout(60), &version)
                .await?
                .boxed();
            while let Some(event) = events.try_next().await? {
                match event {
                    WatchEvent::Added(p) | WatchEvent::Modified(p) => {
                        pods.insert(p.name_any(), p);
                    }
                    WatchEvent::Deleted(p) => {
                        pods.remove(&p.name_any());
                    }
                    WatchEvent::Bookmark(_) => continue,
                    WatchEvent::Error(status) if status.code == 410 => break,
                    WatchEvent::Error(status) => bail!("the pods watch failed: {status:?}"),
                }
                if bound(&pods) >= count {
                    return Ok(());
                }
            }
        }
    };
    match tokio::time::timeout(budget, watched).await {
        Ok(Ok(())) => Ok(pods.into_values().collect()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(anyhow!(
            "timed out after {budget:?} waiting for {count} pods to be bound; {} of {} were",
            bound(&pods),
            pods.len()
        )),
    }
}

/// The node each `Scheduled` event says its pod was assigned to (upstream's message
/// `Successfully assigned <namespace>/<pod> to <node>`), by pod; fails on a pod with two.
fn assignments(events: &[Event], namespace: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for event in events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Scheduled"))
    {
        let pod = event.involved_object.name.clone().unwrap_or_default();
        let message = event.message.as_deref().unwrap_or_default();
        let node = message
            .strip_prefix(&format!("Successfully assigned {namespace}/{pod} to "))
            .with_context(|| format!("an unexpected Scheduled message for {pod}: {message:?}"))?;
        ensure!(
            event.count.unwrap_or(1) <= 1,
            "{pod} has a Scheduled event counted {:?} times",
            event.count
        );
        if let Some(before) = out.insert(pod.clone(), node.to_owned()) {
            bail!("{pod} was scheduled twice: to {before} and to {node}");
        }
    }
    Ok(out)
}

/// A quantity in millicores (`150m`, `2`).
fn milli_cpu(text: &str) -> Option<u64> {
    match text.strip_suffix('m') {
        Some(m) => m.parse().ok(),
        None => text.parse::<u64>().ok().map(|c| c * 1000),
    }
}

/// A quantity in MiB (`256Mi`, `4Gi`).
fn mebibytes(text: &str) -> Option<u64> {
    if let Some(mi) = text.strip_suffix("Mi") {
        return mi.parse().ok();
    }
    text.strip_suffix("Gi")?
        .parse::<u64>()
        .ok()
        .map(|g| g * 1024)
}

/// The sum of `resource` requested by `pods`, read with `parse`.
fn requested(pods: &[&Pod], resource: &str, parse: fn(&str) -> Option<u64>) -> anyhow::Result<u64> {
    let mut sum = 0;
    for pod in pods {
        for c in pod.spec.iter().flat_map(|s| &s.containers) {
            if let Some(q) = c
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get(resource))
            {
                sum += parse(&q.0)
                    .with_context(|| format!("{}: {resource} request {:?}", pod.name_any(), q.0))?;
            }
        }
    }
    Ok(sum)
}

/// 1,000 pods created at once onto 100 nodes of their own: each bound exactly once, to one of
/// those nodes, with no node over its capacity and every node holding 7 to 13 pods.
pub async fn a_thousand_pods_land_once_each_within_capacity_and_evenly(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let nodes = PrivateNodes::create(&ctx, "batch", NODES, &shape()).await?;
    let cpu = format!("{POD_CPU_MILLI}m");
    let memory = format!("{POD_MEMORY_MI}Mi");
    let template = with_requests(nodes.pod("template"), &[("cpu", &cpu), ("memory", &memory)]);
    stream::iter(0..PODS)
        .map(|i| {
            let mut pod = template.clone();
            let name = format!("batch-{i:04}");
            pod.metadata.name = Some(name.clone());
            pod.metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert("name".to_owned(), name);
            let ctx = &ctx;
            async move { create_pod(ctx, &pod).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await?;

    let pods = wait_bound_count(&ctx, PODS).await?;
    ensure!(
        pods.len() == PODS,
        "{} pods in the namespace, not {PODS}",
        pods.len()
    );
    let own: BTreeSet<&str> = nodes.names().iter().map(String::as_str).collect();
    let mut by_node: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for pod in &pods {
        let node = node_of(pod).context("counted bound above")?;
        ensure!(
            own.contains(node),
            "{} went to {node}, not one of its nodes",
            pod.name_any()
        );
        by_node.entry(node).or_default().push(pod);
    }

    // Bound exactly once: one Scheduled event per pod, naming the node it is on.
    let events = Api::<Event>::namespaced(ctx.client.clone(), &ctx.namespace)
        .list(&ListParams::default())
        .await?
        .items;
    let assigned = assignments(&events, &ctx.namespace)?;
    for pod in &pods {
        let name = pod.name_any();
        let on = node_of(pod).unwrap_or_default();
        match assigned.get(&name) {
            Some(node) if node == on => {}
            Some(node) => bail!("{name} is on {on}, but its Scheduled event says {node}"),
            None => bail!("{name} is bound to {on} without a Scheduled event"),
        }
    }

    for (node, on) in &by_node {
        let cpu = requested(on, "cpu", milli_cpu)?;
        let memory = requested(on, "memory", mebibytes)?;
        ensure!(
            cpu <= NODE_CPU_MILLI && memory <= NODE_MEMORY_MI && on.len() <= NODE_PODS,
            "{node} is overcommitted: {} pods, {cpu}m cpu, {memory}Mi memory",
            on.len()
        );
    }
    let counts = pods_per_node(&pods, nodes.names());
    let outside: Vec<_> = counts.iter().filter(|(_, n)| !SPREAD.contains(n)).collect();
    ensure!(
        outside.is_empty(),
        "pods per node outside {SPREAD:?}: {outside:?} (min {:?}, max {:?})",
        counts.values().min(),
        counts.values().max()
    );
    nodes.delete().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_in_the_units_the_batch_uses() {
        assert_eq!(milli_cpu("150m"), Some(150));
        assert_eq!(milli_cpu("2"), Some(2000));
        assert_eq!(mebibytes("256Mi"), Some(256));
        assert_eq!(mebibytes("4Gi"), Some(4096));
        assert_eq!(mebibytes("1G"), None);
    }

    #[test]
    fn a_pod_scheduled_twice_is_caught() {
        let event = |pod: &str, node: &str| -> Event {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": format!("{pod}.{node}")},
                "involvedObject": {"name": pod},
                "reason": "Scheduled",
                "message": format!("Successfully assigned ns/{pod} to {node}"),
            }))
            .expect("parses")
        };
        let once = assignments(&[event("a", "n1"), event("b", "n2")], "ns").unwrap();
        assert_eq!(once["a"], "n1");
        assert!(assignments(&[event("a", "n1"), event("a", "n2")], "ns").is_err());
    }
}
