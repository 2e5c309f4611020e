//! Which fields each resource supports in field selectors: upstream's per-kind field label
//! conversion functions (which names are accepted) and `GetAttrs` / `ToSelectableFields` (what
//! values objects have for them).

use serde_json::Value;

use super::FieldSelector;
use crate::error::ApiError;

/// How a value of a selectable field is read from the object's JSON.
#[derive(Clone, Copy)]
enum Source {
    /// A string (or scalar, rendered as text) at this path; `""` when absent.
    Text(&'static [&'static str]),
    /// A boolean at this path, `"false"` when absent (Go's zero value, `strconv.FormatBool`).
    Bool(&'static [&'static str]),
    /// An integer at this path, `"0"` when absent (`strconv.Itoa`).
    Int(&'static [&'static str]),
    /// The first of `status.podIPs[].ip`, as upstream's pod attrs.
    FirstPodIp,
    /// `source.component`, falling back to `reportingComponent`, as upstream's event attrs.
    EventOrigin,
}

/// One resource's field selector support.
struct Kind {
    /// Store key (`plural.group`).
    resource: &'static str,
    /// Fields besides `metadata.name` / `metadata.namespace` that objects carry.
    fields: &'static [(&'static str, Source)],
    /// Extra labels the conversion function accepts without objects carrying them (upstream
    /// accepts them and they then match as empty).
    accepted_only: &'static [&'static str],
    /// Whether the conversion function accepts `metadata.namespace`.
    namespace_label: bool,
    /// How the conversion function words a rejected label.
    reject: fn(&str) -> String,
}

fn not_supported(label: &str) -> String {
    format!("field label not supported: {label}")
}

const KINDS: &[Kind] = &[
    Kind {
        resource: "pods",
        fields: &[
            ("spec.nodeName", Source::Text(&["spec", "nodeName"])),
            // Upstream converts the deprecated `spec.host` label to `spec.nodeName`.
            ("spec.host", Source::Text(&["spec", "nodeName"])),
            (
                "spec.restartPolicy",
                Source::Text(&["spec", "restartPolicy"]),
            ),
            (
                "spec.schedulerName",
                Source::Text(&["spec", "schedulerName"]),
            ),
            (
                "spec.serviceAccountName",
                Source::Text(&["spec", "serviceAccountName"]),
            ),
            ("spec.hostNetwork", Source::Bool(&["spec", "hostNetwork"])),
            ("status.phase", Source::Text(&["status", "phase"])),
            ("status.podIP", Source::FirstPodIp),
            (
                "status.nominatedNodeName",
                Source::Text(&["status", "nominatedNodeName"]),
            ),
        ],
        accepted_only: &["status.podIPs"],
        namespace_label: true,
        reject: not_supported,
    },
    Kind {
        resource: "nodes",
        fields: &[(
            "spec.unschedulable",
            Source::Bool(&["spec", "unschedulable"]),
        )],
        accepted_only: &[],
        namespace_label: false,
        reject: not_supported,
    },
    Kind {
        resource: "replicationcontrollers",
        fields: &[("status.replicas", Source::Int(&["status", "replicas"]))],
        accepted_only: &[],
        namespace_label: true,
        reject: not_supported,
    },
    Kind {
        resource: "events",
        fields: &[
            (
                "involvedObject.kind",
                Source::Text(&["involvedObject", "kind"]),
            ),
            (
                "involvedObject.namespace",
                Source::Text(&["involvedObject", "namespace"]),
            ),
            (
                "involvedObject.name",
                Source::Text(&["involvedObject", "name"]),
            ),
            (
                "involvedObject.uid",
                Source::Text(&["involvedObject", "uid"]),
            ),
            (
                "involvedObject.apiVersion",
                Source::Text(&["involvedObject", "apiVersion"]),
            ),
            (
                "involvedObject.resourceVersion",
                Source::Text(&["involvedObject", "resourceVersion"]),
            ),
            (
                "involvedObject.fieldPath",
                Source::Text(&["involvedObject", "fieldPath"]),
            ),
            ("reason", Source::Text(&["reason"])),
            ("reportingComponent", Source::Text(&["reportingComponent"])),
            ("source", Source::EventOrigin),
            ("type", Source::Text(&["type"])),
        ],
        accepted_only: &[],
        namespace_label: true,
        reject: not_supported,
    },
    Kind {
        resource: "namespaces",
        fields: &[("status.phase", Source::Text(&["status", "phase"]))],
        accepted_only: &[],
        namespace_label: false,
        reject: not_supported,
    },
    Kind {
        resource: "secrets",
        fields: &[("type", Source::Text(&["type"]))],
        accepted_only: &[],
        namespace_label: true,
        reject: not_supported,
    },
    Kind {
        resource: "services",
        fields: &[
            ("spec.clusterIP", Source::Text(&["spec", "clusterIP"])),
            ("spec.type", Source::Text(&["spec", "type"])),
        ],
        accepted_only: &[],
        namespace_label: true,
        reject: not_supported,
    },
    Kind {
        resource: "jobs.batch",
        fields: &[("status.successful", Source::Int(&["status", "succeeded"]))],
        accepted_only: &[],
        namespace_label: true,
        reject: |label| format!("field label {label:?} not supported for batchv1.Job"),
    },
    Kind {
        resource: "statefulsets.apps",
        fields: &[],
        accepted_only: &["status.successful"],
        namespace_label: true,
        reject: |label| format!("field label not supported for appsv1.StatefulSet: {label}"),
    },
    Kind {
        resource: "certificatesigningrequests.certificates.k8s.io",
        fields: &[("spec.signerName", Source::Text(&["spec", "signerName"]))],
        accepted_only: &[],
        namespace_label: false,
        reject: not_supported,
    },
];

fn kind(resource: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.resource == resource)
}

fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

fn text(v: Option<&Value>) -> Box<str> {
    match v {
        Some(Value::String(s)) => s.as_str().into(),
        Some(Value::Bool(b)) => b.to_string().into(),
        Some(Value::Number(n)) => n.to_string().into(),
        _ => "".into(),
    }
}

fn read(obj: &Value, source: Source) -> Box<str> {
    match source {
        Source::Text(path) => text(at(obj, path)),
        Source::Bool(path) => at(obj, path)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string()
            .into(),
        Source::Int(path) => at(obj, path)
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .to_string()
            .into(),
        Source::FirstPodIp => {
            let first = at(obj, &["status", "podIPs"])
                .and_then(|ips| ips.get(0))
                .and_then(|ip| ip.get("ip"));
            match first {
                Some(ip) => text(Some(ip)),
                // Objects written without podIPs still say which IP they have.
                None => text(at(obj, &["status", "podIP"])),
            }
        }
        Source::EventOrigin => {
            let component = text(at(obj, &["source", "component"]));
            if component.is_empty() {
                text(obj.get("reportingComponent"))
            } else {
                component
            }
        }
    }
}

/// The selectable fields of an object of `resource` (store key `plural.group`) and their
/// values: `metadata.name`, `metadata.namespace` (namespaced objects only) and the kind's own.
pub fn selectable_fields(resource: &str, obj: &Value) -> Vec<(&'static str, Box<str>)> {
    let extra = kind(resource).map_or(&[][..], |k| k.fields);
    let mut out = Vec::with_capacity(2 + extra.len());
    out.push(("metadata.name", text(at(obj, &["metadata", "name"]))));
    let ns = text(at(obj, &["metadata", "namespace"]));
    if !ns.is_empty() {
        out.push(("metadata.namespace", ns));
    }
    for (name, source) in extra {
        out.push((*name, read(obj, *source)));
    }
    out
}

/// 400 unless every field of `sel` is selectable on `resource`, worded as upstream's field
/// label conversion for that kind (or `DefaultMetaV1FieldSelectorConversion` for kinds without
/// one).
pub fn check_field_selector(resource: &str, sel: &FieldSelector) -> Result<(), ApiError> {
    for (label, _, _) in &sel.terms {
        let label = label.as_str();
        match kind(resource) {
            None => {
                if label != "metadata.name" && label != "metadata.namespace" {
                    return Err(ApiError::bad_request(format!(
                        "{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
                    )));
                }
            }
            Some(k) => {
                let ok = label == "metadata.name"
                    || (k.namespace_label && label == "metadata.namespace")
                    || k.fields.iter().any(|(f, _)| *f == label)
                    || k.accepted_only.contains(&label);
                if !ok {
                    return Err(ApiError::bad_request((k.reject)(label)));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    fn field<'a>(fields: &'a [(&'static str, Box<str>)], name: &str) -> Option<&'a str> {
        fields.iter().find(|(k, _)| *k == name).map(|(_, v)| &**v)
    }

    #[test]
    fn pods_expose_upstream_fields_with_go_zero_values() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}
        });
        let f = selectable_fields("pods", &pod);
        assert_eq!(field(&f, "metadata.name"), Some("p"));
        assert_eq!(field(&f, "metadata.namespace"), Some("ns"));
        assert_eq!(field(&f, "spec.nodeName"), Some("n1"));
        assert_eq!(field(&f, "spec.hostNetwork"), Some("false"));
        assert_eq!(field(&f, "spec.schedulerName"), Some(""));
        assert_eq!(field(&f, "status.podIP"), Some("10.0.0.1"));
        assert_eq!(field(&f, "status.phase"), Some("Running"));
    }

    #[test]
    fn cluster_scoped_objects_have_no_namespace_field() {
        let f = selectable_fields(
            "nodes",
            &json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}}),
        );
        assert_eq!(field(&f, "metadata.namespace"), None);
        assert_eq!(field(&f, "spec.unschedulable"), Some("true"));
    }

    #[test]
    fn events_source_falls_back_to_reporting_component() {
        let ev = json!({"metadata": {"name": "e", "namespace": "ns"}, "reportingComponent": "kubelet",
            "involvedObject": {"kind": "Pod", "name": "p"}, "type": "Normal"});
        let f = selectable_fields("events", &ev);
        assert_eq!(field(&f, "source"), Some("kubelet"));
        assert_eq!(field(&f, "involvedObject.kind"), Some("Pod"));
        assert_eq!(field(&f, "involvedObject.uid"), Some(""));
    }

    #[rstest]
    #[case("pods", "spec.nodeName=a,metadata.namespace=x", None)]
    #[case("pods", "status.podIPs=a", None)]
    #[case("pods", "spec.foo=a", Some("field label not supported: spec.foo"))]
    #[case(
        "nodes",
        "metadata.namespace=a",
        Some("field label not supported: metadata.namespace")
    )]
    #[case(
        "configmaps",
        "data.x=1",
        Some(
            r#""data.x" is not a known field selector: only "metadata.name", "metadata.namespace""#
        )
    )]
    #[case("configmaps", "metadata.namespace=a", None)]
    #[case(
        "jobs.batch",
        "status.active=1",
        Some(r#"field label "status.active" not supported for batchv1.Job"#)
    )]
    #[case("secrets", "type=Opaque", None)]
    fn field_selector_support_as_upstream(
        #[case] resource: &str,
        #[case] sel: &str,
        #[case] err: Option<&str>,
    ) {
        let sel = FieldSelector::parse(sel).unwrap();
        match (check_field_selector(resource, &sel), err) {
            (Ok(()), None) => {}
            (Err(e), Some(want)) => assert_eq!((e.code, e.message.as_str()), (400, want)),
            (got, want) => panic!("{resource} {sel:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn spec_host_selects_by_node_name() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1"}});
        let f = selectable_fields("pods", &pod);
        let sel = FieldSelector::parse("spec.host=n1").unwrap();
        assert!(check_field_selector("pods", &sel).is_ok());
        assert!(sel.matches(|k| field(&f, k)));
    }
}
