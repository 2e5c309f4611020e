//! Probes as the kubelet's prober workers run them (`pkg/kubelet/prober/worker.go`): one worker
//! per container and probe kind, probing every `periodSeconds` from `initialDelaySeconds` after
//! the container started, publishing a result only after `successThreshold` /
//! `failureThreshold` identical outcomes in a row. The startup probe gates the other two.
//!
//! The outcome of one probe comes from the behaviour model (a function of the time since the
//! container started) or from a fault's override. Because that function only changes at a few
//! known instants, a worker whose result is settled and healthy sleeps until the first probe at
//! or after the next change: idle pods cost nothing between events.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::time::Instant;

use super::ProbeKind;
use crate::behaviour::{ContainerBehaviour, go_duration};
use crate::clock::SimClock;

/// What a probe does, for the wording of its failures.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Handler {
    Http {
        scheme: String,
        host: Option<String>,
        port: String,
        path: String,
    },
    Tcp {
        host: Option<String>,
        port: String,
    },
    Exec {
        command: Vec<String>,
    },
    Grpc {
        port: i32,
    },
}

/// A container's probe, with the API's defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProbeSpec {
    pub kind: ProbeKind,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
    /// `terminationGracePeriodSeconds` of the probe, which overrides the pod's for a kill.
    pub grace: Option<i64>,
    pub handler: Handler,
}

impl ProbeSpec {
    /// `kind` probe of `container`, if it has one.
    pub fn of(container: &Container, kind: ProbeKind) -> Option<Self> {
        let probe: &Probe = match kind {
            ProbeKind::Startup => container.startup_probe.as_ref()?,
            ProbeKind::Readiness => container.readiness_probe.as_ref()?,
            ProbeKind::Liveness => container.liveness_probe.as_ref()?,
        };
        let port_name = |port: &IntOrString| match port {
            IntOrString::Int(n) => n.to_string(),
            // A named port resolves to the container's port of that name, as the prober does.
            IntOrString::String(name) => container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map_or_else(|| name.clone(), |p| p.container_port.to_string()),
        };
        let handler = if let Some(http) = &probe.http_get {
            Handler::Http {
                scheme: http.scheme.as_deref().unwrap_or("HTTP").to_lowercase(),
                host: http.host.clone().filter(|h| !h.is_empty()),
                port: port_name(&http.port),
                path: http.path.clone().unwrap_or_default(),
            }
        } else if let Some(tcp) = &probe.tcp_socket {
            Handler::Tcp {
                host: tcp.host.clone().filter(|h| !h.is_empty()),
                port: port_name(&tcp.port),
            }
        } else if let Some(grpc) = &probe.grpc {
            Handler::Grpc { port: grpc.port }
        } else {
            Handler::Exec {
                command: probe
                    .exec
                    .as_ref()
                    .and_then(|e| e.command.clone())
                    .unwrap_or_default(),
            }
        };
        let secs =
            |v: Option<i32>, default: i32| Duration::from_secs(v.unwrap_or(default).max(0) as u64);
        let default_success = 1;
        Some(Self {
            kind,
            initial_delay: secs(probe.initial_delay_seconds, 0),
            period: secs(probe.period_seconds, 10).max(Duration::from_secs(1)),
            timeout: secs(probe.timeout_seconds, 1).max(Duration::from_secs(1)),
            success_threshold: probe.success_threshold.unwrap_or(default_success).max(1) as u32,
            failure_threshold: probe.failure_threshold.unwrap_or(3).max(1) as u32,
            grace: probe.termination_grace_period_seconds,
            handler,
        })
    }

    /// The probe's failure output, as the kubelet's prober words it; `timed_out` when the
    /// container answered slower than `timeoutSeconds`.
    pub fn failure(&self, pod_ip: &str, timed_out: bool) -> String {
        match &self.handler {
            Handler::Http {
                scheme,
                host,
                port,
                path,
            } => {
                if timed_out {
                    let host = host.as_deref().unwrap_or(pod_ip);
                    let path = if path.starts_with('/') || path.is_empty() {
                        path.clone()
                    } else {
                        format!("/{path}")
                    };
                    format!(
                        "Get \"{scheme}://{host}:{port}{path}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                    )
                } else {
                    "HTTP probe failed with statuscode: 500".into()
                }
            }
            Handler::Tcp { host, port } => {
                let host = host.as_deref().unwrap_or(pod_ip);
                if timed_out {
                    format!("dial tcp {host}:{port}: i/o timeout")
                } else {
                    format!("dial tcp {host}:{port}: connect: connection refused")
                }
            }
            Handler::Exec { command } => {
                if timed_out {
                    format!("command {:?} timed out", command.join(" "))
                } else {
                    // The prober reports the command's output, which a hollow container has none of.
                    String::new()
                }
            }
            Handler::Grpc { .. } => {
                if timed_out {
                    format!(
                        "timeout: health rpc did not complete within {}",
                        go_duration(self.timeout)
                    )
                } else {
                    "service unhealthy (responded with \"NOT_SERVING\")".into()
                }
            }
        }
    }
}

/// The name the kubelet gives a probe kind in events (`Readiness probe failed: …`).
pub(crate) fn kind_name(kind: ProbeKind) -> &'static str {
    match kind {
        ProbeKind::Startup => "Startup",
        ProbeKind::Readiness => "Readiness",
        ProbeKind::Liveness => "Liveness",
    }
}

/// One probe's outcome at `t` for a container started at `start`: `(success, timed_out)`.
pub(crate) fn outcome(
    kind: ProbeKind,
    b: &ContainerBehaviour,
    spec_timeout: Duration,
    clock: &SimClock,
    start: Instant,
    t: Instant,
    forced_failing: Option<bool>,
) -> (bool, bool) {
    if let Some(failing) = forced_failing {
        return (!failing, false);
    }
    // A probe slower than its timeout fails, whatever the container would have said.
    if !b.probe_latency.is_zero() && b.probe_latency >= spec_timeout {
        return (false, true);
    }
    let since = t.saturating_duration_since(start);
    let reached = |d: Duration| since >= clock.real(d);
    let ok = match kind {
        ProbeKind::Startup => reached(b.startup_after),
        ProbeKind::Readiness => {
            reached(b.ready_after) && !b.readiness_fail_after.is_some_and(reached)
        }
        ProbeKind::Liveness => !b.liveness_fail_after.is_some_and(reached),
    };
    (ok, false)
}

/// The first instant after `t` at which [`outcome`] may change, if any.
pub(crate) fn next_change(
    kind: ProbeKind,
    b: &ContainerBehaviour,
    clock: &SimClock,
    start: Instant,
    t: Instant,
    forced: bool,
) -> Option<Instant> {
    if forced {
        return None;
    }
    let points: &[Option<Duration>] = match kind {
        ProbeKind::Startup => &[Some(b.startup_after)],
        ProbeKind::Readiness => &[Some(b.ready_after), b.readiness_fail_after],
        ProbeKind::Liveness => &[b.liveness_fail_after],
    };
    points
        .iter()
        .flatten()
        .map(|d| start + clock.real(*d))
        .filter(|at| *at > t)
        .min()
}

/// A prober worker's state for one container instance.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Worker {
    pub kind: ProbeKind,
    /// The first probe's time; later probes are every period after it.
    pub origin: Option<Instant>,
    /// The next probe; `None` while gated, on hold, or settled for good.
    pub next: Option<Instant>,
    last: Option<bool>,
    run: u32,
    /// The published result: readiness starts failed, liveness succeeded, startup unknown.
    pub result: Option<bool>,
    /// After a liveness or startup failure, the worker waits for a new container.
    pub on_hold: bool,
}

/// What one probe did.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Tick {
    /// The published result changed to this.
    pub published: Option<bool>,
    /// The probe failed with this output (an `Unhealthy` event).
    pub failure: Option<String>,
}

impl Worker {
    /// A worker for a new container instance.
    pub fn new(kind: ProbeKind) -> Self {
        Self {
            kind,
            origin: None,
            next: None,
            last: None,
            run: 0,
            result: match kind {
                ProbeKind::Startup => None,
                ProbeKind::Readiness => Some(false),
                ProbeKind::Liveness => Some(true),
            },
            on_hold: false,
        }
    }

    /// Start probing at `first` (the container started, or the startup probe succeeded).
    pub fn arm(&mut self, first: Instant) {
        self.origin = Some(first);
        self.next = Some(first);
    }

    /// The first probe at or after `t` on this worker's grid.
    pub fn grid_at_or_after(
        &self,
        spec: &ProbeSpec,
        clock: &SimClock,
        t: Instant,
    ) -> Option<Instant> {
        let origin = self.origin?;
        if t <= origin {
            return Some(origin);
        }
        let period = clock.real(spec.period);
        if period.is_zero() {
            return Some(t);
        }
        let k = (t - origin).as_nanos().div_ceil(period.as_nanos());
        Some(origin + period * u32::try_from(k).unwrap_or(u32::MAX))
    }

    /// Run the probe due at `t`.
    #[allow(clippy::too_many_arguments)]
    pub fn tick(
        &mut self,
        spec: &ProbeSpec,
        b: &ContainerBehaviour,
        clock: &SimClock,
        start: Instant,
        t: Instant,
        forced: Option<bool>,
        pod_ip: &str,
    ) -> Tick {
        let (ok, timed_out) = outcome(self.kind, b, spec.timeout, clock, start, t, forced);
        if self.last == Some(ok) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(ok);
            self.run = 1;
        }
        let mut tick = Tick {
            failure: (!ok).then(|| spec.failure(pod_ip, timed_out)),
            ..Tick::default()
        };
        let threshold = if ok {
            spec.success_threshold
        } else {
            spec.failure_threshold
        };
        if self.run >= threshold && self.result != Some(ok) {
            self.result = Some(ok);
            tick.published = Some(ok);
        }
        if !ok && self.result == Some(false) && self.kind != ProbeKind::Readiness {
            // Liveness and startup failures stop the worker until a new container runs.
            self.on_hold = true;
            self.run = 0;
        }
        self.schedule(spec, b, clock, start, t, forced.is_some());
        tick
    }

    /// Choose the next probe after the one at `t`.
    pub fn schedule(
        &mut self,
        spec: &ProbeSpec,
        b: &ContainerBehaviour,
        clock: &SimClock,
        start: Instant,
        t: Instant,
        forced: bool,
    ) {
        if self.on_hold || (self.kind == ProbeKind::Startup && self.result == Some(true)) {
            self.next = None;
            return;
        }
        let period = clock.real(spec.period);
        let settled = self.last == Some(true)
            && self.result == Some(true)
            && self.run >= spec.success_threshold;
        self.next = if settled {
            // Healthy and published: nothing changes before the behaviour does.
            next_change(self.kind, b, clock, start, t, forced)
                .and_then(|c| self.grid_at_or_after(spec, clock, c))
        } else {
            Some(t + period)
        };
    }
}
