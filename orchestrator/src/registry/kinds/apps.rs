//! apps/v1 Deployment, ReplicaSet and DaemonSet: upstream's `SetDefaults_*`, apps validation,
//! and their strategies (empty status on create, generation tracking, immutable selectors).

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy, ReplicaSet,
    RollingUpdateDaemonSet, RollingUpdateDeployment,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::Kind;
use super::template::{
    ReplicaCounts, canonical_template, default_template, immutable_selector, rolling_update,
    validate_replica_counts, validate_selected_template,
};
use crate::error::Cause;
use crate::registry::validation::nonnegative;

/// Deployments.
pub(crate) struct DeploymentKind;
/// ReplicaSets.
pub(crate) struct ReplicaSetKind;
/// DaemonSets.
pub(crate) struct DaemonSetKind;

impl Kind for DeploymentKind {
    type Object = Deployment;
    const TRACKS_GENERATION: bool = true;

    fn canonicalize(d: &mut Deployment) -> Result<(), &'static str> {
        canonical_template(Some(&mut d.spec.template))
    }

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

    fn validate_status_update(new: &Deployment, _old: &Deployment, errs: &mut Vec<Cause>) {
        let s = new.status.clone().unwrap_or_default();
        let counts = ReplicaCounts {
            replicas: s.replicas.unwrap_or(0),
            subset: Some(("updatedReplicas", s.updated_replicas.unwrap_or(0))),
            ready: s.ready_replicas.unwrap_or(0),
            available: s.available_replicas.unwrap_or(0),
            observed_generation: s.observed_generation.unwrap_or(0),
        };
        validate_replica_counts(&counts, errs);
        nonnegative(
            s.unavailable_replicas.map(i64::from),
            "status.unavailableReplicas",
            errs,
        );
        nonnegative(
            s.collision_count.map(i64::from),
            "status.collisionCount",
            errs,
        );
    }
}

impl Kind for ReplicaSetKind {
    type Object = ReplicaSet;
    const TRACKS_GENERATION: bool = true;

    fn canonicalize(rs: &mut ReplicaSet) -> Result<(), &'static str> {
        canonical_template(rs.spec.template.as_mut())
    }

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

    fn validate_status_update(new: &ReplicaSet, _old: &ReplicaSet, errs: &mut Vec<Cause>) {
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

impl Kind for DaemonSetKind {
    type Object = DaemonSet;
    const TRACKS_GENERATION: bool = true;

    fn canonicalize(ds: &mut DaemonSet) -> Result<(), &'static str> {
        canonical_template(Some(&mut ds.spec.template))
    }

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

    /// Empty status, and template generation 1 (upstream's internal `spec.templateGeneration`,
    /// which apps/v1 carries in an annotation).
    fn prepare_create(ds: &mut DaemonSet) {
        ds.status = Some(Default::default());
        set_template_generation(ds, 1);
    }

    /// The template generation is the server's: the old one, plus one when the template changed.
    fn prepare_update(new: &mut DaemonSet, old: &DaemonSet) {
        new.status.clone_from(&old.status);
        let generation = template_generation(old);
        let bump = i64::from(new.spec.template != old.spec.template);
        set_template_generation(new, generation + bump);
    }

    fn prepare_status_update(new: &mut DaemonSet, old: &DaemonSet) {
        new.spec.clone_from(&old.spec);
        set_template_generation(new, template_generation(old));
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

    /// `ValidateDaemonSetStatus`: every count is non-negative.
    fn validate_status_update(new: &DaemonSet, _old: &DaemonSet, errs: &mut Vec<Cause>) {
        let s = new.status.clone().unwrap_or_default();
        for (field, v) in [
            ("currentNumberScheduled", Some(s.current_number_scheduled)),
            ("numberMisscheduled", Some(s.number_misscheduled)),
            ("desiredNumberScheduled", Some(s.desired_number_scheduled)),
            ("numberReady", Some(s.number_ready)),
            ("updatedNumberScheduled", s.updated_number_scheduled),
            ("numberAvailable", s.number_available),
            ("numberUnavailable", s.number_unavailable),
            ("collisionCount", s.collision_count),
        ] {
            nonnegative(v.map(i64::from), &format!("status.{field}"), errs);
        }
        nonnegative(s.observed_generation, "status.observedGeneration", errs);
    }
}

/// The annotation apps/v1 DaemonSets carry their template generation in (upstream
/// `appsv1.DeprecatedTemplateGeneration`).
pub(crate) const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// A DaemonSet's template generation (0 when absent or not a number, as upstream's conversion).
fn template_generation(ds: &DaemonSet) -> i64 {
    ds.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(TEMPLATE_GENERATION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn set_template_generation(ds: &mut DaemonSet, generation: i64) {
    ds.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(TEMPLATE_GENERATION.into(), generation.to_string());
}

#[cfg(test)]
mod tests {
    use super::super::template::test_template as template;
    use super::super::test_support::{causes, create, update};
    use rstest::rstest;
    use serde_json::{Value, json};

    fn deployment(spec: Value) -> Value {
        let mut s = json!({"selector": {"matchLabels": {"app": "x"}}, "template": template(json!({"app": "x"}), None)});
        for (k, v) in spec.as_object().unwrap() {
            s[k] = v.clone();
        }
        json!({"metadata": {"name": "d", "namespace": "default"}, "spec": s})
    }

    #[test]
    fn deployment_defaults() {
        let out = create("deployments.apps", deployment(json!({}))).unwrap();
        let spec = &out["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
        assert_eq!(
            spec["template"]["spec"]["containers"][0]["terminationMessagePolicy"],
            "File"
        );
        // pod-only defaults stay off templates
        assert!(spec["template"]["spec"].get("enableServiceLinks").is_none());
        assert_eq!(out["status"], json!({}));
        assert_eq!(out["metadata"]["generation"], 1);
    }

    #[rstest]
    #[case(json!({"template": template(json!({"app": "y"}), None)}),
        "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`")]
    #[case(json!({"replicas": -1}), "spec.replicas: Invalid value: -1: must be greater than or equal to 0")]
    #[case(json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}}),
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0")]
    #[case(json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "110%"}}}),
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 110%: must not be greater than 100%")]
    #[case(json!({"template": template(json!({"app": "x"}), Some("Never"))}),
        "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"")]
    #[case(json!({"selector": {}}),
        "spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}: empty selector is invalid for deployment")]
    #[case(json!({"progressDeadlineSeconds": 5, "minReadySeconds": 10}),
        "spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds")]
    fn invalid_deployments(#[case] spec: Value, #[case] want: &str) {
        let err = create("deployments.apps", deployment(spec)).unwrap_err();
        assert_eq!(
            err.message.split(':').next().unwrap(),
            "Deployment.apps \"d\" is invalid"
        );
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    #[test]
    fn deployment_selector_is_immutable_and_spec_changes_bump_generation() {
        let old = create("deployments.apps", deployment(json!({}))).unwrap();
        let mut scaled = old.clone();
        scaled["spec"]["replicas"] = json!(3);
        scaled["status"] = json!({"replicas": 9});
        let out = update("deployments.apps", scaled, &old).unwrap();
        assert_eq!(out["metadata"]["generation"], 2);
        assert_eq!(out["status"], json!({}));
        let same = update("deployments.apps", old.clone(), &old).unwrap();
        assert_eq!(same["metadata"]["generation"], 1);
        let mut moved = old.clone();
        moved["spec"]["selector"] = json!({"matchLabels": {"app": "x", "tier": "web"}});
        moved["spec"]["template"]["metadata"]["labels"] = json!({"app": "x", "tier": "web"});
        let err = update("deployments.apps", moved, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{app: x,tier: web,},MatchExpressions:[]LabelSelectorRequirement{},}: field is immutable"
            ]
        );
    }

    #[test]
    fn status_writes_check_replica_counts() {
        use super::super::test_support::update_target;
        use crate::registry::UpdateTarget;
        let old = create("deployments.apps", deployment(json!({}))).unwrap();
        let mut new = old.clone();
        new["status"] = json!({"replicas": 1, "readyReplicas": 2, "availableReplicas": 3});
        let err = update_target("deployments.apps", new, &old, UpdateTarget::Status).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
                "status.availableReplicas: Invalid value: 3: cannot be greater than status.replicas",
                "status.availableReplicas: Invalid value: 3: cannot be greater than readyReplicas",
            ]
        );
        let mut ok = old.clone();
        ok["status"] = json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "observedGeneration": 1});
        ok["spec"]["replicas"] = json!(5);
        let out = update_target("deployments.apps", ok, &old, UpdateTarget::Status).unwrap();
        assert_eq!(out["spec"]["replicas"], 1);
        assert_eq!(out["status"]["readyReplicas"], 1);
    }

    #[rstest]
    #[case("daemonsets.apps", json!({"selector": {}, "template": template(json!({"app": "x"}), None)}),
        "spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}: empty selector is invalid for daemonset")]
    #[case("daemonsets.apps", json!({"selector": {"matchLabels": {"app": "x"}}, "template": template(json!({"app": "x", "bad key": "v"}), None)}),
        "spec.template.metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")]
    #[case("replicasets.apps", json!({"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}, "template": template(json!({"app": "x"}), None)}),
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'")]
    #[case("replicasets.apps", json!({"selector": {"matchLabels": {"app": "x"}}, "replicas": -1, "template": template(json!({"app": "x"}), None)}),
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0")]
    fn invalid_replica_sets_and_daemon_sets(
        #[case] key: &str,
        #[case] spec: Value,
        #[case] want: &str,
    ) {
        let err = create(
            key,
            json!({"metadata": {"name": "w", "namespace": "default"}, "spec": spec}),
        )
        .unwrap_err();
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    #[test]
    fn replica_set_and_daemon_set_defaults() {
        let rs = json!({"metadata": {"name": "rs", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template(json!({"app": "x"}), None)}});
        let out = create("replicasets.apps", rs).unwrap();
        assert_eq!(out["spec"]["replicas"], 1);
        assert_eq!(out["status"], json!({"replicas": 0}));
        let ds = json!({"metadata": {"name": "ds", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template(json!({"app": "x"}), None)}});
        let out = create("daemonsets.apps", ds).unwrap();
        assert_eq!(
            out["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(out["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(
            out["metadata"]["annotations"]["deprecated.daemonset.template.generation"],
            "1"
        );
    }

    #[test]
    fn daemon_set_template_generation_counts_template_changes_only() {
        let ds = json!({"metadata": {"name": "ds", "namespace": "default",
                "annotations": {"deprecated.daemonset.template.generation": "7"}},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template(json!({"app": "x"}), None)}});
        let v1 = create("daemonsets.apps", ds).unwrap();
        let generation = |o: &Value| {
            o["metadata"]["annotations"]["deprecated.daemonset.template.generation"].clone()
        };
        assert_eq!(generation(&v1), "1", "the server sets it on create");
        let mut tuned = v1.clone();
        tuned["spec"]["minReadySeconds"] = json!(5);
        tuned["metadata"]["annotations"]["deprecated.daemonset.template.generation"] = json!("9");
        let v2 = update("daemonsets.apps", tuned, &v1).unwrap();
        assert_eq!(
            (generation(&v2), v2["metadata"]["generation"].clone()),
            (json!("1"), json!(2))
        );
        let mut retemplated = v2.clone();
        retemplated["spec"]["template"]["spec"]["containers"][0]["image"] = json!("new");
        let v3 = update("daemonsets.apps", retemplated, &v2).unwrap();
        assert_eq!(
            (generation(&v3), v3["metadata"]["generation"].clone()),
            (json!("2"), json!(3))
        );
    }
}
