//! The admission chain over a real [`MemoryStore`]: namespace lifecycle, LimitRanger and quota
//! charging as the API layer sees them.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Admission;
use crate::error::Reason;
use crate::registry::{ResourceInfo, find};
use crate::store::{MemoryStore, Storage};

fn info(plural: &str) -> &'static ResourceInfo {
    crate::registry::RESOURCES
        .iter()
        .find(|r| r.plural == plural)
        .expect("served resource")
}

fn setup() -> (Arc<dyn Storage>, Admission) {
    let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
    store
        .create(
            "namespaces",
            "",
            "team",
            json!({"metadata": {"name": "team"}, "status": {"phase": "Active"}}),
        )
        .unwrap();
    let admission = Admission::new(store.clone());
    (store, admission)
}

fn quota(store: &dyn Storage, name: &str, hard: Value, used: Value) {
    let obj = json!({"metadata": {"name": name, "namespace": "team"}, "spec": {"hard": hard},
        "status": {"hard": hard, "used": used}});
    store.create("resourcequotas", "team", name, obj).unwrap();
}

fn used(store: &dyn Storage, name: &str) -> Value {
    store.get("resourcequotas", "team", name).unwrap().value()["status"]["used"].clone()
}

fn pod(name: &str, cpu: Option<&str>) -> Value {
    let resources = cpu.map_or(
        json!({}),
        |c| json!({"requests": {"cpu": c}, "limits": {"cpu": c}}),
    );
    json!({"metadata": {"name": name, "namespace": "team"}, "spec": {"containers": [{"name": "c", "image": "x", "resources": resources}]}})
}

#[test]
fn content_in_a_missing_namespace_is_not_found() {
    let (_, admission) = setup();
    let err = admission
        .admit_create(info("pods"), "ghost", &mut pod("p", None))
        .unwrap_err();
    assert_eq!(err.code, 404);
    assert_eq!(err.message, "namespaces \"ghost\" not found");
    assert_eq!(err.to_json()["details"]["kind"], "namespaces");
}

#[test]
fn a_terminating_namespace_takes_no_new_content_but_allows_updates() {
    let (store, admission) = setup();
    let ns = json!({"metadata": {"name": "team", "deletionTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Terminating"}});
    store
        .update("namespaces", "", "team", ns, &Default::default())
        .unwrap();
    let err = admission
        .admit_create(
            info("configmaps"),
            "team",
            &mut json!({"metadata": {"name": "cm"}}),
        )
        .unwrap_err();
    assert_eq!(err.code, 403);
    assert_eq!(
        err.message,
        "configmaps \"cm\" is forbidden: unable to create new content in namespace team because it is being terminated"
    );
    let status = err.to_json();
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "NamespaceTerminating"
    );
    assert_eq!(
        status["details"]["causes"][0]["field"],
        "metadata.namespace"
    );
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "namespace team is being terminated"
    );
    let old = json!({"metadata": {"name": "cm", "resourceVersion": "5"}, "data": {"a": "1"}});
    assert!(
        admission
            .admit_update(
                info("configmaps"),
                "team",
                &mut json!({"metadata": {"name": "cm"}}),
                &old
            )
            .is_ok()
    );
}

#[test]
fn cluster_scoped_objects_skip_namespace_checks() {
    let (_, admission) = setup();
    assert!(
        admission
            .admit_create(info("nodes"), "", &mut json!({"metadata": {"name": "n"}}))
            .is_ok()
    );
}

#[test]
fn limit_ranges_default_and_reject_pods() {
    let (store, admission) = setup();
    let lr = json!({"metadata": {"name": "limits", "namespace": "team"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "250m"}, "max": {"cpu": "1"}}
    ]}});
    store.create("limitranges", "team", "limits", lr).unwrap();
    let mut p = pod("p", None);
    admission
        .admit_create(info("pods"), "team", &mut p)
        .unwrap();
    assert_eq!(
        p["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m"}, "requests": {"cpu": "250m"}})
    );
    assert_eq!(
        p["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
        "LimitRanger plugin set: cpu request for container c; cpu limit for container c"
    );
    let err = admission
        .admit_create(info("pods"), "team", &mut pod("big", Some("2")))
        .unwrap_err();
    assert_eq!(err.code, 403);
    assert_eq!(
        err.message,
        "pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"
    );
    // Pod updates are not LimitRanger's business (containers are immutable).
    let old = pod("big", Some("2"));
    assert!(
        admission
            .admit_update(info("pods"), "team", &mut pod("big", Some("2")), &old)
            .is_ok()
    );
}

#[test]
fn limit_ranges_hold_claims_on_create_and_resize() {
    let (store, admission) = setup();
    let lr = json!({"metadata": {"name": "storage", "namespace": "team"}, "spec": {"limits": [
        {"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}}
    ]}});
    store.create("limitranges", "team", "storage", lr).unwrap();
    let pvc = |s: &str| json!({"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": s}}}});
    assert!(
        admission
            .admit_create(info("persistentvolumeclaims"), "team", &mut pvc("1Gi"))
            .is_ok()
    );
    let err = admission
        .admit_update(
            info("persistentvolumeclaims"),
            "team",
            &mut pvc("3Gi"),
            &pvc("1Gi"),
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "persistentvolumeclaims \"data\" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 3Gi"
    );
}

#[test]
fn quota_is_charged_then_enforced() {
    let (store, admission) = setup();
    quota(
        &*store,
        "compute",
        json!({"pods": "2", "requests.cpu": "1"}),
        json!({"pods": "0", "requests.cpu": "0"}),
    );
    admission
        .admit_create(info("pods"), "team", &mut pod("a", Some("500m")))
        .unwrap();
    assert_eq!(
        used(&*store, "compute"),
        json!({"pods": "1", "requests.cpu": "500m"})
    );
    let err = admission
        .admit_create(info("pods"), "team", &mut pod("b", Some("600m")))
        .unwrap_err();
    assert_eq!(err.code, 403);
    assert_eq!(err.reason, Reason::Forbidden);
    assert_eq!(
        err.message,
        "pods \"b\" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1"
    );
    admission
        .admit_create(info("pods"), "team", &mut pod("c", Some("500m")))
        .unwrap();
    assert_eq!(
        used(&*store, "compute"),
        json!({"pods": "2", "requests.cpu": "1"})
    );
    let err = admission
        .admit_create(info("pods"), "team", &mut pod("d", Some("0")))
        .unwrap_err();
    assert_eq!(
        err.message,
        "pods \"d\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2"
    );
}

#[test]
fn dry_run_checks_quota_without_charging() {
    let (store, admission) = setup();
    quota(
        &*store,
        "objects",
        json!({"configmaps": "1"}),
        json!({"configmaps": "0"}),
    );
    let mut cm = json!({"metadata": {"generateName": "cfg-"}});
    admission
        .admit_create_opts(info("configmaps"), "team", &mut cm, true)
        .unwrap();
    assert_eq!(used(&*store, "objects"), json!({"configmaps": "0"}));
    admission
        .admit_create(info("configmaps"), "team", &mut cm)
        .unwrap();
    let err = admission
        .admit_create_opts(info("configmaps"), "team", &mut cm, true)
        .unwrap_err();
    // Before a name is generated, errors name the prefix, as upstream's admission does.
    assert_eq!(
        err.message,
        "configmaps \"cfg-\" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1"
    );
}

#[test]
fn a_compute_quota_rejects_pods_without_requests() {
    let (store, admission) = setup();
    quota(
        &*store,
        "compute",
        json!({"requests.memory": "1Gi"}),
        json!({"requests.memory": "0"}),
    );
    let err = admission
        .admit_create(info("pods"), "team", &mut pod("p", None))
        .unwrap_err();
    assert_eq!(
        err.message,
        "pods \"p\" is forbidden: failed quota: compute: must specify requests.memory for: c"
    );
}

#[test]
fn concurrent_creates_never_overrun_a_quota() {
    let (store, admission) = setup();
    quota(
        &*store,
        "objects",
        json!({"count/configmaps": "5"}),
        json!({"count/configmaps": "0"}),
    );
    let admission = Arc::new(admission);
    let admitted: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let admission = admission.clone();
                s.spawn(move || {
                    let mut cm = json!({"metadata": {"name": format!("cm-{i}")}});
                    admission
                        .admit_create(info("configmaps"), "team", &mut cm)
                        .is_ok()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum()
    });
    assert_eq!(admitted, 5);
    assert_eq!(used(&*store, "objects"), json!({"count/configmaps": "5"}));
}

#[test]
fn immortal_namespaces_cannot_be_deleted() {
    let (_, admission) = setup();
    let ns = find("", "v1", "namespaces").unwrap();
    let err = admission.admit_delete(ns, "", "default").unwrap_err();
    assert_eq!(
        err.message,
        "namespaces \"default\" is forbidden: this namespace may not be deleted"
    );
    assert!(admission.admit_delete(ns, "", "team").is_ok());
}
