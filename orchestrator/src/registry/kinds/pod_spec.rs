//! Pod spec rules shared by pods and every pod template (Deployment, ReplicaSet, RC, DaemonSet,
//! Job): upstream's `SetDefaults_PodSpec`/`SetDefaults_Container`/… and `ValidatePodSpec`.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PodSpec, Probe, ResourceRequirements, Volume,
};
use serde_json::Value;

use super::resource_lists::{
    canonicalize, canonicalize_list, container_resource_name, overcommit_allowed, resource_quantity,
};
use crate::error::Cause;
use crate::registry::validation::names::{
    dns1123_label, dns1123_subdomain, env_var_name, port_name, port_num,
};
use crate::registry::validation::{nonnegative, validate_labels};

/// The protocols a port may use, sorted as upstream lists them.
pub(crate) const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

fn set_if_none<T>(slot: &mut Option<T>, value: impl FnOnce() -> T) {
    if slot.is_none() {
        *slot = Some(value());
    }
}

fn set_if_empty(slot: &mut Option<String>, value: &str) {
    if slot.as_deref().is_none_or(str::is_empty) {
        *slot = Some(value.to_string());
    }
}

/// The tag of an image reference as upstream's `parsers.ParseImageName` finds it: `latest` when
/// neither a tag nor a digest is given.
fn image_tag(image: &str) -> &str {
    let (name, digest) = image
        .split_once('@')
        .map_or((image, None), |(n, d)| (n, Some(d)));
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) => tag,
        None if digest.is_some() => "",
        None => "latest",
    }
}

/// `SetDefaults_Probe` (and its handler's `SetDefaults_HTTPGetAction`).
fn default_probe(p: &mut Probe) {
    set_if_none(&mut p.timeout_seconds, || 1);
    set_if_none(&mut p.period_seconds, || 10);
    set_if_none(&mut p.success_threshold, || 1);
    set_if_none(&mut p.failure_threshold, || 3);
    if let Some(h) = p.http_get.as_mut() {
        set_if_empty(&mut h.path, "/");
        set_if_empty(&mut h.scheme, "HTTP");
    }
}

/// `SetDefaults_Container` and its nested defaulters.
fn default_container(c: &mut Container) {
    if c.image_pull_policy.as_deref().is_none_or(str::is_empty) {
        let tag = image_tag(c.image.as_deref().unwrap_or(""));
        c.image_pull_policy = Some(
            if tag == "latest" {
                "Always"
            } else {
                "IfNotPresent"
            }
            .to_string(),
        );
    }
    // Go's non-pointer `resources` struct always serializes, as `{}` when empty
    set_if_none(&mut c.resources, Default::default);
    set_if_empty(&mut c.termination_message_path, "/dev/termination-log");
    set_if_empty(&mut c.termination_message_policy, "File");
    for port in c.ports.iter_mut().flatten() {
        set_if_empty(&mut port.protocol, "TCP");
    }
    for p in [
        &mut c.liveness_probe,
        &mut c.readiness_probe,
        &mut c.startup_probe,
    ]
    .into_iter()
    .flatten()
    {
        default_probe(p);
    }
    if let Some(lc) = c.lifecycle.as_mut() {
        for h in [&mut lc.post_start, &mut lc.pre_stop].into_iter().flatten() {
            if let Some(g) = h.http_get.as_mut() {
                set_if_empty(&mut g.path, "/");
                set_if_empty(&mut g.scheme, "HTTP");
            }
        }
    }
    for e in c.env.iter_mut().flatten() {
        if let Some(f) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            set_if_empty(&mut f.api_version, "v1");
        }
    }
}

/// `SetDefaults_Volume` and the volume sources' defaulters.
fn default_volume(v: &mut Volume) {
    let json = serde_json::to_value(&*v).unwrap_or(Value::Null);
    let has_source = json
        .as_object()
        .is_some_and(|m| m.keys().any(|k| k != "name"));
    if !has_source {
        v.empty_dir = Some(Default::default());
    }
    if let Some(s) = v.secret.as_mut() {
        set_if_none(&mut s.default_mode, || 0o644);
    }
    if let Some(s) = v.config_map.as_mut() {
        set_if_none(&mut s.default_mode, || 0o644);
    }
    if let Some(s) = v.downward_api.as_mut() {
        set_if_none(&mut s.default_mode, || 0o644);
    }
    if let Some(s) = v.projected.as_mut() {
        set_if_none(&mut s.default_mode, || 0o644);
        for src in s.sources.iter_mut().flatten() {
            if let Some(t) = src.service_account_token.as_mut() {
                set_if_none(&mut t.expiration_seconds, || 3600);
            }
        }
    }
    if let Some(h) = v.host_path.as_mut() {
        set_if_none(&mut h.type_, String::new);
    }
}

/// `SetDefaults_PodSpec` plus the defaulters of everything in it; for a pod template as much as a
/// pod.
pub(crate) fn default_pod_spec(spec: &mut PodSpec) {
    set_if_empty(&mut spec.dns_policy, "ClusterFirst");
    set_if_empty(&mut spec.restart_policy, "Always");
    set_if_none(&mut spec.security_context, Default::default);
    set_if_none(&mut spec.termination_grace_period_seconds, || 30);
    set_if_empty(&mut spec.scheduler_name, "default-scheduler");
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        default_container(c);
    }
    for v in spec.volumes.iter_mut().flatten() {
        default_volume(v);
    }
    if spec.host_network == Some(true) {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            for p in c.ports.iter_mut().flatten() {
                if p.host_port.is_none() {
                    p.host_port = Some(p.container_port);
                }
            }
        }
    }
}

fn canonical_requirements(r: Option<&mut ResourceRequirements>) -> Result<(), &'static str> {
    let Some(r) = r else { return Ok(()) };
    canonicalize_list(r.requests.as_mut())?;
    canonicalize_list(r.limits.as_mut())
}

/// Every quantity in a pod spec in canonical form (see [`super::Kind::canonicalize`]).
pub(crate) fn canonicalize_pod_spec(spec: &mut PodSpec) -> Result<(), &'static str> {
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        canonical_requirements(c.resources.as_mut())?;
    }
    canonicalize_list(spec.overhead.as_mut())?;
    canonical_requirements(spec.resources.as_mut())?;
    for v in spec.volumes.iter_mut().flatten() {
        if let Some(q) = v.empty_dir.as_mut().and_then(|e| e.size_limit.as_mut()) {
            canonicalize(q)?;
        }
        let template = v
            .ephemeral
            .as_mut()
            .and_then(|e| e.volume_claim_template.as_mut());
        if let Some(r) = template.and_then(|t| t.spec.resources.as_mut()) {
            canonicalize_list(r.requests.as_mut())?;
            canonicalize_list(r.limits.as_mut())?;
        }
    }
    Ok(())
}

/// What `SetDefaults_Pod` adds for pods only (not templates): requests default to limits, and
/// service links are on.
pub(crate) fn default_pod_only(spec: &mut PodSpec) {
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        let Some(res) = c.resources.as_mut() else {
            continue;
        };
        let Some(limits) = res.limits.as_ref() else {
            continue;
        };
        let requests = res.requests.get_or_insert_with(BTreeMap::new);
        for (k, v) in limits {
            requests.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    set_if_none(&mut spec.enable_service_links, || true);
}

fn str_val(s: &str) -> Value {
    Value::from(s)
}

fn supported(value: Option<&str>, path: &str, values: &[&str], errs: &mut Vec<Cause>) {
    match value.unwrap_or("") {
        "" => errs.push(Cause::required(path, "")),
        v if values.contains(&v) => {}
        v => errs.push(Cause::not_supported(path, &str_val(v), values)),
    }
}

/// `ValidateResourceRequirements` for a container.
fn validate_resources(res: &ResourceRequirements, path: &str, errs: &mut Vec<Cause>) {
    let lim_path = format!("{path}.limits");
    let req_path = format!("{path}.requests");
    let mut limits = BTreeMap::new();
    for (name, q) in res.limits.iter().flatten() {
        let p = format!("{lim_path}[{name}]");
        container_resource_name(name, &p, errs);
        if let Some(v) = resource_quantity(name, q, &p, errs) {
            limits.insert(name.as_str(), v);
        }
    }
    for (name, q) in res.requests.iter().flatten() {
        let p = format!("{req_path}[{name}]");
        container_resource_name(name, &p, errs);
        let Some(v) = resource_quantity(name, q, &p, errs) else {
            continue;
        };
        match limits.get(name.as_str()) {
            Some(lim) if v != *lim && !overcommit_allowed(name) => errs.push(Cause::invalid(
                &req_path,
                &str_val(&v.to_string()),
                &format!("must be equal to {name} limit of {lim}"),
            )),
            Some(lim) if v > *lim => errs.push(Cause::invalid(
                &req_path,
                &str_val(&v.to_string()),
                &format!("must be less than or equal to {name} limit of {lim}"),
            )),
            Some(_) => {}
            None if !overcommit_allowed(name) => {
                errs.push(Cause::required(
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                ));
            }
            None => {}
        }
    }
}

fn validate_ports(ports: &[ContainerPort], path: &str, errs: &mut Vec<Cause>) {
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = port_name(name);
            if !msgs.is_empty() {
                for m in msgs {
                    errs.push(Cause::invalid(format!("{p}.name"), &str_val(name), &m));
                }
            } else if !names.insert(name) {
                errs.push(Cause::duplicate(format!("{p}.name"), &str_val(name)));
            }
        }
        if port.container_port == 0 {
            errs.push(Cause::required(format!("{p}.containerPort"), ""));
        } else {
            for m in port_num(i64::from(port.container_port)) {
                errs.push(Cause::invalid(
                    format!("{p}.containerPort"),
                    &Value::from(port.container_port),
                    &m,
                ));
            }
        }
        if let Some(hp) = port.host_port.filter(|h| *h != 0) {
            for m in port_num(i64::from(hp)) {
                errs.push(Cause::invalid(
                    format!("{p}.hostPort"),
                    &Value::from(hp),
                    &m,
                ));
            }
        }
        supported(
            port.protocol.as_deref(),
            &format!("{p}.protocol"),
            PROTOCOLS,
            errs,
        );
    }
}

fn validate_probe(probe: &Probe, path: &str, errs: &mut Vec<Cause>) {
    let handlers = [
        probe.exec.is_some(),
        probe.http_get.is_some(),
        probe.tcp_socket.is_some(),
        probe.grpc.is_some(),
    ];
    match handlers.iter().filter(|h| **h).count() {
        0 => errs.push(Cause::required(path, "must specify a handler type")),
        1 => {}
        _ => errs.push(Cause::forbidden(
            path,
            "may not specify more than 1 handler type",
        )),
    }
    for (v, f) in [
        (probe.initial_delay_seconds, "initialDelaySeconds"),
        (probe.timeout_seconds, "timeoutSeconds"),
        (probe.period_seconds, "periodSeconds"),
        (probe.success_threshold, "successThreshold"),
        (probe.failure_threshold, "failureThreshold"),
    ] {
        nonnegative(v.map(i64::from), &format!("{path}.{f}"), errs);
    }
}

/// Checks every container kind shares (`validateContainerCommon`).
fn validate_container(c: &Container, path: &str, volumes: &HashSet<&str>, errs: &mut Vec<Cause>) {
    if c.name.is_empty() {
        errs.push(Cause::required(format!("{path}.name"), ""));
    } else {
        for m in dns1123_label(&c.name) {
            errs.push(Cause::invalid(
                format!("{path}.name"),
                &str_val(&c.name),
                &m,
            ));
        }
    }
    supported(
        c.image_pull_policy.as_deref(),
        &format!("{path}.imagePullPolicy"),
        &["Always", "IfNotPresent", "Never"],
        errs,
    );
    supported(
        c.termination_message_policy.as_deref(),
        &format!("{path}.terminationMessagePolicy"),
        &["File", "FallbackToLogsOnError"],
        errs,
    );
    validate_ports(
        c.ports.as_deref().unwrap_or_default(),
        &format!("{path}.ports"),
        errs,
    );
    for (i, e) in c.env.iter().flatten().enumerate() {
        let p = format!("{path}.env[{i}].name");
        if e.name.is_empty() {
            errs.push(Cause::required(p, ""));
        } else {
            for m in env_var_name(&e.name) {
                errs.push(Cause::invalid(&p, &str_val(&e.name), &m));
            }
        }
        if e.value.as_deref().is_some_and(|v| !v.is_empty()) && e.value_from.is_some() {
            errs.push(Cause::invalid(
                format!("{path}.env[{i}].valueFrom"),
                &str_val(""),
                "may not be specified when `value` is not empty",
            ));
        }
    }
    let mut mount_paths = HashSet::new();
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let p = format!("{path}.volumeMounts[{i}]");
        if m.name.is_empty() {
            errs.push(Cause::required(format!("{p}.name"), ""));
        }
        if !volumes.contains(m.name.as_str()) {
            errs.push(Cause::not_found(format!("{p}.name"), &str_val(&m.name)));
        }
        if m.mount_path.is_empty() {
            errs.push(Cause::required(format!("{p}.mountPath"), ""));
        }
        if !mount_paths.insert(m.mount_path.as_str()) {
            errs.push(Cause::invalid(
                format!("{p}.mountPath"),
                &str_val(&m.mount_path),
                "must be unique",
            ));
        }
    }
    for (probe, f) in [
        (&c.liveness_probe, "livenessProbe"),
        (&c.readiness_probe, "readinessProbe"),
        (&c.startup_probe, "startupProbe"),
    ] {
        if let Some(probe) = probe {
            validate_probe(probe, &format!("{path}.{f}"), errs);
        }
    }
    if let Some(p) = &c.liveness_probe
        && p.success_threshold.is_some_and(|s| s != 1)
    {
        errs.push(Cause::invalid(
            format!("{path}.livenessProbe.successThreshold"),
            &Value::from(p.success_threshold.unwrap_or(0)),
            "must be 1",
        ));
    }
    if let Some(res) = &c.resources {
        validate_resources(res, &format!("{path}.resources"), errs);
    }
}

fn validate_volumes(volumes: &[Volume], path: &str, errs: &mut Vec<Cause>) {
    let mut names = HashSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if v.name.is_empty() {
            errs.push(Cause::required(format!("{p}.name"), ""));
        } else {
            for m in dns1123_label(&v.name) {
                errs.push(Cause::invalid(format!("{p}.name"), &str_val(&v.name), &m));
            }
        }
        if !names.insert(v.name.as_str()) {
            errs.push(Cause::duplicate(format!("{p}.name"), &str_val(&v.name)));
        }
        let json = serde_json::to_value(v).unwrap_or(Value::Null);
        let sources = json
            .as_object()
            .map_or(0, |m| m.keys().filter(|k| *k != "name").count());
        match sources {
            0 => errs.push(Cause::required(p, "must specify a volume type")),
            1 => {}
            _ => errs.push(Cause::forbidden(
                p,
                "may not specify more than 1 volume type",
            )),
        }
    }
}

/// `ValidatePodSpec`. `is_pod` adds what pods need and templates do not (an image).
pub(crate) fn validate_pod_spec(spec: &PodSpec, path: &str, is_pod: bool, errs: &mut Vec<Cause>) {
    let volumes = spec.volumes.as_deref().unwrap_or_default();
    validate_volumes(volumes, &format!("{path}.volumes"), errs);
    let volume_names: HashSet<&str> = volumes.iter().map(|v| v.name.as_str()).collect();
    let mut names = HashSet::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let p = format!("{path}.initContainers[{i}]");
        validate_container(c, &p, &volume_names, errs);
        if !c.name.is_empty() && !names.insert(c.name.as_str()) {
            errs.push(Cause::duplicate(format!("{p}.name"), &str_val(&c.name)));
        }
        if is_pod {
            validate_image(c, &p, errs);
        }
        if let Some(rp) = c.restart_policy.as_deref()
            && rp != "Always"
        {
            errs.push(Cause::not_supported(
                format!("{p}.restartPolicy"),
                &str_val(rp),
                &["Always"],
            ));
        }
    }
    if spec.containers.is_empty() {
        errs.push(Cause::required(format!("{path}.containers"), ""));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        let p = format!("{path}.containers[{i}]");
        validate_container(c, &p, &volume_names, errs);
        if !c.name.is_empty() && !names.insert(c.name.as_str()) {
            errs.push(Cause::duplicate(format!("{p}.name"), &str_val(&c.name)));
        }
        if is_pod {
            validate_image(c, &p, errs);
        }
        if c.restart_policy.is_some() {
            errs.push(Cause::forbidden(
                format!("{p}.restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    supported(
        spec.restart_policy.as_deref(),
        &format!("{path}.restartPolicy"),
        &["Always", "OnFailure", "Never"],
        errs,
    );
    supported(
        spec.dns_policy.as_deref(),
        &format!("{path}.dnsPolicy"),
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        errs,
    );
    validate_labels(
        spec.node_selector.as_ref(),
        &format!("{path}.nodeSelector"),
        errs,
    );
    for (field, value) in [
        ("serviceAccountName", &spec.service_account_name),
        ("schedulerName", &spec.scheduler_name),
        ("priorityClassName", &spec.priority_class_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            for m in dns1123_subdomain(v) {
                errs.push(Cause::invalid(format!("{path}.{field}"), &str_val(v), &m));
            }
        }
    }
    if let Some(node) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        for m in dns1123_subdomain(node) {
            errs.push(Cause::invalid(
                format!("{path}.nodeName"),
                &str_val(node),
                &m,
            ));
        }
    }
    if spec.host_network == Some(true) {
        for (field, list) in [
            (
                "initContainers",
                spec.init_containers.as_deref().unwrap_or_default(),
            ),
            ("containers", &spec.containers),
        ] {
            for (i, c) in list.iter().enumerate() {
                for (j, p) in c.ports.iter().flatten().enumerate() {
                    if let Some(hp) = p.host_port.filter(|hp| *hp != p.container_port) {
                        errs.push(Cause::invalid(
                            format!("{path}.{field}[{i}].ports[{j}].hostPort"),
                            &Value::from(hp),
                            "must match `containerPort` when `hostNetwork` is true",
                        ));
                    }
                }
            }
        }
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            for m in dns1123_label(v) {
                errs.push(Cause::invalid(format!("{path}.{field}"), &str_val(v), &m));
            }
        }
    }
    if let Some(ads) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&ads)
    {
        errs.push(Cause::invalid(
            format!("{path}.activeDeadlineSeconds"),
            &Value::from(ads),
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    for (i, t) in spec.tolerations.iter().flatten().enumerate() {
        let p = format!("{path}.tolerations[{i}]");
        let key = t.key.as_deref().unwrap_or("");
        if !key.is_empty() {
            for m in crate::registry::validation::names::qualified_name(key) {
                errs.push(Cause::invalid(format!("{p}.key"), &str_val(key), &m));
            }
        }
        match t.operator.as_deref().unwrap_or("Equal") {
            "Equal" | "" => {}
            "Exists" => {
                if t.value.as_deref().is_some_and(|v| !v.is_empty()) {
                    errs.push(Cause::invalid(
                        format!("{p}.operator"),
                        &str_val(t.value.as_deref().unwrap_or("")),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(Cause::not_supported(
                format!("{p}.operator"),
                &str_val(other),
                &["Equal", "Exists"],
            )),
        }
        if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty())
            && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)
        {
            errs.push(Cause::not_supported(
                format!("{p}.effect"),
                &str_val(effect),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
}

/// `validateContainerOnlyForPod`: a pod's containers need an image (a template's may get one
/// later).
fn validate_image(c: &Container, path: &str, errs: &mut Vec<Cause>) {
    let image = c.image.as_deref().unwrap_or("");
    if image.is_empty() {
        errs.push(Cause::required(format!("{path}.image"), ""));
    } else if image.trim() != image {
        errs.push(Cause::invalid(
            format!("{path}.image"),
            &str_val(image),
            "must not have leading or trailing whitespace",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("nginx", "latest")]
    #[case("nginx:1.25", "1.25")]
    #[case("nginx:latest", "latest")]
    #[case("localhost:5000/nginx", "latest")]
    #[case("localhost:5000/nginx:v1", "v1")]
    #[case("nginx@sha256:abc", "")]
    fn image_tags_parse_as_upstream(#[case] image: &str, #[case] tag: &str) {
        assert_eq!(image_tag(image), tag);
    }
}
