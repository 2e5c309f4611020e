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

fn delete(h: &mut Harness, at: f64, grace: i64) {
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
