//! batch/v1 Jobs: upstream's `SetDefaults_Job`, the generated selector and labels, `ValidateJob`,
//! and what an update may not change.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use super::Kind;
use super::template::{
    SELECTOR_MISMATCH, canonical_template, default_template, immutable_selector, restart_policy,
    selector_string, template_labels, validate_template,
};
use crate::error::Cause;
use crate::registry::validation::{
    FIELD_IMMUTABLE, go_string_map, invalid_shown, nonnegative, selector_matches,
    validate_label_selector,
};

/// Jobs.
pub(crate) struct JobKind;

const LEGACY_JOB_NAME: &str = "job-name";
const JOB_NAME: &str = "batch.kubernetes.io/job-name";
const LEGACY_CONTROLLER_UID: &str = "controller-uid";
const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";

impl Kind for JobKind {
    type Object = Job;
    const TRACKS_GENERATION: bool = true;

    fn canonicalize(job: &mut Job) -> Result<(), &'static str> {
        canonical_template(job.spec.as_mut().map(|s| &mut s.template))
    }

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

    /// The counting part of `ValidateJobStatusUpdate` (its many completion-state rules are not
    /// modelled).
    fn validate_status_update(new: &Job, _old: &Job, errs: &mut Vec<Cause>) {
        let s = new.status.clone().unwrap_or_default();
        for (field, v) in [
            ("active", s.active),
            ("succeeded", s.succeeded),
            ("failed", s.failed),
            ("ready", s.ready),
            ("terminating", s.terminating),
        ] {
            nonnegative(v.map(i64::from), &format!("status.{field}"), errs);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::super::template::test_template as template;
    use super::super::test_support::{causes, create, update};
    use rstest::rstest;
    use serde_json::{Value, json};

    fn job(spec: Value) -> Value {
        let mut s = json!({"template": template(json!({"app": "j"}), Some("Never"))});
        for (k, v) in spec.as_object().unwrap() {
            s[k] = v.clone();
        }
        json!({"metadata": {"name": "j", "namespace": "default", "uid": "u-1"}, "spec": s})
    }

    #[test]
    fn job_defaults_and_generated_selector() {
        let out = create("jobs.batch", job(json!({}))).unwrap();
        let spec = &out["spec"];
        assert_eq!(spec["completions"], 1);
        assert_eq!(spec["parallelism"], 1);
        assert_eq!(spec["backoffLimit"], 6);
        assert_eq!(spec["completionMode"], "NonIndexed");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["manualSelector"], false);
        assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        assert_eq!(
            spec["template"]["metadata"]["labels"],
            json!({"app": "j", "batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "j",
                   "controller-uid": "u-1", "job-name": "j"})
        );
        assert_eq!(out["metadata"]["labels"], json!({"app": "j"}));
    }

    #[rstest]
    #[case(json!({"template": template(json!({}), None)}),
        "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"")]
    #[case(json!({"backoffLimit": -1}), "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0")]
    #[case(json!({"parallelism": -2}), "spec.parallelism: Invalid value: -2: must be greater than or equal to 0")]
    #[case(json!({"manualSelector": true}), "spec.selector: Required value")]
    fn invalid_jobs(#[case] spec: Value, #[case] want: &str) {
        let err = create("jobs.batch", job(spec)).unwrap_err();
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    #[test]
    fn job_template_is_immutable() {
        let old = create("jobs.batch", job(json!({}))).unwrap();
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("other");
        let err = update("jobs.batch", new, &old).unwrap_err();
        assert_eq!(err.causes[0].field, "spec.template");
        assert!(err.causes[0].message.ends_with(": field is immutable"));
    }
}
