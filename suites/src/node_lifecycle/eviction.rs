//! Taint-based eviction, as upstream's NoExecuteTaintManager tests check it: pods that do not
//! tolerate a NoExecute taint are evicted at once, pods tolerating it for `tolerationSeconds`
//! after that time, pods tolerating it forever never; removing the taint in time cancels the
//! eviction; an unreachable node's pods are evicted unless they tolerate it; and the
//! DefaultTolerationSeconds admission gives every pod 300 s of tolerance.
//!
//! No test here sleeps to show that something did *not* happen: a pod evicted later (or on
//! another node) serves as the clock.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{Pod, Toleration};
use kube::api::PostParams;

use crate::TestContext;
use crate::support::nodes::{
    EVICT_KEY, NOT_READY, UNREACHABLE, add_taint, evict_taint, has_taint, own_nodes, remove_taint,
    wait_node,
};
use crate::support::object_events::{has_event, wait_for_events};
use crate::support::pods::{
    bound_pod, create_running, pod_condition, toleration, with_tolerations,
};
use crate::support::{Condition, ns_api, unscheduled_pod, wait_budget, wait_for};

/// Whether the pod is being deleted (or is already gone): what eviction does to it.
fn evicted(pod: Option<&Pod>) -> bool {
    pod.is_none_or(|p| p.metadata.deletion_timestamp.is_some())
}

async fn wait_evicted(ctx: &TestContext, name: &str) -> anyhow::Result<Option<Pod>> {
    wait_for(
        &ns_api::<Pod>(ctx),
        name,
        Condition::new("to be evicted (terminating or deleted)", evicted),
        wait_budget(ctx),
    )
    .await
}

async fn is_evicted_now(ctx: &TestContext, name: &str) -> anyhow::Result<bool> {
    match ns_api::<Pod>(ctx).get_opt(name).await? {
        None => Ok(true),
        Some(p) => Ok(p.metadata.deletion_timestamp.is_some()),
    }
}

/// A pod that does not tolerate a NoExecute taint is evicted as soon as its node gets it, with
/// the DisruptionTarget condition and a TaintManagerEviction event; a pod tolerating it
/// forever stays.
pub async fn no_execute_taint_evicts_pods_that_do_not_tolerate_it(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_nodes(&ctx, "taint", 1).await?.remove(0);
    create_running(&ctx, &bound_pod("intolerant", &node)).await?;
    let forever = with_tolerations(
        bound_pod("tolerant", &node),
        vec![toleration(EVICT_KEY, "NoExecute", None)],
    );
    create_running(&ctx, &forever).await?;

    add_taint(&ctx, &node, evict_taint()).await?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None::<Pod>));
    let keep = seen.clone();
    wait_for(
        &ns_api::<Pod>(&ctx),
        "intolerant",
        Condition::new("to be evicted", move |p: Option<&Pod>| {
            if let Some(p) = p {
                *keep.lock().expect("not poisoned") = Some(p.clone());
            }
            evicted(p)
        }),
        wait_budget(&ctx),
    )
    .await?;
    let events = wait_for_events(
        &ctx,
        &ctx.namespace,
        "intolerant",
        "to include TaintManagerEviction",
        |e| has_event(e, "TaintManagerEviction", None),
    )
    .await?;
    ensure!(
        has_event(
            &events,
            "TaintManagerEviction",
            Some("Marking for deletion Pod")
        ),
        "the eviction event does not say \"Marking for deletion Pod …\""
    );
    let last = seen.lock().expect("not poisoned").clone();
    if let Some(last) = last.filter(|p| p.metadata.deletion_timestamp.is_some()) {
        let target = pod_condition(&last, "DisruptionTarget");
        ensure!(
            target.is_some_and(
                |c| c.status == "True" && c.reason.as_deref() == Some("DeletionByTaintManager")
            ),
            "the evicted pod lacks DisruptionTarget=True (DeletionByTaintManager): {target:?}"
        );
    }
    ensure!(
        !is_evicted_now(&ctx, "tolerant").await?,
        "the pod tolerating the taint forever was evicted"
    );
    Ok(())
}

/// Pods tolerating a NoExecute taint for a while are evicted in order of their
/// `tolerationSeconds`, each only after its own; a pod tolerating it forever outlives both.
pub async fn pods_are_evicted_after_their_toleration_seconds(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_nodes(&ctx, "limits", 1).await?.remove(0);
    let tolerating = |name: &str, seconds: Option<i64>| {
        with_tolerations(
            bound_pod(name, &node),
            vec![toleration(EVICT_KEY, "NoExecute", seconds)],
        )
    };
    create_running(&ctx, &tolerating("short", Some(2))).await?;
    create_running(&ctx, &tolerating("long", Some(8))).await?;
    create_running(&ctx, &tolerating("forever", None)).await?;

    add_taint(&ctx, &node, evict_taint()).await?;
    wait_evicted(&ctx, "short").await?;
    ensure!(
        !is_evicted_now(&ctx, "long").await?,
        "the pod tolerating the taint for 8 s went with the one tolerating it for 2 s"
    );
    wait_evicted(&ctx, "long").await?;
    ensure!(
        !is_evicted_now(&ctx, "forever").await?,
        "the pod tolerating the taint forever was evicted"
    );
    Ok(())
}

/// Removing the taint before a pod's `tolerationSeconds` run out cancels its eviction. The
/// clock: the same taint on a second node, kept there, evicts a pod that tolerates it longer.
pub async fn removing_the_taint_cancels_a_pending_eviction(ctx: TestContext) -> anyhow::Result<()> {
    let nodes = own_nodes(&ctx, "removal", 2).await?;
    let (kept_node, cleared_node) = (&nodes[0], &nodes[1]);
    let tolerating = |name: &str, node: &str, seconds: i64| {
        with_tolerations(
            bound_pod(name, node),
            vec![toleration(EVICT_KEY, "NoExecute", Some(seconds))],
        )
    };
    create_running(&ctx, &tolerating("spared", cleared_node, 4)).await?;
    create_running(&ctx, &tolerating("clock", kept_node, 6)).await?;

    add_taint(&ctx, cleared_node, evict_taint()).await?;
    remove_taint(&ctx, cleared_node, EVICT_KEY).await?;
    wait_node(&ctx, cleared_node, "to lose the taint", |n| {
        !has_taint(n, EVICT_KEY, "NoExecute")
    })
    .await?;
    // Tainted after the other node was, for longer: when the clock pod goes, the spared pod's
    // eviction would have been due well before.
    add_taint(&ctx, kept_node, evict_taint()).await?;

    wait_evicted(&ctx, "clock").await?;
    ensure!(
        !is_evicted_now(&ctx, "spared").await?,
        "the pod whose node lost the taint was evicted anyway"
    );
    Ok(())
}

/// On an unreachable node, a pod that tolerates `unreachable` for 0 s is evicted; one with the
/// default 300 s toleration is not (yet).
pub async fn unreachable_node_evicts_pods_that_do_not_tolerate_it(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let node = own_nodes(&ctx, "unreach", 1).await?.remove(0);
    let zero = with_tolerations(
        bound_pod("zero", &node),
        vec![
            toleration(UNREACHABLE, "NoExecute", Some(0)),
            toleration(NOT_READY, "NoExecute", Some(0)),
        ],
    );
    create_running(&ctx, &zero).await?;
    create_running(&ctx, &bound_pod("default", &node)).await?;

    ctx.node_control()?.stop_heartbeats(&node)?;
    wait_evicted(&ctx, "zero").await?;
    ensure!(
        !is_evicted_now(&ctx, "default").await?,
        "the pod with the default 300 s toleration of unreachable was evicted at once"
    );
    Ok(())
}

/// DefaultTolerationSeconds admission adds 300 s NoExecute tolerations of not-ready and
/// unreachable to a new pod, and leaves a toleration the pod brings of its own alone.
pub async fn new_pods_get_default_not_ready_and_unreachable_tolerations(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<Pod>(&ctx);
    let plain = api
        .create(&PostParams::default(), &unscheduled_pod("plain", &[]))
        .await?;
    let tolerations = plain
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    for key in [NOT_READY, UNREACHABLE] {
        let want = Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: Some(300),
            value: None,
        };
        ensure!(
            tolerations.iter().filter(|t| **t == want).count() == 1,
            "want exactly one {want:?} in {tolerations:?}"
        );
    }

    let own = with_tolerations(
        unscheduled_pod("own", &[]),
        vec![toleration(UNREACHABLE, "NoExecute", Some(7))],
    );
    let own = api.create(&PostParams::default(), &own).await?;
    let tolerations = own
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let of = |key: &str| {
        tolerations
            .iter()
            .filter(|t| t.key.as_deref() == Some(key))
            .collect::<Vec<_>>()
    };
    ensure!(
        of(UNREACHABLE).len() == 1 && of(UNREACHABLE)[0].toleration_seconds == Some(7),
        "the pod's own unreachable toleration was changed or doubled: {tolerations:?}"
    );
    ensure!(
        of(NOT_READY).len() == 1 && of(NOT_READY)[0].toleration_seconds == Some(300),
        "the not-ready toleration was not added: {tolerations:?}"
    );
    Ok(())
}
