//! The ResourceQuota admission plugin (upstream
//! `apiserver/pkg/admission/plugin/resourcequota`): measure what a create or update adds to each
//! quota of the namespace that covers the object, reject it with upstream's message when a hard
//! limit would be exceeded, and otherwise charge the quotas' `status.used` before the object is
//! stored. The quota controller later recomputes usage from scratch, which repairs any charge
//! for a write that failed after admission.

use std::collections::BTreeSet;

use serde_json::Value;

use super::quantity::{
    ResourceList, add_lists, less_than_or_equal, list_to_json, mask, parse_list, pretty_print,
    remove_zeros, sub_lists_non_negative,
};
use super::quota_usage::{Evaluator, Operation, ScopeRequirement, quota_scopes};

/// A ResourceQuota as admission sees it: `status.hard` (what the controller last published, not
/// `spec.hard`), `status.used`, and scopes.
#[derive(Clone, Debug)]
pub(crate) struct QuotaDoc {
    pub name: String,
    pub hard: ResourceList,
    pub used: ResourceList,
    pub scopes: Vec<ScopeRequirement>,
    /// The stored revision, the precondition of the charge.
    pub revision: u64,
    /// The stored object, to write back with a new `status.used`.
    pub object: Value,
}

impl QuotaDoc {
    /// Read a stored quota.
    pub(crate) fn new(object: Value, revision: u64) -> Self {
        Self {
            name: object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            hard: parse_list(object.pointer("/status/hard")),
            used: parse_list(object.pointer("/status/used")),
            scopes: quota_scopes(&object),
            revision,
            object,
        }
    }

    /// The stored object with `status.used` replaced.
    pub(crate) fn with_used(&self, used: &ResourceList) -> Value {
        let mut obj = self.object.clone();
        if !obj.get("status").is_some_and(Value::is_object) {
            obj["status"] = Value::Object(Default::default());
        }
        obj["status"]["used"] = list_to_json(used);
        obj
    }
}

/// What one request changes: for each quota index, its new `status.used`.
pub(crate) type Charges = Vec<(usize, ResourceList)>;

/// Check a request against every quota (upstream `CheckRequest`). `old` is the stored object of
/// an update. The error is the detail of a 403 Forbidden.
pub(crate) fn check_request(
    quotas: &[QuotaDoc],
    evaluator: Evaluator,
    op: Operation,
    obj: &Value,
    old: Option<&Value>,
    now: jiff::Timestamp,
) -> Result<Charges, String> {
    if !evaluator.handles(op) {
        return Ok(Vec::new());
    }
    let mut interesting = Vec::new();
    for (i, quota) in quotas.iter().enumerate() {
        if !evaluator.matches(&quota.hard, &quota.scopes, obj) {
            continue;
        }
        let restricted = evaluator.matching_resources(quota.hard.keys());
        if let Err(e) = evaluator.constraints(&restricted, obj) {
            return Err(format!("failed quota: {}: {e}", quota.name));
        }
        if restricted
            .iter()
            .any(|r| quota.hard.contains_key(r) && !quota.used.contains_key(r))
        {
            let names: BTreeSet<&String> = restricted.iter().collect();
            let names: Vec<&str> = names.into_iter().map(String::as_str).collect();
            return Err(format!(
                "status unknown for quota: {}, resources: {}",
                quota.name,
                names.join(",")
            ));
        }
        interesting.push(i);
    }
    if interesting.is_empty() {
        return Ok(Vec::new());
    }

    let input = evaluator.usage(obj, now);
    let negative: Vec<&str> = input
        .iter()
        .filter(|(_, q)| q.is_negative())
        .map(|(k, _)| k.as_str())
        .collect();
    if !negative.is_empty() {
        return Err(format!(
            "quota usage is negative for resource(s): {}",
            negative.join(",")
        ));
    }

    let mut deltas: Vec<(usize, ResourceList)> =
        interesting.iter().map(|&i| (i, input.clone())).collect();
    if let Some(old) = old.filter(|_| op != Operation::Create) {
        let delta = sub_lists_non_negative(&input, &evaluator.usage(old, now));
        for (i, d) in &mut deltas {
            let q = &quotas[*i];
            if evaluator.matches(&q.hard, &q.scopes, old) {
                *d = delta.clone();
            }
        }
    }
    let deltas: Vec<(usize, ResourceList)> = deltas
        .into_iter()
        .map(|(i, d)| (i, remove_zeros(&d)))
        .filter(|(_, d)| !d.is_empty())
        .collect();

    let mut charges = Vec::new();
    for (i, delta) in deltas {
        let quota = &quotas[i];
        let requested = mask(&delta, quota.hard.keys());
        let new_used = add_lists(&quota.used, &requested);
        if !matches!(op, Operation::UpdateStatus { .. }) {
            let (ok, exceeded) =
                less_than_or_equal(&mask(&new_used, requested.keys()), &quota.hard);
            if !ok {
                return Err(format!(
                    "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                    quota.name,
                    pretty_print(&mask(&requested, &exceeded)),
                    pretty_print(&mask(&quota.used, &exceeded)),
                    pretty_print(&mask(&quota.hard, &exceeded)),
                ));
            }
        }
        charges.push((i, new_used));
    }
    Ok(charges)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::RESOURCES;

    fn now() -> jiff::Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn eval(plural: &str) -> Evaluator {
        Evaluator::for_resource(RESOURCES.iter().find(|r| r.plural == plural).unwrap())
    }

    fn quota(name: &str, hard: Value, used: Value) -> QuotaDoc {
        QuotaDoc::new(
            json!({"metadata": {"name": name}, "spec": {"hard": hard}, "status": {"hard": hard, "used": used}}),
            1,
        )
    }

    fn pod(cpu: &str) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}, "limits": {"cpu": cpu, "memory": "64Mi"}}}
        ]}})
    }

    #[test]
    fn a_pod_within_quota_is_charged() {
        let q = quota(
            "q",
            json!({"pods": "2", "requests.cpu": "1"}),
            json!({"pods": "1", "requests.cpu": "500m"}),
        );
        let charges = check_request(
            &[q],
            eval("pods"),
            Operation::Create,
            &pod("250m"),
            None,
            now(),
        )
        .unwrap();
        assert_eq!(charges.len(), 1);
        assert_eq!(pretty_print(&charges[0].1), "pods=2,requests.cpu=750m");
    }

    #[test]
    fn exceeding_a_count_is_rejected_with_upstreams_message() {
        let q = quota("compute", json!({"pods": "2"}), json!({"pods": "2"}));
        let err = check_request(
            &[q],
            eval("pods"),
            Operation::Create,
            &pod("1"),
            None,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2"
        );
    }

    #[test]
    fn exceeded_resources_are_listed_sorted() {
        let q = quota(
            "q",
            json!({"limits.cpu": "1", "requests.cpu": "1", "pods": "10", "requests.memory": "1Gi"}),
            json!({"limits.cpu": "500m", "requests.cpu": "500m", "pods": "1", "requests.memory": "0"}),
        );
        let err = check_request(
            &[q],
            eval("pods"),
            Operation::Create,
            &pod("1"),
            None,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: q, requested: limits.cpu=1,requests.cpu=1, used: limits.cpu=500m,requests.cpu=500m, \
             limited: limits.cpu=1,requests.cpu=1"
        );
    }

    #[test]
    fn a_compute_quota_requires_every_container_to_declare_it() {
        let q = quota(
            "q",
            json!({"limits.memory": "1Gi"}),
            json!({"limits.memory": "0"}),
        );
        let p = json!({"spec": {"containers": [{"name": "web"}, {"name": "side", "resources": {"limits": {"memory": "1Mi"}}}]}});
        let err =
            check_request(&[q], eval("pods"), Operation::Create, &p, None, now()).unwrap_err();
        assert_eq!(err, "failed quota: q: must specify limits.memory for: web");
    }

    #[test]
    fn a_quota_without_usage_for_a_hard_resource_is_status_unknown() {
        let q = quota(
            "q",
            json!({"pods": "5", "requests.cpu": "1", "services": "1"}),
            json!({"pods": "0"}),
        );
        let err = check_request(
            &[q],
            eval("pods"),
            Operation::Create,
            &pod("1"),
            None,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "status unknown for quota: q, resources: pods,requests.cpu"
        );
    }

    #[test]
    fn a_quota_the_controller_has_not_published_is_ignored() {
        let q = QuotaDoc::new(
            json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "0"}}}),
            1,
        );
        assert!(
            check_request(
                &[q],
                eval("pods"),
                Operation::Create,
                &pod("1"),
                None,
                now()
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn scoped_quotas_only_see_matching_pods() {
        let mut be = quota("be", json!({"pods": "0"}), json!({"pods": "0"}));
        be.scopes = vec![ScopeRequirement {
            scope: "BestEffort".into(),
            operator: "Exists".into(),
            values: vec![],
        }];
        // A pod with requests is not BestEffort: the quota does not apply.
        assert!(
            check_request(
                &[be.clone()],
                eval("pods"),
                Operation::Create,
                &pod("1"),
                None,
                now()
            )
            .unwrap()
            .is_empty()
        );
        let best_effort = json!({"spec": {"containers": [{"name": "c"}]}});
        let err = check_request(
            &[be],
            eval("pods"),
            Operation::Create,
            &best_effort,
            None,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: be, requested: pods=1, used: pods=0, limited: pods=0"
        );
    }

    #[test]
    fn object_counts_and_services_charge_their_own_names() {
        let q = quota(
            "objects",
            json!({"configmaps": "1", "count/configmaps": "5", "services.nodeports": "1", "services": "5"}),
            json!({"configmaps": "1", "count/configmaps": "1", "services.nodeports": "0", "services": "0"}),
        );
        let err = check_request(
            &[q.clone()],
            eval("configmaps"),
            Operation::Create,
            &json!({}),
            None,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1"
        );
        let svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}});
        let err = check_request(
            &[q.clone()],
            eval("services"),
            Operation::Create,
            &svc,
            None,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: objects, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"
        );
        let cluster_ip = json!({"spec": {"type": "ClusterIP", "ports": [{"port": 1}]}});
        let charges = check_request(
            &[q],
            eval("services"),
            Operation::Create,
            &cluster_ip,
            None,
            now(),
        )
        .unwrap();
        assert_eq!(
            pretty_print(&charges[0].1),
            "configmaps=1,count/configmaps=1,services=1,services.nodeports=0"
        );
    }

    #[test]
    fn updates_charge_only_the_growth() {
        let q = quota(
            "storage",
            json!({"requests.storage": "10Gi"}),
            json!({"requests.storage": "8Gi"}),
        );
        let pvc = |s: &str| json!({"spec": {"resources": {"requests": {"storage": s}}}});
        let ev = eval("persistentvolumeclaims");
        let charges = check_request(
            &[q.clone()],
            ev,
            Operation::Update,
            &pvc("5Gi"),
            Some(&pvc("4Gi")),
            now(),
        )
        .unwrap();
        assert_eq!(pretty_print(&charges[0].1), "requests.storage=9Gi");
        let err = check_request(
            &[q.clone()],
            ev,
            Operation::Update,
            &pvc("8Gi"),
            Some(&pvc("4Gi")),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: storage, requested: requests.storage=4Gi, used: requests.storage=8Gi, limited: requests.storage=10Gi"
        );
        // Shrinking charges nothing.
        assert!(
            check_request(
                &[q.clone()],
                ev,
                Operation::Update,
                &pvc("1Gi"),
                Some(&pvc("4Gi")),
                now()
            )
            .unwrap()
            .is_empty()
        );
        // Pods are not measured on update: their requests are immutable.
        assert!(
            check_request(
                &[q],
                eval("pods"),
                Operation::Update,
                &pod("1"),
                Some(&pod("1")),
                now()
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn status_writes_are_charged_but_never_rejected() {
        let q = quota(
            "storage",
            json!({"requests.storage": "1Gi"}),
            json!({"requests.storage": "1Gi"}),
        );
        let old = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        let mut new = old.clone();
        new["status"] = json!({"allocatedResources": {"storage": "2Gi"}});
        let op = Operation::UpdateStatus {
            allocation_changed: true,
        };
        let charges = check_request(
            &[q],
            eval("persistentvolumeclaims"),
            op,
            &new,
            Some(&old),
            now(),
        )
        .unwrap();
        assert_eq!(pretty_print(&charges[0].1), "requests.storage=2Gi");
    }

    #[test]
    fn every_quota_must_allow_the_request() {
        let roomy = quota("a-roomy", json!({"pods": "10"}), json!({"pods": "1"}));
        let full = quota("b-full", json!({"pods": "1"}), json!({"pods": "1"}));
        let err = check_request(
            &[roomy, full],
            eval("pods"),
            Operation::Create,
            &pod("1"),
            None,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: b-full, requested: pods=1, used: pods=1, limited: pods=1"
        );
    }

    #[test]
    fn charged_quota_object_keeps_hard_and_gets_the_new_used() {
        let q = quota("q", json!({"pods": "2"}), json!({"pods": "1"}));
        let used: ResourceList = [(
            "pods".to_string(),
            crate::admission::quantity::Quantity::from_units(2),
        )]
        .into();
        let obj = q.with_used(&used);
        assert_eq!(
            obj["status"],
            json!({"hard": {"pods": "2"}, "used": {"pods": "2"}})
        );
    }
}
