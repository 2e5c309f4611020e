//! Bodies encoded by prost from the k8s-pb structs (an encoder independent of ours), decoded and
//! compared with the JSON form Go would write for the same object.

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::coordination::v1 as coordination;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message as _;
use serde_json::{Value, json};

use super::{DefaultKind, Error, MAGIC};

/// No endpoint default: the envelope's type is all there is.
const UNTYPED: DefaultKind<'static> = DefaultKind {
    group: "",
    version: "",
    kind: "",
};

fn to_json(body: &[u8]) -> Result<Value, Error> {
    super::to_json(body, UNTYPED)
}

/// `obj` in the envelope client-go writes: magic, then `runtime.Unknown`.
fn body(api_version: &str, kind: &str, obj: &impl prost::Message) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(obj.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = MAGIC.to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn labels(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn quantity(v: &str) -> Quantity {
    Quantity { string: s(v) }
}

/// A Deployment as `kubectl create deployment` builds it, with what gogo writes for the Go
/// zero values: every non-pointer string and number, every non-pointer struct.
fn deployment() -> apps::Deployment {
    let container = core::Container {
        name: s("web"),
        image: s("nginx:1.27"),
        working_dir: s(""),
        termination_message_path: s(""),
        image_pull_policy: s(""),
        stdin: Some(false),
        tty: Some(false),
        ports: vec![core::ContainerPort {
            container_port: Some(80),
            host_port: Some(0),
            protocol: s("TCP"),
            ..Default::default()
        }],
        resources: Some(core::ResourceRequirements {
            limits: [("cpu".to_string(), quantity("500m"))].into(),
            requests: [("memory".to_string(), quantity("128Mi"))].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    apps::Deployment {
        metadata: Some(meta::ObjectMeta {
            name: s("web"),
            generate_name: s(""),
            namespace: s(""),
            uid: s(""),
            resource_version: s(""),
            generation: Some(0),
            creation_timestamp: Some(meta::Time::default()),
            labels: labels(&[("app", "web"), ("empty", "")]),
            ..Default::default()
        }),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            min_ready_seconds: Some(0),
            paused: Some(false),
            selector: Some(meta::LabelSelector {
                match_labels: labels(&[("app", "web")]),
                ..Default::default()
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(meta::ObjectMeta {
                    labels: labels(&[("app", "web")]),
                    creation_timestamp: Some(meta::Time::default()),
                    ..Default::default()
                }),
                spec: Some(core::PodSpec {
                    containers: vec![container],
                    volumes: vec![core::Volume {
                        name: s("cache"),
                        volume_source: Some(core::VolumeSource {
                            empty_dir: Some(core::EmptyDirVolumeSource::default()),
                            ..Default::default()
                        }),
                    }],
                    restart_policy: s(""),
                    dns_policy: s(""),
                    host_network: Some(false),
                    termination_grace_period_seconds: Some(0),
                    automount_service_account_token: Some(false),
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_surge: Some(IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: s("25%"),
                    }),
                    max_unavailable: Some(IntOrString {
                        r#type: Some(0),
                        int_val: Some(1),
                        str_val: s(""),
                    }),
                }),
            }),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus::default()),
    }
}

#[test]
fn deployment_decodes_to_the_json_go_writes() {
    let got = to_json(&body("apps/v1", "Deployment", &deployment())).unwrap();
    let want = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": "web", "labels": { "app": "web", "empty": "" } },
        "spec": {
            // A pointer: an explicit zero stays; minReadySeconds and paused are not pointers.
            "replicas": 0,
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": {
                    "volumes": [{ "name": "cache", "emptyDir": {} }],
                    "containers": [{
                        "name": "web",
                        "image": "nginx:1.27",
                        "ports": [{ "containerPort": 80, "protocol": "TCP" }],
                        "resources": {
                            "limits": { "cpu": "500m" },
                            "requests": { "memory": "128Mi" },
                        },
                    }],
                    "terminationGracePeriodSeconds": 0,
                    "automountServiceAccountToken": false,
                },
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": { "maxUnavailable": 1, "maxSurge": "25%" },
            },
        },
        "status": {},
    });
    assert_eq!(got, want);
    // And it is a Deployment k8s-openapi reads, as the JSON path will.
    let typed: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(got).unwrap();
    assert_eq!(typed.spec.replicas, Some(0));
}

#[test]
fn times_are_rfc3339_in_utc_and_micro_times_keep_six_digits() {
    let lease = coordination::Lease {
        metadata: Some(meta::ObjectMeta {
            name: s("leader"),
            creation_timestamp: Some(meta::Time {
                seconds: Some(1_700_000_000),
                nanos: Some(999_999_999),
            }),
            // Go's zero time.Time, as a client that sets the field but not the time writes it.
            deletion_timestamp: Some(meta::Time {
                seconds: Some(-62_135_596_800),
                nanos: Some(0),
            }),
            ..Default::default()
        }),
        spec: Some(coordination::LeaseSpec {
            holder_identity: s(""),
            lease_duration_seconds: Some(15),
            acquire_time: Some(meta::MicroTime {
                seconds: Some(1_700_000_000),
                nanos: Some(123_456_789),
            }),
            renew_time: Some(meta::MicroTime {
                seconds: Some(0),
                nanos: Some(0),
            }),
            ..Default::default()
        }),
    };
    let got = to_json(&body("coordination.k8s.io/v1", "Lease", &lease)).unwrap();
    assert_eq!(
        got["metadata"],
        json!({ "name": "leader", "creationTimestamp": "2023-11-14T22:13:20Z" })
    );
    assert_eq!(
        got["spec"],
        json!({
            "holderIdentity": "",
            "leaseDurationSeconds": 15,
            "acquireTime": "2023-11-14T22:13:20.123456Z",
            "renewTime": "1970-01-01T00:00:00.000000Z",
        })
    );
}

#[test]
fn secret_bytes_are_base64_and_managed_fields_are_embedded_json() {
    let secret = core::Secret {
        metadata: Some(meta::ObjectMeta {
            name: s("creds"),
            managed_fields: vec![meta::ManagedFieldsEntry {
                manager: s("kubectl-create"),
                operation: s("Update"),
                fields_type: s("FieldsV1"),
                fields_v1: Some(meta::FieldsV1 {
                    raw: Some(br#"{"f:data":{".":{},"f:token":{}}}"#.to_vec()),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        immutable: Some(false),
        data: [
            ("token".to_string(), b"s3cr3t".to_vec()),
            ("binary".to_string(), vec![0, 0xff, 0x10]),
            ("empty".to_string(), Vec::new()),
        ]
        .into(),
        string_data: Default::default(),
        r#type: s("Opaque"),
    };
    let got = to_json(&body("v1", "Secret", &secret)).unwrap();
    assert_eq!(
        got,
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "creds",
                "managedFields": [{
                    "manager": "kubectl-create",
                    "operation": "Update",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": { "f:data": { ".": {}, "f:token": {} } },
                }],
            },
            "immutable": false,
            "data": { "binary": "AP8Q", "empty": "", "token": "czNjcjN0" },
            "type": "Opaque",
        })
    );
}

#[test]
fn service_ports_keep_int_or_string_target_ports() {
    let svc = core::Service {
        metadata: Some(meta::ObjectMeta {
            name: s("web"),
            ..Default::default()
        }),
        spec: Some(core::ServiceSpec {
            r#type: s("ClusterIP"),
            ports: vec![
                core::ServicePort {
                    name: s("http"),
                    port: Some(80),
                    node_port: Some(0),
                    target_port: Some(IntOrString {
                        r#type: Some(0),
                        int_val: Some(8080),
                        str_val: s(""),
                    }),
                    ..Default::default()
                },
                core::ServicePort {
                    name: s("named"),
                    port: Some(443),
                    target_port: Some(IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: s("https"),
                    }),
                    ..Default::default()
                },
            ],
            cluster_ips: vec![],
            ..Default::default()
        }),
        status: None,
    };
    let got = to_json(&body("v1", "Service", &svc)).unwrap();
    assert_eq!(
        got["spec"],
        json!({
            "ports": [
                { "name": "http", "port": 80, "targetPort": 8080 },
                { "name": "named", "port": 443, "targetPort": "https" },
            ],
            "type": "ClusterIP",
        })
    );
}

#[test]
fn delete_options_decode_under_any_group_version() {
    let opts = meta::DeleteOptions {
        grace_period_seconds: Some(0),
        preconditions: Some(meta::Preconditions {
            uid: s("u-1"),
            resource_version: None,
        }),
        propagation_policy: s("Foreground"),
        dry_run: vec!["All".into()],
        ..Default::default()
    };
    for api_version in ["v1", "apps/v1", "meta.k8s.io/v1"] {
        let got = to_json(&body(api_version, "DeleteOptions", &opts)).unwrap();
        assert_eq!(
            got,
            json!({
                "apiVersion": api_version,
                "kind": "DeleteOptions",
                "gracePeriodSeconds": 0,
                "preconditions": { "uid": "u-1" },
                "propagationPolicy": "Foreground",
                "dryRun": ["All"],
            }),
            "{api_version}"
        );
    }
}

#[test]
fn fields_newer_than_the_table_are_skipped() {
    let mut raw = core::ConfigMap {
        metadata: Some(meta::ObjectMeta {
            name: s("cm"),
            ..Default::default()
        }),
        data: labels(&[("k", "v")]),
        ..Default::default()
    }
    .encode_to_vec();
    // Field 999, length-delimited "x", as a newer client might send.
    raw.extend([0xba, 0x3e, 1, b'x']);
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s("v1"),
            kind: s("ConfigMap"),
        }),
        raw: Some(raw),
        ..Default::default()
    };
    let mut b = MAGIC.to_vec();
    b.extend(unknown.encode_to_vec());
    assert_eq!(
        to_json(&b).unwrap(),
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "cm" }, "data": { "k": "v" } })
    );
}

#[test]
fn packed_repeated_scalars_are_read_like_unpacked_ones() {
    // PodSecurityContext.supplementalGroups (tag 4, repeated int64), packed: [1, 300].
    let ctx = [0x22, 3, 1, 0xac, 0x02];
    let mut spec = vec![0x72, ctx.len() as u8]; // PodSpec.securityContext is tag 14
    spec.extend(ctx);
    let mut pod = vec![0x12, spec.len() as u8]; // Pod.spec is tag 2
    pod.extend(spec);
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s("v1"),
            kind: s("Pod"),
        }),
        raw: Some(pod),
        ..Default::default()
    };
    let mut b = MAGIC.to_vec();
    b.extend(unknown.encode_to_vec());
    assert_eq!(
        to_json(&b).unwrap()["spec"],
        json!({ "securityContext": { "supplementalGroups": [1, 300] } })
    );
}

#[test]
fn envelope_errors_name_what_is_wrong() {
    let cm = core::ConfigMap::default();
    assert!(matches!(to_json(b""), Err(Error::Empty)));
    assert!(matches!(to_json(MAGIC), Err(Error::Empty)));
    assert!(matches!(to_json(b"{\"kind\":\"x\"}"), Err(Error::NoMagic)));
    assert!(matches!(
        to_json(&body("v1", "", &cm)),
        Err(Error::MissingKind)
    ));
    assert!(matches!(
        to_json(&body("", "ConfigMap", &cm)),
        Err(Error::MissingVersion)
    ));
    let err = to_json(&body("v1", "Frobnicator", &cm)).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"no kind "Frobnicator" is registered for version "v1""#
    );
    // metadata (tag 1) sent as a varint.
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s("v1"),
            kind: s("ConfigMap"),
        }),
        raw: Some(vec![0x08, 1]),
        ..Default::default()
    };
    let mut b = MAGIC.to_vec();
    b.extend(unknown.encode_to_vec());
    assert_eq!(
        to_json(&b).unwrap_err().to_string(),
        "field metadata: expected a length-delimited value, got varint"
    );
}

#[test]
fn an_envelope_without_a_type_is_read_as_the_endpoints_kind() {
    let cm = core::ConfigMap {
        data: labels(&[("k", "v")]),
        ..Default::default()
    };
    let configmaps = DefaultKind {
        group: "",
        version: "v1",
        kind: "ConfigMap",
    };
    let got = super::to_json(&body("", "", &cm), configmaps).unwrap();
    assert_eq!(
        got,
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "data": { "k": "v" } })
    );
    // Only what is missing is filled in: a typed envelope keeps its own type.
    let deployments = DefaultKind {
        group: "apps",
        version: "v1",
        kind: "Deployment",
    };
    let got = super::to_json(&body("v1", "ConfigMap", &cm), deployments).unwrap();
    assert_eq!(
        (&got["apiVersion"], &got["kind"]),
        (&json!("v1"), &json!("ConfigMap"))
    );
    let got = super::to_json(
        &body("", "Deployment", &apps::Deployment::default()),
        deployments,
    )
    .unwrap();
    assert_eq!(got["apiVersion"], "apps/v1");
}

#[test]
fn corrupt_bodies_are_errors_never_panics() {
    let good = body("apps/v1", "Deployment", &deployment());
    assert!(to_json(&good).is_ok());
    // Every truncation, and every single-byte change to a few values, of a real body.
    for len in 0..good.len() {
        let _ = to_json(&good[..len]);
    }
    for i in MAGIC.len()..good.len() {
        for byte in [0x00, 0x07, 0x0f, 0x7f, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] = byte;
            let _ = to_json(&bad);
        }
    }
    // Messages nested past any real kind.
    let mut nested = vec![0u8; 0];
    for _ in 0..200 {
        let mut outer = vec![0x0a];
        let mut len = nested.len();
        loop {
            let b = (len & 0x7f) as u8;
            len >>= 7;
            outer.push(if len > 0 { b | 0x80 } else { b });
            if len == 0 {
                break;
            }
        }
        outer.extend(&nested);
        nested = outer;
    }
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s("v1"),
            kind: s("Pod"),
        }),
        raw: Some(nested),
        ..Default::default()
    };
    let mut b = MAGIC.to_vec();
    b.extend(unknown.encode_to_vec());
    let _ = to_json(&b);
}

#[test]
fn every_served_kind_and_its_delete_options_have_a_message() {
    for r in crate::registry::RESOURCES {
        let api_version = if r.group.is_empty() {
            r.version.to_string()
        } else {
            format!("{}/{}", r.group, r.version)
        };
        assert!(
            super::message_for(&api_version, r.kind).is_some(),
            "{api_version} {}",
            r.kind
        );
        assert!(super::message_for(&api_version, "DeleteOptions").is_some());
    }
    for (api_version, kind) in [
        ("autoscaling/v1", "Scale"),
        ("v1", "Binding"),
        ("policy/v1", "Eviction"),
    ] {
        assert!(super::message_for(api_version, kind).is_some(), "{kind}");
    }
}

#[test]
fn an_empty_object_keeps_only_its_type() {
    let got = to_json(&body("v1", "Namespace", &core::Namespace::default())).unwrap();
    assert_eq!(got, json!({ "apiVersion": "v1", "kind": "Namespace" }));
    let _: Value = got;
}
