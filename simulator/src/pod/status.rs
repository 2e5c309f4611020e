//! The pod-level parts of the kubelet's status: the phase (`getPhase` in
//! `pkg/kubelet/kubelet_pods.go`) and the conditions it owns (`pkg/kubelet/status/generate.go`),
//! computed from container statuses exactly as upstream computes them from the API types.

use k8s_openapi::api::core::v1::{Container, ContainerStatus, PodCondition, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Condition types the kubelet owns (`kubetypes.PodConditionByKubelet`); the others in the
/// API's status are kept as they are.
pub(crate) const KUBELET_CONDITIONS: &[&str] = &[
    "PodScheduled",
    "Ready",
    "Initialized",
    "ContainersReady",
    "PodReadyToStartContainers",
];

/// Whether `c` is a sidecar: an init container with `restartPolicy: Always`.
pub(crate) fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// What the status rules need of a pod's spec, kept small: a machine lives as long as its pod,
/// and the API's `Container` alone is over 2 KB.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Shape {
    /// `restartPolicy`, defaulted.
    pub restart_policy: String,
    /// Init containers in order, with whether each is a sidecar.
    pub init: Vec<(String, bool)>,
    /// App containers in order.
    pub containers: Vec<String>,
    /// `readinessGates` condition types.
    pub readiness_gates: Vec<String>,
}

impl Shape {
    /// The shape of `spec`.
    pub fn of(spec: &PodSpec) -> Self {
        Self {
            restart_policy: spec
                .restart_policy
                .clone()
                .unwrap_or_else(|| "Always".into()),
            init: spec
                .init_containers
                .iter()
                .flatten()
                .map(|c| (c.name.clone(), is_sidecar(c)))
                .collect(),
            containers: spec.containers.iter().map(|c| c.name.clone()).collect(),
            readiness_gates: spec
                .readiness_gates
                .iter()
                .flatten()
                .map(|g| g.condition_type.clone())
                .collect(),
        }
    }
}

fn status_of<'a>(all: &'a [ContainerStatus], name: &str) -> Option<&'a ContainerStatus> {
    all.iter().find(|s| s.name == name)
}

fn last_terminated(s: &ContainerStatus) -> Option<i32> {
    s.last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .map(|t| t.exit_code)
}

/// `getPhase`: the pod's phase from its container statuses (init and regular together).
pub(crate) fn phase(
    spec: &Shape,
    all: &[ContainerStatus],
    pod_is_terminal: bool,
    has_initialized: bool,
) -> &'static str {
    let restart_policy = spec.restart_policy.as_str();
    let inits = &spec.init;
    let (mut pending_regular_init, mut pending_sidecars, mut failed_init) = (0, 0, 0);
    for (name, _) in inits.iter().filter(|(_, sidecar)| !sidecar) {
        let Some(s) = status_of(all, name) else {
            pending_regular_init += 1;
            continue;
        };
        let state = s.state.clone().unwrap_or_default();
        if state.running.is_some() {
            pending_regular_init += 1;
        } else if let Some(t) = &state.terminated {
            if t.exit_code != 0 {
                failed_init += 1;
            }
        } else if state.waiting.is_some() {
            match last_terminated(s) {
                Some(code) if code != 0 => failed_init += 1,
                Some(_) => {}
                None => pending_regular_init += 1,
            }
        } else {
            pending_regular_init += 1;
        }
    }
    let (mut unknown, mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0, 0);
    for (name, _) in inits.iter().filter(|(_, sidecar)| *sidecar) {
        let Some(s) = status_of(all, name) else {
            unknown += 1;
            continue;
        };
        let state = s.state.clone().unwrap_or_default();
        if state.running.is_some() {
            if s.started != Some(true) {
                pending_sidecars += 1;
            }
            running += 1;
        } else if state.terminated.is_none() && state.waiting.is_none() {
            unknown += 1;
        }
    }
    for name in &spec.containers {
        let Some(s) = status_of(all, name) else {
            unknown += 1;
            continue;
        };
        let state = s.state.clone().unwrap_or_default();
        if state.running.is_some() {
            running += 1;
        } else if let Some(t) = &state.terminated {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if state.waiting.is_some() {
            if last_terminated(s).is_some() {
                stopped += 1;
            } else {
                waiting += 1;
            }
        } else {
            unknown += 1;
        }
    }
    if failed_init > 0 && restart_policy == "Never" {
        return "Failed";
    }
    if pending_regular_init > 0 || (pending_sidecars > 0 && !has_initialized) || waiting > 0 {
        return "Pending";
    }
    if running > 0 && unknown == 0 {
        return "Running";
    }
    if running == 0 && stopped > 0 && unknown == 0 {
        if pod_is_terminal {
            return if stopped == succeeded {
                "Succeeded"
            } else {
                "Failed"
            };
        }
        if restart_policy == "Always" {
            return "Running";
        }
        if stopped == succeeded {
            return "Succeeded";
        }
        if restart_policy == "Never" {
            return "Failed";
        }
        return "Running";
    }
    "Pending"
}

/// A condition without its transition time (set by [`Conditions`]).
fn condition(type_: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.map(Into::into),
        message,
        ..Default::default()
    }
}

fn names(list: &[&str]) -> String {
    format!("[{}]", list.join(" "))
}

/// `GenerateContainersReadyCondition`.
pub(crate) fn containers_ready(spec: &Shape, all: &[ContainerStatus], phase: &str) -> PodCondition {
    let mut unknown = Vec::new();
    let mut unready = Vec::new();
    let sidecars = spec.init.iter().filter(|(_, s)| *s).map(|(n, _)| n);
    for name in sidecars.chain(spec.containers.iter()) {
        match status_of(all, name) {
            Some(s) if !s.ready => unready.push(name.as_str()),
            Some(_) => {}
            None => unknown.push(name.as_str()),
        }
    }
    if (phase == "Succeeded" && unknown.is_empty()) || phase == "Failed" {
        let reason = if phase == "Failed" {
            "PodFailed"
        } else {
            "PodCompleted"
        };
        return condition("ContainersReady", false, Some(reason), None);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            names(&unknown)
        ));
    }
    if !unready.is_empty() {
        messages.push(format!(
            "containers with unready status: {}",
            names(&unready)
        ));
    }
    if messages.is_empty() {
        condition("ContainersReady", true, None, None)
    } else {
        condition(
            "ContainersReady",
            false,
            Some("ContainersNotReady"),
            Some(messages.join(", ")),
        )
    }
}

/// `GeneratePodReadyCondition`: ContainersReady, then the readiness gates against `conditions`
/// (the other conditions of the status).
pub(crate) fn pod_ready(
    spec: &Shape,
    conditions: &[PodCondition],
    all: &[ContainerStatus],
    phase: &str,
) -> PodCondition {
    let cr = containers_ready(spec, all, phase);
    if cr.status != "True" {
        return PodCondition {
            type_: "Ready".into(),
            ..cr
        };
    }
    let mut messages = Vec::new();
    for gate in &spec.readiness_gates {
        match conditions.iter().find(|c| c.type_ == *gate) {
            None => messages.push(format!(
                "corresponding condition of pod readiness gate {gate:?} does not exist."
            )),
            Some(c) if c.status != "True" => messages.push(format!(
                "the status of pod readiness gate {gate:?} is not \"True\", but {}",
                c.status
            )),
            Some(_) => {}
        }
    }
    if messages.is_empty() {
        condition("Ready", true, None, None)
    } else {
        condition(
            "Ready",
            false,
            Some("ReadinessGatesNotReady"),
            Some(messages.join(", ")),
        )
    }
}

/// `GeneratePodInitializedCondition`.
pub(crate) fn initialized(spec: &Shape, all: &[ContainerStatus], phase: &str) -> PodCondition {
    let mut unknown = Vec::new();
    let mut incomplete = Vec::new();
    for (name, sidecar) in &spec.init {
        let Some(s) = status_of(all, name) else {
            unknown.push(name.as_str());
            continue;
        };
        let done = if *sidecar {
            s.started == Some(true)
        } else {
            s.ready
        };
        if !done {
            incomplete.push(name.as_str());
        }
    }
    if phase == "Succeeded" && unknown.is_empty() {
        return condition("Initialized", true, Some("PodCompleted"), None);
    }
    let regular_started = spec
        .containers
        .iter()
        .any(|name| status_of(all, name).is_some_and(|s| s.started == Some(true) || has_run(s)));
    if regular_started {
        return condition("Initialized", true, None, None);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            names(&unknown)
        ));
    }
    if !incomplete.is_empty() {
        messages.push(format!(
            "containers with incomplete status: {}",
            names(&incomplete)
        ));
    }
    if messages.is_empty() {
        condition("Initialized", true, None, None)
    } else {
        condition(
            "Initialized",
            false,
            Some("ContainersNotInitialized"),
            Some(messages.join(", ")),
        )
    }
}

/// Whether the container ran at some point (`HasAnyRegularContainerStarted` looks at running
/// or terminated states).
fn has_run(s: &ContainerStatus) -> bool {
    let state = s.state.clone().unwrap_or_default();
    state.running.is_some() || state.terminated.is_some()
}

/// The kubelet-owned conditions, remembering when each last changed status: a condition's
/// `lastTransitionTime` moves only when its `status` does (the status manager's
/// `updateLastTransitionTime`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Conditions {
    /// `(type, status, lastTransitionTime)`.
    seen: Vec<(String, String, Time)>,
}

impl Conditions {
    /// Seed the memory from the API's conditions (a restarted simulator keeps their times).
    pub fn remember(&mut self, existing: &[PodCondition]) {
        for c in existing {
            if let Some(t) = &c.last_transition_time
                && !self.seen.iter().any(|(ty, _, _)| *ty == c.type_)
            {
                self.seen
                    .push((c.type_.clone(), c.status.clone(), t.clone()));
            }
        }
    }

    /// Stamp `c` with its transition time as of `now`.
    pub fn stamp(&mut self, mut c: PodCondition, now: &Time) -> PodCondition {
        match self.seen.iter_mut().find(|(ty, _, _)| *ty == c.type_) {
            Some((_, status, time)) => {
                if *status != c.status {
                    *status = c.status.clone();
                    *time = now.clone();
                }
                c.last_transition_time = Some(time.clone());
            }
            None => {
                self.seen
                    .push((c.type_.clone(), c.status.clone(), now.clone()));
                c.last_transition_time = Some(now.clone());
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    };
    use rstest::rstest;

    use super::*;

    fn spec(policy: &str, inits: &[&str], containers: &[&str]) -> PodSpec {
        let c = |n: &&str| Container {
            name: (*n).into(),
            ..Default::default()
        };
        PodSpec {
            restart_policy: Some(policy.into()),
            init_containers: Some(inits.iter().map(c).collect()),
            containers: containers.iter().map(c).collect(),
            ..Default::default()
        }
    }

    /// `w`: waiting, `r`: running, `t0`/`t1`: terminated with that code, `b1`: waiting after
    /// exiting 1 (back-off).
    fn st(name: &str, code: &str) -> ContainerStatus {
        let term = |c: i32| ContainerStateTerminated {
            exit_code: c,
            ..Default::default()
        };
        let waiting = ContainerState {
            waiting: Some(ContainerStateWaiting::default()),
            ..Default::default()
        };
        let (state, last) = match code {
            "w" => (waiting, None),
            "r" => (
                ContainerState {
                    running: Some(ContainerStateRunning::default()),
                    ..Default::default()
                },
                None,
            ),
            "t0" | "t1" => (
                ContainerState {
                    terminated: Some(term(if code == "t0" { 0 } else { 1 })),
                    ..Default::default()
                },
                None,
            ),
            "b1" => (
                waiting,
                Some(ContainerState {
                    terminated: Some(term(1)),
                    ..Default::default()
                }),
            ),
            _ => unreachable!(),
        };
        ContainerStatus {
            name: name.into(),
            state: Some(state),
            last_state: last,
            ready: code == "r",
            ..Default::default()
        }
    }

    #[rstest]
    #[case("Always", &[("web", "w")], false, "Pending")]
    #[case("Always", &[("web", "r")], false, "Running")]
    #[case("Always", &[("web", "t0")], false, "Running")]
    #[case("Always", &[("web", "b1")], false, "Running")]
    #[case("OnFailure", &[("web", "t0")], false, "Succeeded")]
    #[case("OnFailure", &[("web", "b1")], false, "Running")]
    #[case("Never", &[("web", "t1")], false, "Failed")]
    #[case("Never", &[("web", "t0"), ("side", "t1")], false, "Failed")]
    #[case("Never", &[("web", "t0"), ("side", "r")], false, "Running")]
    #[case("Always", &[("web", "t0")], true, "Succeeded")]
    #[case("Always", &[("web", "t1")], true, "Failed")]
    fn phase_follows_get_phase(
        #[case] policy: &str,
        #[case] statuses: &[(&str, &str)],
        #[case] terminal: bool,
        #[case] want: &str,
    ) {
        let names: Vec<&str> = statuses.iter().map(|(n, _)| *n).collect();
        let all: Vec<ContainerStatus> = statuses.iter().map(|(n, c)| st(n, c)).collect();
        assert_eq!(
            phase(
                &Shape::of(&spec(policy, &[], &names)),
                &all,
                terminal,
                false
            ),
            want
        );
    }

    #[rstest]
    #[case("Never", "t1", "Failed")]
    #[case("Always", "b1", "Pending")]
    #[case("Always", "r", "Pending")]
    fn init_containers_hold_or_fail_the_pod(
        #[case] policy: &str,
        #[case] init: &str,
        #[case] want: &str,
    ) {
        let all = vec![st("init", init), st("web", "w")];
        assert_eq!(
            phase(
                &Shape::of(&spec(policy, &["init"], &["web"])),
                &all,
                false,
                false
            ),
            want
        );
    }

    #[test]
    fn conditions_name_the_unready_containers() {
        let s = Shape::of(&spec("Always", &["init"], &["web", "db"]));
        let all = vec![st("init", "t0"), st("web", "r"), st("db", "w")];
        let cr = containers_ready(&s, &all, "Pending");
        assert_eq!(cr.reason.as_deref(), Some("ContainersNotReady"));
        assert_eq!(
            cr.message.as_deref(),
            Some("containers with unready status: [db]")
        );
        let ready = pod_ready(&s, &[], &all, "Pending");
        assert_eq!(
            (ready.type_.as_str(), ready.status.as_str()),
            ("Ready", "False")
        );
        let init = initialized(&s, &[st("init", "w"), st("web", "w")], "Pending");
        assert_eq!(
            init.message.as_deref(),
            Some("containers with incomplete status: [init]")
        );
        let done = containers_ready(&s, &all, "Succeeded");
        assert_eq!(done.reason.as_deref(), Some("PodCompleted"));
    }

    #[test]
    fn transition_time_moves_only_when_the_status_does() {
        let mut conds = Conditions::default();
        let t1 = Time("2026-01-01T00:00:00Z".parse().unwrap());
        let t2 = Time("2026-01-01T00:00:05Z".parse().unwrap());
        let c = conds.stamp(condition("Ready", false, None, None), &t1);
        assert_eq!(c.last_transition_time, Some(t1.clone()));
        let c = conds.stamp(condition("Ready", false, Some("X"), None), &t2);
        assert_eq!(c.last_transition_time, Some(t1));
        let c = conds.stamp(condition("Ready", true, None, None), &t2);
        assert_eq!(c.last_transition_time, Some(t2));
    }
}
