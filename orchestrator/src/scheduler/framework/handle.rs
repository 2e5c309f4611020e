//! What plugins may ask of the rest of the control plane (upstream `framework.Handle`): the
//! objects (to evict victims, read namespaces and the controllers that select a pod) and the
//! event recorder. Reads go straight to the in-process store.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use super::pod_info::{Labels, PodInfo};
use crate::api::Objects;
use crate::store::{Filter, LabelSelector, ListOptions};

/// The plugins' handle on the cluster.
#[derive(Clone)]
pub struct Handle {
    objects: Arc<Objects>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    /// A handle over `objects`.
    pub fn new(objects: Arc<Objects>) -> Self {
        Self { objects }
    }

    /// A handle over an empty in-memory store, for plugin tests and benchmarks: create
    /// namespaces, Services or ReplicaSets through `objects().store()` to give plugins
    /// something to read.
    pub fn in_memory() -> Self {
        let store: Arc<dyn crate::store::Storage> =
            Arc::new(crate::store::MemoryStore::new(Default::default()));
        Self::new(Objects::new(store))
    }

    /// The objects (writes go through admission like a client's).
    pub fn objects(&self) -> &Arc<Objects> {
        &self.objects
    }

    /// A namespace's labels; `None` if it does not exist.
    pub fn namespace_labels(&self, namespace: &str) -> Option<Labels> {
        let ns = self.objects.store().get("namespaces", "", namespace).ok()?;
        Some(
            ns.labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Names of the namespaces whose labels `selector` matches.
    pub fn namespaces_matching(&self, selector: &LabelSelector) -> BTreeSet<String> {
        let opts = ListOptions {
            filter: Filter {
                labels: selector.clone(),
                ..Filter::default()
            },
            ..ListOptions::default()
        };
        self.objects
            .store()
            .list("namespaces", &opts)
            .map(|l| l.items.iter().map(|n| n.name.to_string()).collect())
            .unwrap_or_default()
    }

    /// The selectors of the Services, ReplicationControllers, ReplicaSets and StatefulSets in
    /// the pod's namespace that select it (upstream `helper.DefaultSelector`, the basis of
    /// default topology spreading), merged into one selector; empty when none selects it.
    pub fn default_selector(&self, pod: &PodInfo) -> LabelSelector {
        let mut out = LabelSelector::default();
        let labels = |k: &str| pod.labels.get(k).map(String::as_str);
        let in_ns = ListOptions {
            filter: Filter {
                namespace: Some(pod.namespace.clone()),
                ..Filter::default()
            },
            ..ListOptions::default()
        };
        let store = self.objects.store();
        // Services and RCs select with a plain map.
        for resource in ["services", "replicationcontrollers"] {
            for obj in store
                .list(resource, &in_ns)
                .map(|l| l.items)
                .unwrap_or_default()
            {
                let v = obj.value();
                let Some(Value::Object(sel)) = v.pointer("/spec/selector") else {
                    continue;
                };
                let map: Labels = sel
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect();
                if map.is_empty() || !map.iter().all(|(k, v)| labels(k) == Some(v.as_str())) {
                    continue;
                }
                for (k, v) in map {
                    if let Ok(s) = LabelSelector::parse(&format!("{k}={v}")) {
                        out.requirements.extend(s.requirements);
                    }
                }
            }
        }
        // ReplicaSets and StatefulSets select with a LabelSelector.
        for resource in ["replicasets.apps", "statefulsets.apps"] {
            for obj in store
                .list(resource, &in_ns)
                .map(|l| l.items)
                .unwrap_or_default()
            {
                let v = obj.value();
                let Some(sel) = v.pointer("/spec/selector") else {
                    continue;
                };
                let Ok(sel) = serde_json::from_value::<
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
                >(sel.clone()) else {
                    continue;
                };
                let Ok(sel) = LabelSelector::from_label_selector(&sel) else {
                    continue;
                };
                if sel.is_empty() || !sel.matches(labels) {
                    continue;
                }
                out.requirements.extend(sel.requirements);
            }
        }
        out.requirements.sort_by(|a, b| a.key().cmp(b.key()));
        out.requirements.dedup();
        out
    }
}
