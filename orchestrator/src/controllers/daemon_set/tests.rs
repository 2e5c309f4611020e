//! The DaemonSet controller in a running control plane, with the scripted kubelet binding and
//! running its pods.

use serde_json::{Value, json};

use crate::controllers::test_cluster::{Fate, TestCluster, set_status};

fn daemon_set(spec: Value) -> Value {
    let mut s = json!({
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}},
                     "spec": {"containers": [{"name": "c", "image": "agent:1"}]}},
    });
    for (k, v) in spec.as_object().unwrap() {
        s[k] = v.clone();
    }
    json!({"metadata": {"name": "agent"}, "spec": s})
}

fn live(pods: &[Value]) -> Vec<&Value> {
    pods.iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect()
}

fn nodes_of(pods: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = live(pods)
        .iter()
        .filter_map(|p| super::target_node(p))
        .collect();
    n.sort();
    n
}

fn status(c: &TestCluster) -> Value {
    c.get("daemonsets", "team", "agent").unwrap()["status"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pod_runs_on_each_eligible_node() {
    let c = TestCluster::start();
    c.node("ssd-1", json!({"disk": "ssd"}), json!([]));
    c.node(
        "ssd-tainted",
        json!({"disk": "ssd"}),
        json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
    );
    c.node(
        "ssd-cordoned",
        json!({"disk": "ssd"}),
        json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
    );
    c.node("hdd-1", json!({"disk": "hdd"}), json!([]));
    c.start_kubelet("none", |_| Fate::Run);
    c.create("daemonsets", "team", daemon_set(json!({"template": {
        "metadata": {"labels": {"app": "agent"}},
        "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "agent:1"}]}}})));
    c.wait_until("a ready pod on each eligible node", |c| {
        let s = status(c);
        s["numberReady"] == 2 && s["numberAvailable"] == 2 && s["observedGeneration"] == 1
    })
    .await;
    let pods = c.pods();
    assert_eq!(nodes_of(&pods), ["ssd-1", "ssd-cordoned"]);
    let s = status(&c);
    assert_eq!(
        (
            s["desiredNumberScheduled"].clone(),
            s["currentNumberScheduled"].clone(),
            s["updatedNumberScheduled"].clone(),
            s["numberMisscheduled"].clone(),
            s["numberUnavailable"].clone()
        ),
        (json!(2), json!(2), json!(2), json!(0), json!(0))
    );
    let pod = &pods[0];
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
    assert_eq!(pod["metadata"]["labels"]["pod-template-generation"], "1");
    let hash = pod["metadata"]["labels"]["controller-revision-hash"]
        .as_str()
        .unwrap();
    let tolerations = pod["spec"]["tolerations"].as_array().unwrap();
    assert!(
        tolerations
            .iter()
            .any(|t| t["key"] == "node.kubernetes.io/unschedulable")
    );
    assert!(
        tolerations
            .iter()
            .all(|t| t["key"] != "node.kubernetes.io/network-unavailable")
    );
    let revisions = c.list("controllerrevisions", "team");
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0]["metadata"]["name"], format!("agent-{hash}"));
    assert_eq!(revisions[0]["revision"], 1);
    assert_eq!(
        revisions[0]["data"]["spec"]["template"]["$patch"],
        "replace"
    );
    c.wait_until("two SuccessfulCreate events", |c| {
        c.events("SuccessfulCreate").len() == 2
    })
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_follow_nodes_coming_going_and_relabelled() {
    let c = TestCluster::start();
    c.node("n1", json!({"role": "edge"}), json!([]));
    c.start_kubelet("none", |_| Fate::Run);
    c.create("daemonsets", "team", daemon_set(json!({"template": {
        "metadata": {"labels": {"app": "agent"}},
        "spec": {"nodeSelector": {"role": "edge"}, "containers": [{"name": "c", "image": "agent:1"}]}}})));
    c.wait_until("a pod on n1", |c| nodes_of(&c.pods()) == ["n1"])
        .await;
    c.node("n2", json!({"role": "edge"}), json!([]));
    c.wait_until("a pod on the new node", |c| {
        nodes_of(&c.pods()) == ["n1", "n2"]
    })
    .await;
    c.patch(
        "nodes",
        "",
        "n1",
        json!({"metadata": {"labels": {"role": "core"}}}),
    );
    c.wait_until("the pod leaves the relabelled node", |c| {
        nodes_of(&c.pods()) == ["n2"]
    })
    .await;
    c.patch(
        "nodes",
        "",
        "n2",
        json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": "NoExecute"}]}}),
    );
    c.wait_until("the pod leaves the NoExecute-tainted node", |c| {
        nodes_of(&c.pods()).is_empty()
    })
    .await;
    c.wait_until("status counts no desired node", |c| {
        let s = status(c);
        s["desiredNumberScheduled"] == 0 && s["currentNumberScheduled"] == 0
    })
    .await;
    c.wait_until("a SuccessfulDelete event", |c| {
        !c.events("SuccessfulDelete").is_empty()
    })
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_daemon_pod_is_replaced() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("none", |_| Fate::Run);
    c.create("daemonsets", "team", daemon_set(json!({})));
    c.wait_until("a running pod", |c| status(c)["numberReady"] == 1)
        .await;
    let first = c.pods()[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    set_status(&c.objects, "team", &first, "Failed", false, Some(1));
    c.wait_until("a replacement pod", |c| {
        let pods = c.pods();
        pods.len() == 1
            && pods[0]["metadata"]["name"] != first.as_str()
            && pods[0]["status"]["phase"] == "Running"
    })
    .await;
    c.wait_until("a FailedDaemonPod event", |c| {
        !c.events("FailedDaemonPod").is_empty()
    })
    .await;
    let events = c.events("FailedDaemonPod");
    assert_eq!(events[0]["type"], "Warning");
    assert_eq!(
        events[0]["message"],
        format!("Found failed daemon pod team/{first} on node n1, will try to kill it")
    );
    c.stop().await;
}

fn image(c: &TestCluster, image: &str) {
    c.patch(
        "daemonsets",
        "team",
        "agent",
        json!({"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": image}]}}}}),
    );
}

fn images(pods: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = live(pods)
        .iter()
        .map(|p| {
            p["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_replaces_every_pod_and_a_rollback_reuses_the_old_revision() {
    let c = TestCluster::start();
    for n in ["n1", "n2", "n3"] {
        c.node(n, json!({}), json!([]));
    }
    c.start_kubelet("none", |_| Fate::Run);
    c.create("daemonsets", "team", daemon_set(json!({})));
    c.wait_until("three ready pods", |c| status(c)["numberAvailable"] == 3)
        .await;
    image(&c, "agent:2");
    c.wait_until("every pod updated and available", |c| {
        let s = status(c);
        s["updatedNumberScheduled"] == 3
            && s["numberAvailable"] == 3
            && s["observedGeneration"] == 2
            && images(&c.pods()) == ["agent:2"; 3]
    })
    .await;
    let revisions = c.list("controllerrevisions", "team");
    assert_eq!(revisions.len(), 2);
    // what `kubectl rollout undo` does: apply revision 1's data as a strategic merge patch
    let first = revisions.iter().find(|r| r["revision"] == 1).unwrap();
    c.patch("daemonsets", "team", "agent", first["data"].clone());
    c.wait_until("the old template rolled back out", |c| {
        status(c)["updatedNumberScheduled"] == 3 && images(&c.pods()) == ["agent:1"; 3]
    })
    .await;
    let revisions = c.list("controllerrevisions", "team");
    assert_eq!(revisions.len(), 2, "the old revision is reused, not copied");
    let renumbered = revisions
        .iter()
        .find(|r| r["metadata"]["name"] == first["metadata"]["name"])
        .unwrap();
    assert_eq!(renumbered["revision"], 3);
    let ds = c.get("daemonsets", "team", "agent").unwrap();
    assert_eq!(
        ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"],
        "3"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn surge_starts_the_new_pod_before_the_old_one_goes() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("none", |p| {
        // the new revision's pods stay unready, so the old pod must stay
        if p["spec"]["containers"][0]["image"] == "agent:2" {
            Fate::Pending
        } else {
            Fate::Run
        }
    });
    c.create(
        "daemonsets",
        "team",
        daemon_set(json!({"updateStrategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}})),
    );
    c.wait_until("a ready pod", |c| status(c)["numberAvailable"] == 1)
        .await;
    image(&c, "agent:2");
    c.wait_until("old and new side by side", |c| {
        images(&c.pods()) == ["agent:1", "agent:2"]
    })
    .await;
    let new = live(&c.pods())
        .into_iter()
        .find(|p| p["spec"]["containers"][0]["image"] == "agent:2")
        .unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    // Not `numberAvailable`: a node counts by its oldest pod, and two pods made in the same
    // second tie on creationTimestamp and go by name, as upstream's `storeDaemonSetStatus`.
    assert!(
        live(&c.pods())
            .iter()
            .any(|p| p["spec"]["containers"][0]["image"] == "agent:1"),
        "the old pod still serves"
    );
    set_status(&c.objects, "team", &new, "Running", true, None);
    c.wait_until("the old pod retired", |c| images(&c.pods()) == ["agent:2"])
        .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_delete_replaces_pods_only_when_they_are_deleted() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.node("n2", json!({}), json!([]));
    c.start_kubelet("none", |_| Fate::Run);
    c.create(
        "daemonsets",
        "team",
        daemon_set(json!({"updateStrategy": {"type": "OnDelete"}})),
    );
    c.wait_until("two ready pods", |c| status(c)["numberAvailable"] == 2)
        .await;
    image(&c, "agent:2");
    c.wait_until("the new generation observed", |c| {
        let s = status(c);
        s["observedGeneration"] == 2 && s["updatedNumberScheduled"] == 0
    })
    .await;
    assert_eq!(images(&c.pods()), ["agent:1", "agent:1"]);
    let victim = c.pods()[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    c.delete("pods", "team", &victim);
    c.wait_until("the deleted pod replaced from the new template", |c| {
        images(&c.pods()) == ["agent:1", "agent:2"] && status(c)["updatedNumberScheduled"] == 1
    })
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_name_taken_by_another_template_counts_a_collision() {
    // Upstream's ControllerRevision conformance case leaves a revision of one template under the
    // name the controller computes for the next one; the controller counts a collision and
    // names the new revision with it (upstream `snapshot`).
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("none", |_| Fate::Run);
    c.create("daemonsets", "team", daemon_set(json!({})));
    c.wait_until("a ready pod", |c| status(c)["numberAvailable"] == 1)
        .await;
    let revision = |c: &TestCluster, n: i64| {
        c.list("controllerrevisions", "team")
            .into_iter()
            .find(|r| r["revision"] == n)
    };
    // Learn the name agent:2's revision gets, then make agent:1 current again.
    image(&c, "agent:2");
    c.wait_until("agent:2's revision", |c| revision(c, 2).is_some())
        .await;
    let taken = revision(&c, 2).unwrap()["metadata"].clone();
    let taken_name = taken["name"].as_str().unwrap().to_string();
    image(&c, "agent:1");
    c.wait_until("agent:1 renumbered current", |c| revision(c, 3).is_some())
        .await;
    c.delete("controllerrevisions", "team", &taken_name);
    c.create(
        "controllerrevisions",
        "team",
        json!({"metadata": {"name": taken_name, "labels": taken["labels"],
                            "ownerReferences": taken["ownerReferences"]},
               "data": {"spec": {"template": {"$patch": "replace",
                   "spec": {"containers": [{"name": "c", "image": "squatter"}]}}}},
               "revision": 2}),
    );

    image(&c, "agent:2");
    c.wait_until("agent:2 rolled out under a new name", |c| {
        status(c)["collisionCount"] == 1
            && status(c)["updatedNumberScheduled"] == 1
            && images(&c.pods()) == ["agent:2"]
    })
    .await;
    let current = revision(&c, 4).expect("agent:2's new revision");
    let current_name = current["metadata"]["name"].as_str().unwrap();
    assert_ne!(current_name, taken_name);
    let hash = current["metadata"]["labels"]["controller-revision-hash"]
        .as_str()
        .unwrap();
    assert_eq!(current_name, format!("agent-{hash}"));
    assert_eq!(
        live(&c.pods())[0]["metadata"]["labels"]["controller-revision-hash"],
        hash
    );
    let squatter = c.get("controllerrevisions", "team", &taken_name).unwrap();
    assert_eq!(
        squatter["data"]["spec"]["template"]["spec"]["containers"][0]["image"], "squatter",
        "the revision holding the name is left alone"
    );
    c.stop().await;
}
