//! Workload controllers' objects: Deployment, ReplicaSet, DaemonSet (apps/v1),
//! ReplicationController (v1) and Job (batch/v1) — upstream's `SetDefaults_*`, the apps and
//! batch validation, and their strategies (empty status on create, generation tracking,
//! immutable selectors).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, ReplicaSet,
    RollingUpdateDaemonSet, RollingUpdateDeployment,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::Kind;
use super::pod_spec::{default_pod_spec, validate_pod_spec};
use crate::error::Cause;
use crate::registry::validation::{
    FIELD_IMMUTABLE, go_string_map, invalid_shown, nonnegative, selector_is_empty,
    selector_matches, validate_annotations, validate_label_selector, validate_labels,
};

/// Deployments.
pub(crate) struct DeploymentKind;
/// ReplicaSets.
pub(crate) struct ReplicaSetKind;
/// DaemonSets.
pub(crate) struct DaemonSetKind;
/// ReplicationControllers.
pub(crate) struct ReplicationControllerKind;
/// Jobs.
pub(crate) struct JobKind;

const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";

/// A label selector as upstream prints one in messages (its generated `String()`).
pub(crate) fn selector_string(sel: &LabelSelector) -> String {
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
fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn default_template(t: &mut PodTemplateSpec) {
    default_pod_spec(t.spec.get_or_insert_with(Default::default));
}

/// `ValidatePodTemplateSpec`: the template's labels and annotations, and its pod spec.
fn validate_template(t: &PodTemplateSpec, path: &str, errs: &mut Vec<Cause>) {
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

fn template_labels(t: &PodTemplateSpec) -> Option<&BTreeMap<String, String>> {
    t.metadata.as_ref().and_then(|m| m.labels.as_ref())
}

fn restart_policy(t: &PodTemplateSpec) -> &str {
    t.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("")
}

/// The selector/template rules shared by Deployment, ReplicaSet and DaemonSet
/// (`ValidatePodTemplateSpecForReplicaSet` and the selector checks before it).
fn validate_selected_template(
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
fn always_restart(template: &PodTemplateSpec, owner: &str, errs: &mut Vec<Cause>) {
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

fn immutable_selector(
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
fn int_or_percent(v: Option<&IntOrString>, path: &str, max_100: bool, errs: &mut Vec<Cause>) {
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

fn is_zero(v: Option<&IntOrString>) -> bool {
    match v {
        Some(IntOrString::Int(n)) => *n == 0,
        Some(IntOrString::String(s)) => {
            s.trim_end_matches('%').parse::<i64>().is_ok_and(|n| n == 0)
        }
        None => true,
    }
}

fn rolling_update(
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

impl Kind for DeploymentKind {
    type Object = Deployment;
    const TRACKS_GENERATION: bool = true;

    fn default(d: &mut Deployment) {
        let spec = &mut d.spec;
        spec.replicas.get_or_insert(1);
        let strategy = spec
            .strategy
            .get_or_insert_with(DeploymentStrategy::default);
        if strategy.type_.as_deref().is_none_or(str::is_empty) {
            strategy.type_ = Some("RollingUpdate".into());
        }
        if strategy.type_.as_deref() == Some("RollingUpdate") {
            let ru = strategy
                .rolling_update
                .get_or_insert_with(RollingUpdateDeployment::default);
            ru.max_unavailable
                .get_or_insert_with(|| IntOrString::String("25%".into()));
            ru.max_surge
                .get_or_insert_with(|| IntOrString::String("25%".into()));
        }
        spec.revision_history_limit.get_or_insert(10);
        spec.progress_deadline_seconds.get_or_insert(600);
        default_template(&mut spec.template);
    }

    fn prepare_create(d: &mut Deployment) {
        d.status = Some(Default::default());
    }

    fn prepare_update(new: &mut Deployment, old: &Deployment) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut Deployment, old: &Deployment) {
        new.spec.clone_from(&old.spec);
        new.metadata.labels.clone_from(&old.metadata.labels);
    }

    /// Annotations count too: upstream copies them to the ReplicaSets.
    fn spec_changed(new: &Deployment, old: &Deployment) -> bool {
        new.spec != old.spec || new.metadata.annotations != old.metadata.annotations
    }

    fn validate(d: &Deployment, errs: &mut Vec<Cause>) {
        let spec = &d.spec;
        nonnegative(spec.replicas.map(i64::from), "spec.replicas", errs);
        validate_selected_template(
            &spec.selector,
            &spec.template,
            "Deployment",
            "empty selector is invalid for deployment",
            errs,
        );
        if let Some(strategy) = &spec.strategy {
            match strategy.type_.as_deref().unwrap_or("") {
                "Recreate" => {
                    if strategy.rolling_update.is_some() {
                        errs.push(Cause::forbidden(
                            "spec.strategy.rollingUpdate",
                            "may not be specified when strategy `type` is 'Recreate'",
                        ));
                    }
                }
                "RollingUpdate" => match &strategy.rolling_update {
                    None => errs.push(Cause::required(
                        "spec.strategy.rollingUpdate",
                        "this should be defaulted and never be nil",
                    )),
                    Some(ru) => rolling_update(
                        ru.max_unavailable.as_ref(),
                        ru.max_surge.as_ref(),
                        "spec.strategy.rollingUpdate",
                        errs,
                    ),
                },
                other => errs.push(Cause::not_supported(
                    "spec.strategy.type",
                    &Value::from(other),
                    &["Recreate", "RollingUpdate"],
                )),
            }
        }
        nonnegative(
            spec.min_ready_seconds.map(i64::from),
            "spec.minReadySeconds",
            errs,
        );
        nonnegative(
            spec.revision_history_limit.map(i64::from),
            "spec.revisionHistoryLimit",
            errs,
        );
        if let Some(pds) = spec.progress_deadline_seconds {
            nonnegative(Some(i64::from(pds)), "spec.progressDeadlineSeconds", errs);
            if pds <= spec.min_ready_seconds.unwrap_or(0) {
                errs.push(Cause::invalid(
                    "spec.progressDeadlineSeconds",
                    &Value::from(pds),
                    "must be greater than minReadySeconds",
                ));
            }
        }
    }

    fn validate_update(new: &Deployment, old: &Deployment, errs: &mut Vec<Cause>) {
        immutable_selector(Some(&new.spec.selector), Some(&old.spec.selector), errs);
    }

    fn validate_status_update(_new: &Deployment, _old: &Deployment, _errs: &mut Vec<Cause>) {}
}

impl Kind for ReplicaSetKind {
    type Object = ReplicaSet;
    const TRACKS_GENERATION: bool = true;

    fn default(rs: &mut ReplicaSet) {
        let spec = &mut rs.spec;
        spec.replicas.get_or_insert(1);
        if let Some(t) = spec.template.as_mut() {
            default_template(t);
        }
    }

    fn prepare_create(rs: &mut ReplicaSet) {
        rs.status = Some(Default::default());
    }

    fn prepare_update(new: &mut ReplicaSet, old: &ReplicaSet) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut ReplicaSet, old: &ReplicaSet) {
        new.spec.clone_from(&old.spec);
    }

    fn spec_changed(new: &ReplicaSet, old: &ReplicaSet) -> bool {
        new.spec != old.spec
    }

    fn validate(rs: &ReplicaSet, errs: &mut Vec<Cause>) {
        let spec = &rs.spec;
        nonnegative(spec.replicas.map(i64::from), "spec.replicas", errs);
        nonnegative(
            spec.min_ready_seconds.map(i64::from),
            "spec.minReadySeconds",
            errs,
        );
        match &spec.template {
            Some(t) => validate_selected_template(
                &spec.selector,
                t,
                "ReplicaSet",
                "empty selector is invalid for deployment",
                errs,
            ),
            None => errs.push(Cause::required("spec.template", "")),
        }
    }

    fn validate_update(new: &ReplicaSet, old: &ReplicaSet, errs: &mut Vec<Cause>) {
        immutable_selector(Some(&new.spec.selector), Some(&old.spec.selector), errs);
    }

    fn validate_status_update(_new: &ReplicaSet, _old: &ReplicaSet, _errs: &mut Vec<Cause>) {}
}

impl Kind for DaemonSetKind {
    type Object = DaemonSet;
    const TRACKS_GENERATION: bool = true;

    fn default(ds: &mut DaemonSet) {
        let spec = &mut ds.spec;
        let us = spec
            .update_strategy
            .get_or_insert_with(DaemonSetUpdateStrategy::default);
        if us.type_.as_deref().is_none_or(str::is_empty) {
            us.type_ = Some("RollingUpdate".into());
        }
        if us.type_.as_deref() == Some("RollingUpdate") {
            let ru = us
                .rolling_update
                .get_or_insert_with(RollingUpdateDaemonSet::default);
            ru.max_unavailable.get_or_insert(IntOrString::Int(1));
            ru.max_surge.get_or_insert(IntOrString::Int(0));
        }
        spec.revision_history_limit.get_or_insert(10);
        default_template(&mut spec.template);
    }

    fn prepare_create(ds: &mut DaemonSet) {
        ds.status = Some(Default::default());
    }

    fn prepare_update(new: &mut DaemonSet, old: &DaemonSet) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut DaemonSet, old: &DaemonSet) {
        new.spec.clone_from(&old.spec);
    }

    fn spec_changed(new: &DaemonSet, old: &DaemonSet) -> bool {
        new.spec != old.spec
    }

    fn validate(ds: &DaemonSet, errs: &mut Vec<Cause>) {
        let spec = &ds.spec;
        validate_selected_template(
            &spec.selector,
            &spec.template,
            "DaemonSet",
            "empty selector is invalid for daemonset",
            errs,
        );
        nonnegative(
            spec.min_ready_seconds.map(i64::from),
            "spec.minReadySeconds",
            errs,
        );
        nonnegative(
            spec.revision_history_limit.map(i64::from),
            "spec.revisionHistoryLimit",
            errs,
        );
        if let Some(us) = &spec.update_strategy {
            match us.type_.as_deref().unwrap_or("") {
                "OnDelete" => {}
                "RollingUpdate" => match &us.rolling_update {
                    None => errs.push(Cause::required("spec.updateStrategy.rollingUpdate", "")),
                    Some(ru) => rolling_update(
                        ru.max_unavailable.as_ref(),
                        ru.max_surge.as_ref(),
                        "spec.updateStrategy.rollingUpdate",
                        errs,
                    ),
                },
                other => errs.push(Cause::not_supported(
                    "spec.updateStrategy",
                    &Value::from(other),
                    &["OnDelete", "RollingUpdate"],
                )),
            }
        }
    }

    fn validate_update(new: &DaemonSet, old: &DaemonSet, errs: &mut Vec<Cause>) {
        immutable_selector(Some(&new.spec.selector), Some(&old.spec.selector), errs);
    }

    fn validate_status_update(_new: &DaemonSet, _old: &DaemonSet, _errs: &mut Vec<Cause>) {}
}

impl Kind for ReplicationControllerKind {
    type Object = ReplicationController;
    const TRACKS_GENERATION: bool = true;

    /// `SetDefaults_ReplicationController`: selector and object labels from the template's.
    fn default(rc: &mut ReplicationController) {
        let spec = rc.spec.get_or_insert_with(Default::default);
        if let Some(labels) = spec.template.as_ref().and_then(template_labels).cloned() {
            if spec.selector.as_ref().is_none_or(BTreeMap::is_empty) {
                spec.selector = Some(labels.clone());
            }
            if rc.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty) {
                rc.metadata.labels = Some(labels);
            }
        }
        spec.replicas.get_or_insert(1);
        if let Some(t) = spec.template.as_mut() {
            default_template(t);
        }
    }

    fn prepare_create(rc: &mut ReplicationController) {
        rc.status = Some(Default::default());
    }

    fn prepare_update(new: &mut ReplicationController, old: &ReplicationController) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut ReplicationController, old: &ReplicationController) {
        new.spec.clone_from(&old.spec);
    }

    fn spec_changed(new: &ReplicationController, old: &ReplicationController) -> bool {
        new.spec != old.spec
    }

    fn validate(rc: &ReplicationController, errs: &mut Vec<Cause>) {
        let Some(spec) = &rc.spec else {
            return errs.push(Cause::required("spec.selector", ""));
        };
        let selector = spec.selector.as_ref().filter(|s| !s.is_empty());
        if selector.is_none() {
            errs.push(Cause::required("spec.selector", ""));
        }
        validate_labels(spec.selector.as_ref(), "spec.selector", errs);
        nonnegative(spec.replicas.map(i64::from), "spec.replicas", errs);
        nonnegative(
            spec.min_ready_seconds.map(i64::from),
            "spec.minReadySeconds",
            errs,
        );
        let Some(t) = &spec.template else {
            return errs.push(Cause::required("spec.template", ""));
        };
        if let Some(sel) = selector {
            let labels = template_labels(t);
            if !sel
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            {
                errs.push(invalid_shown(
                    "spec.template.metadata.labels",
                    &go_string_map(labels),
                    SELECTOR_MISMATCH,
                ));
            }
        }
        validate_template(t, "spec.template", errs);
        always_restart(t, "ReplicationController", errs);
    }

    fn validate_status_update(
        _new: &ReplicationController,
        _old: &ReplicationController,
        _errs: &mut Vec<Cause>,
    ) {
    }
}

const LEGACY_JOB_NAME: &str = "job-name";
const JOB_NAME: &str = "batch.kubernetes.io/job-name";
const LEGACY_CONTROLLER_UID: &str = "controller-uid";
const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";

impl Kind for JobKind {
    type Object = Job;
    const TRACKS_GENERATION: bool = true;

    fn default(job: &mut Job) {
        let spec = job.spec.get_or_insert_with(Default::default);
        if spec.completions.is_none() && spec.parallelism.is_none() {
            spec.completions = Some(1);
        }
        spec.parallelism.get_or_insert(1);
        if spec.backoff_limit.is_none() {
            spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() {
                i32::MAX
            } else {
                6
            });
        }
        if let Some(labels) = template_labels(&spec.template).cloned()
            && job.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty)
        {
            job.metadata.labels = Some(labels);
        }
        if spec.completion_mode.as_deref().is_none_or(str::is_empty) {
            spec.completion_mode = Some("NonIndexed".into());
        }
        spec.suspend.get_or_insert(false);
        if spec.pod_replacement_policy.is_none() {
            let policy = if spec.pod_failure_policy.is_some() {
                "Failed"
            } else {
                "TerminatingOrFailed"
            };
            spec.pod_replacement_policy = Some(policy.into());
        }
        spec.manual_selector.get_or_insert(false);
        default_template(&mut spec.template);
    }

    /// Empty status, and the generated selector unless `manualSelector` is true. The generated
    /// labels carry `metadata.uid`, which the API layer sets before calling `prepare_create`
    /// (as upstream's store fills system fields before the strategy runs).
    fn prepare_create(job: &mut Job) {
        job.status = Some(Default::default());
        let name = job.metadata.name.clone().unwrap_or_default();
        let uid = job.metadata.uid.clone().unwrap_or_default();
        let Some(spec) = job.spec.as_mut() else {
            return;
        };
        if spec.manual_selector == Some(true) {
            return;
        }
        let labels = spec
            .template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(BTreeMap::new);
        for key in [LEGACY_JOB_NAME, JOB_NAME] {
            labels.entry(key.into()).or_insert_with(|| name.clone());
        }
        for key in [LEGACY_CONTROLLER_UID, CONTROLLER_UID] {
            labels.entry(key.into()).or_insert_with(|| uid.clone());
        }
        let selector = spec.selector.get_or_insert_with(LabelSelector::default);
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .entry(CONTROLLER_UID.into())
            .or_insert(uid);
    }

    fn prepare_update(new: &mut Job, old: &Job) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut Job, old: &Job) {
        new.spec.clone_from(&old.spec);
    }

    fn spec_changed(new: &Job, old: &Job) -> bool {
        new.spec != old.spec
    }

    fn validate(job: &Job, errs: &mut Vec<Cause>) {
        let Some(spec) = &job.spec else {
            return errs.push(Cause::required("spec.selector", ""));
        };
        nonnegative(spec.parallelism.map(i64::from), "spec.parallelism", errs);
        nonnegative(spec.completions.map(i64::from), "spec.completions", errs);
        nonnegative(
            spec.active_deadline_seconds,
            "spec.activeDeadlineSeconds",
            errs,
        );
        nonnegative(spec.backoff_limit.map(i64::from), "spec.backoffLimit", errs);
        nonnegative(
            spec.ttl_seconds_after_finished.map(i64::from),
            "spec.ttlSecondsAfterFinished",
            errs,
        );
        match spec.completion_mode.as_deref().unwrap_or("") {
            "NonIndexed" | "Indexed" => {}
            other => errs.push(Cause::not_supported(
                "spec.completionMode",
                &Value::from(other),
                &["NonIndexed", "Indexed"],
            )),
        }
        if spec.completion_mode.as_deref() == Some("Indexed") && spec.completions.is_none() {
            errs.push(Cause::required(
                "spec.completions",
                "when completion mode is Indexed",
            ));
        }
        match &spec.selector {
            None => errs.push(Cause::required("spec.selector", "")),
            Some(sel) => {
                validate_label_selector(sel, "spec.selector", errs);
                let labels = template_labels(&spec.template);
                if !selector_matches(sel, labels) {
                    errs.push(invalid_shown(
                        "spec.template.metadata.labels",
                        &go_string_map(labels),
                        SELECTOR_MISMATCH,
                    ));
                }
                if spec.manual_selector != Some(true) && labels.is_some() {
                    validate_generated_selector(job, sel, errs);
                }
            }
        }
        validate_template(&spec.template, "spec.template", errs);
        let rp = restart_policy(&spec.template);
        if rp != "OnFailure" && rp != "Never" {
            errs.push(Cause::not_supported(
                "spec.template.spec.restartPolicy",
                &Value::from(rp),
                &["OnFailure", "Never"],
            ));
        }
    }

    /// Selector and template are immutable; upstream relaxes this for suspended jobs that never
    /// started (node affinity, tolerations, labels, …), which is not modelled here.
    fn validate_update(new: &Job, old: &Job, errs: &mut Vec<Cause>) {
        let (Some(ns), Some(os)) = (&new.spec, &old.spec) else {
            return;
        };
        immutable_selector(ns.selector.as_ref(), os.selector.as_ref(), errs);
        if ns.template != os.template {
            let shown = serde_json::to_value(&ns.template).unwrap_or(Value::Null);
            errs.push(Cause::invalid("spec.template", &shown, FIELD_IMMUTABLE));
        }
        if ns.completions != os.completions && ns.completion_mode.as_deref() != Some("Indexed") {
            errs.push(Cause::invalid(
                "spec.completions",
                &serde_json::to_value(ns.completions).unwrap_or(Value::Null),
                FIELD_IMMUTABLE,
            ));
        }
        if ns.completion_mode != os.completion_mode {
            errs.push(Cause::invalid(
                "spec.completionMode",
                &Value::from(ns.completion_mode.clone().unwrap_or_default()),
                FIELD_IMMUTABLE,
            ));
        }
    }

    fn validate_status_update(_new: &Job, _old: &Job, _errs: &mut Vec<Cause>) {}
}

/// `validateGeneratedSelector`: a generated selector must carry the job's uid and name labels.
fn validate_generated_selector(job: &Job, sel: &LabelSelector, errs: &mut Vec<Cause>) {
    let uid = job.metadata.uid.as_deref().unwrap_or("");
    let name = job.metadata.name.as_deref().unwrap_or("");
    if uid.is_empty() {
        errs.push(Cause::required("metadata.uid", ""));
    }
    let labels = job.spec.as_ref().and_then(|s| template_labels(&s.template));
    for (key, want) in [
        (LEGACY_CONTROLLER_UID, uid),
        (LEGACY_JOB_NAME, name),
        (CONTROLLER_UID, uid),
        (JOB_NAME, name),
    ] {
        match labels.and_then(|l| l.get(key)) {
            None => errs.push(Cause::required(
                format!("spec.template.metadata.labels[{key}]"),
                "",
            )),
            Some(v) if v != want => errs.push(Cause::invalid(
                format!("spec.template.metadata.labels[{key}]"),
                &Value::from(v.as_str()),
                &format!("must be '{want}'"),
            )),
            Some(_) => {}
        }
    }
    let expected: BTreeMap<String, String> = [(CONTROLLER_UID.to_string(), uid.to_string())].into();
    if !selector_matches(sel, Some(&expected)) {
        errs.push(invalid_shown(
            "spec.selector",
            &selector_string(sel),
            "`selector` not auto-generated",
        ));
    }
}
