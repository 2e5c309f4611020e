//! Endpoints (v1) and EndpointSlices (discovery.k8s.io/v1): addresses, ports and the address
//! type, as upstream's `ValidateEndpoints` and `ValidateEndpointSlice`.
//!
//! Upstream rejects loopback, link-local and unspecified endpoint IPs; so does this.

use std::collections::HashSet;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Endpoints;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

use super::Kind;
use super::pod_spec::PROTOCOLS;
use crate::error::Cause;
use crate::registry::validation::FIELD_IMMUTABLE;
use crate::registry::validation::names::{dns1123_label, dns1123_subdomain, port_num};

/// Endpoints.
pub(crate) struct EndpointsKind;
/// EndpointSlices.
pub(crate) struct EndpointSliceKind;

/// `ValidateEndpointIP`.
fn endpoint_ip(ip: &str, path: &str, errs: &mut Vec<Cause>) {
    let shown = Value::from(ip);
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return errs.push(Cause::invalid(path, &shown, "must be a valid IP address"));
    };
    if addr.is_unspecified() {
        errs.push(Cause::invalid(
            path,
            &shown,
            &format!("may not be unspecified ({ip})"),
        ));
    }
    if addr.is_loopback() {
        errs.push(Cause::invalid(
            path,
            &shown,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    let link_local = match addr {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local {
        errs.push(Cause::invalid(
            path,
            &shown,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    let link_local_multicast = match addr {
        IpAddr::V4(a) => a.octets()[..3] == [224, 0, 0],
        IpAddr::V6(a) => (a.segments()[0] & 0xff0f) == 0xff02,
    };
    if link_local_multicast {
        errs.push(Cause::invalid(
            path,
            &shown,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
}

fn protocol(value: Option<&str>, path: &str, errs: &mut Vec<Cause>) {
    match value.unwrap_or("") {
        "" => errs.push(Cause::required(path, "")),
        p if !PROTOCOLS.contains(&p) => {
            errs.push(Cause::not_supported(path, &Value::from(p), PROTOCOLS))
        }
        _ => {}
    }
}

impl Kind for EndpointsKind {
    type Object = Endpoints;

    fn default(ep: &mut Endpoints) {
        for port in ep
            .subsets
            .iter_mut()
            .flatten()
            .flat_map(|s| s.ports.iter_mut().flatten())
        {
            if port.protocol.as_deref().is_none_or(str::is_empty) {
                port.protocol = Some("TCP".into());
            }
        }
    }

    /// `validateEndpointSubsets`.
    fn validate(ep: &Endpoints, errs: &mut Vec<Cause>) {
        for (i, ss) in ep.subsets.iter().flatten().enumerate() {
            let p = format!("subsets[{i}]");
            let ready = ss.addresses.as_deref().unwrap_or_default();
            let not_ready = ss.not_ready_addresses.as_deref().unwrap_or_default();
            if ready.is_empty() && not_ready.is_empty() {
                errs.push(Cause::required(
                    &p,
                    "must specify `addresses` or `notReadyAddresses`",
                ));
            }
            for (field, list) in [("addresses", ready), ("notReadyAddresses", not_ready)] {
                for (j, a) in list.iter().enumerate() {
                    let ap = format!("{p}.{field}[{j}]");
                    endpoint_ip(&a.ip, &format!("{ap}.ip"), errs);
                    if let Some(h) = a.hostname.as_deref().filter(|h| !h.is_empty()) {
                        for m in dns1123_label(h) {
                            errs.push(Cause::invalid(
                                format!("{ap}.hostname"),
                                &Value::from(h),
                                &m,
                            ));
                        }
                    }
                    if let Some(n) = a.node_name.as_deref().filter(|n| !n.is_empty()) {
                        for m in dns1123_subdomain(n) {
                            errs.push(Cause::invalid(
                                format!("{ap}.nodeName"),
                                &Value::from(n),
                                &m,
                            ));
                        }
                    }
                }
            }
            let ports = ss.ports.as_deref().unwrap_or_default();
            for (j, port) in ports.iter().enumerate() {
                let pp = format!("{p}.ports[{j}]");
                let name = port.name.as_deref().unwrap_or("");
                if ports.len() > 1 && name.is_empty() {
                    errs.push(Cause::required(format!("{pp}.name"), ""));
                } else if !name.is_empty() {
                    for m in dns1123_label(name) {
                        errs.push(Cause::invalid(format!("{pp}.name"), &Value::from(name), &m));
                    }
                }
                for m in port_num(i64::from(port.port)) {
                    errs.push(Cause::invalid(
                        format!("{pp}.port"),
                        &Value::from(port.port),
                        &m,
                    ));
                }
                protocol(port.protocol.as_deref(), &format!("{pp}.protocol"), errs);
            }
        }
    }
}

const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];

impl Kind for EndpointSliceKind {
    type Object = EndpointSlice;

    fn default(slice: &mut EndpointSlice) {
        for port in slice.ports.iter_mut().flatten() {
            if port.protocol.as_deref().is_none_or(str::is_empty) {
                port.protocol = Some("TCP".into());
            }
            if port.name.is_none() {
                port.name = Some(String::new());
            }
        }
    }

    /// `ValidateEndpointSlice`.
    fn validate(slice: &EndpointSlice, errs: &mut Vec<Cause>) {
        let ty = slice.address_type.as_str();
        match ty {
            "" => errs.push(Cause::required("addressType", "")),
            t if !ADDRESS_TYPES.contains(&t) => errs.push(Cause::not_supported(
                "addressType",
                &Value::from(t),
                ADDRESS_TYPES,
            )),
            _ => {}
        }
        for (i, ep) in slice.endpoints.iter().flatten().enumerate() {
            let p = format!("endpoints[{i}]");
            if ep.addresses.is_empty() {
                errs.push(Cause::required(
                    format!("{p}.addresses"),
                    "must contain at least 1 address",
                ));
            } else if ep.addresses.len() > 100 {
                errs.push(Cause {
                    kind: crate::error::CauseKind::TooLong,
                    field: format!("{p}.addresses"),
                    message: format!(
                        "Too many: {}: must have at most 100 items",
                        ep.addresses.len()
                    ),
                });
            }
            for (j, a) in ep.addresses.iter().enumerate() {
                let ap = format!("{p}.addresses[{j}]");
                let parsed = a.parse::<IpAddr>();
                match ty {
                    "IPv4" if !matches!(parsed, Ok(IpAddr::V4(_))) => {
                        errs.push(Cause::invalid(
                            &ap,
                            &Value::from(a.as_str()),
                            "must be a valid IPv4 address",
                        ));
                    }
                    "IPv6" if !matches!(parsed, Ok(IpAddr::V6(_))) => {
                        errs.push(Cause::invalid(
                            &ap,
                            &Value::from(a.as_str()),
                            "must be a valid IPv6 address",
                        ));
                    }
                    "IPv4" | "IPv6" => endpoint_ip(a, &ap, errs),
                    "FQDN" => {
                        for m in dns1123_subdomain(a) {
                            errs.push(Cause::invalid(&ap, &Value::from(a.as_str()), &m));
                        }
                    }
                    _ => {}
                }
            }
            if let Some(h) = ep.hostname.as_deref() {
                for m in dns1123_label(h) {
                    errs.push(Cause::invalid(format!("{p}.hostname"), &Value::from(h), &m));
                }
            }
            if let Some(n) = ep.node_name.as_deref() {
                for m in dns1123_subdomain(n) {
                    errs.push(Cause::invalid(format!("{p}.nodeName"), &Value::from(n), &m));
                }
            }
        }
        let mut names = HashSet::new();
        for (i, port) in slice.ports.iter().flatten().enumerate() {
            let p = format!("ports[{i}]");
            let name = port.name.as_deref().unwrap_or("");
            if !name.is_empty() {
                for m in dns1123_label(name) {
                    errs.push(Cause::invalid(format!("{p}.name"), &Value::from(name), &m));
                }
            }
            if !names.insert(name) {
                errs.push(Cause::duplicate(format!("{p}.name"), &Value::from(name)));
            }
            if let Some(n) = port.port {
                for m in port_num(i64::from(n)) {
                    errs.push(Cause::invalid(format!("{p}.port"), &Value::from(n), &m));
                }
            }
            protocol(port.protocol.as_deref(), &format!("{p}.protocol"), errs);
        }
    }

    fn validate_update(new: &EndpointSlice, old: &EndpointSlice, errs: &mut Vec<Cause>) {
        if new.address_type != old.address_type {
            errs.push(Cause::invalid(
                "addressType",
                &Value::from(new.address_type.as_str()),
                FIELD_IMMUTABLE,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use rstest::rstest;
    use serde_json::{Value, json};

    fn slice(address_type: &str, addresses: Value) -> Value {
        json!({"metadata": {"name": "s", "namespace": "default"}, "addressType": address_type,
               "endpoints": [{"addresses": addresses}], "ports": [{"port": 80}]})
    }

    #[test]
    fn slices_default_port_protocol_and_keep_address_type() {
        let old = create(
            "endpointslices.discovery.k8s.io",
            slice("IPv4", json!(["10.0.0.1"])),
        )
        .unwrap();
        assert_eq!(
            old["ports"][0],
            json!({"name": "", "port": 80, "protocol": "TCP"})
        );
        let mut new = old.clone();
        new["addressType"] = json!("FQDN");
        new["endpoints"][0]["addresses"] = json!(["example.com"]);
        let err = update("endpointslices.discovery.k8s.io", new, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec!["addressType: Invalid value: \"FQDN\": field is immutable"]
        );
    }

    #[rstest]
    #[case(slice("IPv5", json!(["10.0.0.1"])), "addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"")]
    #[case(slice("IPv4", json!(["::1"])), "endpoints[0].addresses[0]: Invalid value: \"::1\": must be a valid IPv4 address")]
    #[case(slice("IPv4", json!(["127.0.0.1"])),
        "endpoints[0].addresses[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)")]
    #[case(slice("IPv4", json!([])), "endpoints[0].addresses: Required value: must contain at least 1 address")]
    fn invalid_slices(#[case] obj: Value, #[case] want: &str) {
        let err = create("endpointslices.discovery.k8s.io", obj).unwrap_err();
        assert_eq!(causes(&err), vec![want]);
    }

    #[test]
    fn endpoints_need_addresses_and_named_ports() {
        let ep = json!({"metadata": {"name": "web", "namespace": "default"},
            "subsets": [{"ports": [{"port": 80}, {"port": 443}]}]});
        let err = create("endpoints", ep).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
                "subsets[0].ports[0].name: Required value",
                "subsets[0].ports[1].name: Required value"
            ]
        );
        let ok = json!({"metadata": {"name": "web", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]});
        assert_eq!(
            create("endpoints", ok).unwrap()["subsets"][0]["ports"][0]["protocol"],
            "TCP"
        );
    }
}
