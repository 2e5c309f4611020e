//! Waiting for an object to reach a condition, observed through a watch: list once (to learn
//! the current state and a resourceVersion), then watch from there, relisting when the watch ends
//! or the server says 410 Gone. The whole wait is bounded; on timeout the error says what was
//! awaited and what was last seen.

use std::fmt::Debug;
use std::time::Duration;

use anyhow::{anyhow, bail};
use futures::{StreamExt, TryStreamExt};
use kube::Resource;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A predicate on an object's current state (`None` when it does not exist), with a description
/// used in timeout messages ("to be deleted", "to have status.hard set").
pub struct Condition<K> {
    what: String,
    test: Predicate<K>,
}

/// The decision a [`Condition`] makes about an object's state.
type Predicate<K> = Box<dyn Fn(Option<&K>) -> bool + Send + Sync>;

impl<K> Condition<K> {
    /// A condition described by `what` ("to …") and decided by `test`.
    pub fn new(
        what: impl Into<String>,
        test: impl Fn(Option<&K>) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            what: what.into(),
            test: Box::new(test),
        }
    }

    /// Holds once the object exists and `test` is true of it.
    pub fn exists_and(
        what: impl Into<String>,
        test: impl Fn(&K) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::new(what, move |o| o.is_some_and(&test))
    }

    /// Holds once the object no longer exists.
    pub fn deleted() -> Self {
        Self::new("to be deleted", |o| o.is_none())
    }

    /// Whether the condition holds of `object`.
    pub fn holds(&self, object: Option<&K>) -> bool {
        (self.test)(object)
    }
}

/// Waits until the object `name` of `api` satisfies `condition`, for at most `timeout`; returns
/// its state at that moment.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    condition: Condition<K>,
    timeout: Duration,
) -> anyhow::Result<Option<K>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug + Send + 'static,
{
    let mut last: Option<Option<K>> = None;
    let watched = watch_until(api, name, &condition, &mut last);
    let outcome = tokio::time::timeout(timeout, watched).await;
    match outcome {
        Ok(result) => result,
        Err(_) => {
            let seen = match &last {
                None => "nothing (the first list did not answer)".to_string(),
                Some(None) => "no such object".to_string(),
                Some(Some(object)) => summarize(object),
            };
            bail!(
                "timed out after {timeout:?} waiting for {} {:?} {}; last seen: {seen}",
                K::kind(&()),
                name,
                condition.what
            )
        }
    }
}

async fn watch_until<K>(
    api: &Api<K>,
    name: &str,
    condition: &Condition<K>,
    last: &mut Option<Option<K>>,
) -> anyhow::Result<Option<K>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug + Send + 'static,
{
    let by_name = format!("metadata.name={name}");
    loop {
        let list = api.list(&ListParams::default().fields(&by_name)).await?;
        let mut current = list
            .items
            .into_iter()
            .find(|o| o.meta().name.as_deref() == Some(name));
        *last = Some(current.clone());
        if condition.holds(current.as_ref()) {
            return Ok(current);
        }
        let version = list.metadata.resource_version.unwrap_or_default();
        let events = api
            .watch(
                &WatchParams::default().fields(&by_name).timeout(60),
                &version,
            )
            .await?;
        let mut events = events.boxed();
        while let Some(event) = events.try_next().await? {
            match event {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => current = Some(o),
                WatchEvent::Deleted(_) => current = None,
                WatchEvent::Bookmark(_) => continue,
                // 410 Gone: our resourceVersion fell out of the window; relist.
                WatchEvent::Error(status) if status.code == 410 => break,
                WatchEvent::Error(status) => {
                    return Err(anyhow!(
                        "watch on {} {name:?} failed: {status:?}",
                        K::kind(&())
                    ));
                }
            }
            *last = Some(current.clone());
            if condition.holds(current.as_ref()) {
                return Ok(current);
            }
        }
    }
}

/// A short rendering of an object for failure messages: its JSON, cut at 1500 characters.
pub fn summarize<T: Serialize>(object: &T) -> String {
    let mut text =
        serde_json::to_string(object).unwrap_or_else(|e| format!("<unserializable: {e}>"));
    if text.len() > 1500 {
        let mut cut = 1500;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}
