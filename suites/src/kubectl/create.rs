//! kubectl's typed generators (`create deployment|namespace|configmap|secret|service|job`): they
//! send their objects as protobuf (`application/vnd.kubernetes.protobuf`), unlike `apply -f` and
//! `create -f`, which send JSON. Each test checks that kubectl did send protobuf (its `-v=7`
//! request log) and reads the stored object back field by field, defaults included.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Api;

use crate::TestContext;
use crate::support::{kubectl, ns_api};

/// The media type of Kubernetes protobuf bodies.
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// Runs `kubectl -v=7 ARGS` (the level that logs request headers), requires success and that
/// the request body went out as protobuf; returns what kubectl printed on stdout.
async fn create_as_protobuf(ctx: &TestContext, args: &[&str]) -> anyhow::Result<String> {
    let mut full = vec!["-v=7"];
    full.extend_from_slice(args);
    let out = kubectl(ctx, &full).await?;
    let sent_protobuf = out
        .stderr
        .lines()
        .any(|l| l.contains("Content-Type") && l.contains(PROTOBUF));
    let stderr = out.stderr.clone();
    let stdout = out.ok()?;
    ensure!(
        sent_protobuf,
        "kubectl {} did not send a protobuf body; its request log:\n{stderr}",
        args.join(" ")
    );
    Ok(stdout)
}

fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `kubectl create deployment web --image=nginx --replicas=3 --port=80` stores the Deployment
/// kubectl built, with upstream's defaults filled in and no zero-valued fields invented.
pub async fn kubectl_create_deployment_stores_the_typed_deployment(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let ns = ctx.namespace.as_str();
    let out = create_as_protobuf(
        &ctx,
        &[
            "-n",
            ns,
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--replicas=3",
            "--port=80",
        ],
    )
    .await?;
    ensure!(
        out.trim() == "deployment.apps/web created",
        "kubectl printed {out:?}"
    );
    let d = ns_api::<Deployment>(&ctx).get("web").await?;
    let labels = string_map(&[("app", "web")]);
    ensure!(
        d.metadata.labels.as_ref() == Some(&labels),
        "labels {:?}",
        d.metadata.labels
    );
    let spec = d.spec;
    ensure!(spec.replicas == Some(3), "replicas {:?}", spec.replicas);
    ensure!(
        spec.selector.match_labels.as_ref() == Some(&labels),
        "selector {:?}",
        spec.selector
    );
    // Go writes these non-pointer zeros on the wire; JSON (omitempty) and upstream leave them out.
    ensure!(
        spec.min_ready_seconds.is_none() && spec.paused.is_none(),
        "zero values invented: minReadySeconds {:?}, paused {:?}",
        spec.min_ready_seconds,
        spec.paused
    );
    ensure!(
        spec.revision_history_limit == Some(10) && spec.progress_deadline_seconds == Some(600),
        "defaults: revisionHistoryLimit {:?}, progressDeadlineSeconds {:?}",
        spec.revision_history_limit,
        spec.progress_deadline_seconds
    );
    let strategy = spec.strategy.context("no strategy")?;
    let rolling = strategy.rolling_update.clone().unwrap_or_default();
    ensure!(
        strategy.type_.as_deref() == Some("RollingUpdate")
            && rolling.max_surge == Some(IntOrString::String("25%".into()))
            && rolling.max_unavailable == Some(IntOrString::String("25%".into())),
        "strategy {strategy:?}"
    );
    ensure!(
        spec.template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref())
            == Some(&labels),
        "template labels {:?}",
        spec.template.metadata
    );
    let pod = spec.template.spec.context("no pod spec")?;
    ensure!(
        pod.restart_policy.as_deref() == Some("Always")
            && pod.dns_policy.as_deref() == Some("ClusterFirst")
            && pod.termination_grace_period_seconds == Some(30)
            && pod.scheduler_name.as_deref() == Some("default-scheduler"),
        "pod defaults: restartPolicy {:?}, dnsPolicy {:?}, terminationGracePeriodSeconds {:?}, schedulerName {:?}",
        pod.restart_policy,
        pod.dns_policy,
        pod.termination_grace_period_seconds,
        pod.scheduler_name
    );
    ensure!(pod.containers.len() == 1, "containers {:?}", pod.containers);
    let c = &pod.containers[0];
    let ports: Vec<(i32, Option<&str>)> = c
        .ports
        .iter()
        .flatten()
        .map(|p| (p.container_port, p.protocol.as_deref()))
        .collect();
    ensure!(
        c.name == "nginx"
            && c.image.as_deref() == Some("nginx")
            && ports == [(80, Some("TCP"))]
            && c.image_pull_policy.as_deref() == Some("Always")
            && c.termination_message_path.as_deref() == Some("/dev/termination-log")
            && c.termination_message_policy.as_deref() == Some("File"),
        "container {c:?}"
    );
    ensure!(
        c.stdin.is_none() && c.tty.is_none() && c.working_dir.is_none(),
        "zero values invented in the container: {c:?}"
    );
    Ok(())
}

/// `kubectl create namespace` stores an active namespace with the `kubernetes` finalizer.
pub async fn kubectl_create_namespace_stores_an_active_namespace(
    ctx: TestContext,
) -> anyhow::Result<()> {
    // The test namespace's random suffix keeps the name unique on a shared cluster and short
    // of the 63-character limit.
    let suffix = ctx.namespace.rsplit('-').next().unwrap_or_default();
    let name = format!("kubectl-made-{suffix}");
    let out = create_as_protobuf(&ctx, &["create", "namespace", &name]).await?;
    ensure!(
        out.trim() == format!("namespace/{name} created"),
        "kubectl printed {out:?}"
    );
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    let created = namespaces.get(&name).await?;
    let finalizers = created.spec.and_then(|s| s.finalizers).unwrap_or_default();
    let phase = created.status.and_then(|s| s.phase);
    ensure!(
        finalizers == ["kubernetes"] && phase.as_deref() == Some("Active"),
        "finalizers {finalizers:?}, phase {phase:?}"
    );
    ensure!(
        created
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/metadata.name"))
            == Some(&name),
        "labels {:?}",
        created.metadata.labels
    );
    namespaces.delete(&name, &Default::default()).await?;
    Ok(())
}

/// `kubectl create configmap --from-literal` stores exactly the literals, as strings.
pub async fn kubectl_create_configmap_stores_the_literals(ctx: TestContext) -> anyhow::Result<()> {
    let ns = ctx.namespace.as_str();
    create_as_protobuf(
        &ctx,
        &[
            "-n",
            ns,
            "create",
            "configmap",
            "settings",
            "--from-literal=mode=fast",
            "--from-literal=empty=",
            "--from-literal=count=3",
        ],
    )
    .await?;
    let cm = ns_api::<ConfigMap>(&ctx).get("settings").await?;
    let want = string_map(&[("count", "3"), ("empty", ""), ("mode", "fast")]);
    ensure!(cm.data.as_ref() == Some(&want), "data {:?}", cm.data);
    ensure!(
        cm.binary_data.is_none() && cm.immutable.is_none(),
        "binaryData {:?}, immutable {:?}",
        cm.binary_data,
        cm.immutable
    );
    Ok(())
}

/// `kubectl create secret generic --from-literal` stores the bytes (base64 on the wire in JSON,
/// raw bytes in protobuf) and the `Opaque` type.
pub async fn kubectl_create_secret_generic_stores_the_bytes(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let ns = ctx.namespace.as_str();
    create_as_protobuf(
        &ctx,
        &[
            "-n",
            ns,
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=user=admin",
            "--from-literal=password=s3cr3t!",
        ],
    )
    .await?;
    let secret = ns_api::<Secret>(&ctx).get("creds").await?;
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    let want: BTreeMap<String, Vec<u8>> = [
        ("password".to_string(), b"s3cr3t!".to_vec()),
        ("user".to_string(), b"admin".to_vec()),
    ]
    .into();
    ensure!(data == want, "data {data:?}");
    ensure!(
        secret.type_.as_deref() == Some("Opaque"),
        "type {:?}",
        secret.type_
    );
    Ok(())
}

/// `kubectl create service clusterip web --tcp=80:8080` stores the port mapping, the
/// `app=<name>` selector, and a cluster IP from the service range.
pub async fn kubectl_create_service_clusterip_stores_the_port_mapping(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let ns = ctx.namespace.as_str();
    create_as_protobuf(
        &ctx,
        &[
            "-n",
            ns,
            "create",
            "service",
            "clusterip",
            "web",
            "--tcp=80:8080",
        ],
    )
    .await?;
    let svc = ns_api::<Service>(&ctx).get("web").await?;
    let spec = svc.spec.context("no spec")?;
    ensure!(
        spec.type_.as_deref() == Some("ClusterIP")
            && spec.session_affinity.as_deref() == Some("None"),
        "type {:?}, sessionAffinity {:?}",
        spec.type_,
        spec.session_affinity
    );
    ensure!(
        spec.selector.as_ref() == Some(&string_map(&[("app", "web")])),
        "selector {:?}",
        spec.selector
    );
    let ports: Vec<_> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| {
            (
                p.name.clone(),
                p.port,
                p.protocol.clone(),
                p.target_port.clone(),
                p.node_port,
            )
        })
        .collect();
    ensure!(
        ports
            == [(
                Some("80-8080".to_string()),
                80,
                Some("TCP".to_string()),
                Some(IntOrString::Int(8080)),
                None
            )],
        "ports {ports:?}"
    );
    let ip = spec.cluster_ip.unwrap_or_default();
    ensure!(
        ip.parse::<std::net::IpAddr>().is_ok(),
        "clusterIP {ip:?} is not an address"
    );
    Ok(())
}

/// `kubectl create job --image=busybox -- echo hi` stores the command and a `Never` restart
/// policy, with upstream's job defaults.
pub async fn kubectl_create_job_stores_the_command_and_defaults(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let ns = ctx.namespace.as_str();
    create_as_protobuf(
        &ctx,
        &[
            "-n",
            ns,
            "create",
            "job",
            "once",
            "--image=busybox",
            "--",
            "echo",
            "hi",
        ],
    )
    .await?;
    let job = ns_api::<Job>(&ctx).get("once").await?;
    let spec = job.spec.context("no spec")?;
    ensure!(
        spec.completions == Some(1)
            && spec.parallelism == Some(1)
            && spec.backoff_limit == Some(6)
            && spec.completion_mode.as_deref() == Some("NonIndexed")
            && spec.suspend == Some(false),
        "job defaults: completions {:?}, parallelism {:?}, backoffLimit {:?}, completionMode {:?}, suspend {:?}",
        spec.completions,
        spec.parallelism,
        spec.backoff_limit,
        spec.completion_mode,
        spec.suspend
    );
    let pod = spec.template.spec.context("no pod spec")?;
    ensure!(
        pod.restart_policy.as_deref() == Some("Never"),
        "restartPolicy {:?}",
        pod.restart_policy
    );
    let c = pod.containers.first().context("no container")?;
    ensure!(
        c.name == "once"
            && c.image.as_deref() == Some("busybox")
            && c.command.as_deref() == Some(&["echo".to_string(), "hi".to_string()][..]),
        "container {c:?}"
    );
    Ok(())
}
