//! The DaemonSet and Job controllers' tests: the control plane of `cluster_tests.rs`, with a
//! scripted kubelet-and-scheduler task standing in for nodes (it binds pods
//! to the node their affinity names, runs them to the fate the test chooses, and finishes
//! deletions). Waits re-check a condition on every change of the watched resources, with a
//! timeout that names what was awaited.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::cluster_tests::{Cluster, TIMEOUT, info};
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::patch::PatchType;
use crate::registry::UpdateTarget;
use crate::store::{EventType, Filter, ListOptions, WatchFrom};

/// What the scripted kubelet does with a bound pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Leave it Pending and unready.
    Pending,
    /// Running and Ready.
    Run,
    /// Run to completion.
    Succeed,
    /// Exit with an error (exit code 1).
    Fail,
    /// Exit with this code.
    Exit(i32),
}

/// A running control plane ([`Cluster`]) that also wakes waits on every change of the resources
/// the DaemonSet and Job controllers read.
pub(crate) struct TestCluster {
    cluster: Cluster,
    changed: Arc<tokio::sync::Notify>,
}

impl Deref for TestCluster {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.cluster
    }
}

impl TestCluster {
    /// Every controller, and the namespace `team`.
    pub(crate) fn start() -> Self {
        let cluster = Cluster::start();
        let store = cluster.objects.store().clone();
        let changed = Arc::new(tokio::sync::Notify::new());
        for resource in [
            "pods",
            "nodes",
            "daemonsets.apps",
            "controllerrevisions.apps",
            "jobs.batch",
            "events",
        ] {
            let mut watch = store
                .watch(
                    resource,
                    Filter::default(),
                    WatchFrom::After(store.revision()),
                )
                .unwrap();
            let changed = changed.clone();
            let stop = cluster.shutdown.clone();
            cluster.tracker.spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        ev = watch.rx.recv() => match ev {
                            Some(_) => changed.notify_waiters(),
                            None => return,
                        },
                    }
                }
            });
        }
        Self { cluster, changed }
    }

    pub(crate) async fn stop(self) {
        self.cluster.stop().await;
    }

    pub(crate) fn list(&self, plural: &str, ns: &str) -> Vec<Value> {
        let opts = ListOptions {
            filter: Filter {
                namespace: (!ns.is_empty()).then(|| ns.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        self.objects
            .store()
            .list(info(plural).store_key, &opts)
            .unwrap()
            .items
            .iter()
            .map(|s| s.value())
            .collect()
    }

    pub(crate) fn patch(&self, plural: &str, ns: &str, name: &str, patch: Value) -> Value {
        self.objects
            .patch(
                info(plural),
                ns,
                name,
                PatchType::StrategicMerge,
                patch.to_string().as_bytes(),
                UpdateTarget::Main,
                &WriteParams::default(),
            )
            .unwrap_or_else(|e| panic!("patch {plural}/{name}: {}", e.message))
            .value()
    }

    /// A Ready node.
    pub(crate) fn node(&self, name: &str, labels: Value, taints: Value) {
        self.create(
            "nodes",
            "",
            json!({"metadata": {"name": name, "labels": labels},
                   "spec": {"taints": taints},
                   "status": {"conditions": [{"type": "Ready", "status": "True"}],
                              "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}),
        );
    }

    /// Wait until `pred` holds, re-checking on every change.
    pub(crate) async fn wait_until(&self, what: &str, pred: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let notified = self.changed.notified();
            if pred(self) {
                return;
            }
            // Time-based conditions (backoffs, deadlines) are re-checked now and then too.
            let tick = tokio::time::Instant::now() + Duration::from_millis(200);
            if tokio::time::timeout_at(deadline.min(tick), notified)
                .await
                .is_err()
                && tokio::time::Instant::now() >= deadline
            {
                panic!("timed out waiting for {what}");
            }
        }
    }

    /// Pods of `team`.
    pub(crate) fn pods(&self) -> Vec<Value> {
        self.list("pods", "team")
    }

    /// Events of `team` with this reason.
    pub(crate) fn events(&self, reason: &str) -> Vec<Value> {
        self.list("events", "team")
            .into_iter()
            .filter(|e| e["reason"] == reason)
            .collect()
    }

    /// Start the scripted kubelet and scheduler: pods are bound to the node their affinity names
    /// (or `default_node`), then given the fate `fate` picks; deleted pods are stopped (Failed)
    /// and their deletion confirmed.
    pub(crate) fn start_kubelet(
        &self,
        default_node: &'static str,
        fate: impl Fn(&Value) -> Fate + Send + Sync + 'static,
    ) {
        let objects = self.objects.clone();
        let stop = self.shutdown.clone();
        let mut watch = objects
            .store()
            .watch("pods", Filter::default(), WatchFrom::Now)
            .unwrap();
        self.tracker.spawn(async move {
            let mut backlog: Vec<_> = watch.backlog.drain(..).collect();
            loop {
                let ev = match backlog.pop() {
                    Some(ev) => ev,
                    None => tokio::select! {
                        _ = stop.cancelled() => return,
                        ev = watch.rx.recv() => match ev { Some(ev) => ev, None => return },
                    },
                };
                if ev.kind == EventType::Deleted || ev.kind == EventType::Bookmark {
                    continue;
                }
                let pod = ev.object.value();
                kubelet_step(&objects, &pod, default_node, &fate);
            }
        });
    }
}

fn kubelet_step(
    objects: &Objects,
    pod: &Value,
    default_node: &str,
    fate: &impl Fn(&Value) -> Fate,
) {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let phase = pod["status"]["phase"].as_str().unwrap_or("");
    let node = pod["spec"]["nodeName"].as_str().unwrap_or("");
    let terminal = phase == "Succeeded" || phase == "Failed";
    if pod["metadata"]["deletionTimestamp"].is_string() {
        if !terminal && !node.is_empty() {
            set_status(objects, ns, name, "Failed", false, Some(137));
        }
        objects
            .delete(
                info("pods"),
                ns,
                name,
                &DeleteParams {
                    grace_period_seconds: Some(0),
                    ..Default::default()
                },
            )
            .ok();
        return;
    }
    if node.is_empty() {
        let target = crate::controllers::daemon_set::target_node(pod)
            .unwrap_or_else(|| default_node.to_string());
        objects.bind(ns, name, &target, None).ok();
        return;
    }
    if !(phase.is_empty() || phase == "Pending") {
        return;
    }
    match fate(pod) {
        Fate::Pending => {}
        Fate::Run => set_status(objects, ns, name, "Running", true, None),
        Fate::Succeed => set_status(objects, ns, name, "Succeeded", false, Some(0)),
        Fate::Fail => set_status(objects, ns, name, "Failed", false, Some(1)),
        Fate::Exit(0) => set_status(objects, ns, name, "Succeeded", false, Some(0)),
        Fate::Exit(code) => set_status(objects, ns, name, "Failed", false, Some(code)),
    }
}

/// Write a pod's phase as a kubelet would.
pub(crate) fn set_status(
    objects: &Objects,
    ns: &str,
    name: &str,
    phase: &str,
    ready: bool,
    exit_code: Option<i32>,
) {
    let now = crate::controllers::events::rfc3339(jiff::Timestamp::now());
    let state = match exit_code {
        Some(code) => {
            json!({"terminated": {"exitCode": code, "finishedAt": now, "startedAt": now}})
        }
        None => json!({"running": {"startedAt": now}}),
    };
    let patch = json!({"status": {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                        "lastTransitionTime": now}],
        "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": ready,
                               "restartCount": 0, "state": state}],
    }});
    objects
        .patch(
            info("pods"),
            ns,
            name,
            PatchType::Merge,
            patch.to_string().as_bytes(),
            UpdateTarget::Status,
            &WriteParams::default(),
        )
        .ok();
}
