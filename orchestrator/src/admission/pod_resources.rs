//! A pod's effective requests and limits and its QoS class, computed as upstream's
//! `component-helpers/resource` (`PodRequests`, `PodLimits`) and `qos.GetPodQOS`: the sum over
//! app containers and restartable (sidecar) init containers, against the largest one-shot init
//! container, with pod-level `spec.resources` overriding cpu and memory.

use serde_json::Value;

use super::quantity::{Quantity, ResourceList, add_lists, parse_list};

/// Whether pod overhead is added, as upstream's `PodResourcesOptions.ExcludeOverhead`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overhead {
    Include,
    Exclude,
}

/// Which side of a container's resources to aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Requests,
    Limits,
}

impl Side {
    fn key(self) -> &'static str {
        match self {
            Side::Requests => "requests",
            Side::Limits => "limits",
        }
    }
}

/// The containers of a pod, app containers first.
pub(crate) fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    let list = |key: &str| {
        pod.pointer(&format!("/spec/{key}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    };
    list("containers").chain(list("initContainers"))
}

/// A container's `resources.requests` or `resources.limits`.
pub(crate) fn container_list(container: &Value, key: &str) -> ResourceList {
    parse_list(container.pointer(&format!("/resources/{key}")))
}

/// The pod's effective requests.
pub(crate) fn pod_requests(pod: &Value, overhead: Overhead) -> ResourceList {
    let mut reqs = aggregate(pod, Side::Requests);
    if overhead == Overhead::Include {
        reqs = add_lists(&reqs, &parse_list(pod.pointer("/spec/overhead")));
    }
    reqs
}

/// The pod's effective limits.
pub(crate) fn pod_limits(pod: &Value, overhead: Overhead) -> ResourceList {
    let mut limits = aggregate(pod, Side::Limits);
    if overhead == Overhead::Include {
        // Upstream adds overhead only to resources that have a limit.
        for (name, q) in parse_list(pod.pointer("/spec/overhead")) {
            if let Some(v) = limits.get_mut(&name) {
                *v = v.add(&q);
            }
        }
    }
    limits
}

fn aggregate(pod: &Value, side: Side) -> ResourceList {
    let mut total = ResourceList::new();
    for c in pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        total = add_lists(&total, &container_list(c, side.key()));
    }
    let mut restartable = ResourceList::new();
    let mut init_max = ResourceList::new();
    for c in pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let own = container_list(c, side.key());
        let effective = if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            // A sidecar runs alongside everything that starts after it.
            total = add_lists(&total, &own);
            restartable = add_lists(&restartable, &own);
            restartable.clone()
        } else {
            add_lists(&own, &restartable)
        };
        max_into(&mut init_max, &effective);
    }
    max_into(&mut total, &init_max);
    // Pod-level resources override the aggregate for the resources they support.
    for (name, q) in parse_list(pod.pointer(&format!("/spec/resources/{}", side.key()))) {
        if name == "cpu" || name == "memory" {
            total.insert(name, q);
        }
    }
    total
}

fn max_into(list: &mut ResourceList, other: &ResourceList) {
    for (k, v) in other {
        match list.get(k) {
            Some(cur) if cur >= v => {}
            _ => {
                list.insert(k.clone(), *v);
            }
        }
    }
}

/// Whether the pod's QoS class is BestEffort: no positive cpu or memory request or limit on any
/// container (or at pod level). A recorded `status.qosClass` wins, as upstream's `GetPodQOS`.
pub(crate) fn is_best_effort(pod: &Value) -> bool {
    if let Some(class) = pod.pointer("/status/qosClass").and_then(Value::as_str)
        && !class.is_empty()
    {
        return class == "BestEffort";
    }
    let positive_compute = |list: &ResourceList| {
        list.iter()
            .any(|(k, q)| (k == "cpu" || k == "memory") && *q > Quantity::default())
    };
    if pod.pointer("/spec/resources").is_some_and(|r| !r.is_null()) {
        let r = pod.pointer("/spec/resources");
        let requests = parse_list(r.and_then(|r| r.get("requests")));
        let limits = parse_list(r.and_then(|r| r.get("limits")));
        if positive_compute(&requests) || positive_compute(&limits) {
            return false;
        }
    }
    !containers(pod).any(|c| {
        positive_compute(&container_list(c, "requests"))
            || positive_compute(&container_list(c, "limits"))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::admission::quantity::pretty_print;

    fn pod(spec: Value) -> Value {
        json!({"spec": spec})
    }

    #[test]
    fn sums_app_containers_and_takes_the_largest_init_container() {
        let p = pod(json!({
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}}
            ],
            "initContainers": [
                {"name": "i", "resources": {"requests": {"cpu": "1", "memory": "32Mi"}}}
            ]
        }));
        assert_eq!(
            pretty_print(&pod_requests(&p, Overhead::Include)),
            "cpu=1,memory=64Mi"
        );
        assert_eq!(pretty_print(&pod_limits(&p, Overhead::Include)), "cpu=200m");
    }

    #[test]
    fn sidecars_add_to_the_sum_and_to_later_init_containers() {
        let p = pod(json!({
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
            "initContainers": [
                {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}},
                {"name": "i", "resources": {"requests": {"cpu": "250m"}}}
            ]
        }));
        // app 100m + sidecar 200m = 300m; init 250m runs beside the sidecar: 450m.
        assert_eq!(
            pretty_print(&pod_requests(&p, Overhead::Include)),
            "cpu=450m"
        );
    }

    #[test]
    fn overhead_and_pod_level_resources_apply() {
        let p = pod(json!({
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "1"}}}],
            "overhead": {"cpu": "10m", "memory": "1Mi"},
            "resources": {"requests": {"memory": "2Gi"}}
        }));
        assert_eq!(
            pretty_print(&pod_requests(&p, Overhead::Include)),
            "cpu=110m,memory=2049Mi"
        );
        assert_eq!(
            pretty_print(&pod_requests(&p, Overhead::Exclude)),
            "cpu=100m,memory=2Gi"
        );
        assert_eq!(
            pretty_print(&pod_limits(&p, Overhead::Include)),
            "cpu=1010m"
        );
    }

    #[test]
    fn best_effort_means_no_cpu_or_memory_anywhere() {
        assert!(is_best_effort(&pod(json!({"containers": [{"name": "a"}]}))));
        assert!(is_best_effort(&pod(
            json!({"containers": [{"name": "a", "resources": {"requests": {"ephemeral-storage": "1Gi", "cpu": "0"}}}]})
        )));
        assert!(!is_best_effort(&pod(
            json!({"containers": [{"name": "a", "resources": {"limits": {"memory": "1Gi"}}}]})
        )));
        assert!(!is_best_effort(&pod(json!({
            "containers": [{"name": "a"}],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1"}}}]
        }))));
        let mut recorded =
            pod(json!({"containers": [{"name": "a", "resources": {"limits": {"cpu": "1"}}}]}));
        recorded["status"] = json!({"qosClass": "BestEffort"});
        assert!(is_best_effort(&recorded));
    }
}
