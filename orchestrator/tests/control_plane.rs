//! The control plane end to end through kube-rs: boot, TLS with the generated CA, token auth,
//! discovery, CRUD, watch. (The e2e suites go much further; this proves the wiring.)

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use orchestrator::{ControlPlane, ControlPlaneConfig, SYSTEM_NAMESPACES};

async fn client_for(cp: &ControlPlane) -> kube::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::from_yaml(&cp.kubeconfig()).expect("our kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("our kubeconfig is usable");
    kube::Client::try_from(config).expect("client builds")
}

#[tokio::test]
async fn boots_with_system_namespaces_and_serves_them_over_tls() {
    let cp = ControlPlane::start(ControlPlaneConfig::default())
        .await
        .expect("boots");
    let client = client_for(&cp).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let list = namespaces
        .list(&ListParams::default())
        .await
        .expect("lists namespaces");
    let mut names: Vec<String> = list
        .items
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    names.sort();
    let mut want: Vec<String> = SYSTEM_NAMESPACES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
    let version = client.apiserver_version().await.expect("serves /version");
    assert_eq!(version.major, "1");
    cp.shutdown().await;
}

#[tokio::test]
async fn configmap_round_trips_and_is_watched() {
    let cp = ControlPlane::start(ControlPlaneConfig::default())
        .await
        .expect("boots");
    let client = client_for(&cp).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut watch = Box::pin(
        cms.watch(&WatchParams::default(), "0")
            .await
            .expect("watch starts"),
    );
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "one", "labels": { "app": "x" } },
        "data": { "k": "v" },
    }))
    .unwrap();
    let created = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect("creates");
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.resource_version.is_some());
    let got = cms.get("one").await.expect("gets");
    assert_eq!(got.data.unwrap()["k"], "v");
    use futures::StreamExt;
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), watch.next())
        .await
        .expect("a watch event within 10 s")
        .expect("stream open")
        .expect("event decodes");
    match first {
        WatchEvent::Added(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("one")),
        other => panic!("expected ADDED, got {other:?}"),
    }
    cp.shutdown().await;
}

#[tokio::test]
async fn requests_without_the_token_get_401() {
    let cp = ControlPlane::start(ControlPlaneConfig::default())
        .await
        .expect("boots");
    let mut kubeconfig = Kubeconfig::from_yaml(&cp.kubeconfig()).unwrap();
    for user in &mut kubeconfig.auth_infos {
        if let Some(auth) = user.auth_info.as_mut() {
            auth.token = Some("wrong".to_string().into());
        }
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let err = Api::<Namespace>::all(client)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => assert_eq!(s.code, 401),
        other => panic!("expected a 401 Status, got {other:?}"),
    }
    cp.shutdown().await;
}

#[tokio::test]
async fn metrics_report_the_deployment_work_queue() {
    use futures::{StreamExt, TryStreamExt};
    use k8s_openapi::api::apps::v1::Deployment;
    let cp = ControlPlane::start(ControlPlaneConfig::default())
        .await
        .expect("boots");
    let client = client_for(&cp).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &d)
        .await
        .expect("creates");
    let observed = async {
        let params = WatchParams::default().fields("metadata.name=web");
        let mut events = deployments.watch(&params, "0").await.unwrap().boxed();
        while let Some(ev) = events.try_next().await.unwrap() {
            if let WatchEvent::Added(d) | WatchEvent::Modified(d) = ev
                && d.status.and_then(|s| s.observed_generation) == Some(1)
            {
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), observed)
        .await
        .expect("the deployment controller observes the deployment");
    let req = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = client.request_text(req).await.expect("serves /metrics");
    let adds = text
        .lines()
        .find_map(|l| l.strip_prefix("workqueue_adds_total{name=\"deployment\"} "))
        .expect("the deployment queue is reported");
    assert!(adds.parse::<u64>().unwrap() >= 1, "{adds}");
    assert!(
        text.contains("workqueue_queue_duration_seconds_bucket{name=\"deployment\",le=\"+Inf\"}")
    );
    assert!(text.contains("workqueue_depth{name=\"deployment\"}"));
    cp.shutdown().await;
}
