//! Image pulls as the kubelet's image manager does them: an image that cannot be pulled leaves
//! the container waiting in ErrImagePull, then ImagePullBackOff, with Failed and BackOff events;
//! pull policy Never with an image the node lacks is ErrImageNeverPull; an image the node already
//! holds is not pulled again under IfNotPresent.

use anyhow::ensure;

use crate::TestContext;
use crate::support::object_events::{describe, has_event, wait_for_events};
use crate::support::pods::{
    PodTest, bound_pod, container_mut, container_status, create_pod, create_running, phase,
    ready_node_name, wait_pod, wait_pod_through, waiting_reason,
};

/// A tag no registry has: real nodes fail to pull it, and the hollow nodes' default failure
/// pattern matches it.
const MISSING_IMAGE: &str = "registry.k8s.io/pause:doesnotexist";

fn waiting_in(reason: &'static str) -> PodTest {
    Box::new(move |p| container_status(p, "app").is_some_and(|c| waiting_reason(c) == Some(reason)))
}

/// An image that cannot be pulled: the container waits in ErrImagePull, then in
/// ImagePullBackOff; the pod stays Pending; the kubelet records Failed ("Failed to pull image")
/// and BackOff ("Back-off pulling image") events.
pub async fn unpullable_image_gives_err_image_pull_then_image_pull_back_off(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let mut pod = bound_pod("no-image", &node);
    container_mut(&mut pod, "app").image = Some(MISSING_IMAGE.into());
    create_pod(&ctx, &pod).await?;
    let pod = wait_pod_through(
        &ctx,
        "no-image",
        vec![
            ("to wait in ErrImagePull", waiting_in("ErrImagePull")),
            (
                "to wait in ImagePullBackOff",
                waiting_in("ImagePullBackOff"),
            ),
        ],
    )
    .await?;
    ensure!(phase(&pod) == Some("Pending"), "phase {:?}", phase(&pod));
    let pulled = format!("Failed to pull image \"{MISSING_IMAGE}\"");
    let backoff = format!("Back-off pulling image \"{MISSING_IMAGE}\"");
    let events = wait_for_events(
        &ctx,
        &ctx.namespace,
        "no-image",
        "to include Failed and BackOff",
        |e| has_event(e, "Failed", Some(&pulled)) && has_event(e, "BackOff", Some(&backoff)),
    )
    .await?;
    ensure!(
        has_event(&events, "Pulling", Some(MISSING_IMAGE)),
        "no Pulling event before the failure: {:?}",
        describe(&events)
    );
    Ok(())
}

/// Pull policy Never with an image the node does not hold: the container waits in
/// ErrImageNeverPull and the kubelet says why in an event.
pub async fn pull_policy_never_without_the_image_gives_err_image_never_pull(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let image = "registry.k8s.io/kubeproof-never-pulled:1.0";
    let mut pod = bound_pod("never", &node);
    let app = container_mut(&mut pod, "app");
    app.image = Some(image.into());
    app.image_pull_policy = Some("Never".into());
    create_pod(&ctx, &pod).await?;
    wait_pod(
        &ctx,
        "never",
        "to wait in ErrImageNeverPull",
        waiting_in("ErrImageNeverPull"),
    )
    .await?;
    let message = format!("Container image \"{image}\" is not present with pull policy of Never");
    wait_for_events(
        &ctx,
        &ctx.namespace,
        "never",
        "to include ErrImageNeverPull",
        |e| has_event(e, "ErrImageNeverPull", Some(&message)),
    )
    .await?;
    Ok(())
}

/// Under IfNotPresent, an image the node already holds is not pulled again: the second pod's
/// Pulled event says it is already present, and it has no Pulling event.
pub async fn image_already_on_the_node_is_not_pulled_again(ctx: TestContext) -> anyhow::Result<()> {
    let node = ready_node_name(&ctx).await?;
    let image = "registry.k8s.io/kubeproof-cached:1.0";
    let with_image = |name: &str| {
        let mut pod = bound_pod(name, &node);
        let app = container_mut(&mut pod, "app");
        app.image = Some(image.into());
        app.image_pull_policy = Some("IfNotPresent".into());
        pod
    };
    create_running(&ctx, &with_image("puller")).await?;
    create_running(&ctx, &with_image("reuser")).await?;
    let present = format!("Container image \"{image}\" already present on machine");
    let events = wait_for_events(
        &ctx,
        &ctx.namespace,
        "reuser",
        "to include Pulled (already present)",
        |e| has_event(e, "Pulled", Some(&present)),
    )
    .await?;
    ensure!(
        !has_event(&events, "Pulling", None),
        "the image was pulled again: {:?}",
        describe(&events)
    );
    Ok(())
}
