//! One container of a hollow pod: where it is in its lifecycle ([`Step`]), its current and
//! previous instances, its back-offs, and how the kubelet would report it
//! (`convertToAPIContainerStatuses` in `pkg/kubelet/kubelet_pods.go`).

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, VolumeMountStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::time::Instant;

use super::ProbeKind;
use super::backoff::Backoff;
use super::ids;
use super::probes::{ProbeSpec, Worker};
use crate::behaviour::ContainerBehaviour;

/// Where a container is. The kubelet starts containers one after the other within a pod sync,
/// so at most one container of a pod is in `Pulling`, `Creating` or `PostStart` at a time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    /// Wants to start (first time or restart) as soon as its turn comes.
    Idle,
    /// Pulling its image until `done`.
    Pulling { done: Instant, began: Instant },
    /// The image could not be had (pull failed, back-off, `Never`): try again at `at`.
    PullRetry { at: Instant },
    /// Being created and started until `done`.
    Creating { done: Instant },
    /// Started; its postStart hook runs until `done`. The kubelet's pod worker is blocked in
    /// the hook, so the API still shows the container as it was before.
    PostStart { done: Instant },
    /// Running (see its `run`).
    Running,
    /// Being stopped: preStop until `hook_done`, then the process exits at `exit` with `code`.
    Stopping {
        hook_done: Option<Instant>,
        exit: Instant,
        code: i32,
        /// Restart afterwards whatever the exit code (a liveness or startup kill).
        force_restart: bool,
    },
    /// Waiting out CrashLoopBackOff until `until`.
    CrashBackOff { until: Instant },
    /// Will not run again.
    Done,
}

/// A running instance.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Run {
    pub id: String,
    pub started_wall: Time,
    pub started_at: Instant,
    /// `started`: the startup probe passed (or there is none) and postStart finished.
    pub started: bool,
    /// The readiness probe's result (or `started` when there is none).
    pub ready: bool,
    /// Whether the API may see it yet (false during postStart).
    pub visible: bool,
    /// When it exits by itself.
    pub exit_at: Option<Instant>,
    pub workers: Vec<Worker>,
}

/// A finished instance.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Term {
    pub id: String,
    pub code: i32,
    pub reason: String,
    pub message: Option<String>,
    pub started: Time,
    pub finished: Time,
    pub finished_at: Instant,
}

impl Term {
    fn state(&self) -> ContainerState {
        ContainerState {
            terminated: Some(ContainerStateTerminated {
                container_id: Some(self.id.clone()),
                exit_code: self.code,
                reason: Some(self.reason.clone()),
                message: self.message.clone(),
                started_at: Some(self.started.clone()),
                finished_at: Some(self.finished.clone()),
                signal: None,
            }),
            ..Default::default()
        }
    }
}

/// One container and everything the machine knows about it.
#[derive(Clone, Debug)]
pub(crate) struct Ctr {
    name: String,
    image: String,
    pull_policy: &'static str,
    /// Whether the spec has a postStart / preStop hook.
    pub post_start: bool,
    pub pre_stop: bool,
    /// `status.volumeMounts`, worked out once.
    volume_mounts: Option<Vec<VolumeMountStatus>>,
    pub init: bool,
    pub sidecar: bool,
    pub b: ContainerBehaviour,
    pub probes: Vec<ProbeSpec>,
    pub step: Step,
    /// The kubelet's reason cache: why the last start attempt failed (`ErrImagePull`,
    /// `CrashLoopBackOff`, …) and its message; `None` once a start succeeds.
    pub waiting: Option<(String, String)>,
    pub restart_count: i32,
    pub run: Option<Run>,
    /// The latest instance, once it ended.
    pub term: Option<Term>,
    /// The instance before the current one (`lastState`).
    pub last: Option<Term>,
    pub crash: Backoff,
    pub pull: Backoff,
    /// The image's digest once pulled or found (`imageID`).
    pub image_id: Option<String>,
    /// Probe overrides from faults, per kind (`Some(true)`: fail).
    pub forced: [Option<bool>; 3],
    /// Instances created so far (for container IDs).
    pub instances: u32,
    /// The image (and its pull policy) the spec changed to while this container ran.
    pub next_image: Option<(String, &'static str)>,
    /// Restart after the next exit whatever the policy (the spec changed).
    pub restart_once: bool,
}

/// Index of a probe kind in per-kind arrays.
pub(crate) fn kind_index(kind: ProbeKind) -> usize {
    match kind {
        ProbeKind::Startup => 0,
        ProbeKind::Readiness => 1,
        ProbeKind::Liveness => 2,
    }
}

impl Ctr {
    /// A container not yet started.
    pub fn new(spec: &Container, init: bool, b: ContainerBehaviour) -> Self {
        let probes = [
            ProbeKind::Startup,
            ProbeKind::Readiness,
            ProbeKind::Liveness,
        ]
        .into_iter()
        .filter_map(|k| ProbeSpec::of(spec, k))
        .collect();
        Self {
            sidecar: init && super::status::is_sidecar(spec),
            name: spec.name.clone(),
            image: spec.image.clone().unwrap_or_default(),
            pull_policy: pull_policy(spec),
            post_start: spec
                .lifecycle
                .as_ref()
                .is_some_and(|l| l.post_start.is_some()),
            pre_stop: spec
                .lifecycle
                .as_ref()
                .is_some_and(|l| l.pre_stop.is_some()),
            volume_mounts: volume_mounts(spec),
            init,
            b,
            probes,
            step: Step::Idle,
            waiting: None,
            restart_count: 0,
            run: None,
            term: None,
            last: None,
            crash: Backoff::default(),
            pull: Backoff::default(),
            image_id: None,
            forced: [None; 3],
            instances: 0,
            next_image: None,
            restart_once: false,
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The image as the pod gives it.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Use `image` from now on: a new image has its own pull back-off and digest.
    pub fn set_image(&mut self, image: &str, pull_policy: &'static str) {
        self.image = image.to_owned();
        self.pull_policy = pull_policy;
        self.pull = Backoff::default();
        self.image_id = None;
    }

    /// The probe of `kind`, if the container has one.
    pub fn probe(&self, kind: ProbeKind) -> Option<&ProbeSpec> {
        self.probes.iter().find(|p| p.kind == kind)
    }

    /// The image pull policy.
    pub fn pull_policy(&self) -> &str {
        self.pull_policy
    }

    /// Whether an init container has done its part: exited 0, or (a sidecar) started.
    pub fn init_complete(&self) -> bool {
        if self.sidecar {
            return self.run.as_ref().is_some_and(|r| r.visible && r.started)
                || self.restart_count > 0;
        }
        self.step == Step::Done && self.term.as_ref().is_some_and(|t| t.code == 0)
    }

    /// The container's status as the kubelet reports it. `default_reason` is
    /// `ContainerCreating`, or `PodInitializing` for pods with init containers.
    pub fn status(&self, default_reason: &str, pod_terminal: bool) -> ContainerStatus {
        let visible_run = self.run.as_ref().filter(|r| r.visible);
        let empty = ContainerState::default();
        let (state, last) = if let Some(run) = visible_run {
            let state = ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(run.started_wall.clone()),
                }),
                ..Default::default()
            };
            (state, self.last.as_ref().map(Term::state))
        } else if let (Some((reason, message)), Some(term), false) =
            (&self.waiting, &self.term, pod_terminal)
        {
            (waiting(reason, message), Some(term.state()))
        } else if let Some(term) = &self.term {
            (term.state(), self.last.as_ref().map(Term::state))
        } else if pod_terminal {
            // A container that never ran when its pod ended, as upstream reports it.
            let state = ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 137,
                    reason: Some("ContainerStatusUnknown".into()),
                    message: Some(
                        "The container could not be located when the pod was terminated".into(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            };
            (state, None)
        } else if let Some((reason, message)) = &self.waiting {
            (waiting(reason, message), None)
        } else {
            (waiting(default_reason, ""), None)
        };
        let ran = visible_run.is_some() || self.term.is_some();
        let container_id = visible_run
            .map(|r| r.id.clone())
            .or_else(|| self.term.as_ref().map(|t| t.id.clone()));
        let completed_init = self.init
            && !self.sidecar
            && visible_run.is_none()
            && self.term.as_ref().is_some_and(|t| t.code == 0)
            && self.waiting.is_none();
        ContainerStatus {
            name: self.name.clone(),
            image: self.image().to_owned(),
            image_id: if ran {
                self.image_id.clone().unwrap_or_default()
            } else {
                String::new()
            },
            container_id,
            started: Some(visible_run.is_some_and(|r| r.started)),
            ready: visible_run.is_some_and(|r| r.ready) || completed_init,
            restart_count: self.restart_count,
            state: Some(state),
            last_state: Some(last.unwrap_or(empty)),
            volume_mounts: if ran {
                self.volume_mounts.clone()
            } else {
                None
            },
            ..Default::default()
        }
    }

    /// A new instance's container ID.
    pub fn next_id(&mut self, seed: u64, pod_uid: &str) -> String {
        let id = ids::container_id(seed, pod_uid, &self.name, self.instances);
        self.instances += 1;
        id
    }
}

/// The image pull policy, defaulted as the API server does when missing.
pub(crate) fn pull_policy(spec: &Container) -> &'static str {
    match spec.image_pull_policy.as_deref() {
        Some("Always") => "Always",
        Some("Never") => "Never",
        Some(_) => "IfNotPresent",
        None => {
            let image = spec.image.as_deref().unwrap_or_default();
            let last = image.rsplit('/').next().unwrap_or_default();
            let tag = last.split_once(':').map(|(_, t)| t);
            if image.contains('@') || tag.is_some_and(|t| t != "latest") {
                "IfNotPresent"
            } else {
                "Always"
            }
        }
    }
}

/// `status.volumeMounts`, reported for containers the runtime knows.
fn volume_mounts(spec: &Container) -> Option<Vec<VolumeMountStatus>> {
    let mounts = spec.volume_mounts.as_ref()?;
    Some(
        mounts
            .iter()
            .map(|m| VolumeMountStatus {
                name: m.name.clone(),
                mount_path: m.mount_path.clone(),
                read_only: m.read_only.filter(|r| *r),
                recursive_read_only: m.read_only.filter(|r| *r).map(|_| "Disabled".to_owned()),
                volume_status: None,
            })
            .collect(),
    )
}

fn waiting(reason: &str, message: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_owned()),
            message: (!message.is_empty()).then(|| message.to_owned()),
        }),
        ..Default::default()
    }
}
