//! A running container's probes, and the end of containers: stops (preStop, SIGTERM, SIGKILL
//! at the end of the grace period), exits and what the restart policy makes of them, and the
//! pod's graceful deletion.

use super::*;

impl PodMachine {
    // ----- probes -----

    pub(super) fn probe(&mut self, i: usize, t: Instant, cx: &mut Cx) {
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
    pub(super) fn reschedule_probes(&mut self, t: Instant) {
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
    pub(super) fn stop(
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
        let has_pre_stop = c.pre_stop;
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
    pub(super) fn exit(
        &mut self,
        i: usize,
        t: Instant,
        code: i32,
        force_restart: bool,
        cx: &mut Cx,
    ) {
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
        } else if std::mem::take(&mut c.restart_once) || c.sidecar {
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

    pub(super) fn begin_deletion(&mut self, t: Instant, cx: &mut Cx) {
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

    pub(super) fn finish_deletion(&mut self) {
        if self.containers.iter().all(|c| c.run.is_none())
            && (self.deletion.is_some_and(|d| d.begun) || self.terminal)
        {
            self.stage = Stage::Stopped;
        }
    }

    // ----- spec changes and deadlines -----

    /// The pod's spec changed: a new `activeDeadlineSeconds`, or new container images. A
    /// running container with a new image is restarted (now, in [`Self::fire`]); one that is
    /// not running takes the image at its next start, which is at once if it was waiting on the
    /// old image.
    pub(super) fn spec_changed(&mut self, spec: &k8s_openapi::api::core::v1::PodSpec, at: Instant) {
        self.active_deadline = spec.active_deadline_seconds;
        let all = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter());
        for container in all {
            let Some(i) = self.index(&container.name) else {
                continue;
            };
            let c = &mut self.containers[i];
            let image = container.image.as_deref().unwrap_or_default();
            let current = c.next_image.as_ref().map_or(c.image(), |(n, _)| n.as_str());
            if current == image {
                continue;
            }
            if c.run.is_some() {
                c.next_image = Some((
                    image.to_owned(),
                    super::super::containers::pull_policy(container),
                ));
                self.changed.push((i, at));
            } else {
                c.set_image(image, super::super::containers::pull_policy(container));
                if let Step::PullRetry { at: retry } = &mut c.step {
                    *retry = at;
                }
            }
        }
    }

    /// `Container web definition changed, will be restarted`: whatever the restart policy.
    pub(super) fn definition_changed(&mut self, i: usize, t: Instant, cx: &mut Cx) {
        let c = &mut self.containers[i];
        if c.run.is_none() || matches!(c.step, Step::Stopping { .. }) {
            if let Some((image, policy)) = c.next_image.take() {
                c.set_image(&image, policy);
            }
            return;
        }
        c.restart_once = true;
        let message = format!(
            "Container {} definition changed, will be restarted",
            c.name()
        );
        let grace = self.pod_grace();
        self.stop(i, t, grace, &message, true, cx);
    }

    /// `activeDeadlineSeconds` passed: the kubelet fails the pod and stops its containers.
    pub(super) fn deadline_exceeded(&mut self, t: Instant, cx: &mut Cx) {
        const REASON: &str = "DeadlineExceeded";
        const MESSAGE: &str = "Pod was active on the node longer than the specified deadline";
        cx.event(EventKind::Normal, REASON, MESSAGE.into(), None);
        self.evicted = Some((REASON, MESSAGE));
        self.terminal = true;
        self.busy = None;
        let grace = self.pod_grace();
        for i in 0..self.containers.len() {
            if self.containers[i].run.is_some() {
                let message = format!("Stopping container {}", self.containers[i].name());
                self.stop(i, t, grace, &message, false, cx);
            } else {
                self.containers[i].step = Step::Done;
            }
        }
    }
}
