//! The pod garbage collector (upstream `pkg/controller/podgc`). Every period it force-deletes
//! (grace 0) — after marking them Failed, as upstream, since no kubelet will:
//! - pods bound to a node that has been missing for the quarantine (orphans; with the
//!   `DisruptionTarget` condition, reason `DeletionByPodGC`) — this is what makes
//!   `kubectl delete node` take the node's pods with it;
//! - terminating pods that were never scheduled;
//! - terminating pods on a not-ready node an operator marked `out-of-service`;
//! - the oldest terminated pods beyond the terminated-pod threshold.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::NodeLifecycleConfig;
use super::node_lifecycle::ready_condition;
use super::pod_conditions::{DISRUPTION_TARGET, with_condition};
use super::pod_index::{PodIndex, PodKey};
use super::taints::{TAINT_OUT_OF_SERVICE, node_taints};
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::error::{ApiError, Reason};
use crate::registry::{UpdateTarget, find};
use crate::store::{ListOptions, Stored};

/// Deletes pods nothing else will.
pub struct PodGcController {
    objects: Arc<Objects>,
    config: NodeLifecycleConfig,
    pods: Arc<PodIndex>,
    /// Missing nodes that pods are bound to, with when they were first found missing.
    quarantine: parking_lot::Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for PodGcController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodGcController").finish_non_exhaustive()
    }
}

impl PodGcController {
    /// A collector acting through `objects`; it does nothing until run.
    pub(crate) fn new(
        objects: Arc<Objects>,
        config: NodeLifecycleConfig,
        pods: Arc<PodIndex>,
    ) -> Self {
        Self {
            objects,
            config,
            pods,
            quarantine: Default::default(),
        }
    }

    /// Collect every period until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.config.pod_gc_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    self.pods.refresh(&**self.objects.store());
                    if let Err(e) = self.gc() {
                        tracing::warn!(error = %e, "pod garbage collection failed");
                    }
                }
            }
        }
    }

    /// One collection pass (upstream `gc`).
    pub(crate) fn gc(&self) -> Result<(), ApiError> {
        let store = self.objects.store();
        let nodes = store.list("nodes", &ListOptions::default())?.items;
        let pods = store.list("pods", &ListOptions::default())?.items;
        if self.config.terminated_pod_gc_threshold > 0 {
            self.gc_terminated(&pods);
        }
        self.gc_out_of_service(&nodes);
        self.gc_orphaned(&nodes, Instant::now());
        self.gc_unscheduled_terminating(&pods);
        Ok(())
    }

    /// Delete the oldest terminated pods beyond the threshold, evicted ones first.
    fn gc_terminated(&self, pods: &[Arc<Stored>]) {
        let terminated: Vec<&Arc<Stored>> = pods
            .iter()
            .filter(|p| {
                !matches!(
                    p.field("status.phase"),
                    Some("Pending" | "Running" | "Unknown" | "") | None
                )
            })
            .collect();
        let excess = terminated
            .len()
            .saturating_sub(self.config.terminated_pod_gc_threshold);
        if excess == 0 {
            return;
        }
        let mut ordered: Vec<(bool, String, String, Value)> = terminated
            .iter()
            .map(|p| {
                let v = p.value();
                let evicted =
                    v.pointer("/status/reason").and_then(Value::as_str) == Some("Evicted");
                let created = v
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                (!evicted, created, p.name.to_string(), v)
            })
            .collect();
        ordered.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
        for (_, _, _, pod) in ordered.into_iter().take(excess) {
            self.fail_and_delete(&pod, None);
        }
    }

    /// Terminating pods on not-ready nodes tainted `out-of-service`.
    fn gc_out_of_service(&self, nodes: &[Arc<Stored>]) {
        let marker = TAINT_OUT_OF_SERVICE.as_bytes();
        for stored in nodes {
            if !contains(&stored.bytes, marker) {
                continue;
            }
            let node = stored.value();
            let ready = ready_condition(&node).is_some_and(|r| r.status == "True");
            let out = node_taints(&node)
                .iter()
                .any(|t| t.key == TAINT_OUT_OF_SERVICE);
            if ready || !out {
                continue;
            }
            for key in self.pods.pods_on(&stored.name) {
                if let Some(pod) = self.get(&key)
                    && is_terminating(&pod)
                {
                    self.fail_and_delete(&pod, None);
                }
            }
        }
    }

    /// Pods bound to nodes that stayed missing for the quarantine (upstream `gcOrphaned`).
    fn gc_orphaned(&self, nodes: &[Arc<Stored>], now: Instant) {
        let existing: HashSet<&str> = nodes.iter().map(|n| &*n.name).collect();
        let mut deleted = Vec::new();
        {
            let mut q = self.quarantine.lock();
            let bound = self.pods.nodes();
            q.retain(|n, _| bound.contains(n) && !existing.contains(n.as_str()));
            for node in bound {
                if existing.contains(node.as_str()) {
                    continue;
                }
                let since = *q.entry(node.clone()).or_insert(now);
                if now.saturating_duration_since(since) < self.config.pod_gc_quarantine {
                    continue;
                }
                // Confirm with a fresh read, as upstream confirms with a GET.
                match self.objects.store().get("nodes", "", &node) {
                    Err(e) if e.reason == Reason::NotFound => {
                        q.remove(&node);
                        deleted.push(node);
                    }
                    _ => {}
                }
            }
        }
        for node in deleted {
            for key in self.pods.pods_on(&node) {
                let Some(pod) = self.get(&key) else { continue };
                tracing::info!(
                    pod = key.1,
                    node,
                    "deleting a pod bound to a node that no longer exists"
                );
                self.fail_and_delete(
                    &pod,
                    Some(("DeletionByPodGC", "PodGC: node no longer exists")),
                );
            }
        }
    }

    /// Terminating pods that were never bound: no kubelet will ever confirm them.
    fn gc_unscheduled_terminating(&self, pods: &[Arc<Stored>]) {
        for stored in pods {
            if stored.field("spec.nodeName").is_some_and(|n| !n.is_empty())
                || !contains(&stored.bytes, b"\"deletionTimestamp\"")
            {
                continue;
            }
            let pod = stored.value();
            if is_terminating(&pod) {
                self.fail_and_delete(&pod, None);
            }
        }
    }

    fn get(&self, (ns, name): &PodKey) -> Option<Value> {
        self.objects
            .store()
            .get("pods", ns, name)
            .ok()
            .map(|s| s.value())
    }

    /// Mark the pod Failed (with a condition) unless it finished, then delete it with grace 0
    /// (upstream `markFailedAndDeletePodWithCondition`). Errors are logged: the next pass tries
    /// again.
    fn fail_and_delete(&self, pod: &Value, condition: Option<(&str, &str)>) {
        let info = find("", "v1", "pods").expect("pods are served");
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
        let phase = pod.pointer("/status/phase").and_then(Value::as_str);
        if !matches!(phase, Some("Succeeded" | "Failed")) {
            let mut failed = match condition {
                Some((reason, message)) => {
                    with_condition(pod, DISRUPTION_TARGET, "True", reason, message)
                        .unwrap_or_else(|| pod.clone())
                }
                None => pod.clone(),
            };
            failed["status"]["phase"] = json!("Failed");
            match self.objects.update(
                info,
                &ns,
                &name,
                failed,
                UpdateTarget::Status,
                &WriteParams::default(),
            ) {
                Ok(_) => {}
                Err(e) if e.reason == Reason::NotFound => return,
                Err(e) => {
                    tracing::warn!(pod = name, error = %e, "pod GC could not mark a pod Failed");
                    return;
                }
            }
        }
        let now = DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        match self.objects.delete(info, &ns, &name, &now) {
            Ok(_) => {}
            Err(e) if e.reason == Reason::NotFound => {}
            Err(e) => tracing::warn!(pod = name, error = %e, "pod GC could not delete a pod"),
        }
    }
}

fn is_terminating(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// Whether `needle` occurs in `hay`: a cheap filter before parsing a stored object.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_filter_finds_deletion_timestamps() {
        assert!(contains(
            br#"{"metadata":{"deletionTimestamp":"x"}}"#,
            b"\"deletionTimestamp\""
        ));
        assert!(!contains(br#"{"metadata":{}}"#, b"\"deletionTimestamp\""));
    }
}
