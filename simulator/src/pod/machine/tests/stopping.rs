//! preStop hooks and graceful deletion.

use super::*;

fn pre_stop(spec: &mut PodSpec) {
    use k8s_openapi::api::core::v1::{ExecAction, Lifecycle, LifecycleHandler};
    spec.containers[0].lifecycle = Some(Lifecycle {
        pre_stop: Some(LifecycleHandler {
            exec: Some(ExecAction {
                command: Some(vec!["sleep".into(), "2".into()]),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
}

pub(super) fn delete(h: &mut Harness, at: f64, grace: i64) {
    let mut p = pod(&[], web());
    p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        h.now(at).wall,
    ));
    p.metadata.deletion_grace_period_seconds = Some(grace);
    p.status = Some(h.status.clone());
    h.m.observe(&p, h.now(at));
}

#[test]
fn graceful_deletion_runs_pre_stop_then_stops_and_confirms() {
    let mut spec = web();
    pre_stop(&mut spec);
    let mut h = cached(&pod(&[("prestop-duration", "2s")], spec));
    h.run_until(5.0);
    delete(&mut h, 5.0, 30);
    h.run_until(6.9);
    assert!(!h.confirmed);
    assert_eq!(h.event("Killing")[0].1.message, "Stopping container web");
    h.run_until(7.0);
    assert!(h.confirmed);
    let term = h.container("web").state.unwrap().terminated.unwrap();
    assert_eq!(term.exit_code, 0);
    assert_eq!(h.phase(), "Succeeded");
    assert_eq!(h.next, None);
}

#[test]
fn a_container_ignoring_sigterm_is_killed_at_the_end_of_the_grace_period() {
    let mut spec = web();
    pre_stop(&mut spec);
    let mut h = cached(&pod(
        &[
            ("prestop-duration", "2s"),
            ("prestop-fail", "true"),
            ("ignore-sigterm", "true"),
        ],
        spec,
    ));
    h.run_until(5.0);
    delete(&mut h, 5.0, 10);
    h.run_until(14.9);
    assert!(!h.confirmed);
    assert_eq!(h.event("FailedPreStopHook")[0].0, 7.0);
    assert_eq!(
        h.event("FailedPreStopHook")[0].1.message,
        "PreStopHook failed"
    );
    h.run_until(15.0);
    assert!(h.confirmed);
    let term = h.container("web").state.unwrap().terminated.unwrap();
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (137, Some("Error"))
    );
    assert_eq!(h.phase(), "Failed");
}

#[test]
fn deleting_a_pending_pod_confirms_at_once() {
    let mut h = Harness::new(&pod(&[], web()));
    h.step(0.0);
    delete(&mut h, 0.1, 30);
    h.run_until(0.2);
    assert!(h.confirmed);
    let term = h.container("web").state.unwrap().terminated.unwrap();
    assert_eq!(term.reason.as_deref(), Some("ContainerStatusUnknown"));
    assert_eq!(h.phase(), "Failed");
}

#[test]
fn deleting_a_crash_looping_pod_ends_it_at_once() {
    let mut h = cached(&pod(&[("exit-after", "1s"), ("exit-code", "1")], web()));
    h.run_until(5.0);
    assert_eq!(h.waiting_reason("web").as_deref(), Some("CrashLoopBackOff"));
    delete(&mut h, 5.0, 30);
    h.run_until(5.0);
    assert!(h.confirmed);
    let web = h.container("web");
    assert_eq!(web.state.unwrap().terminated.unwrap().exit_code, 1);
    assert_eq!(h.phase(), "Failed");
    assert!(h.event("Killing").is_empty(), "nothing was running");
}

#[test]
fn sidecars_start_before_the_app_and_stop_when_a_job_finishes() {
    let mut sidecar = container("proxy", "nginx:1.27");
    sidecar.restart_policy = Some("Always".into());
    let spec = PodSpec {
        restart_policy: Some("Never".into()),
        init_containers: Some(vec![sidecar]),
        ..web()
    };
    let mut h = cached(&pod(&[("exit-after.web", "10s")], spec));
    h.run_until(2.0);
    assert_eq!(h.phase(), "Running");
    assert!(h.container("proxy").state.unwrap().running.is_some());
    assert!(h.container("web").state.unwrap().running.is_some());
    assert_eq!(h.condition("Ready").status, "True");
    let started: Vec<String> = h
        .event("Started")
        .iter()
        .map(|(_, e)| e.field_path.clone().unwrap())
        .collect();
    assert_eq!(
        started,
        ["spec.initContainers{proxy}", "spec.containers{web}"]
    );
    h.run_until(20.0);
    assert_eq!(h.phase(), "Succeeded");
    assert!(h.container("proxy").state.unwrap().terminated.is_some());
    assert_eq!(h.next, None);
}

#[test]
fn a_finished_pod_keeps_its_ip_and_loses_its_sandbox() {
    let mut h = cached(&pod(&[("exit-after", "2s")], with_policy("Never")));
    h.run_until(1.0);
    assert_eq!(h.condition("PodReadyToStartContainers").status, "True");
    h.run_until(5.0);
    assert_eq!(h.phase(), "Succeeded");
    assert_eq!(h.condition("PodReadyToStartContainers").status, "False");
    assert_eq!(h.status.pod_ip.as_deref(), Some("10.244.1.5"));
    let init = h.condition("Initialized");
    assert_eq!(
        (init.status.as_str(), init.reason.as_deref()),
        ("True", Some("PodCompleted"))
    );
}

#[test]
fn conditions_keep_their_transition_times_across_restarts() {
    let mut h = cached(&pod(&[("exit-after", "3s")], web()));
    h.run_until(2.0);
    let scheduled = h.condition("PodScheduled").last_transition_time;
    let initialized = h.condition("Initialized").last_transition_time;
    assert_eq!(
        h.condition("Ready").last_transition_time.unwrap().0,
        h.wall0
    );
    h.run_until(100.0);
    assert!(h.container("web").restart_count >= 3);
    assert_eq!(h.condition("PodScheduled").last_transition_time, scheduled);
    assert_eq!(h.condition("Initialized").last_transition_time, initialized);
    assert_eq!(h.status.observed_generation, Some(1));
    assert_eq!(h.condition("Ready").observed_generation, Some(1));
}

#[test]
fn a_failed_pod_says_so_in_its_ready_conditions() {
    let mut h = cached(&pod(
        &[("exit-after", "1s"), ("exit-code", "3")],
        with_policy("Never"),
    ));
    h.run_until(5.0);
    assert_eq!(h.phase(), "Failed");
    for c in ["Ready", "ContainersReady"] {
        let cond = h.condition(c);
        assert_eq!(
            (cond.status.as_str(), cond.reason.as_deref()),
            ("False", Some("PodFailed")),
            "{c}"
        );
    }
}

fn with_image(image: &str) -> Pod {
    let mut p = pod(&[], web());
    p.spec.as_mut().unwrap().containers[0].image = Some(image.into());
    p
}

#[test]
fn a_new_image_restarts_a_running_container() {
    let mut h = cached(&pod(&[], web()));
    h.run_until(5.0);
    let p = with_image("nginx:1.28");
    h.m.observe(&p, h.now(5.0));
    h.run_until(10.0);
    assert_eq!(
        h.event("Killing")[0].1.message,
        "Container web definition changed, will be restarted"
    );
    let web = h.container("web");
    assert_eq!(web.image, "nginx:1.28");
    assert_eq!(web.restart_count, 1);
    assert!(web.state.unwrap().running.is_some());
    assert_eq!(
        h.event("Pulling")[0].1.message,
        "Pulling image \"nginx:1.28\""
    );
}

#[test]
fn fixing_the_image_of_a_pod_in_image_pull_back_off_pulls_at_once() {
    let spec = PodSpec {
        containers: vec![container("web", "nginx:doesnotexist")],
        ..Default::default()
    };
    let mut h = Harness::new(&pod(&[], spec));
    h.run_until(20.0);
    assert_eq!(h.waiting_reason("web").as_deref(), Some("ImagePullBackOff"));
    h.m.observe(&with_image("nginx:1.27"), h.now(20.0));
    h.run_until(21.5);
    assert_eq!(h.phase(), "Running", "{:#?} {:#?}", h.events, h.status);
    assert_eq!(h.container("web").restart_count, 0);
}

#[test]
fn active_deadline_seconds_fails_the_pod() {
    let spec = PodSpec {
        active_deadline_seconds: Some(10),
        ..web()
    };
    let mut h = cached(&pod(&[], spec));
    h.run_until(9.9);
    assert_eq!(h.phase(), "Running");
    h.run_until(10.0);
    let e = h.event("DeadlineExceeded");
    assert_eq!(e[0].1.kind, EventKind::Normal);
    assert_eq!(
        e[0].1.message,
        "Pod was active on the node longer than the specified deadline"
    );
    assert_eq!(h.event("Killing")[0].1.message, "Stopping container web");
    assert_eq!(h.phase(), "Failed");
    assert_eq!(h.status.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(
        h.status.message.as_deref(),
        Some("Pod was active on the node longer than the specified deadline")
    );
    assert!(h.container("web").state.unwrap().terminated.is_some());
    assert_eq!(h.next, None);
}
