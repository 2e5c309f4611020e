//! The simulator against a real embedded control plane, through the harness's embedded target:
//! nodes register with their leases, pods bound to them run and are deleted through the node,
//! and fault control reaches the API. (The suites test the behaviours in depth; these check the
//! wiring of target, simulator and driver.)

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use harness::{Target, TargetOptions};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use simulator::NodeControl;

const WAIT: Duration = Duration::from_secs(20);

async fn target(nodes: usize) -> Target {
    Target::start(&TargetOptions {
        nodes: Some(nodes),
        seed: 7,
        ..TargetOptions::default()
    })
    .await
    .expect("the embedded target boots")
}

/// The events about `object` once one with `reason` has arrived, observed through a watch.
async fn events_until(events: &Api<Event>, object: &str, reason: &str) -> Vec<Event> {
    let config = watcher::Config::default().fields(&format!("involvedObject.name={object}"));
    let mut stream = watcher(events.clone(), config).applied_objects().boxed();
    let mut seen: Vec<Event> = Vec::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        let done = event.reason.as_deref() == Some(reason);
        seen.retain(|e| e.metadata.name != event.metadata.name);
        seen.push(event);
        if done {
            return seen;
        }
    }
    seen
}

fn ready(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_register_ready_and_keep_renewing_their_leases() {
    let target = target(3).await;
    let client = target.env().client.clone();
    let nodes = Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await
        .unwrap();
    let names: Vec<_> = nodes
        .items
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    assert_eq!(names, ["hollow-node-0", "hollow-node-1", "hollow-node-2"]);
    for node in &nodes.items {
        assert_eq!(
            ready(node).as_deref(),
            Some("True"),
            "{:?}",
            node.metadata.name
        );
    }
    let zones: Vec<_> = nodes
        .items
        .iter()
        .map(|n| n.metadata.labels.as_ref().unwrap()["topology.kubernetes.io/zone"].clone())
        .collect();
    assert_eq!(zones, ["region-1-a", "region-1-b", "region-1-c"]);

    // The lease's renewTime moves: watch it change twice (1 s renewals at the embedded clock).
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let first = leases.get("hollow-node-0").await.unwrap();
    let holder = first.spec.as_ref().and_then(|s| s.holder_identity.clone());
    assert_eq!(holder.as_deref(), Some("hollow-node-0"));
    let owner = &first.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Node", "hollow-node-0")
    );
    let params = WatchParams::default().fields("metadata.name=hollow-node-0");
    let rv = first.metadata.resource_version.clone().unwrap();
    let stream = leases.watch(&params, &rv).await.unwrap();
    let renewals = tokio::time::timeout(
        WAIT,
        stream
            .try_filter(|e| std::future::ready(matches!(e, WatchEvent::Modified(_))))
            .take(2)
            .try_collect::<Vec<_>>(),
    )
    .await
    .expect("two renewals within the wait")
    .unwrap();
    let times: Vec<_> = renewals
        .iter()
        .map(|e| match e {
            WatchEvent::Modified(l) => l.spec.as_ref().unwrap().renew_time.clone().unwrap().0,
            _ => unreachable!(),
        })
        .collect();
    assert!(times[1] > times[0], "renewTime did not advance: {times:?}");
    assert!(target.simulator().unwrap().stats().heartbeats.renewals >= 2);

    // The kubelet's registration events, about the node, in `default`.
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let items = tokio::time::timeout(WAIT, events_until(&events, "hollow-node-2", "NodeReady"))
        .await
        .expect("the node's events are written");
    let reasons: Vec<String> = items.iter().filter_map(|e| e.reason.clone()).collect();
    assert!(reasons.contains(&"Starting".to_owned()), "{reasons:?}");
    let ready = items
        .iter()
        .find(|e| e.reason.as_deref() == Some("NodeReady"))
        .unwrap();
    assert_eq!(
        ready.message.as_deref(),
        Some("Node hollow-node-2 status is now: NodeReady")
    );
    let source = ready.source.as_ref().unwrap();
    assert_eq!(source.component.as_deref(), Some("kubelet"));
    assert_eq!(source.host.as_deref(), Some("hollow-node-2"));
    assert_eq!(ready.involved_object.kind.as_deref(), Some("Node"));
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_bound_to_a_hollow_node_runs_with_an_ip_and_is_deleted_through_the_node() {
    let target = target(2).await;
    let client = target.env().client.clone();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"nodeName": "hollow-node-1", "containers": [{"name": "web", "image": "nginx"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let running = tokio::time::timeout(
        WAIT,
        await_condition(pods.clone(), "web", conditions::is_pod_running()),
    )
    .await
    .expect("Running within the wait")
    .unwrap()
    .unwrap();
    let status = running.status.unwrap();
    assert_eq!(status.host_ip.as_deref(), Some("172.16.0.2"));
    let ip = status.pod_ip.unwrap();
    assert!(
        ip.starts_with("10.64.1."),
        "pod IP {ip} is not in hollow-node-1's 10.64.1.0/24"
    );

    // A graceful delete leaves the pod terminating until its node confirms with a zero-grace
    // delete; then it is gone.
    pods.delete("web", &DeleteParams::default()).await.unwrap();
    let uid = running.metadata.uid.unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(pods.clone(), "web", conditions::is_deleted(&uid)),
    )
    .await
    .expect("deleted within the wait")
    .unwrap();
    assert!(target.simulator().unwrap().stats().deletions >= 1);
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_control_adds_flips_and_deletes_nodes_through_the_api() {
    let target = target(1).await;
    let client = target.env().client.clone();
    let control = target
        .env()
        .nodes
        .clone()
        .expect("the embedded target has node control");
    let added = control.add_nodes("extra", 2, None).await.unwrap();
    assert_eq!(added, ["extra-0", "extra-1"]);
    let nodes: Api<Node> = Api::all(client.clone());
    assert!(nodes.get_opt("extra-1").await.unwrap().is_some());
    assert_eq!(
        control.node_names(),
        ["extra-0", "extra-1", "hollow-node-0"]
    );

    control.set_condition("extra-0", "Ready", false).unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(nodes.clone(), "extra-0", |n: Option<&Node>| {
            n.and_then(ready).as_deref() == Some("False")
        }),
    )
    .await
    .expect("NotReady within the wait")
    .unwrap();

    control.delete_node("extra-1").await.unwrap();
    assert!(nodes.get_opt("extra-1").await.unwrap().is_none());
    assert_eq!(control.node_names(), ["extra-0", "hollow-node-0"]);
    assert_eq!(
        control.stop_heartbeats("extra-1").unwrap_err(),
        simulator::FaultError::NoSuchNode("extra-1".into())
    );
    let err = control
        .set_condition("extra-0", "Hungry", true)
        .unwrap_err();
    assert!(err.to_string().contains("unknown node condition"), "{err}");
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_node_holds_pod_updates_until_it_heals() {
    let target = target(1).await;
    let client = target.env().client.clone();
    let control = target.env().nodes.clone().unwrap();
    control.partition("hollow-node-0", true).unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "held"},
        "spec": {"nodeName": "hollow-node-0", "containers": [{"name": "c", "image": "nginx"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    // While partitioned, no status is written, but events still are: once the kubelet's first
    // event about the pod is in, the driver has run it, and the API must still show no status.
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    tokio::time::timeout(WAIT, events_until(&events, "held", "Pulling"))
        .await
        .expect("the driver runs the pod");
    let seen = pods.get("held").await.unwrap();
    let phase = seen.status.and_then(|s| s.phase);
    assert_eq!(
        phase.as_deref(),
        Some("Pending"),
        "a partitioned node wrote a status"
    );
    control.partition("hollow-node-0", false).unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(pods, "held", conditions::is_pod_running()),
    )
    .await
    .expect("Running once the partition heals")
    .unwrap();
    target.shutdown().await;
}

fn has_taint(node: &Node, key: &str, effect: &str) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == key && t.effect == effect))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_heartbeats_make_the_node_unreachable_until_they_resume() {
    let target = target(2).await;
    let client = target.env().client.clone();
    let control = target.env().nodes.clone().unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    control.stop_heartbeats("hollow-node-1").unwrap();
    let unknown = tokio::time::timeout(
        WAIT,
        await_condition(nodes.clone(), "hollow-node-1", |n: Option<&Node>| {
            n.is_some_and(|n| {
                ready(n).as_deref() == Some("Unknown")
                    && has_taint(n, "node.kubernetes.io/unreachable", "NoExecute")
            })
        }),
    )
    .await
    .expect("Unknown and tainted within the embedded grace period")
    .unwrap()
    .unwrap();
    assert!(has_taint(
        &unknown,
        "node.kubernetes.io/unreachable",
        "NoSchedule"
    ));
    // The other node keeps its heartbeats and stays Ready.
    let other = nodes.get("hollow-node-0").await.unwrap();
    assert_eq!(ready(&other).as_deref(), Some("True"));

    control.resume_heartbeats("hollow-node-1").unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(nodes.clone(), "hollow-node-1", |n: Option<&Node>| {
            n.is_some_and(|n| {
                ready(n).as_deref() == Some("True")
                    && !has_taint(n, "node.kubernetes.io/unreachable", "NoExecute")
            })
        }),
    )
    .await
    .expect("Ready and untainted once heartbeats resume")
    .unwrap();
    target.shutdown().await;
}

/// Hollow nodes attached to a cluster that already runs kubeproof's (another `kubeproof` run,
/// or `cluster up`) take a prefix of their own: same names would renew each other's leases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_attached_beside_another_simulators_take_names_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let cluster = Target::start(&TargetOptions {
        nodes: Some(2),
        seed: 7,
        kubeconfig_out: Some(kubeconfig.clone()),
        ..TargetOptions::default()
    })
    .await
    .expect("the embedded target boots");
    let attached = Target::start(&TargetOptions {
        kind: harness::TargetKind::Kubeconfig,
        kubeconfig: Some(kubeconfig),
        nodes: Some(2),
        seed: 7,
        ..TargetOptions::default()
    })
    .await
    .expect("hollow nodes attach to the running cluster");
    let mut names = attached.simulator().unwrap().node_names();
    names.sort();
    assert_eq!(names, ["hollow-node-b-0", "hollow-node-b-1"]);
    let mut all: Vec<String> = Api::<Node>::all(cluster.env().client.clone())
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    all.sort();
    assert_eq!(
        all,
        [
            "hollow-node-0",
            "hollow-node-1",
            "hollow-node-b-0",
            "hollow-node-b-1"
        ]
    );
    attached.shutdown().await;
    cluster.shutdown().await;
}
