//! apps/v1 ControllerRevision: the immutable snapshots of a template that the DaemonSet (and
//! StatefulSet) controllers keep as history (upstream `ValidateControllerRevision` and
//! `ValidateControllerRevisionUpdate`): `data` is mandatory and never changes, `revision` is
//! non-negative.

use k8s_openapi::api::apps::v1::ControllerRevision;

use super::Kind;
use crate::error::Cause;
use crate::registry::validation::{FIELD_IMMUTABLE, nonnegative};

/// ControllerRevisions.
pub(crate) struct ControllerRevisionKind;

impl Kind for ControllerRevisionKind {
    type Object = ControllerRevision;

    fn validate(cr: &ControllerRevision, errs: &mut Vec<Cause>) {
        if cr.data.0.is_null() {
            errs.push(Cause::required("data", "data is mandatory"));
        }
        match cr.revision {
            None => errs.push(Cause::required("revision", "")),
            Some(r) => nonnegative(Some(r), "revision", errs),
        }
    }

    fn validate_update(new: &ControllerRevision, old: &ControllerRevision, errs: &mut Vec<Cause>) {
        if new.data != old.data {
            errs.push(Cause::invalid("data", &new.data.0, FIELD_IMMUTABLE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use serde_json::{Value, json};

    fn revision(data: Value, revision: i64) -> Value {
        json!({"metadata": {"name": "web-5d4f", "namespace": "default"}, "data": data,
               "revision": revision})
    }

    #[test]
    fn a_revision_is_stored_with_its_data() {
        let data = json!({"spec": {"template": {"$patch": "replace", "spec": {}}}});
        let out = create("controllerrevisions.apps", revision(data.clone(), 2)).unwrap();
        assert_eq!(out["data"], data);
        assert_eq!(out["revision"], 2);
    }

    #[test]
    fn data_is_mandatory_and_revision_not_negative() {
        let mut obj = revision(Value::Null, -1);
        obj.as_object_mut().unwrap().remove("data");
        let err = create("controllerrevisions.apps", obj).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            causes(&err),
            [
                "data: Required value: data is mandatory",
                "revision: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
    }

    #[test]
    fn revision_is_required() {
        let mut obj = revision(json!({}), 1);
        obj.as_object_mut().unwrap().remove("revision");
        let err = create("controllerrevisions.apps", obj).unwrap_err();
        assert_eq!(causes(&err), ["revision: Required value"]);
    }

    #[test]
    fn data_is_immutable_but_revision_may_change() {
        let old = create("controllerrevisions.apps", revision(json!({"a": 1}), 1)).unwrap();
        let mut renumbered = old.clone();
        renumbered["revision"] = json!(3);
        assert_eq!(
            update("controllerrevisions.apps", renumbered, &old).unwrap()["revision"],
            3
        );
        let mut changed = old.clone();
        changed["data"] = json!({"a": 2});
        let err = update("controllerrevisions.apps", changed, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            [r#"data: Invalid value: {"a":2}: field is immutable"#]
        );
    }
}
