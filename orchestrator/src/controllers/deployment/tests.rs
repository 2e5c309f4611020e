//! The Deployment controller over a real store with the ReplicaSet controller running: the test
//! plays the kubelet by writing pod status Ready. Every wait is on store watches with a timeout.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::WriteParams;
use crate::controllers::cluster_tests::{Cluster, TIMEOUT, info};
use crate::registry::UpdateTarget;
use crate::store::{Filter, ListOptions, WatchFrom};

fn template(image: &str) -> Value {
    json!({"metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "c", "image": image}]}})
}

fn deployment(replicas: i64, strategy: Value) -> Value {
    json!({"metadata": {"name": "web"},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                    "strategy": strategy, "template": template("nginx:1")}})
}

fn rolling(surge: i64, unavailable: i64) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
}

/// Access to the objects, from a [`Cluster`] or bare.
trait Objs {
    fn objs(&self) -> &crate::api::Objects;
}

impl Objs for Cluster {
    fn objs(&self) -> &crate::api::Objects {
        &self.objects
    }
}

impl Objs for std::sync::Arc<crate::api::Objects> {
    fn objs(&self) -> &crate::api::Objects {
        self
    }
}

/// What the tests look at: the namespace's Deployment, ReplicaSets and live pods.
struct Snapshot {
    deployment: Option<Value>,
    rss: Vec<Value>,
    pods: Vec<Value>,
}

impl Snapshot {
    fn take(c: &impl Objs) -> Self {
        let list = |key: &'static str| -> Vec<Value> {
            c.objs()
                .store()
                .list(key, &ListOptions::default())
                .unwrap()
                .items
                .iter()
                .filter(|o| &*o.namespace == "team")
                .map(|o| o.value())
                .collect()
        };
        Self {
            deployment: c
                .objs()
                .store()
                .get("deployments.apps", "team", "web")
                .ok()
                .map(|s| s.value()),
            rss: list("replicasets.apps"),
            pods: list("pods")
                .into_iter()
                .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
                .collect(),
        }
    }

    fn d(&self) -> &Value {
        self.deployment.as_ref().expect("the deployment exists")
    }

    fn status(&self, field: &str) -> i64 {
        self.d()["status"][field].as_i64().unwrap_or(0)
    }

    fn condition(&self, type_: &str) -> Option<&Value> {
        self.d()["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)
    }

    fn reason(&self, type_: &str) -> Option<&str> {
        self.condition(type_)?["reason"].as_str()
    }

    /// The ReplicaSet whose template has this image.
    fn rs_with(&self, image: &str) -> Option<&Value> {
        self.rss
            .iter()
            .find(|rs| rs["spec"]["template"]["spec"]["containers"][0]["image"] == image)
    }

    fn spec_sum(&self) -> i64 {
        self.rss
            .iter()
            .map(|rs| rs["spec"]["replicas"].as_i64().unwrap_or(0))
            .sum()
    }

    fn pods_of(&self, rs: &Value) -> Vec<&Value> {
        self.pods
            .iter()
            .filter(|p| p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"])
            .collect()
    }

    fn ready(p: &Value) -> bool {
        p["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    }

    fn ready_pods(&self) -> usize {
        self.pods.iter().filter(|p| Self::ready(p)).count()
    }

    fn unready_pod(&self) -> Option<String> {
        self.pods
            .iter()
            .find(|p| !Self::ready(p))
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
    }

    /// Every ReplicaSet's controller caught up with its spec, and the Deployment with its spec.
    fn settled(&self) -> bool {
        let d = self.d();
        d["status"]["observedGeneration"] == d["metadata"]["generation"]
            && self.rss.iter().all(|rs| {
                rs["status"]["observedGeneration"] == rs["metadata"]["generation"]
                    && rs["status"]["replicas"].as_i64().unwrap_or(0)
                        == rs["spec"]["replicas"].as_i64().unwrap_or(0)
                    && self.pods_of(rs).len() as i64 == rs["spec"]["replicas"].as_i64().unwrap_or(0)
            })
            && self.status("replicas")
                == self
                    .rss
                    .iter()
                    .map(|rs| rs["status"]["replicas"].as_i64().unwrap_or(0))
                    .sum::<i64>()
    }

    fn complete(&self, replicas: i64) -> bool {
        self.settled()
            && self.status("updatedReplicas") == replicas
            && self.status("replicas") == replicas
            && self.status("availableReplicas") == replicas
            && self.reason("Progressing") == Some("NewReplicaSetAvailable")
    }
}

/// Wait until `pred` holds of the namespace, re-checking on every change of a Deployment,
/// ReplicaSet or pod; `check` runs on every state seen on the way (for invariants).
async fn wait_until(
    c: &impl Objs,
    what: &str,
    pred: impl Fn(&Snapshot) -> bool,
    check: impl Fn(&Snapshot),
) -> Snapshot {
    let store = c.objs().store();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watches = Vec::new();
    for key in ["deployments.apps", "replicasets.apps", "pods"] {
        let filter = Filter {
            namespace: Some("team".into()),
            ..Default::default()
        };
        let mut w = store
            .watch(key, filter, WatchFrom::After(store.revision()))
            .unwrap();
        let tx = tx.clone();
        watches.push(tokio::spawn(async move {
            while w.rx.recv().await.is_some() {
                if tx.send(()).is_err() {
                    return;
                }
            }
        }));
    }
    let done = tokio::time::timeout(TIMEOUT, async {
        loop {
            let s = Snapshot::take(c);
            check(&s);
            if pred(&s) {
                return s;
            }
            if rx.recv().await.is_none() {
                return s;
            }
            // Look once per burst of changes.
            while rx.try_recv().is_ok() {}
        }
    })
    .await;
    watches.iter().for_each(|w| w.abort());
    match done {
        Ok(s) if pred(&s) => s,
        _ => {
            let s = Snapshot::take(c);
            panic!(
                "timed out waiting for {what}; deployment: {:#}\nreplica sets: {:#}\npods: {}",
                s.deployment.clone().unwrap_or_default(),
                json!(s.rss.iter().map(|rs| json!({"name": rs["metadata"]["name"], "spec": rs["spec"]["replicas"], "status": rs["status"], "annotations": rs["metadata"]["annotations"]})).collect::<Vec<_>>()),
                s.pods.len()
            );
        }
    }
}

fn set_ready(c: &impl Objs, name: &str) {
    for _ in 0..20 {
        let Ok(p) = c.objs().store().get("pods", "team", name) else {
            return; // deleted meanwhile
        };
        let mut p = p.value();
        p["status"]["phase"] = json!("Running");
        p["status"]["conditions"] = json!([{"type": "Ready", "status": "True",
            "lastTransitionTime": crate::controllers::events::rfc3339(jiff::Timestamp::now())}]);
        match c.objs().update(
            info("pods"),
            "team",
            name,
            p,
            UpdateTarget::Status,
            &WriteParams::default(),
        ) {
            Ok(_) => return,
            Err(e) if e.code == 409 => continue,
            Err(e) if e.code == 404 => return,
            Err(e) => panic!("set pod {name} ready: {}", e.message),
        }
    }
    panic!("pod {name} kept changing");
}

/// Change the Deployment (a read-modify-write, as `kubectl edit`, again on a conflict).
fn edit(c: &impl Objs, change: impl Fn(&mut Value)) {
    for _ in 0..20 {
        let mut d = c
            .objs()
            .store()
            .get("deployments.apps", "team", "web")
            .unwrap()
            .value();
        change(&mut d);
        match c.objs().update(
            info("deployments"),
            "team",
            "web",
            d,
            UpdateTarget::Main,
            &WriteParams::default(),
        ) {
            Ok(_) => return,
            Err(e) if e.code == 409 => continue,
            Err(e) => panic!("update the deployment: {}", e.message),
        }
    }
    panic!("the deployment kept changing under the edit");
}

fn set_image(c: &impl Objs, image: &str) {
    edit(c, |d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image)
    });
}

/// Play the kubelet until the rollout completes: each step, once the controllers settle, check
/// `at_rest`, then make one unready pod Ready.
async fn roll_out(
    c: &Cluster,
    replicas: i64,
    check: impl Fn(&Snapshot) + Copy,
    at_rest: impl Fn(&Snapshot),
) -> Snapshot {
    for _ in 0..4 * replicas + 8 {
        let s = wait_until(
            c,
            "the controllers to settle with an unready pod, or the rollout to complete",
            |s| s.complete(replicas) || (s.settled() && s.unready_pod().is_some()),
            check,
        )
        .await;
        at_rest(&s);
        if s.complete(replicas) {
            return s;
        }
        set_ready(c, &s.unready_pod().unwrap());
    }
    panic!("the rollout did not complete");
}

fn events(c: &Cluster, reason: &str) -> Vec<String> {
    c.objects
        .store()
        .list("events", &ListOptions::default())
        .unwrap()
        .items
        .iter()
        .map(|e| e.value())
        .filter(|e| e["reason"] == reason)
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect()
}

fn annotations(o: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(o["metadata"]["annotations"].clone()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_deployment_rolls_out_one_replica_set_named_by_its_template_hash() {
    let c = Cluster::start();
    let created = c.create("deployments", "team", deployment(3, rolling(1, 0)));
    let s = roll_out(&c, 3, |_| {}, |_| {}).await;
    assert_eq!(s.rss.len(), 1);
    let rs = &s.rss[0];
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap();
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"],
        json!({"app": "web", "pod-template-hash": hash})
    );
    assert_eq!(
        rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"],
        hash
    );
    assert_eq!(
        rs["metadata"]["ownerReferences"],
        json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                "uid": created["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
    );
    let a = annotations(rs);
    assert_eq!(a["deployment.kubernetes.io/revision"], "1");
    assert_eq!(a["deployment.kubernetes.io/desired-replicas"], "3");
    assert_eq!(a["deployment.kubernetes.io/max-replicas"], "4");
    assert_eq!(annotations(s.d())["deployment.kubernetes.io/revision"], "1");
    assert_eq!(s.status("readyReplicas"), 3);
    assert_eq!(s.status("unavailableReplicas"), 0);
    assert_eq!(s.reason("Available"), Some("MinimumReplicasAvailable"));
    assert_eq!(
        s.condition("Progressing").unwrap()["message"],
        format!("ReplicaSet \"web-{hash}\" has successfully progressed.")
    );
    assert_eq!(
        events(&c, "ScalingReplicaSet"),
        [format!("Scaled up replica set web-{hash} from 0 to 3")]
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_stays_within_surge_and_minimum_availability() {
    let c = Cluster::start();
    c.create("deployments", "team", deployment(4, rolling(1, 1)));
    roll_out(&c, 4, |_| {}, |_| {}).await;
    set_image(&c, "nginx:2");
    let within_surge = |s: &Snapshot| {
        assert!(
            s.spec_sum() <= 5,
            "more than replicas + maxSurge: {}",
            s.spec_sum()
        );
    };
    let s = roll_out(&c, 4, within_surge, |s| {
        assert!(
            s.ready_pods() >= 3,
            "fewer than replicas - maxUnavailable ready: {}",
            s.ready_pods()
        );
    })
    .await;
    assert_eq!(s.rss.len(), 2);
    let new = s.rs_with("nginx:2").unwrap();
    let old = s.rs_with("nginx:1").unwrap();
    assert_eq!(new["spec"]["replicas"], 4);
    assert_eq!(old["spec"]["replicas"], 0);
    assert_eq!(annotations(new)["deployment.kubernetes.io/revision"], "2");
    assert_eq!(annotations(s.d())["deployment.kubernetes.io/revision"], "2");
    let scaled = events(&c, "ScalingReplicaSet");
    assert!(
        scaled
            .iter()
            .any(|m| m.starts_with("Scaled down replica set web-") && m.ends_with(" to 0")),
        "{scaled:?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_removes_every_old_pod_before_creating_new_ones() {
    let c = Cluster::start();
    c.create(
        "deployments",
        "team",
        deployment(2, json!({"type": "Recreate"})),
    );
    roll_out(&c, 2, |_| {}, |_| {}).await;
    set_image(&c, "nginx:2");
    let never_both = |s: &Snapshot| {
        if let (Some(old), Some(new)) = (s.rs_with("nginx:1"), s.rs_with("nginx:2")) {
            assert!(
                s.pods_of(new).is_empty() || s.pods_of(old).is_empty(),
                "old and new pods at once"
            );
        }
    };
    let s = roll_out(&c, 2, never_both, |_| {}).await;
    assert_eq!(s.rs_with("nginx:1").unwrap()["spec"]["replicas"], 0);
    assert_eq!(s.rs_with("nginx:2").unwrap()["spec"]["replicas"], 2);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_back_to_an_old_template_reuses_its_replica_set_with_the_next_revision() {
    let c = Cluster::start();
    let mut d = deployment(2, rolling(1, 0));
    d["metadata"]["annotations"] = json!({"kubernetes.io/change-cause": "create"});
    c.create("deployments", "team", d);
    roll_out(&c, 2, |_| {}, |_| {}).await;
    edit(&c, |d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        d["metadata"]["annotations"]["kubernetes.io/change-cause"] = json!("set image");
    });
    let s = roll_out(&c, 2, |_| {}, |_| {}).await;
    assert_eq!(
        annotations(s.rs_with("nginx:2").unwrap())["kubernetes.io/change-cause"],
        "set image"
    );
    // `kubectl rollout undo` (DeploymentRollbacker): revision 1's template without its hash
    // label, and its annotations but for the controller's own, into the Deployment.
    let rs1 = s.rs_with("nginx:1").unwrap().clone();
    let mut old_template = rs1["spec"]["template"].clone();
    old_template["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    let skip = [
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    ];
    edit(&c, |d| {
        let mut kept: serde_json::Map<String, Value> = annotations(d)
            .into_iter()
            .filter(|(k, _)| skip.contains(&k.as_str()))
            .map(|(k, v)| (k, json!(v)))
            .collect();
        for (k, v) in annotations(&rs1) {
            if !skip.contains(&k.as_str()) {
                kept.insert(k, json!(v));
            }
        }
        d["metadata"]["annotations"] = Value::Object(kept);
        d["spec"]["template"] = old_template.clone();
    });
    let s = roll_out(&c, 2, |_| {}, |_| {}).await;
    assert_eq!(annotations(s.d())["kubernetes.io/change-cause"], "create");
    assert_eq!(s.rss.len(), 2, "no third ReplicaSet");
    let back = annotations(s.rs_with("nginx:1").unwrap());
    assert_eq!(back["deployment.kubernetes.io/revision"], "3");
    assert_eq!(back["deployment.kubernetes.io/revision-history"], "1");
    assert_eq!(annotations(s.d())["deployment.kubernetes.io/revision"], "3");
    assert_eq!(s.rs_with("nginx:2").unwrap()["spec"]["replicas"], 0);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_deployment_scales_but_does_not_roll_out_until_resumed() {
    let c = Cluster::start();
    c.create("deployments", "team", deployment(2, rolling(1, 0)));
    roll_out(&c, 2, |_| {}, |_| {}).await;
    edit(&c, |d| {
        d["spec"]["paused"] = json!(true);
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        d["spec"]["replicas"] = json!(3);
    });
    let s = wait_until(
        &c,
        "the paused deployment scaled to 3",
        |s| s.settled() && s.reason("Progressing") == Some("DeploymentPaused") && s.spec_sum() == 3,
        |_| {},
    )
    .await;
    assert_eq!(s.rss.len(), 1, "no rollout while paused");
    assert_eq!(s.condition("Progressing").unwrap()["status"], "Unknown");
    assert_eq!(
        annotations(&s.rss[0])["deployment.kubernetes.io/desired-replicas"],
        "3"
    );
    edit(&c, |d| d["spec"]["paused"] = json!(false));
    let s = roll_out(&c, 3, |_| {}, |_| {}).await;
    assert_eq!(s.rs_with("nginx:2").unwrap()["spec"]["replicas"], 3);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_without_progress_times_out_at_its_deadline() {
    let c = Cluster::start();
    let mut d = deployment(1, rolling(1, 0));
    d["spec"]["progressDeadlineSeconds"] = json!(1);
    c.create("deployments", "team", d);
    // No pod ever becomes ready.
    let s = wait_until(
        &c,
        "Progressing=False ProgressDeadlineExceeded",
        |s| s.deployment.is_some() && s.reason("Progressing") == Some("ProgressDeadlineExceeded"),
        |_| {},
    )
    .await;
    let cond = s.condition("Progressing").unwrap();
    assert_eq!(cond["status"], "False");
    assert!(
        cond["message"]
            .as_str()
            .unwrap()
            .ends_with("has timed out progressing."),
        "{cond}"
    );
    assert_eq!(s.reason("Available"), Some("MinimumReplicasUnavailable"));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_replica_sets_beyond_the_history_limit_are_deleted() {
    let c = Cluster::start();
    let mut d = deployment(1, rolling(1, 0));
    d["spec"]["revisionHistoryLimit"] = json!(1);
    c.create("deployments", "team", d);
    roll_out(&c, 1, |_| {}, |_| {}).await;
    for image in ["nginx:2", "nginx:3"] {
        set_image(&c, image);
        roll_out(&c, 1, |_| {}, |_| {}).await;
    }
    let s = wait_until(&c, "two ReplicaSets left", |s| s.rss.len() == 2, |_| {}).await;
    assert!(
        s.rs_with("nginx:1").is_none(),
        "the oldest revision is gone"
    );
    assert!(s.rs_with("nginx:2").is_some() && s.rs_with("nginx:3").is_some());
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphan_replica_set_with_the_template_is_adopted_as_the_new_one() {
    let c = Cluster::start();
    let mut rs_template = template("nginx:1");
    rs_template["metadata"]["labels"]["pod-template-hash"] = json!("abc");
    c.create(
        "replicasets",
        "team",
        json!({"metadata": {"name": "web-abc", "labels": {"app": "web", "pod-template-hash": "abc"}},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "abc"}},
                        "template": rs_template}}),
    );
    let created = c.create("deployments", "team", deployment(2, rolling(1, 0)));
    let s = roll_out(&c, 2, |_| {}, |_| {}).await;
    assert_eq!(s.rss.len(), 1);
    assert_eq!(s.rss[0]["metadata"]["name"], "web-abc");
    assert_eq!(
        s.rss[0]["metadata"]["ownerReferences"][0]["uid"],
        created["metadata"]["uid"]
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_set_relabelled_out_of_the_selector_is_released_and_replaced() {
    let c = Cluster::start();
    let created = c.create("deployments", "team", deployment(2, rolling(1, 0)));
    let s = roll_out(&c, 2, |_| {}, |_| {}).await;
    let first = s.rss[0]["metadata"]["name"].as_str().unwrap().to_owned();
    let uid = created["metadata"]["uid"].clone();
    c.merge_patch(
        "replicasets",
        "team",
        &first,
        json!({"metadata": {"labels": {"app": "elsewhere"}}}),
    );
    let controlled = move |rs: &Value| {
        rs["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| {
                refs.iter()
                    .any(|r| r["uid"] == uid && r["controller"] == true)
            })
    };
    let s = wait_until(
        &c,
        "the relabelled ReplicaSet released and another one made",
        |s| {
            s.rss
                .iter()
                .any(|rs| rs["metadata"]["name"] == first.as_str() && !controlled(rs))
                && s.rss
                    .iter()
                    .any(|rs| rs["metadata"]["name"] != first.as_str() && controlled(rs))
        },
        |_| {},
    )
    .await;
    assert_eq!(
        s.d()["status"]["collisionCount"],
        1,
        "the template's hash name is the released ReplicaSet's"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_collision_bumps_the_collision_count_and_names_the_replica_set_anew() {
    let c = Cluster::start();
    let mut d = deployment(1, rolling(1, 0));
    d["spec"]["paused"] = json!(true);
    c.create("deployments", "team", d);
    // The name the first ReplicaSet would get, taken by an unrelated one.
    let stored: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(
        c.objects
            .store()
            .get("deployments.apps", "team", "web")
            .unwrap()
            .value(),
    )
    .unwrap();
    let hash = super::util::compute_hash(&stored.spec.template, None);
    let mut other = template("busybox");
    other["metadata"]["labels"] = json!({"app": "other"});
    c.create(
        "replicasets",
        "team",
        json!({"metadata": {"name": format!("web-{hash}"), "labels": {"app": "other"}},
               "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "other"}},
                        "template": other}}),
    );
    edit(&c, |d| d["spec"]["paused"] = json!(false));
    let s = roll_out(&c, 1, |_| {}, |_| {}).await;
    assert_eq!(s.d()["status"]["collisionCount"], 1);
    let ours = s.rs_with("nginx:1").unwrap();
    let new_hash = super::util::compute_hash(&stored.spec.template, Some(1));
    assert_eq!(ours["metadata"]["name"], format!("web-{new_hash}"));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_failure_of_the_new_replica_set_is_surfaced() {
    let c = Cluster::start();
    c.create(
        "resourcequotas",
        "team",
        json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "1"}}}),
    );
    c.create("deployments", "team", deployment(3, rolling(1, 0)));
    let s = wait_until(
        &c,
        "a ReplicaFailure condition",
        |s| s.deployment.is_some() && s.condition("ReplicaFailure").is_some(),
        |_| {},
    )
    .await;
    let cond = s.condition("ReplicaFailure").unwrap();
    assert_eq!(cond["status"], "True");
    assert_eq!(cond["reason"], "FailedCreate");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_in_the_middle_of_a_rollout_is_shared_between_old_and_new() {
    let c = Cluster::start();
    c.create("deployments", "team", deployment(4, rolling(2, 0)));
    roll_out(&c, 4, |_| {}, |_| {}).await;
    set_image(&c, "nginx:2");
    // New pods never become ready: the rollout stalls at 4 old + 2 new.
    wait_until(
        &c,
        "the surge pods",
        |s| {
            s.settled()
                && s.rs_with("nginx:2")
                    .is_some_and(|rs| rs["spec"]["replicas"] == 2)
        },
        |_| {},
    )
    .await;
    edit(&c, |d| d["spec"]["replicas"] = json!(8));
    let s = wait_until(
        &c,
        "the scaling event shared out",
        |s| s.settled() && s.spec_sum() == 10,
        |s| assert!(s.spec_sum() <= 10, "more than replicas + maxSurge"),
    )
    .await;
    // 6 → 10 (8 + surge 2) in proportion to 4 : 2, from max-replicas 6.
    assert_eq!(s.rs_with("nginx:1").unwrap()["spec"]["replicas"], 7);
    assert_eq!(s.rs_with("nginx:2").unwrap()["spec"]["replicas"], 3);
    for rs in &s.rss {
        assert_eq!(
            annotations(rs)["deployment.kubernetes.io/desired-replicas"],
            "8"
        );
        assert_eq!(
            annotations(rs)["deployment.kubernetes.io/max-replicas"],
            "10"
        );
    }
    c.stop().await;
}

/// Not a check: times a 300-replica rolling update with the kubelet played in bulk, and prints
/// the deployment queue's metrics. `cargo test -p orchestrator --release --lib
/// rollout_of_300_replicas_measured -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn rollout_of_300_replicas_measured() {
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    let store: Arc<dyn crate::store::Storage> =
        Arc::new(crate::store::MemoryStore::new(Default::default()));
    let objects = crate::api::Objects::new(store);
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let workqueues = crate::controllers::spawn_all(
        objects.clone(),
        &Default::default(),
        shutdown.clone(),
        &tracker,
    );
    objects
        .create(
            info("namespaces"),
            "",
            json!({"metadata": {"name": "team"}}),
            &WriteParams::default(),
        )
        .unwrap();
    let replicas = 300;
    let mut d = deployment(
        replicas,
        json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
    );
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1");
    objects
        .create(info("deployments"), "team", d, &WriteParams::default())
        .unwrap();
    let c = objects.clone();
    for image in ["nginx:1", "nginx:2"] {
        if image != "nginx:1" {
            set_image(&c, image);
        }
        let started = std::time::Instant::now();
        let mut steps = 0;
        loop {
            let done = |s: &Snapshot| s.rs_with(image).is_some() && s.complete(replicas);
            let s = wait_until(
                &c,
                "an unready pod or the rollout complete",
                |s| done(s) || s.unready_pod().is_some(),
                |_| {},
            )
            .await;
            if done(&s) {
                break;
            }
            for p in s.pods.iter().filter(|p| !Snapshot::ready(p)) {
                set_ready(&c, p["metadata"]["name"].as_str().unwrap());
            }
            steps += 1;
        }
        println!(
            "{image}: {replicas} replicas rolled out in {:?} ({steps} kubelet passes)",
            started.elapsed()
        );
    }
    let mut out = String::new();
    workqueues.render(&mut out);
    for line in out.lines().filter(|l| {
        l.contains("name=\"deployment\"")
            && (l.contains("_count") || l.contains("_sum") || l.starts_with("workqueue_adds"))
    }) {
        println!("{line}");
    }
    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
}
