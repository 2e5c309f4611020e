//! What PreFilter and PreScore share (upstream `podtopologyspread/common.go`): a pod's spread
//! constraints compiled once per pod, which nodes count towards a constraint's domains (node
//! inclusion policies), and how matching pods are counted.

use k8s_openapi::api::core::v1::{
    NodeSelectorRequirement, NodeSelectorTerm, TopologySpreadConstraint,
};

use crate::controllers::taints::tolerates;
use crate::scheduler::framework::{Labels, NodeInfo, PodInfo, compile_selector};
use crate::store::{LabelSelector, Requirement};

/// `DoNotSchedule`: the constraint is a filter.
pub const DO_NOT_SCHEDULE: &str = "DoNotSchedule";
/// `ScheduleAnyway`: the constraint is a score.
pub const SCHEDULE_ANYWAY: &str = "ScheduleAnyway";
/// The node label that names one node's domain; its counts are taken per node in Score.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// The zone label of the system default constraints.
pub const LABEL_TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";

/// A spread constraint, compiled (upstream `topologySpreadConstraint`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Constraint {
    pub(crate) max_skew: i32,
    pub(crate) topology_key: String,
    /// `None` is upstream's `labels.Nothing()`: an absent `labelSelector` selects no pod.
    pub(crate) selector: Option<LabelSelector>,
    /// 1 when unset.
    pub(crate) min_domains: i32,
    /// `nodeAffinityPolicy: Honor` (the default): only nodes matching the pod's node selector
    /// and required node affinity count.
    pub(crate) honor_node_affinity: bool,
    /// `nodeTaintsPolicy: Honor` (default Ignore): only nodes whose NoSchedule/NoExecute taints
    /// the pod tolerates count.
    pub(crate) honor_node_taints: bool,
}

impl Constraint {
    /// Whether the selector selects these labels (upstream `Selector.Matches`; an empty
    /// selector matches everything).
    pub(crate) fn selects(&self, labels: &Labels) -> bool {
        self.selector
            .as_ref()
            .is_some_and(|s| s.matches(|k| labels.get(k).map(String::as_str)))
    }

    /// Whether `node` counts towards this constraint's domains for `pod` (upstream
    /// `matchNodeInclusionPolicies`).
    pub(crate) fn includes(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        (!self.honor_node_affinity || matches_required_node_affinity(pod, node))
            && (!self.honor_node_taints || tolerates_schedule_taints(pod, node))
    }

    /// The pods on `node` in namespace `ns` this constraint selects, terminating pods aside
    /// (upstream `countPodsMatchSelector`, which counts nothing for an empty selector).
    pub(crate) fn count_on(&self, node: &NodeInfo, ns: &str) -> i64 {
        let Some(sel) = &self.selector else {
            return 0;
        };
        if sel.is_empty() {
            return 0;
        }
        node.pods
            .iter()
            .filter(|p| {
                !p.terminating
                    && p.namespace == ns
                    && sel.matches(|k| p.labels.get(k).map(String::as_str))
            })
            .count() as i64
    }
}

/// Compile the constraints of `constraints` whose `whenUnsatisfiable` is `action` (upstream
/// `filterTopologySpreadConstraints`), merging `matchLabelKeys` with the pod's values into
/// the selector.
pub(crate) fn compile_constraints(
    constraints: &[TopologySpreadConstraint],
    pod_labels: &Labels,
    action: &str,
) -> Result<Vec<Constraint>, String> {
    let mut out = Vec::new();
    for c in constraints
        .iter()
        .filter(|c| c.when_unsatisfiable == action)
    {
        let mut selector = c
            .label_selector
            .as_ref()
            .map(compile_selector)
            .transpose()?;
        if let Some(sel) = &mut selector {
            let mut extra = Vec::new();
            for key in c.match_label_keys.iter().flatten() {
                if let Some(v) = pod_labels.get(key) {
                    extra.push(Requirement::Equals(key.clone(), v.clone()));
                }
            }
            if !extra.is_empty() {
                extra.append(&mut sel.requirements);
                extra.sort_by(|a, b| a.key().cmp(b.key()));
                sel.requirements = extra;
            }
        }
        out.push(Constraint {
            max_skew: c.max_skew,
            topology_key: c.topology_key.clone(),
            selector,
            min_domains: c.min_domains.unwrap_or(1),
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        });
    }
    Ok(out)
}

/// Whether the node has every constraint's topology key (upstream
/// `nodeLabelsMatchSpreadConstraints`).
pub(crate) fn has_all_topology_keys(labels: &Labels, constraints: &[Constraint]) -> bool {
    constraints
        .iter()
        .all(|c| labels.contains_key(&c.topology_key))
}

/// Whether the node matches the pod's `nodeSelector` and required node affinity (upstream
/// `nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`, parse errors as no match).
pub(crate) fn matches_required_node_affinity(pod: &PodInfo, node: &NodeInfo) -> bool {
    if !pod
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
    {
        return false;
    }
    let Some(required) = pod.required_node_affinity() else {
        return true;
    };
    required
        .node_selector_terms
        .iter()
        .any(|t| term_matches(t, node))
}

/// A node selector term: all its requirements hold. A term with none matches nothing.
fn term_matches(t: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    let exprs = t.match_expressions.as_deref().unwrap_or_default();
    let fields = t.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, node.labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            r.key == "metadata.name"
                && matches!(r.operator.as_str(), "In" | "NotIn")
                && requirement_matches(r, Some(node.name.as_str()))
        })
}

/// One requirement against the node's value for its key (upstream `nodeaffinity` with
/// `labels.NewRequirement`'s validation: a malformed requirement matches nothing).
fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let int = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => !values.is_empty() && value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !values.is_empty() && value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => values.is_empty() && value.is_some(),
        "DoesNotExist" => values.is_empty() && value.is_none(),
        op @ ("Gt" | "Lt") => {
            let [bound] = values else { return false };
            let (Some(bound), Some(v)) = (int(bound), value.and_then(int)) else {
                return false;
            };
            if op == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

/// Whether the pod tolerates every NoSchedule and NoExecute taint of the node (upstream
/// `FindMatchingUntoleratedTaint` with `DoNotScheduleTaintsFilterFunc`).
pub(crate) fn tolerates_schedule_taints(pod: &PodInfo, node: &NodeInfo) -> bool {
    node.taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .all(|t| pod.tolerations.iter().any(|tol| tolerates(tol, t)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod};

    fn node_with(labels: &[(&str, &str)]) -> NodeInfo {
        node(simple_node("n1", "4", "8Gi", labels), &[])
    }

    fn pod_with_affinity(required: serde_json::Value) -> std::sync::Arc<PodInfo> {
        let mut v = simple_pod("p", "", "");
        v["spec"]["affinity"] = json!({ "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": { "nodeSelectorTerms": required } } });
        pod(v)
    }

    #[test]
    fn node_affinity_terms_are_ored_and_requirements_anded() {
        let p = pod_with_affinity(json!([
            { "matchExpressions": [ { "key": "zone", "operator": "In", "values": ["a"] },
                                    { "key": "gpu", "operator": "DoesNotExist" } ] },
            { "matchExpressions": [ { "key": "size", "operator": "Gt", "values": ["3"] } ] }
        ]));
        assert!(matches_required_node_affinity(
            &p,
            &node_with(&[("zone", "a")])
        ));
        assert!(!matches_required_node_affinity(
            &p,
            &node_with(&[("zone", "a"), ("gpu", "x")])
        ));
        assert!(matches_required_node_affinity(
            &p,
            &node_with(&[("size", "4")])
        ));
        assert!(!matches_required_node_affinity(
            &p,
            &node_with(&[("size", "3")])
        ));
        assert!(!matches_required_node_affinity(&p, &node_with(&[])));
    }

    #[test]
    fn match_fields_select_the_node_by_name_and_empty_terms_match_nothing() {
        let p = pod_with_affinity(json!([
            { "matchFields": [ { "key": "metadata.name", "operator": "In", "values": ["n1"] } ] }
        ]));
        assert!(matches_required_node_affinity(&p, &node_with(&[])));
        let p = pod_with_affinity(json!([{}]));
        assert!(!matches_required_node_affinity(&p, &node_with(&[])));
    }

    #[test]
    fn the_node_selector_must_match_too() {
        let mut v = simple_pod("p", "", "");
        v["spec"]["nodeSelector"] = json!({ "disk": "ssd" });
        let p = pod(v);
        assert!(matches_required_node_affinity(
            &p,
            &node_with(&[("disk", "ssd")])
        ));
        assert!(!matches_required_node_affinity(
            &p,
            &node_with(&[("disk", "hdd")])
        ));
    }

    #[test]
    fn only_schedule_blocking_taints_need_tolerating() {
        let mut n = node_with(&[]);
        n.taints = serde_json::from_value(json!([
            { "key": "soft", "effect": "PreferNoSchedule" }
        ]))
        .unwrap();
        let plain = pod(simple_pod("p", "", ""));
        assert!(tolerates_schedule_taints(&plain, &n));
        n.taints =
            serde_json::from_value(json!([ { "key": "hard", "effect": "NoSchedule" } ])).unwrap();
        assert!(!tolerates_schedule_taints(&plain, &n));
        let mut v = simple_pod("p", "", "");
        v["spec"]["tolerations"] = json!([ { "key": "hard", "operator": "Exists" } ]);
        assert!(tolerates_schedule_taints(&pod(v), &n));
    }

    #[test]
    fn match_label_keys_merge_the_pods_values_into_the_selector() {
        let c: TopologySpreadConstraint = serde_json::from_value(json!({
            "maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": { "matchLabels": { "app": "web" } },
            "matchLabelKeys": ["pod-template-hash", "absent"]
        }))
        .unwrap();
        let labels: Labels = [("app", "web"), ("pod-template-hash", "abc")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let got = compile_constraints(std::slice::from_ref(&c), &labels, DO_NOT_SCHEDULE).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].selector.as_ref().unwrap().to_string(),
            "app=web,pod-template-hash=abc"
        );
        assert_eq!(got[0].min_domains, 1);
        assert!(got[0].honor_node_affinity && !got[0].honor_node_taints);
        assert!(
            compile_constraints(&[c], &labels, SCHEDULE_ANYWAY)
                .unwrap()
                .is_empty()
        );
    }
}
