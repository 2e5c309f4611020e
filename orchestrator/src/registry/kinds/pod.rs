//! Pods: upstream's `pkg/registry/core/pod/strategy.go` (create status and QoS class, the spec's
//! narrow mutability, the status strategy) over the shared pod spec rules.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
use serde_json::Value;

use super::Kind;
use super::pod_spec::{
    canonicalize_pod_spec, default_pod_only, default_pod_spec, validate_pod_spec,
};
use crate::admission::quantity::Quantity;
use crate::error::Cause;
use crate::registry::validation::names::qualified_name;

/// Upstream's message for a forbidden pod spec change (without the Go `cmp.Diff` it appends).
pub(crate) const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Pods.
pub(crate) struct PodKind;

/// Upstream's `qos.GetPodQOS`: Guaranteed when every container limits cpu and memory and the
/// summed requests equal the summed limits, BestEffort when nothing is requested or limited,
/// Burstable otherwise.
pub(crate) fn qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let res = c.resources.as_ref();
        for (name, q) in res.and_then(|r| r.requests.as_ref()).into_iter().flatten() {
            if let ("cpu" | "memory", Ok(v)) = (name.as_str(), Quantity::parse(&q.0))
                && v.nanos() > 0
            {
                *requests.entry(name.as_str()).or_default() += v.nanos();
            }
        }
        let mut found = 0;
        for (name, q) in res.and_then(|r| r.limits.as_ref()).into_iter().flatten() {
            if let ("cpu" | "memory", Ok(v)) = (name.as_str(), Quantity::parse(&q.0))
                && v.nanos() > 0
            {
                found += 1;
                *limits.entry(name.as_str()).or_default() += v.nanos();
            }
        }
        if found < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
        && requests.len() == limits.len()
    {
        return "Guaranteed";
    }
    "Burstable"
}

/// The pod spec with what an update may change copied from `old`, as upstream munges it before
/// comparing.
fn munged(new: &PodSpec, old: &PodSpec) -> PodSpec {
    let mut spec = new.clone();
    for (c, o) in spec.containers.iter_mut().zip(&old.containers) {
        c.image.clone_from(&o.image);
    }
    if let (Some(cs), Some(os)) = (spec.init_containers.as_mut(), old.init_containers.as_ref()) {
        for (c, o) in cs.iter_mut().zip(os) {
            c.image.clone_from(&o.image);
        }
    }
    spec.active_deadline_seconds = old.active_deadline_seconds;
    // scheduling gates may only be removed, which `only_deleted_scheduling_gates` checks
    spec.scheduling_gates.clone_from(&old.scheduling_gates);
    // tolerations: only additions to existing ones
    let old_tol = old.tolerations.as_deref().unwrap_or_default();
    let new_tol = new.tolerations.as_deref().unwrap_or_default();
    if old_tol.iter().all(|t| new_tol.contains(t)) {
        spec.tolerations.clone_from(&old.tolerations);
    }
    if old.termination_grace_period_seconds.is_some_and(|g| g < 0)
        && new.termination_grace_period_seconds == Some(1)
    {
        spec.termination_grace_period_seconds = old.termination_grace_period_seconds;
    }
    spec
}

/// Upstream `validateOnlyDeletedSchedulingGates`: a gate the old spec lacks (by name) is
/// refused with its own error, rather than the generic one for a changed spec.
fn only_deleted_scheduling_gates(new: &PodSpec, old: &PodSpec, errs: &mut Vec<Cause>) {
    let old_gates = old.scheduling_gates.as_deref().unwrap_or_default();
    for (i, gate) in new.scheduling_gates.iter().flatten().enumerate() {
        if !old_gates.iter().any(|g| g.name == gate.name) {
            errs.push(Cause::forbidden(
                format!("spec.schedulingGates[{i}].name"),
                &format!(
                    "only deletion is allowed, but found new scheduling gate '{}'",
                    gate.name
                ),
            ));
        }
    }
}

impl Kind for PodKind {
    type Object = Pod;
    const TRACKS_GENERATION: bool = true;

    fn canonicalize(pod: &mut Pod) -> Result<(), &'static str> {
        pod.spec.as_mut().map_or(Ok(()), canonicalize_pod_spec)
    }

    fn default(pod: &mut Pod) {
        let spec = pod.spec.get_or_insert_with(Default::default);
        default_pod_spec(spec);
        default_pod_only(spec);
        if let Some(status) = pod.status.as_mut() {
            sync_ips(status);
        }
    }

    fn prepare_create(pod: &mut Pod) {
        // defaults ran first, so requests defaulted from limits count for the QoS class
        let spec = pod.spec.get_or_insert_with(Default::default);
        let mut status = PodStatus {
            phase: Some("Pending".into()),
            qos_class: Some(qos_class(spec).into()),
            ..Default::default()
        };
        if spec
            .scheduling_gates
            .as_ref()
            .is_some_and(|g| !g.is_empty())
        {
            status.conditions = Some(vec![PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("SchedulingGated".into()),
                message: Some("Scheduling is blocked due to non-empty scheduling gates".into()),
                ..Default::default()
            }]);
        }
        pod.status = Some(status);
        merge_affinity_label_keys(pod);
    }

    fn prepare_update(new: &mut Pod, old: &Pod) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut Pod, old: &Pod) {
        new.spec.clone_from(&old.spec);
        new.metadata
            .owner_references
            .clone_from(&old.metadata.owner_references);
        if let (Some(ns), Some(os)) = (new.status.as_mut(), old.status.as_ref())
            && ns.qos_class.as_deref().is_none_or(str::is_empty)
        {
            ns.qos_class.clone_from(&os.qos_class);
        }
    }

    fn spec_changed(new: &Pod, old: &Pod) -> bool {
        new.spec != old.spec
    }

    fn validate(pod: &Pod, errs: &mut Vec<Cause>) {
        match &pod.spec {
            Some(spec) => validate_pod_spec(spec, "spec", true, errs),
            None => errs.push(Cause::required("spec.containers", "")),
        }
    }

    fn validate_update(new: &Pod, old: &Pod, errs: &mut Vec<Cause>) {
        let (Some(ns), Some(os)) = (&new.spec, &old.spec) else {
            return;
        };
        if ns.containers.len() != os.containers.len()
            || ns.init_containers.as_ref().map(Vec::len)
                != os.init_containers.as_ref().map(Vec::len)
            || munged(ns, os) != *os
        {
            errs.push(Cause::forbidden("spec", POD_UPDATE_FORBIDDEN));
        }
        only_deleted_scheduling_gates(ns, os, errs);
    }

    /// `ValidatePodStatusUpdate` (the metadata part runs in the generic strategy).
    fn validate_status_update(new: &Pod, old: &Pod, errs: &mut Vec<Cause>) {
        let status = new.status.clone().unwrap_or_default();
        for (i, c) in status.conditions.iter().flatten().enumerate() {
            if !matches!(c.type_.as_str(), "PodScheduled" | "Ready" | "Initialized") {
                for m in qualified_name(&c.type_) {
                    errs.push(Cause::invalid(
                        format!("status.conditions[{i}].Type"),
                        &Value::from(c.type_.as_str()),
                        &m,
                    ));
                }
            }
        }
        let restart = old
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            .unwrap_or("Always");
        let old_status = old.status.clone().unwrap_or_default();
        for (field, new_list, old_list, policy) in [
            (
                "containerStatuses",
                &status.container_statuses,
                &old_status.container_statuses,
                restart,
            ),
            (
                "initContainerStatuses",
                &status.init_container_statuses,
                &old_status.init_container_statuses,
                restart,
            ),
            (
                "ephemeralContainerStatuses",
                &status.ephemeral_container_statuses,
                &old_status.ephemeral_container_statuses,
                "Never",
            ),
        ] {
            container_transitions(
                new_list.as_deref().unwrap_or_default(),
                old_list.as_deref().unwrap_or_default(),
                field,
                policy,
                errs,
            );
        }
        for (field, ips) in [
            (
                "podIPs",
                status
                    .pod_ips
                    .iter()
                    .flatten()
                    .map(|p| p.ip.as_str())
                    .collect::<Vec<_>>(),
            ),
            (
                "hostIPs",
                status
                    .host_ips
                    .iter()
                    .flatten()
                    .map(|p| p.ip.as_str())
                    .collect::<Vec<_>>(),
            ),
        ] {
            status_ips(&ips, &format!("status.{field}"), errs);
        }
    }
}

/// Upstream's v1 conversion keeps `podIP`/`podIPs` (and `hostIP`/`hostIPs`) in step: a lone
/// `podIP` becomes `podIPs[0]`, and `podIP` is always `podIPs[0]`.
fn sync_ips(status: &mut PodStatus) {
    if status.pod_ips.as_ref().is_none_or(Vec::is_empty)
        && let Some(ip) = status.pod_ip.clone().filter(|ip| !ip.is_empty())
    {
        status.pod_ips = Some(vec![PodIP { ip }]);
    }
    if let Some(first) = status.pod_ips.as_ref().and_then(|v| v.first()) {
        status.pod_ip = Some(first.ip.clone());
    }
    if status.host_ips.as_ref().is_none_or(Vec::is_empty)
        && let Some(ip) = status.host_ip.clone().filter(|ip| !ip.is_empty())
    {
        status.host_ips = Some(vec![HostIP { ip }]);
    }
    if let Some(first) = status.host_ips.as_ref().and_then(|v| v.first()) {
        status.host_ip = Some(first.ip.clone());
    }
}

/// `ValidateContainerStateTransition`: unless the pod restarts containers, a terminated
/// container stays terminated.
fn container_transitions(
    new: &[ContainerStatus],
    old: &[ContainerStatus],
    field: &str,
    restart: &str,
    errs: &mut Vec<Cause>,
) {
    if restart == "Always" {
        return;
    }
    for (i, o) in old.iter().enumerate() {
        let Some(term) = o.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
            continue;
        };
        if term.exit_code != 0 && restart == "OnFailure" {
            continue;
        }
        for n in new.iter().filter(|n| n.name == o.name) {
            if n.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .is_none()
            {
                errs.push(Cause::forbidden(
                    format!("status.{field}[{i}].state"),
                    "may not be transitioned to non-terminated state",
                ));
            }
        }
    }
}

/// `validatePodIPs`/`validateHostIPs`: valid addresses, at most one per family, no repeats.
fn status_ips(ips: &[&str], path: &str, errs: &mut Vec<Cause>) {
    let mut parsed = Vec::new();
    for (i, ip) in ips.iter().enumerate() {
        match ip.parse::<std::net::IpAddr>() {
            Ok(a) => parsed.push(a),
            Err(_) => errs.push(Cause::invalid(
                format!("{path}[{i}]"),
                &Value::from(*ip),
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            )),
        }
    }
    if ips.len() > 1 {
        let dual = parsed.len() == 2 && parsed[0].is_ipv4() != parsed[1].is_ipv4();
        if !dual || ips.len() > 2 {
            errs.push(Cause::invalid(
                path,
                &Value::from(ips.join(",")),
                "may specify no more than one IP for each IP family",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, ip) in ips.iter().enumerate() {
            if !seen.insert(*ip) {
                errs.push(Cause::duplicate(
                    format!("{path}[{i}]"),
                    &serde_json::json!({"ip": ip}),
                ));
            }
        }
    }
}

/// Upstream `mutatePodAffinity` (MatchLabelKeysInPodAffinity, on by default since 1.31): on
/// create, each pod affinity and anti-affinity term's `matchLabelKeys` and `mismatchLabelKeys`
/// become `In` / `NotIn` expressions on the pod's own value of each key, added to the term's
/// `labelSelector`, so the scheduler (and a reader of the pod) needs only the selector. Keys
/// the pod does not carry add nothing; a term without a selector selects nothing and stays so.
fn merge_affinity_label_keys(pod: &mut Pod) {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let Some(affinity) = pod.spec.as_mut().and_then(|s| s.affinity.as_mut()) else {
        return;
    };
    let affinity_terms = affinity.pod_affinity.as_mut().map(|a| {
        (
            &mut a.required_during_scheduling_ignored_during_execution,
            &mut a.preferred_during_scheduling_ignored_during_execution,
        )
    });
    let anti_affinity_terms = affinity.pod_anti_affinity.as_mut().map(|a| {
        (
            &mut a.required_during_scheduling_ignored_during_execution,
            &mut a.preferred_during_scheduling_ignored_during_execution,
        )
    });
    for (required, preferred) in affinity_terms.into_iter().chain(anti_affinity_terms) {
        let weighted = preferred
            .iter_mut()
            .flatten()
            .map(|w| &mut w.pod_affinity_term);
        for term in required.iter_mut().flatten().chain(weighted) {
            let Some(selector) = term.label_selector.as_mut() else {
                continue;
            };
            for (keys, operator) in [
                (&term.match_label_keys, "In"),
                (&term.mismatch_label_keys, "NotIn"),
            ] {
                for key in keys.iter().flatten() {
                    if let Some(value) = labels.get(key) {
                        selector
                            .match_expressions
                            .get_or_insert_with(Vec::new)
                            .push(LabelSelectorRequirement {
                                key: key.clone(),
                                operator: operator.to_owned(),
                                values: Some(vec![value.clone()]),
                            });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn pod(containers: serde_json::Value) -> serde_json::Value {
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": containers}})
    }

    #[test]
    fn create_sets_pod_defaults_and_pending_status() {
        let out = create(
            "pods",
            pod(
                json!([{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
            "readinessProbe": {"httpGet": {"port": 80}}}]),
            ),
        )
        .unwrap();
        let spec = &out["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["enableServiceLinks"], true);
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["resources"], json!({}));
        assert_eq!(
            c["readinessProbe"],
            json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10,
                   "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(
            out["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
        assert_eq!(out["metadata"]["generation"], 1);
    }

    #[test]
    fn affinity_label_keys_merge_the_pods_values_into_the_selector_on_create() {
        let term = |keys: &str| {
            json!({"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone",
                   keys: ["rev", "absent"]})
        };
        let mut p = pod(json!([{"name": "c", "image": "nginx"}]));
        p["metadata"]["labels"] = json!({"app": "web", "rev": "v2"});
        p["spec"]["affinity"] = json!({
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [term("matchLabelKeys")]},
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 5, "podAffinityTerm": term("mismatchLabelKeys")}],
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "zone", "matchLabelKeys": ["rev"]}]
            }
        });
        let out = create("pods", p).unwrap();
        let affinity = &out["spec"]["affinity"];
        let required =
            &affinity["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
        assert_eq!(
            required["labelSelector"],
            json!({"matchLabels": {"app": "web"},
                   "matchExpressions": [{"key": "rev", "operator": "In", "values": ["v2"]}]})
        );
        assert_eq!(
            required["matchLabelKeys"],
            json!(["rev", "absent"]),
            "the keys stay"
        );
        let anti = &affinity["podAntiAffinity"];
        let preferred = &anti["preferredDuringSchedulingIgnoredDuringExecution"][0];
        assert_eq!(
            preferred["podAffinityTerm"]["labelSelector"]["matchExpressions"],
            json!([{"key": "rev", "operator": "NotIn", "values": ["v2"]}])
        );
        assert!(
            anti["requiredDuringSchedulingIgnoredDuringExecution"][0]
                .get("labelSelector")
                .is_none(),
            "a term selecting nothing is left selecting nothing"
        );
    }

    #[rstest]
    #[case(json!({}), "BestEffort")]
    #[case(json!({"limits": {"cpu": "1", "memory": "1Gi"}}), "Guaranteed")]
    #[case(json!({"requests": {"cpu": "500m"}, "limits": {"cpu": "1", "memory": "1Gi"}}), "Burstable")]
    #[case(json!({"requests": {"cpu": "100m"}}), "Burstable")]
    fn qos_class_is_computed_after_defaults(
        #[case] resources: serde_json::Value,
        #[case] want: &str,
    ) {
        let out = create(
            "pods",
            pod(json!([{"name": "c", "image": "nginx:1", "resources": resources}])),
        )
        .unwrap();
        assert_eq!(out["status"]["qosClass"], want);
        assert_eq!(
            out["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    #[test]
    fn quantities_come_back_canonical() {
        let res = json!({"requests": {"cpu": "1000m", "memory": "0.5Gi"}, "limits": {"cpu": "2.5", "memory": "1e9"}});
        let out = create(
            "pods",
            pod(json!([{"name": "c", "image": "i", "resources": res}])),
        )
        .unwrap();
        assert_eq!(
            out["spec"]["containers"][0]["resources"],
            json!({"requests": {"cpu": "1", "memory": "512Mi"}, "limits": {"cpu": "2500m", "memory": "1e9"}})
        );
    }

    #[test]
    fn a_quantity_that_is_not_one_is_a_decode_error() {
        let err = create(
            "pods",
            pod(json!([{"name": "c", "image": "i", "resources": {"limits": {"cpu": "lots"}}}])),
        )
        .unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    #[test]
    fn status_updates_keep_pod_ip_fields_in_step_and_valid() {
        use super::super::test_support::update_target;
        use crate::registry::UpdateTarget;
        let old = create("pods", pod(json!([{"name": "c", "image": "a"}]))).unwrap();
        let mut new = old.clone();
        new["status"]["podIP"] = json!("10.0.0.5");
        let out = update_target("pods", new, &old, UpdateTarget::Status).unwrap();
        assert_eq!(out["status"]["podIPs"], json!([{"ip": "10.0.0.5"}]));
        let mut bad = old.clone();
        bad["status"]["podIPs"] = json!([{"ip": "10.0.0.5"}, {"ip": "10.0.0.6"}]);
        let err = update_target("pods", bad, &old, UpdateTarget::Status).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "status.podIPs: Invalid value: \"10.0.0.5,10.0.0.6\": may specify no more than one IP for each IP family"
            ]
        );
    }

    #[test]
    fn terminated_containers_stay_terminated_unless_restarted() {
        use super::super::test_support::update_target;
        use crate::registry::UpdateTarget;
        let mut p = pod(json!([{"name": "c", "image": "a"}]));
        p["spec"]["restartPolicy"] = json!("Never");
        let mut old = create("pods", p).unwrap();
        old["status"]["containerStatuses"] = json!([{"name": "c", "image": "a", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 1}}}]);
        let mut new = old.clone();
        new["status"]["containerStatuses"][0]["state"] = json!({"running": {}});
        let err = update_target("pods", new, &old, UpdateTarget::Status).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"
            ]
        );
    }

    #[test]
    fn requests_default_to_limits() {
        let out = create(
            "pods",
            pod(json!([{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}}}])),
        )
        .unwrap();
        assert_eq!(
            out["spec"]["containers"][0]["resources"]["requests"],
            json!({"cpu": "1"})
        );
    }

    #[rstest]
    #[case(json!([]), "spec.containers: Required value")]
    #[case(json!([{"name": "c"}]), "spec.containers[0].image: Required value")]
    #[case(json!([{"image": "i"}]), "spec.containers[0].name: Required value")]
    #[case(json!([{"name": "c", "image": "i"}, {"name": "c", "image": "i"}]), "spec.containers[1].name: Duplicate value: \"c\"")]
    #[case(json!([{"name": "c", "image": "i", "ports": [{"containerPort": 70000}]}]),
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive")]
    #[case(json!([{"name": "c", "image": "i", "ports": [{"containerPort": 80, "protocol": "HTTP"}]}]),
        "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"")]
    #[case(json!([{"name": "c", "image": "i", "ports": [{"name": "web", "containerPort": 80}, {"name": "web", "containerPort": 81}]}]),
        "spec.containers[0].ports[1].name: Duplicate value: \"web\"")]
    #[case(json!([{"name": "c", "image": "i", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}]),
        "spec.containers[0].volumeMounts[0].name: Not found: \"data\"")]
    #[case(json!([{"name": "c", "image": "i", "env": [{"name": "A=B"}]}]),
        "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='")]
    #[case(json!([{"name": "c", "image": "i", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]),
        "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1")]
    #[case(json!([{"name": "c", "image": "i", "resources": {"requests": {"memory": "-1"}}}]),
        "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0")]
    #[case(json!([{"name": "c", "image": "i", "resources": {"requests": {"gpu": "1"}}}]),
        "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource for containers")]
    #[case(json!([{"name": "C_1", "image": "i"}]),
        "spec.containers[0].name: Invalid value: \"C_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")]
    fn invalid_pods_name_the_field(#[case] containers: serde_json::Value, #[case] want: &str) {
        let err = create("pods", pod(containers)).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    #[rstest]
    #[case(json!({"restartPolicy": "Sometimes"}), "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"")]
    #[case(json!({"dnsPolicy": "Google"}), "spec.dnsPolicy: Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"")]
    #[case(json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]}), "spec.volumes[1].name: Duplicate value: \"v\"")]
    #[case(json!({"activeDeadlineSeconds": 0}), "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive")]
    #[case(json!({"nodeName": "Node_1"}), "spec.nodeName: Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]
    #[case(json!({"hostNetwork": true, "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}),
        "spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true")]
    fn invalid_pod_specs(#[case] extra: serde_json::Value, #[case] want: &str) {
        let mut p = pod(json!([{"name": "c", "image": "i"}]));
        for (k, v) in extra.as_object().unwrap() {
            p["spec"][k] = v.clone();
        }
        let err = create("pods", p).unwrap_err();
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    #[test]
    fn pod_spec_is_immutable_except_images() {
        let old = create("pods", pod(json!([{"name": "c", "image": "a"}]))).unwrap();
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("b");
        let out = update("pods", new, &old).unwrap();
        assert_eq!(out["spec"]["containers"][0]["image"], "b");
        assert_eq!(out["metadata"]["generation"], 2);
        let mut bad = old.clone();
        bad["spec"]["restartPolicy"] = json!("Never");
        let err = update("pods", bad, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![format!("spec: Forbidden: {POD_UPDATE_FORBIDDEN}")]
        );
    }

    #[test]
    fn scheduling_gates_may_be_removed_but_not_added() {
        let mut p = pod(json!([{"name": "c", "image": "a"}]));
        p["spec"]["schedulingGates"] = json!([{"name": "example.com/wait"}]);
        let old = create("pods", p).unwrap();
        assert_eq!(old["status"]["conditions"][0]["reason"], "SchedulingGated");
        let mut removed = old.clone();
        removed["spec"]["schedulingGates"] = json!([]);
        assert!(update("pods", removed, &old).is_ok());
        let mut added = old.clone();
        added["spec"]["schedulingGates"] =
            json!([{"name": "example.com/wait"}, {"name": "example.com/more"}]);
        let err = update("pods", added, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found \
                 new scheduling gate 'example.com/more'"
                    .to_string()
            ],
            "upstream's own error, not the generic one for a changed spec"
        );
    }

    #[test]
    fn main_update_keeps_status_and_status_update_keeps_spec() {
        use crate::registry::UpdateTarget;
        let old = create("pods", pod(json!([{"name": "c", "image": "a"}]))).unwrap();
        let mut new = old.clone();
        new["status"]["phase"] = json!("Running");
        let out = update("pods", new.clone(), &old).unwrap();
        assert_eq!(out["status"]["phase"], "Pending");
        new["spec"]["containers"][0]["image"] = json!("b");
        let out =
            super::super::test_support::update_target("pods", new, &old, UpdateTarget::Status)
                .unwrap();
        assert_eq!(out["status"]["phase"], "Running");
        assert_eq!(out["spec"]["containers"][0]["image"], "a");
        assert_eq!(out["metadata"]["generation"], 1);
    }
}
