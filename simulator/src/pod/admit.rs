//! Kubelet admission (`pkg/kubelet/lifecycle/predicate.go`): before running a pod bound to it,
//! the kubelet checks that the pod fits next to the pods it already admitted — the OS, then the
//! scheduler's `AdmissionCheck` (resources, node affinity, node name, host ports), then NoExecute
//! taints — and rejects it with the first failure. A rejected pod ends `Failed` with the
//! failure's reason (`OutOfcpu`, `NodeAffinity`, …) and `Pod was rejected: <message>`.
//!
//! Pure: the driver gives the node and the pods it admitted; [`super::PodMachine::rejected`]
//! reports the result.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Why the kubelet refused a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// `status.reason` and the event's reason: `OutOfcpu`, `OutOfmemory`, `OutOfpods`,
    /// `NodeAffinity`, `NodePorts`, `TaintToleration`, …
    pub reason: String,
    /// The event's message; the status message is `Pod was rejected: ` and this.
    pub message: String,
}

impl Rejection {
    fn predicate(name: &str, desc: &str) -> Self {
        Self {
            reason: name.into(),
            message: format!("Predicate {name} failed: {desc}"),
        }
    }
}

/// Admit `pod` to `node`, next to the pods already `admitted` there (terminal ones are ignored,
/// as the kubelet counts only active pods).
pub fn admit<'a>(
    pod: &Pod,
    node: &Node,
    admitted: impl IntoIterator<Item = &'a Pod>,
) -> Result<(), Rejection> {
    let others: Vec<&Pod> = admitted
        .into_iter()
        .filter(|p| {
            p.metadata.uid != pod.metadata.uid
                && !matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
        })
        .collect();
    let node_labels = node.metadata.labels.clone().unwrap_or_default();
    let node_os = node_labels
        .get("kubernetes.io/os")
        .map_or("linux", String::as_str);
    let pod_labels = pod.metadata.labels.clone().unwrap_or_default();
    if pod_labels
        .get("kubernetes.io/os")
        .is_some_and(|os| os != node_os)
    {
        return Err(Rejection {
            reason: "PodOSSelectorNodeLabelDoesNotMatch".into(),
            message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"
                .into(),
        });
    }
    let spec = pod.spec.clone().unwrap_or_default();
    if spec.os.as_ref().is_some_and(|os| os.name != node_os) {
        return Err(Rejection {
            reason: "PodOSNotSupported".into(),
            message: "Failed to admit pod as the OS field doesn't match node OS".into(),
        });
    }

    fits(pod, node, &others)?;

    let affinity_terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|r| r.node_selector_terms.clone());
    let selector_ok = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| node_labels.get(k) == Some(v));
    let node_name = node.metadata.name.clone().unwrap_or_default();
    let affinity_ok = affinity_terms.is_none_or(|terms| {
        terms
            .iter()
            .any(|t| term_matches(t, &node_labels, &node_name))
    });
    if !(selector_ok && affinity_ok) {
        return Err(Rejection::predicate(
            "NodeAffinity",
            "node(s) didn't match Pod's node affinity/selector",
        ));
    }
    if spec
        .node_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && n != node_name)
    {
        return Err(Rejection::predicate(
            "NodeName",
            "node(s) didn't match the requested node name",
        ));
    }
    let used_ports: Vec<(String, String, i32)> =
        others.iter().flat_map(|p| host_ports(p)).collect();
    let conflict = host_ports(pod).iter().any(|(ip, proto, port)| {
        used_ports.iter().any(|(uip, uproto, uport)| {
            uport == port && uproto == proto && (uip == ip || uip == "0.0.0.0" || ip == "0.0.0.0")
        })
    });
    if conflict {
        return Err(Rejection::predicate(
            "NodePorts",
            "node(s) didn't have free ports for the requested pod ports",
        ));
    }
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let tolerations = spec.tolerations.clone().unwrap_or_default();
    let untolerated = taints
        .iter()
        .filter(|t| t.effect == "NoExecute")
        .any(|t| !tolerations.iter().any(|tol| tolerates(tol, t)));
    if untolerated {
        return Err(Rejection::predicate(
            "TaintToleration",
            "node(s) had taints that the pod didn't tolerate",
        ));
    }
    Ok(())
}

/// `noderesources.Fits`: pods, then cpu, memory, ephemeral storage, then extended resources the
/// node has.
fn fits(pod: &Pod, node: &Node, others: &[&Pod]) -> Result<(), Rejection> {
    let allocatable = node
        .status
        .as_ref()
        .and_then(|s| s.allocatable.clone().or_else(|| s.capacity.clone()))
        .unwrap_or_default();
    let amount = |list: &BTreeMap<String, Quantity>, name: &str| {
        list.get(name).map_or(0, |q| resource_amount(name, &q.0))
    };
    let insufficient = |name: &str, requested: i64, used: i64, capacity: i64| {
        let reason = match name {
            "cpu" => "OutOfcpu".to_owned(),
            "memory" => "OutOfmemory".to_owned(),
            "ephemeral-storage" => "OutOfephemeral-storage".to_owned(),
            "pods" => "OutOfpods".to_owned(),
            other => format!("OutOf{other}"),
        };
        Err(Rejection {
            reason,
            message: format!(
                "Node didn't have enough resource: {name}, requested: {requested}, used: {used}, capacity: {capacity}"
            ),
        })
    };
    let max_pods = amount(&allocatable, "pods");
    if others.len() as i64 + 1 > max_pods {
        return insufficient("pods", 1, others.len() as i64, max_pods);
    }
    let request = pod_requests(pod);
    let mut used: BTreeMap<String, i64> = BTreeMap::new();
    for p in others {
        for (k, v) in pod_requests(p) {
            *used.entry(k).or_default() += v;
        }
    }
    let mut names: Vec<&str> = vec!["cpu", "memory", "ephemeral-storage"];
    let extended: Vec<&String> = request
        .keys()
        .filter(|k| !names.contains(&k.as_str()) && allocatable.contains_key(*k))
        .collect();
    names.extend(extended.iter().map(|s| s.as_str()));
    for name in names {
        let want = request.get(name).copied().unwrap_or(0);
        let have = amount(&allocatable, name);
        let taken = used.get(name).copied().unwrap_or(0);
        if want > 0 && want > have - taken {
            return insufficient(name, want, taken, have);
        }
    }
    Ok(())
}

/// The pod's effective requests: the larger of the containers' sum and any one init
/// container's, plus the overhead (`resource.PodRequests`, without sidecar subtleties). CPU in
/// millicores, everything else in units.
pub fn pod_requests(pod: &Pod) -> BTreeMap<String, i64> {
    let Some(spec) = &pod.spec else {
        return BTreeMap::new();
    };
    let requests = |c: &Container| -> BTreeMap<String, i64> {
        c.resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .map(|r| {
                r.iter()
                    .map(|(k, q)| (k.clone(), resource_amount(k, &q.0)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    for c in &spec.containers {
        for (k, v) in requests(c) {
            *total.entry(k).or_default() += v;
        }
    }
    for c in spec.init_containers.iter().flatten() {
        for (k, v) in requests(c) {
            let e = total.entry(k).or_default();
            *e = (*e).max(v);
        }
    }
    for (k, q) in spec.overhead.iter().flatten() {
        *total.entry(k.clone()).or_default() += resource_amount(k, &q.0);
    }
    total
}

/// A quantity of `resource` as the scheduler counts it: CPU in millicores, the rest in units,
/// rounded up.
fn resource_amount(resource: &str, quantity: &str) -> i64 {
    let value = parse_quantity(quantity).unwrap_or(0.0);
    let scaled = if resource == "cpu" {
        value * 1000.0
    } else {
        value
    };
    (scaled - 1e-9).ceil().max(0.0) as i64
}

/// A Kubernetes quantity (`100m`, `1.5`, `128Mi`, `1G`, `2e3`) in base units.
pub fn parse_quantity(text: &str) -> Option<f64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(number * scale)
}

fn term_matches(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, name: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        // An empty term matches nothing.
        return false;
    }
    let by_field = |r: &NodeSelectorRequirement| {
        let value = (r.key == "metadata.name").then_some(name);
        requirement_matches(r, value)
    };
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(by_field)
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(number),
                values.first().and_then(|b| number(b)),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    if tol
        .effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    let key = tol.key.as_deref().unwrap_or_default();
    match tol.operator.as_deref().unwrap_or("Equal") {
        "Exists" => key.is_empty() || key == taint.key,
        _ => {
            key == taint.key
                && tol.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
    }
}

/// `(hostIP, protocol, hostPort)` of every container port with a host port.
fn host_ports(pod: &Pod) -> Vec<(String, String, i32)> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let host_port = p.host_port.filter(|h| *h > 0)?;
            let ip = p
                .host_ip
                .clone()
                .filter(|i| !i.is_empty())
                .unwrap_or_else(|| "0.0.0.0".into());
            let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
            Some((ip, proto, host_port))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        Affinity, ContainerPort, NodeAffinity, NodeSelector, NodeSpec, NodeStatus, PodSpec,
        ResourceRequirements,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use rstest::rstest;

    use super::*;

    fn node() -> Node {
        let q = |s: &str| Quantity(s.into());
        Node {
            metadata: ObjectMeta {
                name: Some("hollow-1".into()),
                labels: Some(BTreeMap::from([
                    ("kubernetes.io/os".into(), "linux".into()),
                    ("zone".into(), "a".into()),
                    ("gen".into(), "5".into()),
                ])),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                taints: Some(vec![Taint {
                    key: "dedicated".into(),
                    value: Some("db".into()),
                    effect: "NoExecute".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                allocatable: Some(BTreeMap::from([
                    ("cpu".into(), q("8")),
                    ("memory".into(), q("32Gi")),
                    ("pods".into(), q("3")),
                    ("nvidia.com/gpu".into(), q("1")),
                ])),
                ..Default::default()
            }),
        }
    }

    fn tolerant() -> Toleration {
        Toleration {
            key: Some("dedicated".into()),
            operator: Some("Exists".into()),
            ..Default::default()
        }
    }

    fn pod(uid: &str, cpu: &str, memory: &str) -> Pod {
        let q = |s: &str| Quantity(s.into());
        Pod {
            metadata: ObjectMeta {
                uid: Some(uid.into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: Some("hollow-1".into()),
                tolerations: Some(vec![tolerant()]),
                containers: vec![Container {
                    name: "c".into(),
                    resources: Some(ResourceRequirements {
                        requests: Some(BTreeMap::from([
                            ("cpu".into(), q(cpu)),
                            ("memory".into(), q(memory)),
                        ])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_pod_that_fits_is_admitted() {
        let others = [pod("a", "4", "1Gi")];
        assert_eq!(admit(&pod("b", "3900m", "1Gi"), &node(), &others), Ok(()));
    }

    #[rstest]
    #[case(
        "2",
        "1Gi",
        "OutOfcpu",
        "Node didn't have enough resource: cpu, requested: 2000, used: 7100, capacity: 8000"
    )]
    #[case(
        "100m",
        "30Gi",
        "OutOfmemory",
        "Node didn't have enough resource: memory, requested: 32212254720, used: 4294967296, capacity: 34359738368"
    )]
    fn a_pod_that_does_not_fit_is_rejected_with_upstream_wording(
        #[case] cpu: &str,
        #[case] memory: &str,
        #[case] reason: &str,
        #[case] message: &str,
    ) {
        let others = [pod("a", "7", "2Gi"), pod("b", "100m", "2Gi")];
        let r = admit(&pod("c", cpu, memory), &node(), &others).unwrap_err();
        assert_eq!((r.reason.as_str(), r.message.as_str()), (reason, message));
    }

    #[test]
    fn too_many_pods_and_extended_resources_are_refused() {
        let others = [pod("a", "0", "0"), pod("b", "0", "0"), pod("c", "0", "0")];
        let r = admit(&pod("d", "0", "0"), &node(), &others).unwrap_err();
        assert_eq!(r.reason, "OutOfpods");
        assert_eq!(
            r.message,
            "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"
        );
        let mut gpu = pod("e", "0", "0");
        gpu.spec.as_mut().unwrap().containers[0]
            .resources
            .as_mut()
            .unwrap()
            .requests
            .as_mut()
            .unwrap()
            .insert("nvidia.com/gpu".into(), Quantity("2".into()));
        assert_eq!(
            admit(&gpu, &node(), &[]).unwrap_err().reason,
            "OutOfnvidia.com/gpu"
        );
        // Finished pods no longer count.
        let mut done = pod("x", "8", "0");
        done.status = Some(k8s_openapi::api::core::v1::PodStatus {
            phase: Some("Succeeded".into()),
            ..Default::default()
        });
        assert_eq!(admit(&pod("f", "8", "0"), &node(), &[done]), Ok(()));
    }

    #[test]
    fn node_selector_and_required_affinity_must_match() {
        let mut p = pod("a", "0", "0");
        p.spec.as_mut().unwrap().node_selector =
            Some(BTreeMap::from([("zone".into(), "b".into())]));
        let r = admit(&p, &node(), &[]).unwrap_err();
        assert_eq!(r.reason, "NodeAffinity");
        assert_eq!(
            r.message,
            "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
        );
        let mut p = pod("a", "0", "0");
        let term = |key: &str, op: &str, values: &[&str]| NodeSelectorTerm {
            match_expressions: Some(vec![NodeSelectorRequirement {
                key: key.into(),
                operator: op.into(),
                values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
            }]),
            ..Default::default()
        };
        p.spec.as_mut().unwrap().affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: vec![
                        term("zone", "In", &["c"]),
                        term("gen", "Gt", &["4"]),
                    ],
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(admit(&p, &node(), &[]), Ok(()), "the second term matches");
    }

    #[test]
    fn untolerated_no_execute_taints_and_host_port_conflicts_are_refused() {
        let mut p = pod("a", "0", "0");
        p.spec.as_mut().unwrap().tolerations = None;
        let r = admit(&p, &node(), &[]).unwrap_err();
        assert_eq!(r.reason, "TaintToleration");
        let with_port = |uid: &str| {
            let mut p = pod(uid, "0", "0");
            p.spec.as_mut().unwrap().containers[0].ports = Some(vec![ContainerPort {
                container_port: 80,
                host_port: Some(8080),
                ..Default::default()
            }]);
            p
        };
        let r = admit(&with_port("b"), &node(), &[with_port("a")]).unwrap_err();
        assert_eq!(r.reason, "NodePorts");
        assert_eq!(
            r.message,
            "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
        );
    }

    #[rstest]
    #[case("100m", 0.1)]
    #[case("1.5", 1.5)]
    #[case("128Mi", 134217728.0)]
    #[case("1G", 1e9)]
    #[case("2e3", 2000.0)]
    fn quantities_parse(#[case] text: &str, #[case] want: f64) {
        assert!((parse_quantity(text).unwrap() - want).abs() < 1e-6);
    }
}
