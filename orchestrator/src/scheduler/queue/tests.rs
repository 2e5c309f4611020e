//! The queue's behaviour, after upstream's `scheduling_queue_test.go`, on tokio's paused clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::scheduler::framework::testing;
use crate::scheduler::plugins::scheduling_gates::SchedulingGates;

/// Upstream PrioritySort: higher priority first, then earlier timestamp.
struct PrioritySort;
impl QueueSort for PrioritySort {
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        a.pod.priority > b.pod.priority
            || (a.pod.priority == b.pod.priority && a.timestamp < b.timestamp)
    }
}

const FOO: &str = "fooPlugin";
const BAR: &str = "barPlugin";
const GATES: &str = "SchedulingGates";
const AFFINITY: &str = "InterPodAffinity";

fn event(resource: EventResource, action: ActionType) -> ClusterEvent {
    ClusterEvent { resource, action }
}

fn queue() -> SchedulingQueue {
    let mut events = HashMap::new();
    events.insert(FOO, vec![event(EventResource::Node, ActionType::ADD)]);
    events.insert(
        BAR,
        vec![event(EventResource::AssignedPod, ActionType::DELETE)],
    );
    events.insert(
        GATES,
        vec![event(
            EventResource::Pod,
            ActionType::UPDATE_POD_SCHEDULING_GATES_ELIMINATED,
        )],
    );
    events.insert(
        AFFINITY,
        vec![event(
            EventResource::Pod,
            ActionType::ADD | ActionType::UPDATE_POD_LABEL | ActionType::DELETE,
        )],
    );
    events.insert(
        POD_TOPOLOGY_SPREAD,
        vec![event(EventResource::AssignedPod, ActionType::ADD)],
    );
    SchedulingQueue::new(
        Arc::new(PrioritySort),
        vec![(GATES, Arc::new(SchedulingGates) as Arc<dyn PreEnqueue>)],
        events,
        QueueConfig::default(),
    )
}

fn pod_with(name: &str, priority: i32, extra: impl FnOnce(&mut Value)) -> Arc<PodInfo> {
    let mut v = testing::simple_pod(name, "", "");
    v["spec"]["priority"] = priority.into();
    extra(&mut v);
    testing::pod(v)
}

fn pod(name: &str, priority: i32) -> Arc<PodInfo> {
    pod_with(name, priority, |_| {})
}

/// Pop without waiting: the active queue must have a pod.
async fn pop_now(q: &SchedulingQueue) -> QueuedPodInfo {
    let token = CancellationToken::new();
    tokio::time::timeout(Duration::ZERO, q.pop(&token))
        .await
        .expect("a pod is active")
        .expect("not shut down")
}

/// Pop, fail with these rejecting plugins, and requeue in the pod's own cycle.
async fn fail(q: &SchedulingQueue, plugins: &[&'static str]) -> String {
    let mut p = pop_now(q).await;
    let cycle = q.scheduling_cycle();
    p.unschedulable_plugins = plugins.to_vec();
    let uid = p.pod.uid.clone();
    q.add_unschedulable(p, cycle);
    q.done(&uid);
    uid
}

fn counts(active: usize, backoff: usize, unschedulable: usize, gated: usize) -> PendingCounts {
    PendingCounts {
        active,
        backoff,
        unschedulable,
        gated,
    }
}

#[tokio::test(start_paused = true)]
async fn add_pops_by_priority_and_counts_cycles() {
    let q = queue();
    q.add(pod("med", 10));
    q.add(pod("low", 1));
    q.add(pod("high", 100));
    assert_eq!(q.pending(), counts(3, 0, 0, 0));
    let mut order = Vec::new();
    for _ in 0..3 {
        let p = pop_now(&q).await;
        assert_eq!(p.attempts, 1);
        order.push(p.pod.name.clone());
    }
    assert_eq!(order, ["high", "med", "low"]);
    assert_eq!(q.scheduling_cycle(), 3);
}

#[tokio::test(start_paused = true)]
async fn equal_priorities_pop_in_arrival_order() {
    let q = queue();
    for name in ["a", "b", "c"] {
        q.add(pod(name, 5));
        tokio::time::advance(Duration::from_millis(1)).await;
    }
    let mut order = Vec::new();
    for _ in 0..3 {
        order.push(pop_now(&q).await.pod.name.clone());
    }
    assert_eq!(order, ["a", "b", "c"]);
}

#[tokio::test(start_paused = true)]
async fn pop_waits_for_an_add_and_returns_none_on_shutdown() {
    let q = Arc::new(queue());
    let token = CancellationToken::new();
    let waiter = {
        let (q, token) = (q.clone(), token.clone());
        tokio::spawn(async move { q.pop(&token).await.map(|p| p.pod.name.clone()) })
    };
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    q.add(pod("p", 0));
    assert_eq!(waiter.await.unwrap().as_deref(), Some("p"));

    let waiter = {
        let (q, token) = (q.clone(), token.clone());
        tokio::spawn(async move { q.pop(&token).await.is_none() })
    };
    token.cancel();
    assert!(waiter.await.unwrap());
}

/// Upstream `TestPriorityQueue_AddUnschedulableIfNotPresent`: a pod rejected by plugins waits
/// among the unschedulable pods; one that failed with an error (no rejecting plugin) backs off.
#[tokio::test(start_paused = true)]
async fn rejected_pods_wait_and_errored_pods_back_off() {
    let q = queue();
    q.add(pod("rejected", 1));
    fail(&q, &[FOO]).await;
    assert_eq!(q.pending(), counts(0, 0, 1, 0));
    q.add(pod("errored", 1));
    fail(&q, &[]).await;
    assert_eq!(q.pending(), counts(0, 1, 1, 0));
}

/// Upstream `TestPriorityQueue_AddUnschedulableIfNotPresent_Backoff`: a move request during
/// the pod's cycle sends it to backoff, since the event it missed may have helped.
#[tokio::test(start_paused = true)]
async fn a_move_request_during_the_cycle_sends_the_pod_to_backoff() {
    let q = queue();
    q.add(pod("a", 1));
    q.add(pod("b", 1));
    let mut a = pop_now(&q).await;
    let cycle = q.scheduling_cycle();
    q.on_event(event(EventResource::Node, ActionType::ADD));
    a.unschedulable_plugins = vec![FOO];
    q.add_unschedulable(a, cycle);
    assert_eq!(q.pending(), counts(1, 1, 0, 0));
    // b's cycle starts after the move request: it waits for the next event.
    fail(&q, &[FOO]).await;
    assert_eq!(q.pending(), counts(0, 1, 1, 0));
}

/// Upstream `isEventOfInterest`: an event no plugin registered is not a move request.
#[tokio::test(start_paused = true)]
async fn an_event_no_plugin_registered_is_no_move_request() {
    let q = queue();
    q.add(pod("a", 1));
    let mut a = pop_now(&q).await;
    let cycle = q.scheduling_cycle();
    q.on_event(event(EventResource::StorageClass, ActionType::ADD));
    a.unschedulable_plugins = vec![FOO];
    q.add_unschedulable(a, cycle);
    assert_eq!(q.pending(), counts(0, 0, 1, 0));
}

/// Upstream `TestBackOffFlow`: 1 s, doubling per attempt, capped at 10 s.
#[tokio::test(start_paused = true)]
async fn backoff_doubles_per_attempt_up_to_the_max() {
    let q = queue();
    q.add(pod("p", 0));
    for (attempt, secs) in [(1u32, 1u64), (2, 2), (3, 4), (4, 8), (5, 10), (6, 10)] {
        let p = pop_now(&q).await;
        assert_eq!(p.attempts, attempt);
        q.add_unschedulable(p, q.scheduling_cycle());
        q.done("p");
        assert_eq!(q.pending(), counts(0, 1, 0, 0), "attempt {attempt}");
        tokio::time::advance(Duration::from_secs(secs) - Duration::from_millis(1)).await;
        q.flush_backoff_completed();
        assert_eq!(
            q.pending(),
            counts(0, 1, 0, 0),
            "still backing off, attempt {attempt}"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        q.flush_backoff_completed();
        assert_eq!(
            q.pending(),
            counts(1, 0, 0, 0),
            "backoff over, attempt {attempt}"
        );
    }
    assert_eq!(
        backoff_duration(0, Duration::from_secs(1), Duration::from_secs(10)),
        Duration::ZERO
    );
}

/// A `pop` waiting on an empty active queue wakes for the backoff flush on its own.
#[tokio::test(start_paused = true)]
async fn pop_waits_out_the_backoff_through_its_own_flush() {
    let q = queue();
    q.add(pod("p", 0));
    fail(&q, &[]).await;
    let start = Instant::now();
    let token = CancellationToken::new();
    let p = tokio::time::timeout(Duration::from_secs(5), q.pop(&token))
        .await
        .expect("flushed within the backoff plus one flush period")
        .unwrap();
    assert_eq!(p.pod.name, "p");
    assert_eq!(p.attempts, 2);
    assert!(start.elapsed() >= Duration::from_secs(1));
}

/// A `pop` asleep with only an unschedulable pod waits for the 30 s leftover flush; an event
/// that moves the pod to backoff must wake it to plan the 1 s backoff flush instead (a pod
/// freed by a node added within its backoff was otherwise scheduled up to 30 s late).
#[tokio::test(start_paused = true)]
async fn an_event_moving_a_pod_to_backoff_wakes_a_waiting_pop() {
    let q = Arc::new(queue());
    q.add(pod("p", 0));
    fail(&q, &[FOO]).await;
    let start = Instant::now();
    let popper = {
        let q = q.clone();
        tokio::spawn(async move {
            let token = CancellationToken::new();
            q.pop(&token).await.map(|p| p.pod.name.clone())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    q.on_event(event(EventResource::Node, ActionType::ADD));
    assert_eq!(
        q.pending(),
        counts(0, 1, 0, 0),
        "still within its 1 s backoff"
    );
    let name = tokio::time::timeout(Duration::from_secs(5), popper)
        .await
        .expect("popped after the backoff, not at the 30 s flush")
        .unwrap();
    assert_eq!(name.as_deref(), Some("p"));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

/// Upstream `TestPriorityQueue_MoveAllToActiveOrBackoffQueue` and `TestPodMatchesEvent`.
#[tokio::test(start_paused = true)]
async fn events_move_only_the_pods_their_rejecting_plugins_registered_for() {
    let q = queue();
    q.add(pod("foo", 1));
    q.add(pod("bar", 1));
    q.add(pod("unknown", 1));
    let foo = fail(&q, &[FOO]).await;
    let bar = fail(&q, &[BAR]).await;
    fail(&q, &["NotRegistered"]).await;
    assert_eq!(q.pending(), counts(0, 0, 3, 0));
    // Past every backoff, so moved pods go straight to active.
    tokio::time::advance(Duration::from_secs(2)).await;

    q.on_event(event(
        EventResource::Node,
        ActionType::ADD | ActionType::UPDATE_NODE_LABEL,
    ));
    assert_eq!(q.pending(), counts(2, 0, 1, 0));
    let still: Vec<_> = q
        .state
        .lock()
        .unschedulable
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(still, [bar]);
    assert!(q.state.lock().active.contains(&foo));

    // An assigned-pod update is not the delete barPlugin waits for.
    q.on_event(event(EventResource::AssignedPod, ActionType::UPDATE));
    assert_eq!(q.pending().unschedulable, 1);
    q.on_event(event(EventResource::AssignedPod, ActionType::DELETE));
    assert_eq!(q.pending(), counts(3, 0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_plugin_registered_for_pod_events_hears_assigned_pod_events() {
    let mut events = HashMap::new();
    events.insert(
        AFFINITY,
        vec![event(
            EventResource::Pod,
            ActionType::ADD | ActionType::DELETE,
        )],
    );
    let q = SchedulingQueue::new(
        Arc::new(PrioritySort),
        Vec::new(),
        events,
        QueueConfig::default(),
    );
    q.add(pod("wants-db", 1));
    q.add(pod("blocked-by-solo", 1));
    fail(&q, &[AFFINITY]).await;
    fail(&q, &[AFFINITY]).await;
    tokio::time::advance(Duration::from_secs(2)).await;

    q.on_event(event(EventResource::AssignedPod, ActionType::UPDATE));
    assert_eq!(q.pending(), counts(0, 0, 2, 0), "no action registered for");
    q.on_event(event(EventResource::AssignedPod, ActionType::ADD));
    assert_eq!(q.pending(), counts(2, 0, 0, 0));
    pop_now(&q).await;
    fail(&q, &[AFFINITY]).await;
    tokio::time::advance(Duration::from_secs(4)).await;
    q.on_event(event(EventResource::AssignedPod, ActionType::DELETE));
    assert_eq!(q.pending().unschedulable, 0);
}

#[tokio::test(start_paused = true)]
async fn a_wildcard_event_moves_everyone_and_backing_off_pods_go_to_backoff() {
    let q = queue();
    q.add(pod("a", 1));
    q.add(pod("b", 1));
    fail(&q, &[FOO]).await;
    fail(&q, &[BAR]).await;
    q.on_event(event(EventResource::Any, ActionType::ALL));
    assert_eq!(
        q.pending(),
        counts(0, 2, 0, 0),
        "both still within their 1 s backoff"
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    q.flush_backoff_completed();
    assert_eq!(q.pending(), counts(2, 0, 0, 0));
}

/// Upstream `TestPriorityQueue_flushUnschedulablePodsLeftover`.
#[tokio::test(start_paused = true)]
async fn unschedulable_pods_are_retried_after_five_minutes() {
    let q = queue();
    q.add(pod("old", 1));
    fail(&q, &[FOO]).await;
    tokio::time::advance(Duration::from_secs(200)).await;
    q.add(pod("young", 1));
    fail(&q, &[FOO]).await;
    tokio::time::advance(Duration::from_secs(101)).await;
    q.flush_unschedulable_leftover();
    assert_eq!(q.pending(), counts(1, 0, 1, 0));
    assert_eq!(pop_now(&q).await.pod.name, "old");
    // pop's own flush picks up "young" once its five minutes are over.
    tokio::time::advance(Duration::from_secs(200)).await;
    assert_eq!(pop_now(&q).await.pod.name, "young");
}

/// Upstream `TestPriorityQueue_Update`.
#[tokio::test(start_paused = true)]
async fn updates_replace_in_place_or_retry_an_unschedulable_pod_that_changed() {
    let q = queue();
    // Not in any queue: added.
    q.update(pod("p", 1));
    assert_eq!(q.pending(), counts(1, 0, 0, 0));
    // In the active queue: replaced there.
    q.update(pod_with("p", 1, |v| {
        v["metadata"]["labels"] = json!({"v": "2"})
    }));
    assert_eq!(q.pending(), counts(1, 0, 0, 0));
    assert_eq!(q.pending_pods()[0].labels["v"], "2");

    fail(&q, &[FOO]).await;
    assert_eq!(q.pending(), counts(0, 0, 1, 0));
    // A status-only change does not help.
    q.update(pod_with("p", 1, |v| {
        v["metadata"]["labels"] = json!({"v": "2"});
        v["status"] = json!({"conditions": [{"type": "PodScheduled", "status": "False"}]});
    }));
    assert_eq!(q.pending(), counts(0, 0, 1, 0));
    // A label change does; the pod is still backing off.
    q.update(pod_with("p", 1, |v| {
        v["metadata"]["labels"] = json!({"v": "3"})
    }));
    assert_eq!(q.pending(), counts(0, 1, 0, 0));

    fail_after_backoff(&q).await;
    tokio::time::advance(Duration::from_secs(10)).await;
    q.update(pod_with("p", 1, |v| {
        v["metadata"]["labels"] = json!({"v": "4"})
    }));
    assert_eq!(
        q.pending(),
        counts(1, 0, 0, 0),
        "past its backoff: straight to active"
    );
}

async fn fail_after_backoff(q: &SchedulingQueue) {
    tokio::time::advance(Duration::from_secs(1)).await;
    q.flush_backoff_completed();
    fail(q, &[FOO]).await;
    assert_eq!(q.pending(), counts(0, 0, 1, 0));
}

/// Upstream `TestPriorityQueue_Delete`.
#[tokio::test(start_paused = true)]
async fn delete_removes_from_every_part_and_the_nominator() {
    let q = queue();
    q.add(pod_with("nominated", 3, |v| {
        v["status"] = json!({"nominatedNodeName": "node1"});
    }));
    q.add(pod("unsched", 2));
    q.add(pod("backoff", 1));
    q.add(pod("active", 0));
    assert_eq!(q.nominated_pods("node1").len(), 1);
    q.delete("nominated");
    assert!(q.nominated_pods("node1").is_empty());
    assert!(!q.has_nominated_pods());
    assert_eq!(fail(&q, &[FOO]).await, "unsched");
    assert_eq!(fail(&q, &[]).await, "backoff");
    assert_eq!(q.pending(), counts(1, 1, 1, 0));
    for uid in ["active", "unsched", "backoff"] {
        q.delete(uid);
    }
    assert_eq!(q.pending(), counts(0, 0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn gated_pods_wait_until_an_update_lifts_their_gates() {
    let q = queue();
    let gated = |gates: &[&str]| {
        let gates: Vec<_> = gates.iter().map(|g| json!({ "name": g })).collect();
        pod_with("g", 0, move |v| v["spec"]["schedulingGates"] = json!(gates))
    };
    q.add(gated(&["a", "b"]));
    assert_eq!(q.pending(), counts(0, 0, 0, 1));
    // Events other than the gates' do not touch it; even the gates' event re-runs PreEnqueue.
    q.on_event(event(EventResource::Node, ActionType::ADD));
    q.on_event(event(
        EventResource::Pod,
        ActionType::UPDATE_POD_SCHEDULING_GATES_ELIMINATED,
    ));
    assert_eq!(q.pending(), counts(0, 0, 0, 1));
    q.update(gated(&["b"]));
    assert_eq!(q.pending(), counts(0, 0, 0, 1), "one gate left");
    q.update(gated(&[]));
    assert_eq!(
        q.pending(),
        counts(1, 0, 0, 0),
        "no gate: active, no backoff"
    );
    let p = pop_now(&q).await;
    assert_eq!(p.attempts, 1);
    assert!(
        p.pending_plugins.is_empty(),
        "pop clears the last attempt's plugins"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pod_deleted_in_flight_is_dropped_and_one_updated_in_flight_backs_off() {
    let q = queue();
    q.add(pod("deleted", 1));
    q.add(pod("updated", 0));
    let mut d = pop_now(&q).await;
    q.delete("deleted");
    d.unschedulable_plugins = vec![FOO];
    q.add_unschedulable(d, q.scheduling_cycle());
    assert_eq!(q.pending(), counts(1, 0, 0, 0), "only the other pod");

    let mut u = pop_now(&q).await;
    q.update(pod_with("updated", 0, |v| {
        v["metadata"]["labels"] = json!({"x": "y"})
    }));
    assert_eq!(
        q.pending(),
        counts(0, 0, 0, 0),
        "in flight: not queued twice"
    );
    u.unschedulable_plugins = vec![FOO];
    q.add_unschedulable(u, q.scheduling_cycle());
    assert_eq!(q.pending(), counts(0, 1, 0, 0));
    assert_eq!(
        q.pending_pods()[0].labels["x"],
        "y",
        "requeued with the newest object"
    );
}

#[tokio::test(start_paused = true)]
async fn an_assigned_pod_moves_only_pods_whose_affinity_it_satisfies() {
    let q = queue();
    let affinity = json!({ "podAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": [
        { "labelSelector": { "matchLabels": { "app": "db" } }, "topologyKey": "zone" } ] } });
    q.add(pod_with("wants-db", 1, |v| {
        v["spec"]["affinity"] = affinity
    }));
    q.add(pod("spread", 1));
    q.add(pod("other", 1));
    let mut uids = HashMap::new();
    for _ in 0..3 {
        let mut p = pop_now(&q).await;
        p.unschedulable_plugins = match p.pod.name.as_str() {
            "spread" => vec![POD_TOPOLOGY_SPREAD],
            _ => vec![AFFINITY],
        };
        uids.insert(p.pod.name.clone(), p.pod.uid.clone());
        q.add_unschedulable(p.clone(), q.scheduling_cycle());
        q.done(&p.pod.uid);
    }
    tokio::time::advance(Duration::from_secs(2)).await;
    let db = pod_with("db-0", 0, |v| {
        v["metadata"]["labels"] = json!({ "app": "db" });
        v["spec"]["nodeName"] = "n1".into();
    });
    q.on_assigned_pod(
        event(EventResource::AssignedPod, ActionType::ADD),
        &db,
        &|| None,
    );
    let s = q.state.lock();
    assert!(s.active.contains(&uids["wants-db"]));
    assert!(s.active.contains(&uids["spread"]));
    assert!(s.unschedulable.contains_key(&uids["other"]));
}

#[tokio::test(start_paused = true)]
async fn nominate_and_clear() {
    let q = queue();
    let p = pod("p", 1);
    q.nominate(p.clone(), "node1");
    assert_eq!(q.nominated_node("p").as_deref(), Some("node1"));
    assert_eq!(q.nominated_pods("node1")[0].name, "p");
    q.nominate(p.clone(), "node2");
    assert!(q.nominated_pods("node1").is_empty());
    q.nominate(p, "");
    assert!(!q.has_nominated_pods());
}
