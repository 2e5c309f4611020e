//! The LimitRanger admission plugin (upstream `plugin/pkg/admission/limitranger`): fills missing
//! container requests and limits from a namespace's LimitRanges, then enforces their Container,
//! Pod and PersistentVolumeClaim min, max and max limit/request ratio, with upstream's messages.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::pod_resources::{Overhead, container_list, pod_limits, pod_requests};
use super::quantity::{Quantity, ResourceList, parse_list};

const ANNOTATION: &str = "kubernetes.io/limit-ranger";
/// Upstream's `resource.MaxMilliValue`: above it, comparisons fall back to whole units.
const MAX_MILLI_VALUE: i128 = (i64::MAX / 1000) as i128;

/// One `spec.limits` item of a LimitRange, with upstream's item defaulting applied.
#[derive(Clone, Debug, Default)]
struct Item {
    kind: String,
    min: ResourceList,
    max: ResourceList,
    default: ResourceList,
    default_request: ResourceList,
    ratio: ResourceList,
}

fn items(limit_range: &Value) -> Vec<Item> {
    let list = limit_range
        .pointer("/spec/limits")
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .map(|v| {
            let mut item = Item {
                kind: v
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                min: parse_list(v.get("min")),
                max: parse_list(v.get("max")),
                default: parse_list(v.get("default")),
                default_request: parse_list(v.get("defaultRequest")),
                ratio: parse_list(v.get("maxLimitRequestRatio")),
            };
            if item.kind == "Container" {
                // Upstream's SetDefaults_LimitRangeItem; idempotent, so applying it here too keeps
                // the plugin right even where the stored object was not defaulted.
                for (k, v) in &item.max {
                    item.default.entry(k.clone()).or_insert(*v);
                }
                for (k, v) in &item.default {
                    item.default_request.entry(k.clone()).or_insert(*v);
                }
                for (k, v) in &item.min {
                    item.default_request.entry(k.clone()).or_insert(*v);
                }
            }
            item
        })
        .collect()
}

/// Apply a LimitRange's Container defaults to every container and init container that lacks
/// them, and record what was set in the `kubernetes.io/limit-ranger` annotation (upstream
/// `PodMutateLimitFunc`).
pub(crate) fn mutate_pod(limit_range: &Value, pod: &mut Value) {
    let mut default_limits = ResourceList::new();
    let mut default_requests = ResourceList::new();
    for item in items(limit_range)
        .into_iter()
        .filter(|i| i.kind == "Container")
    {
        default_limits.extend(item.default);
        default_requests.extend(item.default_request);
    }
    let mut notes = Vec::new();
    for (key, label) in [
        ("containers", "container"),
        ("initContainers", "init container"),
    ] {
        let Some(list) = pod
            .pointer_mut(&format!("/spec/{key}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in list {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let set_limits = fill(c, "limits", &default_limits);
            let set_requests = fill(c, "requests", &default_requests);
            if !set_requests.is_empty() {
                notes.push(format!(
                    "{} request for {label} {name}",
                    set_requests.join(", ")
                ));
            }
            if !set_limits.is_empty() {
                notes.push(format!(
                    "{} limit for {label} {name}",
                    set_limits.join(", ")
                ));
            }
        }
    }
    if notes.is_empty() {
        return;
    }
    let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    annotations[ANNOTATION] =
        Value::String(format!("LimitRanger plugin set: {}", notes.join("; ")));
}

/// Set each missing entry of `resources.<key>` from `defaults`; the names set, sorted.
fn fill(container: &mut Value, key: &str, defaults: &ResourceList) -> Vec<String> {
    let present: BTreeSet<String> = container
        .pointer(&format!("/resources/{key}"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let missing: Vec<(&String, &Quantity)> = defaults
        .iter()
        .filter(|(k, _)| !present.contains(*k))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let Some(obj) = container.as_object_mut() else {
        return Vec::new();
    };
    let resources = obj
        .entry("resources")
        .or_insert_with(|| Value::Object(Map::new()));
    if !resources.is_object() {
        *resources = Value::Object(Map::new());
    }
    let list = resources
        .as_object_mut()
        .expect("made an object above")
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    if !list.is_object() {
        *list = Value::Object(Map::new());
    }
    let list = list.as_object_mut().expect("made an object above");
    for (k, q) in &missing {
        list.insert((*k).clone(), Value::String(q.canonical()));
    }
    missing.into_iter().map(|(k, _)| k.clone()).collect()
}

/// Enforce a LimitRange's Container and Pod constraints on a pod (upstream
/// `PodValidateLimitFunc`); the error is the aggregate message of every violation.
pub(crate) fn validate_pod(limit_range: &Value, pod: &Value) -> Result<(), String> {
    let mut errs = Vec::new();
    for item in items(limit_range) {
        match item.kind.as_str() {
            "Container" => {
                for c in super::pod_resources::containers(pod) {
                    check(
                        &item,
                        "Container",
                        &container_list(c, "requests"),
                        &container_list(c, "limits"),
                        &mut errs,
                    );
                }
            }
            "Pod" => {
                let requests = pod_requests(pod, Overhead::Exclude);
                let limits = pod_limits(pod, Overhead::Exclude);
                check(&item, "Pod", &requests, &limits, &mut errs);
            }
            _ => {}
        }
    }
    aggregate(errs)
}

fn check(
    item: &Item,
    kind: &str,
    requests: &ResourceList,
    limits: &ResourceList,
    errs: &mut Vec<String>,
) {
    for (k, v) in &item.min {
        errs.extend(min_constraint(kind, k, v, requests, limits));
    }
    for (k, v) in &item.max {
        errs.extend(max_constraint(kind, k, v, requests, limits));
    }
    for (k, v) in &item.ratio {
        errs.extend(ratio_constraint(kind, k, v, requests, limits));
    }
}

/// Enforce a LimitRange's PersistentVolumeClaim min and max on a claim's storage request
/// (upstream `PersistentVolumeClaimValidateLimitFunc`).
pub(crate) fn validate_pvc(limit_range: &Value, pvc: &Value) -> Result<(), String> {
    let requests = parse_list(pvc.pointer("/spec/resources/requests"));
    let mut errs = Vec::new();
    for item in items(limit_range)
        .into_iter()
        .filter(|i| i.kind == "PersistentVolumeClaim")
    {
        for (k, v) in &item.min {
            errs.extend(min_constraint(
                "PersistentVolumeClaim",
                k,
                v,
                &requests,
                &ResourceList::new(),
            ));
        }
        for (k, v) in &item.max {
            let req = requests.get(k);
            let (observed, _, enforced) = comparable(req, None, v);
            match req {
                None => errs.push(format!(
                    "maximum {k} usage per PersistentVolumeClaim is {v}.  No request is specified"
                )),
                Some(r) if observed > enforced => {
                    errs.push(format!(
                        "maximum {k} usage per PersistentVolumeClaim is {v}, but request is {r}"
                    ));
                }
                _ => {}
            }
        }
    }
    aggregate(errs)
}

/// Upstream's `utilerrors.NewAggregate(errs).Error()`: one message alone, several (deduplicated)
/// in brackets.
fn aggregate(errs: Vec<String>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    let unique: Vec<String> = errs
        .into_iter()
        .filter(|e| seen.insert(e.clone()))
        .collect();
    match unique.len() {
        0 => Ok(()),
        1 => Err(unique.into_iter().next().expect("one element")),
        _ => Err(format!("[{}]", unique.join(", "))),
    }
}

/// Request, limit and enforced value at a common precision (upstream
/// `requestLimitEnforcedValues`): milli-units unless any would overflow them.
fn comparable(
    req: Option<&Quantity>,
    lim: Option<&Quantity>,
    enforced: &Quantity,
) -> (i128, i128, i128) {
    let zero = Quantity::default();
    let (req, lim) = (req.unwrap_or(&zero), lim.unwrap_or(&zero));
    if req.value() <= MAX_MILLI_VALUE
        && lim.value() <= MAX_MILLI_VALUE
        && enforced.value() <= MAX_MILLI_VALUE
    {
        (req.milli_value(), lim.milli_value(), enforced.milli_value())
    } else {
        (req.value(), lim.value(), enforced.value())
    }
}

fn min_constraint(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(name), limits.get(name));
    let (observed_req, observed_lim, enforced_value) = comparable(req, lim, enforced);
    let Some(req) = req else {
        return Some(format!(
            "minimum {name} usage per {kind} is {enforced}.  No request is specified"
        ));
    };
    if observed_req < enforced_value {
        return Some(format!(
            "minimum {name} usage per {kind} is {enforced}, but request is {req}"
        ));
    }
    if let Some(lim) = lim
        && observed_lim < enforced_value
    {
        return Some(format!(
            "minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
        ));
    }
    None
}

fn max_constraint(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(name), limits.get(name));
    let (observed_req, observed_lim, enforced_value) = comparable(req, lim, enforced);
    let Some(lim) = lim else {
        return Some(format!(
            "maximum {name} usage per {kind} is {enforced}.  No limit is specified"
        ));
    };
    if observed_lim > enforced_value {
        return Some(format!(
            "maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
        ));
    }
    if let Some(req) = req
        && observed_req > enforced_value
    {
        return Some(format!(
            "maximum {name} usage per {kind} is {enforced}, but request is {req}"
        ));
    }
    None
}

fn ratio_constraint(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(name), limits.get(name));
    let (observed_req, observed_lim, _) = comparable(req, lim, enforced);
    if req.is_none() || observed_req == 0 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
        ));
    }
    if lim.is_none() || observed_lim == 0 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
        ));
    }
    let display = observed_lim as f64 / observed_req as f64;
    let (mut observed, mut allowed) = (display, enforced.value() as f64);
    if enforced.value() <= MAX_MILLI_VALUE {
        observed *= 1000.0;
        allowed = enforced.milli_value() as f64;
    }
    (observed > allowed)
        .then(|| format!("{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {display:.6}"))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    fn range(limits: Value) -> Value {
        json!({"metadata": {"name": "lr"}, "spec": {"limits": limits}})
    }

    fn pod_with(resources: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "resources": resources}]}})
    }

    #[test]
    fn defaults_fill_missing_requests_and_limits_and_annotate() {
        let lr = range(
            json!([{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
            "defaultRequest": {"cpu": "100m"}}]),
        );
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "app", "resources": {"limits": {"memory": "1Gi"}}}],
            "initContainers": [{"name": "init"}]
        }});
        mutate_pod(&lr, &mut pod);
        let app = &pod["spec"]["containers"][0]["resources"];
        assert_eq!(app["limits"], json!({"memory": "1Gi", "cpu": "500m"}));
        // defaultRequest falls back to default for memory, as upstream's LimitRange defaulting.
        assert_eq!(app["requests"], json!({"cpu": "100m", "memory": "256Mi"}));
        assert_eq!(
            pod["spec"]["initContainers"][0]["resources"]["limits"],
            json!({"cpu": "500m", "memory": "256Mi"})
        );
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION],
            "LimitRanger plugin set: cpu, memory request for container app; cpu limit for container app; \
             cpu, memory request for init container init; cpu, memory limit for init container init"
        );
    }

    #[test]
    fn max_defaults_the_limit_and_min_the_request() {
        let lr =
            range(json!([{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "10Mi"}}]));
        let mut pod = pod_with(json!({}));
        mutate_pod(&lr, &mut pod);
        assert_eq!(
            pod["spec"]["containers"][0]["resources"],
            json!({"limits": {"cpu": "2"}, "requests": {"cpu": "2", "memory": "10Mi"}})
        );
        assert!(validate_pod(&lr, &pod).is_ok());
    }

    #[test]
    fn nothing_to_default_leaves_the_pod_untouched() {
        let lr = range(json!([{"type": "Pod", "max": {"cpu": "2"}}]));
        let mut pod = pod_with(json!({"limits": {"cpu": "1"}}));
        let before = pod.clone();
        mutate_pod(&lr, &mut pod);
        assert_eq!(pod, before);
    }

    #[rstest]
    #[case::container_max_limit(
        json!([{"type": "Container", "max": {"cpu": "1"}}]),
        json!({"requests": {"cpu": "1"}, "limits": {"cpu": "2"}}),
        "maximum cpu usage per Container is 1, but limit is 2"
    )]
    #[case::container_max_no_limit(
        json!([{"type": "Container", "max": {"memory": "1Gi"}}]),
        json!({"requests": {"memory": "512Mi"}}),
        "maximum memory usage per Container is 1Gi.  No limit is specified"
    )]
    #[case::container_max_request(
        json!([{"type": "Container", "max": {"cpu": "1"}}]),
        json!({"requests": {"cpu": "1500m"}, "limits": {"cpu": "1"}}),
        "maximum cpu usage per Container is 1, but request is 1500m"
    )]
    #[case::container_min_request(
        json!([{"type": "Container", "min": {"memory": "100Mi"}}]),
        json!({"requests": {"memory": "50Mi"}}),
        "minimum memory usage per Container is 100Mi, but request is 50Mi"
    )]
    #[case::container_min_no_request(
        json!([{"type": "Container", "min": {"cpu": "100m"}}]),
        json!({"limits": {"cpu": "1"}}),
        "minimum cpu usage per Container is 100m.  No request is specified"
    )]
    #[case::container_min_limit(
        json!([{"type": "Container", "min": {"cpu": "100m"}}]),
        json!({"requests": {"cpu": "200m"}, "limits": {"cpu": "50m"}}),
        "minimum cpu usage per Container is 100m, but limit is 50m"
    )]
    #[case::ratio(
        json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]),
        json!({"requests": {"cpu": "250m"}, "limits": {"cpu": "1"}}),
        "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000"
    )]
    #[case::ratio_no_request(
        json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]),
        json!({"limits": {"cpu": "1"}}),
        "cpu max limit to request ratio per Container is 2, but no request is specified or request is 0"
    )]
    #[case::ratio_no_limit(
        json!([{"type": "Container", "maxLimitRequestRatio": {"memory": "1500m"}}]),
        json!({"requests": {"memory": "1Gi"}}),
        "memory max limit to request ratio per Container is 1500m, but no limit is specified or limit is 0"
    )]
    #[case::pod_max(
        json!([{"type": "Pod", "max": {"memory": "1Gi"}}]),
        json!({"requests": {"memory": "1Gi"}, "limits": {"memory": "2Gi"}}),
        "maximum memory usage per Pod is 1Gi, but limit is 2Gi"
    )]
    #[case::several_in_brackets(
        json!([{"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "100Mi"}}]),
        json!({"requests": {"cpu": "1", "memory": "50Mi"}, "limits": {"cpu": "2", "memory": "50Mi"}}),
        "[minimum memory usage per Container is 100Mi, but request is 50Mi, maximum cpu usage per Container is 1, but limit is 2]"
    )]
    fn rejects_pods_outside_the_range_with_upstream_messages(
        #[case] limits: Value,
        #[case] resources: Value,
        #[case] message: &str,
    ) {
        assert_eq!(
            validate_pod(&range(limits), &pod_with(resources)).unwrap_err(),
            message
        );
    }

    #[test]
    fn pod_limits_sum_the_containers() {
        let lr = range(json!([{"type": "Pod", "max": {"cpu": "1"}}]));
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "600m"}}},
            {"name": "b", "resources": {"limits": {"cpu": "600m"}}}
        ]}});
        assert_eq!(
            validate_pod(&lr, &pod).unwrap_err(),
            "maximum cpu usage per Pod is 1, but limit is 1200m"
        );
    }

    #[test]
    fn claims_are_held_to_storage_min_and_max() {
        let lr = range(
            json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}]),
        );
        let pvc = |s: &str| json!({"spec": {"resources": {"requests": {"storage": s}}}});
        assert!(validate_pvc(&lr, &pvc("5Gi")).is_ok());
        assert_eq!(
            validate_pvc(&lr, &pvc("20Gi")).unwrap_err(),
            "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"
        );
        assert_eq!(
            validate_pvc(&lr, &pvc("500Mi")).unwrap_err(),
            "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"
        );
        assert_eq!(
            validate_pvc(&lr, &json!({"spec": {}})).unwrap_err(),
            "[minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified, \
             maximum storage usage per PersistentVolumeClaim is 10Gi.  No request is specified]"
        );
    }
}
