//! What plugins may ask of the rest of the control plane (upstream `framework.Handle`): the
//! objects (to evict victims, read namespaces and the controllers that select a pod) and the
//! event recorder. Reads go straight to the in-process store.
//!
//! The default spreading selector is read for every pod scored: the selectors of Services and
//! controllers are parsed once per object version and cached by store revision, so a cycle
//! pays a list of the namespace's Services and one get of the pod's controller, not a JSON
//! parse of each.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use super::pod_info::{Labels, PodInfo};
use crate::api::Objects;
use crate::store::{Filter, LabelSelector, ListOptions, Requirement, Stored};

/// Cached selectors above this many entries are dropped (objects deleted long ago).
const SELECTOR_CACHE_LIMIT: usize = 10_000;

/// A controller's or Service's selector, parsed.
#[derive(Debug)]
enum ParsedSelector {
    /// A Service's or ReplicationController's `spec.selector` map; `None` when absent (a
    /// Service without a selector selects nothing).
    Map(Option<Labels>),
    /// A ReplicaSet's or StatefulSet's `spec.selector`; `None` when absent or invalid.
    Selector(Option<LabelSelector>),
}

type CacheKey = (&'static str, Box<str>, Box<str>);
/// Parsed selectors by object, with the revision they were parsed at.
type SelectorCache = HashMap<CacheKey, (u64, Arc<ParsedSelector>)>;

/// The plugins' handle on the cluster.
#[derive(Clone)]
pub struct Handle {
    objects: Arc<Objects>,
    selectors: Arc<Mutex<SelectorCache>>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    /// A handle over `objects`.
    pub fn new(objects: Arc<Objects>) -> Self {
        Self {
            objects,
            selectors: Arc::default(),
        }
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
        namespace_labels(self.objects.store().as_ref(), namespace)
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

    /// The selector of the pods that belong with this pod (upstream `helper.DefaultSelector`,
    /// the basis of default topology spreading): the selectors of the Services in its
    /// namespace that select it, merged with the selector of its controller (a
    /// ReplicationController, ReplicaSet or StatefulSet named by its controller owner
    /// reference); empty when nothing selects it.
    pub fn default_selector(&self, pod: &PodInfo) -> LabelSelector {
        let store = self.objects.store();
        let in_ns = ListOptions {
            filter: Filter {
                namespace: Some(pod.namespace.clone()),
                ..Filter::default()
            },
            ..ListOptions::default()
        };
        let mut set = Labels::new();
        for svc in store
            .list("services", &in_ns)
            .map(|l| l.items)
            .unwrap_or_default()
        {
            if let ParsedSelector::Map(Some(map)) = &*self.parsed("services", &svc)
                && map.iter().all(|(k, v)| pod.labels.get(k) == Some(v))
            {
                set.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut selector = selector_from_set(&set);
        let Some(owner) = &pod.owner else {
            return selector;
        };
        let resource = match (owner.api_version.as_str(), owner.kind.as_str()) {
            ("v1", "ReplicationController") => "replicationcontrollers",
            ("apps/v1", "ReplicaSet") => "replicasets.apps",
            ("apps/v1", "StatefulSet") => "statefulsets.apps",
            _ => return selector,
        };
        let Ok(obj) = store.get(resource, &pod.namespace, &owner.name) else {
            return selector;
        };
        match &*self.parsed(resource, &obj) {
            ParsedSelector::Map(Some(map)) => {
                set.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
                selector = selector_from_set(&set);
            }
            ParsedSelector::Selector(Some(sel)) => {
                selector
                    .requirements
                    .extend(sel.requirements.iter().cloned());
                selector.requirements.sort_by(|a, b| a.key().cmp(b.key()));
            }
            _ => {}
        }
        selector
    }

    /// The selector of `obj`, parsed once per stored revision.
    fn parsed(&self, resource: &'static str, obj: &Stored) -> Arc<ParsedSelector> {
        let key: CacheKey = (resource, obj.namespace.clone(), obj.name.clone());
        if let Some((rev, parsed)) = self.selectors.lock().get(&key)
            && *rev == obj.revision
        {
            return parsed.clone();
        }
        let v = obj.value();
        let sel = v.pointer("/spec/selector").filter(|s| !s.is_null());
        let parsed = Arc::new(match resource {
            "services" | "replicationcontrollers" => ParsedSelector::Map(sel.map(|s| {
                s.as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })),
            _ => ParsedSelector::Selector(sel.and_then(|s| {
                let s: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector =
                    serde_json::from_value(s.clone()).ok()?;
                LabelSelector::from_label_selector(&s).ok()
            })),
        });
        let mut cache = self.selectors.lock();
        if cache.len() >= SELECTOR_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, (obj.revision, parsed.clone()));
        parsed
    }
}

/// Upstream `labels.Set.AsSelector`: one `key=value` requirement per label, sorted by key.
fn selector_from_set(set: &Labels) -> LabelSelector {
    LabelSelector {
        requirements: set
            .iter()
            .map(|(k, v)| Requirement::Equals(k.clone(), v.clone()))
            .collect(),
    }
}

/// A namespace's labels in `store`; `None` if it does not exist.
pub fn namespace_labels(store: &dyn crate::store::Storage, namespace: &str) -> Option<Labels> {
    let ns = store.get("namespaces", "", namespace).ok()?;
    Some(
        ns.labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::scheduler::framework::testing::pod;

    fn create(h: &Handle, resource: &'static str, obj: Value) {
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        h.objects()
            .store()
            .create(resource, &ns, &name, obj)
            .expect("created");
    }

    fn web_pod(owner: Option<(&str, &str, &str)>) -> Arc<PodInfo> {
        let mut v = json!({ "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "p", "namespace": "default",
                          "labels": { "app": "web", "tier": "front", "pod-template-hash": "h1" } },
            "spec": { "containers": [ { "name": "c", "image": "pause" } ] } });
        if let Some((api_version, kind, name)) = owner {
            v["metadata"]["ownerReferences"] = json!([{ "apiVersion": api_version, "kind": kind,
                "name": name, "uid": "u1", "controller": true }]);
        }
        pod(v)
    }

    #[test]
    fn services_selecting_the_pod_are_merged() {
        let h = Handle::in_memory();
        create(
            &h,
            "services",
            json!({ "metadata": { "name": "web", "namespace": "default" },
            "spec": { "selector": { "app": "web" } } }),
        );
        create(
            &h,
            "services",
            json!({ "metadata": { "name": "other", "namespace": "default" },
            "spec": { "selector": { "app": "db" } } }),
        );
        create(
            &h,
            "services",
            json!({ "metadata": { "name": "headless", "namespace": "default" },
            "spec": {} }),
        );
        create(
            &h,
            "services",
            json!({ "metadata": { "name": "elsewhere", "namespace": "team" },
            "spec": { "selector": { "tier": "front" } } }),
        );
        assert_eq!(h.default_selector(&web_pod(None)).to_string(), "app=web");
        assert_eq!(
            h.default_selector(&web_pod(None)).to_string(),
            "app=web",
            "a cached parse gives the same answer"
        );
    }

    #[test]
    fn the_owning_replica_set_adds_its_selector() {
        let h = Handle::in_memory();
        create(
            &h,
            "services",
            json!({ "metadata": { "name": "web", "namespace": "default" },
            "spec": { "selector": { "app": "web" } } }),
        );
        create(
            &h,
            "replicasets.apps",
            json!({ "metadata": { "name": "web-h1", "namespace": "default" },
            "spec": { "selector": { "matchLabels": { "app": "web", "pod-template-hash": "h1" } } } }),
        );
        create(
            &h,
            "replicasets.apps",
            json!({ "metadata": { "name": "unrelated", "namespace": "default" },
            "spec": { "selector": { "matchLabels": { "tier": "front" } } } }),
        );
        let sel = h.default_selector(&web_pod(Some(("apps/v1", "ReplicaSet", "web-h1"))));
        assert_eq!(sel.to_string(), "app=web,app=web,pod-template-hash=h1");
        assert!(
            h.default_selector(&web_pod(Some(("apps/v1", "ReplicaSet", "gone"))))
                .to_string()
                == "app=web",
            "a missing owner adds nothing"
        );
        assert!(
            h.default_selector(&web_pod(Some((
                "extensions/v1beta1",
                "ReplicaSet",
                "web-h1"
            ))))
            .to_string()
                == "app=web",
            "only apps/v1 ReplicaSets count, as upstream"
        );
    }

    #[test]
    fn a_replication_controller_merges_its_map() {
        let h = Handle::in_memory();
        create(
            &h,
            "replicationcontrollers",
            json!({ "metadata": { "name": "rc", "namespace": "default" },
            "spec": { "selector": { "tier": "front" } } }),
        );
        let sel = h.default_selector(&web_pod(Some(("v1", "ReplicationController", "rc"))));
        assert_eq!(sel.to_string(), "tier=front");
        assert!(h.default_selector(&web_pod(None)).is_empty());
    }
}
