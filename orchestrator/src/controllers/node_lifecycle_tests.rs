//! The node lifecycle controllers over a real store: heartbeats lost and kept, NoExecute and
//! NoSchedule taints, eviction with and without tolerations, cordon, node deletion, and the
//! DefaultTolerationSeconds admission. Periods are a hundred times shorter than upstream's
//! ([`NodeLifecycleConfig::fast`]); every wait is on a store watch with a timeout.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::taints::{TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE};
use super::{NodeLifecycleConfig, spawn_all};
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::registry::{ResourceInfo, UpdateTarget};
use crate::store::{EventType, Filter, ListOptions, MemoryStore, Storage, WatchFrom};

const TIMEOUT: Duration = Duration::from_secs(10);

fn info(plural: &str) -> &'static ResourceInfo {
    crate::registry::RESOURCES
        .iter()
        .find(|r| r.plural == plural)
        .expect("served resource")
}

fn micro_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

fn now() -> String {
    super::events::rfc3339(jiff::Timestamp::now())
}

struct Cluster {
    objects: Arc<Objects>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Cluster {
    fn start(config: NodeLifecycleConfig) -> Self {
        let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
        let objects = Objects::new(store);
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        for ns in ["team", "kube-node-lease", "default"] {
            objects
                .create(
                    info("namespaces"),
                    "",
                    json!({"metadata": {"name": ns}}),
                    &WriteParams::default(),
                )
                .unwrap();
        }
        spawn_all(objects.clone(), &config, shutdown.clone(), &tracker);
        Self {
            objects,
            shutdown,
            tracker,
        }
    }

    fn create(&self, plural: &str, ns: &str, obj: Value) -> Value {
        self.objects
            .create(info(plural), ns, obj, &WriteParams::default())
            .unwrap_or_else(|e| panic!("create {plural}: {}", e.message))
            .value()
    }

    fn get(&self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        self.objects
            .store()
            .get(info(plural).store_key, ns, name)
            .ok()
            .map(|s| s.value())
    }

    /// Read-modify-write, retried on conflicts.
    fn change(
        &self,
        plural: &str,
        ns: &str,
        name: &str,
        target: UpdateTarget,
        f: impl Fn(&mut Value),
    ) {
        for _ in 0..10 {
            let mut obj = self.get(plural, ns, name).expect("object exists");
            f(&mut obj);
            match self
                .objects
                .update(info(plural), ns, name, obj, target, &WriteParams::default())
            {
                Ok(_) => return,
                Err(e) if e.code == 409 => continue,
                Err(e) => panic!("update {plural}/{name}: {}", e.message),
            }
        }
        panic!("update {plural}/{name}: too many conflicts");
    }

    /// A node that posted Ready=True just now, with a lease renewed just now.
    fn ready_node(&self, name: &str, zone: &str) {
        self.create(
            "nodes",
            "",
            json!({"metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
                "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                    "message": "kubelet is posting ready status", "lastHeartbeatTime": now(), "lastTransitionTime": now()}]}}),
        );
        self.create(
            "leases",
            "kube-node-lease",
            json!({"metadata": {"name": name}, "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": micro_now()}}),
        );
    }

    /// Renew `node`'s lease every 50 ms, as a kubelet would, until the returned token (or the
    /// cluster) stops.
    fn keep_renewing(&self, node: &str) -> CancellationToken {
        let objects = self.objects.clone();
        let stop = self.shutdown.child_token();
        let handle = stop.clone();
        let node = node.to_string();
        self.tracker.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {
                        let Ok(lease) = objects.store().get(info("leases").store_key, "kube-node-lease", &node) else { continue };
                        let mut lease = lease.value();
                        lease["spec"]["renewTime"] = json!(micro_now());
                        let _ = objects.update(info("leases"), "kube-node-lease", &node, lease,
                            UpdateTarget::Main, &WriteParams::default());
                    }
                }
            }
        });
        handle
    }

    /// A running, ready pod bound to `node`.
    fn running_pod(&self, name: &str, node: &str, tolerations: Value) {
        self.create(
            "pods",
            "team",
            json!({"metadata": {"name": name}, "spec": {"nodeName": node, "tolerations": tolerations,
                "containers": [{"name": "c", "image": "nginx"}]}}),
        );
        self.change("pods", "team", name, UpdateTarget::Status, |p| {
            p["status"]["phase"] = json!("Running");
            p["status"]["conditions"] = json!([
                {"type": "Ready", "status": "True", "lastTransitionTime": now()},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": now()},
            ]);
        });
    }

    /// Wait until the object satisfies `pred` (`None`: it does not exist).
    async fn wait(
        &self,
        plural: &str,
        ns: &str,
        name: &str,
        what: &str,
        pred: impl Fn(Option<&Value>) -> bool,
    ) {
        assert!(
            self.wait_for(plural, ns, name, TIMEOUT, &pred).await,
            "timed out waiting for {what}; last state: {:#?}",
            self.get(plural, ns, name)
        );
    }

    /// Whether the object came to satisfy `pred` within `limit`.
    async fn wait_for(
        &self,
        plural: &str,
        ns: &str,
        name: &str,
        limit: Duration,
        pred: &impl Fn(Option<&Value>) -> bool,
    ) -> bool {
        let store = self.objects.store();
        let key = info(plural).store_key;
        let filter = Filter {
            namespace: Some(ns.to_string()),
            ..Default::default()
        };
        let mut watch = store
            .watch(key, filter, WatchFrom::After(store.revision()))
            .unwrap();
        if pred(self.get(plural, ns, name).as_ref()) {
            return true;
        }
        tokio::time::timeout(limit, async {
            while let Some(ev) = watch.rx.recv().await {
                if *ev.object.name != *name {
                    continue;
                }
                let obj = (ev.kind != EventType::Deleted).then(|| ev.object.value());
                if pred(obj.as_ref()) {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false)
    }

    /// Wait for an event about `about` in `ns` with this reason and message.
    async fn wait_event(&self, ns: &str, about: &str, reason: &str, message: &str) {
        let store = self.objects.store();
        let filter = Filter {
            namespace: Some(ns.to_string()),
            ..Default::default()
        };
        let mut watch = store
            .watch("events", filter, WatchFrom::After(store.revision()))
            .unwrap();
        let wanted = (reason.to_string(), message.to_string());
        if self.events(ns, about).contains(&wanted) {
            return;
        }
        let seen = tokio::time::timeout(TIMEOUT, async {
            while let Some(ev) = watch.rx.recv().await {
                let e = ev.object.value();
                if e["involvedObject"]["name"] == about
                    && e["reason"] == reason
                    && e["message"] == message
                {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            seen == Ok(true),
            "timed out waiting for event {reason} {message:?}; events: {:?}",
            self.events(ns, about)
        );
    }

    /// The events about `name` in `ns`, as (reason, message).
    fn events(&self, ns: &str, name: &str) -> Vec<(String, String)> {
        let opts = ListOptions {
            filter: Filter {
                namespace: Some(ns.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        self.objects
            .store()
            .list("events", &opts)
            .unwrap()
            .items
            .iter()
            .map(|s| s.value())
            .filter(|e| e["involvedObject"]["name"] == name)
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
                (s("reason"), s("message"))
            })
            .collect()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(TIMEOUT, self.tracker.wait())
            .await
            .expect("controllers stop on shutdown");
    }
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn has_taint(node: &Value, key: &str, effect: &str) -> bool {
    node["spec"]["taints"]
        .as_array()
        .is_some_and(|ts| ts.iter().any(|t| t["key"] == key && t["effect"] == effect))
}

fn terminating(pod: Option<&Value>) -> bool {
    pod.is_some_and(|p| p["metadata"]["deletionTimestamp"].is_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_goes_unknown_is_tainted_and_its_pods_are_evicted_by_their_tolerations() {
    let c = Cluster::start(NodeLifecycleConfig::fast());
    // A second, healthy node: with every node silent upstream stops evicting altogether.
    c.ready_node("good", "z1");
    c.keep_renewing("good");
    c.ready_node("silent", "z1");
    let heartbeat = c.keep_renewing("silent");
    c.running_pod("zero", "silent", json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]));
    c.running_pod("brief", "silent", json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}]));
    c.running_pod("forever", "silent", json!([{"operator": "Exists"}]));
    c.running_pod("healthy", "good", json!([]));
    // Everything is in place: the kubelet of `silent` stops.
    heartbeat.cancel();

    c.wait(
        "nodes",
        "",
        "silent",
        "Ready Unknown with unreachable taints",
        |n| {
            n.is_some_and(|n| {
                condition(n, "Ready").is_some_and(|r| {
                    r["status"] == "Unknown"
                        && r["reason"] == "NodeStatusUnknown"
                        && r["message"] == "Kubelet stopped posting node status."
                }) && ["MemoryPressure", "DiskPressure", "PIDPressure"]
                    .iter()
                    .all(|k| {
                        condition(n, k).is_some_and(|c| c["reason"] == "NodeStatusNeverUpdated")
                    })
                    && has_taint(n, TAINT_UNREACHABLE, "NoExecute")
                    && has_taint(n, TAINT_UNREACHABLE, "NoSchedule")
            })
        },
    )
    .await;
    let tainted_at = Instant::now();
    let node = c.get("nodes", "", "silent").unwrap();
    let taint = node["spec"]["taints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["effect"] == "NoExecute")
        .unwrap();
    assert!(taint["timeAdded"].is_string(), "{taint}");

    c.wait(
        "pods",
        "team",
        "zero",
        "the untolerating pod to be evicted",
        |p| {
            terminating(p)
                && p.and_then(|p| condition(p, "DisruptionTarget"))
                    .is_some_and(|d| {
                        d["reason"] == "DeletionByTaintManager" && d["status"] == "True"
                    })
        },
    )
    .await;
    for name in ["brief", "forever"] {
        c.wait("pods", "team", name, "Ready=False", |p| {
            p.and_then(|p| condition(p, "Ready"))
                .is_some_and(|r| r["status"] == "False")
        })
        .await;
    }
    assert!(
        !terminating(c.get("pods", "team", "brief").as_ref()),
        "brief tolerates for 2 s"
    );

    c.wait(
        "pods",
        "team",
        "brief",
        "the 2 s toleration to run out",
        terminating,
    )
    .await;
    assert!(
        tainted_at.elapsed() >= Duration::from_millis(1500),
        "evicted {:?} after the taint, before its tolerationSeconds",
        tainted_at.elapsed()
    );
    let forever = c.get("pods", "team", "forever").unwrap();
    assert!(
        !terminating(Some(&forever)),
        "an unbounded toleration keeps the pod"
    );

    // The node that kept renewing its lease stayed Ready and untainted throughout.
    let good = c.get("nodes", "", "good").unwrap();
    assert_eq!(condition(&good, "Ready").unwrap()["status"], "True");
    assert!(good["spec"]["taints"].is_null(), "{good:#?}");
    let healthy = c.get("pods", "team", "healthy").unwrap();
    assert_eq!(condition(&healthy, "Ready").unwrap()["status"], "True");

    let node_events = c.events("default", "silent");
    assert!(
        node_events.contains(&(
            "NodeNotReady".into(),
            "Node silent status is now: NodeNotReady".into()
        )),
        "{node_events:?}"
    );
    assert!(node_events.contains(&(
        "RegisteredNode".into(),
        "Node silent event: Registered Node silent in Controller".into()
    )));
    let pod_events = c.events("team", "forever");
    assert!(
        pod_events.contains(&("NodeNotReady".into(), "Node is not ready".into())),
        "{pod_events:?}"
    );
    assert!(c.events("team", "zero").contains(&(
        "TaintManagerEviction".into(),
        "Marking for deletion Pod team/zero".into()
    )));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reporting_not_ready_gets_not_ready_taints_until_it_is_ready_again() {
    let c = Cluster::start(NodeLifecycleConfig::fast());
    c.ready_node("a", "z1");
    c.keep_renewing("a");
    c.ready_node("b", "z1");
    c.keep_renewing("b");
    let post = |status: &'static str| {
        c.change("nodes", "", "b", UpdateTarget::Status, move |n| {
            n["status"]["conditions"] = json!([{"type": "Ready", "status": status,
                "reason": "KubeletNotReady", "message": "container runtime is down",
                "lastHeartbeatTime": now(), "lastTransitionTime": now()}]);
        })
    };
    post("False");
    c.wait("nodes", "", "b", "not-ready taints", |n| {
        n.is_some_and(|n| {
            has_taint(n, TAINT_NOT_READY, "NoExecute")
                && has_taint(n, TAINT_NOT_READY, "NoSchedule")
                && !has_taint(n, TAINT_UNREACHABLE, "NoExecute")
        })
    })
    .await;
    let node = c.get("nodes", "", "b").unwrap();
    assert_eq!(
        condition(&node, "Ready").unwrap()["reason"],
        "KubeletNotReady",
        "the node's own word is kept"
    );
    post("True");
    c.wait("nodes", "", "b", "the taints to go", |n| {
        n.is_some_and(|n| n["spec"]["taints"].as_array().is_none_or(Vec::is_empty))
    })
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordon_adds_and_uncordon_removes_the_unschedulable_taint() {
    let c = Cluster::start(NodeLifecycleConfig::default());
    c.create(
        "nodes",
        "",
        json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}}),
    );
    c.change("nodes", "", "n", UpdateTarget::Main, |n| {
        n["spec"]["unschedulable"] = json!(true)
    });
    c.wait("nodes", "", "n", "the unschedulable taint", |n| {
        n.is_some_and(|n| has_taint(n, TAINT_UNSCHEDULABLE, "NoSchedule"))
    })
    .await;
    let node = c.get("nodes", "", "n").unwrap();
    assert_eq!(
        node["spec"]["taints"][0]["key"], "dedicated",
        "other taints are kept first"
    );
    assert!(node["spec"]["taints"][1]["timeAdded"].is_string());
    c.change("nodes", "", "n", UpdateTarget::Main, |n| {
        n["spec"]["unschedulable"] = json!(false)
    });
    c.wait("nodes", "", "n", "the unschedulable taint to go", |n| {
        n.is_some_and(|n| {
            !has_taint(n, TAINT_UNSCHEDULABLE, "NoSchedule")
                && has_taint(n, "dedicated", "NoSchedule")
        })
    })
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_node_force_deletes_its_pods_after_the_quarantine() {
    let c = Cluster::start(NodeLifecycleConfig::fast());
    c.ready_node("doomed", "z1");
    c.keep_renewing("doomed");
    c.running_pod("web", "doomed", json!([]));
    let store = c.objects.store().clone();
    let mut watch = store
        .watch(
            "pods",
            Filter::default(),
            WatchFrom::After(store.revision()),
        )
        .unwrap();
    c.objects
        .delete(info("nodes"), "", "doomed", &DeleteParams::default())
        .unwrap();
    c.wait("pods", "team", "web", "the pod to be force-deleted", |p| {
        p.is_none()
    })
    .await;
    // Before going, the pod was marked Failed with the PodGC disruption condition.
    let mut marked = false;
    while let Ok(ev) = watch.rx.try_recv() {
        let pod = ev.object.value();
        if ev.kind == EventType::Modified
            && pod["status"]["phase"] == "Failed"
            && condition(&pod, "DisruptionTarget").is_some_and(|d| {
                d["reason"] == "DeletionByPodGC" && d["message"] == "PodGC: node no longer exists"
            })
        {
            marked = true;
        }
    }
    assert!(
        marked,
        "no Failed + DisruptionTarget write before the delete"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taint_removed_in_time_cancels_the_pending_eviction() {
    let c = Cluster::start(NodeLifecycleConfig::default());
    c.create("nodes", "", json!({"metadata": {"name": "n"}}));
    c.running_pod(
        "p",
        "n",
        json!([{"key": "example.com/maintenance", "operator": "Exists", "tolerationSeconds": 1}]),
    );
    c.running_pod("victim", "n", json!([]));
    c.change("nodes", "", "n", UpdateTarget::Main, |n| {
        n["spec"]["taints"] = json!([{"key": "example.com/maintenance", "effect": "NoExecute"}])
    });
    // The controller judges all pods of a node in one go: once the pod that does not tolerate
    // the taint is being evicted, the eviction of `p` is scheduled.
    c.wait(
        "pods",
        "team",
        "victim",
        "the untolerating pod to be evicted",
        terminating,
    )
    .await;
    c.change("nodes", "", "n", UpdateTarget::Main, |n| {
        n["spec"]["taints"] = json!([])
    });
    c.wait_event(
        "team",
        "p",
        "TaintManagerEviction",
        "Cancelling deletion of Pod team/p",
    )
    .await;
    let evicted = c
        .wait_for(
            "pods",
            "team",
            "p",
            Duration::from_millis(1500),
            &|p: Option<&Value>| p.is_none() || terminating(p),
        )
        .await;
    assert!(
        !evicted,
        "the eviction went ahead after the taint was removed"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_get_both_default_tolerations_once() {
    let c = Cluster::start(NodeLifecycleConfig::default());
    let manifest = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let created = c.create("pods", "team", manifest.clone());
    let expected = json!([
        {"key": TAINT_NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    ]);
    assert_eq!(created["spec"]["tolerations"], expected);
    // Replacing the pod with its manifest (no tolerations, a new image whose pull policy
    // defaults alike) keeps them, once.
    let mut replaced = manifest;
    replaced["spec"]["containers"][0]["image"] = json!("nginx:latest");
    let updated = c
        .objects
        .update(
            info("pods"),
            "team",
            "p",
            replaced,
            UpdateTarget::Main,
            &WriteParams::default(),
        )
        .unwrap()
        .value();
    assert_eq!(updated["spec"]["tolerations"], expected);
    assert_eq!(updated["spec"]["containers"][0]["image"], "nginx:latest");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_pods_beyond_the_threshold_are_collected_oldest_first() {
    let c = Cluster::start(NodeLifecycleConfig {
        pod_gc_period: Duration::from_millis(100),
        terminated_pod_gc_threshold: 2,
        ..NodeLifecycleConfig::default()
    });
    for name in ["a", "b", "c"] {
        c.create(
            "pods",
            "team",
            json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
        );
    }
    for name in ["a", "b", "c"] {
        c.change("pods", "team", name, UpdateTarget::Status, |p| {
            p["status"]["phase"] = json!("Succeeded")
        });
    }
    c.wait("pods", "team", "a", "the oldest finished pod to go", |p| {
        p.is_none()
    })
    .await;
    assert!(c.get("pods", "team", "b").is_some() && c.get("pods", "team", "c").is_some());
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminating_pod_that_was_never_scheduled_is_failed_and_force_deleted() {
    let c = Cluster::start(NodeLifecycleConfig::fast());
    c.create(
        "pods",
        "team",
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    );
    c.objects
        .delete(info("pods"), "team", "held", &DeleteParams::default())
        .unwrap();
    c.wait("pods", "team", "held", "the pod to be marked Failed", |p| {
        p.is_some_and(|p| p["status"]["phase"] == "Failed")
    })
    .await;
    // The finalizer is all that holds it now.
    c.change("pods", "team", "held", UpdateTarget::Main, |p| {
        p["metadata"]["finalizers"] = json!([])
    });
    c.wait("pods", "team", "held", "the pod to go", |p| p.is_none())
        .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_node_is_silent_no_node_is_tainted_for_eviction() {
    let c = Cluster::start(NodeLifecycleConfig::fast());
    c.ready_node("only", "z1");
    c.running_pod("p", "only", json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]));
    c.wait("nodes", "", "only", "Ready Unknown", |n| {
        n.and_then(|n| condition(n, "Ready"))
            .is_some_and(|r| r["status"] == "Unknown")
    })
    .await;
    // Upstream's full-disruption rule: a control plane that hears from no node at all
    // suspects itself, and evicts nothing.
    let tainted = c
        .wait_for("nodes", "", "only", Duration::from_secs(1), &|n: Option<
            &Value,
        >| {
            n.is_some_and(|n| has_taint(n, TAINT_UNREACHABLE, "NoExecute"))
        })
        .await;
    assert!(!tainted, "a fully disrupted cluster got a NoExecute taint");
    assert!(!terminating(c.get("pods", "team", "p").as_ref()));
    c.stop().await;
}
