//! Policy kinds: ResourceQuota and LimitRange (v1) and PriorityClass (scheduling.k8s.io/v1) —
//! upstream's `ValidateResourceQuota`, `SetDefaults_LimitRangeItem`/`ValidateLimitRange` and
//! `ValidatePriorityClass`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem, ResourceQuota};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;
use serde_json::Value;

use super::Kind;
use super::resource_lists::{
    canonicalize_list, container_resource_name, overcommit_allowed, parse_quantity,
    quota_resource_name, resource_name, resource_quantity,
};
use crate::admission::quantity::Quantity;
use crate::error::Cause;
use crate::registry::validation::{FIELD_IMMUTABLE, invalid_shown};

/// ResourceQuotas.
pub(crate) struct ResourceQuotaKind;
/// LimitRanges.
pub(crate) struct LimitRangeKind;
/// PriorityClasses.
pub(crate) struct PriorityClassKind;

type ResourceList = BTreeMap<String, Q>;

fn quota_list(list: Option<&ResourceList>, path: &str, errs: &mut Vec<Cause>) {
    for (k, v) in list.into_iter().flatten() {
        let p = format!("{path}[{k}]");
        quota_resource_name(k, &p, errs);
        resource_quantity(k, v, &p, errs);
    }
}

const QUOTA_SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];

impl Kind for ResourceQuotaKind {
    type Object = ResourceQuota;

    fn canonicalize(q: &mut ResourceQuota) -> Result<(), &'static str> {
        canonicalize_list(q.spec.as_mut().and_then(|s| s.hard.as_mut()))?;
        let status = q.status.as_mut();
        let (hard, used) = match status {
            Some(s) => (s.hard.as_mut(), s.used.as_mut()),
            None => (None, None),
        };
        canonicalize_list(hard)?;
        canonicalize_list(used)
    }

    fn default(q: &mut ResourceQuota) {
        q.spec.get_or_insert_with(Default::default);
    }

    fn prepare_create(q: &mut ResourceQuota) {
        q.status = Some(Default::default());
    }

    fn prepare_update(new: &mut ResourceQuota, old: &ResourceQuota) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut ResourceQuota, old: &ResourceQuota) {
        new.spec.clone_from(&old.spec);
    }

    fn validate(q: &ResourceQuota, errs: &mut Vec<Cause>) {
        let Some(spec) = &q.spec else { return };
        quota_list(spec.hard.as_ref(), "spec.hard", errs);
        for (i, scope) in spec.scopes.iter().flatten().enumerate() {
            if !QUOTA_SCOPES.contains(&scope.as_str()) {
                errs.push(Cause::invalid(
                    format!("spec.scopes[{i}]"),
                    &Value::from(scope.as_str()),
                    "unsupported scope",
                ));
            }
        }
    }

    fn validate_update(new: &ResourceQuota, old: &ResourceQuota, errs: &mut Vec<Cause>) {
        let scopes = |q: &ResourceQuota| -> BTreeSet<String> {
            q.spec
                .iter()
                .flat_map(|s| s.scopes.iter().flatten().cloned())
                .collect()
        };
        if scopes(new) != scopes(old) {
            let list: Vec<String> = new
                .spec
                .iter()
                .flat_map(|s| s.scopes.iter().flatten())
                .map(|s| format!("{s:?}"))
                .collect();
            errs.push(invalid_shown(
                "spec.scopes",
                &format!("[]core.ResourceQuotaScope{{{}}}", list.join(", ")),
                FIELD_IMMUTABLE,
            ));
        }
    }

    fn validate_status_update(new: &ResourceQuota, _old: &ResourceQuota, errs: &mut Vec<Cause>) {
        let status = new.status.as_ref();
        quota_list(status.and_then(|s| s.hard.as_ref()), "status.hard", errs);
        quota_list(status.and_then(|s| s.used.as_ref()), "status.used", errs);
    }
}

/// `SetDefaults_LimitRangeItem`: for containers, default limits from max, default requests from
/// default limits, then from min.
fn default_limit_item(item: &mut LimitRangeItem) {
    if item.type_ != "Container" {
        return;
    }
    let mut default = item.default.take().unwrap_or_default();
    let mut default_request = item.default_request.take().unwrap_or_default();
    for (k, v) in item.max.iter().flatten() {
        default.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &default {
        default_request
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    for (k, v) in item.min.iter().flatten() {
        default_request
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    item.default = (!default.is_empty()).then_some(default);
    item.default_request = (!default_request.is_empty()).then_some(default_request);
}

const LIMIT_TYPES: &[&str] = &["Pod", "Container", "PersistentVolumeClaim"];

impl Kind for LimitRangeKind {
    type Object = LimitRange;

    fn canonicalize(lr: &mut LimitRange) -> Result<(), &'static str> {
        for item in lr.spec.iter_mut().flat_map(|s| s.limits.iter_mut()) {
            canonicalize_list(item.max.as_mut())?;
            canonicalize_list(item.min.as_mut())?;
            canonicalize_list(item.default.as_mut())?;
            canonicalize_list(item.default_request.as_mut())?;
            canonicalize_list(item.max_limit_request_ratio.as_mut())?;
        }
        Ok(())
    }

    fn default(lr: &mut LimitRange) {
        for item in lr.spec.iter_mut().flat_map(|s| s.limits.iter_mut()) {
            default_limit_item(item);
        }
    }

    /// `ValidateLimitRange`.
    fn validate(lr: &LimitRange, errs: &mut Vec<Cause>) {
        let mut types = BTreeSet::new();
        for (i, item) in lr.spec.iter().flat_map(|s| s.limits.iter()).enumerate() {
            let p = format!("spec.limits[{i}]");
            let ty = item.type_.as_str();
            if resource_name_ok(ty) && !ty.contains('/') && !LIMIT_TYPES.contains(&ty) {
                errs.push(Cause::invalid(
                    format!("{p}.type"),
                    &Value::from(ty),
                    "must be a standard limit type or fully qualified",
                ));
            }
            if !types.insert(ty) {
                errs.push(Cause::duplicate(format!("{p}.type"), &Value::from(ty)));
            }
            let mut keys = BTreeSet::new();
            let mut collect = |field: &str,
                               list: Option<&ResourceList>,
                               errs: &mut Vec<Cause>|
             -> BTreeMap<String, Quantity> {
                let mut out = BTreeMap::new();
                for (k, q) in list.into_iter().flatten() {
                    let kp = format!("{p}.{field}[{k}]");
                    if matches!(ty, "Pod" | "Container") {
                        container_resource_name(k, &kp, errs);
                    } else {
                        resource_name(k, &kp, errs);
                    }
                    keys.insert(k.clone());
                    if let Some(v) = parse_quantity(q, &kp, errs) {
                        out.insert(k.clone(), v);
                    }
                }
                out
            };
            let max = collect("max", item.max.as_ref(), errs);
            let min = collect("min", item.min.as_ref(), errs);
            let (default, default_request) = if ty == "Pod" {
                if item.default.as_ref().is_some_and(|d| !d.is_empty()) {
                    errs.push(Cause::forbidden(
                        format!("{p}.default"),
                        "may not be specified when `type` is 'Pod'",
                    ));
                }
                if item.default_request.as_ref().is_some_and(|d| !d.is_empty()) {
                    errs.push(Cause::forbidden(
                        format!("{p}.defaultRequest"),
                        "may not be specified when `type` is 'Pod'",
                    ));
                }
                (BTreeMap::new(), BTreeMap::new())
            } else {
                (
                    collect("default", item.default.as_ref(), errs),
                    collect("defaultRequest", item.default_request.as_ref(), errs),
                )
            };
            if ty == "PersistentVolumeClaim"
                && !min.contains_key("storage")
                && !max.contains_key("storage")
            {
                errs.push(Cause::required(
                    format!("{p}.limits"),
                    "either minimum or maximum storage value is required, but neither was provided",
                ));
            }
            let ratio = collect(
                "maxLimitRequestRatio",
                item.max_limit_request_ratio.as_ref(),
                errs,
            );
            for k in &keys {
                let (mn, mx, df, dr, ra) = (
                    min.get(k),
                    max.get(k),
                    default.get(k),
                    default_request.get(k),
                    ratio.get(k),
                );
                let key = |field: &str| format!("{p}.{field}[{k}]");
                if let (Some(mn), Some(mx)) = (mn, mx)
                    && mn > mx
                {
                    errs.push(invalid_shown(
                        key("min"),
                        &mn.to_string(),
                        &format!("min value {mn} is greater than max value {mx}"),
                    ));
                }
                if let (Some(dr), Some(mn)) = (dr, mn)
                    && mn > dr
                {
                    errs.push(invalid_shown(
                        key("defaultRequest"),
                        &dr.to_string(),
                        &format!("min value {mn} is greater than default request value {dr}"),
                    ));
                }
                if let (Some(dr), Some(mx)) = (dr, mx)
                    && dr > mx
                {
                    errs.push(invalid_shown(
                        key("defaultRequest"),
                        &dr.to_string(),
                        &format!("default request value {dr} is greater than max value {mx}"),
                    ));
                }
                if let (Some(dr), Some(df)) = (dr, df)
                    && dr > df
                {
                    errs.push(invalid_shown(
                        key("defaultRequest"),
                        &dr.to_string(),
                        &format!(
                            "default request value {dr} is greater than default limit value {df}"
                        ),
                    ));
                }
                if let (Some(df), Some(mn)) = (df, mn)
                    && mn > df
                {
                    errs.push(invalid_shown(
                        key("default"),
                        &mn.to_string(),
                        &format!("min value {mn} is greater than default value {df}"),
                    ));
                }
                if let (Some(df), Some(mx)) = (df, mx)
                    && df > mx
                {
                    errs.push(invalid_shown(
                        key("default"),
                        &mx.to_string(),
                        &format!("default value {df} is greater than max value {mx}"),
                    ));
                }
                if let Some(ra) = ra {
                    if ra.nanos() < 1_000_000_000 {
                        errs.push(invalid_shown(
                            key("maxLimitRequestRatio"),
                            &ra.to_string(),
                            &format!("ratio {ra} is less than 1"),
                        ));
                    }
                    if let (Some(mn), Some(mx)) = (mn, mx) {
                        let limit = mx.milli_value() as f64 / mn.milli_value() as f64;
                        let value = ra.milli_value() as f64 / 1000.0;
                        if value > limit {
                            errs.push(invalid_shown(
                                key("maxLimitRequestRatio"),
                                &ra.to_string(),
                                &format!("ratio {ra} is greater than max/min = {limit:.6}"),
                            ));
                        }
                    }
                }
                if let (Some(df), Some(dr)) = (df, dr)
                    && !overcommit_allowed(k)
                    && df != dr
                {
                    errs.push(invalid_shown(
                        key("defaultRequest"),
                        &dr.to_string(),
                        &format!(
                            "default value {df} must equal to defaultRequest value {dr} in {k}"
                        ),
                    ));
                }
            }
        }
    }
}

fn resource_name_ok(name: &str) -> bool {
    crate::registry::validation::names::qualified_name(name).is_empty()
}

const HIGHEST_USER_PRIORITY: i32 = 1_000_000_000;
const SYSTEM_CLASSES: &[(&str, i32)] = &[
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

impl Kind for PriorityClassKind {
    type Object = PriorityClass;

    fn default(pc: &mut PriorityClass) {
        if pc.preemption_policy.as_deref().is_none_or(str::is_empty) {
            pc.preemption_policy = Some("PreemptLowerPriority".into());
        }
    }

    /// `ValidatePriorityClass`.
    fn validate(pc: &PriorityClass, errs: &mut Vec<Cause>) {
        let name = pc.metadata.name.as_deref().unwrap_or("");
        let global_default = pc.global_default.unwrap_or(false);
        if name.starts_with("system-") {
            let problem = match SYSTEM_CLASSES.iter().find(|(n, _)| *n == name) {
                None => Some(format!("{name} is not a known system priority class")),
                Some((n, v)) if *v != pc.value.unwrap_or(0) => {
                    Some(format!("value of {n} PriorityClass must be {v}"))
                }
                Some((n, _)) if global_default => {
                    Some(format!("globalDefault of {n} PriorityClass must be false"))
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                errs.push(Cause::forbidden(
                    "metadata.name",
                    &format!("priority class names with 'system-' prefix are reserved for system use only. error: {problem}"),
                ));
            }
        } else if pc.value.unwrap_or(0) > HIGHEST_USER_PRIORITY {
            errs.push(Cause::forbidden(
                "value",
                &format!(
                    "maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"
                ),
            ));
        }
        if let Some(p) = pc.preemption_policy.as_deref()
            && p != "PreemptLowerPriority"
            && p != "Never"
        {
            errs.push(Cause::not_supported(
                "preemptionPolicy",
                &Value::from(p),
                &["PreemptLowerPriority", "Never"],
            ));
        }
    }

    /// `ValidatePriorityClassUpdate`: value and preemption policy are fixed.
    fn validate_update(new: &PriorityClass, old: &PriorityClass, errs: &mut Vec<Cause>) {
        if new.value != old.value {
            errs.push(Cause::forbidden(
                "value",
                "may not be changed in an update.",
            ));
        }
        if new.preemption_policy != old.preemption_policy {
            errs.push(Cause::invalid(
                "preemptionPolicy",
                &Value::from(new.preemption_policy.clone().unwrap_or_default()),
                FIELD_IMMUTABLE,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use rstest::rstest;
    use serde_json::{Value, json};

    fn quota(hard: Value) -> Value {
        json!({"metadata": {"name": "q", "namespace": "default"}, "spec": {"hard": hard}})
    }

    #[test]
    fn quota_starts_with_empty_status() {
        let out = create(
            "resourcequotas",
            quota(json!({"pods": "10", "requests.cpu": "2"})),
        )
        .unwrap();
        assert_eq!(out["status"], json!({}));
    }

    #[rstest]
    #[case(json!({"widgets": "1"}), "spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource for quota")]
    #[case(json!({"pods": "1.5"}), "spec.hard[pods]: Invalid value: 1500m: must be an integer")]
    #[case(json!({"cpu": "-1"}), "spec.hard[cpu]: Invalid value: \"-1\": must be greater than or equal to 0")]
    fn invalid_quotas(#[case] hard: Value, #[case] want: &str) {
        let err = create("resourcequotas", quota(hard)).unwrap_err();
        assert_eq!(causes(&err), vec![want]);
    }

    fn limits(item: Value) -> Value {
        json!({"metadata": {"name": "l", "namespace": "default"}, "spec": {"limits": [item]}})
    }

    #[test]
    fn container_limit_defaults_flow_from_max_and_min() {
        let out = create(
            "limitranges",
            limits(json!({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}})),
        )
        .unwrap();
        let item = &out["spec"]["limits"][0];
        assert_eq!(item["default"], json!({"cpu": "2"}));
        assert_eq!(
            item["defaultRequest"],
            json!({"cpu": "2", "memory": "64Mi"})
        );
    }

    #[rstest]
    #[case(json!({"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}),
        "spec.limits[0].min[cpu]: Invalid value: 2: min value 2 is greater than max value 1")]
    #[case(json!({"type": "Container", "default": {"cpu": "3"}, "defaultRequest": {"cpu": "1"}, "max": {"cpu": "2"}}),
        "spec.limits[0].default[cpu]: Invalid value: 2: default value 3 is greater than max value 2")]
    #[case(json!({"type": "Pod", "default": {"cpu": "1"}}), "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'")]
    #[case(json!({"type": "Node"}), "spec.limits[0].type: Invalid value: \"Node\": must be a standard limit type or fully qualified")]
    #[case(json!({"type": "PersistentVolumeClaim"}),
        "spec.limits[0].limits: Required value: either minimum or maximum storage value is required, but neither was provided")]
    fn invalid_limit_ranges(#[case] item: Value, #[case] want: &str) {
        let err = create("limitranges", limits(item)).unwrap_err();
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    fn pc(name: &str, value: i64) -> Value {
        json!({"metadata": {"name": name}, "value": value})
    }

    #[test]
    fn priority_classes_default_preemption_and_fix_their_value() {
        let old = create("priorityclasses.scheduling.k8s.io", pc("high", 1000)).unwrap();
        assert_eq!(old["preemptionPolicy"], "PreemptLowerPriority");
        let err = update("priorityclasses.scheduling.k8s.io", pc("high", 2000), &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec!["value: Forbidden: may not be changed in an update."]
        );
    }

    #[rstest]
    #[case(
        pc("system-mine", 1),
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"
    )]
    #[case(
        pc("huge", 2_000_000_000),
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
    )]
    fn reserved_priority_classes(#[case] obj: Value, #[case] want: &str) {
        let err = create("priorityclasses.scheduling.k8s.io", obj).unwrap_err();
        assert_eq!(causes(&err), vec![want]);
    }

    #[test]
    fn built_in_system_classes_are_accepted() {
        assert!(
            create(
                "priorityclasses.scheduling.k8s.io",
                pc("system-node-critical", 2_000_001_000)
            )
            .is_ok()
        );
    }
}
