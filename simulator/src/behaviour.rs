//! The behaviour model: what a hollow container does, as data. Defaults come from the profile's
//! `behaviour:` section ([`BehaviourDefaults`]); a pod overrides them with annotations under
//! [`ANNOTATION_PREFIX`] (`kubeproof.io/exit-after: 30s`), one container at a time with a
//! suffix (`kubeproof.io/exit-after.web: 30s`). Every delay is spread by a jitter drawn from the
//! run's seed ([`crate::seed`]), keyed by the pod and the knob, so a run replays exactly.
//!
//! The knob reference, with defaults and examples, is `docs/behaviour.md`.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use regex::Regex;
use serde::Deserialize;

use crate::seed;

mod duration;

pub use duration::{GoDuration, go_duration};

/// Every behaviour annotation starts with this.
pub const ANNOTATION_PREFIX: &str = "kubeproof.io/";

/// The image pull failure pattern used when the profile gives none: tags `doesnotexist` and
/// `nonexistent`, and any repository under a path segment named `invalid` — names a test can
/// use on purpose and no real workload does.
pub const DEFAULT_PULL_FAILURE: &str = r"(^|/)invalid/|:(doesnotexist|nonexistent)$";

/// Defaults for every pod: the profile's `behaviour:` section. Every field has a default, so
/// `behaviour: {}` gives pods that start in about a second and run forever, healthy.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BehaviourDefaults {
    /// Setting up the pod sandbox (network, IP) after the volumes are mounted.
    pub sandbox_delay: GoDuration,
    /// Creating and starting one container once its image is there.
    pub start_delay: GoDuration,
    /// Pulling one image.
    pub pull_delay: GoDuration,
    /// Images matching this regex fail to pull (`ErrImagePull`, then `ImagePullBackOff`).
    pub image_pull_failure: String,
    /// Regular containers exit this long after they start; `None`: they run forever.
    pub exit_after: Option<GoDuration>,
    /// The exit code when they do.
    pub exit_code: i32,
    /// Init containers exit (with code 0 unless a pod says otherwise) this long after they
    /// start.
    pub init_exit_after: GoDuration,
    /// Readiness probes fail until this long after the container started.
    pub ready_after: GoDuration,
    /// Readiness probes fail from this long after the container started; `None`: never.
    pub readiness_fail_after: Option<GoDuration>,
    /// Liveness probes fail from this long after the container started; `None`: never.
    pub liveness_fail_after: Option<GoDuration>,
    /// Startup probes fail until this long after the container started.
    pub startup_after: GoDuration,
    /// How long a probe takes to answer; at or above `timeoutSeconds` the probe fails with a
    /// timeout.
    pub probe_latency: GoDuration,
    /// How long a postStart hook runs.
    pub post_start_duration: GoDuration,
    /// Whether postStart hooks fail.
    pub post_start_fails: bool,
    /// How long a preStop hook runs (bounded by the grace period).
    pub pre_stop_duration: GoDuration,
    /// Whether preStop hooks fail.
    pub pre_stop_fails: bool,
    /// Containers that ignore SIGTERM run until the grace period ends and exit 137; the others
    /// exit 0 as soon as their preStop hook is done.
    pub ignore_sigterm: bool,
    /// Every delay is spread by ± this fraction (0.1: ±10%), drawn from the run's seed.
    pub jitter: f64,
    /// CPU each container uses, in millicores (for metrics).
    pub cpu_millicores: u64,
    /// Memory each container uses, in bytes (for metrics).
    pub memory_bytes: u64,
}

impl Default for BehaviourDefaults {
    fn default() -> Self {
        let ms = |n: u64| GoDuration(Duration::from_millis(n));
        Self {
            sandbox_delay: ms(500),
            start_delay: ms(200),
            pull_delay: ms(1000),
            image_pull_failure: DEFAULT_PULL_FAILURE.into(),
            exit_after: None,
            exit_code: 0,
            init_exit_after: ms(1000),
            ready_after: ms(0),
            readiness_fail_after: None,
            liveness_fail_after: None,
            startup_after: ms(0),
            probe_latency: ms(0),
            post_start_duration: ms(0),
            post_start_fails: false,
            pre_stop_duration: ms(0),
            pre_stop_fails: false,
            ignore_sigterm: false,
            jitter: 0.1,
            cpu_millicores: 10,
            memory_bytes: 32 << 20,
        }
    }
}

impl BehaviourDefaults {
    /// Check the values a YAML parser cannot: the regex and the jitter's range.
    pub fn validate(&self) -> Result<(), BehaviourError> {
        Regex::new(&self.image_pull_failure).map_err(|e| BehaviourError {
            annotation: "behaviour.imagePullFailure".into(),
            message: format!("is not a valid regular expression: {e}"),
        })?;
        if !(0.0..1.0).contains(&self.jitter) {
            return Err(BehaviourError {
                annotation: "behaviour.jitter".into(),
                message: "must be in [0, 1)".into(),
            });
        }
        Ok(())
    }
}

/// What one container does, resolved for one pod: defaults, annotations, jitter. Durations
/// are model time.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerBehaviour {
    /// Creating and starting the container once its image is there.
    pub start_delay: Duration,
    /// Pulling its image.
    pub pull_delay: Duration,
    /// Whether pulling its image fails.
    pub pull_fails: bool,
    /// What the pod's `image-pull` annotation forced, if it did.
    pub pull_override: Option<bool>,
    /// The profile's failure pattern, to judge an image the spec changes to.
    pub pull_pattern: std::sync::Arc<str>,
    /// It exits this long after it starts; `None`: it runs until stopped.
    pub exit_after: Option<Duration>,
    /// With these codes: the first run's, the second's, …, the last repeated (never empty).
    pub exit_codes: Vec<i32>,
    /// Readiness probes fail until this long after start.
    pub ready_after: Duration,
    /// Readiness probes fail from this long after start.
    pub readiness_fail_after: Option<Duration>,
    /// Liveness probes fail from this long after start.
    pub liveness_fail_after: Option<Duration>,
    /// Startup probes fail until this long after start.
    pub startup_after: Duration,
    /// How long a probe takes to answer.
    pub probe_latency: Duration,
    /// How long its postStart hook runs.
    pub post_start_duration: Duration,
    /// Whether its postStart hook fails.
    pub post_start_fails: bool,
    /// How long its preStop hook runs.
    pub pre_stop_duration: Duration,
    /// Whether its preStop hook fails.
    pub pre_stop_fails: bool,
    /// Whether it ignores SIGTERM (then it is killed at the end of the grace period).
    pub ignore_sigterm: bool,
    /// CPU used while running, millicores.
    pub cpu_millicores: u64,
    /// Memory used while running, bytes.
    pub memory_bytes: u64,
}

impl ContainerBehaviour {
    /// Whether pulling `image` fails: the pod's `image-pull` annotation, else the profile's
    /// pattern.
    pub fn fails_to_pull(&self, image: &str) -> bool {
        self.pull_override
            .unwrap_or_else(|| failure_pattern(&self.pull_pattern).is_match(image))
    }
}

impl Default for ContainerBehaviour {
    fn default() -> Self {
        Behaviour::resolve_lenient(&BehaviourDefaults::default(), &Pod::default(), 0)
            .0
            .fallback
    }
}

/// What one pod's containers do, resolved for that pod.
#[derive(Clone, Debug, PartialEq)]
pub struct Behaviour {
    /// Setting up the sandbox (model time).
    pub sandbox_delay: Duration,
    /// Per container, by name, init containers first.
    pub containers: Vec<(String, ContainerBehaviour)>,
    /// For a container the pod did not list when it was resolved.
    pub fallback: ContainerBehaviour,
    /// The run's seed, for the machine's own draws (container IDs).
    pub seed: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self::resolve_lenient(&BehaviourDefaults::default(), &Pod::default(), 0).0
    }
}

/// An annotation (or profile value) that does not parse.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
#[error("annotation {annotation}: {message}")]
pub struct BehaviourError {
    /// The annotation's key.
    pub annotation: String,
    /// What is wrong and what is expected.
    pub message: String,
}

/// The knobs a pod may set, after the prefix.
const KNOBS: &[&str] = &[
    "start-delay",
    "pull-delay",
    "sandbox-delay",
    "image-pull",
    "exit-after",
    "exit-code",
    "ready-after",
    "readiness-fail-after",
    "liveness-fail-after",
    "startup-after",
    "probe-latency",
    "poststart-duration",
    "poststart-fail",
    "prestop-duration",
    "prestop-fail",
    "ignore-sigterm",
    "jitter",
    "cpu-usage",
    "memory-usage",
];

impl Behaviour {
    /// `pod`'s behaviour: `defaults`, overridden by its annotations, jitter drawn from `seed`.
    /// The first bad annotation is an error.
    pub fn resolve(
        defaults: &BehaviourDefaults,
        pod: &Pod,
        seed: u64,
    ) -> Result<Behaviour, BehaviourError> {
        let (behaviour, mut errors) = Self::resolve_lenient(defaults, pod, seed);
        if errors.is_empty() {
            Ok(behaviour)
        } else {
            Err(errors.swap_remove(0))
        }
    }

    /// Like [`Behaviour::resolve`], but keeps going past bad annotations: they are ignored (the
    /// defaults apply) and returned, for the driver to report as Warning events.
    pub fn resolve_lenient(
        defaults: &BehaviourDefaults,
        pod: &Pod,
        seed: u64,
    ) -> (Behaviour, Vec<BehaviourError>) {
        let mut errors = Vec::new();
        let meta = &pod.metadata;
        let pod_key = format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or("")
        );
        let spec = pod.spec.as_ref();
        let init_names: Vec<&str> = spec
            .and_then(|s| s.init_containers.as_ref())
            .map(|v| v.iter().map(|c| c.name.as_str()).collect())
            .unwrap_or_default();
        let regular_names: Vec<&str> = spec
            .map(|s| s.containers.iter().map(|c| c.name.as_str()).collect())
            .unwrap_or_default();
        let images = |name: &str| {
            spec.and_then(|s| {
                s.init_containers
                    .iter()
                    .flatten()
                    .chain(s.containers.iter())
                    .find(|c| c.name == name)
                    .and_then(|c| c.image.clone())
            })
        };

        // Sort annotations into pod-wide and per-container settings.
        let mut pod_wide: Vec<(&str, &str, String)> = Vec::new();
        let mut per_container: Vec<(&str, &str, &str, String)> = Vec::new();
        for (key, value) in meta.annotations.iter().flatten() {
            let Some(rest) = key.strip_prefix(ANNOTATION_PREFIX) else {
                continue;
            };
            let (knob, container) = match rest.split_once('.') {
                Some((k, c)) => (k, Some(c)),
                None => (rest, None),
            };
            if !KNOBS.contains(&knob) {
                errors.push(BehaviourError {
                    annotation: key.clone(),
                    message: format!(
                        "unknown behaviour knob {knob:?}; known: {}",
                        KNOBS.join(", ")
                    ),
                });
                continue;
            }
            match container {
                None => pod_wide.push((knob, value.as_str(), key.clone())),
                Some(c) if init_names.contains(&c) || regular_names.contains(&c) => {
                    if matches!(knob, "sandbox-delay" | "jitter") {
                        errors.push(BehaviourError {
                            annotation: key.clone(),
                            message: format!("{knob} applies to the whole pod, not one container"),
                        });
                    } else {
                        per_container.push((knob, c, value.as_str(), key.clone()));
                    }
                }
                Some(c) => errors.push(BehaviourError {
                    annotation: key.clone(),
                    message: format!("the pod has no container named {c:?}"),
                }),
            }
        }

        let mut jitter = defaults.jitter;
        let mut sandbox = defaults.sandbox_delay.0;
        for (knob, value, key) in &pod_wide {
            match *knob {
                "jitter" => match value.trim().parse::<f64>() {
                    Ok(j) if (0.0..1.0).contains(&j) => jitter = j,
                    _ => errors.push(BehaviourError {
                        annotation: key.clone(),
                        message: format!("{value:?} is not a fraction in [0, 1) such as 0.1"),
                    }),
                },
                "sandbox-delay" => match GoDuration::parse(value) {
                    Ok(d) => sandbox = d.0,
                    Err(m) => errors.push(err(key, m)),
                },
                _ => {}
            }
        }
        let pattern = failure_pattern(&defaults.image_pull_failure);
        let pull_pattern: std::sync::Arc<str> = defaults.image_pull_failure.as_str().into();
        let spread = |d: Duration, knob: &str, container: &str| -> Duration {
            if jitter == 0.0 || d.is_zero() {
                return d;
            }
            let key = format!("{pod_key}/{knob}/{container}");
            Duration::from_secs_f64(seed::jitter(seed, &key, 0, d.as_secs_f64(), jitter))
        };

        let base = |init: bool| ContainerBehaviour {
            start_delay: defaults.start_delay.0,
            pull_delay: defaults.pull_delay.0,
            pull_fails: false,
            pull_override: None,
            pull_pattern: pull_pattern.clone(),
            exit_after: if init {
                Some(defaults.init_exit_after.0)
            } else {
                defaults.exit_after.map(|d| d.0)
            },
            exit_codes: vec![if init { 0 } else { defaults.exit_code }],
            ready_after: defaults.ready_after.0,
            readiness_fail_after: defaults.readiness_fail_after.map(|d| d.0),
            liveness_fail_after: defaults.liveness_fail_after.map(|d| d.0),
            startup_after: defaults.startup_after.0,
            probe_latency: defaults.probe_latency.0,
            post_start_duration: defaults.post_start_duration.0,
            post_start_fails: defaults.post_start_fails,
            pre_stop_duration: defaults.pre_stop_duration.0,
            pre_stop_fails: defaults.pre_stop_fails,
            ignore_sigterm: defaults.ignore_sigterm,
            cpu_millicores: defaults.cpu_millicores,
            memory_bytes: defaults.memory_bytes,
        };

        let mut containers = Vec::with_capacity(init_names.len() + regular_names.len());
        // Sidecars (init containers with `restartPolicy: Always`) run like the app containers.
        let sidecars: Vec<&str> = spec
            .and_then(|s| s.init_containers.as_ref())
            .map(|v| {
                v.iter()
                    .filter(|c| c.restart_policy.as_deref() == Some("Always"))
                    .map(|c| c.name.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let all = init_names
            .iter()
            .map(|n| (*n, !sidecars.contains(n)))
            .chain(regular_names.iter().map(|n| (*n, false)));
        for (name, init) in all {
            let mut b = base(init);
            let matches = images(name).is_some_and(|image| pattern.is_match(&image));
            // Pod-wide settings first, then this container's, so the narrower one wins. The
            // exit of init containers is only set per container: a pod-wide `exit-code: 1`
            // is meant for the app, and would otherwise keep the pod from ever initialising.
            for (knob, value, key) in &pod_wide {
                if init && matches!(*knob, "exit-after" | "exit-code") {
                    continue;
                }
                apply(&mut b, knob, value, key, &mut errors);
            }
            for (knob, c, value, key) in &per_container {
                if *c == name {
                    apply(&mut b, knob, value, key, &mut errors);
                }
            }
            b.pull_fails = b.pull_override.unwrap_or(matches);
            b.start_delay = spread(b.start_delay, "start-delay", name);
            b.pull_delay = spread(b.pull_delay, "pull-delay", name);
            b.exit_after = b.exit_after.map(|d| spread(d, "exit-after", name));
            b.ready_after = spread(b.ready_after, "ready-after", name);
            b.readiness_fail_after = b
                .readiness_fail_after
                .map(|d| spread(d, "readiness-fail-after", name));
            b.liveness_fail_after = b
                .liveness_fail_after
                .map(|d| spread(d, "liveness-fail-after", name));
            b.startup_after = spread(b.startup_after, "startup-after", name);
            b.post_start_duration = spread(b.post_start_duration, "poststart-duration", name);
            b.pre_stop_duration = spread(b.pre_stop_duration, "prestop-duration", name);
            containers.push((name.to_owned(), b));
        }
        // Errors from pod-wide knobs were pushed once per container: keep the first of each.
        let mut seen = std::collections::BTreeSet::new();
        errors.retain(|e| seen.insert(e.annotation.clone()));

        let behaviour = Behaviour {
            sandbox_delay: spread(sandbox, "sandbox-delay", ""),
            containers,
            fallback: base(false),
            seed,
        };
        (behaviour, errors)
    }

    /// What container `name` does.
    pub fn container(&self, name: &str) -> &ContainerBehaviour {
        self.containers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .unwrap_or(&self.fallback)
    }

    /// CPU (millicores) and memory (bytes) the pod's running containers use, given which of
    /// them run — for the node's metrics.
    pub fn usage<'a>(&self, running: impl IntoIterator<Item = &'a str>) -> (u64, u64) {
        running.into_iter().fold((0, 0), |(cpu, mem), name| {
            let b = self.container(name);
            (cpu + b.cpu_millicores, mem + b.memory_bytes)
        })
    }
}

/// The compiled pull failure pattern. Compiling a regex costs far more than resolving a pod, and
/// every pod of a run shares the profile's pattern: keep the last one.
fn failure_pattern(pattern: &str) -> Regex {
    static LAST: std::sync::OnceLock<parking_lot::Mutex<Option<(String, Regex)>>> =
        std::sync::OnceLock::new();
    let mut last = LAST.get_or_init(Default::default).lock();
    if let Some((p, re)) = last.as_ref()
        && p == pattern
    {
        return re.clone();
    }
    let re = Regex::new(pattern)
        .unwrap_or_else(|_| Regex::new(DEFAULT_PULL_FAILURE).expect("the default compiles"));
    *last = Some((pattern.to_owned(), re.clone()));
    re
}

fn err(key: &str, message: String) -> BehaviourError {
    BehaviourError {
        annotation: key.to_owned(),
        message,
    }
}

/// Set one knob of `b` from an annotation's value.
fn apply(
    b: &mut ContainerBehaviour,
    knob: &str,
    value: &str,
    key: &str,
    errors: &mut Vec<BehaviourError>,
) {
    let duration = |errors: &mut Vec<BehaviourError>| match GoDuration::parse(value) {
        Ok(d) => Some(d.0),
        Err(m) => {
            errors.push(err(key, m));
            None
        }
    };
    // `never` turns off a knob the profile set (an exit, a probe failure).
    let optional = |errors: &mut Vec<BehaviourError>| -> Option<Option<Duration>> {
        if value.trim() == "never" {
            return Some(None);
        }
        match GoDuration::parse(value) {
            Ok(d) => Some(Some(d.0)),
            Err(m) => {
                errors.push(err(key, format!("{m}, or never")));
                None
            }
        }
    };
    let boolean = |errors: &mut Vec<BehaviourError>| match value.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            errors.push(err(key, format!("{value:?} is not true or false")));
            None
        }
    };
    match knob {
        "start-delay" => b.start_delay = duration(errors).unwrap_or(b.start_delay),
        "pull-delay" => b.pull_delay = duration(errors).unwrap_or(b.pull_delay),
        "image-pull" => match value.trim() {
            "ok" => b.pull_override = Some(false),
            "fail" => b.pull_override = Some(true),
            _ => errors.push(err(key, format!("{value:?} is not ok or fail"))),
        },
        "exit-after" => b.exit_after = optional(errors).unwrap_or(b.exit_after),
        "exit-code" => match value
            .split(',')
            .map(|c| {
                c.trim()
                    .parse::<i32>()
                    .ok()
                    .filter(|c| (0..=255).contains(c))
            })
            .collect::<Option<Vec<i32>>>()
        {
            Some(codes) => b.exit_codes = codes,
            None => errors.push(err(
                key,
                format!("{value:?} is not an exit code in 0..=255, or a list of them by run (1,0)"),
            )),
        },
        "ready-after" => b.ready_after = duration(errors).unwrap_or(b.ready_after),
        "readiness-fail-after" => {
            b.readiness_fail_after = optional(errors).unwrap_or(b.readiness_fail_after)
        }
        "liveness-fail-after" => {
            b.liveness_fail_after = optional(errors).unwrap_or(b.liveness_fail_after)
        }
        "startup-after" => b.startup_after = duration(errors).unwrap_or(b.startup_after),
        "probe-latency" => b.probe_latency = duration(errors).unwrap_or(b.probe_latency),
        "poststart-duration" => {
            b.post_start_duration = duration(errors).unwrap_or(b.post_start_duration)
        }
        "poststart-fail" => b.post_start_fails = boolean(errors).unwrap_or(b.post_start_fails),
        "prestop-duration" => b.pre_stop_duration = duration(errors).unwrap_or(b.pre_stop_duration),
        "prestop-fail" => b.pre_stop_fails = boolean(errors).unwrap_or(b.pre_stop_fails),
        "ignore-sigterm" => b.ignore_sigterm = boolean(errors).unwrap_or(b.ignore_sigterm),
        "cpu-usage" => match parse_cpu(value) {
            Some(m) => b.cpu_millicores = m,
            None => errors.push(err(
                key,
                format!("{value:?} is not a CPU quantity such as 250m or 1"),
            )),
        },
        "memory-usage" => match parse_memory(value) {
            Some(m) => b.memory_bytes = m,
            None => errors.push(err(
                key,
                format!("{value:?} is not a memory quantity such as 64Mi or 1Gi"),
            )),
        },
        _ => {}
    }
}

/// `250m` → 250, `1.5` → 1500.
fn parse_cpu(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(m) = t.strip_suffix('m') {
        return m.parse().ok();
    }
    let cores: f64 = t.parse().ok()?;
    (cores >= 0.0 && cores.is_finite()).then(|| (cores * 1000.0).round() as u64)
}

/// `64Mi`, `1G`, `1000` → bytes.
fn parse_memory(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: f64 = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * scale;
    (bytes >= 0.0 && bytes.is_finite()).then_some(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use rstest::rstest;

    use super::*;

    fn pod(annotations: &[(&str, &str)]) -> Pod {
        let container = |name: &str, image: &str| Container {
            name: name.into(),
            image: Some(image.into()),
            ..Default::default()
        };
        Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("ns".into()),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (format!("{ANNOTATION_PREFIX}{k}"), (*v).to_owned()))
                        .collect::<BTreeMap<_, _>>(),
                ),
                ..Default::default()
            },
            spec: Some(PodSpec {
                init_containers: Some(vec![container("setup", "busybox")]),
                containers: vec![
                    container("web", "nginx:1.27"),
                    container("side", "invalid/thing:1"),
                ],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn exact() -> BehaviourDefaults {
        BehaviourDefaults {
            jitter: 0.0,
            ..Default::default()
        }
    }

    #[test]
    fn defaults_apply_without_annotations() {
        let b = Behaviour::resolve(&exact(), &pod(&[]), 1).unwrap();
        let web = b.container("web");
        assert_eq!(web.exit_after, None);
        assert_eq!(web.pull_delay, Duration::from_secs(1));
        assert!(!web.pull_fails);
        assert!(
            b.container("side").pull_fails,
            "invalid/ matches the pattern"
        );
        assert_eq!(
            b.container("setup").exit_after,
            Some(Duration::from_secs(1))
        );
        assert_eq!(b.sandbox_delay, Duration::from_millis(500));
    }

    #[test]
    fn container_annotations_win_over_pod_annotations() {
        let b = Behaviour::resolve(
            &exact(),
            &pod(&[
                ("exit-after", "30s"),
                ("exit-after.side", "never"),
                ("exit-code", "3"),
                ("image-pull.side", "ok"),
                ("image-pull.web", "fail"),
                ("ignore-sigterm", "true"),
                ("cpu-usage.web", "250m"),
                ("memory-usage", "1Gi"),
            ]),
            1,
        )
        .unwrap();
        let web = b.container("web");
        assert_eq!(web.exit_after, Some(Duration::from_secs(30)));
        assert_eq!(web.exit_codes, [3]);
        assert!(web.pull_fails && web.ignore_sigterm);
        assert_eq!((web.cpu_millicores, web.memory_bytes), (250, 1 << 30));
        let side = b.container("side");
        assert_eq!(side.exit_after, None);
        assert!(!side.pull_fails);
        // Pod-wide exits are for the app: the init container still exits 0 after a second.
        let setup = b.container("setup");
        assert_eq!(
            (setup.exit_after, setup.exit_codes[0]),
            (Some(Duration::from_secs(1)), 0)
        );
        assert_eq!(b.usage(["web", "side"]), (260, 2 << 30));
    }

    #[rstest]
    #[case("exit-after", "soon", "duration")]
    #[case("exit-code", "-1", "exit code")]
    #[case("exit-code", "1,x", "list of them by run")]
    #[case("image-pull", "maybe", "ok or fail")]
    #[case("ignore-sigterm", "yes", "true or false")]
    #[case("jitter", "2", "fraction")]
    #[case("exit-after.db", "1s", "no container named \"db\"")]
    #[case("exit-afterr", "1s", "unknown behaviour knob")]
    #[case("jitter.web", "0.1", "whole pod")]
    #[case("memory-usage", "lots", "memory quantity")]
    fn bad_annotations_name_the_key_and_what_is_expected(
        #[case] knob: &str,
        #[case] value: &str,
        #[case] expected: &str,
    ) {
        let e = Behaviour::resolve(&exact(), &pod(&[(knob, value)]), 1).unwrap_err();
        assert_eq!(e.annotation, format!("{ANNOTATION_PREFIX}{knob}"));
        assert!(e.message.contains(expected), "{e}");
        let (_, errors) = Behaviour::resolve_lenient(&exact(), &pod(&[(knob, value)]), 1);
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let defaults = BehaviourDefaults {
            jitter: 0.2,
            ..Default::default()
        };
        let a = Behaviour::resolve(&defaults, &pod(&[("exit-after", "10s")]), 7).unwrap();
        let b = Behaviour::resolve(&defaults, &pod(&[("exit-after", "10s")]), 7).unwrap();
        let c = Behaviour::resolve(&defaults, &pod(&[("exit-after", "10s")]), 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let exit = a.container("web").exit_after.unwrap().as_secs_f64();
        assert!((8.0..12.0).contains(&exit), "{exit}");
        let none = Behaviour::resolve(
            &defaults,
            &pod(&[("jitter", "0"), ("exit-after", "10s")]),
            7,
        )
        .unwrap();
        assert_eq!(
            none.container("web").exit_after,
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn profile_section_parses_with_defaults_and_refuses_unknown_fields() {
        let d: BehaviourDefaults =
            serde_saphyr::from_str("exitAfter: 1m\npullDelay: 2s\nimagePullFailure: 'bad'\n")
                .unwrap();
        assert_eq!(d.exit_after, Some(GoDuration(Duration::from_secs(60))));
        assert_eq!(d.pull_delay.0, Duration::from_secs(2));
        assert_eq!(d.start_delay, BehaviourDefaults::default().start_delay);
        assert!(serde_saphyr::from_str::<BehaviourDefaults>("exitAfterr: 1m\n").is_err());
        let bad = BehaviourDefaults {
            image_pull_failure: "(".into(),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}
