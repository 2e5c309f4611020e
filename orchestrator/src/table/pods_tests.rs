//! The pod row from realistic pods in each state `kubectl get pods` distinguishes.

use jiff::Timestamp;
use rstest::rstest;
use serde_json::{Value, json};

use super::pod_row;

const NOW: &str = "2026-01-01T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().expect("valid time")
}

/// A scheduled pod with containers `a` and `b`, created 3h ago, with the given status.
fn pod(status: Value) -> Value {
    json!({
        "metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": "2026-01-01T09:00:00Z"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]},
        "status": status,
    })
}

fn running(name: &str, ready: bool) -> Value {
    json!({"name": name, "ready": ready, "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T09:00:05Z"}}})
}

fn waiting(name: &str, reason: &str) -> Value {
    json!({"name": name, "ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason}}})
}

/// (READY, STATUS, RESTARTS) of a pod.
fn summary(p: &Value) -> (String, String, String) {
    let row = pod_row(p, now());
    let s = |i: usize| row.cells[i].as_str().expect("string cell").to_string();
    (s(1), s(2), s(3))
}

#[test]
fn one_of_two_containers_ready_is_running_one_of_two() {
    let p = pod(
        json!({"phase": "Running", "containerStatuses": [running("a", true), running("b", false)]}),
    );
    assert_eq!(summary(&p), ("1/2".into(), "Running".into(), "0".into()));
    assert_eq!(pod_row(&p, now()).cells[4], "3h");
}

#[test]
fn crash_looping_container_shows_the_reason_and_when_it_last_restarted() {
    let crashing = json!({
        "name": "b", "ready": false, "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-01-01T11:55:00Z"}},
    });
    let p = pod(json!({"phase": "Running", "containerStatuses": [running("a", true), crashing]}));
    assert_eq!(
        summary(&p),
        ("1/2".into(), "CrashLoopBackOff".into(), "5 (5m ago)".into())
    );
}

#[rstest]
#[case::pending_without_statuses(json!({"phase": "Pending"}), "0/2", "Pending")]
#[case::container_creating(json!({"phase": "Pending", "containerStatuses": [waiting("a", "ContainerCreating"), waiting("b", "ContainerCreating")]}), "0/2", "ContainerCreating")]
#[case::image_pull_error(json!({"phase": "Pending", "containerStatuses": [waiting("a", "ErrImagePull"), running("b", true)]}), "1/2", "ErrImagePull")]
#[case::status_reason_wins_over_phase(json!({"phase": "Failed", "reason": "Evicted"}), "0/2", "Evicted")]
#[case::terminated_without_reason_shows_exit_code(json!({"phase": "Running", "containerStatuses": [running("a", true),
    {"name": "b", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}]}), "1/2", "ExitCode:137")]
#[case::terminated_by_signal(json!({"phase": "Running", "containerStatuses": [running("a", true),
    {"name": "b", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "signal": 9}}}]}), "1/2", "Signal:9")]
#[case::completed(json!({"phase": "Succeeded", "containerStatuses": [
    {"name": "a", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
    {"name": "b", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}), "0/2", "Completed")]
#[case::completed_container_beside_a_running_ready_pod(json!({"phase": "Running",
    "conditions": [{"type": "Ready", "status": "True"}],
    "containerStatuses": [running("a", true),
    {"name": "b", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}), "1/2", "Running")]
#[case::completed_container_beside_a_running_unready_pod(json!({"phase": "Running",
    "conditions": [{"type": "Ready", "status": "False"}],
    "containerStatuses": [running("a", true),
    {"name": "b", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}), "1/2", "NotReady")]
#[case::scheduling_gated(json!({"phase": "Pending",
    "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}), "0/2", "SchedulingGated")]
fn status_column_matches_upstream(#[case] status: Value, #[case] ready: &str, #[case] want: &str) {
    let (r, s, _) = summary(&pod(status));
    assert_eq!((r.as_str(), s.as_str()), (ready, want));
}

fn with_init(mut p: Value, init: Value) -> Value {
    p["spec"]["initContainers"] = init;
    p
}

#[rstest]
#[case::first_of_one_running(json!([{"name": "i", "ready": false, "restartCount": 0, "state": {"running": {}}}]), "Init:0/1")]
#[case::pod_initializing_counts_progress(json!([{"name": "i", "ready": false, "restartCount": 0,
    "state": {"waiting": {"reason": "PodInitializing"}}}]), "Init:0/1")]
#[case::crash_looping_init(json!([{"name": "i", "ready": false, "restartCount": 3,
    "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]), "Init:CrashLoopBackOff")]
#[case::failed_init_with_reason(json!([{"name": "i", "ready": false, "restartCount": 0,
    "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]), "Init:Error")]
#[case::failed_init_without_reason(json!([{"name": "i", "ready": false, "restartCount": 0,
    "state": {"terminated": {"exitCode": 2}}}]), "Init:ExitCode:2")]
fn init_containers_report_progress(#[case] init_statuses: Value, #[case] want: &str) {
    let p = with_init(
        pod(
            json!({"phase": "Pending", "initContainerStatuses": init_statuses,
            "containerStatuses": [waiting("a", "PodInitializing"), waiting("b", "PodInitializing")]}),
        ),
        json!([{"name": "i", "image": "init:1"}]),
    );
    assert_eq!(summary(&p).1, want);
}

#[test]
fn finished_init_container_lets_the_main_containers_speak() {
    let done = json!({"name": "i", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
    let p = with_init(
        pod(json!({"phase": "Running", "initContainerStatuses": [done],
            "containerStatuses": [running("a", true), running("b", true)]})),
        json!([{"name": "i", "image": "init:1"}]),
    );
    assert_eq!(summary(&p), ("2/2".into(), "Running".into(), "0".into()));
}

#[test]
fn started_sidecar_counts_towards_ready_and_restarts() {
    let sidecar = json!({
        "name": "proxy", "ready": true, "started": true, "restartCount": 2,
        "state": {"running": {}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T11:59:30Z"}},
    });
    let p = with_init(
        pod(
            json!({"phase": "Running", "initContainerStatuses": [sidecar],
            "conditions": [{"type": "Initialized", "status": "True"}],
            "containerStatuses": [running("a", true), running("b", true)]}),
        ),
        json!([{"name": "proxy", "image": "proxy:1", "restartPolicy": "Always"}]),
    );
    assert_eq!(
        summary(&p),
        ("3/3".into(), "Running".into(), "2 (30s ago)".into())
    );
}

#[rstest]
#[case::running_pod_being_deleted("Running", "", "Terminating")]
#[case::finished_pod_being_deleted_keeps_its_phase("Succeeded", "", "Succeeded")]
#[case::pod_on_a_lost_node("Running", "NodeLost", "Unknown")]
fn deleted_pods(#[case] phase: &str, #[case] reason: &str, #[case] want: &str) {
    let mut p = pod(json!({"phase": phase, "reason": reason}));
    p["metadata"]["deletionTimestamp"] = json!("2026-01-01T11:59:00Z");
    assert_eq!(summary(&p).1, want);
}

#[test]
fn finished_pods_carry_a_completed_row_condition() {
    let row = pod_row(&pod(json!({"phase": "Succeeded"})), now());
    assert_eq!(
        row.conditions,
        vec![
            json!({"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."})
        ]
    );
    assert!(
        pod_row(&pod(json!({"phase": "Running"})), now())
            .conditions
            .is_empty()
    );
}

#[test]
fn wide_cells_show_ip_node_nominated_node_and_readiness_gates() {
    let mut p = pod(json!({
        "phase": "Running",
        "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}, {"ip": "fd00::5"}],
        "conditions": [{"type": "example.com/lb", "status": "True"}, {"type": "example.com/dns", "status": "False"}],
        "containerStatuses": [running("a", true), running("b", true)],
    }));
    p["spec"]["readinessGates"] =
        json!([{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]);
    let row = pod_row(&p, now());
    assert_eq!(
        row.cells[5..],
        [
            json!("10.1.0.5"),
            json!("node-1"),
            json!("<none>"),
            json!("1/2")
        ]
    );

    let bare = pod(json!({"phase": "Pending"}));
    let mut bare = bare;
    bare["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("nodeName");
    assert_eq!(
        pod_row(&bare, now()).cells[5..],
        [
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}
