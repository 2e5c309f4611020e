//! Events about one object (a pod, a node): list them, and wait — through a watch, bounded —
//! until the set of events about it satisfies a predicate ("has a `Pulled` event", "its
//! `Unhealthy` event has count ≥ 3").

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};

use crate::TestContext;
use crate::support::wait_budget;

/// Events in `namespace` whose `involvedObject.name` is `name`, oldest first.
pub async fn events_about(
    ctx: &TestContext,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Vec<Event>> {
    let api: Api<Event> = Api::namespaced(ctx.client.clone(), namespace);
    let mut items = api
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await?
        .items;
    items.sort_by_key(first_seen);
    Ok(items)
}

/// Waits until the events in `namespace` about object `name` satisfy `test` (`what` says how,
/// for the timeout message); returns them, oldest first.
pub async fn wait_for_events(
    ctx: &TestContext,
    namespace: &str,
    name: &str,
    what: &str,
    test: impl Fn(&[Event]) -> bool,
) -> anyhow::Result<Vec<Event>> {
    let api: Api<Event> = Api::namespaced(ctx.client.clone(), namespace);
    let by_object = format!("involvedObject.name={name}");
    let mut seen: BTreeMap<String, Event> = BTreeMap::new();
    let budget = wait_budget(ctx);
    let watched = async {
        loop {
            let list = api.list(&ListParams::default().fields(&by_object)).await?;
            seen = list
                .items
                .into_iter()
                .map(|e| (e.metadata.name.clone().unwrap_or_default(), e))
                .collect();
            if test(&sorted(&seen)) {
                return Ok::<(), anyhow::Error>(());
            }
            let version = list.metadata.resource_version.unwrap_or_default();
            let mut events = api
                .watch(
                    &WatchParams::default().fields(&by_object).timeout(60),
                    &version,
                )
                .await?
                .boxed();
            while let Some(event) = events.try_next().await? {
                match event {
                    WatchEvent::Added(e) | WatchEvent::Modified(e) => {
                        seen.insert(e.metadata.name.clone().unwrap_or_default(), e);
                    }
                    WatchEvent::Deleted(e) => {
                        seen.remove(&e.metadata.name.clone().unwrap_or_default());
                    }
                    WatchEvent::Bookmark(_) => continue,
                    WatchEvent::Error(status) if status.code == 410 => break,
                    WatchEvent::Error(status) => bail!("the events watch failed: {status:?}"),
                }
                if test(&sorted(&seen)) {
                    return Ok(());
                }
            }
        }
    };
    match tokio::time::timeout(budget, watched).await {
        Ok(Ok(())) => Ok(sorted(&seen)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(anyhow!(
            "timed out after {budget:?} waiting for the events about {namespace}/{name} {what}; \
             saw {:?}",
            describe(&sorted(&seen))
        )),
    }
}

/// Whether `events` hold one with `reason` (and, when given, a message containing `needle`).
pub fn has_event(events: &[Event], reason: &str, needle: Option<&str>) -> bool {
    events.iter().any(|e| {
        e.reason.as_deref() == Some(reason)
            && needle.is_none_or(|n| e.message.as_deref().unwrap_or("").contains(n))
    })
}

/// The event with `reason`, if any.
pub fn event_with<'a>(events: &'a [Event], reason: &str) -> Option<&'a Event> {
    events.iter().find(|e| e.reason.as_deref() == Some(reason))
}

/// `reason×count: message` of each event, for failure messages.
pub fn describe(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{}×{} {}: {}",
                e.reason.as_deref().unwrap_or("?"),
                e.count.unwrap_or(1),
                e.involved_object.field_path.as_deref().unwrap_or(""),
                e.message.as_deref().unwrap_or("")
            )
        })
        .collect()
}

fn sorted(seen: &BTreeMap<String, Event>) -> Vec<Event> {
    let mut v: Vec<Event> = seen.values().cloned().collect();
    v.sort_by_key(first_seen);
    v
}

/// When an event was first seen: `firstTimestamp`, else `eventTime`, else its creation; then its
/// name (which the kubelet's recorder makes increasing) breaks ties within a second.
fn first_seen(e: &Event) -> (Option<impl Ord + use<>>, String) {
    let at = e
        .first_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0));
    (at, e.metadata.name.clone().unwrap_or_default())
}
