//! A node as the scheduler sees it (upstream `framework.NodeInfo`): the node's labels, taints,
//! allocatable and images, and the pods on it with their summed requests and host ports. Kept
//! by the cache, copied into the snapshot when its generation changes.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Taint;
use serde_json::Value;

use super::pod_info::{HostPort, Labels, PodInfo};
use super::resource::Resource;
use crate::admission::quantity::parse_list;
use crate::store::Stored;

/// An image present on a node, with how many nodes have it (upstream `ImageStateSummary`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageState {
    /// Bytes.
    pub size: i64,
    /// Nodes in the cluster that have this image (filled by the snapshot).
    pub num_nodes: usize,
}

/// A node and the pods on it.
#[derive(Clone, Debug, Default)]
pub struct NodeInfo {
    pub name: String,
    /// The stored node; `None` when pods name a node the cache has not seen (or no longer has).
    pub node: Option<Arc<Stored>>,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    pub allocatable: Resource,
    /// Every name an image is known by (each of `status.images[].names`) → its state.
    pub images: HashMap<String, ImageState>,
    /// Pods bound or assumed to this node.
    pub pods: Vec<Arc<PodInfo>>,
    /// The subset of `pods` with any pod (anti-)affinity term.
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// The subset of `pods` with a required anti-affinity term.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    /// Host ports in use by `pods`.
    pub used_ports: Vec<HostPort>,
    /// Sum of `pods`' requests.
    pub requested: Resource,
    /// Sum of `pods`' non-zero requests (for scoring).
    pub non_zero_requested: Resource,
    /// Bumped by the cache on every change; the snapshot copies nodes whose generation moved.
    pub generation: u64,
}

impl NodeInfo {
    /// A node with no pods, from its stored object.
    pub fn from_node(stored: Arc<Stored>) -> Result<Self, String> {
        let mut info = NodeInfo {
            name: stored.name.to_string(),
            ..NodeInfo::default()
        };
        info.set_node(stored)?;
        Ok(info)
    }

    /// Replace the node object (labels, taints, allocatable, images), keeping the pods.
    pub fn set_node(&mut self, stored: Arc<Stored>) -> Result<(), String> {
        let node = stored.value();
        self.labels = match node.pointer("/metadata/labels") {
            Some(v) if !v.is_null() => {
                serde_json::from_value(v.clone()).map_err(|e| e.to_string())?
            }
            _ => Labels::new(),
        };
        self.taints = match node.pointer("/spec/taints") {
            Some(v) if !v.is_null() => {
                serde_json::from_value(v.clone()).map_err(|e| e.to_string())?
            }
            _ => Vec::new(),
        };
        self.unschedulable = node
            .pointer("/spec/unschedulable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.allocatable = Resource::from_list(&parse_list(node.pointer("/status/allocatable")));
        self.images.clear();
        for image in node
            .pointer("/status/images")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let size = image.get("sizeBytes").and_then(Value::as_i64).unwrap_or(0);
            for name in image
                .get("names")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                self.images
                    .insert(name.to_string(), ImageState { size, num_nodes: 0 });
            }
        }
        self.node = Some(stored);
        Ok(())
    }

    /// Account a pod to this node (upstream `NodeInfo.AddPod`).
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.add(&pod.non_zero_requests);
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_affinity() {
            self.pods_with_affinity.push(pod.clone());
        }
        if pod.has_required_anti_affinity() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.pods.push(pod);
    }

    /// Remove a pod by uid (upstream `NodeInfo.RemovePod`); false if it was not here.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.uid == uid) else {
            return false;
        };
        let pod = self.pods.swap_remove(i);
        self.pods_with_affinity.retain(|p| p.uid != uid);
        self.pods_with_required_anti_affinity
            .retain(|p| p.uid != uid);
        for port in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(j);
            }
        }
        self.requested.sub(&pod.requests);
        self.non_zero_requested.sub(&pod.non_zero_requests);
        true
    }
}
