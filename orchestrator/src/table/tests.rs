//! The `Table` object as kubectl receives it, and the cells of the non-pod printers.

use jiff::Timestamp;
use rstest::rstest;
use serde_json::{Value, json};

use super::{IncludeObject, build, printer_for};
use crate::registry;

fn now() -> Timestamp {
    "2026-01-01T12:00:00Z".parse().expect("valid time")
}

fn info(group: &str, plural: &str) -> &'static registry::ResourceInfo {
    registry::find(group, "v1", plural).expect("served resource")
}

/// The cells of `obj` under the printer of `group`/`plural`.
fn cells(group: &str, plural: &str, obj: &Value) -> Vec<Value> {
    let printer = printer_for(group, plural).expect("printer");
    let row = (printer.row)(obj, now());
    assert_eq!(
        row.cells.len(),
        printer.columns.len(),
        "one cell per column"
    );
    row.cells
}

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default", "uid": "u-1", "resourceVersion": "9",
        "creationTimestamp": "2026-01-01T11:59:55Z", "labels": {"app": "web"}})
}

#[test]
fn pod_table_has_upstream_shape_and_partial_metadata_objects() {
    let pod = json!({"kind": "Pod", "apiVersion": "v1", "metadata": meta("p"),
        "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending"}});
    let table = build(
        info("", "pods"),
        &[pod],
        IncludeObject::Metadata,
        42,
        Some("next"),
        now(),
    );
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(
        table["metadata"],
        json!({"resourceVersion": "42", "continue": "next"})
    );
    let cols = table["columnDefinitions"].as_array().expect("columns");
    let names: Vec<&str> = cols.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    assert_eq!(cols[0]["format"], "name");
    assert_eq!(cols[4]["priority"], 0);
    assert_eq!(cols[5]["priority"], 1);
    assert!(
        cols[0]["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Name must be unique"))
    );
    let row = &table["rows"][0];
    assert_eq!(
        row["cells"],
        json!([
            "p", "0/1", "Pending", "0", "5s", "<none>", "<none>", "<none>", "<none>"
        ])
    );
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(row["object"]["metadata"]["uid"], "u-1");
    assert!(row["object"].get("spec").is_none());
}

#[rstest]
#[case::none(IncludeObject::None, None)]
#[case::object(IncludeObject::Object, Some("Namespace"))]
fn include_object_controls_the_row_object(
    #[case] include: IncludeObject,
    #[case] kind: Option<&str>,
) {
    let ns = json!({"kind": "Namespace", "apiVersion": "v1", "metadata": meta("ns"), "status": {"phase": "Active"}});
    let table = build(info("", "namespaces"), &[ns], include, 1, None, now());
    assert_eq!(table["metadata"], json!({"resourceVersion": "1"}));
    assert_eq!(table["rows"][0]["cells"], json!(["ns", "Active", "5s"]));
    // Upstream always sends `object`: null for None.
    let object = table["rows"][0].get("object").expect("object is present");
    assert_eq!(object.get("kind").cloned(), kind.map(Value::from));
}

#[test]
fn resources_without_a_printer_get_the_default_table() {
    let lr = json!({"metadata": meta("limits"), "spec": {"limits": []}});
    let table = build(
        info("", "limitranges"),
        &[lr],
        IncludeObject::Metadata,
        3,
        None,
        now(),
    );
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Name", "Created At"]);
    assert_eq!(table["columnDefinitions"][1]["type"], "date");
    assert_eq!(
        table["rows"][0]["cells"],
        json!(["limits", "2026-01-01T11:59:55Z"])
    );
}

#[test]
fn empty_lists_have_columns_and_no_rows() {
    let table = build(
        info("apps", "deployments"),
        &[],
        IncludeObject::Metadata,
        5,
        None,
        now(),
    );
    assert_eq!(table["rows"], json!([]));
    assert_eq!(table["columnDefinitions"].as_array().map(Vec::len), Some(8));
}

fn node(labels: Value, ready: &str, unschedulable: bool) -> Value {
    json!({
        "metadata": {"name": "n1", "creationTimestamp": "2025-12-30T07:00:00Z", "labels": labels},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n1"}],
            "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Hollow", "kernelVersion": "", "containerRuntimeVersion": "hollow://1"},
        },
    })
}

#[rstest]
#[case::ready_worker(json!({}), "True", false, "Ready", "<none>")]
#[case::cordoned(json!({"node-role.kubernetes.io/worker": ""}), "True", true, "Ready,SchedulingDisabled", "worker")]
#[case::not_ready_control_plane(json!({"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "",
    "kubernetes.io/role": "infra"}), "False", false, "NotReady", "control-plane,infra,master")]
#[case::unknown_ready(json!({}), "Unknown", false, "NotReady", "<none>")]
fn node_status_and_roles(
    #[case] labels: Value,
    #[case] ready: &str,
    #[case] unschedulable: bool,
    #[case] status: &str,
    #[case] roles: &str,
) {
    let c = cells("", "nodes", &node(labels, ready, unschedulable));
    assert_eq!(
        c[..5],
        [
            json!("n1"),
            json!(status),
            json!(roles),
            json!("2d5h"),
            json!("v1.33.0")
        ]
    );
    assert_eq!(
        c[5..],
        [
            json!("10.0.0.1"),
            json!("<none>"),
            json!("Hollow"),
            json!("<unknown>"),
            json!("hollow://1")
        ]
    );
}

#[test]
fn node_without_ready_condition_is_unknown() {
    let mut n = node(json!({}), "True", false);
    n["status"]["conditions"] = json!([]);
    assert_eq!(cells("", "nodes", &n)[1], "Unknown");
}

#[rstest]
#[case::cluster_ip(json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
    "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}], "selector": {"b": "2", "a": "1"}}),
    json!({}), ["ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP"], "a=1,b=2")]
#[case::node_port(json!({"type": "NodePort", "clusterIPs": ["10.96.0.11"], "externalIPs": ["1.2.3.4"],
    "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30443, "protocol": "TCP"}]}),
    json!({}), ["NodePort", "10.96.0.11", "1.2.3.4", "80/TCP,443:30443/TCP"], "<none>")]
#[case::pending_load_balancer(json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.12"],
    "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]}),
    json!({}), ["LoadBalancer", "10.96.0.12", "<pending>", "80:31000/TCP"], "<none>")]
#[case::load_balancer_with_ingress(json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.13"], "ports": []}),
    json!({"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"}]}}),
    ["LoadBalancer", "10.96.0.13", "5.6.7.8,lb.example.com", "<none>"], "<none>")]
#[case::headless_external_name(json!({"type": "ExternalName", "externalName": "db.example.com", "clusterIPs": []}),
    json!({}), ["ExternalName", "<none>", "db.example.com", "<none>"], "<none>")]
fn service_cells(
    #[case] spec: Value,
    #[case] status: Value,
    #[case] want: [&str; 4],
    #[case] selector: &str,
) {
    let svc = json!({"metadata": meta("svc"), "spec": spec, "status": status});
    let c = cells("", "services", &svc);
    assert_eq!(c[1..5], want.map(Value::from));
    assert_eq!(c[6], selector);
}

#[test]
fn endpoints_list_three_then_count_the_rest() {
    let ep = json!({"metadata": meta("svc"), "subsets": [{
        "addresses": [{"ip": "10.1.0.1"}, {"ip": "10.1.0.2"}],
        "ports": [{"port": 80}, {"port": 8080}],
    }]});
    assert_eq!(
        cells("", "endpoints", &ep)[1],
        "10.1.0.1:80,10.1.0.2:80,10.1.0.1:8080 + 1 more..."
    );
    let empty = json!({"metadata": meta("svc")});
    assert_eq!(cells("", "endpoints", &empty)[1], "<none>");
}

#[test]
fn endpoint_slice_cells() {
    let es = json!({"metadata": meta("svc-abc"), "addressType": "IPv4",
        "ports": [{"port": 80, "name": "http"}, {"name": "grpc"}],
        "endpoints": [{"addresses": ["10.1.0.1"]}, {"addresses": ["10.1.0.2"]}]});
    assert_eq!(
        cells("discovery.k8s.io", "endpointslices", &es)[1..4],
        [json!("IPv4"), json!("80,grpc"), json!("10.1.0.1,10.1.0.2")]
    );
}

#[test]
fn core_event_cells_follow_upstream_columns() {
    let ev = json!({
        "metadata": meta("web-1.17a"), "type": "Warning", "reason": "BackOff",
        "message": "Back-off restarting failed container\n",
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2026-01-01T11:00:00Z", "lastTimestamp": "2026-01-01T11:58:00Z", "count": 12,
    });
    assert_eq!(
        cells("", "events", &ev),
        [
            json!("2m"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web-1"),
            json!("spec.containers{app}"),
            json!("kubelet, node-1"),
            json!("Back-off restarting failed container"),
            json!("60m"),
            json!(12),
            json!("web-1.17a")
        ]
    );
}

#[test]
fn new_api_event_uses_event_time_series_and_reporting_controller() {
    let ev = json!({
        "metadata": meta("e"), "type": "Normal", "reason": "Scheduled", "note": "Successfully assigned",
        "regarding": {"kind": "Pod", "name": "web-1"}, "eventTime": "2026-01-01T11:59:00.000000Z",
        "reportingController": "default-scheduler", "reportingInstance": "",
    });
    let c = cells("events.k8s.io", "events", &ev);
    assert_eq!(
        c[..4],
        [
            json!("60s"),
            json!("Normal"),
            json!("Scheduled"),
            json!("pod/web-1")
        ]
    );
    assert_eq!(
        c[5..9],
        [
            json!("default-scheduler"),
            json!("Successfully assigned"),
            json!("60s"),
            json!(1)
        ]
    );
}

fn deployment(ready: i64, replicas: i64) -> Value {
    json!({
        "metadata": meta("web"),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:1"}]}}},
        "status": {"readyReplicas": ready, "updatedReplicas": 3, "availableReplicas": 2},
    })
}

#[test]
fn deployment_cells() {
    assert_eq!(
        cells("apps", "deployments", &deployment(2, 3)),
        [
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("5s"),
            json!("app,side"),
            json!("app:1,side:1"),
            json!("app=web")
        ]
    );
}

#[test]
fn controller_revision_cells_name_the_controller_with_its_group() {
    let mut cr = json!({"metadata": meta("agent-5d4f"), "revision": 3, "data": {}});
    cr["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "DaemonSet",
        "name": "agent", "uid": "u", "controller": true}]);
    assert_eq!(
        cells("apps", "controllerrevisions", &cr),
        [
            json!("agent-5d4f"),
            json!("daemonset.apps/agent"),
            json!(3),
            json!("5s")
        ]
    );
    cr["metadata"]["ownerReferences"] = json!([]);
    assert_eq!(
        cells("apps", "controllerrevisions", &cr)[1],
        json!("<none>")
    );
}

#[test]
fn replica_set_and_daemon_set_cells() {
    let rs = deployment(2, 3);
    assert_eq!(
        cells("apps", "replicasets", &rs)[..4],
        [json!("web"), json!(3), json!(0), json!(2)]
    );
    let ds = json!({"metadata": meta("agent"),
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
            "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "a", "image": "a:1"}]}}},
        "status": {"desiredNumberScheduled": 4, "currentNumberScheduled": 4, "numberReady": 3, "updatedNumberScheduled": 4, "numberAvailable": 3}});
    assert_eq!(
        cells("apps", "daemonsets", &ds),
        [
            json!("agent"),
            json!(4),
            json!(4),
            json!(3),
            json!(4),
            json!(3),
            json!("kubernetes.io/os=linux"),
            json!("5s"),
            json!("a"),
            json!("a:1"),
            json!("app=agent")
        ]
    );
}

#[test]
fn replication_controller_selector_is_a_label_map() {
    let rc = json!({"metadata": meta("rc"), "spec": {"replicas": 2, "selector": {"app": "web"},
        "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}, "status": {"replicas": 2, "readyReplicas": 1}});
    assert_eq!(
        cells("", "replicationcontrollers", &rc),
        [
            json!("rc"),
            json!(2),
            json!(2),
            json!(1),
            json!("5s"),
            json!("c"),
            json!("i"),
            json!("app=web")
        ]
    );
}

#[rstest]
#[case::running(json!({"startTime": "2026-01-01T11:58:00Z", "active": 1}), json!({"completions": 3}), "Running", "0/3", "2m")]
#[case::complete(json!({"startTime": "2026-01-01T11:00:00Z", "completionTime": "2026-01-01T11:00:42Z", "succeeded": 1,
    "conditions": [{"type": "Complete", "status": "True"}]}), json!({"completions": 1}), "Complete", "1/1", "42s")]
#[case::failed(json!({"conditions": [{"type": "Failed", "status": "True"}]}), json!({"parallelism": 2}), "Failed", "0/1 of 2", "")]
#[case::suspended(json!({"conditions": [{"type": "Suspended", "status": "True"}]}), json!({}), "Suspended", "0/1", "")]
fn job_cells(
    #[case] status: Value,
    #[case] spec: Value,
    #[case] state: &str,
    #[case] completions: &str,
    #[case] duration: &str,
) {
    let job = json!({"metadata": meta("j"), "spec": spec, "status": status});
    let c = cells("batch", "jobs", &job);
    assert_eq!(c[1..4], [json!(state), json!(completions), json!(duration)]);
    assert_eq!(c[7], "<none>");
}

#[test]
fn config_cells_count_data_keys() {
    let cm =
        json!({"metadata": meta("cm"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(
        cells("", "configmaps", &cm),
        [json!("cm"), json!(3), json!("5s")]
    );
    let secret = json!({"metadata": meta("s"), "type": "Opaque", "data": {"k": "dg=="}});
    assert_eq!(
        cells("", "secrets", &secret),
        [json!("s"), json!("Opaque"), json!(1), json!("5s")]
    );
    let sa = json!({"metadata": meta("default")});
    assert_eq!(
        cells("", "serviceaccounts", &sa),
        [json!("default"), json!(0), json!("5s")]
    );
}

#[test]
fn resource_quota_splits_requests_and_limits() {
    let rq = json!({"metadata": meta("q"), "status": {
        "hard": {"pods": "10", "requests.cpu": "2", "limits.memory": "2Gi"},
        "used": {"pods": "3", "requests.cpu": "500m"}}});
    assert_eq!(
        cells("", "resourcequotas", &rq),
        [
            json!("q"),
            json!("pods: 3/10, requests.cpu: 500m/2"),
            json!("limits.memory: 0/2Gi"),
            json!("5s")
        ]
    );
}

#[test]
fn lease_priority_class_and_storage_class_cells() {
    let lease = json!({"metadata": meta("n1"), "spec": {"holderIdentity": "n1"}});
    assert_eq!(
        cells("coordination.k8s.io", "leases", &lease),
        [json!("n1"), json!("n1"), json!("5s")]
    );
    let pc = json!({"metadata": meta("high"), "value": 1000, "globalDefault": false, "preemptionPolicy": "PreemptLowerPriority"});
    assert_eq!(
        cells("scheduling.k8s.io", "priorityclasses", &pc),
        [
            json!("high"),
            json!(1000),
            json!(false),
            json!("5s"),
            json!("PreemptLowerPriority")
        ]
    );
    let mut sc = json!({"metadata": meta("standard"), "provisioner": "kubeproof.io/hollow"});
    sc["metadata"]["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
    assert_eq!(
        cells("storage.k8s.io", "storageclasses", &sc),
        [
            json!("standard (default)"),
            json!("kubeproof.io/hollow"),
            json!("Delete"),
            json!("Immediate"),
            json!(false),
            json!("5s")
        ]
    );
}

#[test]
fn volume_and_claim_cells() {
    let pv = json!({"metadata": meta("pv1"), "spec": {"capacity": {"storage": "10Gi"},
        "accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "persistentVolumeReclaimPolicy": "Retain",
        "claimRef": {"namespace": "default", "name": "data"}, "storageClassName": "standard", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound"}});
    assert_eq!(
        cells("", "persistentvolumes", &pv),
        [
            json!("pv1"),
            json!("10Gi"),
            json!("RWO,ROX"),
            json!("Retain"),
            json!("Bound"),
            json!("default/data"),
            json!("standard"),
            json!("<unset>"),
            json!(""),
            json!("5s"),
            json!("Filesystem")
        ]
    );
    let pending = json!({"metadata": meta("data"), "spec": {"storageClassName": "standard",
        "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}});
    assert_eq!(
        cells("", "persistentvolumeclaims", &pending),
        [
            json!("data"),
            json!("Pending"),
            json!(""),
            json!(""),
            json!(""),
            json!("standard"),
            json!("<unset>"),
            json!("5s"),
            json!("<unset>")
        ]
    );
}
