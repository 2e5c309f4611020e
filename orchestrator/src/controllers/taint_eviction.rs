//! The taint eviction controller (upstream `pkg/controller/tainteviction`): pods on a node with
//! NoExecute taints they do not all tolerate are deleted at once; pods that tolerate every such
//! taint for a bounded `tolerationSeconds` are deleted when the smallest of those runs out,
//! counted from when the controller first saw the pod on the tainted node; tolerations without
//! `tolerationSeconds` keep the pod. A taint removed in time cancels the pending eviction.
//!
//! Deletion is graceful, as upstream: the pod first gets the `DisruptionTarget` condition, then
//! a delete with default options, so a pod on an unreachable node stays Terminating until its
//! kubelet or the pod garbage collector finishes it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::events::{EventRecorder, NORMAL, ObjectRef};
use super::pod_conditions::{DISRUPTION_TARGET, with_condition};
use super::pod_index::{PodIndex, PodKey};
use super::taints::{self, Stay, matching_tolerations, no_execute, pod_tolerations, stay};
use super::{Sink, WorkQueue};
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::error::{ApiError, Reason};
use crate::registry::{ResourceInfo, UpdateTarget, find};
use crate::store::{Event, EventType, ListOptions};

/// The controller's name: its events' `source.component`.
const COMPONENT: &str = "taint-eviction-controller";
/// Deletion attempts per firing (upstream `retries`).
const DELETE_ATTEMPTS: usize = 5;

/// Deletes pods from nodes whose NoExecute taints they do not tolerate.
pub struct TaintEvictionController {
    objects: Arc<Objects>,
    pods: Arc<PodIndex>,
    recorder: EventRecorder,
    nodes: WorkQueue,
    /// Pods (`ns/name`) whose node or tolerations changed, or that went away.
    pod_updates: WorkQueue,
    /// Pods (`ns/name`) whose eviction may be due.
    due: WorkQueue,
    state: parking_lot::Mutex<EvictionState>,
}

impl std::fmt::Debug for TaintEvictionController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaintEvictionController")
            .finish_non_exhaustive()
    }
}

/// A pod's eviction (upstream `TimedWorkerQueue` entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Eviction {
    /// Due at `fire_at`; the toleration window opened at `created_at`.
    Scheduled {
        created_at: Instant,
        fire_at: Instant,
    },
    /// Done; kept so the same pod is not scheduled again until it goes away.
    Fired,
}

#[derive(Debug, Default)]
struct EvictionState {
    /// Each tainted node's NoExecute taints.
    tainted: HashMap<String, Vec<Taint>>,
    evictions: HashMap<PodKey, Eviction>,
}

/// What to do with a pod on a tainted node (upstream `processPodOnNode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Cancel anything pending.
    Cancel,
    /// Cancel anything pending and evict now.
    EvictNow,
    /// Keep the eviction already scheduled.
    Keep,
    /// Schedule (replacing a later one) an eviction.
    Schedule {
        created_at: Instant,
        fire_at: Instant,
    },
}

/// Decide for one pod given the node's NoExecute taints, the pod's tolerations and what is
/// already scheduled.
pub(crate) fn decide(
    taints: &[Taint],
    tolerations: &[k8s_openapi::api::core::v1::Toleration],
    existing: Option<Eviction>,
    now: Instant,
) -> Decision {
    if taints.is_empty() {
        return Decision::Cancel;
    }
    let Some(used) = matching_tolerations(taints, tolerations) else {
        return Decision::EvictNow;
    };
    let window = match stay(&used) {
        Stay::Forever => return Decision::Cancel,
        Stay::For(d) => d,
    };
    let trigger = now + window;
    match existing {
        Some(Eviction::Scheduled { created_at, .. }) if created_at + window < trigger => {
            Decision::Keep
        }
        Some(Eviction::Scheduled { created_at, .. }) => Decision::Schedule {
            created_at,
            fire_at: trigger,
        },
        Some(Eviction::Fired) => Decision::Keep,
        None => Decision::Schedule {
            created_at: now,
            fire_at: trigger,
        },
    }
}

fn key_string((ns, name): &PodKey) -> String {
    format!("{ns}/{name}")
}

fn parse_key(key: &str) -> Option<PodKey> {
    key.split_once('/')
        .map(|(ns, name)| (ns.to_string(), name.to_string()))
}

impl TaintEvictionController {
    /// A controller acting through `objects`; it does nothing until run.
    pub(crate) fn new(objects: Arc<Objects>, pods: Arc<PodIndex>) -> Self {
        Self {
            recorder: EventRecorder::new(objects.clone(), COMPONENT),
            objects,
            pods,
            nodes: WorkQueue::default(),
            pod_updates: WorkQueue::default(),
            due: WorkQueue::default(),
            state: Default::default(),
        }
    }

    /// Handle node and pod changes and due evictions until `shutdown`; node changes first, as
    /// upstream, so a pod is never judged against taints older than its node's.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.resync();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                batch = self.nodes.next_batch(&shutdown) => {
                    let Some(batch) = batch else { return };
                    self.pods.refresh(&**self.objects.store());
                    for node in batch {
                        if let Err(e) = self.handle_node(&node) {
                            tracing::warn!(node, error = %e, "taint eviction could not read a node; retrying");
                            self.nodes.add_after(&node, Duration::from_secs(1));
                        }
                    }
                }
                batch = self.pod_updates.next_batch(&shutdown) => {
                    let Some(batch) = batch else { return };
                    for key in batch {
                        self.handle_pod(&key);
                    }
                }
                batch = self.due.next_batch(&shutdown) => {
                    let Some(batch) = batch else { return };
                    for key in batch {
                        self.fire_if_due(&key);
                    }
                }
            }
        }
    }

    /// A node's NoExecute taints changed (or it went away): judge all its pods
    /// (upstream `handleNodeUpdate`).
    fn handle_node(&self, name: &str) -> Result<(), ApiError> {
        let node = match self.objects.store().get("nodes", "", name) {
            Ok(n) => n.value(),
            Err(e) if e.reason == Reason::NotFound => {
                self.state.lock().tainted.remove(name);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let taints = no_execute(&taints::node_taints(&node));
        {
            let mut st = self.state.lock();
            if taints.is_empty() {
                st.tainted.remove(name);
            } else {
                st.tainted.insert(name.to_string(), taints.clone());
            }
        }
        let now = Instant::now();
        for key in self.pods.pods_on(name) {
            if taints.is_empty() {
                self.cancel(&key);
                continue;
            }
            let pod = match self.objects.store().get("pods", &key.0, &key.1) {
                Ok(p) => p.value(),
                Err(_) => continue,
            };
            self.process(&key, &pod, &taints, now);
        }
        Ok(())
    }

    /// A pod changed node or tolerations, or went away (upstream `handlePodUpdate`).
    fn handle_pod(&self, key: &str) {
        let Some(key) = parse_key(key) else { return };
        let pod = match self.objects.store().get("pods", &key.0, &key.1) {
            Ok(p) => p.value(),
            Err(e) if e.reason == Reason::NotFound => {
                self.cancel(&key);
                self.state.lock().evictions.remove(&key);
                return;
            }
            Err(_) => return,
        };
        let node = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(taints) = self.state.lock().tainted.get(node).cloned() else {
            return;
        };
        self.process(&key, &pod, &taints, Instant::now());
    }

    fn process(&self, key: &PodKey, pod: &Value, taints: &[Taint], now: Instant) {
        let existing = self.state.lock().evictions.get(key).copied();
        match decide(taints, &pod_tolerations(pod), existing, now) {
            Decision::Keep => {}
            Decision::Cancel => self.cancel(key),
            Decision::EvictNow => {
                self.cancel(key);
                self.schedule(key, now, now);
            }
            Decision::Schedule {
                created_at,
                fire_at,
            } => {
                self.cancel(key);
                self.schedule(key, created_at, fire_at);
            }
        }
    }

    fn schedule(&self, key: &PodKey, created_at: Instant, fire_at: Instant) {
        let mut st = self.state.lock();
        if st.evictions.contains_key(key) {
            return;
        }
        st.evictions.insert(
            key.clone(),
            Eviction::Scheduled {
                created_at,
                fire_at,
            },
        );
        drop(st);
        let delay = fire_at.saturating_duration_since(Instant::now());
        if delay.is_zero() {
            self.due.add(&key_string(key));
        } else {
            self.due.add_after(&key_string(key), delay);
        }
    }

    /// Drop a pending eviction with upstream's cancellation event; a fired one is forgotten
    /// silently.
    fn cancel(&self, key: &PodKey) {
        let removed = self.state.lock().evictions.remove(key);
        if let Some(Eviction::Scheduled { .. }) = removed {
            self.recorder.record(
                &pod_ref(key),
                NORMAL,
                "TaintManagerEviction",
                &format!("Cancelling deletion of Pod {}", key_string(key)),
            );
        }
    }

    fn fire_if_due(&self, key: &str) {
        let Some(key) = parse_key(key) else { return };
        let now = Instant::now();
        match self.state.lock().evictions.get(&key) {
            Some(Eviction::Scheduled { fire_at, .. }) if *fire_at <= now => {}
            Some(Eviction::Scheduled { fire_at, .. }) => {
                // Rescheduled later meanwhile; its own timer is queued.
                let _ = fire_at;
                return;
            }
            _ => return,
        }
        self.recorder.record(
            &pod_ref(&key),
            NORMAL,
            "TaintManagerEviction",
            &format!("Marking for deletion Pod {}", key_string(&key)),
        );
        let mut result = Err(ApiError::internal("not attempted"));
        for _ in 0..DELETE_ATTEMPTS {
            result = self.condition_and_delete(&key);
            if result.is_ok() {
                break;
            }
        }
        let mut st = self.state.lock();
        match result {
            Ok(()) => {
                st.evictions.insert(key, Eviction::Fired);
            }
            Err(e) => {
                tracing::warn!(pod = key_string(&key), error = %e, "taint eviction could not delete a pod");
                st.evictions.remove(&key);
            }
        }
    }

    /// Upstream `addConditionAndDeletePod`.
    fn condition_and_delete(&self, (ns, name): &PodKey) -> Result<(), ApiError> {
        let info = find("", "v1", "pods").expect("pods are served");
        let pod = self.objects.store().get("pods", ns, name)?.value();
        if let Some(updated) = with_condition(
            &pod,
            DISRUPTION_TARGET,
            "True",
            "DeletionByTaintManager",
            "Taint manager: deleting due to NoExecute taint",
        ) {
            self.objects.update(
                info,
                ns,
                name,
                updated,
                UpdateTarget::Status,
                &WriteParams::default(),
            )?;
        }
        match self
            .objects
            .delete(info, ns, name, &DeleteParams::default())
        {
            Ok(_) => Ok(()),
            Err(e) if e.reason == Reason::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn pod_ref((ns, name): &PodKey) -> ObjectRef {
    ObjectRef {
        kind: "Pod",
        namespace: ns.clone(),
        name: name.clone(),
        ..Default::default()
    }
}

impl Sink for TaintEvictionController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        match info.store_key {
            "nodes" => self.nodes.add(&event.object.name),
            "pods" => {
                let key = (
                    event.object.namespace.to_string(),
                    event.object.name.to_string(),
                );
                if event.kind == EventType::Deleted {
                    if self.state.lock().evictions.contains_key(&key) {
                        self.pod_updates.add(&key_string(&key));
                    }
                    return;
                }
                let node = event.object.field("spec.nodeName").unwrap_or("");
                if node.is_empty() || !self.state.lock().tainted.contains_key(node) {
                    return;
                }
                // Upstream reacts only to a new node or new tolerations, not to status writes.
                let changed = match &event.prev {
                    None => true,
                    Some(prev) => {
                        prev.field("spec.nodeName") != Some(node)
                            || prev.value().pointer("/spec/tolerations")
                                != event.object.value().pointer("/spec/tolerations")
                    }
                };
                if changed {
                    self.pod_updates.add(&key_string(&key));
                }
            }
            _ => {}
        }
    }

    fn resync(&self) {
        if let Ok(nodes) = self.objects.store().list("nodes", &ListOptions::default()) {
            for n in &nodes.items {
                self.nodes.add(&n.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Toleration;
    use serde_json::json;

    use super::*;
    use crate::controllers::taints::{NO_EXECUTE, TAINT_UNREACHABLE, taint};

    fn tolerations(v: Value) -> Vec<Toleration> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn untolerated_taints_evict_at_once() {
        let now = Instant::now();
        let taints = vec![taint(TAINT_UNREACHABLE, NO_EXECUTE)];
        assert_eq!(decide(&taints, &[], None, now), Decision::EvictNow);
        let other = tolerations(json!([{"key": "x", "operator": "Exists"}]));
        assert_eq!(decide(&taints, &other, None, now), Decision::EvictNow);
    }

    #[test]
    fn bounded_tolerations_schedule_and_unbounded_ones_keep_the_pod() {
        let now = Instant::now();
        let taints = vec![taint(TAINT_UNREACHABLE, NO_EXECUTE)];
        let bounded = tolerations(
            json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]),
        );
        assert_eq!(
            decide(&taints, &bounded, None, now),
            Decision::Schedule {
                created_at: now,
                fire_at: now + Duration::from_secs(30)
            }
        );
        let forever = tolerations(json!([{"operator": "Exists"}]));
        let scheduled = Eviction::Scheduled {
            created_at: now,
            fire_at: now + Duration::from_secs(30),
        };
        assert_eq!(
            decide(&taints, &forever, Some(scheduled), now),
            Decision::Cancel
        );
        assert_eq!(
            decide(&[], &bounded, Some(scheduled), now),
            Decision::Cancel
        );
    }

    #[test]
    fn a_window_already_open_is_not_restarted() {
        let t0 = Instant::now();
        let taints = vec![taint(TAINT_UNREACHABLE, NO_EXECUTE)];
        let bounded = tolerations(
            json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "tolerationSeconds": 30}]),
        );
        let scheduled = Eviction::Scheduled {
            created_at: t0,
            fire_at: t0 + Duration::from_secs(30),
        };
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            decide(&taints, &bounded, Some(scheduled), later),
            Decision::Keep
        );
        assert_eq!(
            decide(&taints, &bounded, Some(Eviction::Fired), later),
            Decision::Keep
        );
    }
}
