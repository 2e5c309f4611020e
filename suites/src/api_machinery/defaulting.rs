//! Defaulting: the fields the API server fills in on create, as upstream's defaulters do.

use anyhow::ensure;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Pod, ReplicationController, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::PostParams;

use crate::TestContext;
use crate::support::{
    container, deployment, labels, ns_api, pod, pod_template, replication_controller, service,
};

/// Pod defaults: restartPolicy Always, dnsPolicy ClusterFirst, terminationGracePeriodSeconds 30,
/// schedulerName default-scheduler, imagePullPolicy by tag, termination message path and policy.
pub async fn pod_defaults_are_applied(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Pod>(&ctx);
    let mut p = pod("defaults", &[]);
    p.spec.as_mut().expect("fixture pod has a spec").containers = vec![
        container("tagged"),
        Container {
            image: Some("registry.k8s.io/pause".into()),
            ..container("untagged")
        },
        Container {
            image: Some("registry.k8s.io/pause:latest".into()),
            ..container("latest")
        },
    ];
    let created = api.create(&PostParams::default(), &p).await?;
    let spec = created.spec.clone().expect("pod has a spec");
    ensure!(
        spec.restart_policy.as_deref() == Some("Always"),
        "restartPolicy {:?}",
        spec.restart_policy
    );
    ensure!(
        spec.dns_policy.as_deref() == Some("ClusterFirst"),
        "dnsPolicy {:?}",
        spec.dns_policy
    );
    ensure!(
        spec.termination_grace_period_seconds == Some(30),
        "terminationGracePeriodSeconds {:?}",
        spec.termination_grace_period_seconds
    );
    ensure!(
        spec.scheduler_name.as_deref() == Some("default-scheduler"),
        "schedulerName {:?}",
        spec.scheduler_name
    );
    ensure!(
        spec.enable_service_links == Some(true),
        "enableServiceLinks {:?}",
        spec.enable_service_links
    );
    ensure!(
        spec.security_context.is_some(),
        "securityContext not defaulted to {{}}"
    );
    let policies: Vec<(String, Option<String>)> = spec
        .containers
        .iter()
        .map(|c| (c.name.clone(), c.image_pull_policy.clone()))
        .collect();
    let want = vec![
        ("tagged".to_string(), Some("IfNotPresent".to_string())),
        ("untagged".to_string(), Some("Always".to_string())),
        ("latest".to_string(), Some("Always".to_string())),
    ];
    ensure!(
        policies == want,
        "imagePullPolicy by tag: {policies:?}, want {want:?}"
    );
    for c in &spec.containers {
        ensure!(
            c.termination_message_path.as_deref() == Some("/dev/termination-log"),
            "{}: terminationMessagePath {:?}",
            c.name,
            c.termination_message_path
        );
        ensure!(
            c.termination_message_policy.as_deref() == Some("File"),
            "{}: terminationMessagePolicy {:?}",
            c.name,
            c.termination_message_policy
        );
    }
    let status = created.status.clone().unwrap_or_default();
    ensure!(
        status.phase.as_deref() == Some("Pending"),
        "a new pod's phase is {:?}, want Pending",
        status.phase
    );
    ensure!(
        status.qos_class.as_deref() == Some("BestEffort"),
        "qosClass {:?}, want BestEffort",
        status.qos_class
    );
    Ok(())
}

/// Service defaults: type ClusterIP, sessionAffinity None, port protocol TCP, targetPort = port,
/// a single-stack cluster IP mirrored in clusterIPs, internalTrafficPolicy Cluster.
pub async fn service_defaults_are_applied(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Service>(&ctx);
    let created = api
        .create(
            &PostParams::default(),
            &service("defaults", &[("app", "x")]),
        )
        .await?;
    let spec = created.spec.expect("service has a spec");
    ensure!(
        spec.type_.as_deref() == Some("ClusterIP"),
        "type {:?}",
        spec.type_
    );
    ensure!(
        spec.session_affinity.as_deref() == Some("None"),
        "sessionAffinity {:?}",
        spec.session_affinity
    );
    ensure!(
        spec.internal_traffic_policy.as_deref() == Some("Cluster"),
        "internalTrafficPolicy {:?}",
        spec.internal_traffic_policy
    );
    ensure!(
        spec.ip_family_policy.as_deref() == Some("SingleStack"),
        "ipFamilyPolicy {:?}",
        spec.ip_family_policy
    );
    let port = spec
        .ports
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("service has a port");
    ensure!(
        port.protocol.as_deref() == Some("TCP"),
        "port protocol {:?}",
        port.protocol
    );
    ensure!(
        port.target_port == Some(IntOrString::Int(80)),
        "targetPort {:?}, want 80",
        port.target_port
    );
    let ip = spec.cluster_ip.unwrap_or_default();
    ensure!(
        !ip.is_empty() && ip != "None",
        "no cluster IP allocated: {ip:?}"
    );
    ensure!(
        spec.cluster_ips == Some(vec![ip.clone()]),
        "clusterIPs {:?}, want [{ip}]",
        spec.cluster_ips
    );
    Ok(())
}

/// Deployment defaults: RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds
/// 600, replicas 1, and pod-template defaults.
pub async fn deployment_defaults_are_applied(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    let mut d = deployment("defaults", 0, &[("app", "defaults")]);
    d.spec.replicas = None;
    let created = api.create(&PostParams::default(), &d).await?;
    let spec = created.spec;
    ensure!(
        spec.replicas == Some(1),
        "replicas {:?}, want 1",
        spec.replicas
    );
    ensure!(
        spec.revision_history_limit == Some(10),
        "revisionHistoryLimit {:?}",
        spec.revision_history_limit
    );
    ensure!(
        spec.progress_deadline_seconds == Some(600),
        "progressDeadlineSeconds {:?}",
        spec.progress_deadline_seconds
    );
    let strategy = spec.strategy.unwrap_or_default();
    ensure!(
        strategy.type_.as_deref() == Some("RollingUpdate"),
        "strategy type {:?}",
        strategy.type_
    );
    let rolling = strategy.rolling_update.unwrap_or_default();
    let quarter = Some(IntOrString::String("25%".into()));
    ensure!(
        rolling.max_surge == quarter && rolling.max_unavailable == quarter,
        "rollingUpdate {rolling:?}, want 25%/25%"
    );
    let pod_spec = spec.template.spec.unwrap_or_default();
    ensure!(
        pod_spec.restart_policy.as_deref() == Some("Always"),
        "template restartPolicy {:?}",
        pod_spec.restart_policy
    );
    ensure!(
        pod_spec.dns_policy.as_deref() == Some("ClusterFirst"),
        "template dnsPolicy {:?}",
        pod_spec.dns_policy
    );
    Ok(())
}

/// A replication controller without a selector or labels takes both from its template, and
/// replicas defaults to 1.
pub async fn replication_controller_defaults_selector_and_labels_from_its_template(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ReplicationController>(&ctx);
    let mut rc = replication_controller("defaults", 0, &[]);
    let spec = rc.spec.as_mut().expect("fixture rc has a spec");
    spec.replicas = None;
    spec.selector = None;
    spec.template = Some(pod_template(&[("app", "rc-defaults")]));
    rc.metadata.labels = None;
    let created = api.create(&PostParams::default(), &rc).await?;
    let want = labels(&[("app", "rc-defaults")]);
    let spec = created.spec.clone().unwrap_or_default();
    ensure!(
        spec.selector.as_ref() == Some(&want),
        "selector {:?}, want the template's labels",
        spec.selector
    );
    ensure!(
        created.labels() == &want,
        "labels {:?}, want the template's labels",
        created.labels()
    );
    ensure!(
        spec.replicas == Some(1),
        "replicas {:?}, want 1",
        spec.replicas
    );
    Ok(())
}
