//! Kinds with few rules of their own: ServiceAccount, Event (core/v1) and Lease
//! (coordination.k8s.io/v1).

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, ServiceAccount};
use serde_json::Value;

use super::Kind;
use crate::error::Cause;
use crate::registry::validation::NameRule;
use crate::registry::validation::names::{dns1123_subdomain, qualified_name};

/// ServiceAccounts.
pub(crate) struct ServiceAccountKind;
/// Events.
pub(crate) struct EventKind;
/// Leases.
pub(crate) struct LeaseKind;

impl Kind for ServiceAccountKind {
    type Object = ServiceAccount;
}

const REPORTING_INSTANCE_MAX: usize = 128;
const ACTION_MAX: usize = 128;
const REASON_MAX: usize = 128;
const NOTE_MAX: usize = 1024;

impl Kind for EventKind {
    type Object = Event;
    /// core/v1 events get only the generic path-segment name check (upstream's strict
    /// subdomain check applies to events.k8s.io/v1 only).
    const NAME_RULE: NameRule = NameRule::PathSegment;

    /// `legacyValidateEvent`.
    fn validate(e: &Event, errs: &mut Vec<Cause>) {
        let ns = e.metadata.namespace.as_deref().unwrap_or("");
        let involved_ns = e.involved_object.namespace.as_deref().unwrap_or("");
        let mismatch = || {
            Cause::invalid(
                "involvedObject.namespace",
                &Value::from(involved_ns),
                "does not match event.namespace",
            )
        };
        if e.event_time.is_none() {
            if involved_ns.is_empty() {
                if !ns.is_empty() && ns != "default" {
                    errs.push(mismatch());
                }
            } else if ns != involved_ns {
                errs.push(mismatch());
            }
        } else {
            if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
                errs.push(mismatch());
            }
            let controller = e.reporting_component.as_deref().unwrap_or("");
            if controller.is_empty() {
                errs.push(Cause::required("reportingController", ""));
            }
            for m in qualified_name(controller) {
                errs.push(Cause::invalid(
                    "reportingController",
                    &Value::from(controller),
                    &m,
                ));
            }
            let too_long = |field: &str, value: Option<&str>, max: usize, errs: &mut Vec<Cause>| {
                let v = value.unwrap_or("");
                if v.is_empty() && field != "message" {
                    errs.push(Cause::required(field, ""));
                }
                if v.len() > max {
                    errs.push(Cause::invalid(
                        field,
                        &Value::from(""),
                        &format!("can have at most {max} characters"),
                    ));
                }
            };
            too_long(
                "reportingInstance",
                e.reporting_instance.as_deref(),
                REPORTING_INSTANCE_MAX,
                errs,
            );
            too_long("action", e.action.as_deref(), ACTION_MAX, errs);
            too_long("reason", e.reason.as_deref(), REASON_MAX, errs);
            too_long("message", e.message.as_deref(), NOTE_MAX, errs);
        }
        for m in dns1123_subdomain(ns) {
            errs.push(Cause::invalid("namespace", &Value::from(ns), &m));
        }
    }
}

impl Kind for LeaseKind {
    type Object = Lease;

    fn default(l: &mut Lease) {
        l.spec.get_or_insert_with(Default::default);
    }

    /// `ValidateLeaseSpec`.
    fn validate(l: &Lease, errs: &mut Vec<Cause>) {
        let Some(spec) = &l.spec else { return };
        if let Some(d) = spec.lease_duration_seconds.filter(|d| *d <= 0) {
            errs.push(Cause::invalid(
                "spec.leaseDurationSeconds",
                &Value::from(d),
                "must be greater than 0",
            ));
        }
        if let Some(t) = spec.lease_transitions.filter(|t| *t < 0) {
            errs.push(Cause::invalid(
                "spec.leaseTransitions",
                &Value::from(t),
                "must be greater than or equal to 0",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create};
    use serde_json::json;

    #[test]
    fn leases_get_an_empty_spec_and_positive_durations() {
        let out = create(
            "leases.coordination.k8s.io",
            json!({"metadata": {"name": "n1", "namespace": "kube-node-lease"}}),
        )
        .unwrap();
        assert_eq!(out["spec"], json!({}));
        let err = create(
            "leases.coordination.k8s.io",
            json!({"metadata": {"name": "n1", "namespace": "x"}, "spec": {"leaseDurationSeconds": 0}}),
        )
        .unwrap_err();
        assert_eq!(
            causes(&err),
            vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
        );
    }

    #[test]
    fn events_must_match_their_objects_namespace() {
        let ev = |ns: &str| json!({"metadata": {"name": "p.1", "namespace": "a"}, "involvedObject": {"kind": "Pod", "namespace": ns}});
        assert!(create("events", ev("a")).is_ok());
        let err = create("events", ev("b")).unwrap_err();
        assert_eq!(
            causes(&err),
            vec!["involvedObject.namespace: Invalid value: \"b\": does not match event.namespace"]
        );
    }

    #[test]
    fn new_style_events_need_reporting_fields() {
        let ev = json!({"metadata": {"name": "p.1", "namespace": "a"}, "involvedObject": {"namespace": "a"},
            "eventTime": "2026-01-01T00:00:00.000000Z"});
        let causes = causes(&create("events", ev).unwrap_err());
        for want in [
            "reportingController: Required value",
            "reportingInstance: Required value",
            "action: Required value",
            "reason: Required value",
        ] {
            assert!(causes.contains(&want.to_string()), "{causes:?}");
        }
        assert!(causes.contains(
            &"reportingController: Invalid value: \"\": name part must be non-empty".to_string()
        ));
    }
}
