//! ImageLocality (upstream `plugins/imagelocality`): favours nodes that already have the pod's
//! images, by the images' sizes scaled by how widely each image is spread over the cluster (an
//! image present on every node says nothing, and favouring it would pile pods onto one node).
//! The sum is clamped between 23 MB and 1000 MB per container and mapped to 0..=100.
//!
//! Upstream reads the node count from the snapshot in every Score call; here PreScore records it
//! once with the pod's normalized image names, so Score does only map lookups.

use std::sync::Arc;

use crate::scheduler::framework::{
    CycleState, Handle, ImageState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreScore, Score,
    Snapshot, Status,
};
use crate::scheduler::plugins::IMAGE_LOCALITY;

const MB: i64 = 1024 * 1024;
/// Below this total, a node scores 0 (upstream `minThreshold`).
const MIN_THRESHOLD: i64 = 23 * MB;
/// Per container, above this a node scores 100 (upstream `maxContainerThreshold`).
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// The plugin.
#[derive(Debug, Default)]
pub struct ImageLocality;

/// PreScore state: the pod's images as nodes report them, and the cluster's node count.
#[derive(Clone, Debug)]
struct PreScoreState {
    images: Vec<String>,
    total_nodes: usize,
}

/// Makes the plugin; it takes no arguments.
pub fn new(_args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(ImageLocality))
}

/// The name a node reports for `image`: a `:latest` tag is added when the name has no tag
/// (upstream `normalizedImageName`; a `:` before the last `/` is a registry port, not a tag).
pub fn normalized_image_name(image: &str) -> String {
    let colon = image.rfind(':');
    let slash = image.rfind('/');
    if colon.map(|c| c as isize).unwrap_or(-1) <= slash.map(|s| s as isize).unwrap_or(-1) {
        format!("{image}:latest")
    } else {
        image.to_string()
    }
}

/// An image's size scaled by the share of nodes that have it (upstream `scaledImageScore`).
fn scaled_image_score(state: &ImageState, total_nodes: usize) -> i64 {
    let spread = state.num_nodes as f64 / total_nodes.max(1) as f64;
    (state.size as f64 * spread) as i64
}

/// Map the summed image scores to 0..=100 (upstream `calculatePriority`).
fn calculate_priority(sum: i64, num_containers: usize) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD * num_containers as i64;
    let sum = if sum < MIN_THRESHOLD {
        MIN_THRESHOLD
    } else {
        sum.min(max_threshold)
    };
    if max_threshold <= MIN_THRESHOLD {
        return 0;
    }
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        IMAGE_LOCALITY
    }
    fn as_pre_score(&self) -> Option<&dyn PreScore> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn Score> {
        Some(self)
    }
}

impl PreScore for ImageLocality {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status {
        state.write(PreScoreState {
            images: pod
                .images
                .iter()
                .map(|i| normalized_image_name(i))
                .collect(),
            total_nodes: snapshot.len(),
        });
        Status::success()
    }
}

impl Score for ImageLocality {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> (i64, Status) {
        let sum_for = |images: &mut dyn Iterator<Item = &str>, total: Option<usize>| -> i64 {
            images
                .filter_map(|name| node.images.get(name))
                // Without PreScore the cluster size is unknown: count each image as spread
                // over the nodes that have it (spread 1).
                .map(|s| scaled_image_score(s, total.unwrap_or(s.num_nodes)))
                .sum()
        };
        let sum = match state.read::<PreScoreState>() {
            Some(s) => sum_for(
                &mut s.images.iter().map(String::as_str),
                Some(s.total_nodes),
            ),
            None => {
                let names: Vec<String> = pod
                    .images
                    .iter()
                    .map(|i| normalized_image_name(i))
                    .collect();
                sum_for(&mut names.iter().map(String::as_str), None)
            }
        };
        (calculate_priority(sum, pod.images.len()), Status::success())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::scheduler::framework::testing::{node, pod, simple_node, simple_pod, snapshot};

    fn node_with_images(name: &str, images: &[(&str, i64)]) -> NodeInfo {
        let mut n = simple_node(name, "1", "1Gi", &[]);
        n["status"]["images"] = Value::Array(
            images
                .iter()
                .map(|(name, mb)| json!({ "names": [name], "sizeBytes": mb * MB }))
                .collect(),
        );
        node(n, &[])
    }

    fn pod_with_images(images: &[&str]) -> Arc<PodInfo> {
        let mut p = simple_pod("p", "", "");
        p["spec"]["containers"] = Value::Array(
            images
                .iter()
                .enumerate()
                .map(|(i, image)| json!({ "name": format!("c{i}"), "image": image }))
                .collect(),
        );
        pod(p)
    }

    fn scores(images: &[&str], nodes: Vec<NodeInfo>) -> Vec<i64> {
        let snap = snapshot(nodes);
        let p = pod_with_images(images);
        let mut state = CycleState::new();
        assert!(
            ImageLocality
                .pre_score(&mut state, &p, &[], &snap)
                .is_success()
        );
        snap.nodes
            .iter()
            .map(|n| ImageLocality.score(&state, &p, n).0)
            .collect()
    }

    fn two_nodes() -> Vec<NodeInfo> {
        vec![
            node_with_images(
                "node1",
                &[
                    ("gcr.io/40:latest", 40),
                    ("gcr.io/300:latest", 300),
                    ("gcr.io/2000:latest", 2000),
                ],
            ),
            node_with_images(
                "node2",
                &[("gcr.io/250:latest", 250), ("gcr.io/10:latest", 10)],
            ),
        ]
    }

    // Upstream `TestImageLocalityPriority`.
    #[test]
    fn two_images_spread_on_two_nodes_prefer_the_larger_image() {
        // node1: (40 + 300) MB × 1/2 = 170 MB → 100 × (170 − 23) / (2000 − 23) = 7.
        assert_eq!(
            scores(&["gcr.io/40", "gcr.io/300"], two_nodes()),
            vec![7, 0]
        );
    }

    #[test]
    fn two_images_on_one_node_prefer_that_node() {
        // node2: (250 + 10) MB × 1/2 = 130 MB → 100 × 107 / 1977 = 5.
        assert_eq!(
            scores(&["gcr.io/250", "gcr.io/10"], two_nodes()),
            vec![0, 5]
        );
    }

    #[test]
    fn a_large_image_is_clamped_to_the_per_container_limit() {
        // node1: 2000 × 1/2 = 1000 MB of 2 × 1000 MB → 100 × 977 / 1977 = 49; node2: 5 MB → 0.
        assert_eq!(
            scores(&["gcr.io/2000", "gcr.io/10"], two_nodes()),
            vec![49, 0]
        );
    }

    #[test]
    fn an_image_on_every_node_counts_fully_where_present() {
        let nodes = vec![
            node_with_images("a", &[("gcr.io/300:latest", 300)]),
            node_with_images("b", &[("gcr.io/300:latest", 300)]),
        ];
        // 300 MB × 2/2 on each: 100 × 277 / 977 = 28.
        assert_eq!(scores(&["gcr.io/300"], nodes), vec![28, 28]);
    }

    #[test]
    fn image_names_get_latest_when_untagged() {
        assert_eq!(normalized_image_name("gcr.io/40"), "gcr.io/40:latest");
        assert_eq!(normalized_image_name("gcr.io/40:v1"), "gcr.io/40:v1");
        assert_eq!(
            normalized_image_name("registry:5000/app"),
            "registry:5000/app:latest"
        );
        assert_eq!(normalized_image_name("nginx"), "nginx:latest");
    }
}
