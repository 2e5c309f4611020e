//! Which nodes a DaemonSet's pods belong on (upstream `daemon_controller.go`
//! `NodeShouldRunDaemonPod` and `util/daemonset_util.go`): the template's `nodeName`,
//! `nodeSelector` and required node affinity must admit the node, and its taints must be
//! tolerated by the pod's tolerations plus the ones every daemon pod gets. A node whose
//! NoSchedule taints the pod does not tolerate keeps the pods already there (they "continue
//! running") unless a NoExecute taint is untolerated too.
//!
//! Daemon pods are bound by the scheduler: each is pinned to its node by a required node
//! affinity on `metadata.name` ([`pin_to_node`]), and [`target_node`] reads that back.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelector, PodSpec, Taint, Toleration};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::controllers::taints::{
    NO_EXECUTE, NO_SCHEDULE, TAINT_DISK_PRESSURE, TAINT_MEMORY_PRESSURE, TAINT_NETWORK_UNAVAILABLE,
    TAINT_NOT_READY, TAINT_PID_PRESSURE, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE,
};
use crate::scheduler::plugins::node_affinity::CompiledNodeSelector;
use crate::scheduler::plugins::taint_toleration::find_untolerated_taint;

/// What eligibility reads of a node.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct NodeView {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// `(type, status)` of each condition: a change here can change taints soon after.
    pub conditions: Vec<(String, String)>,
}

impl NodeView {
    /// Parse a stored node.
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct Raw {
            metadata: RawMeta,
            spec: RawSpec,
            status: RawStatus,
        }
        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct RawMeta {
            name: String,
            labels: BTreeMap<String, String>,
        }
        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct RawSpec {
            taints: Vec<Taint>,
        }
        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct RawStatus {
            conditions: Vec<RawCondition>,
        }
        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct RawCondition {
            #[serde(rename = "type")]
            type_: String,
            status: String,
        }
        let raw: Raw = serde_json::from_slice(bytes).unwrap_or_default();
        Self {
            name: raw.metadata.name,
            labels: raw.metadata.labels,
            taints: raw.spec.taints,
            conditions: raw
                .status
                .conditions
                .into_iter()
                .map(|c| (c.type_, c.status))
                .collect(),
        }
    }
}

/// The tolerations upstream adds to every daemon pod (`AddOrUpdateDaemonPodTolerations`): it
/// stays through not-ready and unreachable with no time limit, and is scheduled despite
/// pressure and cordons; host-network pods also despite an unavailable network.
pub(crate) fn daemon_tolerations(host_network: bool) -> Vec<Toleration> {
    let toleration = |key: &str, effect: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Default::default()
    };
    let mut out = vec![
        toleration(TAINT_NOT_READY, NO_EXECUTE),
        toleration(TAINT_UNREACHABLE, NO_EXECUTE),
        toleration(TAINT_DISK_PRESSURE, NO_SCHEDULE),
        toleration(TAINT_MEMORY_PRESSURE, NO_SCHEDULE),
        toleration(TAINT_PID_PRESSURE, NO_SCHEDULE),
        toleration(TAINT_UNSCHEDULABLE, NO_SCHEDULE),
    ];
    if host_network {
        out.push(toleration(TAINT_NETWORK_UNAVAILABLE, NO_SCHEDULE));
    }
    out
}

/// Add or update one toleration (upstream `AddOrUpdateTolerationInPodSpec`): one with the same
/// key, operator, value and effect is replaced; otherwise it is appended.
fn add_or_update(tolerations: &mut Vec<Toleration>, toleration: Toleration) {
    let same = |t: &Toleration| {
        t.key == toleration.key
            && t.operator == toleration.operator
            && t.value == toleration.value
            && t.effect == toleration.effect
    };
    match tolerations.iter_mut().find(|t| same(t)) {
        Some(existing) => *existing = toleration,
        None => tolerations.push(toleration),
    }
}

/// The pod spec's tolerations with the daemon tolerations added or updated.
pub(crate) fn with_daemon_tolerations(spec: &PodSpec) -> Vec<Toleration> {
    let mut tolerations = spec.tolerations.clone().unwrap_or_default();
    for t in daemon_tolerations(spec.host_network == Some(true)) {
        add_or_update(&mut tolerations, t);
    }
    tolerations
}

/// A DaemonSet's template, compiled once per sync for the per-node checks.
#[derive(Debug)]
pub(crate) struct Placement {
    node_name: Option<String>,
    node_selector: BTreeMap<String, String>,
    affinity: Option<CompiledNodeSelector>,
    tolerations: Vec<Toleration>,
}

/// Whether a daemon pod should be created on a node, and whether one there may stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub should_run: bool,
    pub should_continue_running: bool,
}

impl Placement {
    /// From the template's pod spec.
    pub(crate) fn new(spec: &PodSpec) -> Self {
        let affinity = spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map(CompiledNodeSelector::lazy);
        Self {
            node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
            node_selector: spec.node_selector.clone().unwrap_or_default(),
            affinity,
            tolerations: with_daemon_tolerations(spec),
        }
    }

    /// Upstream `NodeShouldRunDaemonPod`.
    pub(crate) fn verdict(&self, node: &NodeView) -> Verdict {
        const NEITHER: Verdict = Verdict {
            should_run: false,
            should_continue_running: false,
        };
        if self.node_name.as_ref().is_some_and(|n| *n != node.name) {
            return NEITHER;
        }
        let fits_selector = self
            .node_selector
            .iter()
            .all(|(k, v)| node.labels.get(k) == Some(v));
        let fits_affinity = self
            .affinity
            .as_ref()
            .is_none_or(|a| a.matches(&node.name, &node.labels));
        if !fits_selector || !fits_affinity {
            return NEITHER;
        }
        let untolerated = find_untolerated_taint(&node.taints, &self.tolerations, |t| {
            t.effect == NO_SCHEDULE || t.effect == NO_EXECUTE
        });
        if untolerated.is_none() {
            return Verdict {
                should_run: true,
                should_continue_running: true,
            };
        }
        let evicting =
            find_untolerated_taint(&node.taints, &self.tolerations, |t| t.effect == NO_EXECUTE);
        Verdict {
            should_run: false,
            should_continue_running: evicting.is_none(),
        }
    }
}

/// Pin a pod template (JSON) to `node` (upstream `ReplaceDaemonSetPodNodeNameNodeAffinity`): its
/// required node affinity becomes the single term `metadata.name In [node]`; preferred terms and
/// pod (anti-)affinity are kept.
pub(crate) fn pin_to_node(template: &mut Value, node: &str) {
    let required = json!({"nodeSelectorTerms": [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": [node]}
    ]}]});
    let spec = &mut template["spec"];
    if !spec["affinity"].is_object() {
        spec["affinity"] = json!({});
    }
    if !spec["affinity"]["nodeAffinity"].is_object() {
        spec["affinity"]["nodeAffinity"] = json!({});
    }
    spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = required;
}

/// The node a daemon pod is for (upstream `GetTargetNodeName`): its `spec.nodeName`, or the
/// `metadata.name In [node]` of its required node affinity; `None` when it names neither.
pub(crate) fn target_node(pod: &Value) -> Option<String> {
    if let Some(n) = pod.pointer("/spec/nodeName").and_then(Value::as_str)
        && !n.is_empty()
    {
        return Some(n.to_string());
    }
    let selector: NodeSelector = serde_json::from_value(
        pod.pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")?
            .clone(),
    )
    .ok()?;
    for term in &selector.node_selector_terms {
        for r in term.match_fields.iter().flatten() {
            if r.key == "metadata.name" && r.operator == "In" {
                let values = r.values.as_deref().unwrap_or_default();
                return (values.len() == 1).then(|| values[0].clone());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn node(labels: Value, taints: Value) -> NodeView {
        NodeView::parse(
            json!({"metadata": {"name": "n1", "labels": labels}, "spec": {"taints": taints}})
                .to_string()
                .as_bytes(),
        )
    }

    fn spec(v: Value) -> PodSpec {
        let mut base = json!({"containers": [{"name": "c", "image": "i"}]});
        for (k, val) in v.as_object().unwrap() {
            base[k] = val.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    const RUN: Verdict = Verdict {
        should_run: true,
        should_continue_running: true,
    };
    const STAY: Verdict = Verdict {
        should_run: false,
        should_continue_running: true,
    };
    const NO: Verdict = Verdict {
        should_run: false,
        should_continue_running: false,
    };

    // The cases of upstream's TestNodeShouldRunDaemonPod that do not depend on resources (the
    // controller no longer checks fit since the scheduler binds daemon pods).
    #[rstest]
    #[case::plain(json!({}), json!({}), json!([]), RUN)]
    #[case::node_name_matches(json!({"nodeName": "n1"}), json!({}), json!([]), RUN)]
    #[case::node_name_differs(json!({"nodeName": "other"}), json!({}), json!([]), NO)]
    #[case::selector_matches(json!({"nodeSelector": {"disk": "ssd"}}), json!({"disk": "ssd"}), json!([]), RUN)]
    #[case::selector_differs(json!({"nodeSelector": {"disk": "ssd"}}), json!({"disk": "hdd"}), json!([]), NO)]
    #[case::affinity_matches(json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
        {"nodeSelectorTerms": [{"matchExpressions": [{"key": "type", "operator": "In", "values": ["production"]}]}]}}}}),
        json!({"type": "production"}), json!([]), RUN)]
    #[case::affinity_differs(json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
        {"nodeSelectorTerms": [{"matchExpressions": [{"key": "type", "operator": "In", "values": ["production"]}]}]}}}}),
        json!({"type": "test"}), json!([]), NO)]
    #[case::no_schedule_untolerated(json!({}), json!({}),
        json!([{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]), STAY)]
    #[case::no_execute_untolerated(json!({}), json!({}),
        json!([{"key": "dedicated", "value": "x", "effect": "NoExecute"}]), NO)]
    #[case::tolerated(json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoExecute"}]}),
        json!({}), json!([{"key": "dedicated", "value": "x", "effect": "NoExecute"}]), RUN)]
    #[case::prefer_no_schedule_ignored(json!({}), json!({}),
        json!([{"key": "dedicated", "value": "x", "effect": "PreferNoSchedule"}]), RUN)]
    #[case::not_ready_tolerated_by_default(json!({}), json!({}),
        json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
               {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]), RUN)]
    #[case::cordoned_tolerated_by_default(json!({}), json!({}),
        json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
               {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"},
               {"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"},
               {"key": "node.kubernetes.io/pid-pressure", "effect": "NoSchedule"}]), RUN)]
    #[case::network_unavailable_blocks_pod_network(json!({}), json!({}),
        json!([{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]), STAY)]
    #[case::network_unavailable_tolerated_by_host_network(json!({"hostNetwork": true}), json!({}),
        json!([{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]), RUN)]
    fn node_should_run_daemon_pod(
        #[case] pod: Value,
        #[case] labels: Value,
        #[case] taints: Value,
        #[case] want: Verdict,
    ) {
        let placement = Placement::new(&spec(pod));
        assert_eq!(placement.verdict(&node(labels, taints)), want);
    }

    #[test]
    fn daemon_tolerations_replace_a_matching_one_and_keep_the_rest() {
        let s = spec(json!({"tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "mine", "operator": "Exists"},
        ]}));
        let t = with_daemon_tolerations(&s);
        assert_eq!(t.len(), 7);
        assert_eq!(t[0].key.as_deref(), Some("node.kubernetes.io/not-ready"));
        assert_eq!(
            t[0].toleration_seconds, None,
            "no time limit for daemon pods"
        );
        assert_eq!(t[1].key.as_deref(), Some("mine"));
    }

    #[test]
    fn a_pinned_template_names_its_node_and_keeps_other_affinity() {
        let mut template = json!({"spec": {"affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}]},
            "podAntiAffinity": {}}}});
        pin_to_node(&mut template, "n7");
        let na = &template["spec"]["affinity"]["nodeAffinity"];
        assert_eq!(
            na["requiredDuringSchedulingIgnoredDuringExecution"],
            json!({"nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n7"]}]}]})
        );
        assert!(na["preferredDuringSchedulingIgnoredDuringExecution"].is_array());
        assert!(template["spec"]["affinity"]["podAntiAffinity"].is_object());
        assert_eq!(target_node(&template).as_deref(), Some("n7"));
        let mut bare = json!({"spec": {}});
        pin_to_node(&mut bare, "n1");
        assert_eq!(target_node(&bare).as_deref(), Some("n1"));
    }

    #[test]
    fn the_bound_node_wins_and_a_pod_naming_no_node_has_none() {
        let mut pod = json!({"spec": {"nodeName": "bound"}});
        pin_to_node(&mut pod, "pinned");
        assert_eq!(target_node(&pod).as_deref(), Some("bound"));
        assert_eq!(target_node(&json!({"spec": {}})), None);
    }
}
