//! The machine driven through each path with a fake world and hand-made times.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus,
    Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio::time::Instant;

use super::*;
use crate::behaviour::{ANNOTATION_PREFIX, BehaviourDefaults};

/// A node whose volumes and images a test controls.
#[derive(Default)]
struct FakeWorld {
    missing: RefCell<BTreeSet<String>>,
    images: RefCell<BTreeSet<String>>,
}

impl World for FakeWorld {
    fn mount_error(&self, _namespace: &str, volume: &Volume) -> Option<String> {
        let cm = volume.config_map.as_ref()?;
        self.missing.borrow().contains(&cm.name).then(|| {
            format!(
                "MountVolume.SetUp failed for volume {:?} : configmap {:?} not found",
                volume.name, cm.name
            )
        })
    }
    fn image_present(&self, image: &str) -> bool {
        self.images.borrow().contains(image)
    }
    fn image_pulled(&self, image: &str) {
        self.images.borrow_mut().insert(image.to_owned());
    }
}

/// Drives one machine, remembering everything it said.
struct Harness {
    m: PodMachine,
    world: FakeWorld,
    t0: Instant,
    wall0: jiff::Timestamp,
    events: Vec<(f64, PodEvent)>,
    status: PodStatus,
    statuses: Vec<(f64, PodStatus)>,
    next: Option<Instant>,
    confirmed: bool,
}

fn container(name: &str, image: &str) -> Container {
    Container {
        name: name.into(),
        image: Some(image.into()),
        ..Default::default()
    }
}

fn pod(annotations: &[(&str, &str)], spec: PodSpec) -> Pod {
    let mut all: BTreeMap<String, String> = annotations
        .iter()
        .map(|(k, v)| (format!("{ANNOTATION_PREFIX}{k}"), (*v).to_owned()))
        .collect();
    all.entry(format!("{ANNOTATION_PREFIX}jitter"))
        .or_insert_with(|| "0".into());
    Pod {
        metadata: ObjectMeta {
            name: Some("web-1".into()),
            namespace: Some("default".into()),
            uid: Some("uid-1".into()),
            generation: Some(1),
            annotations: Some(all),
            ..Default::default()
        },
        spec: Some(spec),
        status: Some(PodStatus {
            qos_class: Some("BestEffort".into()),
            ..Default::default()
        }),
    }
}

fn web() -> PodSpec {
    PodSpec {
        containers: vec![container("web", "nginx:1.27")],
        ..Default::default()
    }
}

impl Harness {
    fn new(pod: &Pod) -> Self {
        Self::with(pod, SimClock::default(), 1)
    }

    fn with(pod: &Pod, clock: SimClock, seed: u64) -> Self {
        let t0 = Instant::now();
        let wall0: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let behaviour = Behaviour::resolve(&BehaviourDefaults::default(), pod, seed).unwrap();
        let placement = Placement {
            node_name: "hollow-1".into(),
            host_ip: Ipv4Addr::new(10, 0, 0, 1),
            pod_ip: Ipv4Addr::new(10, 244, 1, 5),
        };
        let now = Now {
            at: t0,
            wall: wall0,
        };
        Self {
            m: PodMachine::new(pod, behaviour, placement, clock, now),
            world: FakeWorld::default(),
            t0,
            wall0,
            events: Vec::new(),
            status: PodStatus::default(),
            statuses: Vec::new(),
            next: None,
            confirmed: false,
        }
    }

    fn now(&self, secs: f64) -> Now {
        let d = Duration::from_secs_f64(secs);
        Now {
            at: self.t0 + d,
            wall: self.wall0.checked_add(d).unwrap(),
        }
    }

    fn secs(&self, at: Instant) -> f64 {
        (at - self.t0).as_secs_f64()
    }

    /// One `advance` at `secs`.
    fn step(&mut self, secs: f64) -> Output {
        let out = self.m.advance(self.now(secs), &self.world);
        for e in &out.events {
            self.events.push((secs, e.clone()));
        }
        if let Some(s) = &out.status {
            self.status = s.clone();
            self.statuses.push((secs, s.clone()));
        }
        self.next = out.next_wake;
        self.confirmed |= out.confirm_deletion;
        out
    }

    /// Advance at every wake-up until `secs` (and once at `secs`).
    fn run_until(&mut self, secs: f64) {
        self.step(self.secs(self.next.unwrap_or(self.t0)).min(secs));
        let mut guard = 0;
        while let Some(n) = self.next {
            let at = self.secs(n);
            if at > secs {
                break;
            }
            self.step(at);
            guard += 1;
            assert!(guard < 100_000, "the machine never settles");
        }
        self.step(secs);
    }

    fn reasons(&self) -> Vec<&str> {
        self.events.iter().map(|(_, e)| e.reason.as_str()).collect()
    }

    fn event(&self, reason: &str) -> Vec<(f64, &PodEvent)> {
        self.events
            .iter()
            .filter(|(_, e)| e.reason == reason)
            .map(|(t, e)| (*t, e))
            .collect()
    }

    fn container(&self, name: &str) -> ContainerStatus {
        self.status
            .container_statuses
            .iter()
            .flatten()
            .chain(self.status.init_container_statuses.iter().flatten())
            .find(|c| c.name == name)
            .cloned()
            .unwrap()
    }

    fn condition(&self, type_: &str) -> PodCondition {
        self.status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_)
            .cloned()
            .unwrap()
    }

    fn phase(&self) -> &str {
        self.status.phase.as_deref().unwrap()
    }

    fn waiting_reason(&self, name: &str) -> Option<String> {
        self.container(name).state?.waiting?.reason
    }
}

#[test]
fn a_plain_pod_goes_from_pending_to_running_with_status_events_and_ips() {
    let mut h = Harness::new(&pod(&[], web()));
    h.step(0.0);
    assert_eq!(h.phase(), "Pending");
    assert_eq!(
        h.waiting_reason("web").as_deref(),
        Some("ContainerCreating")
    );
    assert_eq!(h.status.pod_ip, None, "no IP before the sandbox");
    assert_eq!(h.status.host_ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(h.condition("PodReadyToStartContainers").status, "False");
    assert_eq!(h.condition("PodScheduled").status, "True");
    let ready = h.condition("Ready");
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        ready.message.as_deref(),
        Some("containers with unready status: [web]")
    );
    assert_eq!(h.secs(h.next.unwrap()), 0.5, "the sandbox takes 500ms");

    h.run_until(5.0);
    assert_eq!(h.phase(), "Running");
    assert_eq!(h.status.pod_ip.as_deref(), Some("10.244.1.5"));
    assert_eq!(h.status.pod_ips.as_ref().unwrap()[0].ip, "10.244.1.5");
    assert_eq!(h.status.qos_class.as_deref(), Some("BestEffort"));
    assert_eq!(h.status.start_time.as_ref().unwrap().0, h.wall0);
    for c in [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ] {
        assert_eq!(h.condition(c).status, "True", "{c}");
    }
    let web = h.container("web");
    assert!(web.ready && web.started == Some(true));
    assert_eq!(web.restart_count, 0);
    assert!(web.image_id.starts_with("docker.io/library/nginx@sha256:"));
    assert!(
        web.container_id
            .as_deref()
            .unwrap()
            .starts_with("containerd://")
    );
    let running = web.state.unwrap().running.unwrap();
    // Sandbox 0.5 s, pull 1 s, create 0.2 s: started at 1.7 s, written in whole seconds.
    assert_eq!(
        running.started_at.unwrap().0,
        h.wall0.checked_add(Duration::from_secs(1)).unwrap()
    );
    assert_eq!(h.reasons(), ["Pulling", "Pulled", "Created", "Started"]);
    let msgs: Vec<&str> = h.events.iter().map(|(_, e)| e.message.as_str()).collect();
    assert_eq!(msgs[0], "Pulling image \"nginx:1.27\"");
    assert!(
        msgs[1].starts_with(
            "Successfully pulled image \"nginx:1.27\" in 1s (1s including waiting). Image size: "
        ),
        "{}",
        msgs[1]
    );
    assert_eq!(msgs[2], "Container created");
    assert_eq!(msgs[3], "Container started");
    assert_eq!(
        h.events[0].1.field_path.as_deref(),
        Some("spec.containers{web}")
    );
    assert_eq!(
        h.next, None,
        "an idle running pod without probes never wakes"
    );
    assert!(h.step(100.0).status.is_none(), "nothing changed");
}

fn times(h: &Harness, reason: &str) -> Vec<f64> {
    h.event(reason).iter().map(|(t, _)| *t).collect()
}

fn with_policy(policy: &str) -> PodSpec {
    PodSpec {
        restart_policy: Some(policy.into()),
        ..web()
    }
}

/// A harness whose node already holds nginx:1.27, so starts skip the pull.
fn cached(pod: &Pod) -> Harness {
    let h = Harness::new(pod);
    h.world.images.borrow_mut().insert("nginx:1.27".into());
    h
}

#[test]
fn a_failing_pull_backs_off_from_10s_doubling_to_300s() {
    let spec = PodSpec {
        containers: vec![container("web", "nginx:doesnotexist")],
        ..Default::default()
    };
    let mut h = Harness::new(&pod(&[], spec));
    h.run_until(2.0);
    assert_eq!(h.waiting_reason("web").as_deref(), Some("ErrImagePull"));
    let failed: Vec<&str> = h
        .event("Failed")
        .iter()
        .map(|(_, e)| e.message.as_str())
        .collect();
    assert_eq!(
        failed[0],
        "Failed to pull image \"nginx:doesnotexist\": failed to pull and unpack image \"docker.io/library/nginx:doesnotexist\": failed to resolve reference \"docker.io/library/nginx:doesnotexist\": docker.io/library/nginx:doesnotexist: not found"
    );
    assert_eq!(failed[1], "Error: ErrImagePull");
    h.run_until(3.0);
    assert_eq!(h.waiting_reason("web").as_deref(), Some("ImagePullBackOff"));
    let backoff = h.event("BackOff");
    assert_eq!(
        backoff[0].1.message,
        "Back-off pulling image \"nginx:doesnotexist\""
    );
    assert_eq!(backoff[0].1.kind, EventKind::Normal);
    assert!(
        h.event("Failed")
            .iter()
            .any(|(_, e)| e.message == "Error: ImagePullBackOff")
    );
    let msg = h
        .container("web")
        .state
        .unwrap()
        .waiting
        .unwrap()
        .message
        .unwrap();
    assert!(
        msg.starts_with(
            "Back-off pulling image \"nginx:doesnotexist\": ErrImagePull: failed to pull"
        ),
        "{msg}"
    );
    h.run_until(1500.0);
    // Each pull fails 1 s after it begins; the next one comes when the back-off since that
    // failure ends.
    let pulls = times(&h, "Pulling");
    let gaps: Vec<f64> = pulls.windows(2).map(|w| w[1] - w[0] - 1.0).collect();
    assert_eq!(gaps[..7], [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]);
    assert_eq!(h.phase(), "Pending");
}

#[test]
fn never_pull_policy_without_the_image_waits_with_err_image_never_pull() {
    let mut spec = web();
    spec.containers[0].image_pull_policy = Some("Never".into());
    let mut h = Harness::new(&pod(&[], spec));
    h.run_until(2.0);
    assert_eq!(
        h.waiting_reason("web").as_deref(),
        Some("ErrImageNeverPull")
    );
    assert_eq!(
        h.event("ErrImageNeverPull")[0].1.message,
        "Container image \"nginx:1.27\" is not present with pull policy of Never"
    );
    // The image shows up on the node: the next sync starts the container.
    h.world.images.borrow_mut().insert("nginx:1.27".into());
    h.run_until(12.0);
    assert_eq!(h.phase(), "Running");
    assert_eq!(
        h.event("Pulled")[0].1.message,
        "Container image \"nginx:1.27\" already present on machine and can be accessed by the pod"
    );
}

#[test]
fn init_containers_run_in_order_before_the_app() {
    let spec = PodSpec {
        init_containers: Some(vec![
            container("init-a", "busybox:1.36"),
            container("init-b", "busybox:1.36"),
        ]),
        ..web()
    };
    let mut h = Harness::new(&pod(&[], spec));
    h.step(0.0);
    assert_eq!(h.waiting_reason("web").as_deref(), Some("PodInitializing"));
    assert_eq!(
        h.waiting_reason("init-a").as_deref(),
        Some("PodInitializing")
    );
    let init = h.condition("Initialized");
    assert_eq!(init.reason.as_deref(), Some("ContainersNotInitialized"));
    assert_eq!(
        init.message.as_deref(),
        Some("containers with incomplete status: [init-a init-b]")
    );
    h.run_until(2.0);
    assert_eq!(h.phase(), "Pending");
    assert!(h.container("init-a").state.unwrap().running.is_some());
    h.run_until(20.0);
    assert_eq!(h.phase(), "Running");
    let started: Vec<&str> = h
        .event("Started")
        .iter()
        .map(|(_, e)| e.field_path.as_deref().unwrap())
        .collect();
    assert_eq!(
        started,
        [
            "spec.initContainers{init-a}",
            "spec.initContainers{init-b}",
            "spec.containers{web}"
        ]
    );
    let a = h.container("init-a");
    let term = a.state.clone().unwrap().terminated.unwrap();
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (0, Some("Completed"))
    );
    assert!(a.ready, "a completed init container is ready");
    assert_eq!(h.condition("Initialized").status, "True");
}

#[test]
fn a_failing_init_container_fails_a_never_pod() {
    let spec = PodSpec {
        restart_policy: Some("Never".into()),
        init_containers: Some(vec![container("init", "busybox:1.36")]),
        ..web()
    };
    let mut h = Harness::new(&pod(&[("exit-code.init", "2")], spec));
    h.run_until(60.0);
    assert_eq!(h.phase(), "Failed");
    let term = h.container("init").state.unwrap().terminated.unwrap();
    assert_eq!((term.exit_code, term.reason.as_deref()), (2, Some("Error")));
    assert_eq!(h.waiting_reason("web").as_deref(), Some("PodInitializing"));
    assert!(
        h.event("Started")
            .iter()
            .all(|(_, e)| e.field_path.as_deref() != Some("spec.containers{web}"))
    );
    assert_eq!(h.next, None);
}

#[test]
fn a_failing_init_container_restarts_with_back_off_under_always() {
    let spec = PodSpec {
        init_containers: Some(vec![container("init", "busybox:1.36")]),
        ..web()
    };
    let mut h = Harness::new(&pod(&[("exit-code.init", "1")], spec));
    h.world.images.borrow_mut().insert("busybox:1.36".into());
    h.run_until(60.0);
    assert_eq!(h.phase(), "Pending");
    let init = h.container("init");
    assert!(init.restart_count >= 2, "{init:?}");
    assert_eq!(
        h.waiting_reason("init").as_deref(),
        Some("CrashLoopBackOff")
    );
    assert_eq!(h.condition("Initialized").status, "False");
}

#[rstest::rstest]
#[case("Always", 0, "Running", 1)]
#[case("Always", 1, "Running", 1)]
#[case("OnFailure", 0, "Succeeded", 0)]
#[case("OnFailure", 1, "Running", 1)]
#[case("Never", 0, "Succeeded", 0)]
#[case("Never", 1, "Failed", 0)]
fn an_exit_follows_the_restart_policy(
    #[case] policy: &str,
    #[case] code: i32,
    #[case] phase: &str,
    #[case] restarts: i32,
) {
    let code_s = code.to_string();
    let mut h = cached(&pod(
        &[("exit-after", "5s"), ("exit-code", &code_s)],
        with_policy(policy),
    ));
    h.run_until(8.0);
    assert_eq!(h.phase(), phase);
    let web = h.container("web");
    assert_eq!(web.restart_count, restarts);
    let reason = if code == 0 { "Completed" } else { "Error" };
    let term = if restarts > 0 {
        web.last_state.unwrap().terminated.unwrap()
    } else {
        web.state.unwrap().terminated.unwrap()
    };
    assert_eq!(
        (term.exit_code, term.reason.as_deref()),
        (code, Some(reason))
    );
    assert!(term.container_id.unwrap().starts_with("containerd://"));
    if phase == "Succeeded" {
        let ready = h.condition("Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("False", Some("PodCompleted"))
        );
        assert_eq!(h.next, None);
    }
}

/// `exit-code: 1,0`: the first run fails, the restart succeeds (upstream's "fail once, then
/// succeed" Job pods, done there with a marker file).
#[test]
fn exit_codes_by_run_fail_the_first_run_and_let_the_restart_succeed() {
    let mut h = cached(&pod(
        &[("exit-after", "5s"), ("exit-code", "1, 0")],
        with_policy("OnFailure"),
    ));
    h.run_until(60.0);
    assert_eq!(h.phase(), "Succeeded");
    let web = h.container("web");
    assert_eq!(web.restart_count, 1);
    let exit = |s: Option<k8s_openapi::api::core::v1::ContainerState>| {
        s.and_then(|s| s.terminated).map(|t| t.exit_code)
    };
    assert_eq!((exit(web.last_state), exit(web.state)), (Some(1), Some(0)));
}

#[test]
fn crash_loop_back_off_doubles_to_five_minutes() {
    let mut h = cached(&pod(&[("exit-after", "1s"), ("exit-code", "1")], web()));
    h.run_until(3.0);
    assert_eq!(
        h.container("web").restart_count,
        1,
        "the first restart is immediate"
    );
    h.run_until(4.0);
    assert_eq!(h.waiting_reason("web").as_deref(), Some("CrashLoopBackOff"));
    let waiting = h.container("web").state.unwrap().waiting.unwrap();
    assert_eq!(
        waiting.message.as_deref(),
        Some("back-off 10s restarting failed container=web pod=web-1_default(uid-1)")
    );
    let backoff = h.event("BackOff");
    assert_eq!(backoff[0].1.kind, EventKind::Warning);
    assert_eq!(
        backoff[0].1.message,
        "Back-off restarting failed container web in pod web-1_default(uid-1)"
    );
    h.run_until(2000.0);
    // Each run lasts 1 s and starts 0.2 s after the back-off ends.
    let starts = times(&h, "Started");
    let gaps: Vec<f64> = starts
        .windows(2)
        .map(|w| ((w[1] - w[0] - 1.2) * 10.0).round() / 10.0)
        .collect();
    assert_eq!(
        gaps[..8],
        [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    );
    assert_eq!(h.phase(), "Running");
}

#[test]
fn crash_loop_back_off_resets_after_ten_minutes_of_running() {
    let mut h = cached(&pod(&[("exit-after", "11m"), ("exit-code", "1")], web()));
    h.run_until(4.0 * 660.0 + 10.0);
    assert!(h.container("web").restart_count >= 3);
    assert!(h.event("BackOff").is_empty(), "{:?}", h.event("BackOff"));
}

#[test]
fn failed_mounts_retry_with_back_off_until_the_volume_appears() {
    let mut spec = web();
    spec.volumes = Some(vec![Volume {
        name: "cfg".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: "app-config".into(),
            ..Default::default()
        }),
        ..Default::default()
    }]);
    let mut h = Harness::new(&pod(&[], spec));
    h.world.missing.borrow_mut().insert("app-config".into());
    h.run_until(5.0);
    let mounts = h.event("FailedMount");
    assert_eq!(
        mounts[0].1.message,
        "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found"
    );
    assert_eq!(mounts[0].1.kind, EventKind::Warning);
    assert_eq!(times(&h, "FailedMount"), [0.0, 0.5, 1.5, 3.5]);
    assert_eq!(h.phase(), "Pending");
    assert_eq!(
        h.waiting_reason("web").as_deref(),
        Some("ContainerCreating")
    );
    h.world.missing.borrow_mut().clear();
    h.run_until(7.4);
    assert_eq!(h.phase(), "Pending");
    h.run_until(12.0);
    assert_eq!(h.phase(), "Running", "mounted at the retry at 7.5 s");
    assert_eq!(times(&h, "FailedMount").len(), 4);
}

#[test]
fn a_mount_that_never_comes_times_out_every_two_minutes() {
    let mut spec = web();
    spec.volumes = Some(vec![Volume {
        name: "cfg".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: "app-config".into(),
            ..Default::default()
        }),
        ..Default::default()
    }]);
    let mut h = Harness::new(&pod(&[], spec));
    h.world.missing.borrow_mut().insert("app-config".into());
    h.run_until(300.0);
    let timeouts: Vec<f64> = h
        .event("FailedMount")
        .iter()
        .filter(|(_, e)| e.message.starts_with("Unable"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(timeouts, [123.0, 246.0]);
    assert_eq!(
        h.event("FailedMount")
            .iter()
            .find(|(_, e)| e.message.starts_with("Unable"))
            .unwrap()
            .1
            .message,
        "Unable to attach or mount volumes: unmounted volumes=[cfg], unattached volumes=[], failed to process volumes=[]: timed out waiting for the condition"
    );
    // Retries every 2m2s at most.
    let retries = h.event("FailedMount").len() - timeouts.len();
    assert!((9..=11).contains(&retries), "{retries}");
    assert_eq!(h.phase(), "Pending");
}

#[test]
fn a_volume_appearing_between_retries_mounts_at_the_next_retry_even_past_the_timeout() {
    let mut spec = web();
    spec.volumes = Some(vec![Volume {
        name: "cfg".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: "app-config".into(),
            ..Default::default()
        }),
        ..Default::default()
    }]);
    let mut h = Harness::new(&pod(&[], spec));
    h.world.missing.borrow_mut().insert("app-config".into());
    h.run_until(100.0);
    h.world.missing.borrow_mut().clear();
    // Retries at 63.5 s and then 127.5 s; the wait times out at 123 s with nothing missing.
    h.run_until(127.0);
    assert_eq!(h.phase(), "Pending");
    h.run_until(140.0);
    assert_eq!(h.phase(), "Running");
    assert!(
        h.event("FailedMount")
            .iter()
            .all(|(_, e)| !e.message.starts_with("Unable"))
    );
}

#[test]
fn host_network_pods_get_the_host_ip() {
    let spec = PodSpec {
        host_network: Some(true),
        ..web()
    };
    let mut h = cached(&pod(&[], spec));
    h.run_until(5.0);
    assert_eq!(h.status.pod_ip.as_deref(), Some("10.0.0.1"));
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let run = |seed: u64| {
        let mut p = pod(&[("exit-after", "30s"), ("exit-code", "1")], web());
        p.metadata
            .annotations
            .as_mut()
            .unwrap()
            .remove("kubeproof.io/jitter");
        let mut h = Harness::with(&p, SimClock::default(), seed);
        h.run_until(300.0);
        (h.events.clone(), h.statuses.clone())
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn advance_is_idempotent_at_the_same_instant() {
    let mut h = cached(&pod(&[("exit-after", "3s")], web()));
    h.run_until(4.0);
    let again = h.step(4.0);
    assert!(again.status.is_none() && again.events.is_empty());
}

#[test]
fn a_faster_clock_runs_the_model_faster() {
    let mut h = Harness::with(
        &pod(&[("exit-after", "1s"), ("exit-code", "1")], web()),
        SimClock::new(10.0),
        1,
    );
    h.world.images.borrow_mut().insert("nginx:1.27".into());
    h.run_until(10.0);
    // Model time 100 s: restarts at about 0, 10, 20, 40 s of model time.
    assert_eq!(h.container("web").restart_count, 4);
}

#[test]
fn a_rejected_pod_reports_failed_once_and_never_wakes() {
    let p = pod(&[], web());
    let h = Harness::new(&p);
    let placement = h.m.placement.clone();
    let mut m = PodMachine::rejected(
        &p,
        placement,
        SimClock::default(),
        h.now(0.0),
        "OutOfcpu",
        "Node didn't have enough resource: cpu, requested: 2000, used: 7100, capacity: 8000",
    );
    let out = m.advance(h.now(0.0), &h.world);
    let status = out.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Failed"));
    assert_eq!(status.reason.as_deref(), Some("OutOfcpu"));
    assert_eq!(
        status.message.as_deref(),
        Some(
            "Pod was rejected: Node didn't have enough resource: cpu, requested: 2000, used: 7100, capacity: 8000"
        )
    );
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].kind, EventKind::Warning);
    assert_eq!(out.events[0].reason, "OutOfcpu");
    assert_eq!(out.next_wake, None);
    let again = m.advance(h.now(10.0), &h.world);
    assert!(again.status.is_none() && again.events.is_empty() && again.next_wake.is_none());
}

mod mixed;
mod probes;
mod stopping;

#[test]
fn a_running_pod_s_status_has_exactly_the_kubelet_s_fields() {
    let mut spec = web();
    spec.containers[0].volume_mounts = Some(vec![k8s_openapi::api::core::v1::VolumeMount {
        name: "kube-api-access".into(),
        mount_path: "/var/run/secrets/kubernetes.io/serviceaccount".into(),
        read_only: Some(true),
        ..Default::default()
    }]);
    let mut h = cached(&pod(&[], spec));
    h.run_until(5.0);
    let mut json = serde_json::to_value(&h.status).unwrap();
    let web = &mut json["containerStatuses"][0];
    let id = web["containerID"].as_str().unwrap().to_owned();
    assert!(id.starts_with("containerd://") && id.len() == "containerd://".len() + 64);
    web["containerID"] = "ID".into();
    let image = web["imageID"].as_str().unwrap().to_owned();
    assert!(image.starts_with("docker.io/library/nginx@sha256:"));
    web["imageID"] = "IMAGE".into();
    let t0 = "2026-01-01T00:00:00Z";
    let expected = serde_json::json!({
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": t0, "observedGeneration": 1},
            {"type": "Initialized", "status": "True", "lastTransitionTime": t0, "observedGeneration": 1},
            {"type": "Ready", "status": "True", "lastTransitionTime": t0, "observedGeneration": 1},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": t0, "observedGeneration": 1},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": t0, "observedGeneration": 1}
        ],
        "containerStatuses": [{
            "containerID": "ID",
            "image": "nginx:1.27",
            "imageID": "IMAGE",
            "lastState": {},
            "name": "web",
            "ready": true,
            "restartCount": 0,
            "started": true,
            "state": {"running": {"startedAt": t0}},
            "volumeMounts": [{
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": "kube-api-access",
                "readOnly": true,
                "recursiveReadOnly": "Disabled"
            }]
        }],
        "hostIP": "10.0.0.1",
        "hostIPs": [{"ip": "10.0.0.1"}],
        "observedGeneration": 1,
        "phase": "Running",
        "podIP": "10.244.1.5",
        "podIPs": [{"ip": "10.244.1.5"}],
        "qosClass": "BestEffort",
        "startTime": t0
    });
    assert_eq!(json, expected);
}

#[test]
fn a_ready_condition_overwritten_by_someone_else_is_sent_again_on_resend() {
    let mut h = Harness::new(&pod(&[], web()));
    h.run_until(5.0);
    assert_eq!(h.condition("Ready").status, "True");
    let ours = h.status.clone();
    assert!(!h.m.disagrees(&ours), "the echo of our own status");
    let mut marked = ours.clone();
    for c in marked.conditions.iter_mut().flatten() {
        if c.type_ == "Ready" {
            c.status = "False".into();
        }
    }
    assert!(h.m.disagrees(&marked), "the node controller's Ready=False");
    let mut finished = marked.clone();
    finished.phase = Some("Failed".into());
    assert!(
        !h.m.disagrees(&finished),
        "another phase is someone's decision the machine does not undo"
    );
    assert!(h.step(6.0).status.is_none(), "nothing changed");
    h.m.resend();
    let again = h.step(6.0).status.expect("resend returns the status");
    assert_eq!(again.phase.as_deref(), Some("Running"));
    assert!(
        again
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    );
}
