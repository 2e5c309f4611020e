//! Probes, probe faults, container kills and postStart hooks.

use super::*;

pub(super) fn http_probe(
    period: i32,
    initial: i32,
    success: i32,
    failure: i32,
) -> k8s_openapi::api::core::v1::Probe {
    use k8s_openapi::api::core::v1::{HTTPGetAction, Probe};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::Int(8080),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        initial_delay_seconds: Some(initial),
        success_threshold: Some(success),
        failure_threshold: Some(failure),
        timeout_seconds: Some(1),
        ..Default::default()
    }
}

pub(super) fn probed(
    readiness: Option<k8s_openapi::api::core::v1::Probe>,
    liveness: Option<k8s_openapi::api::core::v1::Probe>,
    startup: Option<k8s_openapi::api::core::v1::Probe>,
) -> PodSpec {
    let mut spec = web();
    spec.containers[0].readiness_probe = readiness;
    spec.containers[0].liveness_probe = liveness;
    spec.containers[0].startup_probe = startup;
    spec
}

/// Seconds after the container started (it starts at 0.7 s with a cached image).
const START: f64 = 0.7;

fn unhealthy(h: &Harness) -> Vec<(f64, String)> {
    h.event("Unhealthy")
        .iter()
        .map(|(t, e)| (((t - START) * 10.0).round() / 10.0, e.message.clone()))
        .collect()
}

#[test]
fn readiness_honours_initial_delay_period_and_success_threshold() {
    let spec = probed(Some(http_probe(2, 1, 2, 3)), None, None);
    let mut h = cached(&pod(&[("ready-after", "5s")], spec));
    h.run_until(START + 6.9);
    assert_eq!(h.phase(), "Running");
    assert!(!h.container("web").ready);
    assert_eq!(
        h.condition("Ready").message.as_deref(),
        Some("containers with unready status: [web]")
    );
    let fails = unhealthy(&h);
    assert_eq!(
        fails,
        [
            (
                1.0,
                "Readiness probe failed: HTTP probe failed with statuscode: 500".to_owned()
            ),
            (
                3.0,
                "Readiness probe failed: HTTP probe failed with statuscode: 500".to_owned()
            )
        ]
    );
    // Successes at 5 s and 7 s: the second reaches the threshold.
    h.run_until(START + 7.0);
    assert!(h.container("web").ready);
    assert_eq!(h.condition("Ready").status, "True");
    let ready_at = h.condition("Ready").last_transition_time.unwrap().0;
    assert_eq!(
        ready_at,
        h.wall0.checked_add(Duration::from_secs(7)).unwrap()
    );
    assert_eq!(h.next, None, "ready and healthy for good: no more wake-ups");
}

#[test]
fn readiness_failure_flips_ready_without_a_restart() {
    let spec = probed(Some(http_probe(1, 0, 1, 3)), None, None);
    let mut h = cached(&pod(&[("readiness-fail-after", "10s")], spec));
    h.run_until(START + 9.5);
    assert!(h.container("web").ready);
    h.run_until(START + 11.5);
    assert!(
        h.container("web").ready,
        "two failures are below the threshold"
    );
    h.run_until(START + 12.0);
    let web = h.container("web");
    assert!(!web.ready);
    assert_eq!(web.restart_count, 0);
    assert_eq!(h.phase(), "Running");
    assert_eq!(h.condition("ContainersReady").status, "False");
    assert!(h.event("Killing").is_empty());
    // A failing readiness probe keeps probing (and reporting) every period.
    assert_eq!(h.secs(h.next.unwrap()), START + 13.0);
}

#[test]
fn liveness_failure_restarts_the_container_not_the_pod() {
    let spec = probed(None, Some(http_probe(3, 0, 1, 2)), None);
    let mut h = cached(&pod(&[("liveness-fail-after", "10s")], spec));
    h.run_until(START + 14.0);
    assert!(h.event("Killing").is_empty());
    h.run_until(START + 15.5);
    let fails = unhealthy(&h);
    assert_eq!(fails.iter().map(|f| f.0).collect::<Vec<_>>(), [12.0, 15.0]);
    assert_eq!(
        fails[0].1,
        "Liveness probe failed: HTTP probe failed with statuscode: 500"
    );
    let killing = h.event("Killing");
    assert_eq!(
        killing[0].1.message,
        "Container web failed liveness probe, will be restarted"
    );
    let web = h.container("web");
    assert_eq!(web.restart_count, 1);
    let last = web.last_state.unwrap().terminated.unwrap();
    assert_eq!(
        (last.exit_code, last.reason.as_deref()),
        (0, Some("Completed"))
    );
    assert_eq!(h.phase(), "Running");
}

#[test]
fn a_liveness_kill_of_a_container_ignoring_sigterm_waits_for_the_grace_period() {
    let mut spec = probed(None, Some(http_probe(1, 0, 1, 1)), None);
    spec.termination_grace_period_seconds = Some(5);
    let mut h = cached(&pod(
        &[("liveness-fail-after", "2s"), ("ignore-sigterm", "true")],
        spec,
    ));
    h.run_until(START + 6.9);
    assert_eq!(
        h.container("web").restart_count,
        0,
        "still running during the grace"
    );
    h.run_until(START + 8.0);
    let web = h.container("web");
    assert_eq!(web.restart_count, 1);
    let last = web.last_state.unwrap().terminated.unwrap();
    assert_eq!(
        (last.exit_code, last.reason.as_deref()),
        (137, Some("Error"))
    );
}

#[rstest::rstest]
#[case(1, true)]
#[case(3, false)]
fn a_probe_slower_than_its_timeout_fails(#[case] timeout: i32, #[case] fails: bool) {
    let mut probe = http_probe(1, 0, 1, 1);
    probe.timeout_seconds = Some(timeout);
    let mut h = cached(&pod(
        &[("probe-latency", "2s")],
        probed(Some(probe), None, None),
    ));
    h.run_until(START + 3.0);
    assert_eq!(h.container("web").ready, !fails);
    if fails {
        assert_eq!(
            unhealthy(&h)[0].1,
            "Readiness probe failed: Get \"http://10.244.1.5:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        );
    }
}

#[test]
fn the_startup_probe_gates_readiness_and_liveness() {
    let spec = probed(
        Some(http_probe(1, 0, 1, 3)),
        Some(http_probe(1, 0, 1, 1)),
        Some(http_probe(2, 0, 1, 30)),
    );
    let mut h = cached(&pod(
        &[("startup-after", "7s"), ("liveness-fail-after", "3s")],
        spec,
    ));
    h.run_until(START + 7.5);
    let web = h.container("web");
    assert_eq!(web.started, Some(false));
    assert!(!web.ready);
    assert!(
        h.event("Killing").is_empty(),
        "liveness does not run before startup passes"
    );
    let kinds: BTreeSet<String> = unhealthy(&h)
        .iter()
        .map(|(_, m)| m.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["Startup".to_owned()]));
    // Startup probes at 0, 2, 4, 6 fail and at 8 succeeds; liveness (failing since 3 s) then
    // kills the container at once.
    h.run_until(START + 8.5);
    let killing = h.event("Killing");
    assert_eq!(killing.len(), 1);
    assert_eq!(killing[0].0, START + 8.0);
}

#[test]
fn a_failing_startup_probe_restarts_the_container() {
    let spec = probed(None, None, Some(http_probe(1, 0, 1, 3)));
    let mut h = cached(&pod(&[("startup-after", "1h")], spec));
    h.run_until(START + 3.0);
    assert_eq!(
        h.event("Killing")[0].1.message,
        "Container web failed startup probe, will be restarted"
    );
    assert_eq!(h.container("web").restart_count, 1);
}

#[rstest::rstest]
#[case(
    "tcp",
    "Liveness probe failed: dial tcp 10.244.1.5:8080: connect: connection refused"
)]
#[case("exec", "Liveness probe failed: ")]
#[case(
    "grpc",
    "Liveness probe failed: service unhealthy (responded with \"NOT_SERVING\")"
)]
fn probe_failures_are_worded_by_probe_type(#[case] kind: &str, #[case] want: &str) {
    use k8s_openapi::api::core::v1::{ExecAction, GRPCAction, Probe, TCPSocketAction};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let mut probe = Probe {
        period_seconds: Some(1),
        failure_threshold: Some(5),
        ..Default::default()
    };
    match kind {
        "tcp" => {
            probe.tcp_socket = Some(TCPSocketAction {
                port: IntOrString::String("http".into()),
                ..Default::default()
            })
        }
        "exec" => {
            probe.exec = Some(ExecAction {
                command: Some(vec!["cat".into(), "/tmp/healthy".into()]),
            })
        }
        _ => {
            probe.grpc = Some(GRPCAction {
                port: 9090,
                ..Default::default()
            })
        }
    }
    let mut spec = probed(None, Some(probe), None);
    spec.containers[0].ports = Some(vec![k8s_openapi::api::core::v1::ContainerPort {
        name: Some("http".into()),
        container_port: 8080,
        ..Default::default()
    }]);
    let mut h = cached(&pod(&[("liveness-fail-after", "0s")], spec));
    h.run_until(START + 0.5);
    assert_eq!(unhealthy(&h)[0].1, want);
}

#[test]
fn override_probe_forces_an_outcome_and_none_returns_to_the_model() {
    let spec = probed(Some(http_probe(1, 0, 1, 1)), None, None);
    let mut h = cached(&pod(&[], spec));
    h.run_until(START + 5.0);
    assert!(h.container("web").ready);
    assert_eq!(h.next, None);
    assert!(h.m.override_probe("web", ProbeKind::Readiness, Some(true)));
    assert!(!h.m.override_probe("nope", ProbeKind::Readiness, Some(true)));
    h.run_until(START + 7.0);
    assert!(!h.container("web").ready);
    assert!(h.m.override_probe("web", ProbeKind::Readiness, None));
    h.run_until(START + 9.0);
    assert!(h.container("web").ready);
    assert_eq!(h.next, None);
}

#[test]
fn kill_container_ends_it_with_137_and_restarts_it() {
    let mut h = cached(&pod(&[], web()));
    h.run_until(5.0);
    assert!(h.m.kill_container("web", h.now(5.0)));
    assert!(!h.m.kill_container("db", h.now(5.0)));
    h.run_until(5.5);
    let web = h.container("web");
    assert_eq!(web.restart_count, 1);
    let last = web.last_state.unwrap().terminated.unwrap();
    assert_eq!(
        (last.exit_code, last.reason.as_deref()),
        (137, Some("Error"))
    );
    assert_ne!(
        last.container_id, web.container_id,
        "a new container per restart"
    );
    assert_eq!(h.phase(), "Running");
}

#[test]
fn post_start_holds_the_container_until_it_finishes() {
    use k8s_openapi::api::core::v1::{ExecAction, Lifecycle, LifecycleHandler};
    let mut spec = web();
    spec.containers[0].lifecycle = Some(Lifecycle {
        post_start: Some(LifecycleHandler {
            exec: Some(ExecAction {
                command: Some(vec!["true".into()]),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let mut h = cached(&pod(&[("poststart-duration", "3s")], spec.clone()));
    h.run_until(START + 2.0);
    assert_eq!(
        h.waiting_reason("web").as_deref(),
        Some("ContainerCreating")
    );
    assert_eq!(h.phase(), "Pending");
    h.run_until(START + 3.0);
    assert_eq!(h.phase(), "Running");
    assert!(h.container("web").ready);

    let mut h = cached(&pod(&[("poststart-fail", "true")], spec));
    h.run_until(START + 0.5);
    assert_eq!(
        h.event("FailedPostStartHook")[0].1.message,
        "PostStartHook failed"
    );
    assert_eq!(h.event("Killing")[0].1.message, "FailedPostStartHook");
    assert!(h.container("web").restart_count >= 1);
}
