//! What the workload controllers' objects share: the pod template (defaults, validation,
//! canonical quantities), selector-versus-template checks, rolling-update parameters, and how
//! upstream prints selectors and int-or-percent values in messages.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::pod_spec::{canonicalize_pod_spec, default_pod_spec, validate_pod_spec};
use crate::error::Cause;
use crate::registry::validation::{
    FIELD_IMMUTABLE, go_string_map, invalid_shown, nonnegative, selector_is_empty,
    selector_matches, validate_annotations, validate_label_selector, validate_labels,
};

pub(super) const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";

/// A label selector as upstream prints one in messages (its generated `String()`).
pub(super) fn selector_string(sel: &LabelSelector) -> String {
    let labels: String = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {v},"))
        .collect();
    let exprs: String = sel
        .match_expressions
        .iter()
        .flatten()
        .map(|e| {
            let values = e.values.as_deref().unwrap_or_default().join(" ");
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{values}],}},",
                e.key, e.operator
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"
    )
}

/// An `IntOrString` as upstream prints it (its `String()`).
pub(super) fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

pub(super) fn canonical_template(t: Option<&mut PodTemplateSpec>) -> Result<(), &'static str> {
    t.and_then(|t| t.spec.as_mut())
        .map_or(Ok(()), canonicalize_pod_spec)
}

pub(super) fn default_template(t: &mut PodTemplateSpec) {
    default_pod_spec(t.spec.get_or_insert_with(Default::default));
}

/// `ValidatePodTemplateSpec`: the template's labels and annotations, and its pod spec.
pub(super) fn validate_template(t: &PodTemplateSpec, path: &str, errs: &mut Vec<Cause>) {
    let meta = t.metadata.as_ref();
    validate_labels(
        meta.and_then(|m| m.labels.as_ref()),
        &format!("{path}.metadata.labels"),
        errs,
    );
    validate_annotations(
        meta.and_then(|m| m.annotations.as_ref()),
        &format!("{path}.metadata.annotations"),
        errs,
    );
    match &t.spec {
        Some(spec) => validate_pod_spec(spec, &format!("{path}.spec"), false, errs),
        None => errs.push(Cause::required(format!("{path}.spec.containers"), "")),
    }
}

pub(super) fn template_labels(t: &PodTemplateSpec) -> Option<&BTreeMap<String, String>> {
    t.metadata.as_ref().and_then(|m| m.labels.as_ref())
}

pub(super) fn restart_policy(t: &PodTemplateSpec) -> &str {
    t.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("")
}

/// The selector/template rules shared by Deployment, ReplicaSet and DaemonSet
/// (`ValidatePodTemplateSpecForReplicaSet` and the selector checks before it).
pub(super) fn validate_selected_template(
    selector: &LabelSelector,
    template: &PodTemplateSpec,
    owner: &str,
    empty_msg: &str,
    errs: &mut Vec<Cause>,
) {
    validate_label_selector(selector, "spec.selector", errs);
    if selector_is_empty(selector) {
        errs.push(invalid_shown(
            "spec.selector",
            &selector_string(selector),
            empty_msg,
        ));
    } else if !selector_matches(selector, template_labels(template)) {
        errs.push(invalid_shown(
            "spec.template.metadata.labels",
            &go_string_map(template_labels(template)),
            SELECTOR_MISMATCH,
        ));
    }
    validate_template(template, "spec.template", errs);
    always_restart(template, owner, errs);
}

/// Controllers that keep pods running require `restartPolicy: Always` and no deadline.
pub(super) fn always_restart(template: &PodTemplateSpec, owner: &str, errs: &mut Vec<Cause>) {
    let rp = restart_policy(template);
    if rp != "Always" {
        errs.push(Cause::not_supported(
            "spec.template.spec.restartPolicy",
            &Value::from(rp),
            &["Always"],
        ));
    }
    if template
        .spec
        .as_ref()
        .is_some_and(|s| s.active_deadline_seconds.is_some())
    {
        errs.push(Cause::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            &format!("activeDeadlineSeconds in {owner} is not Supported"),
        ));
    }
}

pub(super) fn immutable_selector(
    new: Option<&LabelSelector>,
    old: Option<&LabelSelector>,
    errs: &mut Vec<Cause>,
) {
    if new != old {
        let shown = new.map_or_else(|| "null".to_string(), selector_string);
        errs.push(invalid_shown("spec.selector", &shown, FIELD_IMMUTABLE));
    }
}

/// `ValidatePositiveIntOrPercent` and `IsNotMoreThan100Percent`.
pub(super) fn int_or_percent(
    v: Option<&IntOrString>,
    path: &str,
    max_100: bool,
    errs: &mut Vec<Cause>,
) {
    match v {
        Some(IntOrString::String(s)) => {
            let valid = s
                .strip_suffix('%')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !valid {
                errs.push(invalid_shown(path, s, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
            } else if max_100
                && s.trim_end_matches('%')
                    .parse::<u64>()
                    .is_ok_and(|n| n > 100)
            {
                errs.push(invalid_shown(path, s, "must not be greater than 100%"));
            }
        }
        Some(IntOrString::Int(n)) => nonnegative(Some(i64::from(*n)), path, errs),
        None => {}
    }
}

pub(super) fn is_zero(v: Option<&IntOrString>) -> bool {
    match v {
        Some(IntOrString::Int(n)) => *n == 0,
        Some(IntOrString::String(s)) => {
            s.trim_end_matches('%').parse::<i64>().is_ok_and(|n| n == 0)
        }
        None => true,
    }
}

pub(super) fn rolling_update(
    max_unavailable: Option<&IntOrString>,
    max_surge: Option<&IntOrString>,
    path: &str,
    errs: &mut Vec<Cause>,
) {
    int_or_percent(
        max_unavailable,
        &format!("{path}.maxUnavailable"),
        false,
        errs,
    );
    int_or_percent(max_surge, &format!("{path}.maxSurge"), false, errs);
    if is_zero(max_unavailable) && is_zero(max_surge) {
        let shown = max_unavailable.map_or_else(|| "0".into(), int_or_string);
        errs.push(invalid_shown(
            format!("{path}.maxUnavailable"),
            &shown,
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    int_or_percent(
        max_unavailable,
        &format!("{path}.maxUnavailable"),
        true,
        errs,
    );
    // the first pass reported format errors; keep only the >100% one from the second
    let mut seen = std::collections::HashSet::new();
    errs.retain(|c| seen.insert(c.render()));
}

/// Replica counts a controller reports in `status`, for upstream's status checks.
pub(super) struct ReplicaCounts {
    pub replicas: i32,
    /// `updatedReplicas` (Deployment) or `fullyLabeledReplicas` (ReplicaSet, RC), with its name.
    pub subset: Option<(&'static str, i32)>,
    pub ready: i32,
    pub available: i32,
    pub observed_generation: i64,
}

/// `ValidateDeploymentStatus`/`ValidateReplicaSetStatus`/…: counts are non-negative, none
/// exceeds `replicas`, and available ≤ ready.
pub(super) fn validate_replica_counts(c: &ReplicaCounts, errs: &mut Vec<Cause>) {
    nonnegative(
        Some(c.observed_generation),
        "status.observedGeneration",
        errs,
    );
    nonnegative(Some(i64::from(c.replicas)), "status.replicas", errs);
    let mut counted = vec![
        ("readyReplicas", c.ready),
        ("availableReplicas", c.available),
    ];
    if let Some(subset) = c.subset {
        counted.insert(0, subset);
    }
    for (field, v) in &counted {
        nonnegative(Some(i64::from(*v)), &format!("status.{field}"), errs);
    }
    for (field, v) in counted {
        if v > c.replicas {
            errs.push(Cause::invalid(
                format!("status.{field}"),
                &Value::from(v),
                "cannot be greater than status.replicas",
            ));
        }
    }
    if c.available > c.ready {
        errs.push(Cause::invalid(
            "status.availableReplicas",
            &Value::from(c.available),
            "cannot be greater than readyReplicas",
        ));
    }
}

/// A pod template for tests: one container, the given labels and restart policy.
#[cfg(test)]
pub(super) fn test_template(labels: Value, restart: Option<&str>) -> Value {
    let mut spec = serde_json::json!({"containers": [{"name": "c", "image": "nginx:1"}]});
    if let Some(rp) = restart {
        spec["restartPolicy"] = serde_json::json!(rp);
    }
    serde_json::json!({"metadata": {"labels": labels}, "spec": spec})
}
