//! Which pods a controller deletes first when it scales down (upstream `controller_utils.go`
//! `ActivePodsWithRanks`, with `PodDeletionCost` and `LogarithmicScaleDown` on, as by default):
//! unassigned before assigned; Pending before Unknown before Running; not ready before ready;
//! lower `controller.kubernetes.io/pod-deletion-cost` first; pods doubled up on a node with
//! related pods first; ready for less time first (in powers of two); more restarts first; newer
//! first (in powers of two); then by uid.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use super::pods::PodFacts;

/// Upstream's `podPhaseToOrdinal` (other phases count as Pending).
fn phase_ordinal(phase: &str) -> u8 {
    match phase {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

/// `floor(log2(seconds since t))`, the bucket `LogarithmicScaleDown` compares.
fn log_age(t: Option<jiff::Timestamp>, now: jiff::Timestamp) -> i64 {
    let Some(t) = t else { return -1 };
    let secs = (now - t).get_seconds().max(1);
    63 - i64::from(secs.leading_zeros())
}

/// Order two pods for deletion: `Less` means `a` goes first.
fn compare(a: &Ranked, b: &Ranked, now: jiff::Timestamp) -> Ordering {
    let (pa, pb) = (&a.pod, &b.pod);
    let assigned = |p: &PodFacts| p.node_name().is_some();
    if pa.node_name() != pb.node_name() && (!assigned(pa) || !assigned(pb)) {
        return assigned(pa).cmp(&assigned(pb));
    }
    phase_ordinal(&pa.phase)
        .cmp(&phase_ordinal(&pb.phase))
        .then(pa.ready.cmp(&pb.ready))
        .then(a.cost.cmp(&b.cost))
        .then(b.rank.cmp(&a.rank))
        .then_with(|| {
            if pa.ready && pb.ready && pa.ready_since != pb.ready_since {
                log_age(pa.ready_since, now).cmp(&log_age(pb.ready_since, now))
            } else {
                Ordering::Equal
            }
        })
        .then(pb.restarts.cmp(&pa.restarts))
        .then_with(|| {
            if pa.created != pb.created {
                log_age(pa.created, now).cmp(&log_age(pb.created, now))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| pa.uid.cmp(&pb.uid))
}

struct Ranked {
    pod: Arc<PodFacts>,
    rank: usize,
    cost: i64,
}

/// The `count` pods of `pods` to delete first; `related` are the pods whose company on a node
/// makes a pod "doubled up" (the owner's and its siblings', upstream `getIndirectlyRelatedPods`).
pub(crate) fn pods_to_delete(
    pods: &[Arc<PodFacts>],
    related: &[Arc<PodFacts>],
    count: usize,
    now: jiff::Timestamp,
) -> Vec<Arc<PodFacts>> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for p in related.iter().filter(|p| p.is_active()) {
        if let Some(n) = p.node_name() {
            *per_node.entry(n).or_default() += 1;
        }
    }
    let mut ranked: Vec<Ranked> = pods
        .iter()
        .map(|p| Ranked {
            rank: p
                .node_name()
                .and_then(|n| per_node.get(n))
                .copied()
                .unwrap_or(0),
            cost: p.deletion_cost,
            pod: p.clone(),
        })
        .collect();
    ranked.sort_by(|a, b| compare(a, b, now));
    ranked.into_iter().take(count).map(|r| r.pod).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, Storage};
    use serde_json::json;

    const NOW: &str = "2026-01-01T01:00:00Z";

    fn pod(
        store: &MemoryStore,
        name: &str,
        f: impl FnOnce(&mut serde_json::Value),
    ) -> Arc<PodFacts> {
        let mut p = json!({
            "metadata": {"name": name, "namespace": "ns", "uid": name,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "n1"},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
        });
        f(&mut p);
        Arc::new(PodFacts::parse(
            store.create("pods", "ns", name, p).unwrap(),
        ))
    }

    fn order(pods: &[Arc<PodFacts>], related: &[Arc<PodFacts>]) -> Vec<String> {
        pods_to_delete(pods, related, pods.len(), NOW.parse().unwrap())
            .iter()
            .map(|p| p.name().to_string())
            .collect()
    }

    #[test]
    fn unassigned_pending_and_not_ready_pods_go_first() {
        let s = MemoryStore::default();
        let running = pod(&s, "running", |_| {});
        let unready = pod(&s, "unready", |p| {
            p["status"]["conditions"][0]["status"] = json!("False")
        });
        let pending = pod(&s, "pending", |p| p["status"]["phase"] = json!("Pending"));
        let unassigned = pod(&s, "unassigned", |p| p["spec"] = json!({}));
        let pods = [running, unready, pending, unassigned];
        assert_eq!(
            order(&pods, &[]),
            ["unassigned", "pending", "unready", "running"]
        );
    }

    #[test]
    fn deletion_cost_then_doubled_up_pods_go_first() {
        let s = MemoryStore::default();
        let costly = pod(&s, "costly", |p| {
            p["metadata"]["annotations"] =
                json!({"controller.kubernetes.io/pod-deletion-cost": "100"});
            p["spec"]["nodeName"] = json!("n2");
        });
        let alone = pod(&s, "alone", |p| p["spec"]["nodeName"] = json!("n3"));
        let doubled = pod(&s, "doubled", |_| {});
        let sibling = pod(&s, "sibling", |_| {});
        let pods = [costly.clone(), alone.clone(), doubled.clone()];
        let related = [costly, alone, doubled, sibling];
        assert_eq!(order(&pods, &related), ["doubled", "alone", "costly"]);
    }

    #[test]
    fn newer_restarting_pods_go_before_older_steady_ones() {
        let s = MemoryStore::default();
        let old = pod(&s, "old", |_| {});
        let restarting = pod(&s, "restarting", |p| {
            p["status"]["containerStatuses"] = json!([{"name": "c", "restartCount": 4}]);
        });
        // Ready 30 minutes (bucket 10) against 60 minutes (bucket 11): the newer goes first.
        let newer = pod(&s, "newer", |p| {
            p["status"]["conditions"][0]["lastTransitionTime"] = json!("2026-01-01T00:30:00Z");
        });
        assert_eq!(
            order(&[old, restarting, newer], &[]),
            ["newer", "restarting", "old"]
        );
    }
}
