//! Cluster IPs and node ports for Services, allocated at create and update and released at
//! delete, as upstream's service REST storage does (`pkg/registry/core/service/storage/alloc.go`).
//!
//! The allocator is a cache of what the stored Services hold; it is rebuilt from the store when
//! [`super::Objects`] starts, so a persistent backend keeps allocations across restarts.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

use crate::error::{ApiError, Cause};

/// The service CIDR, upstream's default `10.96.0.0/12`.
const SERVICE_NET: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SERVICE_NET_SIZE: u32 = 1 << 20;
/// Dynamic allocation starts past the addresses upstream keeps for static assignment
/// (`10.96.0.1` is the `kubernetes` service's).
const FIRST_DYNAMIC_OFFSET: u32 = 10;
/// Upstream's default `--service-node-port-range`.
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// What the stored Services hold.
#[derive(Debug, Default)]
pub(crate) struct ServiceAllocator {
    ips: BTreeSet<u32>,
    node_ports: BTreeSet<i64>,
    next_ip: u32,
    next_port: i64,
}

fn needs_cluster_ip(svc: &Value) -> bool {
    svc.pointer("/spec/type").and_then(Value::as_str) != Some("ExternalName")
}

fn needs_node_ports(svc: &Value) -> bool {
    matches!(
        svc.pointer("/spec/type").and_then(Value::as_str),
        Some("NodePort" | "LoadBalancer")
    )
}

fn parse_service_ip(s: &str) -> Option<u32> {
    let ip: Ipv4Addr = s.parse().ok()?;
    let n = u32::from(ip);
    (n.wrapping_sub(SERVICE_NET) < SERVICE_NET_SIZE).then_some(n)
}

impl ServiceAllocator {
    /// Record what an already stored Service holds.
    pub(crate) fn record(&mut self, svc: &Value) {
        if let Some(ip) = svc
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .and_then(parse_service_ip)
        {
            self.ips.insert(ip);
        }
        for port in node_ports(svc) {
            self.node_ports.insert(port);
        }
    }

    /// Give a new or changed Service what its type needs (`old` is the stored version on
    /// update), releasing what it no longer needs. On error nothing changes.
    pub(crate) fn allocate(
        &mut self,
        name: &str,
        svc: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        let mut taken_ip = None;
        let mut taken_ports = Vec::new();
        let result = self.try_allocate(name, svc, old, &mut taken_ip, &mut taken_ports);
        if result.is_err() {
            if let Some(ip) = taken_ip {
                self.ips.remove(&ip);
            }
            for p in taken_ports {
                self.node_ports.remove(&p);
            }
        }
        result
    }

    fn try_allocate(
        &mut self,
        name: &str,
        svc: &mut Value,
        old: Option<&Value>,
        taken_ip: &mut Option<u32>,
        taken_ports: &mut Vec<i64>,
    ) -> Result<(), ApiError> {
        let invalid = |causes| ApiError::invalid("", "Service", name, causes);
        let old_ip = old
            .and_then(|o| o.pointer("/spec/clusterIP"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if needs_cluster_ip(svc) {
            let requested = svc
                .pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let ip = if requested == "None" {
                "None".to_string()
            } else if !requested.is_empty() && requested == old_ip {
                requested
            } else if !requested.is_empty() {
                let Some(n) = parse_service_ip(&requested) else {
                    return Err(invalid(vec![Cause::invalid(
                        "spec.clusterIPs",
                        &json!([requested]),
                        &format!(
                            "failed to allocate IP {requested}: the provided IP ({requested}) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
                        ),
                    )]));
                };
                if self.ips.contains(&n) {
                    return Err(invalid(vec![Cause::invalid(
                        "spec.clusterIPs",
                        &json!([requested]),
                        &format!(
                            "failed to allocate IP {requested}: provided IP is already allocated"
                        ),
                    )]));
                }
                self.ips.insert(n);
                *taken_ip = Some(n);
                requested
            } else if !old_ip.is_empty() && old_ip != "None" {
                old_ip.clone()
            } else {
                let n = self.next_free_ip().ok_or_else(|| {
                    ApiError::internal("failed to allocate a serviceIP: range is full")
                })?;
                self.ips.insert(n);
                *taken_ip = Some(n);
                Ipv4Addr::from(n).to_string()
            };
            let spec = &mut svc["spec"];
            spec["clusterIP"] = json!(ip);
            spec["clusterIPs"] = json!([ip]);
            if spec.get("ipFamilies").is_none_or(Value::is_null) {
                spec["ipFamilies"] = json!(["IPv4"]);
            }
            if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
                spec["ipFamilyPolicy"] = json!("SingleStack");
            }
        } else if let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) {
            for k in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                spec.remove(k);
            }
        }

        let old_ports: BTreeSet<i64> = old
            .map(node_ports)
            .unwrap_or_default()
            .into_iter()
            .collect();
        if needs_node_ports(svc) {
            let ports = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut);
            for (i, port) in ports.into_iter().flatten().enumerate() {
                match port.get("nodePort").and_then(Value::as_i64) {
                    Some(p) if old_ports.contains(&p) => {}
                    Some(p) => {
                        if !NODE_PORTS.contains(&p) {
                            return Err(invalid(vec![Cause::invalid(
                                format!("spec.ports[{i}].nodePort"),
                                &json!(p),
                                "provided port is not in the valid range. The range of valid ports is 30000-32767",
                            )]));
                        }
                        if !self.node_ports.insert(p) {
                            return Err(invalid(vec![Cause::invalid(
                                format!("spec.ports[{i}].nodePort"),
                                &json!(p),
                                "provided port is already allocated",
                            )]));
                        }
                        taken_ports.push(p);
                    }
                    None => {
                        let p = self.next_free_port().ok_or_else(|| {
                            ApiError::internal("failed to allocate a nodePort: range is full")
                        })?;
                        self.node_ports.insert(p);
                        taken_ports.push(p);
                        port["nodePort"] = json!(p);
                    }
                }
            }
        } else if let Some(ports) = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for port in ports {
                if let Some(p) = port.as_object_mut() {
                    p.remove("nodePort");
                }
            }
        }

        // Release what the old version held and the new one does not.
        if let Some(n) = parse_service_ip(&old_ip)
            && svc.pointer("/spec/clusterIP").and_then(Value::as_str) != Some(old_ip.as_str())
        {
            self.ips.remove(&n);
        }
        let kept: BTreeSet<i64> = node_ports(svc).into_iter().collect();
        for p in old_ports.difference(&kept) {
            self.node_ports.remove(p);
        }
        Ok(())
    }

    /// Release what a deleted Service held.
    pub(crate) fn release(&mut self, svc: &Value) {
        if let Some(n) = svc
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .and_then(parse_service_ip)
        {
            self.ips.remove(&n);
        }
        for p in node_ports(svc) {
            self.node_ports.remove(&p);
        }
    }

    fn next_free_ip(&mut self) -> Option<u32> {
        let span = SERVICE_NET_SIZE - FIRST_DYNAMIC_OFFSET - 1;
        for i in 0..span {
            let offset = FIRST_DYNAMIC_OFFSET + (self.next_ip + i) % span;
            let n = SERVICE_NET + offset;
            if !self.ips.contains(&n) {
                self.next_ip = (self.next_ip + i + 1) % span;
                return Some(n);
            }
        }
        None
    }

    fn next_free_port(&mut self) -> Option<i64> {
        let span = NODE_PORTS.end() - NODE_PORTS.start() + 1;
        for i in 0..span {
            let p = NODE_PORTS.start() + (self.next_port + i) % span;
            if !self.node_ports.contains(&p) {
                self.next_port = (self.next_port + i + 1) % span;
                return Some(p);
            }
        }
        None
    }
}

fn node_ports(svc: &Value) -> Vec<i64> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(ty: &str) -> Value {
        json!({ "spec": { "type": ty, "ports": [{ "port": 80 }] } })
    }

    #[test]
    fn cluster_ip_services_get_distinct_ips_in_the_service_range() {
        let mut a = ServiceAllocator::default();
        let (mut one, mut two) = (svc("ClusterIP"), svc("ClusterIP"));
        a.allocate("one", &mut one, None).unwrap();
        a.allocate("two", &mut two, None).unwrap();
        let ip1 = one["spec"]["clusterIP"].as_str().unwrap();
        let ip2 = two["spec"]["clusterIP"].as_str().unwrap();
        assert_ne!(ip1, ip2);
        assert!(ip1.starts_with("10.96."));
        assert_eq!(one["spec"]["clusterIPs"], json!([ip1]));
        assert_eq!(one["spec"]["ipFamilyPolicy"], "SingleStack");
        assert_eq!(one["spec"]["ipFamilies"], json!(["IPv4"]));
    }

    #[test]
    fn a_requested_ip_that_is_taken_is_invalid_and_changes_nothing() {
        let mut a = ServiceAllocator::default();
        let mut one = svc("NodePort");
        one["spec"]["clusterIP"] = json!("10.96.0.5");
        a.allocate("one", &mut one, None).unwrap();
        let mut two = svc("NodePort");
        two["spec"]["clusterIP"] = json!("10.96.0.5");
        let err = a.allocate("two", &mut two, None).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(
            err.message.contains("provided IP is already allocated"),
            "{}",
            err.message
        );
        // The failed attempt took no node port.
        assert_eq!(a.node_ports.len(), 1);
    }

    #[test]
    fn switching_to_external_name_releases_ip_and_node_ports() {
        let mut a = ServiceAllocator::default();
        let mut s = svc("NodePort");
        a.allocate("s", &mut s, None).unwrap();
        assert!(s["spec"]["ports"][0]["nodePort"].as_i64().is_some());
        let old = s.clone();
        let mut ext = json!({ "spec": { "type": "ExternalName", "externalName": "x.example.com", "ports": [{ "port": 80, "nodePort": old["spec"]["ports"][0]["nodePort"] }] } });
        a.allocate("s", &mut ext, Some(&old)).unwrap();
        assert!(ext["spec"].get("clusterIP").is_none());
        assert!(ext["spec"]["ports"][0].get("nodePort").is_none());
        assert!(a.ips.is_empty() && a.node_ports.is_empty());
    }

    #[test]
    fn headless_services_keep_none() {
        let mut a = ServiceAllocator::default();
        let mut s = svc("ClusterIP");
        s["spec"]["clusterIP"] = json!("None");
        a.allocate("s", &mut s, None).unwrap();
        assert_eq!(s["spec"]["clusterIPs"], json!(["None"]));
        assert!(a.ips.is_empty());
    }
}
