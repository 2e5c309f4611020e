//! Watch: resuming from a resourceVersion, restarting without gaps, selectors (an object that
//! leaves a selector is seen as DELETED), field selectors, bookmarks, identical order across
//! concurrent watches, and 410 Gone for a compacted resourceVersion.

use std::time::Duration;

use anyhow::{bail, ensure};
use futures::TryStreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;

use crate::support::{
    changes_until, configmap, labels_of, next_changes, ns_api, open_watch, wait_budget,
};
use crate::{Skipped, TestContext};

fn set_data(value: &str) -> Patch<serde_json::Value> {
    Patch::Merge(json!({"data": {"mutation": value}}))
}

fn set_label(key: &str, value: &str) -> Patch<serde_json::Value> {
    Patch::Merge(json!({"metadata": {"labels": {key: value}}}))
}

/// The resourceVersion a list of `selector` is at: where a watch that misses nothing starts.
async fn list_version(api: &kube::Api<ConfigMap>, selector: &str) -> anyhow::Result<String> {
    Ok(api
        .list(&ListParams::default().labels(selector))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default())
}

/// A watch started at the resourceVersion of an earlier write sees only the writes after it.
pub async fn watch_from_a_resource_version_delivers_only_later_events(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let pp = PostParams::default();
    let pa = PatchParams::default();
    api.create(&pp, &configmap("from-rv", &[("watch", "from-rv")], &[]))
        .await?;
    let first = api.patch("from-rv", &pa, &set_data("1")).await?;
    api.patch("from-rv", &pa, &set_data("2")).await?;
    api.delete("from-rv", &DeleteParams::default()).await?;

    let version = first.resource_version().unwrap_or_default();
    let mut events = open_watch(
        &api,
        &WatchParams::default().labels("watch=from-rv"),
        &version,
    )
    .await?;
    let seen = next_changes(&mut events, 2, wait_budget(&ctx)).await?;
    ensure!(
        labels_of(&seen) == ["MODIFIED from-rv", "DELETED from-rv"],
        "watch from the first update's resourceVersion saw {:?}",
        labels_of(&seen)
    );
    let data = seen[0].object.data.clone().unwrap_or_default();
    ensure!(
        data.get("mutation").map(String::as_str) == Some("2"),
        "the MODIFIED event carries {data:?}, want mutation=2"
    );
    Ok(())
}

/// Closing a watch and restarting it from the last resourceVersion it delivered misses no
/// change made in between.
pub async fn watch_restarted_from_the_last_seen_version_misses_nothing(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let pa = PatchParams::default();
    let selector = "watch=restart";
    let start = list_version(&api, selector).await?;
    let mut events = open_watch(&api, &WatchParams::default().labels(selector), &start).await?;
    api.create(
        &PostParams::default(),
        &configmap("restart", &[("watch", "restart")], &[]),
    )
    .await?;
    api.patch("restart", &pa, &set_data("1")).await?;
    let seen = next_changes(&mut events, 2, wait_budget(&ctx)).await?;
    ensure!(
        labels_of(&seen) == ["ADDED restart", "MODIFIED restart"],
        "first watch saw {:?}",
        labels_of(&seen)
    );
    let last = seen[1].object.resource_version().unwrap_or_default();
    drop(events);

    api.patch("restart", &pa, &set_data("2")).await?;
    api.delete("restart", &DeleteParams::default()).await?;

    let mut events = open_watch(&api, &WatchParams::default().labels(selector), &last).await?;
    let seen = next_changes(&mut events, 2, wait_budget(&ctx)).await?;
    ensure!(
        labels_of(&seen) == ["MODIFIED restart", "DELETED restart"],
        "restarted watch saw {:?}",
        labels_of(&seen)
    );
    let data = seen[0].object.data.clone().unwrap_or_default();
    ensure!(
        data.get("mutation").map(String::as_str) == Some("2"),
        "restarted watch's MODIFIED carries {data:?}"
    );
    Ok(())
}

/// Three watches with different label selectors each see exactly the objects they select.
pub async fn watchers_see_only_objects_matching_their_selectors(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let pa = PatchParams::default();
    let start = list_version(&api, "multi").await?;
    let mut on_a = open_watch(&api, &WatchParams::default().labels("multi=a"), &start).await?;
    let mut on_b = open_watch(&api, &WatchParams::default().labels("multi=b"), &start).await?;
    let mut on_ab = open_watch(
        &api,
        &WatchParams::default().labels("multi in (a,b)"),
        &start,
    )
    .await?;

    for (name, value) in [("multi-a", "a"), ("multi-b", "b")] {
        api.create(
            &PostParams::default(),
            &configmap(name, &[("multi", value)], &[]),
        )
        .await?;
        api.patch(name, &pa, &set_data("1")).await?;
        api.delete(name, &DeleteParams::default()).await?;
    }
    // Sentinels: once a watch shows its sentinel, everything before it has been delivered.
    api.create(
        &PostParams::default(),
        &configmap("sentinel-a", &[("multi", "a")], &[]),
    )
    .await?;
    api.create(
        &PostParams::default(),
        &configmap("sentinel-b", &[("multi", "b")], &[]),
    )
    .await?;

    let budget = wait_budget(&ctx);
    let a = changes_until(&mut on_a, "ADDED", "sentinel-a", budget).await?;
    ensure!(
        labels_of(&a)
            == [
                "ADDED multi-a",
                "MODIFIED multi-a",
                "DELETED multi-a",
                "ADDED sentinel-a"
            ],
        "watch multi=a saw {:?}",
        labels_of(&a)
    );
    let b = changes_until(&mut on_b, "ADDED", "sentinel-b", budget).await?;
    ensure!(
        labels_of(&b)
            == [
                "ADDED multi-b",
                "MODIFIED multi-b",
                "DELETED multi-b",
                "ADDED sentinel-b"
            ],
        "watch multi=b saw {:?}",
        labels_of(&b)
    );
    let ab = changes_until(&mut on_ab, "ADDED", "sentinel-b", budget).await?;
    ensure!(
        labels_of(&ab)
            == [
                "ADDED multi-a",
                "MODIFIED multi-a",
                "DELETED multi-a",
                "ADDED multi-b",
                "MODIFIED multi-b",
                "DELETED multi-b",
                "ADDED sentinel-a",
                "ADDED sentinel-b"
            ],
        "watch multi in (a,b) saw {:?}",
        labels_of(&ab)
    );
    Ok(())
}

/// An object relabelled out of a watch's selector is seen as DELETED, changes while outside are
/// not seen, and relabelling it back is seen as ADDED.
pub async fn object_relabelled_out_of_a_selector_is_seen_as_deleted(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let pa = PatchParams::default();
    let selector = "relabel=in";
    let start = list_version(&api, selector).await?;
    let mut events = open_watch(&api, &WatchParams::default().labels(selector), &start).await?;

    api.create(
        &PostParams::default(),
        &configmap("relabel", &[("relabel", "in")], &[]),
    )
    .await?;
    api.patch("relabel", &pa, &set_data("1")).await?;
    api.patch("relabel", &pa, &set_label("relabel", "out"))
        .await?;
    api.patch("relabel", &pa, &set_data("2")).await?;
    api.patch("relabel", &pa, &set_label("relabel", "in"))
        .await?;
    api.delete("relabel", &DeleteParams::default()).await?;

    let seen = next_changes(&mut events, 5, wait_budget(&ctx)).await?;
    ensure!(
        labels_of(&seen)
            == [
                "ADDED relabel",
                "MODIFIED relabel",
                "DELETED relabel",
                "ADDED relabel",
                "DELETED relabel"
            ],
        "watch relabel=in saw {:?}",
        labels_of(&seen)
    );
    let readded = seen[3].object.data.clone().unwrap_or_default();
    ensure!(
        readded.get("mutation").map(String::as_str) == Some("2"),
        "the re-ADDED object should carry the change made while outside the selector: {readded:?}"
    );
    Ok(())
}

/// A watch with `fieldSelector=metadata.name=…` sees that object only.
pub async fn field_selector_watch_sees_only_the_named_object(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let pa = PatchParams::default();
    let start = api
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut events = open_watch(
        &api,
        &WatchParams::default().fields("metadata.name=fs-target"),
        &start,
    )
    .await?;
    api.create(&PostParams::default(), &configmap("fs-other", &[], &[]))
        .await?;
    api.create(&PostParams::default(), &configmap("fs-target", &[], &[]))
        .await?;
    api.patch("fs-other", &pa, &set_data("1")).await?;
    api.patch("fs-target", &pa, &set_data("1")).await?;
    api.delete("fs-other", &DeleteParams::default()).await?;
    api.delete("fs-target", &DeleteParams::default()).await?;
    let seen = next_changes(&mut events, 3, wait_budget(&ctx)).await?;
    ensure!(
        labels_of(&seen) == ["ADDED fs-target", "MODIFIED fs-target", "DELETED fs-target"],
        "watch metadata.name=fs-target saw {:?}",
        labels_of(&seen)
    );
    Ok(())
}

/// With `allowWatchBookmarks`, an idle watch receives BOOKMARK events carrying a resourceVersion
/// and the watched kind (the embedded target sends them every `bookmark_interval`; upstream at
/// the latest shortly before the watch's timeout).
pub async fn watch_with_bookmarks_receives_a_bookmark(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    api.create(
        &PostParams::default(),
        &configmap("bookmarked", &[("watch", "bookmark")], &[]),
    )
    .await?;
    let start = list_version(&api, "watch=bookmark").await?;
    let params = WatchParams {
        bookmarks: true,
        ..WatchParams::default()
    }
    .labels("watch=bookmark")
    .timeout(10);
    let mut events = Box::pin(api.watch(&params, &start).await?);
    let limit = Duration::from_secs(15);
    let found = tokio::time::timeout(limit, async {
        while let Some(event) = events.try_next().await? {
            match event {
                WatchEvent::Bookmark(bookmark) => return Ok(Some(bookmark)),
                WatchEvent::Error(status) => bail!("the watch sent an ERROR event: {status:?}"),
                _ => {}
            }
        }
        Ok(None)
    })
    .await;
    let bookmark = match found {
        Ok(Ok(Some(bookmark))) => bookmark,
        Ok(Ok(None)) => bail!("the watch (timeoutSeconds=10) ended without a BOOKMARK event"),
        Ok(Err(e)) => return Err(e),
        Err(_) => bail!(
            "no BOOKMARK event within {limit:?} on an idle watch with allowWatchBookmarks=true"
        ),
    };
    ensure!(
        !bookmark.metadata.resource_version.is_empty(),
        "the BOOKMARK carries no resourceVersion"
    );
    ensure!(
        bookmark.types.kind == "ConfigMap" && bookmark.types.api_version == "v1",
        "the BOOKMARK object is {}/{}, want v1/ConfigMap",
        bookmark.types.api_version,
        bookmark.types.kind
    );
    Ok(())
}

/// Concurrent watches from the same resourceVersion deliver the same events in the same order.
pub async fn concurrent_watches_see_events_in_the_same_order(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let selector = "watch=order";
    let start = list_version(&api, selector).await?;
    let mut watches = Vec::new();
    for _ in 0..3 {
        watches.push(open_watch(&api, &WatchParams::default().labels(selector), &start).await?);
    }
    let writer = {
        let api = api.clone();
        tokio::spawn(async move {
            for i in 0..10 {
                let name = format!("order-{}", i % 4);
                let write = match api.get_opt(&name).await? {
                    None => api
                        .create(
                            &PostParams::default(),
                            &configmap(&name, &[("watch", "order")], &[]),
                        )
                        .await
                        .map(|_| ()),
                    Some(_) if i % 3 == 0 => api
                        .delete(&name, &DeleteParams::default())
                        .await
                        .map(|_| ()),
                    Some(_) => api
                        .patch(&name, &PatchParams::default(), &set_data(&i.to_string()))
                        .await
                        .map(|_| ()),
                };
                write?;
            }
            anyhow::Ok(())
        })
    };
    writer.await??;
    let mut orders = Vec::new();
    for events in watches.iter_mut() {
        let seen = next_changes(events, 10, wait_budget(&ctx)).await?;
        let order: Vec<String> = seen
            .iter()
            .map(|c| {
                format!(
                    "{} @{}",
                    c.label(),
                    c.object.resource_version().unwrap_or_default()
                )
            })
            .collect();
        orders.push(order);
    }
    ensure!(
        orders[0] == orders[1] && orders[1] == orders[2],
        "watches disagree on order: {orders:#?}"
    );
    Ok(())
}

/// A watch from a resourceVersion the server has compacted away answers 410 (as an ERROR event,
/// as upstream's watch cache sends it, or as an HTTP error), and relisting then watching from the
/// list's version works. The test compacts the history itself by writing past it (bounded by
/// [`MAX_COMPACTION_WRITES`]); a target that keeps more history than that skips it.
pub async fn watch_from_a_compacted_version_is_gone_and_a_relist_recovers(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let probe = api
        .create(
            &PostParams::default(),
            &configmap("gone-probe", &[("watch", "gone")], &[]),
        )
        .await?;
    let start = probe.resource_version().unwrap_or_default();
    let mut gone = watch_is_gone(&api, &start).await?;
    // Push the probe's version out of the history: batches of concurrent writes to one object.
    let mut written = 0;
    while !gone && written < MAX_COMPACTION_WRITES {
        let batch: Vec<_> = (0..COMPACTION_BATCH)
            .map(|i| {
                let api = api.clone();
                async move {
                    api.patch(
                        "gone-probe",
                        &PatchParams::default(),
                        &set_data(&format!("w{}", written + i)),
                    )
                    .await
                }
            })
            .collect();
        for r in futures::future::join_all(batch).await {
            r?;
        }
        written += COMPACTION_BATCH;
        if written % 500 == 0 {
            gone = watch_is_gone(&api, &start).await?;
        }
    }
    if !gone {
        gone = watch_is_gone(&api, &start).await?;
    }
    if !gone {
        return Err(Skipped(format!(
            "the target still serves watch history from resourceVersion {start} after {written} writes"
        ))
        .into());
    }
    let version = list_version(&api, "watch=gone").await?;
    let mut events =
        open_watch(&api, &WatchParams::default().labels("watch=gone"), &version).await?;
    api.patch(
        "gone-probe",
        &PatchParams::default(),
        &set_data("after-relist"),
    )
    .await?;
    let seen = next_changes(&mut events, 1, wait_budget(&ctx)).await?;
    ensure!(
        labels_of(&seen) == ["MODIFIED gone-probe"],
        "after relisting, the watch saw {:?}",
        labels_of(&seen)
    );
    let names: Vec<String> = api
        .list(&ListParams::default().labels("watch=gone"))
        .await?
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    ensure!(names == ["gone-probe"], "relist returned {names:?}");
    Ok(())
}

/// How many writes the compaction test makes at most before it gives up and skips.
const MAX_COMPACTION_WRITES: usize = 5_000;
const COMPACTION_BATCH: usize = 50;

/// Whether a watch from `version` is refused as expired: an HTTP 410, or upstream's 200 whose
/// first event is an ERROR with code 410.
async fn watch_is_gone(api: &Api<ConfigMap>, version: &str) -> anyhow::Result<bool> {
    match api
        .watch(
            &WatchParams::default().labels("watch=gone").timeout(5),
            version,
        )
        .await
    {
        Err(kube::Error::Api(status)) => {
            ensure!(
                status.code == 410 && status.reason == "Expired",
                "watch from resourceVersion {version} failed with {status:?}, want 410 Expired"
            );
            Ok(true)
        }
        Err(e) => Err(e.into()),
        Ok(events) => {
            let mut events = Box::pin(events);
            match tokio::time::timeout(Duration::from_secs(1), events.try_next()).await {
                Ok(Ok(Some(WatchEvent::Error(status)))) => {
                    ensure!(
                        status.code == 410,
                        "watch from resourceVersion {version} sent ERROR {status:?}, want code 410"
                    );
                    ensure!(
                        status.reason == "Expired" || status.reason == "Gone",
                        "410 ERROR event reason is {:?}, want Expired (or Gone)",
                        status.reason
                    );
                    Ok(true)
                }
                _ => Ok(false),
            }
        }
    }
}
