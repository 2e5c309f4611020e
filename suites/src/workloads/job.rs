//! Jobs: pods run to `completions` successes with at most `parallelism` at once; failures past
//! `backoffLimit`, a matching pod failure policy or `activeDeadlineSeconds` fail the Job; Indexed
//! Jobs give each pod its index; `suspend` holds pods back; `ttlSecondsAfterFinished` deletes a
//! finished Job; orphans are adopted and relabelled pods released; the status subresource is
//! patched, updated and read; a pod failure policy ignores evictions; pods failing once and
//! restarted in place still complete the Job.
//!
//! How long a hollow pod runs and how it exits come from the behaviour annotations on the
//! template (`kubeproof.io/exit-after`, `kubeproof.io/exit-code`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{Context, ensure};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use serde_json::json;

use crate::TestContext;
use crate::support::ns_api;
use crate::support::pods::phase;
use crate::support::workloads::{
    controller_uid, job_condition, live_pods, replace_status_with_retries, wait_gone, wait_job,
    wait_live_pods, wait_object,
};

/// The label the API server puts on every pod of Job `name`.
fn selector(name: &str) -> String {
    format!("batch.kubernetes.io/job-name={name}")
}

/// Job `name` with `spec` (merged over a one-container template whose restartPolicy is Never)
/// and the template annotated with the behaviour `knobs` (`("exit-after", "300ms")`).
fn job(name: &str, spec: serde_json::Value, knobs: &[(&str, &str)]) -> anyhow::Result<Job> {
    let mut template = crate::support::pod_template(&[("app", name)]);
    template
        .metadata
        .get_or_insert_with(Default::default)
        .annotations = Some(
        knobs
            .iter()
            .map(|(k, v)| (format!("kubeproof.io/{k}"), (*v).to_owned()))
            .collect(),
    );
    let pod_spec = template.spec.as_mut().context("template spec")?;
    pod_spec.restart_policy = Some("Never".into());
    pod_spec.termination_grace_period_seconds = Some(1);
    let mut spec_value = json!({"template": template});
    if let (Some(base), Some(extra)) = (spec_value.as_object_mut(), spec.as_object()) {
        base.extend(extra.clone());
    }
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": spec_value,
    }))?)
}

async fn create(ctx: &TestContext, job: &Job) -> anyhow::Result<Job> {
    ns_api::<Job>(ctx)
        .create(&PostParams::default(), job)
        .await
        .context("creating the Job")
}

/// Waits until the Job has condition `type_` True (and, if given, with `reason`).
async fn wait_condition(
    ctx: &TestContext,
    name: &str,
    type_: &'static str,
    reason: Option<&'static str>,
) -> anyhow::Result<Job> {
    let what = format!("to have condition {type_} ({reason:?})");
    wait_job(ctx, name, &what, move |j| {
        job_condition(j, type_).is_some_and(|c| reason.is_none() || c.reason.as_deref() == reason)
    })
    .await
}

fn counts(job: &Job) -> (i32, i32, i32) {
    let s = job.status.clone().unwrap_or_default();
    (
        s.active.unwrap_or(0),
        s.succeeded.unwrap_or(0),
        s.failed.unwrap_or(0),
    )
}

/// Upstream's "active pods" case: a Job runs exactly `parallelism` pods at once while work
/// remains, and deleting it (background propagation) takes its pods along.
pub async fn a_job_keeps_parallelism_pods_active_and_deleting_it_removes_them(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let created = create(
        &ctx,
        &job("long", json!({"parallelism": 2, "completions": 4}), &[])?,
    )
    .await?;
    let sel = selector("long");
    let uid = created.uid();
    let pods = wait_live_pods(&ctx, &sel, 2, "running, owned by the Job", move |p| {
        phase(p) == Some("Running") && controller_uid(p) == uid
    })
    .await?;
    wait_job(&ctx, "long", "to count two active pods", |j| {
        counts(j).0 == 2
    })
    .await?;
    for p in &pods {
        ensure!(
            p.finalizers()
                .iter()
                .any(|f| f == "batch.kubernetes.io/job-tracking"),
            "{} lacks the job-tracking finalizer",
            p.name_any()
        );
    }
    ns_api::<Job>(&ctx)
        .delete(
            "long",
            &DeleteParams {
                propagation_policy: Some(PropagationPolicy::Background),
                ..DeleteParams::default()
            },
        )
        .await?;
    wait_gone(&ctx, &ns_api::<Job>(&ctx), "long").await?;
    for p in &pods {
        wait_gone(&ctx, &ns_api::<Pod>(&ctx), &p.name_any()).await?;
    }
    Ok(())
}

/// Four completions two at a time: the Job is Complete with four successes, its start and
/// completion times set, and never more than two pods active at once in anything it reported.
pub async fn a_job_runs_to_completion_never_exceeding_its_parallelism(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(
        &ctx,
        &job(
            "work",
            json!({"parallelism": 2, "completions": 4}),
            &[("exit-after", "300ms"), ("exit-code", "0")],
        )?,
    )
    .await?;
    let most = Arc::new(AtomicI32::new(0));
    let seen = most.clone();
    let done = wait_job(&ctx, "work", "to be Complete", move |j| {
        seen.fetch_max(counts(j).0, Ordering::Relaxed);
        job_condition(j, "Complete").is_some()
    })
    .await?;
    ensure!(
        counts(&done) == (0, 4, 0),
        "(active, succeeded, failed) = {:?}",
        counts(&done)
    );
    ensure!(
        most.load(Ordering::Relaxed) <= 2,
        "{} pods active at once",
        most.load(Ordering::Relaxed)
    );
    let status = done.status.clone().unwrap_or_default();
    ensure!(
        status.start_time.is_some() && status.completion_time.is_some(),
        "start and completion times: {status:?}"
    );
    let pods = ns_api::<Pod>(&ctx)
        .list(&kube::api::ListParams::default().labels(&selector("work")))
        .await?
        .items;
    ensure!(
        pods.len() == 4 && pods.iter().all(|p| phase(p) == Some("Succeeded")),
        "pods: {:?}",
        pods.iter()
            .map(|p| (p.name_any(), phase(p).map(str::to_owned)))
            .collect::<Vec<_>>()
    );
    ensure!(
        pods.iter().all(|p| p.finalizers().is_empty()),
        "a counted pod keeps the tracking finalizer"
    );
    Ok(())
}

/// Pods that keep failing (restartPolicy Never) fail the Job once failures exceed
/// `backoffLimit`: condition Failed with reason BackoffLimitExceeded, after `backoffLimit + 1`
/// failed pods (the replacement waits out the controller's 10 s backoff).
pub async fn a_job_fails_once_its_pods_exceed_the_backoff_limit(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(
        &ctx,
        &job(
            "failing",
            json!({"backoffLimit": 1}),
            &[("exit-after", "200ms"), ("exit-code", "1")],
        )?,
    )
    .await?;
    let failed = wait_condition(&ctx, "failing", "Failed", Some("BackoffLimitExceeded")).await?;
    ensure!(
        counts(&failed) == (0, 0, 2),
        "(active, succeeded, failed) = {:?}",
        counts(&failed)
    );
    ensure!(
        job_condition(&failed, "Complete").is_none(),
        "a failed Job is not Complete"
    );
    Ok(())
}

/// Upstream's Indexed case: each pod gets its own completion index — in the
/// `batch.kubernetes.io/job-completion-index` annotation, the `JOB_COMPLETION_INDEX` variable and
/// the hostname `<job>-<index>` — and the Job completes with every index in `completedIndexes`.
pub async fn an_indexed_job_gives_each_pod_its_own_completion_index(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(
        &ctx,
        &job(
            "indexed",
            json!({"completionMode": "Indexed", "completions": 3, "parallelism": 3}),
            &[("exit-after", "300ms"), ("exit-code", "0")],
        )?,
    )
    .await?;
    let done = wait_condition(&ctx, "indexed", "Complete", None).await?;
    let status = done.status.clone().unwrap_or_default();
    ensure!(
        status.completed_indexes.as_deref() == Some("0-2"),
        "completedIndexes {:?}",
        status.completed_indexes
    );
    let pods = ns_api::<Pod>(&ctx)
        .list(&kube::api::ListParams::default().labels(&selector("indexed")))
        .await?
        .items;
    let mut indexes = Vec::new();
    for p in &pods {
        let index = p
            .annotations()
            .get("batch.kubernetes.io/job-completion-index")
            .with_context(|| format!("{} has no completion index", p.name_any()))?
            .clone();
        let spec = p.spec.as_ref().context("spec")?;
        ensure!(
            spec.hostname.as_deref() == Some(format!("indexed-{index}").as_str()),
            "{} hostname {:?}",
            p.name_any(),
            spec.hostname
        );
        let env = spec.containers[0].env.clone().unwrap_or_default();
        ensure!(
            env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX"),
            "{} has no JOB_COMPLETION_INDEX",
            p.name_any()
        );
        indexes.push(index);
    }
    indexes.sort();
    ensure!(indexes == ["0", "1", "2"], "indexes {indexes:?}");
    Ok(())
}

/// Upstream's pod failure policy case: a FailJob rule on exit code 42 fails the Job at the first
/// such failure, with reason PodFailurePolicy, however high `backoffLimit` is.
pub async fn a_pod_failure_policy_fails_the_job_early_on_an_exit_code(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(
        &ctx,
        &job(
            "policy",
            json!({"backoffLimit": 6, "podFailurePolicy": {"rules": [{
                "action": "FailJob",
                "onExitCodes": {"containerName": "app", "operator": "In", "values": [42]},
            }]}}),
            &[("exit-after", "200ms"), ("exit-code", "42")],
        )?,
    )
    .await?;
    let failed = wait_condition(&ctx, "policy", "Failed", Some("PodFailurePolicy")).await?;
    ensure!(
        counts(&failed).2 == 1,
        "one failure fails the Job; (active, succeeded, failed) = {:?}",
        counts(&failed)
    );
    Ok(())
}

/// A Job still running at `activeDeadlineSeconds` fails with reason DeadlineExceeded and its
/// pods are stopped.
pub async fn a_job_past_its_active_deadline_fails_and_stops_its_pods(
    ctx: TestContext,
) -> anyhow::Result<()> {
    create(
        &ctx,
        &job(
            "slow",
            json!({"activeDeadlineSeconds": 2, "parallelism": 2, "completions": 2}),
            &[],
        )?,
    )
    .await?;
    let failed = wait_condition(&ctx, "slow", "Failed", Some("DeadlineExceeded")).await?;
    ensure!(
        counts(&failed).0 == 0,
        "no pod is active after the deadline: {:?}",
        counts(&failed)
    );
    let running = live_pods(&ctx, &selector("slow"))
        .await?
        .into_iter()
        .filter(|p| phase(p) == Some("Running"))
        .count();
    ensure!(running == 0, "{running} pods still running");
    Ok(())
}

/// Upstream's lifecycle case, for `suspend`: a suspended Job has condition Suspended and no
/// pods; resumed, it runs and completes.
pub async fn a_suspended_job_starts_pods_only_when_resumed(ctx: TestContext) -> anyhow::Result<()> {
    create(
        &ctx,
        &job(
            "held",
            json!({"suspend": true, "completions": 2, "parallelism": 2}),
            &[("exit-after", "300ms"), ("exit-code", "0")],
        )?,
    )
    .await?;
    let held = wait_condition(&ctx, "held", "Suspended", None).await?;
    ensure!(
        held.status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .is_none(),
        "a suspended Job has not started"
    );
    ensure!(
        live_pods(&ctx, &selector("held")).await?.is_empty(),
        "a suspended Job runs no pods"
    );
    ns_api::<Job>(&ctx)
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": false}})),
        )
        .await?;
    let done = wait_condition(&ctx, "held", "Complete", None).await?;
    ensure!(
        counts(&done).1 == 2,
        "(active, succeeded, failed) = {:?}",
        counts(&done)
    );
    let suspended = done
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Suspended"))
        .map(|c| c.status.clone());
    ensure!(
        suspended.as_deref() == Some("False"),
        "the Suspended condition turns False on resume: {suspended:?}"
    );
    Ok(())
}

/// `ttlSecondsAfterFinished: 0`: the TTL-after-finished controller deletes the Job as soon as it
/// finishes, and its pods with it.
pub async fn a_finished_job_is_deleted_after_its_ttl(ctx: TestContext) -> anyhow::Result<()> {
    create(
        &ctx,
        &job(
            "brief",
            json!({"ttlSecondsAfterFinished": 0}),
            &[("exit-after", "200ms"), ("exit-code", "0")],
        )?,
    )
    .await?;
    let sel = selector("brief");
    wait_live_pods(&ctx, &sel, 1, "created", |_| true).await?;
    let pod = live_pods(&ctx, &sel).await?[0].name_any();
    wait_gone(&ctx, &ns_api::<Job>(&ctx), "brief").await?;
    wait_gone(&ctx, &ns_api::<Pod>(&ctx), &pod).await?;
    Ok(())
}

/// Upstream's adoption case: a Job pod whose ownerReference is removed is adopted again (same
/// pod, its tracking finalizer restored by the adoption), and a pod whose labels stop matching is released — losing the tracking finalizer, or
/// it could never be deleted — and replaced.
pub async fn a_job_adopts_matching_orphans_and_releases_relabelled_pods(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let created = create(
        &ctx,
        &job("adopt", json!({"parallelism": 2, "completions": 2}), &[])?,
    )
    .await?;
    let uid = created.uid();
    let sel = selector("adopt");
    let owner = uid.clone();
    let pods = wait_live_pods(&ctx, &sel, 2, "owned by the Job", move |p| {
        controller_uid(p) == owner
    })
    .await?;
    let api = ns_api::<Pod>(&ctx);
    let orphan = pods[0].name_any();
    api.patch(
        &orphan,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"ownerReferences": null}})),
    )
    .await?;
    let owner = uid.clone();
    wait_object(
        &ctx,
        &api,
        &orphan,
        "to be adopted again, with the job-tracking finalizer back",
        move |p: &Pod| {
            controller_uid(p) == owner
                && p.finalizers() == ["batch.kubernetes.io/job-tracking".to_string()]
        },
    )
    .await?;

    let released = pods[1].name_any();
    let mut pod = api.get(&released).await?;
    pod.labels_mut().clear();
    api.replace(&released, &PostParams::default(), &pod).await?;
    wait_object(
        &ctx,
        &api,
        &released,
        "to be released, without the job-tracking finalizer",
        |p: &Pod| controller_uid(p).is_none() && p.finalizers().is_empty(),
    )
    .await?;
    let owner = uid.clone();
    let now = wait_live_pods(
        &ctx,
        &sel,
        2,
        "owned by the Job, the released one replaced",
        move |p| controller_uid(p) == owner,
    )
    .await?;
    ensure!(
        now.iter().any(|p| p.name_any() == orphan),
        "the re-adopted pod {orphan} is still the Job's"
    );
    Ok(())
}

/// Upstream's status case: a merge patch through `/status` sets a custom condition (its
/// `lastTransitionTime` kept to the second) and an annotation; a status update moves that
/// condition's transition time; `GET /status` answers the same Job.
pub async fn the_status_subresource_patches_updates_and_reads_job_status(
    ctx: TestContext,
) -> anyhow::Result<()> {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::{SignedDuration, Timestamp};
    const CUSTOM: &str = "CustomConditionType";
    let created = create(
        &ctx,
        &job("status", json!({"parallelism": 2, "completions": 4}), &[])?,
    )
    .await?;
    wait_live_pods(&ctx, &selector("status"), 2, "running", |p| {
        phase(p) == Some("Running")
    })
    .await?;
    let api = ns_api::<Job>(&ctx);
    let transition = |j: &Job| {
        j.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == CUSTOM))
            .map(|c| c.last_transition_time.clone())
    };

    // RFC 3339 on the wire keeps whole seconds only.
    let first = Time(Timestamp::from_second(Timestamp::now().as_second())?);
    let patched = api
        .patch_status(
            "status",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"annotations": {"patchedstatus": "true"}},
                "status": {"conditions": [
                    {"type": CUSTOM, "status": "True", "lastTransitionTime": first}]},
            })),
        )
        .await?;
    ensure!(
        transition(&patched) == Some(Some(first.clone())),
        "the patched condition's lastTransitionTime: {:?}, want {first:?}",
        transition(&patched)
    );
    ensure!(
        patched
            .annotations()
            .get("patchedstatus")
            .map(String::as_str)
            == Some("true"),
        "the patched annotations: {:?}",
        patched.annotations()
    );

    let second = Time(first.0 + SignedDuration::from_secs(1));
    let moved = second.clone();
    let updated = replace_status_with_retries(&api, "status", move |j| {
        let conditions = j.status.as_mut().and_then(|s| s.conditions.as_mut());
        if let Some(c) = conditions.and_then(|cs| cs.iter_mut().find(|c| c.type_ == CUSTOM)) {
            c.last_transition_time = Some(moved.clone());
        }
    })
    .await?;
    ensure!(
        transition(&updated) == Some(Some(second.clone())),
        "the updated condition's lastTransitionTime: {:?}, want {second:?}",
        transition(&updated)
    );

    let read = api.get_status("status").await?;
    ensure!(
        read.uid() == created.uid(),
        "GET /status answered uid {:?}, the Job has {:?}",
        read.uid(),
        created.uid()
    );
    Ok(())
}

/// Upstream's DisruptionTarget case: an Indexed Job of three whose pod failure policy Ignores
/// failures with condition DisruptionTarget, and a backoffLimit of zero. A running pod is
/// evicted: it is marked DisruptionTarget (reason EvictionByEvictionAPI) and ends Failed, yet
/// its failure is not counted — the Job, which one counted failure would fail, replaces it and
/// completes every index with no failure.
///
/// Upstream evicts all three pods with a backoffLimit of two; three failures at once make the
/// controller wait 40 s (10 s doubled per failure) before replacing them, so one eviction and a
/// limit of zero make the same point within a test's time. Upstream's pods run until evicted
/// and succeed when run again (a marker file on the node); a hollow pod cannot tell a first run
/// from a second, so every pod exits 0 after 50 s of model time (5 s at the embedded target's
/// clock), long after the eviction, and ignores SIGTERM, so the evicted one ends with exit 137
/// as upstream's does.
pub async fn a_pod_failure_policy_ignores_an_eviction_marked_as_a_disruption_target(
    ctx: TestContext,
) -> anyhow::Result<()> {
    use kube::api::{EvictParams, ListParams, WatchParams};

    use crate::support::pods::pod_condition;
    use crate::support::{change_where, open_watch, wait_budget};
    create(
        &ctx,
        &job(
            "evicted",
            json!({"completionMode": "Indexed", "parallelism": 3, "completions": 3,
                   "backoffLimit": 0,
                   "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [
                       {"type": "DisruptionTarget", "status": "True"}]}]}}),
            &[
                ("exit-after", "50s"),
                ("exit-code", "0"),
                ("ignore-sigterm", "true"),
            ],
        )?,
    )
    .await?;
    wait_job(&ctx, "evicted", "to have three ready pods", |j| {
        j.status.as_ref().and_then(|s| s.ready) == Some(3)
    })
    .await?;
    let api = ns_api::<Pod>(&ctx);
    let sel = selector("evicted");
    let listed = api.list(&ListParams::default().labels(&sel)).await?;
    let victim = listed
        .items
        .iter()
        .find(|p| {
            phase(p) == Some("Running")
                && p.annotations()
                    .get("batch.kubernetes.io/job-completion-index")
                    .is_some_and(|i| i == "0")
        })
        .map(|p| p.name_any())
        .context("no running pod for index 0")?;
    let mut events = open_watch(
        &api,
        &WatchParams::default().labels(&sel),
        &listed.metadata.resource_version.unwrap_or_default(),
    )
    .await?;
    api.evict(&victim, &EvictParams::default()).await?;

    // What the evicted pod goes through until it is gone.
    let (mut marked, mut failed) = (false, false);
    loop {
        let change = change_where(
            &mut events,
            "about the evicted pod",
            wait_budget(&ctx),
            |c| c.object.name_any() == victim,
        )
        .await
        .with_context(|| format!("marked {marked}, failed {failed}"))?;
        let pod = &change.object;
        marked |= pod_condition(pod, "DisruptionTarget").is_some_and(|c| {
            c.status == "True" && c.reason.as_deref() == Some("EvictionByEvictionAPI")
        });
        failed |= phase(pod) == Some("Failed");
        if change.kind == "DELETED" {
            break;
        }
    }
    ensure!(
        marked,
        "the evicted pod was never seen with DisruptionTarget=True (EvictionByEvictionAPI)"
    );
    ensure!(failed, "the evicted pod was never seen Failed");

    let done = wait_condition(&ctx, "evicted", "Complete", Some("CompletionsReached")).await?;
    ensure!(
        counts(&done) == (0, 3, 0),
        "the eviction counts as no failure: (active, succeeded, failed) = {:?}",
        counts(&done)
    );
    let completed = done
        .status
        .as_ref()
        .and_then(|s| s.completed_indexes.clone());
    ensure!(
        completed.as_deref() == Some("0-2"),
        "completedIndexes {completed:?}"
    );
    ensure!(
        job_condition(&done, "Failed").is_none(),
        "the Job did not fail"
    );
    Ok(())
}

/// Upstream's local-restart case: a Job of four completions, two at a time, with
/// restartPolicy OnFailure, whose every pod fails once and succeeds when its container is
/// restarted in place: the Job completes with four successes and no failure, each pod having
/// restarted once after its failure. Upstream's container exits 1 on its first run and 0 on the
/// next (a marker file in an emptyDir); a hollow container is told so (`exit-code: 1,0`).
pub async fn a_job_completes_when_its_pods_fail_once_and_restart_locally(
    ctx: TestContext,
) -> anyhow::Result<()> {
    use kube::api::ListParams;

    use crate::support::pods::{container_status, last_terminated};
    let mut fail_once = job(
        "fail-once",
        json!({"parallelism": 2, "completions": 4, "backoffLimit": 6}),
        &[("exit-after", "5s"), ("exit-code", "1,0")],
    )?;
    fail_once
        .spec
        .as_mut()
        .and_then(|s| s.template.spec.as_mut())
        .context("template spec")?
        .restart_policy = Some("OnFailure".into());
    create(&ctx, &fail_once).await?;
    let api = ns_api::<Pod>(&ctx);
    let sel = selector("fail-once");

    let done = wait_condition(&ctx, "fail-once", "Complete", Some("CompletionsReached")).await?;
    ensure!(
        counts(&done) == (0, 4, 0),
        "restarts in place are no failures: (active, succeeded, failed) = {:?}",
        counts(&done)
    );
    let pods = api.list(&ListParams::default().labels(&sel)).await?.items;
    let summary: Vec<_> = pods
        .iter()
        .map(|p| {
            let app = container_status(p, "app");
            (
                p.name_any(),
                phase(p).map(str::to_owned),
                app.map(|c| c.restart_count),
                app.and_then(last_terminated).map(|(code, _)| code),
            )
        })
        .collect();
    ensure!(
        summary.len() == 4
            && summary.iter().all(|(_, phase, restarts, last)| {
                phase.as_deref() == Some("Succeeded") && *restarts == Some(1) && *last == Some(1)
            }),
        "each pod fails once, restarts and succeeds: (pod, phase, restarts, last exit) = \
         {summary:?}"
    );
    Ok(())
}
