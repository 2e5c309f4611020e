//! Controllers running over a real store and [`Objects`]: the quota controller publishing and
//! repairing usage, admission enforcing it, and namespace deletion from start to finish. Every
//! wait is on a store watch with a timeout.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::spawn_all;
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::registry::{ResourceInfo, UpdateTarget, find};
use crate::store::{EventType, Filter, MemoryStore, Storage, WatchFrom};

/// How long a wait may take: the Job tests sit out a 10 s pod-failure backoff.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn info(plural: &str) -> &'static ResourceInfo {
    crate::registry::RESOURCES
        .iter()
        .find(|r| r.plural == plural)
        .expect("served resource")
}

pub(crate) struct Cluster {
    pub(crate) objects: Arc<Objects>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

impl Cluster {
    pub(crate) fn start() -> Self {
        let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
        let cluster = Self::over(Objects::new(store));
        cluster.create("namespaces", "", json!({"metadata": {"name": "team"}}));
        cluster
    }

    /// Every controller started over objects already stored.
    pub(crate) fn over(objects: Arc<Objects>) -> Self {
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        spawn_all(
            objects.clone(),
            &super::NodeLifecycleConfig::default(),
            shutdown.clone(),
            &tracker,
        );
        Self {
            objects,
            shutdown,
            tracker,
        }
    }

    pub(crate) fn create(&self, plural: &str, ns: &str, obj: Value) -> Value {
        self.try_create(plural, ns, obj)
            .unwrap_or_else(|e| panic!("create {plural}: {}", e.message))
    }

    pub(crate) fn try_create(
        &self,
        plural: &str,
        ns: &str,
        obj: Value,
    ) -> Result<Value, crate::ApiError> {
        self.objects
            .create(info(plural), ns, obj, &WriteParams::default())
            .map(|s| s.value())
    }

    pub(crate) fn delete(&self, plural: &str, ns: &str, name: &str) {
        self.delete_with(plural, ns, name, None);
    }

    /// Delete with a `propagationPolicy` (`None`: the resource's default).
    pub(crate) fn delete_with(&self, plural: &str, ns: &str, name: &str, policy: Option<&str>) {
        let p = DeleteParams {
            propagation_policy: policy.map(str::to_string),
            ..Default::default()
        };
        self.objects
            .delete(info(plural), ns, name, &p)
            .unwrap_or_else(|e| panic!("delete {plural} {name}: {}", e.message));
    }

    /// The object as stored, if it exists.
    pub(crate) fn get(&self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        self.objects
            .store()
            .get(info(plural).store_key, ns, name)
            .ok()
            .map(|s| s.value())
    }

    /// A JSON merge patch of the object.
    pub(crate) fn merge_patch(&self, plural: &str, ns: &str, name: &str, patch: Value) {
        self.objects
            .patch(
                info(plural),
                ns,
                name,
                crate::patch::PatchType::Merge,
                patch.to_string().as_bytes(),
                UpdateTarget::Main,
                &WriteParams::default(),
            )
            .unwrap_or_else(|e| panic!("patch {plural} {name}: {}", e.message));
    }

    /// Wait until the object satisfies `pred` (`None`: it does not exist).
    pub(crate) async fn wait(
        &self,
        plural: &str,
        ns: &str,
        name: &str,
        what: &str,
        pred: impl Fn(Option<&Value>) -> bool,
    ) {
        let store = self.objects.store();
        let key = info(plural).store_key;
        let filter = Filter {
            namespace: Some(ns.to_string()),
            ..Default::default()
        };
        let mut watch = store
            .watch(key, filter, WatchFrom::After(store.revision()))
            .unwrap();
        let current = store.get(key, ns, name).ok().map(|s| s.value());
        if pred(current.as_ref()) {
            return;
        }
        let waited = tokio::time::timeout(TIMEOUT, async {
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
        .await;
        let last = store.get(key, ns, name).ok().map(|s| s.value());
        assert!(
            waited == Ok(true),
            "timed out waiting for {what}; last state: {last:#?}"
        );
    }

    /// Wait until `pred` holds, checking it again on every change of `plural`.
    pub(crate) async fn wait_until(&self, plural: &str, what: &str, pred: impl Fn() -> bool) {
        let store = self.objects.store();
        let mut watch = store
            .watch(
                info(plural).store_key,
                Filter::default(),
                WatchFrom::After(store.revision()),
            )
            .unwrap();
        let waited = tokio::time::timeout(TIMEOUT, async {
            while !pred() {
                if watch.rx.recv().await.is_none() {
                    return false;
                }
            }
            true
        })
        .await;
        assert!(waited == Ok(true), "timed out waiting for {what}");
    }

    pub(crate) async fn wait_gone(&self, plural: &str, ns: &str, name: &str) {
        let what = format!("{plural} {name} to be deleted");
        self.wait(plural, ns, name, &what, |o| o.is_none()).await;
    }

    async fn wait_used(&self, quota: &str, used: Value) {
        let what = format!("quota {quota} used {used}");
        self.wait("resourcequotas", "team", quota, &what, |q| {
            q.is_some_and(|q| q["status"]["used"] == used)
        })
        .await;
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(TIMEOUT, self.tracker.wait())
            .await
            .expect("controllers stop on shutdown");
    }
}

fn pod(name: &str, cpu: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx",
        "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}, "limits": {"cpu": cpu, "memory": "64Mi"}}}]}})
}

fn quota(name: &str, hard: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"hard": hard}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_status_is_published_from_existing_content() {
    let c = Cluster::start();
    c.create("pods", "team", pod("a", "250m"));
    c.create("pods", "team", pod("b", "500m"));
    c.create("configmaps", "team", json!({"metadata": {"name": "cm"}}));
    c.create("resourcequotas", "team", quota("q", json!({"pods": "10", "requests.cpu": "2000m", "count/configmaps": "5", "services": "2"})));
    c.wait("resourcequotas", "team", "q", "status.hard", |q| {
        q.is_some_and(|q| q["status"]["hard"] == json!({"count/configmaps": "5", "pods": "10", "requests.cpu": "2", "services": "2"}))
    })
    .await;
    c.wait_used(
        "q",
        json!({"count/configmaps": "1", "pods": "2", "requests.cpu": "750m", "services": "0"}),
    )
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_charges_and_the_controller_releases() {
    let c = Cluster::start();
    c.create(
        "resourcequotas",
        "team",
        quota("q", json!({"pods": "2", "count/pods": "5"})),
    );
    c.wait_used("q", json!({"count/pods": "0", "pods": "0"}))
        .await;
    c.create("pods", "team", pod("a", "100m"));
    c.create("pods", "team", pod("b", "100m"));
    let err = c.try_create("pods", "team", pod("c", "100m")).unwrap_err();
    assert_eq!(err.code, 403);
    assert_eq!(
        err.message,
        "pods \"c\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
    );
    // A finished pod no longer counts against `pods`, though it still exists.
    let mut done = c.objects.store().get("pods", "team", "a").unwrap().value();
    done["status"]["phase"] = json!("Succeeded");
    c.objects
        .update(
            info("pods"),
            "team",
            "a",
            done,
            UpdateTarget::Status,
            &WriteParams::default(),
        )
        .unwrap();
    c.wait_used("q", json!({"count/pods": "2", "pods": "1"}))
        .await;
    c.create("pods", "team", pod("c", "100m"));
    c.delete("pods", "team", "a");
    c.wait_used("q", json!({"count/pods": "2", "pods": "2"}))
        .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_hard_limits_is_published() {
    let c = Cluster::start();
    c.create(
        "resourcequotas",
        "team",
        quota("q", json!({"secrets": "1"})),
    );
    c.wait_used("q", json!({"secrets": "0"})).await;
    let mut q = c
        .objects
        .store()
        .get("resourcequotas", "team", "q")
        .unwrap()
        .value();
    q["spec"]["hard"] = json!({"secrets": "3", "configmaps": "1"});
    c.objects
        .update(
            info("resourcequotas"),
            "team",
            "q",
            q,
            UpdateTarget::Main,
            &WriteParams::default(),
        )
        .unwrap();
    c.wait("resourcequotas", "team", "q", "new status.hard", |q| {
        q.is_some_and(|q| {
            q["status"]["hard"] == json!({"configmaps": "1", "secrets": "3"})
                && q["status"]["used"] == json!({"configmaps": "0", "secrets": "0"})
        })
    })
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_empties_it_reports_progress_and_removes_it() {
    let c = Cluster::start();
    c.create("namespaces", "", json!({"metadata": {"name": "doomed"}}));
    c.create(
        "configmaps",
        "doomed",
        json!({"metadata": {"name": "plain"}}),
    );
    c.create(
        "configmaps",
        "doomed",
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
    );
    c.create("pods", "doomed", pod("p", "100m"));
    c.delete("namespaces", "", "doomed");

    let err = c
        .try_create(
            "configmaps",
            "doomed",
            json!({"metadata": {"name": "late"}}),
        )
        .unwrap_err();
    assert_eq!(err.code, 403);
    assert_eq!(
        err.message,
        "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated"
    );

    let condition = |ns: &Value, kind: &str| -> Option<Value> {
        ns["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == kind)
            .cloned()
    };
    c.wait("namespaces", "", "doomed", "conditions naming the held configmap", |ns| {
        ns.is_some_and(|ns| {
            condition(ns, "NamespaceContentRemaining").is_some_and(|c| {
                c["status"] == "True"
                    && c["reason"] == "SomeResourcesRemain"
                    && c["message"] == "Some resources are remaining: configmaps. has 1 resource instances"
            }) && condition(ns, "NamespaceFinalizersRemaining").is_some_and(|c| {
                c["message"] == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
            }) && condition(ns, "NamespaceDeletionDiscoveryFailure").is_some_and(|c| {
                c["status"] == "False" && c["reason"] == "ResourcesDiscovered"
            })
        })
    })
    .await;
    assert!(
        c.objects.store().get("pods", "doomed", "p").is_err(),
        "the unbound pod is deleted at once"
    );
    assert!(
        c.objects
            .store()
            .get("configmaps", "doomed", "plain")
            .is_err()
    );

    let mut held = c
        .objects
        .store()
        .get("configmaps", "doomed", "held")
        .unwrap()
        .value();
    held["metadata"]["finalizers"] = json!([]);
    c.objects
        .update(
            info("configmaps"),
            "doomed",
            "held",
            held,
            UpdateTarget::Main,
            &WriteParams::default(),
        )
        .unwrap();
    c.wait(
        "namespaces",
        "",
        "doomed",
        "the namespace to be removed",
        |ns| ns.is_none(),
    )
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_namespace_goes_away_promptly() {
    let c = Cluster::start();
    c.create("namespaces", "", json!({"metadata": {"name": "empty"}}));
    c.delete("namespaces", "", "empty");
    c.wait(
        "namespaces",
        "",
        "empty",
        "the namespace to be removed",
        |ns| ns.is_none(),
    )
    .await;
    // The immortal namespaces are refused before any delete.
    let err = c
        .objects
        .admit_delete(find("", "v1", "namespaces").unwrap(), "", "default")
        .unwrap_err();
    assert_eq!(err.code, 403);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_range_defaults_satisfy_a_compute_quota() {
    let c = Cluster::start();
    c.create(
        "limitranges",
        "team",
        json!({"metadata": {"name": "defaults"}, "spec": {"limits": [
            {"type": "Container", "default": {"cpu": "200m", "memory": "128Mi"}, "defaultRequest": {"cpu": "100m", "memory": "64Mi"}}
        ]}}),
    );
    c.create(
        "resourcequotas",
        "team",
        quota(
            "compute",
            json!({"requests.cpu": "1", "limits.memory": "1Gi"}),
        ),
    );
    c.wait_used(
        "compute",
        json!({"limits.memory": "0", "requests.cpu": "0"}),
    )
    .await;
    // No resources declared: LimitRanger fills them in before quota requires them.
    let created = c.create("pods", "team", json!({"metadata": {"name": "bare"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}));
    assert_eq!(
        created["spec"]["containers"][0]["resources"]["requests"],
        json!({"cpu": "100m", "memory": "64Mi"})
    );
    c.wait_used(
        "compute",
        json!({"limits.memory": "128Mi", "requests.cpu": "100m"}),
    )
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos_class_reflects_limit_range_defaults() {
    let c = Cluster::start();
    c.create(
        "limitranges",
        "team",
        json!({"metadata": {"name": "defaults"}, "spec": {"limits": [
            {"type": "Container", "default": {"cpu": "200m", "memory": "128Mi"}, "defaultRequest": {"cpu": "200m", "memory": "128Mi"}}
        ]}}),
    );
    // Without the LimitRange this pod is BestEffort; with requests = limits defaulted, Guaranteed.
    let created = c.create("pods", "team", json!({"metadata": {"name": "bare"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}));
    assert_eq!(created["status"]["qosClass"], "Guaranteed");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_waits_for_its_running_pods_then_goes_at_once() {
    let c = Cluster::start();
    c.create("namespaces", "", json!({"metadata": {"name": "busy"}}));
    c.create("pods", "busy", pod("web", "100m"));
    c.objects.bind("busy", "web", "node-1", None).unwrap();
    c.delete("namespaces", "", "busy");
    c.wait(
        "namespaces",
        "",
        "busy",
        "pods reported as remaining",
        |ns| {
            ns.and_then(|ns| ns["status"]["conditions"].as_array().cloned())
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c["type"] == "NamespaceContentRemaining"
                            && c["message"]
                                == "Some resources are remaining: pods. has 1 resource instances"
                    })
                })
        },
    )
    .await;
    let pod = c
        .objects
        .store()
        .get("pods", "busy", "web")
        .unwrap()
        .value();
    assert!(
        pod["metadata"]["deletionTimestamp"].is_string(),
        "a bound pod is deleted gracefully"
    );
    // The node confirms the kill; the namespace follows on that event, not after the 30 s grace.
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    c.objects.delete(info("pods"), "busy", "web", &now).unwrap();
    c.wait(
        "namespaces",
        "",
        "busy",
        "the namespace to be removed",
        |ns| ns.is_none(),
    )
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_with_its_own_finalizer_stays_until_that_is_removed() {
    let c = Cluster::start();
    c.create(
        "namespaces",
        "",
        json!({"metadata": {"name": "kept", "finalizers": ["example.com/keep"]}}),
    );
    c.create("secrets", "kept", json!({"metadata": {"name": "s"}}));
    c.delete("namespaces", "", "kept");
    c.wait("namespaces", "", "kept", "spec.finalizers emptied", |ns| {
        ns.is_some_and(|ns| {
            ns["spec"]["finalizers"]
                .as_array()
                .is_some_and(Vec::is_empty)
        })
    })
    .await;
    assert!(c.objects.store().get("secrets", "kept", "s").is_err());
    let mut ns = c
        .objects
        .store()
        .get("namespaces", "", "kept")
        .unwrap()
        .value();
    ns["metadata"]["finalizers"] = json!([]);
    c.objects
        .update(
            info("namespaces"),
            "",
            "kept",
            ns,
            UpdateTarget::Main,
            &WriteParams::default(),
        )
        .unwrap();
    c.wait(
        "namespaces",
        "",
        "kept",
        "the namespace to be removed",
        |ns| ns.is_none(),
    )
    .await;
    c.stop().await;
}
