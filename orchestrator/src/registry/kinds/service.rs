//! Services: upstream's `SetDefaults_Service`, `ValidateService` and the service strategy. IP and
//! node-port allocation is not done here (a later issue): an update that omits allocated values
//! gets them back from the stored object, as upstream's `patchAllocatedValues` does.

use std::collections::HashSet;

use k8s_openapi::api::core::v1::{
    ClientIPConfig, Service, ServiceSpec, ServiceStatus, SessionAffinityConfig,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::Kind;
use super::pod_spec::PROTOCOLS;
use crate::error::Cause;
use crate::registry::validation::names::{dns1123_label, dns1123_subdomain, port_name, port_num};
use crate::registry::validation::{NameRule, invalid_shown, validate_labels};

/// Services.
pub(crate) struct ServiceKind;

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

fn needs_cluster_ip(spec: &ServiceSpec) -> bool {
    spec.type_.as_deref() != Some("ExternalName")
}

/// Go's `%#v` of a `[]string`.
fn go_strings(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[]string{{{}}}", items.join(", "))
}

impl Kind for ServiceKind {
    type Object = Service;
    const NAME_RULE: NameRule = NameRule::Dns1035;

    fn default(svc: &mut Service) {
        let spec = svc.spec.get_or_insert_with(Default::default);
        if spec.session_affinity.as_deref().is_none_or(str::is_empty) {
            spec.session_affinity = Some("None".into());
        }
        match spec.session_affinity.as_deref() {
            Some("None") => spec.session_affinity_config = None,
            Some("ClientIP") => {
                let has_timeout = spec
                    .session_affinity_config
                    .as_ref()
                    .and_then(|c| c.client_ip.as_ref())
                    .is_some_and(|c| c.timeout_seconds.is_some());
                if !has_timeout {
                    spec.session_affinity_config = Some(SessionAffinityConfig {
                        client_ip: Some(ClientIPConfig {
                            timeout_seconds: Some(10800),
                        }),
                    });
                }
            }
            _ => {}
        }
        if spec.type_.as_deref().is_none_or(str::is_empty) {
            spec.type_ = Some("ClusterIP".into());
        }
        for p in spec.ports.iter_mut().flatten() {
            if p.protocol.as_deref().is_none_or(str::is_empty) {
                p.protocol = Some("TCP".into());
            }
            let unset = match &p.target_port {
                None => true,
                Some(IntOrString::Int(0)) => true,
                Some(IntOrString::String(s)) => s.is_empty(),
                Some(IntOrString::Int(_)) => false,
            };
            if unset {
                p.target_port = Some(IntOrString::Int(p.port));
            }
        }
        let ty = spec.type_.as_deref().unwrap_or("");
        if matches!(ty, "NodePort" | "LoadBalancer")
            && spec
                .external_traffic_policy
                .as_deref()
                .is_none_or(str::is_empty)
        {
            spec.external_traffic_policy = Some("Cluster".into());
        }
        if matches!(ty, "NodePort" | "LoadBalancer" | "ClusterIP")
            && spec.internal_traffic_policy.is_none()
        {
            spec.internal_traffic_policy = Some("Cluster".into());
        }
        if ty == "LoadBalancer" && spec.allocate_load_balancer_node_ports.is_none() {
            spec.allocate_load_balancer_node_ports = Some(true);
        }
    }

    fn prepare_create(svc: &mut Service) {
        // Go's non-pointer `loadBalancer` struct always serializes
        svc.status = Some(ServiceStatus {
            load_balancer: Some(Default::default()),
            conditions: None,
        });
        // `NormalizeClusterIPs` on create: an old client's lone `clusterIP` fills `clusterIPs`
        if let Some(spec) = svc.spec.as_mut()
            && let Some(ip) = spec.cluster_ip.clone().filter(|ip| !ip.is_empty())
            && spec.cluster_ips.as_ref().is_none_or(Vec::is_empty)
        {
            spec.cluster_ips = Some(vec![ip]);
        }
    }

    fn prepare_update(new: &mut Service, old: &Service) {
        new.status.clone_from(&old.status);
        let (Some(ns), Some(os)) = (new.spec.as_mut(), old.spec.as_ref()) else {
            return;
        };
        // `NormalizeClusterIPs` on update: a client that changed only the singular field meant
        // the plural's first value too
        if ns.cluster_ip != os.cluster_ip
            && ns.cluster_ips == os.cluster_ips
            && let Some(ip) = ns.cluster_ip.clone().filter(|ip| !ip.is_empty())
        {
            let ips = ns.cluster_ips.get_or_insert_with(Vec::new);
            match ips.first_mut() {
                Some(first) => *first = ip,
                None => ips.push(ip),
            }
        }
        if needs_cluster_ip(os) && needs_cluster_ip(ns) {
            if ns.cluster_ip.as_deref().is_none_or(str::is_empty) {
                ns.cluster_ip.clone_from(&os.cluster_ip);
            }
            if ns.cluster_ips.as_ref().is_none_or(Vec::is_empty)
                && os.cluster_ips.as_ref().is_some_and(|v| !v.is_empty())
            {
                ns.cluster_ips.clone_from(&os.cluster_ips);
            }
        }
        // node ports the client left out keep their allocated value (matched by port number)
        if let (Some(nps), Some(ops)) = (ns.ports.as_mut(), os.ports.as_ref()) {
            for p in nps.iter_mut().filter(|p| p.node_port.is_none()) {
                if let Some(o) = ops
                    .iter()
                    .find(|o| o.port == p.port && o.protocol == p.protocol)
                {
                    p.node_port = o.node_port;
                }
            }
        }
        if ns.health_check_node_port.is_none() {
            ns.health_check_node_port = os.health_check_node_port;
        }
    }

    fn prepare_status_update(new: &mut Service, old: &Service) {
        new.spec.clone_from(&old.spec);
    }

    fn validate(svc: &Service, errs: &mut Vec<Cause>) {
        let Some(spec) = &svc.spec else {
            errs.push(Cause::required("spec.ports", ""));
            return;
        };
        let ty = spec.type_.as_deref().unwrap_or("");
        let headless = spec.cluster_ip.as_deref() == Some("None");
        let ports = spec.ports.as_deref().unwrap_or_default();
        if ports.is_empty() && !headless && ty != "ExternalName" {
            errs.push(Cause::required("spec.ports", ""));
        }
        match ty {
            "" => errs.push(Cause::required("spec.type", "")),
            t if !TYPES.contains(&t) => {
                errs.push(Cause::not_supported("spec.type", &Value::from(t), TYPES))
            }
            _ => {}
        }
        if ty == "ExternalName" {
            if spec.cluster_ip.as_deref().is_some_and(|c| !c.is_empty()) {
                errs.push(Cause::forbidden(
                    "spec.clusterIP",
                    "may not be set for ExternalName services",
                ));
            }
            let cname = spec
                .external_name
                .as_deref()
                .unwrap_or("")
                .trim_end_matches('.');
            if cname.is_empty() {
                errs.push(Cause::required("spec.externalName", ""));
            } else {
                for m in dns1123_subdomain(cname) {
                    errs.push(Cause::invalid("spec.externalName", &Value::from(cname), &m));
                }
            }
        }
        if ty != "ExternalName" {
            let ips = spec.cluster_ips.as_deref().unwrap_or_default();
            for (i, ip) in ips.iter().enumerate() {
                let path = format!("spec.clusterIPs[{i}]");
                if ip == "None" {
                    if i > 0 {
                        errs.push(Cause::invalid(
                            path,
                            &Value::from("None"),
                            "'None' must be the first and only value",
                        ));
                    }
                } else if ip.parse::<std::net::IpAddr>().is_err() {
                    errs.push(Cause::invalid(
                        path,
                        &Value::from(ip.as_str()),
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    ));
                }
            }
            if ips.len() > 2 {
                errs.push(invalid_shown(
                    "spec.clusterIPs",
                    &go_strings(ips),
                    "may only hold up to 2 values",
                ));
            }
        }
        let require_name = ports.len() > 1;
        let mut names = HashSet::new();
        for (i, p) in ports.iter().enumerate() {
            let path = format!("spec.ports[{i}]");
            let name = p.name.as_deref().unwrap_or("");
            if require_name && name.is_empty() {
                errs.push(Cause::required(format!("{path}.name"), ""));
            } else if !name.is_empty() {
                for m in dns1123_label(name) {
                    errs.push(Cause::invalid(
                        format!("{path}.name"),
                        &Value::from(name),
                        &m,
                    ));
                }
                if !names.insert(name) {
                    errs.push(Cause::duplicate(format!("{path}.name"), &Value::from(name)));
                }
            }
            for m in port_num(i64::from(p.port)) {
                errs.push(Cause::invalid(
                    format!("{path}.port"),
                    &Value::from(p.port),
                    &m,
                ));
            }
            match p.protocol.as_deref().unwrap_or("") {
                "" => errs.push(Cause::required(format!("{path}.protocol"), "")),
                proto if !PROTOCOLS.contains(&proto) => {
                    errs.push(Cause::not_supported(
                        format!("{path}.protocol"),
                        &Value::from(proto),
                        PROTOCOLS,
                    ));
                }
                _ => {}
            }
            match &p.target_port {
                Some(IntOrString::Int(n)) => {
                    for m in port_num(i64::from(*n)) {
                        errs.push(Cause::invalid(
                            format!("{path}.targetPort"),
                            &Value::from(*n),
                            &m,
                        ));
                    }
                }
                Some(IntOrString::String(s)) => {
                    for m in port_name(s) {
                        errs.push(Cause::invalid(
                            format!("{path}.targetPort"),
                            &Value::from(s.as_str()),
                            &m,
                        ));
                    }
                }
                None => {}
            }
            if let Some(np) = p.node_port.filter(|n| *n != 0) {
                if ty == "ClusterIP" || ty == "ExternalName" {
                    errs.push(Cause::forbidden(
                        format!("{path}.nodePort"),
                        &format!("may not be used when `type` is '{ty}'"),
                    ));
                }
                for m in port_num(i64::from(np)) {
                    errs.push(Cause::invalid(
                        format!("{path}.nodePort"),
                        &Value::from(np),
                        &m,
                    ));
                }
            }
        }
        // (protocol, port) pairs and (protocol, nodePort) pairs are unique
        let mut pairs = HashSet::new();
        let mut node_ports = HashSet::new();
        for (i, p) in ports.iter().enumerate() {
            let proto = p.protocol.as_deref().unwrap_or("");
            if !pairs.insert((proto, p.port)) {
                errs.push(Cause {
                    kind: crate::error::CauseKind::Duplicate,
                    field: format!("spec.ports[{i}]"),
                    message: format!(
                        "Duplicate value: core.ServicePort{{Name:\"\", Protocol:{proto:?}, AppProtocol:(*string)(nil), Port:{}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                        p.port
                    ),
                });
            }
            if let Some(np) = p.node_port.filter(|n| *n != 0)
                && !node_ports.insert((proto, np))
            {
                errs.push(Cause::duplicate(
                    format!("spec.ports[{i}].nodePort"),
                    &Value::from(np),
                ));
            }
        }
        match spec.session_affinity.as_deref().unwrap_or("") {
            "" => errs.push(Cause::required("spec.sessionAffinity", "")),
            "None" | "ClientIP" => {}
            other => errs.push(Cause::not_supported(
                "spec.sessionAffinity",
                &Value::from(other),
                &["ClientIP", "None"],
            )),
        }
        validate_labels(spec.selector.as_ref(), "spec.selector", errs);
    }

    fn validate_update(new: &Service, old: &Service, errs: &mut Vec<Cause>) {
        let (Some(ns), Some(os)) = (&new.spec, &old.spec) else {
            return;
        };
        if !needs_cluster_ip(ns) || !needs_cluster_ip(os) {
            return;
        }
        let old_ips = os.cluster_ips.as_deref().unwrap_or_default();
        let new_ips = ns.cluster_ips.as_deref().unwrap_or_default();
        if let Some(first) = old_ips.first()
            && new_ips.first() != Some(first)
        {
            errs.push(invalid_shown(
                "spec.clusterIPs[0]",
                &go_strings(new_ips),
                "may not change once set",
            ));
        } else if old_ips.is_empty()
            && os.cluster_ip.as_deref().is_some_and(|c| !c.is_empty())
            && ns.cluster_ip != os.cluster_ip
        {
            errs.push(Cause::invalid(
                "spec.clusterIP",
                &Value::from(ns.cluster_ip.clone().unwrap_or_default()),
                "field is immutable",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use rstest::rstest;
    use serde_json::{Value, json};

    fn svc(spec: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})
    }

    #[test]
    fn defaults_type_affinity_protocol_target_port() {
        let out = create(
            "services",
            svc(json!({"ports": [{"port": 80}], "selector": {"app": "web"}})),
        )
        .unwrap();
        let spec = &out["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert_eq!(
            spec["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert!(spec.get("clusterIP").is_none());
        assert_eq!(out["status"], json!({"loadBalancer": {}}));
    }

    #[test]
    fn node_port_services_default_external_traffic_policy() {
        let out = create(
            "services",
            svc(json!({"type": "LoadBalancer", "ports": [{"port": 80}]})),
        )
        .unwrap();
        assert_eq!(out["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(out["spec"]["allocateLoadBalancerNodePorts"], true);
    }

    #[rstest]
    #[case(json!({}), "spec.ports: Required value")]
    #[case(json!({"ports": [{"port": 0}]}), "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive")]
    #[case(json!({"ports": [{"port": 80}, {"port": 81, "name": "b"}]}), "spec.ports[0].name: Required value")]
    #[case(json!({"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]}), "spec.ports[1].name: Duplicate value: \"a\"")]
    #[case(json!({"ports": [{"port": 80, "protocol": "ICMP"}]}), "spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"")]
    #[case(json!({"type": "Magic", "ports": [{"port": 80}]}), "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"")]
    #[case(json!({"type": "ExternalName"}), "spec.externalName: Required value")]
    #[case(json!({"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]}),
        "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}")]
    #[case(json!({"type": "NodePort", "ports": [{"port": 80, "name": "a", "nodePort": 30000}, {"port": 81, "name": "b", "nodePort": 30000}]}),
        "spec.ports[1].nodePort: Duplicate value: 30000")]
    #[case(json!({"ports": [{"port": 80, "nodePort": 30000}]}), "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'")]
    fn invalid_services(#[case] spec: Value, #[case] want: &str) {
        let err = create("services", svc(spec)).unwrap_err();
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    #[test]
    fn a_lone_cluster_ip_fills_cluster_ips_and_must_be_an_address() {
        let out = create(
            "services",
            svc(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 53}]})),
        )
        .unwrap();
        assert_eq!(out["spec"]["clusterIPs"], json!(["10.96.0.10"]));
        let err = create(
            "services",
            svc(json!({"clusterIP": "ten", "ports": [{"port": 53}]})),
        )
        .unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "spec.clusterIPs[0]: Invalid value: \"ten\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            ]
        );
    }

    #[test]
    fn headless_and_external_name_services_need_no_ports() {
        assert!(create("services", svc(json!({"clusterIP": "None"}))).is_ok());
        assert!(
            create(
                "services",
                svc(json!({"type": "ExternalName", "externalName": "example.com."}))
            )
            .is_ok()
        );
    }

    #[test]
    fn service_names_are_dns1035_labels() {
        let mut s = svc(json!({"ports": [{"port": 80}]}));
        s["metadata"]["name"] = json!("1web");
        let err = create("services", s).unwrap_err();
        assert!(
            causes(&err)[0].starts_with("metadata.name: Invalid value: \"1web\": a DNS-1035 label")
        );
    }

    #[test]
    fn cluster_ip_may_not_change_once_set_but_omitting_it_keeps_it() {
        let mut old = create("services", svc(json!({"ports": [{"port": 80}]}))).unwrap();
        old["spec"]["clusterIP"] = json!("10.0.0.1");
        old["spec"]["clusterIPs"] = json!(["10.0.0.1"]);
        let mut omitted = old.clone();
        omitted["spec"].as_object_mut().unwrap().remove("clusterIP");
        omitted["spec"]
            .as_object_mut()
            .unwrap()
            .remove("clusterIPs");
        let out = update("services", omitted, &old).unwrap();
        assert_eq!(out["spec"]["clusterIPs"], json!(["10.0.0.1"]));
        let mut changed = old.clone();
        changed["spec"]["clusterIP"] = json!("10.0.0.2");
        changed["spec"]["clusterIPs"] = json!(["10.0.0.2"]);
        let err = update("services", changed, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.2\"}: may not change once set"
            ]
        );
        let mut retyped = old.clone();
        retyped["spec"]["type"] = json!("NodePort");
        assert!(update("services", retyped, &old).is_ok());
    }
}
