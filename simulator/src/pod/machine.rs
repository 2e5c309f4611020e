//! The hollow pod's lifecycle, as the kubelet runs it:
//!
//! ```text
//! Mounting ──volumes ok──▶ Sandbox ──ready──▶ Active ──all stopped──▶ Stopped
//!   │ FailedMount, retry with back-off         │ init containers in order, then the others:
//!   ▼                                          │ pull ▶ create/start ▶ postStart ▶ running
//!                                              │ ▶ exit ▶ restart per policy (CrashLoopBackOff)
//! deletionTimestamp: preStop, SIGTERM, SIGKILL at the end of the grace ▶ confirm the deletion
//! ```
//!
//! [`PodMachine::advance`] replays every deadline up to `now` in time order (a late call gives
//! the same result as a punctual one), then reports the status if it changed, the events, and
//! the next deadline. Time is model time turned into real time by the [`SimClock`].

use std::time::Duration;

use k8s_openapi::api::core::v1::{HostIP, Pod, PodCondition, PodIP, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::time::Instant;

use super::backoff::{BACK_OFF_PERIOD, MountBackoff};
use super::containers::{Ctr, Run, Step, Term, kind_index};
use super::probes::{Worker, kind_name};
use super::status::{self, Conditions, KUBELET_CONDITIONS};
use super::{EventKind, Now, Output, Placement, PodEvent, ProbeKind, World, ids};
use crate::behaviour::{Behaviour, go_duration};
use crate::clock::SimClock;

/// The kubelet's `minimumGracePeriodInSeconds`: SIGKILL never comes sooner after SIGTERM.
const MIN_GRACE: Duration = Duration::from_secs(2);
/// How soon the pod worker syncs again after a failed image pull (and then reports
/// `ImagePullBackOff`).
const RESYNC_AFTER_ERROR: Duration = Duration::from_secs(1);

/// Where the pod as a whole is.
#[derive(Clone, Debug, PartialEq)]
enum Stage {
    /// Waiting for its volumes; the next attempt at `retry`.
    Mounting {
        retry: Instant,
        backoff: MountBackoff,
    },
    /// The sandbox (network namespace, IP) is being set up until `ready`.
    Sandbox { ready: Instant },
    /// Containers run.
    Active,
    /// Nothing will run any more (terminal, or deleted and stopped).
    Stopped,
}

/// A graceful deletion in progress.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Deletion {
    requested: Instant,
    grace: Duration,
    begun: bool,
}

/// One pod's lifecycle.
#[derive(Debug)]
pub struct PodMachine {
    name: String,
    namespace: String,
    uid: String,
    label: String,
    generation: Option<i64>,
    spec: PodSpec,
    api_status: PodStatus,
    behaviour: Behaviour,
    placement: Placement,
    clock: SimClock,
    stage: Stage,
    sandbox_ready: bool,
    containers: Vec<Ctr>,
    busy: Option<usize>,
    initialized: bool,
    terminal: bool,
    deletion: Option<Deletion>,
    kills: Vec<(usize, Instant)>,
    reprobe: bool,
    start_time: Option<Time>,
    conditions: Conditions,
    last_status: Option<PodStatus>,
    confirmed: bool,
    rejection: Option<(String, String)>,
    /// The latest instant processed: deadlines never run backwards.
    t: Instant,
}

/// Events and the current instant, while a step runs.
struct Cx {
    now: Now,
    events: Vec<PodEvent>,
}

impl Cx {
    fn wall(&self, at: Instant) -> Time {
        let behind = self.now.at.saturating_duration_since(at);
        let ts = self.now.wall.checked_sub(behind).unwrap_or(self.now.wall);
        truncated(ts)
    }

    fn event(&mut self, kind: EventKind, reason: &str, message: String, field: Option<String>) {
        self.events.push(PodEvent {
            kind,
            reason: reason.into(),
            message,
            field_path: field,
        });
    }
}

/// The API keeps whole seconds (`metav1.Time`); the status compares equal when they are equal.
fn truncated(ts: jiff::Timestamp) -> Time {
    Time(jiff::Timestamp::from_second(ts.as_second()).unwrap_or(ts))
}

impl PodMachine {
    /// A machine for `pod`, just seen bound to `placement.node_name`.
    pub fn new(
        pod: &Pod,
        behaviour: Behaviour,
        placement: Placement,
        clock: SimClock,
        now: Now,
    ) -> Self {
        let spec = pod.spec.clone().unwrap_or_default();
        let mut containers = Vec::new();
        for c in spec.init_containers.iter().flatten() {
            containers.push(Ctr::new(c, true, behaviour.container(&c.name).clone()));
        }
        for c in &spec.containers {
            containers.push(Ctr::new(c, false, behaviour.container(&c.name).clone()));
        }
        let meta = &pod.metadata;
        let name = meta.name.clone().unwrap_or_default();
        let namespace = meta.namespace.clone().unwrap_or_default();
        let uid = meta.uid.clone().unwrap_or_default();
        let api_status = pod.status.clone().unwrap_or_default();
        let mut conditions = Conditions::default();
        conditions.remember(api_status.conditions.as_deref().unwrap_or_default());
        Self {
            label: ids::pod_label(&name, &namespace, &uid),
            name,
            namespace,
            uid,
            generation: meta.generation,
            start_time: api_status.start_time.clone(),
            api_status,
            spec,
            behaviour,
            placement,
            clock,
            stage: Stage::Mounting {
                retry: now.at,
                backoff: MountBackoff::default(),
            },
            sandbox_ready: false,
            containers,
            busy: None,
            initialized: false,
            terminal: false,
            deletion: None,
            kills: Vec::new(),
            reprobe: false,
            conditions,
            last_status: None,
            confirmed: false,
            rejection: None,
            t: now.at,
        }
    }

    /// A machine for a pod the kubelet's admission refused (see [`super::admit`]): it reports
    /// phase `Failed` with `reason` and `"Pod was rejected: " + message` once, and never wakes.
    pub fn rejected(
        pod: &Pod,
        placement: Placement,
        clock: SimClock,
        now: Now,
        reason: &str,
        message: &str,
    ) -> Self {
        let mut m = Self::new(pod, Behaviour::default(), placement, clock, now);
        m.rejection = Some((reason.to_owned(), message.to_owned()));
        m.stage = Stage::Stopped;
        m.terminal = true;
        m
    }

    /// The pod's `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The pod object changed in the API (spec, labels, `deletionTimestamp`).
    pub fn observe(&mut self, pod: &Pod, now: Now) {
        self.generation = pod.metadata.generation;
        if let Some(status) = &pod.status {
            self.api_status = status.clone();
        }
        if pod.metadata.deletion_timestamp.is_some() && self.deletion.is_none() {
            let seconds = pod
                .metadata
                .deletion_grace_period_seconds
                .or(self.spec.termination_grace_period_seconds)
                .unwrap_or(30)
                .max(0);
            self.deletion = Some(Deletion {
                requested: now.at.max(self.t),
                grace: Duration::from_secs(seconds as u64),
                begun: false,
            });
        }
    }

    /// CPU (millicores) and memory (bytes) the pod uses now, from the behaviour model.
    pub fn usage(&self) -> (u64, u64) {
        self.behaviour.usage(
            self.containers
                .iter()
                .filter(|c| c.run.is_some())
                .map(|c| c.name()),
        )
    }

    /// Move the machine to `now`.
    pub fn advance(&mut self, now: Now, world: &dyn World) -> Output {
        let mut cx = Cx {
            now,
            events: Vec::new(),
        };
        if let Some((reason, message)) = &self.rejection
            && self.last_status.is_none()
        {
            // `rejectPod`: the event carries the bare message, the status the prefixed one.
            cx.event(EventKind::Warning, reason, message.clone(), None);
        }
        if self.rejection.is_none() && !self.confirmed {
            if std::mem::take(&mut self.reprobe) {
                self.reschedule_probes(now.at.max(self.t));
            }
            let mut t = self.t;
            self.settle(t, world, &mut cx);
            while let Some(d) = self.next_deadline() {
                if d > now.at {
                    break;
                }
                t = d.max(t);
                self.fire(t, world, &mut cx);
                self.settle(t, world, &mut cx);
            }
            self.t = t.max(self.t);
        }
        let mut out = Output {
            events: cx.events,
            next_wake: if self.confirmed {
                None
            } else {
                self.next_deadline()
            },
            ..Output::default()
        };
        let done = self.deletion.is_some() && self.stage == Stage::Stopped;
        let status = self.render(&cx.now, done);
        if self.last_status.as_ref() != Some(&status) {
            self.last_status = Some(status.clone());
            out.status = Some(status);
        }
        if done && !self.confirmed {
            self.confirmed = true;
            out.confirm_deletion = true;
        }
        out
    }

    /// Kill `container` (it restarts per the restart policy). False when there is none.
    pub fn kill_container(&mut self, container: &str, now: Now) -> bool {
        let Some(i) = self.index(container) else {
            return false;
        };
        self.kills.push((i, now.at.max(self.t)));
        true
    }

    /// Force `kind` probes of `container` to fail (`Some(true)`), succeed (`Some(false)`), or
    /// follow the behaviour model again (`None`). False when there is no such container.
    pub fn override_probe(
        &mut self,
        container: &str,
        kind: ProbeKind,
        failing: Option<bool>,
    ) -> bool {
        let Some(i) = self.index(container) else {
            return false;
        };
        self.containers[i].forced[kind_index(kind)] = failing;
        self.reprobe = true;
        true
    }

    fn index(&self, container: &str) -> Option<usize> {
        self.containers.iter().position(|c| c.name() == container)
    }

    fn field(&self, i: usize) -> Option<String> {
        let c = &self.containers[i];
        let list = if c.init {
            "initContainers"
        } else {
            "containers"
        };
        Some(format!("spec.{list}{{{}}}", c.name()))
    }

    // ----- deadlines -----

    fn next_deadline(&self) -> Option<Instant> {
        let mut best: Option<Instant> = None;
        let mut consider = |d: Option<Instant>| {
            if let Some(d) = d {
                best = Some(best.map_or(d, |b: Instant| b.min(d)));
            }
        };
        if let Some(del) = self.deletion
            && !del.begun
        {
            consider(Some(del.requested));
        }
        for (_, at) in &self.kills {
            consider(Some(*at));
        }
        match &self.stage {
            Stage::Mounting { retry, .. } => consider(Some(*retry)),
            Stage::Sandbox { ready } => consider(Some(*ready)),
            Stage::Active | Stage::Stopped => {}
        }
        for c in &self.containers {
            match &c.step {
                Step::Pulling { done, .. } | Step::Creating { done } | Step::PostStart { done } => {
                    consider(Some(*done))
                }
                Step::PullRetry { at } => consider(Some(*at)),
                Step::CrashBackOff { until } => consider(Some(*until)),
                Step::Stopping {
                    hook_done, exit, ..
                } => {
                    consider(*hook_done);
                    consider(Some(*exit));
                }
                Step::Running => {
                    if let Some(run) = &c.run {
                        consider(run.exit_at);
                        for w in &run.workers {
                            consider(w.next);
                        }
                    }
                }
                Step::Idle | Step::Done => {}
            }
        }
        best
    }

    /// Run everything due at or before `t`.
    fn fire(&mut self, t: Instant, world: &dyn World, cx: &mut Cx) {
        if let Some(del) = self.deletion
            && !del.begun
            && del.requested <= t
        {
            self.begin_deletion(t, cx);
        }
        let due: Vec<usize> = self
            .kills
            .iter()
            .filter(|(_, at)| *at <= t)
            .map(|(i, _)| *i)
            .collect();
        self.kills.retain(|(_, at)| *at > t);
        for i in due {
            if self.containers[i].run.as_ref().is_some_and(|r| r.visible) {
                self.exit(i, t, 137, false, cx);
            }
        }
        match self.stage.clone() {
            Stage::Mounting { retry, mut backoff } if retry <= t => {
                let errors: Vec<String> = self
                    .spec
                    .volumes
                    .iter()
                    .flatten()
                    .filter_map(|v| world.mount_error(&self.namespace, v))
                    .collect();
                if errors.is_empty() {
                    let ready = t + self.clock.real(self.behaviour.sandbox_delay);
                    self.stage = Stage::Sandbox { ready };
                } else {
                    for e in errors {
                        cx.event(EventKind::Warning, "FailedMount", e, None);
                    }
                    let retry = t + self.clock.real(backoff.next());
                    self.stage = Stage::Mounting { retry, backoff };
                }
            }
            Stage::Sandbox { ready } if ready <= t => {
                self.stage = Stage::Active;
                self.sandbox_ready = true;
            }
            _ => {}
        }
        for i in 0..self.containers.len() {
            self.fire_container(i, t, world, cx);
        }
    }

    fn fire_container(&mut self, i: usize, t: Instant, world: &dyn World, cx: &mut Cx) {
        match self.containers[i].step.clone() {
            Step::Pulling { done, began } if done <= t => self.pulled(i, t, began, world, cx),
            Step::PullRetry { at } if at <= t => self.containers[i].step = Step::Idle,
            Step::CrashBackOff { until } if until <= t => self.containers[i].step = Step::Idle,
            Step::Creating { done } if done <= t => self.created(i, t, cx),
            Step::PostStart { done } if done <= t => self.post_start_done(i, t, cx),
            Step::Stopping {
                hook_done,
                exit,
                code,
                force_restart,
            } => {
                if let Some(h) = hook_done
                    && h <= t
                {
                    if self.containers[i].b.pre_stop_fails {
                        let field = self.field(i);
                        cx.event(
                            EventKind::Warning,
                            "FailedPreStopHook",
                            "PreStopHook failed".into(),
                            field,
                        );
                    }
                    self.containers[i].step = Step::Stopping {
                        hook_done: None,
                        exit,
                        code,
                        force_restart,
                    };
                }
                if exit <= t {
                    self.exit(i, t, code, force_restart, cx);
                }
            }
            Step::Running => {
                let exit_due = self.containers[i]
                    .run
                    .as_ref()
                    .and_then(|r| r.exit_at)
                    .is_some_and(|e| e <= t);
                if exit_due {
                    let code = self.containers[i].b.exit_code;
                    self.exit(i, t, code, false, cx);
                } else {
                    self.probe(i, t, cx);
                }
            }
            _ => {}
        }
    }

    // ----- instant decisions -----

    /// Take every decision that needs no time: restarts, the next container to start, the
    /// pod's end.
    fn settle(&mut self, t: Instant, world: &dyn World, cx: &mut Cx) {
        if self.stage != Stage::Active || self.deletion.is_some_and(|d| d.begun) {
            self.finish_deletion();
            return;
        }
        if !self.initialized {
            let inits = self.containers.iter().filter(|c| c.init);
            if inits.clone().all(Ctr::init_complete) {
                self.initialized = true;
            }
        }
        self.check_terminal(t, cx);
        if self.terminal {
            return;
        }
        while self.busy.is_none() {
            let Some(i) = self.next_to_start() else { break };
            self.begin(i, t, world, cx);
        }
    }

    /// The first container that wants to start and may.
    fn next_to_start(&self) -> Option<usize> {
        let mut inits_ok = true;
        for (i, c) in self.containers.iter().enumerate() {
            if c.init && !self.initialized {
                if !inits_ok {
                    return None;
                }
                if c.step == Step::Idle {
                    return Some(i);
                }
                inits_ok = c.init_complete();
                continue;
            }
            if (!c.init || c.sidecar) && self.initialized && c.step == Step::Idle {
                return Some(i);
            }
        }
        None
    }

    /// Whether the pod has reached its end: all regular containers done and none to restart,
    /// or an init container failed under `restartPolicy: Never`.
    fn check_terminal(&mut self, t: Instant, cx: &mut Cx) {
        if self.terminal {
            return;
        }
        let init_failed = self.containers.iter().any(|c| {
            c.init
                && !c.sidecar
                && c.step == Step::Done
                && c.term.as_ref().is_some_and(|t| t.code != 0)
        });
        let regular_done = self
            .containers
            .iter()
            .filter(|c| !c.init)
            .all(|c| c.step == Step::Done);
        if !(init_failed || regular_done) {
            return;
        }
        self.terminal = true;
        // Sidecars outlive nothing: stop them, and let nothing else start.
        let grace = self.pod_grace();
        for i in 0..self.containers.len() {
            if self.containers[i].run.is_some() {
                self.stop(i, t, grace, "", false, cx);
            } else if !matches!(self.containers[i].step, Step::Stopping { .. }) {
                self.containers[i].step = Step::Done;
            }
        }
        if self.containers.iter().all(|c| c.run.is_none()) {
            self.stage = Stage::Stopped;
        }
    }

    fn pod_grace(&self) -> Duration {
        Duration::from_secs(
            self.spec
                .termination_grace_period_seconds
                .unwrap_or(30)
                .max(0) as u64,
        )
    }

    // ----- starting a container -----

    /// Start container `i` (first start or restart), beginning with its image.
    fn begin(&mut self, i: usize, t: Instant, world: &dyn World, cx: &mut Cx) {
        let field = self.field(i);
        let clock = self.clock;
        let c = &mut self.containers[i];
        let image = c.image().to_owned();
        let present = world.image_present(&image);
        let policy = c.pull_policy().to_owned();
        if policy == "Never" && !present {
            let msg = format!("Container image {image:?} is not present with pull policy of Never");
            cx.event(
                EventKind::Warning,
                "ErrImageNeverPull",
                msg.clone(),
                field.clone(),
            );
            cx.event(
                EventKind::Warning,
                "Failed",
                "Error: ErrImageNeverPull".into(),
                field,
            );
            c.waiting = Some(("ErrImageNeverPull".into(), msg));
            c.step = Step::PullRetry {
                at: t + clock.real(BACK_OFF_PERIOD),
            };
            return;
        }
        if policy != "Always" && present {
            cx.event(
                EventKind::Normal,
                "Pulled",
                format!("Container image {image:?} already present on machine"),
                field,
            );
            c.image_id = Some(ids::image_id(&image));
            self.busy = Some(i);
            self.creating(i, t);
            return;
        }
        if c.pull.in_backoff_since_update(&clock, t) {
            let msg = format!("Back-off pulling image {image:?}");
            cx.event(EventKind::Normal, "BackOff", msg.clone(), field.clone());
            cx.event(
                EventKind::Warning,
                "Failed",
                "Error: ImagePullBackOff".into(),
                field,
            );
            let detail = c
                .waiting
                .as_ref()
                .filter(|(r, _)| r == "ErrImagePull")
                .map(|(_, m)| format!("{msg}: ErrImagePull: {m}"))
                .unwrap_or(msg);
            c.waiting = Some(("ImagePullBackOff".into(), detail));
            // The back-off counts from the failure, not from now.
            c.step = Step::PullRetry {
                at: c.pull.update_ends(&clock).unwrap_or(t).max(t),
            };
            return;
        }
        cx.event(
            EventKind::Normal,
            "Pulling",
            format!("Pulling image {image:?}"),
            field,
        );
        c.step = Step::Pulling {
            done: t + clock.real(c.b.pull_delay),
            began: t,
        };
        self.busy = Some(i);
    }

    fn pulled(&mut self, i: usize, t: Instant, began: Instant, world: &dyn World, cx: &mut Cx) {
        let field = self.field(i);
        let clock = self.clock;
        let c = &mut self.containers[i];
        let image = c.image().to_owned();
        if c.b.pull_fails {
            let err = ids::pull_error(&image);
            cx.event(
                EventKind::Warning,
                "Failed",
                format!("Failed to pull image {image:?}: {err}"),
                field.clone(),
            );
            cx.event(
                EventKind::Warning,
                "Failed",
                "Error: ErrImagePull".into(),
                field,
            );
            c.pull.next(&clock, t, t);
            c.waiting = Some(("ErrImagePull".into(), err));
            c.step = Step::PullRetry {
                at: t + clock.real(RESYNC_AFTER_ERROR),
            };
            self.busy = None;
            return;
        }
        // The model's pull took `pull_delay` of model time; report that, as Go prints it.
        let took = go_duration(Duration::from_millis(c.b.pull_delay.as_millis() as u64));
        let _ = began;
        cx.event(
            EventKind::Normal,
            "Pulled",
            format!(
                "Successfully pulled image {image:?} in {took} ({took} including waiting). Image size: {} bytes.",
                ids::image_size(&image)
            ),
            field,
        );
        world.image_pulled(&image);
        c.image_id = Some(ids::image_id(&image));
        self.creating(i, t);
    }

    fn creating(&mut self, i: usize, t: Instant) {
        let c = &mut self.containers[i];
        c.step = Step::Creating {
            done: t + self.clock.real(c.b.start_delay),
        };
    }

    fn created(&mut self, i: usize, t: Instant, cx: &mut Cx) {
        let field = self.field(i);
        let seed = self.behaviour.seed;
        let uid = self.uid.clone();
        let clock = self.clock;
        let wall = cx.wall(t);
        let c = &mut self.containers[i];
        // A restart: the previous instance becomes `lastState`, and the back-off is counted.
        if let Some(term) = c.term.take() {
            c.crash.next(&clock, term.finished_at, t);
            c.last = Some(term);
            c.restart_count += 1;
        }
        let id = c.next_id(seed, &uid);
        let name = c.name().to_owned();
        cx.event(
            EventKind::Normal,
            "Created",
            format!("Created container: {name}"),
            field.clone(),
        );
        cx.event(
            EventKind::Normal,
            "Started",
            format!("Started container {name}"),
            field,
        );
        let workers = c.probes.iter().map(|p| Worker::new(p.kind)).collect();
        c.run = Some(Run {
            id,
            started_wall: wall,
            started_at: t,
            started: false,
            ready: false,
            visible: false,
            exit_at: c.b.exit_after.map(|d| t + clock.real(d)),
            workers,
        });
        if c.spec
            .lifecycle
            .as_ref()
            .is_some_and(|l| l.post_start.is_some())
        {
            c.step = Step::PostStart {
                done: t + clock.real(c.b.post_start_duration),
            };
        } else {
            self.running(i, t);
        }
    }

    fn post_start_done(&mut self, i: usize, t: Instant, cx: &mut Cx) {
        if !self.containers[i].b.post_start_fails {
            self.running(i, t);
            return;
        }
        let field = self.field(i);
        cx.event(
            EventKind::Warning,
            "FailedPostStartHook",
            "PostStartHook failed".into(),
            field.clone(),
        );
        cx.event(
            EventKind::Normal,
            "Killing",
            "FailedPostStartHook".into(),
            field,
        );
        let c = &mut self.containers[i];
        c.waiting = Some(("PostStartHookError".into(), String::new()));
        if let Some(run) = &mut c.run {
            run.visible = true;
        }
        self.busy = None;
        let grace = self.pod_grace();
        self.stop(i, t, grace, "", false, cx);
    }

    /// The container runs: visible, probed, and the next container may start.
    fn running(&mut self, i: usize, t: Instant) {
        self.busy = None;
        let clock = self.clock;
        let c = &mut self.containers[i];
        c.step = Step::Running;
        c.waiting = None;
        let has_startup = c.probe(ProbeKind::Startup).is_some();
        let has_readiness = c.probe(ProbeKind::Readiness).is_some();
        let probes = c.probes.clone();
        let Some(run) = c.run.as_mut() else { return };
        run.visible = true;
        run.started = !has_startup;
        run.ready = run.started && !has_readiness;
        for (w, p) in run.workers.iter_mut().zip(&probes) {
            let gated = p.kind != ProbeKind::Startup && has_startup;
            if !gated {
                w.arm((run.started_at + clock.real(p.initial_delay)).max(t));
            }
        }
    }

    // ----- probes -----

    fn probe(&mut self, i: usize, t: Instant, cx: &mut Cx) {
        let clock = self.clock;
        let pod_ip = self.pod_ip();
        let field = self.field(i);
        let policy_never = self.restart_policy() == "Never";
        let c = &mut self.containers[i];
        let has_readiness = c.probe(ProbeKind::Readiness).is_some();
        let Some(run) = c.run.as_mut() else { return };
        let mut kill: Option<(ProbeKind, Option<i64>)> = None;
        for w in run.workers.iter_mut() {
            if w.next.is_none_or(|n| n > t) {
                continue;
            }
            let Some(spec) = c.probes.iter().find(|p| p.kind == w.kind) else {
                continue;
            };
            let forced = c.forced[kind_index(w.kind)];
            let tick = w.tick(spec, &c.b, &clock, run.started_at, t, forced, &pod_ip);
            if let Some(output) = tick.failure {
                cx.event(
                    EventKind::Warning,
                    "Unhealthy",
                    format!("{} probe failed: {output}", kind_name(w.kind)),
                    field.clone(),
                );
            }
            match (w.kind, tick.published) {
                (ProbeKind::Readiness, Some(ok)) => run.ready = ok && run.started,
                (ProbeKind::Startup, Some(true)) => run.started = true,
                (ProbeKind::Startup | ProbeKind::Liveness, Some(false)) => {
                    kill = Some((w.kind, spec.grace));
                }
                _ => {}
            }
        }
        // The startup probe passed: readiness and liveness begin, as the worker's gate opens.
        if run.started {
            if !has_readiness {
                run.ready = true;
            }
            for w in run.workers.iter_mut() {
                if w.kind != ProbeKind::Startup && w.origin.is_none() {
                    let spec = c.probes.iter().find(|p| p.kind == w.kind);
                    let delay = spec.map_or(Duration::ZERO, |p| clock.real(p.initial_delay));
                    w.arm((run.started_at + delay).max(t));
                }
            }
        }
        if let Some((kind, grace)) = kill {
            let what = if kind == ProbeKind::Liveness {
                "liveness"
            } else {
                "startup"
            };
            let mut message = format!("Container {} failed {what} probe", c.name());
            if !policy_never {
                message.push_str(", will be restarted");
            }
            cx.event(EventKind::Normal, "Killing", message, field);
            let grace = grace.map_or(self.pod_grace(), |g| Duration::from_secs(g.max(0) as u64));
            self.stop(i, t, grace, "", !policy_never, cx);
        }
    }

    /// After a probe override: every worker probes again at its next tick.
    fn reschedule_probes(&mut self, t: Instant) {
        let clock = self.clock;
        for c in &mut self.containers {
            let Some(run) = c.run.as_mut() else { continue };
            for w in run.workers.iter_mut() {
                if w.on_hold || w.origin.is_none() {
                    continue;
                }
                if let Some(spec) = c.probes.iter().find(|p| p.kind == w.kind) {
                    if w.kind == ProbeKind::Startup && w.result == Some(true) {
                        continue;
                    }
                    w.next = w.grid_at_or_after(spec, &clock, t);
                }
            }
        }
    }

    // ----- stopping -----

    /// Stop container `i` with `grace` (model time): preStop, then SIGTERM, SIGKILL at the end.
    fn stop(
        &mut self,
        i: usize,
        t: Instant,
        grace: Duration,
        killing: &str,
        force_restart: bool,
        cx: &mut Cx,
    ) {
        if !killing.is_empty() {
            let field = self.field(i);
            cx.event(EventKind::Normal, "Killing", killing.into(), field);
        }
        let clock = self.clock;
        let c = &mut self.containers[i];
        if matches!(c.step, Step::Stopping { .. }) {
            return;
        }
        let has_pre_stop = c
            .spec
            .lifecycle
            .as_ref()
            .is_some_and(|l| l.pre_stop.is_some());
        let hook = if has_pre_stop {
            c.b.pre_stop_duration.min(grace)
        } else {
            Duration::ZERO
        };
        let hook_done = t + clock.real(hook);
        let (exit, code) = if c.b.ignore_sigterm {
            let rest = grace.saturating_sub(hook).max(MIN_GRACE);
            (hook_done + clock.real(rest), 137)
        } else {
            (hook_done, 0)
        };
        if let Some(run) = &mut c.run {
            run.visible = true;
            for w in run.workers.iter_mut() {
                w.next = None;
            }
            run.exit_at = None;
        }
        c.step = Step::Stopping {
            hook_done: has_pre_stop.then_some(hook_done),
            exit,
            code,
            force_restart,
        };
    }

    /// The process of container `i` ended at `t` with `code`.
    fn exit(&mut self, i: usize, t: Instant, code: i32, force_restart: bool, cx: &mut Cx) {
        let wall = cx.wall(t);
        let policy = self.restart_policy().to_owned();
        let policy = policy.as_str();
        let c = &mut self.containers[i];
        let Some(run) = c.run.take() else { return };
        if self.busy == Some(i) {
            self.busy = None;
        }
        c.term = Some(Term {
            id: run.id,
            code,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            message: None,
            started: run.started_wall,
            finished: wall,
            finished_at: t,
        });
        let deleting = self.deletion.is_some_and(|d| d.begun);
        let restart = if deleting || self.terminal {
            false
        } else if c.sidecar {
            true
        } else if c.init {
            code != 0 && policy != "Never"
        } else {
            match policy {
                "Always" => true,
                "OnFailure" => code != 0 || force_restart,
                _ => false,
            }
        };
        if !restart {
            c.step = Step::Done;
            if !c.init && !deleting {
                c.waiting = None;
            }
            return;
        }
        if c.crash.in_backoff_since(&self.clock, t, t) {
            let backoff = go_duration(c.crash.get());
            let name = c.name().to_owned();
            c.waiting = Some((
                "CrashLoopBackOff".into(),
                format!(
                    "back-off {backoff} restarting failed container={name} pod={}",
                    self.label
                ),
            ));
            c.step = Step::CrashBackOff {
                until: c.crash.ends(&self.clock, t),
            };
            let field = self.field(i);
            cx.event(
                EventKind::Warning,
                "BackOff",
                format!(
                    "Back-off restarting failed container {name} in pod {}",
                    self.label
                ),
                field,
            );
        } else {
            c.step = Step::Idle;
        }
    }

    // ----- deletion -----

    fn begin_deletion(&mut self, t: Instant, cx: &mut Cx) {
        let Some(mut del) = self.deletion else { return };
        del.begun = true;
        self.deletion = Some(del);
        self.busy = None;
        for i in 0..self.containers.len() {
            let c = &self.containers[i];
            if c.run.is_some() {
                let message = format!("Stopping container {}", c.name());
                self.stop(i, t, del.grace, &message, false, cx);
                if let Step::Stopping { exit, .. } = self.containers[i].step {
                    // Grace counts from the deletion for a container already being killed.
                    let _ = exit;
                }
            } else {
                self.containers[i].step = Step::Done;
            }
        }
        if !matches!(self.stage, Stage::Active) {
            self.stage = Stage::Stopped;
        }
        self.finish_deletion();
    }

    fn finish_deletion(&mut self) {
        if self.containers.iter().all(|c| c.run.is_none())
            && (self.deletion.is_some_and(|d| d.begun) || self.terminal)
        {
            self.stage = Stage::Stopped;
        }
    }

    // ----- status -----

    fn restart_policy(&self) -> &str {
        self.spec.restart_policy.as_deref().unwrap_or("Always")
    }

    fn host_network(&self) -> bool {
        self.spec.host_network == Some(true)
    }

    fn pod_ip(&self) -> String {
        if self.host_network() {
            self.placement.host_ip.to_string()
        } else {
            self.placement.pod_ip.to_string()
        }
    }

    /// The whole status as the kubelet would write it now.
    fn render(&mut self, now: &Now, deleted: bool) -> PodStatus {
        let wall = truncated(now.wall);
        let start_time = self.start_time.get_or_insert_with(|| wall.clone()).clone();
        if let Some((reason, message)) = &self.rejection {
            return PodStatus {
                phase: Some("Failed".into()),
                reason: Some(reason.clone()),
                message: Some(format!("Pod was rejected: {message}")),
                qos_class: self.api_status.qos_class.clone(),
                start_time: Some(start_time),
                ..Default::default()
            };
        }
        let pod_terminal = deleted;
        let default_reason = if self
            .spec
            .init_containers
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let mut init_statuses = Vec::new();
        let mut statuses = Vec::new();
        for c in &self.containers {
            let s = c.status(default_reason, pod_terminal);
            if c.init {
                init_statuses.push(s);
            } else {
                statuses.push(s);
            }
        }
        let all: Vec<_> = statuses
            .iter()
            .chain(init_statuses.iter())
            .cloned()
            .collect();
        let mut phase = status::phase(&self.spec, &all, pod_terminal, self.initialized);
        // Pods never leave a terminal phase.
        if let Some(prev) = self
            .last_status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .or(self.api_status.phase.as_deref())
            && matches!(prev, "Succeeded" | "Failed")
        {
            phase = if prev == "Succeeded" {
                "Succeeded"
            } else {
                "Failed"
            };
        }
        let generation = self.generation;
        let mut conditions: Vec<_> = self
            .api_status
            .conditions
            .iter()
            .flatten()
            .filter(|c| !KUBELET_CONDITIONS.contains(&c.type_.as_str()))
            .cloned()
            .collect();
        let all_init_first: Vec<_> = init_statuses
            .iter()
            .chain(statuses.iter())
            .cloned()
            .collect();
        let mut owned = vec![
            PodCondition {
                type_: "PodReadyToStartContainers".into(),
                status: if self.sandbox_ready && !deleted {
                    "True"
                } else {
                    "False"
                }
                .into(),
                ..Default::default()
            },
            status::initialized(&self.spec, &all_init_first, phase),
            status::pod_ready(&self.spec, &conditions, &all_init_first, phase),
            status::containers_ready(&self.spec, &all_init_first, phase),
            PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                ..Default::default()
            },
        ];
        for c in owned.iter_mut() {
            c.observed_generation = generation;
        }
        for c in owned {
            conditions.push(self.conditions.stamp(c, &wall));
        }
        let host_ip = self.placement.host_ip.to_string();
        let pod_ip = (self.sandbox_ready || self.host_network()).then(|| self.pod_ip());
        PodStatus {
            phase: Some(phase.into()),
            conditions: Some(conditions),
            host_ip: Some(host_ip.clone()),
            host_ips: Some(vec![HostIP { ip: host_ip }]),
            pod_ip: pod_ip.clone(),
            pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]),
            start_time: Some(start_time),
            qos_class: self.api_status.qos_class.clone(),
            init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
            container_statuses: Some(statuses),
            observed_generation: generation,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests;
