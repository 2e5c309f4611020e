//! Volumes a pod needs before its containers can start: a configMap or secret that does not
//! exist yet keeps the pod Pending (containers waiting in ContainerCreating) with FailedMount
//! events worded as the kubelet's, and the pod starts once the object is created; an optional
//! volume whose object is missing does not hold the pod back.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Pod, Secret, SecretVolumeSource, Volume, VolumeMount,
};
use kube::api::PostParams;

use crate::TestContext;
use crate::support::object_events::{has_event, wait_for_events};
use crate::support::pods::{
    bound_pod, container_mut, container_status, create_pod, create_running, is_running_and_ready,
    phase, ready_node_name, spec_mut, wait_pod, waiting_reason,
};
use crate::support::{configmap, meta, ns_api};

/// `pod` mounting `volume` at /etc/config in its `app` container.
fn mounting(mut pod: Pod, volume: Volume) -> Pod {
    container_mut(&mut pod, "app").volume_mounts = Some(vec![VolumeMount {
        name: volume.name.clone(),
        mount_path: "/etc/config".into(),
        ..VolumeMount::default()
    }]);
    spec_mut(&mut pod).volumes = Some(vec![volume]);
    pod
}

fn configmap_volume(name: &str, optional: bool) -> Volume {
    Volume {
        name: "config".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: name.into(),
            optional: optional.then_some(true),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }
}

fn secret_volume(name: &str) -> Volume {
    Volume {
        name: "config".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(name.into()),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// Waits for a FailedMount event saying `needle` about pod `name`, checks the pod is Pending
/// with its container in ContainerCreating, then runs `create` and waits for the pod to run.
async fn fails_to_mount_until_created(
    ctx: &TestContext,
    name: &str,
    needle: &str,
    create: impl AsyncFnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let events = wait_for_events(ctx, &ctx.namespace, name, "to include FailedMount", |e| {
        has_event(e, "FailedMount", Some(needle))
    })
    .await?;
    let failed = events
        .iter()
        .find(|e| e.reason.as_deref() == Some("FailedMount"))
        .expect("waited for it");
    ensure!(
        failed.type_.as_deref() == Some("Warning"),
        "FailedMount is {:?}, want Warning",
        failed.type_
    );
    let pod = ns_api::<Pod>(ctx).get(name).await?;
    ensure!(phase(&pod) == Some("Pending"), "phase {:?}", phase(&pod));
    let waiting = container_status(&pod, "app").and_then(waiting_reason);
    ensure!(
        waiting.is_none() || waiting == Some("ContainerCreating"),
        "container app waits in {waiting:?}, want ContainerCreating"
    );
    create().await?;
    wait_pod(
        ctx,
        name,
        "to run once its volume can mount",
        is_running_and_ready,
    )
    .await?;
    Ok(())
}

/// A pod mounting a configMap that does not exist stays Pending with FailedMount events
/// (`configmap "…" not found`), and runs once the configMap is created.
pub async fn missing_configmap_blocks_the_pod_until_it_is_created(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    create_pod(
        &ctx,
        &mounting(
            bound_pod("needs-config", &node),
            configmap_volume("late-config", false),
        ),
    )
    .await?;
    fails_to_mount_until_created(
        &ctx,
        "needs-config",
        "configmap \"late-config\" not found",
        async || {
            ns_api(&ctx)
                .create(
                    &PostParams::default(),
                    &configmap("late-config", &[], &[("key", "value")]),
                )
                .await?;
            Ok(())
        },
    )
    .await
}

/// A pod mounting a secret that does not exist stays Pending with FailedMount events
/// (`secret "…" not found`), and runs once the secret is created.
pub async fn missing_secret_blocks_the_pod_until_it_is_created(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    create_pod(
        &ctx,
        &mounting(
            bound_pod("needs-secret", &node),
            secret_volume("late-secret"),
        ),
    )
    .await?;
    fails_to_mount_until_created(
        &ctx,
        "needs-secret",
        "secret \"late-secret\" not found",
        async || {
            let secret = Secret {
                metadata: meta("late-secret", &[]),
                string_data: Some([("token".to_string(), "s3cr3t".to_string())].into()),
                ..Secret::default()
            };
            ns_api(&ctx).create(&PostParams::default(), &secret).await?;
            Ok(())
        },
    )
    .await
}

/// An optional configMap volume whose configMap does not exist mounts empty: the pod runs.
pub async fn optional_missing_configmap_does_not_block_the_pod(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    create_running(
        &ctx,
        &mounting(
            bound_pod("optional", &node),
            configmap_volume("absent", true),
        ),
    )
    .await?;
    Ok(())
}
