//! How much quota an object uses, as upstream's quota evaluators (`pkg/quota/v1/evaluator/core`
//! and `apiserver/pkg/quota/v1/generic`): pods (compute resources, scopes), services (node ports,
//! load balancers), persistent volume claims (storage, per storage class) and an object-count
//! evaluator for every other resource. Shared by quota admission and the quota controller.

use std::collections::BTreeSet;

use serde_json::Value;

use super::pod_resources::{Overhead, container_list, is_best_effort, pod_limits, pod_requests};
use super::quantity::{Quantity, ResourceList, add_lists, parse_list};
use crate::registry::ResourceInfo;

/// One scope requirement of a quota: an entry of `spec.scopes` (operator `Exists`) or of
/// `spec.scopeSelector.matchExpressions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScopeRequirement {
    pub scope: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// The scope requirements of a quota object, `spec.scopes` first.
pub(crate) fn quota_scopes(quota: &Value) -> Vec<ScopeRequirement> {
    let mut out: Vec<ScopeRequirement> = quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| ScopeRequirement {
            scope: s.to_string(),
            operator: "Exists".into(),
            values: vec![],
        })
        .collect();
    for e in quota
        .pointer("/spec/scopeSelector/matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(ScopeRequirement {
            scope: e
                .get("scopeName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            operator: e
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            values: e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
        });
    }
    out
}

/// The object-count resource name of a resource: `count/pods`, `count/deployments.apps`.
pub(crate) fn object_count_name(info: &ResourceInfo) -> String {
    if info.group.is_empty() {
        format!("count/{}", info.plural)
    } else {
        format!("count/{}.{}", info.plural, info.group)
    }
}

/// Legacy names that count objects alongside `count/<resource>`.
fn legacy_alias(info: &ResourceInfo) -> Option<&'static str> {
    if !info.group.is_empty() {
        return None;
    }
    match info.plural {
        "configmaps" => Some("configmaps"),
        "resourcequotas" => Some("resourcequotas"),
        "replicationcontrollers" => Some("replicationcontrollers"),
        "secrets" => Some("secrets"),
        _ => None,
    }
}

/// Compute resources a pod quota tracks by name.
const POD_RESOURCES: &[&str] = &[
    "count/pods",
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
];

/// Quota resources whose presence obliges every container to declare them (upstream's
/// backward-compatibility `validationSet`).
const VALIDATION_SET: &[&str] = &[
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

const SERVICE_RESOURCES: &[&str] = &[
    "count/services",
    "services",
    "services.nodeports",
    "services.loadbalancers",
];

const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// A resource name outside `kubernetes.io/` that has a domain (upstream `IsNativeResource`).
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// An extended resource a container can request (`example.com/gpu`).
fn is_extended(name: &str) -> bool {
    !is_native(name) && !name.starts_with("requests.")
}

/// The operation quota admission measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    /// An update of the main resource.
    Update,
    /// An update that changed only `status` (upstream's `status` subresource): charged but never
    /// rejected.
    UpdateStatus {
        allocation_changed: bool,
    },
}

/// Which evaluator measures a resource.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Evaluator {
    Pods,
    Services,
    PersistentVolumeClaims,
    /// Counts objects only (`count/<resource>` and a legacy alias).
    ObjectCount(&'static ResourceInfo),
}

impl Evaluator {
    /// The evaluator for a resource.
    pub(crate) fn for_resource(info: &'static ResourceInfo) -> Self {
        match (info.group, info.plural) {
            ("", "pods") => Evaluator::Pods,
            ("", "services") => Evaluator::Services,
            ("", "persistentvolumeclaims") => Evaluator::PersistentVolumeClaims,
            _ => Evaluator::ObjectCount(info),
        }
    }

    /// Whether admission measures this operation (upstream `Handles`): every create; an update
    /// only where usage can change (a service's type, a claim's size).
    pub(crate) fn handles(&self, op: Operation) -> bool {
        match (self, op) {
            (_, Operation::Create) => true,
            (Evaluator::Services, _) => true,
            (Evaluator::PersistentVolumeClaims, Operation::Update) => true,
            (Evaluator::PersistentVolumeClaims, Operation::UpdateStatus { allocation_changed }) => {
                allocation_changed
            }
            _ => false,
        }
    }

    /// The subset of `input` (a quota's hard resource names) this evaluator tracks.
    pub(crate) fn matching_resources<'a>(
        &self,
        input: impl IntoIterator<Item = &'a String>,
    ) -> Vec<String> {
        input
            .into_iter()
            .filter(|name| match self {
                Evaluator::Pods => {
                    POD_RESOURCES.contains(&name.as_str())
                        || name.starts_with("hugepages-")
                        || name.starts_with("requests.hugepages-")
                        || (!is_native(name) && name.starts_with("requests."))
                }
                Evaluator::Services => SERVICE_RESOURCES.contains(&name.as_str()),
                Evaluator::PersistentVolumeClaims => {
                    matches!(
                        name.as_str(),
                        "count/persistentvolumeclaims"
                            | "persistentvolumeclaims"
                            | "requests.storage"
                    ) || name.ends_with(".storageclass.storage.k8s.io/persistentvolumeclaims")
                        || name.ends_with(".storageclass.storage.k8s.io/requests.storage")
                }
                Evaluator::ObjectCount(info) => {
                    **name == object_count_name(info) || legacy_alias(info) == Some(name.as_str())
                }
            })
            .cloned()
            .collect()
    }

    /// Whether an object falls under one scope requirement (upstream `MatchesScopeFunc`).
    pub(crate) fn matches_scope(&self, req: &ScopeRequirement, obj: &Value) -> bool {
        match self {
            Evaluator::Pods => pod_matches_scope(req, obj),
            Evaluator::PersistentVolumeClaims => pvc_matches_scope(req, obj),
            // Services and object counts match no scope: a scoped quota never covers them.
            Evaluator::Services | Evaluator::ObjectCount(_) => false,
        }
    }

    /// Whether a quota with these hard names and scopes covers the object (upstream
    /// `generic.Matches`).
    pub(crate) fn matches(
        &self,
        hard: &ResourceList,
        scopes: &[ScopeRequirement],
        obj: &Value,
    ) -> bool {
        !self.matching_resources(hard.keys()).is_empty()
            && scopes.iter().all(|s| self.matches_scope(s, obj))
    }

    /// Check that the object declares what the quota requires (upstream `Constraints`): a pod
    /// under a cpu or memory quota must set it on every container.
    pub(crate) fn constraints(&self, required: &[String], obj: &Value) -> Result<(), String> {
        let Evaluator::Pods = self else { return Ok(()) };
        let required: BTreeSet<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|r| VALIDATION_SET.contains(r))
            .collect();
        if required.is_empty() {
            return Ok(());
        }
        let mut missing: std::collections::BTreeMap<&str, BTreeSet<String>> = Default::default();
        for c in super::pod_resources::containers(obj) {
            let usage = compute_usage(&container_list(c, "requests"), &container_list(c, "limits"));
            for r in &required {
                if !usage.contains_key(*r) {
                    let name = c
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    missing.entry(r).or_default().insert(name);
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let parts: Vec<String> = missing
            .iter()
            .map(|(r, names)| {
                format!(
                    "{r} for: {}",
                    names.iter().cloned().collect::<Vec<_>>().join(",")
                )
            })
            .collect();
        Err(format!("must specify {}", parts.join("; ")))
    }

    /// The quota usage of one object (upstream `Usage`). `now` decides whether a pod stuck in
    /// deletion past its grace period still counts.
    pub(crate) fn usage(&self, obj: &Value, now: jiff::Timestamp) -> ResourceList {
        let one = Quantity::from_units(1);
        let mut out = ResourceList::new();
        match self {
            Evaluator::Pods => {
                out.insert("count/pods".into(), one);
                if !pod_charged(obj, now) {
                    return out;
                }
                let requests = pod_requests(obj, Overhead::Include);
                let limits = pod_limits(obj, Overhead::Include);
                out = add_lists(&out, &compute_usage(&requests, &limits));
            }
            Evaluator::Services => {
                out.insert("count/services".into(), one);
                out.insert("services".into(), one);
                out.insert("services.loadbalancers".into(), Quantity::default());
                out.insert("services.nodeports".into(), Quantity::default());
                let ports = obj.pointer("/spec/ports").and_then(Value::as_array);
                let count = |f: &dyn Fn(&Value) -> bool| {
                    Quantity::from_units(
                        ports.map_or(0, |p| p.iter().filter(|p| f(p)).count()) as i64
                    )
                };
                match obj.pointer("/spec/type").and_then(Value::as_str) {
                    Some("NodePort") => {
                        out.insert("services.nodeports".into(), count(&|_| true));
                    }
                    Some("LoadBalancer") => {
                        let no_alloc = obj.pointer("/spec/allocateLoadBalancerNodePorts")
                            == Some(&Value::Bool(false));
                        let nodeports = if no_alloc {
                            count(&|p| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0)
                        } else {
                            count(&|_| true)
                        };
                        out.insert("services.nodeports".into(), nodeports);
                        out.insert("services.loadbalancers".into(), one);
                    }
                    _ => {}
                }
            }
            Evaluator::PersistentVolumeClaims => {
                out.insert("persistentvolumeclaims".into(), one);
                out.insert("count/persistentvolumeclaims".into(), one);
                let class = pvc_storage_class(obj);
                if !class.is_empty() {
                    out.insert(
                        format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
                        one,
                    );
                }
                if let Some(storage) = pvc_storage(obj) {
                    out.insert("requests.storage".into(), storage);
                    if !class.is_empty() {
                        out.insert(
                            format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"),
                            storage,
                        );
                    }
                }
            }
            Evaluator::ObjectCount(info) => {
                out.insert(object_count_name(info), one);
                if let Some(alias) = legacy_alias(info) {
                    out.insert(alias.into(), one);
                }
            }
        }
        out
    }
}

/// A pod's compute usage from its requests and limits (upstream `podComputeUsageHelper`).
fn compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("pods".into(), Quantity::from_units(1));
    for (res, both) in [("cpu", true), ("memory", true), ("ephemeral-storage", true)] {
        if let Some(q) = requests.get(res) {
            if both {
                out.insert(res.into(), *q);
            }
            out.insert(format!("requests.{res}"), *q);
        }
        if let Some(q) = limits.get(res) {
            out.insert(format!("limits.{res}"), *q);
        }
    }
    for (name, q) in requests {
        if name.starts_with("hugepages-") {
            out.insert(name.clone(), *q);
            out.insert(format!("requests.{name}"), *q);
        }
        if is_extended(name) {
            out.insert(format!("requests.{name}"), *q);
        }
    }
    out
}

/// Whether a pod still counts against compute quota (upstream `QuotaV1Pod`): not terminal, and
/// not stuck in deletion past its grace period.
pub(crate) fn pod_charged(pod: &Value, now: jiff::Timestamp) -> bool {
    if matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Failed" | "Succeeded")
    ) {
        return false;
    }
    let deletion = pod
        .pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str);
    let grace = pod
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64);
    if let (Some(ts), Some(grace)) = (deletion, grace)
        && let Ok(ts) = ts.parse::<jiff::Timestamp>()
        && now > ts + jiff::SignedDuration::from_secs(grace)
    {
        return false;
    }
    true
}

fn pod_matches_scope(req: &ScopeRequirement, pod: &Value) -> bool {
    let terminating = pod
        .pointer("/spec/activeDeadlineSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|s| s >= 0);
    match req.scope.as_str() {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => is_best_effort(pod),
        "NotBestEffort" => !is_best_effort(pod),
        "PriorityClass" => {
            let class = pod
                .pointer("/spec/priorityClassName")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty());
            if req.operator == "Exists" {
                return class.is_some();
            }
            selector_matches(req, class)
        }
        "CrossNamespacePodAffinity" => uses_cross_namespace_affinity(pod),
        _ => false,
    }
}

/// A scope selector as a label selector over one optional key (upstream converts it to a
/// `labels.Selector` over `{<scopeName>: value}`).
fn selector_matches(req: &ScopeRequirement, value: Option<&str>) -> bool {
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| req.values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !req.values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

fn uses_cross_namespace_affinity(pod: &Value) -> bool {
    let cross = |term: &Value| {
        term.get("namespaces")
            .and_then(Value::as_array)
            .is_some_and(|n| !n.is_empty())
            || term.get("namespaceSelector").is_some_and(|s| !s.is_null())
    };
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let Some(a) = pod.pointer(&format!("/spec/affinity/{kind}")) else {
            return false;
        };
        let required = a
            .get("requiredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array);
        let preferred = a
            .get("preferredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array);
        required.into_iter().flatten().any(cross)
            || preferred
                .into_iter()
                .flatten()
                .any(|w| w.get("podAffinityTerm").is_some_and(cross))
    })
}

fn pvc_matches_scope(req: &ScopeRequirement, pvc: &Value) -> bool {
    if req.scope != "VolumeAttributesClass" {
        return false;
    }
    let names: BTreeSet<&str> = [
        "/spec/volumeAttributesClassName",
        "/status/currentVolumeAttributesClassName",
        "/status/modifyVolumeStatus/targetVolumeAttributesClassName",
    ]
    .iter()
    .filter_map(|p| pvc.pointer(p).and_then(Value::as_str))
    .filter(|s| !s.is_empty())
    .collect();
    if req.operator == "Exists" {
        return !names.is_empty();
    }
    if names.is_empty() {
        return selector_matches(req, None);
    }
    names.iter().any(|n| selector_matches(req, Some(n)))
}

/// The storage class a claim is charged to: the beta annotation, else `spec.storageClassName`.
fn pvc_storage_class(pvc: &Value) -> String {
    if let Some(c) = pvc
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .and_then(Value::as_str)
    {
        return c.to_string();
    }
    pvc.pointer("/spec/storageClassName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The storage a claim is charged: its request, or the allocated size if larger, in whole bytes.
fn pvc_storage(pvc: &Value) -> Option<Quantity> {
    let requested = parse_list(pvc.pointer("/spec/resources/requests"))
        .get("storage")
        .map(Quantity::round_up_to_units);
    let allocated = parse_list(pvc.pointer("/status/allocatedResources"))
        .get("storage")
        .copied();
    match (requested, allocated) {
        (Some(r), Some(a)) if a > r => Some(a.round_up_to_units()),
        (r, _) => r,
    }
}

/// Whether a status write changed the claim's allocated storage (upstream
/// `RequiresQuotaReplenish`, which decides whether quota admission looks at a PVC status write).
pub(crate) fn pvc_allocation_changed(new: &Value, old: &Value) -> bool {
    let alloc = |v: &Value| {
        parse_list(v.pointer("/status/allocatedResources"))
            .get("storage")
            .copied()
    };
    alloc(new) != alloc(old)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::admission::quantity::pretty_print;
    use crate::registry::find;

    fn now() -> jiff::Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn eval(plural: &str) -> Evaluator {
        let info = crate::registry::RESOURCES
            .iter()
            .find(|r| r.plural == plural)
            .unwrap();
        Evaluator::for_resource(info)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pod_usage_counts_requests_limits_and_extended_resources() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {
                "requests": {"cpu": "250m", "memory": "64Mi", "example.com/gpu": "1", "ephemeral-storage": "1Gi"},
                "limits": {"cpu": "500m", "memory": "128Mi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "250m"}}}
        ]}});
        assert_eq!(
            pretty_print(&eval("pods").usage(&pod, now())),
            "count/pods=1,cpu=500m,ephemeral-storage=1Gi,limits.cpu=500m,limits.memory=128Mi,memory=64Mi,pods=1,\
             requests.cpu=500m,requests.ephemeral-storage=1Gi,requests.example.com/gpu=1,requests.memory=64Mi"
        );
    }

    #[test]
    fn terminal_or_overdue_pods_only_count_as_objects() {
        let failed =
            json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Succeeded"}});
        assert_eq!(
            pretty_print(&eval("pods").usage(&failed, now())),
            "count/pods=1"
        );
        let overdue = json!({"metadata": {"deletionTimestamp": "2025-12-31T23:59:00Z", "deletionGracePeriodSeconds": 30},
            "spec": {"containers": [{"name": "a"}]}});
        assert_eq!(
            pretty_print(&eval("pods").usage(&overdue, now())),
            "count/pods=1"
        );
        let within = json!({"metadata": {"deletionTimestamp": "2025-12-31T23:59:50Z", "deletionGracePeriodSeconds": 30},
            "spec": {"containers": [{"name": "a"}]}});
        assert_eq!(
            pretty_print(&eval("pods").usage(&within, now())),
            "count/pods=1,pods=1"
        );
    }

    #[test]
    fn service_usage_counts_node_ports_and_load_balancers() {
        let ports = json!([{"port": 80}, {"port": 443, "nodePort": 30443}]);
        let svc = |t: &str| json!({"spec": {"type": t, "ports": ports}});
        assert_eq!(
            pretty_print(&eval("services").usage(&svc("ClusterIP"), now())),
            "count/services=1,services=1,services.loadbalancers=0,services.nodeports=0"
        );
        assert_eq!(
            pretty_print(&eval("services").usage(&svc("NodePort"), now())),
            "count/services=1,services=1,services.loadbalancers=0,services.nodeports=2"
        );
        let mut lb = svc("LoadBalancer");
        assert_eq!(
            pretty_print(&eval("services").usage(&lb, now())),
            "count/services=1,services=1,services.loadbalancers=1,services.nodeports=2"
        );
        lb["spec"]["allocateLoadBalancerNodePorts"] = json!(false);
        assert_eq!(
            pretty_print(&eval("services").usage(&lb, now())),
            "count/services=1,services=1,services.loadbalancers=1,services.nodeports=1"
        );
    }

    #[test]
    fn claim_usage_is_charged_per_storage_class_in_whole_bytes() {
        let pvc = json!({"spec": {"storageClassName": "gold", "resources": {"requests": {"storage": "1500m"}}}});
        assert_eq!(
            pretty_print(&eval("persistentvolumeclaims").usage(&pvc, now())),
            "count/persistentvolumeclaims=1,gold.storageclass.storage.k8s.io/persistentvolumeclaims=1,\
             gold.storageclass.storage.k8s.io/requests.storage=2,persistentvolumeclaims=1,requests.storage=2"
        );
        let grown = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}},
            "status": {"allocatedResources": {"storage": "2Gi"}}});
        assert_eq!(
            pretty_print(&eval("persistentvolumeclaims").usage(&grown, now())),
            "count/persistentvolumeclaims=1,persistentvolumeclaims=1,requests.storage=2Gi"
        );
    }

    #[test]
    fn object_counts_use_group_qualified_names_and_legacy_aliases() {
        let deploy = Evaluator::for_resource(find("apps", "v1", "deployments").unwrap());
        assert_eq!(
            pretty_print(&deploy.usage(&json!({}), now())),
            "count/deployments.apps=1"
        );
        assert_eq!(
            pretty_print(&eval("configmaps").usage(&json!({}), now())),
            "configmaps=1,count/configmaps=1"
        );
        assert_eq!(
            deploy.matching_resources(&names(&["count/deployments.apps", "pods"])),
            names(&["count/deployments.apps"])
        );
        assert!(!deploy.handles(Operation::Update));
        assert!(deploy.handles(Operation::Create));
    }

    #[test]
    fn pod_matching_resources_include_extended_and_hugepages() {
        let input = names(&[
            "pods",
            "requests.cpu",
            "requests.example.com/gpu",
            "requests.foo",
            "hugepages-2Mi",
            "services",
        ]);
        assert_eq!(
            eval("pods").matching_resources(&input),
            names(&[
                "pods",
                "requests.cpu",
                "requests.example.com/gpu",
                "hugepages-2Mi"
            ])
        );
    }

    #[test]
    fn pod_scopes_match_as_upstream() {
        let best_effort =
            json!({"spec": {"containers": [{"name": "a"}], "activeDeadlineSeconds": 10}});
        let burstable = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}],
            "priorityClassName": "high"}});
        let scope = |s: &str, op: &str, v: &[&str]| ScopeRequirement {
            scope: s.into(),
            operator: op.into(),
            values: v.iter().map(|x| x.to_string()).collect(),
        };
        let pods = eval("pods");
        assert!(pods.matches_scope(&scope("Terminating", "Exists", &[]), &best_effort));
        assert!(pods.matches_scope(&scope("NotTerminating", "Exists", &[]), &burstable));
        assert!(pods.matches_scope(&scope("BestEffort", "Exists", &[]), &best_effort));
        assert!(pods.matches_scope(&scope("NotBestEffort", "Exists", &[]), &burstable));
        assert!(pods.matches_scope(&scope("PriorityClass", "In", &["high"]), &burstable));
        assert!(!pods.matches_scope(&scope("PriorityClass", "In", &["high"]), &best_effort));
        assert!(pods.matches_scope(&scope("PriorityClass", "NotIn", &["high"]), &best_effort));
        assert!(pods.matches_scope(&scope("PriorityClass", "DoesNotExist", &[]), &best_effort));
        assert!(!eval("services").matches_scope(&scope("BestEffort", "Exists", &[]), &best_effort));
    }

    #[test]
    fn quota_scopes_read_scopes_and_selector() {
        let q = json!({"spec": {"scopes": ["BestEffort"], "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["a", "b"]}]}}});
        let scopes = quota_scopes(&q);
        assert_eq!(scopes.len(), 2);
        assert_eq!(scopes[0].operator, "Exists");
        assert_eq!(scopes[1].values, names(&["a", "b"]));
    }

    #[test]
    fn cpu_and_memory_quotas_require_every_container_to_declare_them() {
        let pod = json!({"spec": {
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}, {"name": "b"}],
            "initContainers": [{"name": "init"}]
        }});
        let err = eval("pods")
            .constraints(&names(&["limits.cpu", "requests.cpu", "pods"]), &pod)
            .unwrap_err();
        assert_eq!(
            err,
            "must specify limits.cpu for: a,b,init; requests.cpu for: b,init"
        );
        assert!(
            eval("pods")
                .constraints(&names(&["pods", "requests.storage"]), &pod)
                .is_ok()
        );
    }
}
