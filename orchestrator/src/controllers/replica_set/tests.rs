//! The ReplicaSet and ReplicationController controllers over a real store: the test plays the
//! kubelet where readiness matters, by writing pod status.

use serde_json::{Value, json};

use crate::api::WriteParams;
use crate::controllers::cluster_tests::{Cluster, info};
use crate::registry::UpdateTarget;
use crate::store::ListOptions;

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
}

fn rs(name: &str, replicas: i64) -> Value {
    json!({"metadata": {"name": name},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                    "template": template()}})
}

/// The pods of namespace `team`, as stored.
fn pods(c: &Cluster) -> Vec<Value> {
    c.objects
        .store()
        .list("pods", &ListOptions::default())
        .unwrap()
        .items
        .iter()
        .map(|p| p.value())
        .filter(|p| p["metadata"]["namespace"] == "team")
        .collect()
}

fn live(c: &Cluster) -> Vec<Value> {
    pods(c)
        .into_iter()
        .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
        .collect()
}

async fn wait_status(c: &Cluster, plural: &str, name: &str, what: &str, want: Value) {
    c.wait(plural, "team", name, what, |o| {
        o.is_some_and(|o| {
            want.as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| o["status"].get(k).unwrap_or(&json!(0)) == v)
        })
    })
    .await;
}

fn set_ready(c: &Cluster, name: &str) {
    let mut p = c.objects.store().get("pods", "team", name).unwrap().value();
    p["status"]["phase"] = json!("Running");
    p["status"]["conditions"] = json!([{"type": "Ready", "status": "True",
        "lastTransitionTime": crate::controllers::events::rfc3339(jiff::Timestamp::now())}]);
    c.objects
        .update(
            info("pods"),
            "team",
            name,
            p,
            UpdateTarget::Status,
            &WriteParams::default(),
        )
        .unwrap();
}

fn events(c: &Cluster, reason: &str) -> Vec<Value> {
    c.objects
        .store()
        .list("events", &ListOptions::default())
        .unwrap()
        .items
        .iter()
        .map(|e| e.value())
        .filter(|e| e["reason"] == reason)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_set_creates_its_replicas_owned_and_named_after_it() {
    let c = Cluster::start();
    let created = c.create("replicasets", "team", rs("web", 3));
    wait_status(
        &c,
        "replicasets",
        "web",
        "3 replicas",
        json!({"replicas": 3, "observedGeneration": 1}),
    )
    .await;
    let pods = live(&c);
    assert_eq!(pods.len(), 3);
    for p in &pods {
        assert!(p["metadata"]["name"].as_str().unwrap().starts_with("web-"));
        assert_eq!(p["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(
            p["metadata"]["ownerReferences"],
            json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                    "uid": created["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
        );
    }
    let ev = events(&c, "SuccessfulCreate");
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[0]["involvedObject"]["kind"], "ReplicaSet");
    assert_eq!(ev[0]["involvedObject"]["apiVersion"], "apps/v1");
    assert_eq!(ev[0]["source"]["component"], "replicaset-controller");
    assert!(
        ev[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Created pod: web-")
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_pods_count_as_available_after_min_ready_seconds() {
    let c = Cluster::start();
    let mut set = rs("web", 2);
    set["spec"]["minReadySeconds"] = json!(1);
    c.create("replicasets", "team", set);
    wait_status(
        &c,
        "replicasets",
        "web",
        "2 replicas",
        json!({"replicas": 2}),
    )
    .await;
    for p in live(&c) {
        set_ready(&c, p["metadata"]["name"].as_str().unwrap());
    }
    wait_status(
        &c,
        "replicasets",
        "web",
        "2 ready",
        json!({"readyReplicas": 2}),
    )
    .await;
    wait_status(
        &c,
        "replicasets",
        "web",
        "2 available",
        json!({"availableReplicas": 2, "readyReplicas": 2}),
    )
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_down_deletes_not_ready_pods_before_ready_ones() {
    let c = Cluster::start();
    c.create("replicasets", "team", rs("web", 3));
    wait_status(
        &c,
        "replicasets",
        "web",
        "3 replicas",
        json!({"replicas": 3}),
    )
    .await;
    let names: Vec<String> = live(&c)
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    set_ready(&c, &names[0]);
    set_ready(&c, &names[1]);
    wait_status(
        &c,
        "replicasets",
        "web",
        "2 ready",
        json!({"readyReplicas": 2}),
    )
    .await;
    let mut scaled = c
        .objects
        .store()
        .get(info("replicasets").store_key, "team", "web")
        .unwrap()
        .value();
    scaled["spec"]["replicas"] = json!(2);
    c.objects
        .update(
            info("replicasets"),
            "team",
            "web",
            scaled,
            UpdateTarget::Main,
            &WriteParams::default(),
        )
        .unwrap();
    wait_status(
        &c,
        "replicasets",
        "web",
        "2 replicas",
        json!({"replicas": 2, "observedGeneration": 2}),
    )
    .await;
    let left: Vec<String> = live(&c)
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !left.contains(&names[2]),
        "the not-ready pod goes first: {left:?}"
    );
    assert_eq!(
        events(&c, "SuccessfulDelete")[0]["message"],
        format!("Deleted pod: {}", names[2])
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_orphans_are_adopted_and_pods_that_stop_matching_are_released() {
    let c = Cluster::start();
    c.create(
        "pods",
        "team",
        json!({"metadata": {"name": "orphan", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    );
    let set = c.create("replicasets", "team", rs("web", 2));
    wait_status(
        &c,
        "replicasets",
        "web",
        "2 replicas",
        json!({"replicas": 2}),
    )
    .await;
    let orphan = c
        .objects
        .store()
        .get("pods", "team", "orphan")
        .unwrap()
        .value();
    assert_eq!(
        orphan["metadata"]["ownerReferences"][0]["uid"],
        set["metadata"]["uid"]
    );
    assert_eq!(live(&c).len(), 2, "the orphan counts: one pod created");

    // Relabel it: released, and replaced.
    let mut relabelled = orphan.clone();
    relabelled["metadata"]["labels"] = json!({"app": "other"});
    c.objects
        .update(
            info("pods"),
            "team",
            "orphan",
            relabelled,
            UpdateTarget::Main,
            &WriteParams::default(),
        )
        .unwrap();
    c.wait("pods", "team", "orphan", "released", |p| {
        p.is_some_and(|p| {
            p["metadata"]
                .get("ownerReferences")
                .is_none_or(|r| r == &json!([]))
        })
    })
    .await;
    // Replaced: two pods of the ReplicaSet beside the released one.
    c.wait_until("pods", "a replacement pod", || live(&c).len() >= 3)
        .await;
    assert_eq!(live(&c).len(), 3);
    wait_status(
        &c,
        "replicasets",
        "web",
        "2 replicas",
        json!({"replicas": 2}),
    )
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pod_is_replaced() {
    let c = Cluster::start();
    c.create("replicasets", "team", rs("web", 2));
    wait_status(
        &c,
        "replicasets",
        "web",
        "2 replicas",
        json!({"replicas": 2}),
    )
    .await;
    let victim = live(&c)[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    c.delete("pods", "team", &victim);
    c.wait("pods", "team", &victim, "the pod gone", |p| p.is_none())
        .await;
    c.wait_until("pods", "a replacement pod", || live(&c).len() >= 2)
        .await;
    let names: Vec<Value> = live(&c)
        .iter()
        .map(|p| p["metadata"]["name"].clone())
        .collect();
    assert_eq!(names.len(), 2, "replaced: {names:?}");
    assert!(!names.contains(&json!(victim)));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_refused_by_quota_set_replica_failure_and_clear_it_when_allowed() {
    let c = Cluster::start();
    c.create(
        "resourcequotas",
        "team",
        json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "1"}}}),
    );
    c.wait("resourcequotas", "team", "q", "quota status", |q| {
        q.is_some_and(|q| q["status"]["used"].is_object())
    })
    .await;
    c.create("replicasets", "team", rs("web", 3));
    c.wait("replicasets", "team", "web", "ReplicaFailure", |o| {
        o.is_some_and(|o| {
            o["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["type"] == "ReplicaFailure"
                        && c["reason"] == "FailedCreate"
                        && c["message"]
                            .as_str()
                            .unwrap_or("")
                            .contains("exceeded quota: q")
                })
            })
        })
    })
    .await;
    assert_eq!(live(&c).len(), 1);
    let failed = events(&c, "FailedCreate");
    assert!(!failed.is_empty());
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Error creating: pods \"web-")
    );
    // Raise the quota: the rest are created and the condition goes.
    let mut q = c
        .objects
        .store()
        .get(info("resourcequotas").store_key, "team", "q")
        .unwrap()
        .value();
    q["spec"]["hard"]["pods"] = json!("10");
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
    c.wait(
        "replicasets",
        "team",
        "web",
        "3 replicas without ReplicaFailure",
        |o| {
            o.is_some_and(|o| {
                o["status"]["replicas"] == 3 && o["status"].get("conditions").is_none()
            })
        },
    )
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_controller_keeps_its_replicas_with_a_map_selector() {
    let c = Cluster::start();
    let rc = c.create(
        "replicationcontrollers",
        "team",
        json!({"metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"app": "web"}, "template": template()}}),
    );
    wait_status(
        &c,
        "replicationcontrollers",
        "web",
        "2 replicas",
        json!({"replicas": 2, "fullyLabeledReplicas": 2}),
    )
    .await;
    for p in live(&c) {
        let r = &p["metadata"]["ownerReferences"][0];
        assert_eq!(
            (r["apiVersion"].as_str(), r["kind"].as_str()),
            (Some("v1"), Some("ReplicationController"))
        );
        assert_eq!(r["uid"], rc["metadata"]["uid"]);
    }
    assert_eq!(
        events(&c, "SuccessfulCreate")[0]["source"]["component"],
        "replication-controller"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_set_and_a_controller_of_the_same_name_keep_their_own_pods() {
    let c = Cluster::start();
    c.create(
        "replicasets",
        "team",
        json!({"metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "a"}},
                 "template": {"metadata": {"labels": {"app": "a"}}, "spec": template()["spec"]}}}),
    );
    c.create(
        "replicationcontrollers",
        "team",
        json!({"metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"app": "b"},
                 "template": {"metadata": {"labels": {"app": "b"}}, "spec": template()["spec"]}}}),
    );
    wait_status(
        &c,
        "replicasets",
        "web",
        "1 replica",
        json!({"replicas": 1}),
    )
    .await;
    wait_status(
        &c,
        "replicationcontrollers",
        "web",
        "2 replicas",
        json!({"replicas": 2}),
    )
    .await;
    let kinds: Vec<Value> = live(&c)
        .iter()
        .map(|p| p["metadata"]["ownerReferences"][0]["kind"].clone())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "ReplicaSet").count(), 1);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "ReplicationController")
            .count(),
        2
    );
    c.stop().await;
}
