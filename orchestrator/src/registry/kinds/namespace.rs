//! Namespaces: upstream's `pkg/registry/core/namespace/strategy.go`. Created `Active` with the
//! `kubernetes` finalizer; `spec.finalizers` changes only through the `finalize` subresource,
//! which is not served yet, so the main resource keeps the stored list.

use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec, NamespaceStatus};
use serde_json::Value;

use super::Kind;
use crate::error::Cause;
use crate::registry::validation::NameRule;
use crate::registry::validation::meta::validate_finalizer;

/// Namespaces.
pub(crate) struct NamespaceKind;

/// The label upstream's defaulting puts on every namespace.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl Kind for NamespaceKind {
    type Object = Namespace;
    const NAME_RULE: NameRule = NameRule::Label;

    fn default(ns: &mut Namespace) {
        if let Some(name) = ns.metadata.name.clone().filter(|n| !n.is_empty()) {
            ns.metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(NAME_LABEL.into(), name);
        }
        if let Some(status) = ns.status.as_mut()
            && status.phase.as_deref().is_none_or(str::is_empty)
        {
            status.phase = Some("Active".into());
        }
    }

    fn prepare_create(ns: &mut Namespace) {
        ns.status = Some(NamespaceStatus {
            phase: Some("Active".into()),
            conditions: None,
        });
        let finalizers = ns
            .spec
            .get_or_insert_with(NamespaceSpec::default)
            .finalizers
            .get_or_insert_with(Vec::new);
        if !finalizers.iter().any(|f| f == "kubernetes") {
            finalizers.push("kubernetes".into());
        }
    }

    fn prepare_update(new: &mut Namespace, old: &Namespace) {
        let finalizers = old.spec.as_ref().and_then(|s| s.finalizers.clone());
        new.spec
            .get_or_insert_with(NamespaceSpec::default)
            .finalizers = finalizers;
        if new.spec.as_ref().is_some_and(|s| s.finalizers.is_none()) && old.spec.is_none() {
            new.spec = None;
        }
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut Namespace, old: &Namespace) {
        new.spec.clone_from(&old.spec);
    }

    fn validate(ns: &Namespace, errs: &mut Vec<Cause>) {
        for f in ns.spec.iter().flat_map(|s| s.finalizers.iter().flatten()) {
            validate_finalizer(f, "spec.finalizers", errs);
        }
    }

    fn validate_status_update(new: &Namespace, _old: &Namespace, errs: &mut Vec<Cause>) {
        let phase = new
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("");
        if new.metadata.deletion_timestamp.is_none() {
            if phase != "Active" {
                errs.push(Cause::invalid(
                    "status.Phase",
                    &Value::from(phase),
                    "may only be 'Active' if `deletionTimestamp` is empty",
                ));
            }
        } else if phase != "Terminating" {
            errs.push(Cause::invalid(
                "status.Phase",
                &Value::from(phase),
                "may only be 'Terminating' if `deletionTimestamp` is not empty",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use serde_json::json;

    #[test]
    fn created_active_with_kubernetes_finalizer_and_name_label() {
        let out = create(
            "namespaces",
            json!({"metadata": {"name": "team-a"}, "status": {"phase": "Terminating"}}),
        )
        .unwrap();
        assert_eq!(out["status"], json!({"phase": "Active"}));
        assert_eq!(out["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(
            out["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team-a"
        );
        assert!(out["metadata"].get("generation").is_none());
    }

    #[test]
    fn names_are_dns_labels() {
        let err = create("namespaces", json!({"metadata": {"name": "a.b"}})).unwrap_err();
        assert!(
            causes(&err)[0]
                .starts_with("metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label")
        );
    }

    #[test]
    fn finalizers_cannot_change_through_the_main_resource() {
        let old = create("namespaces", json!({"metadata": {"name": "a"}})).unwrap();
        let mut new = old.clone();
        new["spec"]["finalizers"] = json!([]);
        let out = update("namespaces", new, &old).unwrap();
        assert_eq!(out["spec"]["finalizers"], json!(["kubernetes"]));
    }
}
