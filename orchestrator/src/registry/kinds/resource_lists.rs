//! Resource names and quantities in resource lists (container requests and limits, quota hard
//! limits, limit ranges, capacities): upstream's `validateResourceName`,
//! `validateContainerResourceName`, `ValidateResourceQuantityValue` and the `helper` predicates.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;
use serde_json::Value;

use crate::admission::quantity::{QUANTITY_FORMAT_ERROR, Quantity};
use crate::error::Cause;
use crate::registry::validation::invalid_shown;
use crate::registry::validation::names::qualified_name;

/// Upstream's `standardResources`.
const STANDARD: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

/// Upstream's `standardQuotaResources`.
const STANDARD_QUOTA: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// Upstream's `standardIntegerResources` (object counts).
const STANDARD_INTEGER: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// `helper.IsNativeResource`: no domain, or a `kubernetes.io` one.
pub(crate) fn is_native(name: &str) -> bool {
    match name.split_once('/') {
        None => true,
        Some((domain, _)) => domain == "kubernetes.io" || domain.ends_with(".kubernetes.io"),
    }
}

/// `helper.IsExtendedResourceName`.
fn is_extended(name: &str) -> bool {
    !is_native(name)
        && !name.starts_with("requests.")
        && qualified_name(&format!("requests.{name}")).is_empty()
}

/// `helper.IsOvercommitAllowed`.
pub(crate) fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepages(name)
}

/// `helper.IsIntegerResourceName`.
fn is_integer_resource(name: &str) -> bool {
    STANDARD_INTEGER.contains(&name) || name.starts_with("count/") || is_extended(name)
}

/// `validateResourceName`: a qualified name, standard unless it has a domain.
pub(crate) fn resource_name(name: &str, path: &str, errs: &mut Vec<Cause>) -> bool {
    let msgs = qualified_name(name);
    let ok = msgs.is_empty();
    for m in msgs {
        errs.push(Cause::invalid(path, &Value::from(name), &m));
    }
    if ok && !name.contains('/') && !STANDARD.contains(&name) && !is_hugepages(name) {
        errs.push(Cause::invalid(
            path,
            &Value::from(name),
            "must be a standard resource type or fully qualified",
        ));
    }
    ok
}

/// `validateContainerResourceName`.
pub(crate) fn container_resource_name(name: &str, path: &str, errs: &mut Vec<Cause>) {
    if !resource_name(name, path, errs) {
        return;
    }
    if !name.contains('/') {
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage") && !is_hugepages(name) {
            errs.push(Cause::invalid(
                path,
                &Value::from(name),
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(Cause::invalid(
            path,
            &Value::from(name),
            "doesn't follow extended resource name standard",
        ));
    }
}

/// `ValidateResourceQuotaResourceName`.
pub(crate) fn quota_resource_name(name: &str, path: &str, errs: &mut Vec<Cause>) {
    let ok = qualified_name(name).is_empty();
    let standard_before = errs.len();
    resource_name(name, path, errs);
    if ok && !name.contains('/') {
        // the quota check replaces the generic "standard resource type" one
        errs.truncate(standard_before);
        let hugepages =
            is_hugepages(name) || name.strip_prefix("requests.").is_some_and(is_hugepages);
        if !STANDARD_QUOTA.contains(&name) && !hugepages {
            errs.push(Cause::invalid(
                path,
                &Value::from(name),
                "must be a standard resource for quota",
            ));
        }
    }
}

/// Rewrite a quantity in upstream's canonical form (`1000m` → `1`), as upstream's decoder does;
/// the error is upstream's decode error for a string that is not a quantity.
pub(crate) fn canonicalize(q: &mut Q) -> Result<(), &'static str> {
    let v = Quantity::parse(&q.0).map_err(|e| e.message())?;
    let canonical = v.to_string();
    if canonical != q.0 {
        q.0 = canonical;
    }
    Ok(())
}

/// [`canonicalize`] every quantity in a resource list.
pub(crate) fn canonicalize_list(
    list: Option<&mut std::collections::BTreeMap<String, Q>>,
) -> Result<(), &'static str> {
    for q in list.into_iter().flat_map(|l| l.values_mut()) {
        canonicalize(q)?;
    }
    Ok(())
}

/// Parse a quantity field, reporting upstream's format error when it is not one.
pub(crate) fn parse_quantity(q: &Q, path: &str, errs: &mut Vec<Cause>) -> Option<Quantity> {
    match Quantity::parse(&q.0) {
        Ok(v) => Some(v),
        Err(_) => {
            errs.push(Cause::invalid(
                path,
                &Value::from(q.0.as_str()),
                QUANTITY_FORMAT_ERROR,
            ));
            None
        }
    }
}

/// `ValidateResourceQuantityValue`: parses, not negative, whole for countable resources.
pub(crate) fn resource_quantity(
    name: &str,
    q: &Q,
    path: &str,
    errs: &mut Vec<Cause>,
) -> Option<Quantity> {
    let v = parse_quantity(q, path, errs)?;
    if v.is_negative() {
        errs.push(Cause::invalid(
            path,
            &Value::from(v.to_string()),
            "must be greater than or equal to 0",
        ));
    }
    if is_integer_resource(name) && v.milli_value() % 1000 != 0 {
        errs.push(invalid_shown(path, &v.to_string(), "must be an integer"));
    }
    Some(v)
}

/// `ValidatePositiveQuantityValue`.
pub(crate) fn positive_quantity(q: &Q, path: &str, errs: &mut Vec<Cause>) -> Option<Quantity> {
    let v = parse_quantity(q, path, errs)?;
    if v.nanos() <= 0 {
        errs.push(Cause::invalid(
            path,
            &Value::from(v.to_string()),
            "must be greater than zero",
        ));
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn render(errs: &[Cause]) -> Vec<String> {
        errs.iter().map(Cause::render).collect()
    }

    #[rstest]
    #[case("cpu", vec![])]
    #[case("hugepages-2Mi", vec![])]
    #[case("example.com/gpu", vec![])]
    #[case("gpu", vec!["r: Invalid value: \"gpu\": must be a standard resource type or fully qualified", "r: Invalid value: \"gpu\": must be a standard resource for containers"])]
    #[case("pods", vec!["r: Invalid value: \"pods\": must be a standard resource for containers"])]
    fn container_resource_names(#[case] name: &str, #[case] want: Vec<&str>) {
        let mut errs = Vec::new();
        container_resource_name(name, "r", &mut errs);
        assert_eq!(render(&errs), want);
    }

    #[rstest]
    #[case("pods", vec![])]
    #[case("count/deployments.apps", vec![])]
    #[case("requests.hugepages-2Mi", vec![])]
    #[case("widgets", vec!["q: Invalid value: \"widgets\": must be a standard resource for quota"])]
    fn quota_resource_names(#[case] name: &str, #[case] want: Vec<&str>) {
        let mut errs = Vec::new();
        quota_resource_name(name, "q", &mut errs);
        assert_eq!(render(&errs), want);
    }

    #[test]
    fn counts_must_be_whole_and_nothing_negative() {
        let mut errs = Vec::new();
        resource_quantity("pods", &Q("1500m".into()), "q[pods]", &mut errs);
        resource_quantity("cpu", &Q("-1".into()), "q[cpu]", &mut errs);
        resource_quantity("cpu", &Q("abc".into()), "q[cpu]", &mut errs);
        assert_eq!(
            render(&errs),
            vec![
                "q[pods]: Invalid value: 1500m: must be an integer",
                "q[cpu]: Invalid value: \"-1\": must be greater than or equal to 0",
                "q[cpu]: Invalid value: \"abc\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ]
        );
    }
}
