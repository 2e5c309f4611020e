//! Starting a container, as `startContainer` does: the image (pull policy, pull, back-off),
//! create and start, the postStart hook, then running with its probes armed.

use super::*;

impl PodMachine {
    // ----- starting a container -----

    /// Start container `i` (first start or restart), beginning with its image.
    pub(super) fn begin(&mut self, i: usize, t: Instant, world: &dyn World, cx: &mut Cx) {
        let field = self.field(i);
        let clock = self.clock;
        let c = &mut self.containers[i];
        if let Some((image, policy)) = c.next_image.take() {
            c.set_image(&image, policy);
        }
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
                format!(
                    "Container image {image:?} already present on machine and can be accessed by the pod"
                ),
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

    pub(super) fn pulled(
        &mut self,
        i: usize,
        t: Instant,
        began: Instant,
        world: &dyn World,
        cx: &mut Cx,
    ) {
        let field = self.field(i);
        let clock = self.clock;
        let c = &mut self.containers[i];
        let image = c.image().to_owned();
        if c.b.fails_to_pull(&image) {
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

    pub(super) fn creating(&mut self, i: usize, t: Instant) {
        let c = &mut self.containers[i];
        c.step = Step::Creating {
            done: t + self.clock.real(c.b.start_delay),
        };
    }

    pub(super) fn created(&mut self, i: usize, t: Instant, cx: &mut Cx) {
        let field = self.field(i);
        let seed = self.seed;
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
        cx.event(
            EventKind::Normal,
            "Created",
            "Container created".into(),
            field.clone(),
        );
        cx.event(
            EventKind::Normal,
            "Started",
            "Container started".into(),
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
        if c.post_start {
            c.step = Step::PostStart {
                done: t + clock.real(c.b.post_start_duration),
            };
        } else {
            self.running(i, t);
        }
    }

    pub(super) fn post_start_done(&mut self, i: usize, t: Instant, cx: &mut Cx) {
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
    pub(super) fn running(&mut self, i: usize, t: Instant) {
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
}
