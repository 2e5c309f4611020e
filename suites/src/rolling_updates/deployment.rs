//! Deployments rolled out while a [`RolloutWatch`] checks every observed state: a table of
//! maxSurge/maxUnavailable, Recreate, rollback (`kubectl rollout undo`, to the previous and to a
//! given revision), pause and resume, proportional scaling, rollover, a rollout stuck on an
//! image that cannot be pulled, readiness gated by `minReadySeconds`, and the revision history
//! limit. kubectl drives them where a user would (`set image`, `rollout status`, `rollout
//! history`, `rollout undo`, `rollout pause/resume`, `scale`). Upstream's lifecycle and status
//! cases drive a Deployment through the API and observe every step on one watch.

use anyhow::{Context, ensure};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchParams};
use serde_json::json;

use crate::TestContext;
use crate::support::rollout::{Invariants, REVISION, RolloutReport, RolloutWatch, Watched};
use crate::support::workloads::{live_pods, wait_list, wait_object};
use crate::support::{
    Change, Events, change_where, deployment, kubectl, kubectl_ns, ns_api, open_watch, wait_budget,
};

const SELECTOR: &str = "app=web";

fn int_or_percent(v: &str) -> IntOrString {
    v.parse()
        .map_or_else(|_| IntOrString::String(v.into()), IntOrString::Int)
}

/// Deployment `web` of `replicas` pods running `nginx:1.0`, rolling with these bounds.
fn web(replicas: i32, surge: &str, unavailable: &str) -> anyhow::Result<Deployment> {
    let mut d = deployment("web", replicas, &[("app", "web")]);
    d.spec.strategy = Some(serde_json::from_value(json!({
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": int_or_percent(surge), "maxUnavailable": int_or_percent(unavailable)},
    }))?);
    set_template_image(&mut d, "nginx:1.0");
    Ok(d)
}

fn set_template_image(d: &mut Deployment, image: &str) {
    if let Some(c) = d
        .spec
        .template
        .spec
        .as_mut()
        .and_then(|s| s.containers.first_mut())
    {
        c.image = Some(image.into());
    }
}

fn image_of(d: &Deployment) -> Option<String> {
    d.spec
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()
}

async fn create(ctx: &TestContext, d: &Deployment) -> anyhow::Result<Deployment> {
    ns_api::<Deployment>(ctx)
        .create(&PostParams::default(), d)
        .await
        .context("creating the deployment")
}

/// Whether the Deployment's latest spec is fully rolled out and available (what `kubectl
/// rollout status` waits for).
fn complete(d: &Deployment) -> bool {
    let replicas = d.spec.replicas.unwrap_or(1);
    let Some(s) = &d.status else { return false };
    s.observed_generation >= d.metadata.generation
        && s.updated_replicas.unwrap_or(0) == replicas
        && s.replicas.unwrap_or(0) == replicas
        && s.available_replicas.unwrap_or(0) == replicas
}

async fn wait_complete(ctx: &TestContext, name: &str) -> anyhow::Result<Deployment> {
    wait_object(
        ctx,
        &ns_api(ctx),
        name,
        "to be completely rolled out and available",
        complete,
    )
    .await
}

fn condition<'a>(d: &'a Deployment, type_: &str) -> Option<&'a DeploymentCondition> {
    d.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))
}

/// The Deployment's ReplicaSets by revision.
async fn replica_sets(ctx: &TestContext) -> anyhow::Result<Vec<(i64, ReplicaSet)>> {
    let listed = ns_api::<ReplicaSet>(ctx)
        .list(&ListParams::default().labels(SELECTOR))
        .await?;
    Ok(by_revision(listed.items))
}

/// ReplicaSets with their revisions, oldest first.
fn by_revision(rss: Vec<ReplicaSet>) -> Vec<(i64, ReplicaSet)> {
    let mut out: Vec<(i64, ReplicaSet)> = rss
        .into_iter()
        .map(|rs| {
            let revision = rs
                .annotations()
                .get(REVISION)
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            (revision, rs)
        })
        .collect();
    out.sort_by_key(|(r, _)| *r);
    out
}

fn sizes(rss: &[(i64, ReplicaSet)]) -> Vec<i32> {
    rss.iter()
        .map(|(_, rs)| rs.spec.replicas.unwrap_or(0))
        .collect()
}

async fn set_image(ctx: &TestContext, image: &str) -> anyhow::Result<()> {
    kubectl_ns(
        ctx,
        &["set", "image", "deployment/web", &format!("app={image}")],
    )
    .await
    .map(|_| ())
}

/// The Deployment's ReplicaSets ordered by revision, once `test` holds of them.
async fn wait_replica_sets(
    ctx: &TestContext,
    what: &str,
    test: impl Fn(&[(i64, ReplicaSet)]) -> bool,
) -> anyhow::Result<()> {
    wait_list(
        ctx,
        &ns_api::<ReplicaSet>(ctx),
        &ListParams::default().labels(SELECTOR),
        what,
        |rss| test(&by_revision(rss.to_vec())),
    )
    .await
    .map(|_| ())
}

/// Waits until the ReplicaSets' sizes, oldest revision first, are `want`.
async fn wait_sizes(ctx: &TestContext, want: &[i32]) -> anyhow::Result<()> {
    let what = format!("sized {want:?} by revision");
    wait_replica_sets(ctx, &what, |rss| sizes(rss) == want).await
}

/// Roll `web` from `nginx:1.0` to `nginx:1.1` with `kubectl set image`, watching every state.
async fn roll(
    ctx: &TestContext,
    replicas: i32,
    surge: &str,
    unavailable: &str,
) -> anyhow::Result<RolloutReport> {
    let d = create(ctx, &web(replicas, surge, unavailable)?).await?;
    wait_complete(ctx, "web").await?;
    let promised = Invariants::of_deployment(&d);
    let watch = RolloutWatch::start(ctx, SELECTOR, Watched::Deployment("web".into())).await?;
    set_image(ctx, "nginx:1.1").await?;
    let done = wait_complete(ctx, "web").await?;
    let report = watch.finish().await?;
    ensure!(image_of(&done).as_deref() == Some("nginx:1.1"));
    ensure!(
        report.max_pods <= (promised.replicas + promised.max_surge) as usize,
        "{report:?} against {promised:?}"
    );
    ensure!(
        report.min_available.unwrap_or(0)
            >= (promised.replicas - promised.max_unavailable) as usize,
        "{report:?} against {promised:?}"
    );
    let rss = replica_sets(ctx).await?;
    ensure!(rss.len() == 2, "{} ReplicaSets", rss.len());
    ensure!(
        rss[0].0 == 1 && rss[0].1.spec.replicas == Some(0),
        "the old ReplicaSet is scaled to 0"
    );
    ensure!(
        rss[1].0 == 2 && rss[1].1.spec.replicas == Some(replicas),
        "the new ReplicaSet holds every replica"
    );
    let hash = rss[1].1.labels().get("pod-template-hash").cloned();
    let pods = live_pods(ctx, SELECTOR).await?;
    ensure!(pods.len() == replicas as usize);
    for p in &pods {
        ensure!(
            p.labels().get("pod-template-hash") == hash.as_ref(),
            "{} is not of the new template",
            p.name_any()
        );
    }
    Ok(report)
}

macro_rules! rolling_update_cases {
    ($($name:ident: $replicas:expr, $surge:expr, $unavailable:expr;)*) => {$(
        /// A rolling update with these bounds, checked on every observed state.
        pub async fn $name(ctx: TestContext) -> anyhow::Result<()> {
            roll(&ctx, $replicas, $surge, $unavailable).await.map(|_| ())
        }
    )*};
}

rolling_update_cases! {
    rolling_update_with_the_default_25_percent_bounds: 8, "25%", "25%";
    rolling_update_surging_one_with_none_unavailable: 4, "1", "0";
    rolling_update_with_one_unavailable_and_no_surge: 4, "0", "1";
    rolling_update_surging_two_with_two_unavailable: 6, "2", "2";
    rolling_update_surging_half_with_none_unavailable: 6, "50%", "0";
    rolling_update_with_half_unavailable_and_no_surge: 6, "0", "50%";
    rolling_update_surging_all_at_once: 5, "100%", "0";
    rolling_update_with_percentages_rounding_to_zero_still_progresses: 3, "10%", "10%";
}

/// Upstream's RecreateDeployment: every old pod is gone before a new one exists.
pub async fn recreate_deletes_every_old_pod_before_creating_new_ones(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut d = web(3, "0", "1")?;
    d.spec.strategy = Some(serde_json::from_value(json!({"type": "Recreate"}))?);
    create(&ctx, &d).await?;
    wait_complete(&ctx, "web").await?;
    let watch = RolloutWatch::start(&ctx, SELECTOR, Watched::Deployment("web".into())).await?;
    set_image(&ctx, "nginx:1.1").await?;
    wait_complete(&ctx, "web").await?;
    watch.finish().await?;
    Ok(())
}

/// `kubectl rollout undo` goes back to the previous template as a new revision, and
/// `rollout history` lists the revisions.
pub async fn rollout_undo_returns_to_the_previous_template(ctx: TestContext) -> anyhow::Result<()> {
    create(&ctx, &web(3, "1", "0")?).await?;
    wait_complete(&ctx, "web").await?;
    set_image(&ctx, "nginx:1.1").await?;
    wait_complete(&ctx, "web").await?;
    let history = kubectl_ns(&ctx, &["rollout", "history", "deployment/web"]).await?;
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    ensure!(
        revisions == ["1", "2"],
        "rollout history printed {history:?}"
    );
    let watch = RolloutWatch::start(&ctx, SELECTOR, Watched::Deployment("web".into())).await?;
    let out = kubectl_ns(&ctx, &["rollout", "undo", "deployment/web"]).await?;
    ensure!(out.contains("rolled back"), "rollout undo printed {out:?}");
    let d = wait_complete(&ctx, "web").await?;
    watch.finish().await?;
    ensure!(
        image_of(&d).as_deref() == Some("nginx:1.0"),
        "image after undo: {:?}",
        image_of(&d)
    );
    ensure!(
        d.annotations().get(REVISION).map(String::as_str) == Some("3"),
        "revision {:?}",
        d.annotations().get(REVISION)
    );
    let rss = replica_sets(&ctx).await?;
    ensure!(
        rss.len() == 2,
        "undo reuses the first ReplicaSet: {} ReplicaSets",
        rss.len()
    );
    ensure!(
        rss[1].0 == 3 && rss[1].1.spec.replicas == Some(3),
        "the first ReplicaSet is revision 3 and scaled up"
    );
    Ok(())
}

/// `kubectl rollout undo --to-revision` restores that revision's template.
pub async fn rollout_undo_to_a_revision_restores_its_template(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(&ctx, &web(2, "1", "0")?).await?;
    wait_complete(&ctx, "web").await?;
    for image in ["nginx:1.1", "nginx:1.2"] {
        set_image(&ctx, image).await?;
        wait_complete(&ctx, "web").await?;
    }
    kubectl_ns(
        &ctx,
        &["rollout", "undo", "deployment/web", "--to-revision=1"],
    )
    .await?;
    let d = wait_complete(&ctx, "web").await?;
    ensure!(
        image_of(&d).as_deref() == Some("nginx:1.0"),
        "image {:?}",
        image_of(&d)
    );
    let shown = kubectl_ns(
        &ctx,
        &["rollout", "history", "deployment/web", "--revision=4"],
    )
    .await?;
    ensure!(shown.contains("nginx:1.0"), "revision 4 shows {shown:?}");
    Ok(())
}

/// A paused Deployment takes template changes without rolling out; resumed, it rolls out once.
pub async fn a_paused_deployment_rolls_out_only_when_resumed(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(&ctx, &web(3, "1", "0")?).await?;
    wait_complete(&ctx, "web").await?;
    kubectl_ns(&ctx, &["rollout", "pause", "deployment/web"]).await?;
    set_image(&ctx, "nginx:1.1").await?;
    kubectl_ns(&ctx, &["set", "env", "deployment/web", "MODE=paused"]).await?;
    let d = wait_object(
        &ctx,
        &ns_api(&ctx),
        "web",
        "to observe the paused changes",
        |d: &Deployment| {
            d.status
                .as_ref()
                .is_some_and(|s| s.observed_generation >= d.metadata.generation)
                && condition(d, "Progressing")
                    .is_some_and(|c| c.reason.as_deref() == Some("DeploymentPaused"))
        },
    )
    .await?;
    ensure!(
        replica_sets(&ctx).await?.len() == 1,
        "no new ReplicaSet while paused: {:?}",
        d.status
    );
    let watch = RolloutWatch::start(&ctx, SELECTOR, Watched::Deployment("web".into())).await?;
    kubectl_ns(&ctx, &["rollout", "resume", "deployment/web"]).await?;
    wait_complete(&ctx, "web").await?;
    watch.finish().await?;
    let rss = replica_sets(&ctx).await?;
    ensure!(
        rss.len() == 2,
        "both changes in one rollout: {} ReplicaSets",
        rss.len()
    );
    Ok(())
}

/// Upstream's proportional scaling: scaled mid-rollout, the extra replicas are shared between
/// the old and new ReplicaSets in proportion to their sizes.
pub async fn scaling_mid_rollout_shares_replicas_proportionally(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(&ctx, &web(10, "3", "2")?).await?;
    wait_complete(&ctx, "web").await?;
    // A new template whose pods never pull: the rollout stops with both ReplicaSets in use.
    set_image(&ctx, "nginx:doesnotexist").await?;
    wait_sizes(&ctx, &[8, 5]).await?;
    kubectl_ns(&ctx, &["scale", "deployment/web", "--replicas=30"]).await?;
    // Upstream's case: 13 pods + 20 new; 8/13 of 20 → +12 old (rounded), +8 new; 33 in all.
    wait_sizes(&ctx, &[20, 13]).await
}

/// Upstream's rollover: a template change in the middle of a rollout scales the half-rolled
/// ReplicaSet down and rolls to the newest template.
pub async fn a_template_change_mid_rollout_rolls_over_to_the_newest(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut d = web(4, "1", "0")?;
    d.spec.min_ready_seconds = Some(1);
    create(&ctx, &d).await?;
    wait_complete(&ctx, "web").await?;
    let watch = RolloutWatch::start(&ctx, SELECTOR, Watched::Deployment("web".into())).await?;
    set_image(&ctx, "nginx:doesnotexist").await?;
    wait_object(
        &ctx,
        &ns_api(&ctx),
        "web",
        "to start the rollout",
        |d: &Deployment| {
            d.status
                .as_ref()
                .is_some_and(|s| s.updated_replicas.unwrap_or(0) >= 1)
        },
    )
    .await?;
    set_image(&ctx, "nginx:1.2").await?;
    let done = wait_complete(&ctx, "web").await?;
    watch.finish().await?;
    ensure!(image_of(&done).as_deref() == Some("nginx:1.2"));
    wait_sizes(&ctx, &[0, 0, 4]).await
}

/// A rollout whose image cannot be pulled reaches ProgressDeadlineExceeded, `kubectl rollout
/// status` says so, and `kubectl rollout undo` recovers.
pub async fn a_rollout_stuck_on_a_bad_image_exceeds_its_deadline_and_undo_recovers(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut d = web(3, "1", "0")?;
    d.spec.progress_deadline_seconds = Some(2);
    create(&ctx, &d).await?;
    wait_complete(&ctx, "web").await?;
    let watch = RolloutWatch::start(&ctx, SELECTOR, Watched::Deployment("web".into())).await?;
    set_image(&ctx, "nginx:doesnotexist").await?;
    let stuck = wait_object(
        &ctx,
        &ns_api(&ctx),
        "web",
        "to exceed its progress deadline",
        |d: &Deployment| {
            condition(d, "Progressing").is_some_and(|c| {
                c.status.as_deref() == Some("False")
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
        },
    )
    .await?;
    ensure!(
        condition(&stuck, "Available").is_some_and(|c| c.status.as_deref() == Some("True")),
        "the old pods keep it available: {:?}",
        stuck.status
    );
    let status = kubectl(
        &ctx,
        &[
            "-n",
            &ctx.namespace,
            "rollout",
            "status",
            "deployment/web",
            "--timeout=20s",
        ],
    )
    .await?;
    ensure!(
        !status.success,
        "rollout status of a stuck rollout succeeded"
    );
    ensure!(
        status.stderr.contains("exceeded its progress deadline"),
        "rollout status said {:?}",
        status.stderr
    );
    kubectl_ns(&ctx, &["rollout", "undo", "deployment/web"]).await?;
    let d = wait_complete(&ctx, "web").await?;
    watch.finish().await?;
    ensure!(image_of(&d).as_deref() == Some("nginx:1.0"));
    ensure!(
        condition(&d, "Progressing").is_some_and(|c| c.status.as_deref() == Some("True")),
        "Progressing after undo: {:?}",
        condition(&d, "Progressing")
    );
    Ok(())
}

/// With `minReadySeconds`, new pods count as available only after that long ready, and the
/// rollout waits for them: never fewer than replicas − maxUnavailable available.
pub async fn min_ready_seconds_gates_a_rollout_on_availability(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut d = web(3, "1", "0")?;
    d.spec.min_ready_seconds = Some(1);
    create(&ctx, &d).await?;
    wait_complete(&ctx, "web").await?;
    let watch = RolloutWatch::start(&ctx, SELECTOR, Watched::Deployment("web".into())).await?;
    set_image(&ctx, "nginx:1.1").await?;
    let out = kubectl_ns(
        &ctx,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    )
    .await?;
    ensure!(
        out.contains("successfully rolled out"),
        "rollout status printed {out:?}"
    );
    let report = watch.finish().await?;
    ensure!(report.min_available == Some(3), "{report:?}");
    Ok(())
}

/// Upstream's "should delete old replica sets": beyond `revisionHistoryLimit`, old ReplicaSets
/// scaled to zero are deleted, oldest first.
pub async fn old_replica_sets_beyond_the_history_limit_are_deleted(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let mut d = web(1, "1", "0")?;
    d.spec.revision_history_limit = Some(1);
    create(&ctx, &d).await?;
    wait_complete(&ctx, "web").await?;
    for image in ["nginx:1.1", "nginx:1.2", "nginx:1.3"] {
        set_image(&ctx, image).await?;
        wait_complete(&ctx, "web").await?;
    }
    wait_replica_sets(&ctx, "to keep revisions [3, 4]", |rss| {
        rss.iter().map(|(r, _)| *r).collect::<Vec<_>>() == [3, 4]
    })
    .await
}

/// Upstream's scale subresource case for Deployments, and `kubectl scale`.
pub async fn kubectl_scale_resizes_a_deployment_through_its_scale_subresource(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(&ctx, &web(2, "25%", "25%")?).await?;
    wait_complete(&ctx, "web").await?;
    let api = ns_api::<Deployment>(&ctx);
    let scale = api.get_scale("web").await?;
    ensure!(scale.spec.and_then(|s| s.replicas) == Some(2));
    kubectl_ns(&ctx, &["scale", "deployment/web", "--replicas=4"]).await?;
    let d = wait_complete(&ctx, "web").await?;
    ensure!(d.spec.replicas == Some(4));
    api.patch_scale(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await?;
    wait_object(
        &ctx,
        &ns_api(&ctx),
        "web",
        "to scale to 1",
        |d: &Deployment| d.spec.replicas == Some(1) && complete(d),
    )
    .await?;
    ensure!(live_pods(&ctx, SELECTOR).await?.len() == 1);
    Ok(())
}

/// Takes changes from `events` until one satisfies `test`, for at most the wait budget; returns
/// it. `step` names what was awaited in the failure message, which lists what was seen.
async fn await_change(
    ctx: &TestContext,
    events: &mut Events<Deployment>,
    step: &str,
    test: impl Fn(&Change<Deployment>) -> bool,
) -> anyhow::Result<Deployment> {
    let change = change_where(events, &format!("showing {step}"), wait_budget(ctx), test).await?;
    Ok(change.object)
}

/// `ready/updated/available/unavailable` replicas and the template's image, for failure messages.
fn status_summary(d: &Deployment) -> String {
    let s = d.status.clone().unwrap_or_default();
    format!(
        "ready {:?} updated {:?} available {:?} unavailable {:?} image {:?} labels {:?}",
        s.ready_replicas,
        s.updated_replicas,
        s.available_replicas,
        s.unavailable_replicas,
        image_of(d),
        d.labels()
    )
}

/// Whether `d`'s status counts `n` ready and updated replicas and none unavailable (upstream's
/// "waiting for Replicas to scale": zero counts are omitted, hence `unwrap_or(0)`).
fn scaled_to(d: &Deployment, n: i32) -> bool {
    let s = d.status.clone().unwrap_or_default();
    s.ready_replicas.unwrap_or(0) == n
        && s.updated_replicas.unwrap_or(0) == n
        && s.unavailable_replicas.unwrap_or(0) == 0
}

fn termination_grace(d: &Deployment) -> Option<i64> {
    d.spec
        .template
        .spec
        .as_ref()?
        .termination_grace_period_seconds
}

/// Upstream's "should run the lifecycle of a Deployment": created, ready, patched (labels,
/// replicas and template at once), listed across namespaces, replaced without a
/// resourceVersion, read through `/status`, its status patched (labels in the patch ignored)
/// and restored by the controller, and deleted as a collection — every step seen on one watch,
/// in order.
pub async fn a_deployment_is_created_patched_scaled_replaced_and_deleted_as_a_collection(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const NAME: &str = "test-deployment";
    const STATIC: &str = "test-deployment-static";
    const SELECTOR: &str = "test-deployment-static=true";
    const INITIAL_IMAGE: &str = "registry.k8s.io/e2e-test-images/agnhost:2.53";
    const PATCH_IMAGE: &str = "registry.k8s.io/pause:3.10";
    const UPDATE_IMAGE: &str = "registry.k8s.io/e2e-test-images/httpd:2.4.38-4";
    let api = ns_api::<Deployment>(&ctx);
    let everywhere = Api::<Deployment>::all(ctx.client.clone());
    let listed = everywhere
        .list(&ListParams::default().labels(SELECTOR))
        .await?;
    let rv = listed.metadata.resource_version.unwrap_or_default();
    let mut events = open_watch(&api, &WatchParams::default().labels(SELECTOR), &rv).await?;
    let ours = |c: &Change<Deployment>| {
        c.object.name_any() == NAME
            && c.object.labels().get(STATIC).map(String::as_str) == Some("true")
    };

    let mut d = deployment(NAME, 2, &[(STATIC, "true")]);
    let template = d.spec.template.spec.as_mut().context("template spec")?;
    template.termination_grace_period_seconds = Some(1);
    template.containers[0].name = NAME.into();
    template.containers[0].image = Some(INITIAL_IMAGE.into());
    d.spec.strategy = Some(serde_json::from_value(json!({"type": "RollingUpdate"}))?);
    api.create(&PostParams::default(), &d).await?;
    await_change(&ctx, &mut events, "the Deployment ADDED", |c| {
        c.kind == "ADDED" && ours(c)
    })
    .await?;
    await_change(&ctx, &mut events, "2 replicas ready", |c| {
        ours(c) && c.object.status.as_ref().and_then(|s| s.ready_replicas) == Some(2)
    })
    .await?;

    let patched = api
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Strategic(json!({
                "metadata": {"labels": {"test-deployment": "patched"}},
                "spec": {"replicas": 1, "template": {"spec": {
                    "terminationGracePeriodSeconds": 2,
                    "containers": [{"name": NAME, "image": PATCH_IMAGE}],
                }}},
            })),
        )
        .await?;
    ensure!(
        patched.labels().get(STATIC).map(String::as_str) == Some("true"),
        "a strategic merge patch of one label dropped the others: {:?}",
        patched.labels()
    );
    await_change(&ctx, &mut events, "the patch MODIFIED", |c| {
        c.kind == "MODIFIED"
            && ours(c)
            && c.object.labels().get("test-deployment").map(String::as_str) == Some("patched")
            && c.object.spec.replicas == Some(1)
    })
    .await?;
    await_change(&ctx, &mut events, "1 patched replica ready", |c| {
        ours(c)
            && scaled_to(&c.object, 1)
            && image_of(&c.object).as_deref() == Some(PATCH_IMAGE)
            && termination_grace(&c.object) == Some(2)
    })
    .await?;

    let found = everywhere
        .list(&ListParams::default().labels(SELECTOR))
        .await?;
    ensure!(
        found.items.iter().any(|d| d.name_any() == NAME
            && d.namespace().as_deref() == Some(ctx.namespace.as_str())
            && d.labels().get(STATIC).map(String::as_str) == Some("true")),
        "the Deployment is not among {:?}",
        found.items.iter().map(|d| d.name_any()).collect::<Vec<_>>()
    );

    // Upstream replaces the object it created, with no resourceVersion: an unconditional
    // update, which Deployments allow.
    let mut update = d.clone();
    update
        .labels_mut()
        .insert("test-deployment".into(), "updated".into());
    set_template_image(&mut update, UPDATE_IMAGE);
    update.spec.replicas = Some(2);
    ensure!(update.metadata.resource_version.is_none());
    api.replace(NAME, &PostParams::default(), &update).await?;
    await_change(&ctx, &mut events, "the update MODIFIED", |c| {
        c.kind == "MODIFIED"
            && ours(c)
            && c.object.labels().get("test-deployment").map(String::as_str) == Some("updated")
    })
    .await?;
    let read = api.get_status(NAME).await?;
    ensure!(
        image_of(&read).as_deref() == Some(UPDATE_IMAGE)
            && read.labels().get("test-deployment").map(String::as_str) == Some("updated"),
        "/status read image {:?} labels {:?}",
        image_of(&read),
        read.labels()
    );
    await_change(&ctx, &mut events, "2 updated replicas ready", |c| {
        ours(c) && scaled_to(&c.object, 2)
    })
    .await?;

    let status_patched = api
        .patch_status(
            NAME,
            &PatchParams::default(),
            &Patch::Strategic(json!({
                "metadata": {"labels": {"test-deployment": "patched-status"}},
                "status": {"readyReplicas": 0, "availableReplicas": 0},
            })),
        )
        .await?;
    let zeroed = |d: &Deployment| {
        let s = d.status.clone().unwrap_or_default();
        s.ready_replicas.unwrap_or(0) == 0 && s.available_replicas.unwrap_or(0) == 0
    };
    ensure!(
        zeroed(&status_patched),
        "the status patch was not applied: {}",
        status_summary(&status_patched)
    );
    ensure!(
        status_patched
            .labels()
            .get("test-deployment")
            .map(String::as_str)
            == Some("updated"),
        "a /status patch changed labels: {:?}",
        status_patched.labels()
    );
    await_change(&ctx, &mut events, "the status patch MODIFIED", |c| {
        c.kind == "MODIFIED" && ours(c) && zeroed(&c.object)
    })
    .await?;
    let read = api.get_status(NAME).await?;
    ensure!(
        image_of(&read).as_deref() == Some(UPDATE_IMAGE)
            && read.labels().get("test-deployment").map(String::as_str) == Some("updated"),
        "/status read image {:?} labels {:?} after the status patch",
        image_of(&read),
        read.labels()
    );
    await_change(&ctx, &mut events, "the controller restore 2 ready", |c| {
        ours(c) && scaled_to(&c.object, 2) && image_of(&c.object).as_deref() == Some(UPDATE_IMAGE)
    })
    .await?;

    api.delete_collection(
        &DeleteParams {
            grace_period_seconds: Some(1),
            ..DeleteParams::default()
        },
        &ListParams::default().labels(SELECTOR),
    )
    .await?;
    let deleted = await_change(&ctx, &mut events, "the Deployment DELETED", |c| {
        c.kind == "DELETED" && ours(c)
    })
    .await?;
    ensure!(deleted.name_any() == NAME);
    Ok(())
}

fn has_condition(d: &Deployment, type_: &str) -> bool {
    condition(d, type_).is_some()
}

/// Upstream's "should validate Deployment Status endpoints": `/status` reads the controller's
/// conditions; a condition added by a status update and one set by a status merge patch are
/// each seen on the watch.
pub async fn the_status_subresource_reads_updates_and_patches_deployment_status(
    ctx: TestContext,
) -> anyhow::Result<()> {
    const NAME: &str = "test-deployment-status";
    const SELECTOR: &str = "e2e=testing";
    const IMAGE: &str = "registry.k8s.io/e2e-test-images/httpd:2.4.38-4";
    let api = ns_api::<Deployment>(&ctx);
    let listed = Api::<Deployment>::all(ctx.client.clone())
        .list(&ListParams::default().labels(SELECTOR))
        .await?;
    let rv = listed.metadata.resource_version.unwrap_or_default();
    let mut events = open_watch(&api, &WatchParams::default().labels(SELECTOR), &rv).await?;

    let mut d = deployment(NAME, 1, &[("name", "httpd"), ("e2e", "testing")]);
    set_template_image(&mut d, IMAGE);
    if let Some(spec) = d.spec.template.spec.as_mut() {
        spec.termination_grace_period_seconds = Some(0);
    }
    create(&ctx, &d).await?;
    let done = wait_object(
        &ctx,
        &api,
        NAME,
        "to reach revision 1 and complete",
        |d: &Deployment| {
            d.annotations().get(REVISION).map(String::as_str) == Some("1")
                && image_of(d).as_deref() == Some(IMAGE)
                && complete(d)
        },
    )
    .await?;

    let read = api.get_status(NAME).await?;
    ensure!(
        read.metadata.uid == done.metadata.uid
            && has_condition(&read, "Available")
            && has_condition(&read, "Progressing"),
        "/status of a complete Deployment: {:?}",
        read.status
    );

    let mut attempts = 0;
    let updated = loop {
        let mut current = api.get(NAME).await?;
        let status = current.status.get_or_insert_with(Default::default);
        status
            .conditions
            .get_or_insert_with(Vec::new)
            .push(DeploymentCondition {
                type_: Some("StatusUpdate".into()),
                status: Some("True".into()),
                reason: Some("E2E".into()),
                message: Some("Set from e2e test".into()),
                ..DeploymentCondition::default()
            });
        match api
            .replace_status(NAME, &PostParams::default(), &current)
            .await
        {
            Ok(d) => break d,
            // The controller wrote in between: read again, as upstream's RetryOnConflict.
            Err(kube::Error::Api(e)) if e.code == 409 && attempts < 5 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    };
    ensure!(
        has_condition(&updated, "StatusUpdate"),
        "the status update answered {:?}",
        updated.status
    );
    let seen = await_change(&ctx, &mut events, "the StatusUpdate condition", |c| {
        c.object.name_any() == NAME
            && condition(&c.object, "StatusUpdate").is_some_and(|cond| {
                cond.reason.as_deref() == Some("E2E")
                    && cond.message.as_deref() == Some("Set from e2e test")
            })
    })
    .await?;
    ensure!(seen.labels().get("e2e").map(String::as_str) == Some("testing"));

    let patched = api
        .patch_status(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [
                {"type": "StatusPatched", "status": "True"}]}})),
        )
        .await?;
    ensure!(
        has_condition(&patched, "StatusPatched"),
        "the status patch answered {:?}",
        patched.status
    );
    await_change(&ctx, &mut events, "the StatusPatched condition", |c| {
        c.object.name_any() == NAME && has_condition(&c.object, "StatusPatched")
    })
    .await?;
    Ok(())
}
