//! Watching pods from outside, as a user would: one watch on all pods, decoded only as far as
//! name, namespace and `spec.nodeName`. A pod created by the runner is *tracked* (its create
//! request's start time and op) before the request is sent; the first event showing it with a
//! `nodeName` makes it bound: counted for its op, and its create→bound latency recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt as _, TryStreamExt as _};
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Deserialize;
use tokio::sync::watch;

/// A create→bound latency histogram in microseconds (1 µs to 1 h, 3 significant digits).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

#[derive(Debug)]
struct Tracked {
    op: usize,
    start: Instant,
    bound: bool,
}

#[derive(Debug, Default)]
struct State {
    tracked: HashMap<String, Tracked>,
    /// Bound pods per op index.
    bound: HashMap<usize, u64>,
    /// Created (tracked and not failed) pods per op index.
    created: HashMap<usize, u64>,
    /// Tracked pods not yet bound, per namespace.
    unbound: HashMap<String, u64>,
    /// Latency histograms of measured ops.
    latency: HashMap<usize, Histogram<u64>>,
    /// When the last pod of each op was seen bound.
    last_bound: HashMap<usize, Instant>,
    /// Set when the watch failed for good.
    failed: Option<String>,
}

/// The pod watcher; cheap to clone.
#[derive(Clone)]
pub struct Observer {
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
    _task: Arc<AbortOnDrop>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    object: MinimalObject,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MinimalObject {
    metadata: MinimalMeta,
    spec: MinimalSpec,
    code: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct MinimalMeta {
    name: String,
    namespace: String,
    resource_version: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct MinimalSpec {
    node_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MinimalList {
    metadata: MinimalMeta,
    #[serde(default)]
    items: Vec<MinimalObject>,
}

impl Observer {
    /// Start watching every pod from now on.
    pub async fn start(client: kube::Client) -> Result<Self, kube::Error> {
        // A one-item list gives the current resourceVersion without reading every pod.
        let rv = list(&client, Some(1)).await?.metadata.resource_version;
        let (changed, _) = watch::channel(0);
        let state = Arc::new(Mutex::new(State::default()));
        // The task holds the state but not the handle, so dropping the last Observer stops it.
        let me = WatchTask {
            state: state.clone(),
            changed: changed.clone(),
        };
        let task = tokio::spawn(async move {
            if let Err(e) = me.watch_loop(client, rv).await {
                me.state.lock().failed = Some(e);
                me.changed.send_modify(|n| *n += 1);
            }
        });
        Ok(Observer {
            state,
            changed,
            _task: Arc::new(AbortOnDrop(task)),
        })
    }

    /// Track the pod `namespace/name` of op `op`, whose create request starts now.
    pub fn track(&self, namespace: &str, name: &str, op: usize) {
        let mut s = self.state.lock();
        s.tracked.insert(
            key(namespace, name),
            Tracked {
                op,
                start: Instant::now(),
                bound: false,
            },
        );
        *s.created.entry(op).or_default() += 1;
        *s.unbound.entry(namespace.to_owned()).or_default() += 1;
    }

    /// The pod's create failed: stop waiting for it.
    pub fn untrack(&self, namespace: &str, name: &str) {
        let mut s = self.state.lock();
        if let Some(t) = s.tracked.remove(&key(namespace, name)) {
            if let Some(c) = s.created.get_mut(&t.op) {
                *c -= 1;
            }
            if !t.bound
                && let Some(c) = s.unbound.get_mut(namespace)
            {
                *c -= 1;
            }
        }
    }

    /// Record latencies for op `op` from now on.
    pub fn measure(&self, op: usize) {
        self.state
            .lock()
            .latency
            .entry(op)
            .or_insert_with(latency_histogram);
    }

    /// Pods of op `op` seen bound so far.
    pub fn bound(&self, op: usize) -> u64 {
        self.state.lock().bound.get(&op).copied().unwrap_or(0)
    }

    /// Pods of op `op` created (their create did not fail).
    pub fn created(&self, op: usize) -> u64 {
        self.state.lock().created.get(&op).copied().unwrap_or(0)
    }

    /// Tracked pods of any op not yet seen bound, in `namespaces` (all when empty).
    pub fn unbound(&self, namespaces: &[String]) -> u64 {
        let s = self.state.lock();
        if namespaces.is_empty() {
            s.unbound.values().sum()
        } else {
            namespaces.iter().filter_map(|ns| s.unbound.get(ns)).sum()
        }
    }

    /// The create→bound latencies of op `op`, and when its last pod was seen bound.
    pub fn latency(&self, op: usize) -> (Option<Histogram<u64>>, Option<Instant>) {
        let s = self.state.lock();
        (s.latency.get(&op).cloned(), s.last_bound.get(&op).copied())
    }

    /// Wait until `done` holds (checked after every bind), the watch fails, or `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&Observer) -> bool,
    ) -> Result<(), WaitError> {
        let mut rx = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self.state.lock().failed.clone() {
                return Err(WaitError::Watch(e));
            }
            if done(self) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(WaitError::Watch("the pod watch stopped".into())),
                Err(_) => return Err(WaitError::Timeout),
            }
        }
    }
}

/// Why a wait on the observer ended without its condition.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The time allowed ran out.
    #[error("timed out")]
    Timeout,
    /// The pod watch failed and could not be resumed.
    #[error("the pod watch failed: {0}")]
    Watch(String),
}

struct WatchTask {
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
}

impl WatchTask {
    /// Watch from `rv`, resuming after a closed stream and relisting after 410 Gone.
    async fn watch_loop(&self, client: kube::Client, mut rv: String) -> Result<(), String> {
        let mut failures = 0u32;
        loop {
            let path = format!(
                "/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=3600"
            );
            let request = http::Request::get(path)
                .body(Vec::new())
                .expect("a watch request builds");
            let stream = match client.request_stream(request).await {
                Ok(s) => s,
                Err(e) => {
                    failures += 1;
                    if failures > 5 {
                        return Err(format!("cannot watch pods: {e}"));
                    }
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(failures))).await;
                    continue;
                }
            };
            failures = 0;
            let mut lines = stream.lines();
            let mut gone = false;
            while let Ok(Some(line)) = lines.try_next().await {
                let Ok(event) = serde_json::from_str::<Event>(&line) else {
                    continue;
                };
                if event.kind == "ERROR" {
                    gone = event.object.code == Some(410);
                    break;
                }
                if !event.object.metadata.resource_version.is_empty() {
                    rv = event.object.metadata.resource_version.clone();
                }
                if matches!(event.kind.as_str(), "ADDED" | "MODIFIED") {
                    self.seen(&event.object);
                }
            }
            if gone {
                let l = list(&client, None)
                    .await
                    .map_err(|e| format!("cannot relist pods after 410 Gone: {e}"))?;
                for item in &l.items {
                    self.seen(item);
                }
                rv = l.metadata.resource_version;
            }
        }
    }

    fn seen(&self, pod: &MinimalObject) {
        if pod.spec.node_name.as_deref().is_none_or(str::is_empty) {
            return;
        }
        let now = Instant::now();
        let mut guard = self.state.lock();
        let s = &mut *guard;
        let Some(t) = s
            .tracked
            .get_mut(&key(&pod.metadata.namespace, &pod.metadata.name))
        else {
            return;
        };
        if t.bound {
            return;
        }
        t.bound = true;
        let (op, start) = (t.op, t.start);
        *s.bound.entry(op).or_default() += 1;
        if let Some(c) = s.unbound.get_mut(&pod.metadata.namespace) {
            *c = c.saturating_sub(1);
        }
        s.last_bound.insert(op, now);
        if let Some(h) = s.latency.get_mut(&op) {
            let us = now.saturating_duration_since(start).as_micros() as u64;
            h.saturating_record(us.max(1));
        }
        drop(guard);
        self.changed.send_modify(|n| *n += 1);
    }
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

async fn list(client: &kube::Client, limit: Option<u32>) -> Result<MinimalList, kube::Error> {
    let path = match limit {
        Some(n) => format!("/api/v1/pods?limit={n}"),
        None => "/api/v1/pods".to_owned(),
    };
    let request = http::Request::get(path)
        .body(Vec::new())
        .expect("a list request builds");
    client.request::<MinimalList>(request).await
}

/// Aborts the watch task when the last [`Observer`] is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
