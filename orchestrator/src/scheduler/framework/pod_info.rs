//! A pod as the scheduler sees it (upstream `framework.PodInfo`): parsed once from the stored
//! object into what the plugins read on every cycle, with affinity terms compiled to selectors.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Affinity, NodeSelector, Toleration, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde_json::Value;

use super::resource::{DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, Resource};
use crate::admission::pod_resources::{Overhead, pod_requests};
use crate::store::{LabelSelector, Stored};

/// Labels, sorted by key.
pub type Labels = BTreeMap<String, String>;

/// `PreemptLowerPriority`, the default preemption policy.
pub const PREEMPT_LOWER_PRIORITY: &str = "PreemptLowerPriority";
/// The scheduler name pods get when they name none.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// A host port a container asks for (upstream `HostPortInfo` entries): ip `0.0.0.0` when unset,
/// protocol `TCP` when unset.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

/// A compiled pod (anti-)affinity term (upstream `framework.AffinityTerm`).
#[derive(Clone, Debug, PartialEq)]
pub struct AffinityTerm {
    /// Namespaces listed in the term, or the pod's own when the term names neither namespaces
    /// nor a namespace selector.
    pub namespaces: BTreeSet<String>,
    /// The pods the term selects. An absent `labelSelector` selects nothing (`None`).
    pub selector: Option<LabelSelector>,
    pub topology_key: String,
    /// Namespaces selected by their labels; `None` selects none, an empty selector all.
    pub namespace_selector: Option<LabelSelector>,
}

impl AffinityTerm {
    /// Whether `pod` (whose namespace has `ns_labels`) is selected by this term (upstream
    /// `AffinityTerm.Matches`).
    pub fn matches(&self, pod: &PodInfo, ns_labels: Option<&Labels>) -> bool {
        let in_namespace = self.namespaces.contains(&pod.namespace)
            || match (&self.namespace_selector, ns_labels) {
                (Some(sel), Some(labels)) => sel.matches(|k| labels.get(k).map(String::as_str)),
                (Some(sel), None) => sel.is_empty(),
                (None, _) => false,
            };
        in_namespace
            && self
                .selector
                .as_ref()
                .is_some_and(|sel| sel.matches(|k| pod.labels.get(k).map(String::as_str)))
    }
}

/// A compiled preferred term with its weight (upstream `framework.WeightedAffinityTerm`).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightedAffinityTerm {
    pub term: AffinityTerm,
    pub weight: i32,
}

/// The controller owning a pod (its `ownerReferences` entry with `controller: true`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// A pod, parsed for scheduling.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The stored object this was parsed from (for binding, events and status writes).
    pub stored: Arc<Stored>,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: Labels,
    /// Empty while unbound.
    pub node_name: String,
    /// `spec.schedulerName`, [`DEFAULT_SCHEDULER_NAME`] when unset.
    pub scheduler_name: String,
    /// `spec.priority` (resolved by Priority admission); 0 when unset.
    pub priority: i32,
    /// `spec.preemptionPolicy`, [`PREEMPT_LOWER_PRIORITY`] when unset.
    pub preemption_policy: String,
    /// Effective requests (upstream `PodRequests`: containers, sidecars, init containers,
    /// overhead; limits-only containers request their limits).
    pub requests: Resource,
    /// The same with 100m cpu / 200Mi memory for containers requesting none (for scoring).
    pub non_zero_requests: Resource,
    pub host_ports: Vec<HostPort>,
    pub node_selector: Labels,
    pub affinity: Option<Affinity>,
    pub tolerations: Vec<Toleration>,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    pub required_affinity_terms: Vec<AffinityTerm>,
    pub required_anti_affinity_terms: Vec<AffinityTerm>,
    pub preferred_affinity_terms: Vec<WeightedAffinityTerm>,
    pub preferred_anti_affinity_terms: Vec<WeightedAffinityTerm>,
    /// Images of app and init containers, as written.
    pub images: Vec<String>,
    /// Names of the PersistentVolumeClaims the pod's volumes use.
    pub pvc_names: Vec<String>,
    /// `spec.schedulingGates` names; a gated pod is not scheduled.
    pub scheduling_gates: Vec<String>,
    pub owner: Option<OwnerRef>,
    /// `status.phase` ("" when unset).
    pub phase: String,
    /// Whether `deletionTimestamp` is set.
    pub terminating: bool,
    /// `status.nominatedNodeName` ("" when unset).
    pub nominated_node_name: String,
    /// `metadata.creationTimestamp`, RFC 3339.
    pub creation_timestamp: String,
    /// `status.startTime`, RFC 3339 ("" when unset).
    pub start_time: String,
}

impl PodInfo {
    /// `spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`, if set.
    pub fn required_node_affinity(&self) -> Option<&NodeSelector> {
        self.affinity
            .as_ref()?
            .node_affinity
            .as_ref()?
            .required_during_scheduling_ignored_during_execution
            .as_ref()
    }

    /// Parse a stored pod.
    pub fn from_stored(stored: Arc<Stored>) -> Result<Self, String> {
        let value = stored.value();
        Self::from_value(stored, &value)
    }

    /// Parse a pod whose JSON the caller already has (`value` must be `stored`'s content).
    pub fn from_value(stored: Arc<Stored>, pod: &Value) -> Result<Self, String> {
        let str_at = |ptr: &str| {
            pod.pointer(ptr)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let de = |ptr: &str| -> Option<&Value> { pod.pointer(ptr).filter(|v| !v.is_null()) };
        let labels: Labels = match de("/metadata/labels") {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
            None => Labels::new(),
        };
        let namespace = str_at("/metadata/namespace");
        let affinity: Option<Affinity> = match de("/spec/affinity") {
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| e.to_string())?),
            None => None,
        };
        let tolerations: Vec<Toleration> = match de("/spec/tolerations") {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        let topology_spread_constraints: Vec<TopologySpreadConstraint> =
            match de("/spec/topologySpreadConstraints") {
                Some(v) => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
                None => Vec::new(),
            };
        let node_selector: Labels = match de("/spec/nodeSelector") {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
            None => Labels::new(),
        };

        let (mut req_aff, mut req_anti, mut pref_aff, mut pref_anti) =
            (vec![], vec![], vec![], vec![]);
        if let Some(a) = &affinity {
            if let Some(pa) = &a.pod_affinity {
                for t in pa
                    .required_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    req_aff.push(compile_term(t, &namespace)?);
                }
                for w in pa
                    .preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    pref_aff.push(WeightedAffinityTerm {
                        term: compile_term(&w.pod_affinity_term, &namespace)?,
                        weight: w.weight,
                    });
                }
            }
            if let Some(pa) = &a.pod_anti_affinity {
                for t in pa
                    .required_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    req_anti.push(compile_term(t, &namespace)?);
                }
                for w in pa
                    .preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    pref_anti.push(WeightedAffinityTerm {
                        term: compile_term(&w.pod_affinity_term, &namespace)?,
                        weight: w.weight,
                    });
                }
            }
        }

        let mut images = Vec::new();
        let mut host_ports = Vec::new();
        for (key, sidecars_only) in [("initContainers", true), ("containers", false)] {
            for c in pod
                .pointer(&format!("/spec/{key}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(image) = c.get("image").and_then(Value::as_str) {
                    images.push(image.to_string());
                }
                let sidecar = c.get("restartPolicy").and_then(Value::as_str) == Some("Always");
                if sidecars_only && !sidecar {
                    continue;
                }
                for p in c
                    .get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let port = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
                    if port <= 0 {
                        continue;
                    }
                    host_ports.push(HostPort {
                        ip: p
                            .get("hostIP")
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .unwrap_or("0.0.0.0")
                            .to_string(),
                        protocol: p
                            .get("protocol")
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .unwrap_or("TCP")
                            .to_string(),
                        port: port as i32,
                    });
                }
            }
        }

        let pvc_names = pod
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName")?.as_str())
            .map(str::to_string)
            .collect();
        let scheduling_gates = pod
            .pointer("/spec/schedulingGates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("name")?.as_str())
            .map(str::to_string)
            .collect();
        let owner = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
            .map(|o| {
                let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                OwnerRef {
                    api_version: s("apiVersion"),
                    kind: s("kind"),
                    name: s("name"),
                    uid: s("uid"),
                }
            });

        let requests = Resource::from_list(&pod_requests(
            &with_requests_from_limits(pod),
            Overhead::Include,
        ));
        let non_zero_requests = Resource::from_list(&pod_requests(
            &with_default_requests(pod),
            Overhead::Include,
        ));
        let scheduler_name = match str_at("/spec/schedulerName") {
            s if s.is_empty() => DEFAULT_SCHEDULER_NAME.to_string(),
            s => s,
        };
        let preemption_policy = match str_at("/spec/preemptionPolicy") {
            s if s.is_empty() => PREEMPT_LOWER_PRIORITY.to_string(),
            s => s,
        };
        Ok(Self {
            namespace,
            name: str_at("/metadata/name"),
            uid: str_at("/metadata/uid"),
            labels,
            node_name: str_at("/spec/nodeName"),
            scheduler_name,
            priority: pod
                .pointer("/spec/priority")
                .and_then(Value::as_i64)
                .unwrap_or(0) as i32,
            preemption_policy,
            requests,
            non_zero_requests,
            host_ports,
            node_selector,
            affinity,
            tolerations,
            topology_spread_constraints,
            required_affinity_terms: req_aff,
            required_anti_affinity_terms: req_anti,
            preferred_affinity_terms: pref_aff,
            preferred_anti_affinity_terms: pref_anti,
            images,
            pvc_names,
            scheduling_gates,
            owner,
            phase: str_at("/status/phase"),
            terminating: pod
                .pointer("/metadata/deletionTimestamp")
                .is_some_and(|v| !v.is_null()),
            nominated_node_name: str_at("/status/nominatedNodeName"),
            creation_timestamp: str_at("/metadata/creationTimestamp"),
            start_time: str_at("/status/startTime"),
            stored,
        })
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether the pod has any pod affinity or anti-affinity term, required or preferred
    /// (upstream: NodeInfo keeps such pods in `PodsWithAffinity`).
    pub fn has_affinity(&self) -> bool {
        !self.required_affinity_terms.is_empty()
            || !self.required_anti_affinity_terms.is_empty()
            || !self.preferred_affinity_terms.is_empty()
            || !self.preferred_anti_affinity_terms.is_empty()
    }

    /// Whether the pod has a required anti-affinity term (`PodsWithRequiredAntiAffinity`).
    pub fn has_required_anti_affinity(&self) -> bool {
        !self.required_anti_affinity_terms.is_empty()
    }

    /// Whether the pod finished (`Succeeded` or `Failed`): it no longer uses its node's resources.
    pub fn is_terminal(&self) -> bool {
        self.phase == "Succeeded" || self.phase == "Failed"
    }
}

/// Upstream's `newAffinityTerm`: namespaces default to the pod's own when the term names neither
/// namespaces nor a namespace selector.
fn compile_term(
    t: &k8s_openapi::api::core::v1::PodAffinityTerm,
    pod_ns: &str,
) -> Result<AffinityTerm, String> {
    let mut namespaces: BTreeSet<String> = t.namespaces.iter().flatten().cloned().collect();
    if namespaces.is_empty() && t.namespace_selector.is_none() {
        namespaces.insert(pod_ns.to_string());
    }
    let selector = t
        .label_selector
        .as_ref()
        .map(compile_selector)
        .transpose()?;
    let namespace_selector = t
        .namespace_selector
        .as_ref()
        .map(compile_selector)
        .transpose()?;
    Ok(AffinityTerm {
        namespaces,
        selector,
        topology_key: t.topology_key.clone(),
        namespace_selector,
    })
}

/// `metav1.LabelSelectorAsSelector` for a present selector.
pub fn compile_selector(sel: &metav1::LabelSelector) -> Result<LabelSelector, String> {
    LabelSelector::from_label_selector(sel).map_err(|e| e.0)
}

/// The pod with each container's missing requests taken from its limits (upstream API
/// defaulting, which a stored pod normally already has).
fn with_requests_from_limits(pod: &Value) -> Value {
    map_containers(pod, |resources| {
        let limits = resources.get("limits").cloned();
        if let Some(Value::Object(limits)) = limits {
            let requests = resources
                .entry("requests")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(requests) = requests.as_object_mut() {
                for (k, v) in limits {
                    requests.entry(k).or_insert(v);
                }
            }
        }
    })
}

/// The pod with 100m cpu / 200Mi memory requested by containers requesting none (upstream
/// `NonMissingContainerRequests`), for scoring.
fn with_default_requests(pod: &Value) -> Value {
    let base = with_requests_from_limits(pod);
    map_containers(&base, |resources| {
        let requests = resources
            .entry("requests")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(requests) = requests.as_object_mut() {
            requests
                .entry("cpu")
                .or_insert_with(|| Value::String(format!("{DEFAULT_MILLI_CPU_REQUEST}m")));
            requests
                .entry("memory")
                .or_insert_with(|| Value::String(DEFAULT_MEMORY_REQUEST.to_string()));
        }
    })
}

/// A copy of the pod's `spec` (only what requests need) with `f` applied to every container's
/// `resources` object.
fn map_containers(pod: &Value, f: impl Fn(&mut serde_json::Map<String, Value>)) -> Value {
    let mut spec = serde_json::Map::new();
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(list)) = pod.pointer(&format!("/spec/{key}")) {
            let mut list = list.clone();
            for c in &mut list {
                if let Some(c) = c.as_object_mut() {
                    let r = c
                        .entry("resources")
                        .or_insert_with(|| Value::Object(Default::default()));
                    if let Some(r) = r.as_object_mut() {
                        f(r);
                    }
                }
            }
            spec.insert(key.to_string(), Value::Array(list));
        }
    }
    for key in ["overhead", "resources"] {
        if let Some(v) = pod.pointer(&format!("/spec/{key}")) {
            spec.insert(key.to_string(), v.clone());
        }
    }
    serde_json::json!({ "spec": spec })
}
