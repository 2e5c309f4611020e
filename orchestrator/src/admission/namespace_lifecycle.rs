//! The NamespaceLifecycle admission plugin (upstream
//! `apiserver/pkg/admission/plugin/namespace/lifecycle`): no content in a namespace that does not
//! exist, no new content in one being terminated, and the system namespaces cannot be deleted.

use serde_json::Value;

use crate::error::{ApiError, Cause, CauseKind, Reason};
use crate::registry::ResourceInfo;
use crate::store::Storage;

/// Namespaces the API refuses to delete.
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// Whether a stored namespace is being terminated: phase `Terminating`, or a deletion already
/// requested (the delete sets both; either is enough to stop new content).
pub(crate) fn is_terminating(namespace: &Value) -> bool {
    namespace.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating")
        || namespace
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|v| !v.is_null())
}

/// The name admission errors carry, as upstream's `extractResourceName`: the object's name, its
/// `generateName` before one is generated, or `Unknown`.
pub(crate) fn object_name(obj: &Value) -> String {
    let get = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    get("/metadata/name")
        .or_else(|| get("/metadata/generateName"))
        .unwrap_or("Unknown")
        .to_string()
}

/// Admit a create (`creating`) or update of a namespaced object in `namespace`.
pub(crate) fn admit(
    store: &dyn Storage,
    info: &ResourceInfo,
    namespace: &str,
    obj: &Value,
    creating: bool,
) -> Result<(), ApiError> {
    if !info.namespaced || namespace.is_empty() {
        return Ok(());
    }
    let ns = match store.get("namespaces", "", namespace) {
        Ok(ns) => ns,
        Err(e) if e.reason == Reason::NotFound => {
            return Err(ApiError::not_found("", "namespaces", namespace));
        }
        Err(e) => return Err(ApiError::internal(e.message)),
    };
    if creating && is_terminating(&ns.value()) {
        let detail = format!(
            "unable to create new content in namespace {namespace} because it is being terminated"
        );
        let mut err = ApiError::forbidden(info.group, info.plural, &object_name(obj), &detail);
        err.causes.push(Cause {
            kind: CauseKind::NamespaceTerminating,
            field: "metadata.namespace".into(),
            message: format!("namespace {namespace} is being terminated"),
        });
        return Err(err);
    }
    Ok(())
}

/// Refuse to delete an immortal namespace.
pub(crate) fn admit_delete(info: &ResourceInfo, name: &str) -> Result<(), ApiError> {
    if info.group.is_empty() && info.plural == "namespaces" && IMMORTAL_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(
            "",
            "namespaces",
            name,
            "this namespace may not be deleted",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_errors_after_the_object_or_its_prefix() {
        assert_eq!(object_name(&json!({"metadata": {"name": "a"}})), "a");
        assert_eq!(
            object_name(&json!({"metadata": {"generateName": "web-"}})),
            "web-"
        );
        assert_eq!(object_name(&json!({})), "Unknown");
    }

    #[test]
    fn terminating_is_the_phase_or_a_deletion_timestamp() {
        assert!(is_terminating(&json!({"status": {"phase": "Terminating"}})));
        assert!(is_terminating(
            &json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}})
        ));
        assert!(!is_terminating(&json!({"status": {"phase": "Active"}})));
    }

    #[test]
    fn immortal_namespaces_cannot_be_deleted() {
        let ns = crate::registry::find("", "v1", "namespaces").unwrap();
        let err = admit_delete(ns, "kube-system").unwrap_err();
        assert_eq!(err.code, 403);
        assert_eq!(
            err.message,
            "namespaces \"kube-system\" is forbidden: this namespace may not be deleted"
        );
        assert!(admit_delete(ns, "team-a").is_ok());
        let pods = crate::registry::find("", "v1", "pods").unwrap();
        assert!(admit_delete(pods, "default").is_ok());
    }
}
