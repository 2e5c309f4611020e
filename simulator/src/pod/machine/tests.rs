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
    assert_eq!(msgs[2], "Created container: web");
    assert_eq!(msgs[3], "Started container web");
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
