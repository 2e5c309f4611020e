//! Protobuf request bodies over HTTP, as client-go's typed clients send them: create, update and
//! delete (with `DeleteOptions`) work; a corrupt body or an unknown kind is 400, a protobuf
//! PATCH 415, as upstream answers.

use http::{Method, Request, header};
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use kube::config::{KubeConfigOptions, Kubeconfig};
use orchestrator::{ControlPlane, ControlPlaneConfig};
use prost::Message as _;
use serde_json::Value;

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

async fn client_for(cp: &ControlPlane) -> kube::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::from_yaml(&cp.kubeconfig()).expect("our kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("our kubeconfig is usable");
    kube::Client::try_from(config).expect("client builds")
}

/// `obj` as client-go encodes it: `k8s\0` and a `runtime.Unknown`.
fn envelope(api_version: &str, kind: &str, obj: &impl prost::Message) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(obj.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = b"k8s\0".to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

fn configmap(name: &str, resource_version: &str, value: &str) -> core::ConfigMap {
    core::ConfigMap {
        metadata: Some(meta::ObjectMeta {
            name: Some(name.into()),
            namespace: Some(String::new()),
            resource_version: Some(resource_version.into()),
            creation_timestamp: Some(meta::Time::default()),
            ..Default::default()
        }),
        data: [("k".to_string(), value.to_string())].into(),
        ..Default::default()
    }
}

/// Send one request; the status code and the JSON body.
async fn send(
    client: &kube::Client,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::ACCEPT,
            "application/vnd.kubernetes.protobuf,application/json",
        )
        .body(kube::client::Body::from(body))
        .unwrap();
    let response = client.send(request).await.expect("the server answers");
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("a body")
        .to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

#[tokio::test]
async fn create_update_and_delete_take_protobuf_bodies() {
    let cp = ControlPlane::start(ControlPlaneConfig::default())
        .await
        .expect("boots");
    let client = client_for(&cp).await;

    let body = envelope("v1", "ConfigMap", &configmap("pb", "", "one"));
    let (status, created) = send(&client, Method::POST, CONFIGMAPS, PROTOBUF, body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"], serde_json::json!({ "k": "one" }));
    assert_eq!(created["metadata"]["namespace"], "default");
    let rv = created["metadata"]["resourceVersion"].as_str().unwrap();
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();

    let body = envelope("v1", "ConfigMap", &configmap("pb", rv, "two"));
    let path = format!("{CONFIGMAPS}/pb");
    let (status, updated) = send(&client, Method::PUT, &path, PROTOBUF, body).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["k"], "two");
    assert_eq!(updated["metadata"]["uid"], uid.as_str());

    // The DeleteOptions body is read: a precondition on another uid refuses the delete.
    let opts = |uid: &str| meta::DeleteOptions {
        preconditions: Some(meta::Preconditions {
            uid: Some(uid.into()),
            resource_version: None,
        }),
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    let body = envelope("v1", "DeleteOptions", &opts("not-the-uid"));
    let (status, refused) = send(&client, Method::DELETE, &path, PROTOBUF, body).await;
    assert_eq!(status, 409, "{refused}");
    let body = envelope("v1", "DeleteOptions", &opts(&uid));
    let (status, deleted) = send(&client, Method::DELETE, &path, PROTOBUF, body).await;
    assert_eq!(status, 200, "{deleted}");
    let (status, _) = send(&client, Method::GET, &path, "application/json", vec![]).await;
    assert_eq!(status, 404);
    cp.shutdown().await;
}

#[tokio::test]
async fn corrupt_bodies_and_unknown_kinds_are_bad_requests() {
    let cp = ControlPlane::start(ControlPlaneConfig::default())
        .await
        .expect("boots");
    let client = client_for(&cp).await;
    let good = envelope("v1", "ConfigMap", &configmap("pb", "", "one"));
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "no magic",
            br#"{"kind":"ConfigMap"}"#.to_vec(),
            "does not appear to be a protobuf message",
        ),
        (
            "truncated",
            good[..good.len() - 3].to_vec(),
            "unexpected end of message",
        ),
        ("empty", b"k8s\0".to_vec(), "empty body"),
        (
            "unknown kind",
            envelope("v1", "Frobnicator", &configmap("pb", "", "one")),
            r#"no kind "Frobnicator" is registered for version "v1""#,
        ),
    ];
    for (case, body, message) in cases {
        let (status, err) = send(&client, Method::POST, CONFIGMAPS, PROTOBUF, body).await;
        assert_eq!(status, 400, "{case}: {err}");
        assert_eq!(err["reason"], "BadRequest", "{case}");
        let text = err["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{case}: {text:?}");
    }

    // PATCH has its own media types; protobuf is not one, upstream neither.
    let path = format!("{CONFIGMAPS}/pb");
    let (status, _) = send(&client, Method::POST, CONFIGMAPS, PROTOBUF, good.clone()).await;
    assert_eq!(status, 201);
    let (status, err) = send(&client, Method::PATCH, &path, PROTOBUF, good).await;
    assert_eq!(status, 415, "{err}");
    cp.shutdown().await;
}
