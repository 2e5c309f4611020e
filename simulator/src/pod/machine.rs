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

use k8s_openapi::api::core::v1::{HostIP, Pod, PodCondition, PodIP, PodStatus, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::time::Instant;

use super::backoff::{BACK_OFF_PERIOD, MOUNT_TIMEOUT, MountBackoff};
use super::containers::{Ctr, Run, Step, Term, kind_index};
use super::probes::{Worker, kind_name};
use super::status::{self, Conditions, KUBELET_CONDITIONS, Shape};
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
    /// Waiting for its volumes; the next attempt at `retry`. The pod worker gives up waiting
    /// at `timeout` and says so (then waits again).
    Mounting {
        retry: Instant,
        backoff: MountBackoff,
        timeout: Instant,
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
    shape: Shape,
    /// The volumes to mount; emptied once they are.
    volumes: Vec<Volume>,
    host_network: bool,
    grace_seconds: Option<i64>,
    /// What the machine keeps of the API's status: the QoS class, conditions the kubelet does
    /// not own, and a terminal phase (pods never leave one).
    qos_class: Option<String>,
    foreign_conditions: Vec<PodCondition>,
    api_terminal: Option<&'static str>,
    sandbox_delay: Duration,
    seed: u64,
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
    /// Containers whose image changed while they ran: restarted at that instant.
    changed: Vec<(usize, Instant)>,
    reprobe: bool,
    /// When the pod was first seen, for `activeDeadlineSeconds`.
    created_at: Instant,
    active_deadline: Option<i64>,
    /// The kubelet failed the pod itself (`DeadlineExceeded`): reason and message.
    evicted: Option<(&'static str, &'static str)>,
    start_time: Option<Time>,
    conditions: Conditions,
    /// A hash of the last status returned, to return a status only when it changed (the
    /// status itself would double the machine's size).
    last_status: Option<u64>,
    last_phase: Option<&'static str>,
    /// The Ready condition of the last status returned.
    last_ready: Option<bool>,
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
        let (qos_class, foreign_conditions, api_terminal) = kept_of(&api_status);
        Self {
            label: ids::pod_label(&name, &namespace, &uid),
            name,
            namespace,
            uid,
            generation: meta.generation,
            start_time: api_status.start_time.clone(),
            qos_class,
            foreign_conditions,
            api_terminal,
            shape: Shape::of(&spec),
            volumes: spec.volumes.clone().unwrap_or_default(),
            host_network: spec.host_network == Some(true),
            grace_seconds: spec.termination_grace_period_seconds,
            sandbox_delay: behaviour.sandbox_delay,
            seed: behaviour.seed,
            placement,
            clock,
            stage: Stage::Mounting {
                retry: now.at,
                backoff: MountBackoff::default(),
                timeout: now.at + clock.real(MOUNT_TIMEOUT),
            },
            sandbox_ready: false,
            containers,
            busy: None,
            initialized: false,
            terminal: false,
            deletion: None,
            kills: Vec::new(),
            changed: Vec::new(),
            reprobe: false,
            created_at: now.at,
            active_deadline: spec.active_deadline_seconds,
            evicted: None,
            conditions,
            last_status: None,
            last_phase: None,
            last_ready: None,
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
        if let Some(spec) = &pod.spec {
            self.spec_changed(spec, now.at.max(self.t));
        }
        if let Some(status) = &pod.status {
            (self.qos_class, self.foreign_conditions, self.api_terminal) = kept_of(status);
        }
        if pod.metadata.deletion_timestamp.is_some() && self.deletion.is_none() {
            let seconds = pod
                .metadata
                .deletion_grace_period_seconds
                .or(self.grace_seconds)
                .unwrap_or(30)
                .max(0);
            self.deletion = Some(Deletion {
                requested: now.at.max(self.t),
                grace: Duration::from_secs(seconds as u64),
                begun: false,
            });
        }
    }

    /// Whether the API shows, in the same phase, another Ready condition than the last status
    /// this machine returned: someone else wrote it (the node lifecycle controller marks the
    /// pods of an unreachable node not ready), and the kubelet's status manager puts it right on
    /// its next sync ([`Self::resend`]).
    pub fn disagrees(&self, api: &PodStatus) -> bool {
        self.rejection.is_none()
            && self.last_status.is_some()
            && phase_name(api.phase.as_deref()) == self.last_phase
            && ready_of(api) != self.last_ready
    }

    /// Return the current status from the next [`Self::advance`], even if it is unchanged.
    pub fn resend(&mut self) {
        if self.rejection.is_none() {
            self.last_status = None;
        }
    }

    /// CPU (millicores) and memory (bytes) the pod uses now, from the behaviour model.
    pub fn usage(&self) -> (u64, u64) {
        self.containers
            .iter()
            .filter(|c| c.run.is_some())
            .fold((0, 0), |(cpu, mem), c| {
                (cpu + c.b.cpu_millicores, mem + c.b.memory_bytes)
            })
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
            let mut steps = 0u32;
            while let Some(d) = self.next_deadline() {
                if d > now.at {
                    break;
                }
                // Every step consumes its deadline; a machine that does not is a bug, and must
                // not hang the node it runs on.
                steps += 1;
                if steps > 1_000_000 {
                    debug_assert!(false, "pod {} does not settle at {d:?}", self.key());
                    tracing::error!(pod = %self.key(), "the pod machine does not settle");
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
        let hash = status_hash(&status);
        if self.last_status != Some(hash) {
            self.last_status = Some(hash);
            self.last_phase = phase_name(status.phase.as_deref());
            self.last_ready = ready_of(&status);
            out.status = Some(status);
        }
        if done && !self.confirmed {
            self.confirmed = true;
            out.confirm_deletion = true;
        }
        out
    }

    /// Run from now on with `clock` (a node slowed down or sped up): delays started from now
    /// are measured with it; deadlines already set stay.
    pub fn set_clock(&mut self, clock: SimClock) {
        self.clock = clock;
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
        for (_, at) in self.kills.iter().chain(&self.changed) {
            consider(Some(*at));
        }
        if let Some(secs) = self.active_deadline
            && self.evicted.is_none()
            && !self.terminal
            && !self.deletion.is_some_and(|d| d.begun)
        {
            consider(Some(
                self.created_at + self.clock.real(Duration::from_secs(secs.max(0) as u64)),
            ));
        }
        match &self.stage {
            Stage::Mounting { retry, timeout, .. } => {
                consider(Some(*retry));
                consider(Some(*timeout));
            }
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
        let changed: Vec<usize> = self
            .changed
            .iter()
            .filter(|(_, at)| *at <= t)
            .map(|(i, _)| *i)
            .collect();
        self.changed.retain(|(_, at)| *at > t);
        for i in changed {
            self.definition_changed(i, t, cx);
        }
        if let Some(secs) = self.active_deadline
            && self.evicted.is_none()
            && !self.terminal
            && !self.deletion.is_some_and(|d| d.begun)
            && self.created_at + self.clock.real(Duration::from_secs(secs.max(0) as u64)) <= t
        {
            self.deadline_exceeded(t, cx);
        }
        match self.stage.clone() {
            Stage::Mounting {
                mut retry,
                mut backoff,
                mut timeout,
            } if retry <= t || timeout <= t => {
                let failing: Vec<(&str, String)> = self
                    .volumes
                    .iter()
                    .filter_map(|v| Some((v.name.as_str(), world.mount_error(&self.namespace, v)?)))
                    .collect();
                if timeout <= t && failing.is_empty() {
                    timeout = t + self.clock.real(MOUNT_TIMEOUT);
                } else if timeout <= t {
                    // `WaitForAttachAndMount` gave up: the pod worker reports it and waits again.
                    let mut names: Vec<&str> = failing.iter().map(|(n, _)| *n).collect();
                    names.sort_unstable();
                    cx.event(
                        EventKind::Warning,
                        "FailedMount",
                        format!(
                            "Unable to attach or mount volumes: unmounted volumes=[{}], unattached volumes=[], failed to process volumes=[]: timed out waiting for the condition",
                            names.join(" ")
                        ),
                        None,
                    );
                    timeout = t + self.clock.real(MOUNT_TIMEOUT);
                }
                if retry <= t && failing.is_empty() {
                    self.volumes = Vec::new();
                    let ready = t + self.clock.real(self.sandbox_delay);
                    self.stage = Stage::Sandbox { ready };
                } else {
                    if retry <= t {
                        let messages: Vec<String> = failing.into_iter().map(|(_, m)| m).collect();
                        for m in messages {
                            cx.event(EventKind::Warning, "FailedMount", m, None);
                        }
                        retry = t + self.clock.real(backoff.next());
                    }
                    self.stage = Stage::Mounting {
                        retry,
                        backoff,
                        timeout,
                    };
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
                    let c = &self.containers[i];
                    let run = usize::try_from(c.restart_count).unwrap_or(0);
                    let codes = &c.b.exit_codes;
                    let code = codes.get(run).or(codes.last()).copied().unwrap_or(0);
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
            self.finish_deletion();
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
        Duration::from_secs(self.grace_seconds.unwrap_or(30).max(0) as u64)
    }
}

/// What the machine keeps of the API's status.
fn kept_of(status: &PodStatus) -> (Option<String>, Vec<PodCondition>, Option<&'static str>) {
    let foreign = status
        .conditions
        .iter()
        .flatten()
        .filter(|c| !KUBELET_CONDITIONS.contains(&c.type_.as_str()))
        .cloned()
        .collect();
    let terminal =
        phase_name(status.phase.as_deref()).filter(|p| matches!(*p, "Succeeded" | "Failed"));
    (status.qos_class.clone(), foreign, terminal)
}

/// The static name of a phase.
fn phase_name(phase: Option<&str>) -> Option<&'static str> {
    ["Pending", "Running", "Succeeded", "Failed", "Unknown"]
        .into_iter()
        .find(|p| Some(*p) == phase)
}

/// The status of the Ready condition, if there is one.
fn ready_of(status: &PodStatus) -> Option<bool> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status == "True")
}

/// A stable hash of a status (its JSON), to notice a change without keeping the status.
fn status_hash(status: &PodStatus) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    serde_json::to_vec(status).unwrap_or_default().hash(&mut h);
    h.finish()
}

mod render;
mod running;
mod start;
#[cfg(test)]
mod tests;
