//! Reading watch streams in tests: open a watch, take the next N changes (skipping bookmarks)
//! within a bounded time, and describe them compactly in failure messages.

use std::fmt::Debug;
use std::time::Duration;

use anyhow::{anyhow, bail};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, WatchEvent, WatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

/// An open watch.
pub type Events<K> = BoxStream<'static, kube::Result<WatchEvent<K>>>;

/// One change seen on a watch: its type (`ADDED`, `MODIFIED`, `DELETED`) and object.
#[derive(Debug, Clone)]
pub struct Change<K> {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// The object the event carried.
    pub object: K,
}

impl<K: Resource> Change<K> {
    /// `ADDED name` — the form failure messages and sequence assertions use.
    pub fn label(&self) -> String {
        format!(
            "{} {}",
            self.kind,
            self.object.meta().name.clone().unwrap_or_default()
        )
    }
}

/// Opens a watch on `api` from `resource_version`.
pub async fn open_watch<K>(
    api: &Api<K>,
    params: &WatchParams,
    resource_version: &str,
) -> anyhow::Result<Events<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    Ok(api.watch(params, resource_version).await?.boxed())
}

/// The next `n` changes on `events`, skipping bookmarks, within `timeout`. A watch `ERROR` event
/// or the stream ending early is an error that lists what was seen.
pub async fn next_changes<K>(
    events: &mut Events<K>,
    n: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Change<K>>>
where
    K: Resource + Clone + Debug,
{
    let mut seen: Vec<Change<K>> = Vec::with_capacity(n);
    let collect = async {
        while seen.len() < n {
            let Some(event) = events.try_next().await? else {
                bail!("the watch ended");
            };
            let (kind, object) = match event {
                WatchEvent::Added(o) => ("ADDED", o),
                WatchEvent::Modified(o) => ("MODIFIED", o),
                WatchEvent::Deleted(o) => ("DELETED", o),
                WatchEvent::Bookmark(_) => continue,
                WatchEvent::Error(status) => bail!("the watch sent an ERROR event: {status:?}"),
            };
            seen.push(Change { kind, object });
        }
        Ok(())
    };
    let outcome = tokio::time::timeout(timeout, collect).await;
    let labels: Vec<String> = seen.iter().map(Change::label).collect();
    match outcome {
        Ok(Ok(())) => Ok(seen),
        Ok(Err(e)) => Err(anyhow!("waiting for {n} watch events: {e}; saw {labels:?}")),
        Err(_) => Err(anyhow!(
            "timed out after {timeout:?} waiting for {n} watch events; saw only {labels:?}"
        )),
    }
}

/// Takes changes until one for `name` of type `kind` arrives; returns all of them, that one last.
pub async fn changes_until<K>(
    events: &mut Events<K>,
    kind: &str,
    name: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<Change<K>>>
where
    K: Resource + Clone + Debug,
{
    take_until(events, &format!("for {kind} {name}"), timeout, |c| {
        c.kind == kind && c.object.name_any() == name
    })
    .await
}

/// The labels (`ADDED name`) of `changes`, for comparing sequences.
pub fn labels_of<K: Resource>(changes: &[Change<K>]) -> Vec<String> {
    changes.iter().map(Change::label).collect()
}

/// Takes changes until one satisfies `test` (`what` says which, for the timeout message);
/// returns that one. What came before is dropped, but named in the error if none does.
pub async fn change_where<K>(
    events: &mut Events<K>,
    what: &str,
    timeout: Duration,
    test: impl Fn(&Change<K>) -> bool,
) -> anyhow::Result<Change<K>>
where
    K: Resource + Clone + Debug,
{
    let mut seen = take_until(events, what, timeout, test).await?;
    Ok(seen
        .pop()
        .expect("take_until ends on the change that passed"))
}

/// Takes changes until one satisfies `test`; returns all of them, that one last.
async fn take_until<K>(
    events: &mut Events<K>,
    what: &str,
    timeout: Duration,
    test: impl Fn(&Change<K>) -> bool,
) -> anyhow::Result<Vec<Change<K>>>
where
    K: Resource + Clone + Debug,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen: Vec<Change<K>> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let change = next_changes(events, 1, left)
            .await
            .map_err(|e| {
                let labels: Vec<String> = seen.iter().map(Change::label).collect();
                anyhow!("waiting for a change {what}: {e}; before that saw {labels:?}")
            })?
            .into_iter()
            .next()
            .expect("next_changes returned one change");
        let done = test(&change);
        seen.push(change);
        if done {
            return Ok(seen);
        }
    }
}
