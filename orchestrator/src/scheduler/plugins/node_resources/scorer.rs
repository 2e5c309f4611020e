//! The resource allocation scorer both resource plugins share (upstream
//! `noderesources/resource_allocation.go`, `least_allocated.go`, `most_allocated.go`,
//! `requested_to_capacity_ratio.go`, `helper/shape_score.go`): for each configured resource, the
//! node's allocatable and what would be requested on it with the pod, fed to a strategy.
//!
//! Upstream builds two slices per node and calls the strategy on them; here each strategy folds
//! over the resources directly, so scoring a node allocates nothing.

use serde::Deserialize;

use crate::scheduler::framework::resource::{self, CPU, EPHEMERAL_STORAGE, MEMORY};
use crate::scheduler::framework::{MAX_NODE_SCORE, NodeInfo, PodInfo};

/// The highest score of a `RequestedToCapacityRatio` shape point (upstream
/// `MaxCustomPriorityScore`); shape scores are scaled by `MAX_NODE_SCORE / 10`.
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;
/// The highest utilization of a shape point, in percent.
const MAX_UTILIZATION: i64 = 100;
/// The highest weight of a resource (upstream `MaxResourceWeight`… validation's range 1..=100).
const MAX_RESOURCE_WEIGHT: i64 = 100;

/// A resource and its weight in a score (upstream `config.ResourceSpec`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ResourceSpec {
    pub name: String,
    /// 0 in the arguments means 1 (upstream v1 defaulting).
    #[serde(default)]
    pub weight: i64,
}

/// A point of a `RequestedToCapacityRatio` shape (upstream `config.UtilizationShapePoint`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct UtilizationShapePoint {
    /// Percent, 0..=100.
    pub utilization: i64,
    /// 0..=10.
    pub score: i64,
}

/// How requested resources turn into a score.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Favour nodes with more free resources (spreading): the default.
    LeastAllocated,
    /// Favour nodes with fewer free resources (bin packing).
    MostAllocated,
    /// A piecewise linear function of utilization; points hold scores already scaled to
    /// `0..=MAX_NODE_SCORE`.
    RequestedToCapacityRatio(Vec<UtilizationShapePoint>),
    /// 1 minus the standard deviation of the resources' fractions (BalancedAllocation).
    Balanced,
}

/// The default resources of both plugins: cpu and memory, weight 1 (upstream `defaultResourceSpec`).
pub fn default_resources() -> Vec<ResourceSpec> {
    [CPU, MEMORY]
        .into_iter()
        .map(|name| ResourceSpec {
            name: name.to_string(),
            weight: 1,
        })
        .collect()
}

/// Apply v1 defaulting (no resources: cpu and memory; weight 0: 1) and validate weights as
/// upstream's `validateResources`.
pub fn default_and_validate_resources(
    resources: Option<Vec<ResourceSpec>>,
    path: &str,
) -> Result<Vec<ResourceSpec>, String> {
    let mut resources = match resources {
        Some(r) if !r.is_empty() => r,
        _ => default_resources(),
    };
    for (i, r) in resources.iter_mut().enumerate() {
        if r.weight == 0 {
            r.weight = 1;
        }
        if r.weight < 1 || r.weight > MAX_RESOURCE_WEIGHT {
            return Err(format!(
                "{path}[{i}].weight: Invalid value: {}: resource weight of {} should be in range [1, {MAX_RESOURCE_WEIGHT}]",
                r.weight, r.name
            ));
        }
    }
    Ok(resources)
}

/// Validate a shape (upstream `validateFunctionShape`) and scale its scores to node scores.
pub fn shape(points: &[UtilizationShapePoint]) -> Result<Vec<UtilizationShapePoint>, String> {
    const PATH: &str = "scoringStrategy.requestedToCapacityRatio.shape";
    if points.is_empty() {
        return Err(format!(
            "{PATH}: Required value: at least one point must be specified"
        ));
    }
    for (i, p) in points.iter().enumerate() {
        if i > 0 && points[i - 1].utilization >= p.utilization {
            return Err(format!(
                "{PATH}[{i}].utilization: Invalid value: {}: utilization values must be sorted in increasing order",
                p.utilization
            ));
        }
        if !(0..=MAX_UTILIZATION).contains(&p.utilization) {
            return Err(format!(
                "{PATH}[{i}].utilization: Invalid value: {}: not in valid range [0, {MAX_UTILIZATION}]",
                p.utilization
            ));
        }
        if !(0..=MAX_CUSTOM_PRIORITY_SCORE).contains(&p.score) {
            return Err(format!(
                "{PATH}[{i}].score: Invalid value: {}: not in valid range [0, {MAX_CUSTOM_PRIORITY_SCORE}]",
                p.score
            ));
        }
    }
    Ok(points
        .iter()
        .map(|p| UtilizationShapePoint {
            utilization: p.utilization,
            score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE),
        })
        .collect())
}

/// Upstream `helper.BuildBrokenLinearFunction` evaluated at `p`.
fn broken_linear(shape: &[UtilizationShapePoint], p: i64) -> i64 {
    for (i, point) in shape.iter().enumerate() {
        if p <= point.utilization {
            if i == 0 {
                return shape[0].score;
            }
            let prev = shape[i - 1];
            return prev.score
                + (point.score - prev.score) * (p - prev.utilization)
                    / (point.utilization - prev.utilization);
        }
    }
    shape.last().map_or(0, |p| p.score)
}

/// Upstream `leastRequestedScore`.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// Upstream `mostRequestedScore` (requests above capacity, possible with non-zero defaults,
/// count as full).
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// The scorer: which resources, with which weights, and whether node usage is counted from
/// actual requests (BalancedAllocation) or from non-zero requests (NodeResourcesFit).
#[derive(Clone, Debug)]
pub struct ResourceAllocationScorer {
    pub strategy: Strategy,
    pub resources: Vec<ResourceSpec>,
    pub use_requested: bool,
}

impl ResourceAllocationScorer {
    /// The pod's request of each configured resource, in order (upstream
    /// `calculatePodResourceRequestList`): non-zero requests unless `use_requested`.
    pub fn pod_requests(&self, pod: &PodInfo) -> Vec<i64> {
        let requests = if self.use_requested {
            &pod.requests
        } else {
            &pod.non_zero_requests
        };
        self.resources
            .iter()
            .map(|r| requests.get(&r.name))
            .collect()
    }

    /// The node's allocatable and requested-with-the-pod amounts of a resource; `(0, 0)` leaves
    /// it out of the score (upstream `calculateResourceAllocatableRequest`).
    fn allocatable_requested(&self, node: &NodeInfo, name: &str, pod_request: i64) -> (i64, i64) {
        let requested = if self.use_requested {
            &node.requested
        } else {
            &node.non_zero_requested
        };
        // An extended resource the pod does not ask for plays no part.
        if pod_request == 0 && resource::is_scalar(name) {
            return (0, 0);
        }
        match name {
            CPU => (
                node.allocatable.milli_cpu,
                requested.milli_cpu + pod_request,
            ),
            MEMORY => (node.allocatable.memory, requested.memory + pod_request),
            EPHEMERAL_STORAGE => (
                node.allocatable.ephemeral_storage,
                node.requested.ephemeral_storage + pod_request,
            ),
            other => match node.allocatable.scalar.get(other) {
                Some(&alloc) => (alloc, node.requested.get(other) + pod_request),
                None => (0, 0),
            },
        }
    }

    /// The node's score for a pod whose requests are `pod_requests` (from [`Self::pod_requests`]).
    pub fn score(&self, node: &NodeInfo, pod_requests: &[i64]) -> i64 {
        let pairs = self
            .resources
            .iter()
            .zip(pod_requests)
            .map(|(r, &req)| (r.weight, self.allocatable_requested(node, &r.name, req)))
            .filter(|(_, (alloc, _))| *alloc != 0);
        match &self.strategy {
            Strategy::LeastAllocated | Strategy::MostAllocated => {
                let f = if self.strategy == Strategy::LeastAllocated {
                    least_requested_score
                } else {
                    most_requested_score
                };
                let (mut score, mut weights) = (0i64, 0i64);
                for (weight, (alloc, req)) in pairs {
                    score += f(req, alloc) * weight;
                    weights += weight;
                }
                if weights == 0 { 0 } else { score / weights }
            }
            Strategy::RequestedToCapacityRatio(shape) => {
                let (mut score, mut weights) = (0i64, 0i64);
                for (weight, (alloc, req)) in pairs {
                    let s = if req > alloc {
                        broken_linear(shape, MAX_UTILIZATION)
                    } else {
                        broken_linear(shape, req * MAX_UTILIZATION / alloc)
                    };
                    if s > 0 {
                        score += s * weight;
                        weights += weight;
                    }
                }
                if weights == 0 {
                    0
                } else {
                    (score as f64 / weights as f64).round() as i64
                }
            }
            Strategy::Balanced => {
                let fraction = |(alloc, req): (i64, i64)| (req as f64 / alloc as f64).min(1.0);
                let (mut n, mut total) = (0usize, 0.0f64);
                let (mut first, mut second) = (0.0, 0.0);
                for (_, ar) in pairs.clone() {
                    let f = fraction(ar);
                    match n {
                        0 => first = f,
                        1 => second = f,
                        _ => {}
                    }
                    total += f;
                    n += 1;
                }
                let std = match n {
                    0 | 1 => 0.0,
                    2 => ((first - second) / 2.0).abs(),
                    _ => {
                        let mean = total / n as f64;
                        let sum: f64 = pairs.map(|(_, ar)| (fraction(ar) - mean).powi(2)).sum();
                        (sum / n as f64).sqrt()
                    }
                };
                ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(p: &[(i64, i64)]) -> Vec<UtilizationShapePoint> {
        p.iter()
            .map(|&(utilization, score)| UtilizationShapePoint { utilization, score })
            .collect()
    }

    // Upstream `TestBrokenLinearFunction`.
    /// Integer division truncates toward zero on falling segments, as in Go.
    #[test]
    fn broken_linear_interpolates_between_points() {
        let shape = pts(&[(10, 1), (90, 9)]);
        for (p, want) in [
            (-10, 1),
            (0, 1),
            (9, 1),
            (10, 1),
            (15, 1),
            (19, 1),
            (20, 2),
            (89, 8),
            (90, 9),
            (99, 9),
            (100, 9),
            (110, 9),
        ] {
            assert_eq!(broken_linear(&shape, p), want, "at {p}");
        }
        let shape = pts(&[(0, 2), (40, 10), (100, 0)]);
        for (p, want) in [
            (-10, 2),
            (0, 2),
            (20, 6),
            (30, 8),
            (40, 10),
            (50, 9),
            (60, 7),
            (80, 4),
            (90, 2),
            (100, 0),
            (110, 0),
        ] {
            assert_eq!(broken_linear(&shape, p), want, "at {p}");
        }
    }

    #[test]
    fn shape_validation_and_scaling() {
        assert_eq!(
            shape(&pts(&[(0, 0), (100, 10)])).unwrap(),
            pts(&[(0, 0), (100, 100)])
        );
        assert!(shape(&[]).unwrap_err().contains("at least one point"));
        assert!(
            shape(&pts(&[(50, 1), (50, 2)]))
                .unwrap_err()
                .contains("increasing order")
        );
        assert!(shape(&pts(&[(0, 11)])).unwrap_err().contains("score"));
        assert!(
            shape(&pts(&[(101, 1)]))
                .unwrap_err()
                .contains("utilization")
        );
    }

    #[test]
    fn resources_default_and_weights_are_checked() {
        assert_eq!(
            default_and_validate_resources(None, "r").unwrap(),
            default_resources()
        );
        let r = default_and_validate_resources(
            Some(vec![ResourceSpec {
                name: "cpu".into(),
                weight: 0,
            }]),
            "r",
        )
        .unwrap();
        assert_eq!(r[0].weight, 1);
        assert!(
            default_and_validate_resources(
                Some(vec![ResourceSpec {
                    name: "cpu".into(),
                    weight: 101
                }]),
                "r"
            )
            .is_err()
        );
    }

    #[test]
    fn least_and_most_requested_scores() {
        assert_eq!(least_requested_score(3000, 10000), 70);
        assert_eq!(least_requested_score(11000, 10000), 0);
        assert_eq!(most_requested_score(3000, 10000), 30);
        assert_eq!(most_requested_score(11000, 10000), 100);
        assert_eq!(most_requested_score(1, 0), 0);
    }
}
