//! The table of resources the API serves: what discovery lists and the router routes.

/// A subresource the API serves for a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    Status,
    Scale,
    Binding,
    Eviction,
    /// `namespaces/{name}/finalize`: replaces `spec.finalizers` (PUT only).
    Finalize,
}

impl Subresource {
    /// The path segment, e.g. `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
            Subresource::Binding => "binding",
            Subresource::Eviction => "eviction",
            Subresource::Finalize => "finalize",
        }
    }
}

/// One served resource.
#[derive(Debug)]
pub struct ResourceInfo {
    /// API group; empty for core.
    pub group: &'static str,
    pub version: &'static str,
    /// Plural, as in the path: `pods`.
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// The store's key for this resource: the group-qualified plural (`deployments.apps`).
    pub store_key: &'static str,
}

impl ResourceInfo {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `PodList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Whether this resource has the given subresource.
    pub fn has(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }
}

use Subresource::{Binding, Eviction, Finalize, Scale, Status};

const ALL: &[&str] = &["all"];

macro_rules! resource {
    ($group:literal, $version:literal, $plural:literal, $singular:literal, $kind:literal, $ns:literal,
     [$($short:literal),*], $cats:expr, [$($sub:expr),*], $key:literal) => {
        ResourceInfo {
            group: $group,
            version: $version,
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $ns,
            short_names: &[$($short),*],
            categories: $cats,
            subresources: &[$($sub),*],
            store_key: $key,
        }
    };
}

/// Every resource the API serves, grouped by group/version in discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    resource!(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        ["ns"],
        &[],
        [Finalize, Status],
        "namespaces"
    ),
    resource!(
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        false,
        ["no"],
        &[],
        [Status],
        "nodes"
    ),
    resource!(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        true,
        ["po"],
        ALL,
        [Status, Binding, Eviction],
        "pods"
    ),
    resource!(
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        ["svc"],
        ALL,
        [Status],
        "services"
    ),
    resource!(
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        ["ep"],
        &[],
        [],
        "endpoints"
    ),
    resource!(
        "",
        "v1",
        "replicationcontrollers",
        "replicationcontroller",
        "ReplicationController",
        true,
        ["rc"],
        ALL,
        [Status, Scale],
        "replicationcontrollers"
    ),
    resource!(
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        ["pv"],
        &[],
        [Status],
        "persistentvolumes"
    ),
    resource!(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        ["pvc"],
        &[],
        [Status],
        "persistentvolumeclaims"
    ),
    resource!(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        ["cm"],
        &[],
        [],
        "configmaps"
    ),
    resource!(
        "",
        "v1",
        "secrets",
        "secret",
        "Secret",
        true,
        [],
        &[],
        [],
        "secrets"
    ),
    resource!(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        ["sa"],
        &[],
        [],
        "serviceaccounts"
    ),
    resource!(
        "",
        "v1",
        "events",
        "event",
        "Event",
        true,
        ["ev"],
        &[],
        [],
        "events"
    ),
    resource!(
        "",
        "v1",
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        true,
        ["quota"],
        &[],
        [Status],
        "resourcequotas"
    ),
    resource!(
        "",
        "v1",
        "limitranges",
        "limitrange",
        "LimitRange",
        true,
        ["limits"],
        &[],
        [],
        "limitranges"
    ),
    resource!(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        ["deploy"],
        ALL,
        [Status, Scale],
        "deployments.apps"
    ),
    resource!(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        ["rs"],
        ALL,
        [Status, Scale],
        "replicasets.apps"
    ),
    resource!(
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        ["ds"],
        ALL,
        [Status],
        "daemonsets.apps"
    ),
    resource!(
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
        [],
        &[],
        [],
        "controllerrevisions.apps"
    ),
    resource!(
        "batch",
        "v1",
        "jobs",
        "job",
        "Job",
        true,
        [],
        ALL,
        [Status],
        "jobs.batch"
    ),
    resource!(
        "coordination.k8s.io",
        "v1",
        "leases",
        "lease",
        "Lease",
        true,
        [],
        &[],
        [],
        "leases.coordination.k8s.io"
    ),
    resource!(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "storageclass",
        "StorageClass",
        false,
        ["sc"],
        &[],
        [],
        "storageclasses.storage.k8s.io"
    ),
    resource!(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
        [],
        &[],
        [],
        "endpointslices.discovery.k8s.io"
    ),
    resource!(
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        "priorityclass",
        "PriorityClass",
        false,
        ["pc"],
        &[],
        [],
        "priorityclasses.scheduling.k8s.io"
    ),
];

/// Look a resource up by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Look a resource up by group and kind.
pub fn find_by_kind(group: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_are_unique_and_group_qualified() {
        let mut keys: Vec<_> = RESOURCES.iter().map(|r| r.store_key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), RESOURCES.len());
        for r in RESOURCES {
            let want = if r.group.is_empty() {
                r.plural.to_string()
            } else {
                format!("{}.{}", r.plural, r.group)
            };
            assert_eq!(r.store_key, want);
        }
    }
}
