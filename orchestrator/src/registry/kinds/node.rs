//! Nodes: upstream's node strategy (status may be set on create; the main resource keeps the
//! stored status) and `ValidateNode`/`ValidateNodeUpdate` (taints, capacities, pod CIDRs and
//! provider ID that only go from unset to set).

use std::collections::HashSet;

use k8s_openapi::api::core::v1::{Node, Taint};
use serde_json::Value;

use super::Kind;
use super::resource_lists::{canonicalize_list, resource_quantity};
use crate::error::Cause;
use crate::registry::validation::names::{label_value, qualified_name};

/// Nodes.
pub(crate) struct NodeKind;

const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
const CIDR_CHANGE: &str = "node updates may not change podCIDR except from \"\" to valid";

/// Whether `s` is an address/prefix CIDR (`10.244.0.0/24`, `fd00::/64`).
fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.parse::<u8>().is_ok_and(|b| b <= max)
}

/// `validateNodeTaints`.
pub(crate) fn validate_taints(taints: &[Taint], path: &str, errs: &mut Vec<Cause>) {
    let mut seen = HashSet::new();
    for (i, t) in taints.iter().enumerate() {
        let p = format!("{path}[{i}]");
        for m in qualified_name(&t.key) {
            errs.push(Cause::invalid(
                format!("{p}.key"),
                &Value::from(t.key.as_str()),
                &m,
            ));
        }
        let value = t.value.as_deref().unwrap_or("");
        let msgs = label_value(value);
        if !msgs.is_empty() {
            errs.push(Cause::invalid(
                format!("{p}.value"),
                &Value::from(value),
                &msgs.join(";"),
            ));
        }
        match t.effect.as_str() {
            "" => errs.push(Cause::required(format!("{p}.effect"), "")),
            e if !TAINT_EFFECTS.contains(&e) => {
                errs.push(Cause::not_supported(
                    format!("{p}.effect"),
                    &Value::from(e),
                    TAINT_EFFECTS,
                ));
            }
            _ => {}
        }
        if !seen.insert((t.key.as_str(), t.effect.as_str())) {
            let shown = serde_json::to_value(t).unwrap_or(Value::Null);
            let mut cause = Cause::duplicate(&p, &shown);
            cause
                .message
                .push_str(": taints must be unique by key and effect pair");
            errs.push(cause);
        }
    }
}

impl Kind for NodeKind {
    type Object = Node;

    fn canonicalize(node: &mut Node) -> Result<(), &'static str> {
        if let Some(s) = node.status.as_mut() {
            canonicalize_list(s.capacity.as_mut())?;
            canonicalize_list(s.allocatable.as_mut())?;
        }
        Ok(())
    }

    fn default(node: &mut Node) {
        node.spec.get_or_insert_with(Default::default);
    }

    fn prepare_update(new: &mut Node, old: &Node) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut Node, old: &Node) {
        new.spec.clone_from(&old.spec);
    }

    fn validate(node: &Node, errs: &mut Vec<Cause>) {
        if let Some(spec) = &node.spec {
            validate_taints(
                spec.taints.as_deref().unwrap_or_default(),
                "spec.taints",
                errs,
            );
            for (i, cidr) in spec.pod_cidrs.iter().flatten().enumerate() {
                if !is_cidr(cidr) {
                    errs.push(Cause::invalid(
                        format!("spec.podCIDRs[{i}]"),
                        &Value::from(cidr.as_str()),
                        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                    ));
                }
            }
        }
        if let Some(status) = &node.status {
            for (field, list) in [
                ("capacity", &status.capacity),
                ("allocatable", &status.allocatable),
            ] {
                for (k, v) in list.iter().flatten() {
                    resource_quantity(k, v, &format!("status.{field}.{k}"), errs);
                }
            }
        }
    }

    fn validate_update(new: &Node, old: &Node, errs: &mut Vec<Cause>) {
        validate_node_transition(new, old, errs);
    }

    fn validate_status_update(new: &Node, old: &Node, errs: &mut Vec<Cause>) {
        Self::validate(new, errs);
        validate_node_transition(new, old, errs);
    }
}

/// What `ValidateNodeUpdate` checks against the stored node.
fn validate_node_transition(new: &Node, old: &Node, errs: &mut Vec<Cause>) {
    let mut addresses = HashSet::new();
    for (i, a) in new
        .status
        .iter()
        .flat_map(|s| s.addresses.iter().flatten())
        .enumerate()
    {
        if !addresses.insert((a.type_.as_str(), a.address.as_str())) {
            let shown = serde_json::to_value(a).unwrap_or(Value::Null);
            errs.push(Cause::duplicate(format!("status.addresses[{i}]"), &shown));
        }
    }
    let (ns, os) = (
        new.spec.clone().unwrap_or_default(),
        old.spec.clone().unwrap_or_default(),
    );
    let old_cidrs = os.pod_cidrs.unwrap_or_default();
    if !old_cidrs.is_empty() {
        let new_cidrs = ns.pod_cidrs.unwrap_or_default();
        if old_cidrs.len() != new_cidrs.len() {
            errs.push(Cause::forbidden("spec.podCIDRs", CIDR_CHANGE));
        } else {
            for (o, n) in old_cidrs.iter().zip(&new_cidrs) {
                if o != n {
                    errs.push(Cause::forbidden("spec.podCIDRs", CIDR_CHANGE));
                }
            }
        }
    }
    if os.provider_id.as_deref().is_some_and(|p| !p.is_empty()) && os.provider_id != ns.provider_id
    {
        errs.push(Cause::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use rstest::rstest;
    use serde_json::{Value, json};

    fn node(spec: Value) -> Value {
        json!({"metadata": {"name": "n1"}, "spec": spec, "status": {"capacity": {"cpu": "4", "pods": "110"}}})
    }

    #[test]
    fn create_keeps_the_status_a_node_reports() {
        let out = create("nodes", node(json!({}))).unwrap();
        assert_eq!(out["status"]["capacity"]["pods"], "110");
    }

    #[rstest]
    #[case(json!({"taints": [{"key": "k", "effect": "Sometimes"}]}),
        "spec.taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"")]
    #[case(json!({"taints": [{"key": "k"}]}), "spec.taints[0].effect: Required value")]
    #[case(json!({"podCIDRs": ["10.0.0.0/33"]}),
        "spec.podCIDRs[0]: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]
    fn invalid_nodes(#[case] spec: Value, #[case] want: &str) {
        let err = create("nodes", node(spec)).unwrap_err();
        assert_eq!(causes(&err), vec![want]);
    }

    #[test]
    fn pod_cidr_and_provider_id_only_go_from_unset_to_set() {
        let old = create("nodes", node(json!({}))).unwrap();
        let mut set = old.clone();
        set["spec"] = json!({"podCIDRs": ["10.244.1.0/24"], "providerID": "kwok://n1"});
        let set = update("nodes", set, &old).unwrap();
        let mut changed = set.clone();
        changed["spec"] = json!({"podCIDRs": ["10.244.2.0/24"], "providerID": "kwok://n2"});
        let err = update("nodes", changed, &set).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid",
                "spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid"
            ]
        );
    }
}
