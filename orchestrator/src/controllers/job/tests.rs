//! The Job controller (and TTL-after-finished) in a running control plane, with the scripted
//! kubelet running pods to the outcome each test picks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::controllers::test_cluster::{Fate, TestCluster};

fn job(name: &str, spec: Value) -> Value {
    let mut s = json!({"template": {"spec": {"restartPolicy": "Never",
        "containers": [{"name": "c", "image": "busybox"}]}}});
    for (k, v) in spec.as_object().unwrap() {
        s[k] = v.clone();
    }
    json!({"metadata": {"name": name}, "spec": s})
}

fn status(c: &TestCluster, name: &str) -> Value {
    c.get("jobs", "team", name)
        .map_or(Value::Null, |j| j["status"].clone())
}

fn condition(c: &TestCluster, name: &str, type_: &str) -> Option<Value> {
    status(c, name)["conditions"]
        .as_array()?
        .iter()
        .find(|x| x["type"] == type_ && x["status"] == "True")
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_its_completions_and_completes() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("n1", |_| Fate::Succeed);
    c.create(
        "jobs",
        "team",
        job("pi", json!({"completions": 3, "parallelism": 2})),
    );
    c.wait_until("the job complete", |c| {
        condition(c, "pi", "Complete").is_some()
    })
    .await;
    let s = status(&c, "pi");
    assert_eq!(
        (
            s["succeeded"].clone(),
            s["active"].clone(),
            s["failed"].clone()
        ),
        (json!(3), json!(0), Value::Null)
    );
    assert_eq!(s["uncountedTerminatedPods"], json!({}));
    assert!(s["startTime"].is_string() && s["completionTime"].is_string());
    let met = condition(&c, "pi", "SuccessCriteriaMet").expect("the interim condition stays");
    assert_eq!(met["reason"], "CompletionsReached");
    assert_eq!(
        condition(&c, "pi", "Complete").unwrap()["message"],
        "Reached expected number of succeeded pods"
    );
    let pods = c.pods();
    assert_eq!(pods.len(), 3);
    for p in &pods {
        assert!(
            p["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "counted pods lose the finalizer"
        );
        assert!(
            p["metadata"]["generateName"]
                .as_str()
                .unwrap()
                .starts_with("pi-")
        );
        assert_eq!(
            p["metadata"]["labels"]["batch.kubernetes.io/job-name"],
            "pi"
        );
    }
    assert_eq!(c.events("SuccessfulCreate").len(), 3);
    c.wait_until("a Completed event", |c| !c.events("Completed").is_empty())
        .await;
    assert_eq!(c.events("Completed")[0]["message"], "Job completed");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_carry_the_tracking_finalizer_while_they_run() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("n1", |_| Fate::Run);
    c.create(
        "jobs",
        "team",
        job("svc", json!({"parallelism": 2, "completions": 4})),
    );
    c.wait_until("two ready pods", |c| {
        status(c, "svc")["ready"] == 2 && status(c, "svc")["active"] == 2
    })
    .await;
    for p in c.pods() {
        assert_eq!(
            p["metadata"]["finalizers"],
            json!(["batch.kubernetes.io/job-tracking"])
        );
    }
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_beyond_the_backoff_limit_fail_the_job() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("n1", |_| Fate::Fail);
    c.create("jobs", "team", job("doomed", json!({"backoffLimit": 0})));
    c.wait_until("the job failed", |c| {
        condition(c, "doomed", "Failed").is_some()
    })
    .await;
    let failed = condition(&c, "doomed", "Failed").unwrap();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(
        failed["message"],
        "Job has reached the specified backoff limit"
    );
    assert!(condition(&c, "doomed", "FailureTarget").is_some());
    let s = status(&c, "doomed");
    assert_eq!(
        (s["failed"].clone(), s["active"].clone()),
        (json!(1), json!(0))
    );
    assert!(s["completionTime"].is_null());
    c.wait_until("a BackoffLimitExceeded event", |c| {
        !c.events("BackoffLimitExceeded").is_empty()
    })
    .await;
    let events = c.events("BackoffLimitExceeded");
    assert_eq!(events[0]["type"], "Warning");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pod_is_replaced_after_the_backoff() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    // the first pod fails, the next one succeeds
    c.start_kubelet("n1", move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Fate::Fail
        } else {
            Fate::Succeed
        }
    });
    c.create("jobs", "team", job("retry", json!({"backoffLimit": 2})));
    c.wait_until("one failure counted", |c| status(c, "retry")["failed"] == 1)
        .await;
    assert_eq!(c.pods().len(), 1, "no replacement before the 10 s backoff");
    c.wait_until("the replacement succeeded", |c| {
        condition(c, "retry", "Complete").is_some()
    })
    .await;
    let s = status(&c, "retry");
    assert_eq!(
        (s["failed"].clone(), s["succeeded"].clone()),
        (json!(1), json!(1))
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indexed_job_gives_each_pod_its_index() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("n1", |p| {
        // index 1 keeps running until the test lets it finish
        if p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "1" {
            Fate::Run
        } else {
            Fate::Succeed
        }
    });
    c.create(
        "jobs",
        "team",
        job(
            "idx",
            json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"}),
        ),
    );
    c.wait_until("indexes 0 and 2 done", |c| {
        status(c, "idx")["completedIndexes"] == "0,2"
    })
    .await;
    assert_eq!(status(&c, "idx")["succeeded"], 2);
    let pods = c.pods();
    let mut seen: Vec<String> = pods
        .iter()
        .map(|p| {
            let ix = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(
                p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"],
                ix.as_str()
            );
            assert_eq!(p["spec"]["hostname"], format!("idx-{ix}"));
            assert!(p["metadata"]["generateName"].as_str().unwrap() == format!("idx-{ix}-"));
            let env = &p["spec"]["containers"][0]["env"][0];
            assert_eq!(env["name"], "JOB_COMPLETION_INDEX");
            assert_eq!(
                env["valueFrom"]["fieldRef"]["fieldPath"],
                "metadata.annotations['batch.kubernetes.io/job-completion-index']"
            );
            ix
        })
        .collect();
    seen.sort();
    assert_eq!(seen, ["0", "1", "2"]);
    let running = pods
        .iter()
        .find(|p| p["status"]["phase"] == "Running")
        .unwrap();
    crate::controllers::test_cluster::set_status(
        &c.objects,
        "team",
        running["metadata"]["name"].as_str().unwrap(),
        "Succeeded",
        false,
        Some(0),
    );
    c.wait_until("the job complete", |c| {
        condition(c, "idx", "Complete").is_some()
    })
    .await;
    assert_eq!(status(&c, "idx")["completedIndexes"], "0-2");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_deadline_fails_and_its_pods_go() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("n1", |_| Fate::Run);
    c.create(
        "jobs",
        "team",
        job(
            "slow",
            json!({"activeDeadlineSeconds": 1, "parallelism": 2, "completions": 2}),
        ),
    );
    c.wait_until("the job failed", |c| {
        condition(c, "slow", "Failed").is_some()
    })
    .await;
    let failed = condition(&c, "slow", "Failed").unwrap();
    assert_eq!(failed["reason"], "DeadlineExceeded");
    assert_eq!(
        failed["message"],
        "Job was active longer than specified deadline"
    );
    c.wait_until("its pods gone", |c| c.pods().is_empty()).await;
    assert_eq!(status(&c, "slow")["active"], 0);
    c.wait_until("a DeadlineExceeded event", |c| {
        !c.events("DeadlineExceeded").is_empty()
    })
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_job_runs_only_once_resumed() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("n1", |_| Fate::Run);
    c.create(
        "jobs",
        "team",
        job(
            "later",
            json!({"suspend": true, "parallelism": 2, "completions": 2}),
        ),
    );
    c.wait_until("the job suspended", |c| {
        condition(c, "later", "Suspended").is_some()
    })
    .await;
    assert!(c.pods().is_empty());
    assert!(status(&c, "later")["startTime"].is_null());
    c.patch("jobs", "team", "later", json!({"spec": {"suspend": false}}));
    c.wait_until("two pods running", |c| status(c, "later")["active"] == 2)
        .await;
    let suspended = status(&c, "later")["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "Suspended")
        .cloned()
        .unwrap();
    assert_eq!(
        (suspended["status"].clone(), suspended["reason"].clone()),
        (json!("False"), json!("JobResumed"))
    );
    assert!(status(&c, "later")["startTime"].is_string());
    c.patch("jobs", "team", "later", json!({"spec": {"suspend": true}}));
    c.wait_until("its pods stopped", |c| {
        c.pods().is_empty() && status(c, "later")["active"] == 0
    })
    .await;
    assert!(
        status(&c, "later")["failed"].is_null(),
        "pods stopped by suspension are not failures"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_completions_the_first_success_ends_the_job() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("n1", |_| Fate::Succeed);
    c.create(
        "jobs",
        "team",
        job("queue", json!({"completions": null, "parallelism": 2})),
    );
    c.wait_until("the job complete", |c| {
        condition(c, "queue", "Complete").is_some()
    })
    .await;
    assert_eq!(status(&c, "queue")["succeeded"], 2);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_with_a_ttl_is_deleted() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    c.start_kubelet("n1", |_| Fate::Succeed);
    c.create(
        "jobs",
        "team",
        job("brief", json!({"ttlSecondsAfterFinished": 0})),
    );
    c.wait_until("the finished job deleted", |c| {
        c.get("jobs", "team", "brief").is_none()
    })
    .await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_failure_policy_fails_the_job_at_once_or_ignores_failures() {
    let c = TestCluster::start();
    c.node("n1", json!({}), json!([]));
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    // job "flaky": its first pod exits 3 (ignored, though it still backs off), the next succeeds;
    // job "fatal": its pod exits 42
    c.start_kubelet("n1", move |p| {
        if p["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "fatal" {
            return Fate::Exit(42);
        }
        if counter.fetch_add(1, Ordering::SeqCst) < 1 {
            Fate::Exit(3)
        } else {
            Fate::Succeed
        }
    });
    let policy = json!({"rules": [
        {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In", "values": [42]}},
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}},
    ]});
    c.create(
        "jobs",
        "team",
        job(
            "fatal",
            json!({"backoffLimit": 6, "podFailurePolicy": policy}),
        ),
    );
    c.create(
        "jobs",
        "team",
        job(
            "flaky",
            json!({"backoffLimit": 0, "podFailurePolicy": policy}),
        ),
    );
    c.wait_until("the fatal job failed", |c| {
        condition(c, "fatal", "Failed").is_some()
    })
    .await;
    let failed = condition(&c, "fatal", "Failed").unwrap();
    assert_eq!(failed["reason"], "PodFailurePolicy");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .starts_with("Container c for pod team/fatal-")
            && failed["message"]
                .as_str()
                .unwrap()
                .ends_with("failed with exit code 42 matching FailJob rule at index 0"),
        "{failed}"
    );
    c.wait_until("the flaky job complete", |c| {
        condition(c, "flaky", "Complete").is_some()
    })
    .await;
    let s = status(&c, "flaky");
    assert_eq!(
        (s["succeeded"].clone(), s["failed"].clone()),
        (json!(1), Value::Null),
        "ignored failures are not counted"
    );
    c.stop().await;
}

/// A finalizer removal the pod cache hears in the middle of a sync, after the sync has read the
/// pods and before it counts them, must not count the pod again: the Job, read fresh from the
/// store, already counts it. (Under load this once completed a Job of four at two successes.)
#[test]
fn a_finalizer_removal_heard_mid_sync_does_not_count_the_pod_twice() {
    use crate::api::{Objects, WriteParams};
    use crate::controllers::Sink;
    use crate::controllers::cluster_tests::info;
    use crate::controllers::runtime::owner;
    use crate::controllers::runtime::pods::PodCache;
    use crate::controllers::test_cluster::set_status;
    use crate::store::{Event, EventType, MemoryStore, Storage};

    use super::{JobConfig, JobController};

    let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
    let objects = Objects::new(store.clone());
    let cache = Arc::new(PodCache::new(store.clone()));
    let jobs = Arc::new(JobController::new(
        objects.clone(),
        cache.clone(),
        JobConfig::default(),
    ));
    cache.listen(jobs.clone());
    let create = |plural: &str, ns: &str, obj: Value| {
        objects
            .create(info(plural), ns, obj, &WriteParams::default())
            .unwrap()
    };
    create("namespaces", "", json!({"metadata": {"name": "team"}}));
    let stored = create(
        "jobs",
        "team",
        job("pi", json!({"completions": 2, "parallelism": 1})),
    );
    // Only the controller's own bookkeeping is fed: pod events reach the cache when the test says.
    let event = |kind, object| Event {
        kind,
        resource: "",
        object,
        prev: None,
    };
    jobs.on_event(info("jobs"), &event(EventType::Added, stored));
    let hear = |name: &str, kind| {
        let pod = store.get("pods", "team", name).unwrap();
        cache.on_event(info("pods"), &event(kind, pod));
    };
    let key = "team/pi";
    let counts = || {
        let s = store.get("jobs.batch", "team", "pi").unwrap().value()["status"].clone();
        (s["succeeded"].clone(), s["conditions"].clone())
    };

    jobs.sync(key).unwrap();
    let first = store.list("pods", &Default::default()).unwrap().items[0]
        .name
        .clone();
    hear(&first, EventType::Added);
    set_status(&objects, "team", &first, "Succeeded", false, Some(0));
    hear(&first, EventType::Modified);
    // Counts the first pod, takes its finalizer off and creates the second; the cache hears
    // neither yet.
    jobs.sync(key).unwrap();
    assert_eq!(counts().0, json!(1));
    assert_eq!(
        store.list("pods", &Default::default()).unwrap().items.len(),
        2
    );

    jobs.sync_reading(key, |o, selector| {
        let pods = owner::claim_pods(&objects, &cache, o, selector);
        hear(&first, EventType::Modified);
        pods
    })
    .unwrap();
    let (succeeded, conditions) = counts();
    assert_eq!(succeeded, json!(1), "the first pod is counted once");
    assert!(
        conditions
            .as_array()
            .is_none_or(|c| c.iter().all(|c| c["type"] == "Suspended")),
        "one success of two finishes nothing: {conditions}"
    );
}
