//! `metadata` rules, as upstream's `apimachinery/pkg/api/validation/objectmeta.go` and
//! `apimachinery/pkg/apis/meta/v1/validation`: names, namespace, labels, annotations,
//! finalizers, owner references, and what an update may not change; plus label selectors.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::Value;

use super::names::{NameRule, dns1123_label, label_value, qualified_name};
use crate::error::{Cause, CauseKind};

/// Upstream's `TotalAnnotationSizeLimitB`.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Upstream's `FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";

/// `field.TooLong` as this upstream version renders it: `Too long: must have at most N bytes`.
pub fn too_long(field: impl Into<String>, max: usize) -> Cause {
    Cause {
        kind: CauseKind::TooLong,
        field: field.into(),
        message: format!("Too long: must have at most {max} bytes"),
    }
}

/// `field.Invalid` whose value upstream prints with `%v`/`%#v` rather than as a JSON scalar:
/// `shown` is the value already rendered.
pub fn invalid_shown(field: impl Into<String>, shown: &str, detail: &str) -> Cause {
    Cause {
        kind: CauseKind::Invalid,
        field: field.into(),
        message: format!("Invalid value: {shown}: {detail}"),
    }
}

/// A string map as Go's `%#v` prints `map[string]string`: `map[string]string{"a":"b", "c":"d"}`.
pub fn go_string_map(map: Option<&BTreeMap<String, String>>) -> String {
    let Some(map) = map.filter(|m| !m.is_empty()) else {
        return if map.is_some() {
            "map[string]string{}".into()
        } else {
            "map[string]string(nil)".into()
        };
    };
    let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
    format!("map[string]string{{{}}}", pairs.join(", "))
}

/// `ValidateLabels`.
pub fn validate_labels(
    labels: Option<&BTreeMap<String, String>>,
    path: &str,
    errs: &mut Vec<Cause>,
) {
    for (k, v) in labels.into_iter().flatten() {
        for msg in qualified_name(k) {
            errs.push(Cause::invalid(path, &Value::from(k.as_str()), &msg));
        }
        for msg in label_value(v) {
            errs.push(Cause::invalid(path, &Value::from(v.as_str()), &msg));
        }
    }
}

/// `ValidateAnnotations`: keys are qualified names (case-insensitively), total size ≤ 256 KiB.
pub fn validate_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &str,
    errs: &mut Vec<Cause>,
) {
    let Some(annotations) = annotations else {
        return;
    };
    let mut size = 0;
    for (k, v) in annotations {
        for msg in qualified_name(&k.to_lowercase()) {
            errs.push(Cause::invalid(path, &Value::from(k.as_str()), &msg));
        }
        size += k.len() + v.len();
    }
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

/// `ValidateFinalizerName`.
pub fn validate_finalizer(name: &str, path: &str, errs: &mut Vec<Cause>) {
    for msg in qualified_name(name) {
        errs.push(Cause::invalid(path, &Value::from(name), &msg));
    }
    if !name.contains('/') && !STANDARD_FINALIZERS.contains(&name) {
        errs.push(Cause::invalid(
            path,
            &Value::from(name),
            "name is neither a standard finalizer name nor is it fully qualified",
        ));
    }
}

/// `ValidateObjectMetaAccessor`: what every object's metadata must satisfy on create (and, for
/// the parts an update may change, on update).
pub fn validate_object_meta(
    meta: &ObjectMeta,
    namespaced: bool,
    rule: NameRule,
    errs: &mut Vec<Cause>,
) {
    if let Some(gn) = meta.generate_name.as_deref().filter(|s| !s.is_empty()) {
        for msg in rule.check(gn, true) {
            errs.push(Cause::invalid(
                "metadata.generateName",
                &Value::from(gn),
                &msg,
            ));
        }
    }
    let generated = meta.generate_name.as_deref().is_some_and(|g| !g.is_empty());
    match meta.name.as_deref().filter(|s| !s.is_empty()) {
        // upstream generates the name before validating, and so does the API layer: an object
        // still without one there is the API layer's to name, not a client error
        None if generated => {}
        None => errs.push(Cause::required(
            "metadata.name",
            "name or generateName is required",
        )),
        Some(name) => {
            for msg in rule.check(name, false) {
                errs.push(Cause::invalid("metadata.name", &Value::from(name), &msg));
            }
        }
    }
    let ns = meta.namespace.as_deref().unwrap_or("");
    if namespaced {
        if ns.is_empty() {
            errs.push(Cause::required("metadata.namespace", ""));
        } else {
            for msg in dns1123_label(ns) {
                errs.push(Cause::invalid("metadata.namespace", &Value::from(ns), &msg));
            }
        }
    } else if !ns.is_empty() {
        errs.push(Cause::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    if let Some(g) = meta.generation.filter(|g| *g < 0) {
        errs.push(Cause::invalid(
            "metadata.generation",
            &Value::from(g),
            "must be greater than or equal to 0",
        ));
    }
    validate_mutable_meta(meta, errs);
}

/// The rules for what an update may change in metadata (labels, annotations, owner references,
/// finalizers).
fn validate_mutable_meta(meta: &ObjectMeta, errs: &mut Vec<Cause>) {
    validate_labels(meta.labels.as_ref(), "metadata.labels", errs);
    validate_annotations(meta.annotations.as_ref(), "metadata.annotations", errs);
    for (i, r) in meta.owner_references.iter().flatten().enumerate() {
        let p = format!("metadata.ownerReferences[{i}]");
        let version = r.api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            errs.push(Cause::invalid(
                format!("{p}.apiVersion"),
                &Value::from(r.api_version.as_str()),
                "version must not be empty",
            ));
        }
        if r.kind.is_empty() {
            errs.push(Cause::invalid(
                format!("{p}.kind"),
                &Value::from(""),
                "kind must not be empty",
            ));
        }
        if r.name.is_empty() {
            errs.push(Cause::invalid(
                format!("{p}.name"),
                &Value::from(""),
                "name must not be empty",
            ));
        }
        if r.uid.is_empty() {
            errs.push(Cause::invalid(
                format!("{p}.uid"),
                &Value::from(""),
                "uid must not be empty",
            ));
        }
    }
    let controllers: Vec<_> = meta
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.controller == Some(true))
        .collect();
    if controllers.len() > 1 {
        let names: Vec<String> = controllers
            .iter()
            .map(|r| format!("{}/{}", r.kind, r.name))
            .collect();
        errs.push(Cause::invalid(
            "metadata.ownerReferences",
            &Value::Null,
            &format!("Only one reference can have Controller set to true. Found \"true\" in references for {}", names.join(" and ")),
        ));
    }
    for f in meta.finalizers.iter().flatten() {
        validate_finalizer(f, "metadata.finalizers", errs);
    }
}

fn immutable<T: PartialEq + serde::Serialize>(new: &T, old: &T, path: &str, errs: &mut Vec<Cause>) {
    if new != old {
        let shown = serde_json::to_value(new).unwrap_or(Value::Null);
        errs.push(Cause::invalid(path, &shown, FIELD_IMMUTABLE));
    }
}

/// `ValidateObjectMetaAccessorUpdate`: identity fields are immutable; the mutable parts are
/// checked as on create. (`resourceVersion` is the API layer's: it fills it in from the stored
/// object for unconditional updates before calling the strategy.)
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta, errs: &mut Vec<Cause>) {
    if old.deletion_timestamp.is_some() {
        let old_f = old.finalizers.as_deref().unwrap_or_default();
        for f in new.finalizers.iter().flatten() {
            if !old_f.contains(f) {
                errs.push(Cause::forbidden(
                    "metadata.finalizers",
                    &format!("no new finalizers can be added if the object is being deleted, found new finalizer {f:?}"),
                ));
            }
        }
    }
    if new.generation.unwrap_or(0) < old.generation.unwrap_or(0) {
        errs.push(Cause::invalid(
            "metadata.generation",
            &Value::from(new.generation.unwrap_or(0)),
            "must not be decremented",
        ));
    }
    immutable(&new.name, &old.name, "metadata.name", errs);
    immutable(&new.namespace, &old.namespace, "metadata.namespace", errs);
    immutable(&new.uid, &old.uid, "metadata.uid", errs);
    immutable(
        &new.creation_timestamp,
        &old.creation_timestamp,
        "metadata.creationTimestamp",
        errs,
    );
    immutable(
        &new.deletion_timestamp,
        &old.deletion_timestamp,
        "metadata.deletionTimestamp",
        errs,
    );
    immutable(
        &new.deletion_grace_period_seconds,
        &old.deletion_grace_period_seconds,
        "metadata.deletionGracePeriodSeconds",
        errs,
    );
    validate_mutable_meta(new, errs);
}

/// `ValidateLabelSelector` (match labels and expressions).
pub fn validate_label_selector(sel: &LabelSelector, path: &str, errs: &mut Vec<Cause>) {
    for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let n = e.values.as_ref().map_or(0, Vec::len);
        match e.operator.as_str() {
            "In" | "NotIn" => {
                if n == 0 {
                    errs.push(Cause::required(
                        format!("{p}.values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if n > 0 {
                    errs.push(Cause::forbidden(
                        format!("{p}.values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(Cause::invalid(
                format!("{p}.operator"),
                &Value::from(other),
                "not a valid selector operator",
            )),
        }
        for msg in qualified_name(&e.key) {
            errs.push(Cause::invalid(
                format!("{p}.key"),
                &Value::from(e.key.as_str()),
                &msg,
            ));
        }
    }
    validate_labels(
        sel.match_labels.as_ref(),
        &format!("{path}.matchLabels"),
        errs,
    );
}

/// Whether `labels` satisfy `sel` (upstream's `LabelSelectorAsSelector(sel).Matches(labels)`).
pub fn selector_matches(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k));
    sel.match_labels
        .iter()
        .flatten()
        .all(|(k, v)| get(k) == Some(v))
        && sel.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => get(&e.key).is_some_and(|v| values.contains(v)),
                "NotIn" => get(&e.key).is_none_or(|v| !values.contains(v)),
                "Exists" => get(&e.key).is_some(),
                "DoesNotExist" => get(&e.key).is_none(),
                _ => false,
            }
        })
}

/// Whether a selector selects nothing in particular (no labels, no expressions).
pub fn selector_is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && sel.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// `ValidateNonnegativeField`.
pub fn nonnegative(value: Option<i64>, path: &str, errs: &mut Vec<Cause>) {
    if let Some(v) = value.filter(|v| *v < 0) {
        errs.push(Cause::invalid(
            path,
            &Value::from(v),
            "must be greater than or equal to 0",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, ns: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: ns.map(Into::into),
            ..Default::default()
        }
    }

    fn check(m: &ObjectMeta, namespaced: bool) -> Vec<String> {
        let mut errs = Vec::new();
        validate_object_meta(m, namespaced, NameRule::Subdomain, &mut errs);
        errs.iter().map(Cause::render).collect()
    }

    #[test]
    fn name_is_required_unless_generated() {
        let m = ObjectMeta {
            namespace: Some("default".into()),
            ..Default::default()
        };
        assert_eq!(
            check(&m, true),
            vec!["metadata.name: Required value: name or generateName is required"]
        );
    }

    #[test]
    fn generate_name_is_checked_as_a_prefix_and_stands_in_for_a_name() {
        let m = ObjectMeta {
            generate_name: Some("web-".into()),
            namespace: Some("d".into()),
            ..Default::default()
        };
        assert!(check(&m, true).is_empty());
        let m = ObjectMeta {
            generate_name: Some("Web-".into()),
            namespace: Some("d".into()),
            ..Default::default()
        };
        assert_eq!(check(&m, true).len(), 1);
        assert!(check(&m, true)[0].starts_with(
            "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain"
        ));
    }

    #[test]
    fn namespace_is_required_or_forbidden_by_scope() {
        assert_eq!(
            check(&meta("a", None), true),
            vec!["metadata.namespace: Required value"]
        );
        assert_eq!(
            check(&meta("a", Some("x")), false),
            vec!["metadata.namespace: Forbidden: not allowed on this type"]
        );
        assert!(check(&meta("a", Some("x")), true).is_empty());
    }

    #[test]
    fn bad_label_key_and_value_are_both_reported() {
        let mut m = meta("a", Some("d"));
        m.labels = Some([("bad key".to_string(), "-v".to_string())].into());
        let errs = check(&m, true);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs[0]
                .starts_with("metadata.labels: Invalid value: \"bad key\": name part must consist")
        );
        assert!(errs[1].starts_with(
            "metadata.labels: Invalid value: \"-v\": a valid label must be an empty string"
        ));
    }

    #[test]
    fn annotations_over_256k_are_too_long() {
        let mut m = meta("a", Some("d"));
        m.annotations = Some([("k".to_string(), "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT))].into());
        assert_eq!(
            check(&m, true),
            vec!["metadata.annotations: Too long: must have at most 262144 bytes"]
        );
    }

    #[test]
    fn finalizers_must_be_standard_or_qualified() {
        let mut m = meta("a", Some("d"));
        m.finalizers = Some(vec![
            "kubernetes".into(),
            "example.com/x".into(),
            "custom".into(),
        ]);
        assert_eq!(
            check(&m, true),
            vec![
                "metadata.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"
            ]
        );
    }

    #[test]
    fn identity_is_immutable_on_update() {
        let old = ObjectMeta {
            uid: Some("u1".into()),
            ..meta("a", Some("d"))
        };
        let new = ObjectMeta {
            uid: Some("u2".into()),
            ..meta("b", Some("d"))
        };
        let mut errs = Vec::new();
        validate_object_meta_update(&new, &old, &mut errs);
        let errs: Vec<String> = errs.iter().map(Cause::render).collect();
        assert_eq!(
            errs,
            vec![
                "metadata.name: Invalid value: \"b\": field is immutable",
                "metadata.uid: Invalid value: \"u2\": field is immutable"
            ]
        );
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
        let labels: BTreeMap<String, String> = [("app".to_string(), "x".to_string())].into();
        let sel = LabelSelector {
            match_labels: Some(labels.clone()),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "DoesNotExist".into(),
                values: None,
            }]),
        };
        assert!(selector_matches(&sel, Some(&labels)));
        assert!(!selector_matches(&sel, None));
        assert_eq!(
            go_string_map(Some(&labels)),
            "map[string]string{\"app\":\"x\"}"
        );
    }
}
