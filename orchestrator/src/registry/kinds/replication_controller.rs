//! ReplicationControllers (v1): selector and labels defaulted from the template, the RC
//! variant of the selector/template rules, and the usual workload strategy.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ReplicationController;

use super::Kind;
use super::template::{
    ReplicaCounts, SELECTOR_MISMATCH, always_restart, canonical_template, default_template,
    template_labels, validate_replica_counts, validate_template,
};
use crate::error::Cause;
use crate::registry::validation::{go_string_map, invalid_shown, nonnegative, validate_labels};

/// ReplicationControllers.
pub(crate) struct ReplicationControllerKind;

impl Kind for ReplicationControllerKind {
    type Object = ReplicationController;
    const TRACKS_GENERATION: bool = true;

    /// `SetDefaults_ReplicationController`: selector and object labels from the template's.
    fn canonicalize(rc: &mut ReplicationController) -> Result<(), &'static str> {
        canonical_template(rc.spec.as_mut().and_then(|s| s.template.as_mut()))
    }

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
        new: &ReplicationController,
        _old: &ReplicationController,
        errs: &mut Vec<Cause>,
    ) {
        let s = new.status.clone().unwrap_or_default();
        let counts = ReplicaCounts {
            replicas: s.replicas,
            subset: Some((
                "fullyLabeledReplicas",
                s.fully_labeled_replicas.unwrap_or(0),
            )),
            ready: s.ready_replicas.unwrap_or(0),
            available: s.available_replicas.unwrap_or(0),
            observed_generation: s.observed_generation.unwrap_or(0),
        };
        validate_replica_counts(&counts, errs);
    }
}

#[cfg(test)]
mod tests {
    use super::super::template::test_template as template;
    use super::super::test_support::{causes, create};
    use serde_json::json;

    #[test]
    fn replication_controller_defaults_selector_and_labels_from_template() {
        let rc = json!({"metadata": {"name": "rc", "namespace": "default"}, "spec": {"template": template(json!({"app": "x"}), None)}});
        let out = create("replicationcontrollers", rc).unwrap();
        assert_eq!(out["spec"]["selector"], json!({"app": "x"}));
        assert_eq!(out["metadata"]["labels"], json!({"app": "x"}));
        assert_eq!(out["spec"]["replicas"], 1);
        assert_eq!(out["status"], json!({"replicas": 0}));
    }

    #[test]
    fn replication_controller_selector_must_match() {
        let rc = json!({"metadata": {"name": "rc", "namespace": "default"},
            "spec": {"selector": {"app": "y"}, "template": template(json!({"app": "x"}), None)}});
        let err = create("replicationcontrollers", rc).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"
            ]
        );
    }
}
