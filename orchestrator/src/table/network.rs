//! Printers for services, endpoints and endpoint slices.

use jiff::Timestamp;
use serde_json::Value;

use super::descriptions as d;
use super::format::{at, cell, format_labels, int, list, list_with_more, object, text};
use super::{AGE, Column, NAME, Printer, Row, age};

const SERVICE_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Type", "string", d::SVC_TYPE),
    Column::new("Cluster-IP", "string", d::SVC_CLUSTER_IP),
    Column::new("External-IP", "string", d::SVC_EXTERNAL_IPS),
    Column::new("Port(s)", "string", d::SVC_PORTS),
    AGE,
    Column::wide("Selector", "string", d::SVC_SELECTOR),
];

/// The service printer.
pub(crate) const SERVICES: Printer = Printer {
    columns: SERVICE_COLUMNS,
    row: service_row,
};

/// Upstream's `loadBalancerWidth`: the EXTERNAL-IP of a load balancer is clipped to this outside
/// `-o wide`.
const LOAD_BALANCER_WIDTH: usize = 16;

/// `loadBalancerStatusStringer`: ingress IPs (or hostnames), sorted, unique, comma-separated.
/// The server renders tables with wide cells, so nothing is clipped here.
fn load_balancer_ips(svc: &Value, wide: bool) -> String {
    let mut ips: Vec<&str> = list(svc, &["status", "loadBalancer", "ingress"])
        .iter()
        .filter_map(|i| match (text(i, &["ip"]), text(i, &["hostname"])) {
            ("", "") => None,
            ("", h) => Some(h),
            (ip, _) => Some(ip),
        })
        .collect();
    ips.sort_unstable();
    ips.dedup();
    let joined = ips.join(",");
    if !wide && joined.len() > LOAD_BALANCER_WIDTH {
        return format!("{}...", &joined[..LOAD_BALANCER_WIDTH - 3]);
    }
    joined
}

/// `getServiceExternalIP`.
fn external_ip(svc: &Value, wide: bool) -> String {
    let external: Vec<&str> = list(svc, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match text(svc, &["spec", "type"]) {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".into()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ips(svc, wide);
            if !external.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').collect()
                };
                all.extend(external);
                return all.join(",");
            }
            if lb.is_empty() {
                "<pending>".into()
            } else {
                lb
            }
        }
        "ExternalName" => text(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".into(),
    }
}

/// `makePortString`: `80/TCP`, or `443:30443/TCP` with a node port.
pub(crate) fn port_string(ports: &[Value]) -> String {
    ports
        .iter()
        .map(|p| {
            let (port, node_port, proto) = (
                int(p, &["port"]),
                int(p, &["nodePort"]),
                text(p, &["protocol"]),
            );
            if node_port > 0 {
                format!("{port}:{node_port}/{proto}")
            } else {
                format!("{port}/{proto}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn service_row(svc: &Value, now: Timestamp) -> Row {
    let cluster_ip = list(svc, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .unwrap_or("<none>")
        .to_string();
    let ports = match port_string(list(svc, &["spec", "ports"])) {
        p if p.is_empty() => "<none>".to_string(),
        p => p,
    };
    vec![
        cell(text(svc, &["metadata", "name"])),
        cell(text(svc, &["spec", "type"])),
        cell(cluster_ip),
        // Upstream's server-side TableConvertor renders with `Wide: true`.
        cell(external_ip(svc, true)),
        cell(ports),
        age(svc, now),
        cell(format_labels(object(svc, &["spec", "selector"]))),
    ]
    .into()
}

const ENDPOINTS_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Endpoints", "string", d::ENDPOINTS_SUBSETS),
    AGE,
];

/// The endpoints printer.
pub(crate) const ENDPOINTS: Printer = Printer {
    columns: ENDPOINTS_COLUMNS,
    row: endpoints_row,
};

/// `formatEndpoints`: up to three `ip:port` (or bare IPs for port-less subsets), then
/// `+ N more...`; `<none>` without subsets.
pub(crate) fn format_endpoints(ep: &Value) -> String {
    let subsets = list(ep, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut shown: Vec<String> = Vec::new();
    let mut count = 0usize;
    for ss in subsets {
        let addresses = list(ss, &["addresses"]);
        let ports = list(ss, &["ports"]);
        if ports.is_empty() {
            count += addresses.len();
            shown.extend(
                addresses
                    .iter()
                    .take(MAX - shown.len().min(MAX))
                    .map(|a| text(a, &["ip"]).to_string()),
            );
            continue;
        }
        for port in ports {
            count += addresses.len();
            for a in addresses {
                if shown.len() == MAX {
                    break;
                }
                let ip = text(a, &["ip"]);
                let host = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.to_string()
                };
                shown.push(format!("{host}:{}", int(port, &["port"])));
            }
        }
    }
    let joined = shown.join(",");
    if count > MAX {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

fn endpoints_row(ep: &Value, now: Timestamp) -> Row {
    vec![
        cell(text(ep, &["metadata", "name"])),
        cell(format_endpoints(ep)),
        age(ep, now),
    ]
    .into()
}

const ENDPOINT_SLICE_COLUMNS: &[Column] = &[
    NAME,
    Column::new("AddressType", "string", d::ES_ADDRESS_TYPE),
    Column::new("Ports", "string", d::ES_PORTS),
    Column::new("Endpoints", "string", d::ES_ENDPOINTS),
    AGE,
];

/// The endpoint slice printer.
pub(crate) const ENDPOINT_SLICES: Printer = Printer {
    columns: ENDPOINT_SLICE_COLUMNS,
    row: endpoint_slice_row,
};

fn endpoint_slice_row(es: &Value, now: Timestamp) -> Row {
    let ports: Vec<String> = list(es, &["ports"])
        .iter()
        .map(
            |p| match (at(p, &["port"]).and_then(Value::as_i64), text(p, &["name"])) {
                (Some(n), _) => n.to_string(),
                (None, "") => "*".to_string(),
                (None, name) => name.to_string(),
            },
        )
        .collect();
    let addresses: Vec<String> = list(es, &["endpoints"])
        .iter()
        .flat_map(|e| {
            list(e, &["addresses"])
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    vec![
        cell(text(es, &["metadata", "name"])),
        cell(text(es, &["addressType"])),
        cell(list_with_more(&ports)),
        cell(list_with_more(&addresses)),
        age(es, now),
    ]
    .into()
}
