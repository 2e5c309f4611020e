//! The garbage collector in a running control plane: every controller over a real store (and,
//! for kubectl, the API server over TLS). Owners and dependents are ConfigMaps, Secrets, Pods, a
//! ReplicationController and a StorageClass created by the test with `ownerReferences` (the workload
//! controllers run too; tests keep their dependents out of the controllers' selectors). Every wait is on a store watch with a timeout.

use serde_json::{Value, json};

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{Objects, WriteParams};
use crate::controllers::cluster_tests::{Cluster, info};
use crate::store::{ListOptions, MemoryStore, Storage};

const NS: &str = "team";
const HOLD: &str = "example.com/hold";

/// The collector's checks on top of the shared test cluster.
trait Collected {
    async fn wait_owners(&self, plural: &str, ns: &str, name: &str, owners: &[&str]);
    async fn assert_kept(&self, plural: &str, ns: &str, name: &str);
}

impl Collected for Cluster {
    async fn wait_owners(&self, plural: &str, ns: &str, name: &str, owners: &[&str]) {
        let what = format!("{plural} {name} to be owned by {owners:?}");
        self.wait(plural, ns, name, &what, |o| {
            o.is_some_and(|o| owner_names(o) == owners)
        })
        .await;
    }

    /// Let the collector catch up on everything written so far, then check that the object is
    /// still there: an object that is never deleted cannot be waited for, so wait for a marker
    /// to be collected instead (the collector works through its queue in order).
    async fn assert_kept(&self, plural: &str, ns: &str, name: &str) {
        let marker = format!("marker-{}", uuid::Uuid::new_v4().simple());
        self.create(
            "configmaps",
            NS,
            json!({"metadata": {"name": marker, "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "nobody",
                 "uid": uuid::Uuid::new_v4().to_string()}]}}),
        );
        self.wait_gone("configmaps", NS, &marker).await;
        assert!(
            self.get(plural, ns, name).is_some(),
            "{plural} {name} was deleted"
        );
    }
}

/// An owner reference to `owner` (a stored object of `kind`).
fn owner_ref(api_version: &str, kind: &str, owner: &Value, block: bool) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": block,
    })
}

fn cm_ref(owner: &Value, block: bool) -> Value {
    owner_ref("v1", "ConfigMap", owner, block)
}

fn configmap(name: &str, owners: &[Value]) -> Value {
    json!({"metadata": {"name": name, "ownerReferences": owners}})
}

fn owner_names(obj: &Value) -> Vec<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect()
}

fn finalizers(obj: &Value) -> Vec<&str> {
    obj["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn pod(name: &str, owners: &[Value]) -> Value {
    json!({"metadata": {"name": name, "ownerReferences": owners},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_deletion_of_an_owner_collects_its_dependents() {
    let c = Cluster::start();
    let owner = c.create("configmaps", NS, configmap("owner", &[]));
    c.create(
        "configmaps",
        NS,
        configmap("dep-cm", &[cm_ref(&owner, false)]),
    );
    c.create(
        "secrets",
        NS,
        json!({"metadata": {"name": "dep-secret", "ownerReferences": [cm_ref(&owner, true)]}}),
    );
    c.create("pods", NS, pod("dep-pod", &[cm_ref(&owner, false)]));
    c.delete_with("configmaps", NS, "owner", Some("Background"));
    assert!(
        c.get("configmaps", NS, "owner").is_none(),
        "Background deletes the owner at once"
    );
    c.wait_gone("configmaps", NS, "dep-cm").await;
    c.wait_gone("secrets", NS, "dep-secret").await;
    c.wait_gone("pods", NS, "dep-pod").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_whose_owner_never_existed_is_collected() {
    let c = Cluster::start();
    let ghost = json!({"metadata": {"name": "ghost", "uid": uuid::Uuid::new_v4().to_string()}});
    c.create("configmaps", NS, configmap("dep", &[cm_ref(&ghost, false)]));
    c.wait_gone("configmaps", NS, "dep").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_of_the_same_name_but_another_uid_does_not_keep_a_dependent() {
    let c = Cluster::start();
    c.create("configmaps", NS, configmap("owner", &[]));
    let impostor = json!({"metadata": {"name": "owner", "uid": uuid::Uuid::new_v4().to_string()}});
    c.create(
        "configmaps",
        NS,
        configmap("dep", &[cm_ref(&impostor, true)]),
    );
    c.wait_gone("configmaps", NS, "dep").await;
    assert!(c.get("configmaps", NS, "owner").is_some());
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_with_a_live_owner_stays_and_loses_the_dead_one() {
    let c = Cluster::start();
    let a = c.create("configmaps", NS, configmap("owner-a", &[]));
    let b = c.create("configmaps", NS, configmap("owner-b", &[]));
    c.create(
        "configmaps",
        NS,
        configmap("dep", &[cm_ref(&a, true), cm_ref(&b, true)]),
    );
    c.delete_with("configmaps", NS, "owner-a", None);
    c.wait_owners("configmaps", NS, "dep", &["owner-b"]).await;
    c.assert_kept("configmaps", NS, "dep").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_keeps_the_owner_until_its_blocking_dependents_are_gone() {
    let c = Cluster::start();
    let owner = c.create("configmaps", NS, configmap("owner", &[]));
    // Held by a finalizer of its own, so the owner has to wait for it.
    c.create(
        "configmaps",
        NS,
        json!({"metadata": {"name": "blocking", "finalizers": [HOLD],
            "ownerReferences": [cm_ref(&owner, true)]}}),
    );
    c.create("pods", NS, pod("not-blocking", &[cm_ref(&owner, false)]));
    c.delete_with("configmaps", NS, "owner", Some("Foreground"));
    let marked = c
        .get("configmaps", NS, "owner")
        .expect("kept while dependents remain");
    assert_eq!(finalizers(&marked), ["foregroundDeletion"]);
    assert!(marked["metadata"]["deletionTimestamp"].is_string());

    c.wait(
        "configmaps",
        NS,
        "blocking",
        "the blocking dependent to be deleted",
        |o| o.is_some_and(|o| o["metadata"]["deletionTimestamp"].is_string()),
    )
    .await;
    // Dependents that do not block are deleted too; the owner does not wait for them.
    c.wait_gone("pods", NS, "not-blocking").await;
    c.assert_kept("configmaps", NS, "owner").await;

    c.merge_patch(
        "configmaps",
        NS,
        "blocking",
        json!({"metadata": {"finalizers": null}}),
    );
    c.wait_gone("configmaps", NS, "blocking").await;
    c.wait_gone("configmaps", NS, "owner").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreground_deleted_owner_without_dependents_goes_at_once() {
    let c = Cluster::start();
    c.create("configmaps", NS, configmap("alone", &[]));
    c.delete_with("configmaps", NS, "alone", Some("Foreground"));
    c.wait_gone("configmaps", NS, "alone").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphaning_removes_only_that_owners_reference() {
    let c = Cluster::start();
    let a = c.create("configmaps", NS, configmap("owner-a", &[]));
    let b = c.create("configmaps", NS, configmap("owner-b", &[]));
    c.create(
        "configmaps",
        NS,
        configmap("shared", &[cm_ref(&a, true), cm_ref(&b, true)]),
    );
    c.create("pods", NS, pod("only-a", &[cm_ref(&a, true)]));
    c.delete_with("configmaps", NS, "owner-a", Some("Orphan"));
    c.wait_gone("configmaps", NS, "owner-a").await;
    c.wait_owners("configmaps", NS, "shared", &["owner-b"])
        .await;
    c.wait_owners("pods", NS, "only-a", &[]).await;
    c.assert_kept("pods", NS, "only-a").await;
    c.assert_kept("configmaps", NS, "shared").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_controller_deleted_without_a_policy_orphans_its_pods() {
    let c = Cluster::start();
    c.create(
        "replicationcontrollers",
        NS,
        json!({"metadata": {"name": "rc"}, "spec": {"replicas": 1, "selector": {"app": "rc"},
            "template": {"metadata": {"labels": {"app": "rc"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
    );
    c.wait("replicationcontrollers", NS, "rc", "one replica", |o| {
        o.is_some_and(|o| o["status"]["replicas"] == 1)
    })
    .await;
    let pods = c
        .objects
        .store()
        .list("pods", &ListOptions::default())
        .unwrap()
        .items;
    assert_eq!(pods.len(), 1, "the RC made its replica");
    let name = pods[0].name.to_string();
    c.wait_owners("pods", NS, &name, &["rc"]).await;
    c.delete_with("replicationcontrollers", NS, "rc", None);
    c.wait_gone("replicationcontrollers", NS, "rc").await;
    c.wait_owners("pods", NS, &name, &[]).await;
    c.assert_kept("pods", NS, &name).await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependency_cycle_does_not_block_foreground_deletion() {
    let c = Cluster::start();
    // one ← two ← three ← one, every reference blocking (upstream's three-pod circle).
    let one = c.create("configmaps", NS, configmap("one", &[]));
    let two = c.create("configmaps", NS, configmap("two", &[cm_ref(&one, true)]));
    let three = c.create("configmaps", NS, configmap("three", &[cm_ref(&two, true)]));
    c.merge_patch(
        "configmaps",
        NS,
        "one",
        json!({"metadata": {"ownerReferences": [cm_ref(&three, true)]}}),
    );
    c.delete_with("configmaps", NS, "one", Some("Foreground"));
    for name in ["one", "two", "three"] {
        c.wait_gone("configmaps", NS, name).await;
    }
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_spares_dependents_with_another_valid_owner() {
    let c = Cluster::start();
    let a = c.create("configmaps", NS, configmap("owner-a", &[]));
    let b = c.create("configmaps", NS, configmap("owner-b", &[]));
    for i in 0..4 {
        let mut owners = vec![owner_ref("v1", "ConfigMap", &a, true)];
        if i % 2 == 0 {
            owners.push(cm_ref(&b, false));
        }
        c.create("pods", NS, pod(&format!("pod-{i}"), &owners));
    }
    c.delete_with("configmaps", NS, "owner-a", Some("Foreground"));
    c.wait_gone("configmaps", NS, "owner-a").await;
    c.wait_gone("pods", NS, "pod-1").await;
    c.wait_gone("pods", NS, "pod-3").await;
    for name in ["pod-0", "pod-2"] {
        c.wait_owners("pods", NS, name, &["owner-b"]).await;
    }
    c.assert_kept("pods", NS, "pod-0").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_scoped_owner_collects_namespaced_dependents() {
    let c = Cluster::start();
    let class = c.create(
        "storageclasses",
        "",
        json!({"metadata": {"name": "fast"}, "provisioner": "example.com/fast"}),
    );
    let class_ref = owner_ref("storage.k8s.io/v1", "StorageClass", &class, true);
    c.create("configmaps", NS, configmap("dep", &[class_ref]));
    // A cluster-scoped object cannot be owned by a namespaced one: it is left alone.
    let cm = c.create("configmaps", NS, configmap("namespaced-owner", &[]));
    c.create(
        "storageclasses",
        "",
        json!({"metadata": {"name": "odd", "ownerReferences": [cm_ref(&cm, false)]},
            "provisioner": "example.com/odd"}),
    );
    c.assert_kept("configmaps", NS, "dep").await;
    c.delete_with("storageclasses", "", "fast", None);
    c.wait_gone("configmaps", NS, "dep").await;
    c.delete_with("configmaps", NS, "namespaced-owner", None);
    c.assert_kept("storageclasses", "", "odd").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependents_existing_before_the_collector_starts_are_collected() {
    let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
    let objects = Objects::new(store);
    let ns = json!({"metadata": {"name": NS}});
    objects
        .create(info("namespaces"), "", ns, &WriteParams::default())
        .unwrap();
    let ghost = json!({"metadata": {"name": "gone", "uid": uuid::Uuid::new_v4().to_string()}});
    objects
        .create(
            info("configmaps"),
            NS,
            configmap("left-behind", &[cm_ref(&ghost, true)]),
            &WriteParams::default(),
        )
        .unwrap();
    let c = Cluster::over(objects);
    c.wait_gone("configmaps", NS, "left-behind").await;
    c.stop().await;
}

/// `kubectl delete --cascade=…` sends the matching propagation policy; `foreground` returns only
/// once the owner is gone, after its dependents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_cascade_modes_map_to_the_three_policies() {
    let Some(kubectl) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("kubectl"))
            .find(|p| p.is_file())
    }) else {
        println!("skipped: kubectl not found");
        return;
    };
    let mut config = crate::ControlPlaneConfig::default();
    config.scheduler.enabled = false;
    let cp = crate::ControlPlane::start(config).await.expect("boots");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cp.write_kubeconfig(&kubeconfig).unwrap();
    let c = Cluster {
        objects: cp.objects().clone(),
        shutdown: CancellationToken::new(),
        tracker: TaskTracker::new(),
    };
    c.create("namespaces", "", json!({"metadata": {"name": NS}}));
    let run = |args: Vec<String>| {
        let mut cmd = std::process::Command::new(&kubectl);
        cmd.arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg("--request-timeout=20s")
            .args(&args);
        async move {
            let out = tokio::task::spawn_blocking(move || cmd.output())
                .await
                .unwrap()
                .expect("kubectl runs");
            println!(
                "kubectl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout).trim()
            );
            assert!(
                out.status.success(),
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    for mode in ["orphan", "background", "foreground"] {
        let owner = c.create("configmaps", NS, configmap(&format!("owner-{mode}"), &[]));
        c.create(
            "configmaps",
            NS,
            configmap(&format!("dep-{mode}"), &[cm_ref(&owner, true)]),
        );
        c.create(
            "pods",
            NS,
            pod(&format!("pod-{mode}"), &[cm_ref(&owner, true)]),
        );
        let args = ["delete", "configmap", "-n", NS, &format!("owner-{mode}")];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--cascade={mode}"));
        run(args).await;
        assert!(c.get("configmaps", NS, &format!("owner-{mode}")).is_none());
        let dep = format!("dep-{mode}");
        let pod_name = format!("pod-{mode}");
        match mode {
            "orphan" => {
                c.wait_owners("configmaps", NS, &dep, &[]).await;
                c.wait_owners("pods", NS, &pod_name, &[]).await;
            }
            "foreground" => {
                // kubectl waited for the owner, which waited for its blocking dependents.
                assert!(c.get("configmaps", NS, &dep).is_none());
                assert!(c.get("pods", NS, &pod_name).is_none());
            }
            _ => {
                c.wait_gone("configmaps", NS, &dep).await;
                c.wait_gone("pods", NS, &pod_name).await;
            }
        }
    }
    c.assert_kept("configmaps", NS, "dep-orphan").await;
    cp.shutdown().await;
}
