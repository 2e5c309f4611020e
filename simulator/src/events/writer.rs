//! The recorder's tasks: one dispatcher that correlates queued events in arrival order, and a
//! small pool of writers that put the results to the API (upstream `recordToSink` and
//! `recordEvent` in `tools/record/event.go`).
//!
//! Writes are routed to a writer by the Event's namespace and name, so the create of an Event and
//! every later patch of it go through one writer in order (a patch never overtakes its create),
//! while unrelated Events are written concurrently.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::correlator::{Correlated, Correlator};
use super::{Counters, NowFn};

/// Writes waiting for one writer; small, so a stalled writer pushes back on the dispatcher and
/// from there on the bounded queue, where [`super::EventRecorder::record`] drops.
const WRITER_BACKLOG: usize = 8;

/// What the recorder's tasks share.
pub(crate) struct Pool {
    pub(crate) client: kube::Client,
    pub(crate) correlator: Arc<Mutex<Correlator>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) now: NowFn,
    pub(crate) writers: usize,
    pub(crate) max_tries: u32,
    pub(crate) retry_sleep: Duration,
}

/// One write to the API.
struct Write {
    /// The whole Event: created as is, or after a patch that found it gone.
    event: Event,
    /// A merge patch of the existing Event, when this is a repeat.
    patch: Option<Value>,
}

/// How a write ended.
#[derive(Debug)]
enum Failure {
    /// The API refused it (a `Status`), or the request could not be built: trying again would
    /// get the same answer.
    Final(kube::Error),
    /// The API could not be reached or answered something unexpected: worth another try.
    Retry(kube::Error),
}

/// Spawn the dispatcher and `pool.writers` writers on `tasks`, reading from `queued`.
pub(crate) fn spawn(tasks: &TaskTracker, pool: Pool, queued: mpsc::Receiver<Event>) {
    let pool = Arc::new(pool);
    let mut lanes = Vec::with_capacity(pool.writers);
    for _ in 0..pool.writers {
        let (lane, writes) = mpsc::channel(WRITER_BACKLOG);
        lanes.push(lane);
        tasks.spawn(write_loop(pool.clone(), writes));
    }
    tasks.spawn(dispatch(pool, queued, lanes));
}

/// Correlate each queued event and hand what is to be written to its writer.
async fn dispatch(
    pool: Arc<Pool>,
    mut queued: mpsc::Receiver<Event>,
    lanes: Vec<mpsc::Sender<Write>>,
) {
    loop {
        let event = tokio::select! {
            biased;
            () = pool.shutdown.cancelled() => return,
            event = queued.recv() => match event {
                Some(event) => event,
                None => return,
            },
        };
        let now = (pool.now)();
        let write = match pool.correlator.lock().correlate(event, now) {
            Correlated::Skip => {
                Counters::add(&pool.counters.dropped);
                continue;
            }
            Correlated::Create(event) => Write { event, patch: None },
            Correlated::Patch { event, patch } => Write {
                event,
                patch: Some(patch),
            },
        };
        let lane = &lanes[lane_of(&write.event, lanes.len())];
        tokio::select! {
            biased;
            () = pool.shutdown.cancelled() => return,
            sent = lane.send(write) => if sent.is_err() { return },
        }
    }
}

/// The writer an Event's writes go through: a stable function of its namespace and name.
fn lane_of(event: &Event, lanes: usize) -> usize {
    let namespace = event.metadata.namespace.as_deref().unwrap_or_default();
    let name = event.metadata.name.as_deref().unwrap_or_default();
    let hash = crate::seed::draw(0, namespace, 0) ^ crate::seed::draw(1, name, 0);
    (hash % lanes as u64) as usize
}

/// Write each Event handed to this writer, retrying transport errors, until shutdown.
async fn write_loop(pool: Arc<Pool>, mut writes: mpsc::Receiver<Write>) {
    loop {
        let write = tokio::select! {
            biased;
            () = pool.shutdown.cancelled() => return,
            write = writes.recv() => match write {
                Some(write) => write,
                None => return,
            },
        };
        tokio::select! {
            biased;
            () = pool.shutdown.cancelled() => return,
            () = write_with_retries(&pool, write) => {}
        }
    }
}

/// Upstream's retry loop in `recordToSink`: up to `max_tries` attempts, sleeping between them,
/// the first sleep a (deterministic) fraction of the period so that many nodes do not retry in
/// step after an API outage.
async fn write_with_retries(pool: &Pool, write: Write) {
    let name = write.event.metadata.name.clone().unwrap_or_default();
    let mut tries = 0;
    loop {
        match write_once(pool, &write).await {
            Ok(()) => return,
            Err(Failure::Final(error)) => {
                Counters::add(&pool.counters.failed);
                tracing::warn!(event = %name, %error, "server rejected event (will not retry)");
                return;
            }
            Err(Failure::Retry(error)) => {
                tries += 1;
                if tries >= pool.max_tries {
                    Counters::add(&pool.counters.failed);
                    tracing::warn!(event = %name, %error, "unable to write event (retry limit exceeded)");
                    return;
                }
                tracing::debug!(event = %name, %error, "unable to write event (may retry after sleeping)");
                let mut delay = pool.retry_sleep;
                if tries == 1 {
                    delay = delay.mul_f64(crate::seed::unit(0, &name, 0));
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// One attempt, as upstream's `recordEvent`: patch a repeat, create a new Event or one whose
/// patch found it gone; then remember what the API returned.
async fn write_once(pool: &Pool, write: &Write) -> Result<(), Failure> {
    let namespace = write
        .event
        .metadata
        .namespace
        .as_deref()
        .unwrap_or("default");
    let api: Api<Event> = Api::namespaced(pool.client.clone(), namespace);
    let name = write.event.metadata.name.as_deref().unwrap_or_default();
    if let Some(patch) = &write.patch {
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(stored) => {
                pool.correlator.lock().update_state(&stored);
                Counters::add(&pool.counters.updated);
                return Ok(());
            }
            // Deleted since (TTL, a user): fall through and create it anew.
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(classify(error)),
        }
    }
    let mut event = write.event.clone();
    event.metadata.resource_version = None;
    match api.create(&PostParams::default(), &event).await {
        Ok(stored) => {
            pool.correlator.lock().update_state(&stored);
            Counters::add(&pool.counters.created);
            Ok(())
        }
        Err(error) => Err(classify(error)),
    }
}

/// Upstream keeps trying only when the server could not be reached or answered in a shape it did
/// not expect; a `Status` (already exists, namespace terminating, invalid, …) is final.
fn classify(error: kube::Error) -> Failure {
    match error {
        kube::Error::Api(_) | kube::Error::BuildRequest(_) | kube::Error::HttpError(_) => {
            Failure::Final(error)
        }
        _ => Failure::Retry(error),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::routing::{patch, post};
    use axum::{Json, Router};
    use k8s_openapi::api::core::v1::ObjectReference;
    use parking_lot::Mutex;
    use serde_json::{Value, json};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_util::sync::CancellationToken;

    use crate::events::{EventRecorder, EventRecorderConfig, EventStats, Source};
    use crate::pod::{EventKind, PodEvent};

    /// A scripted API server holding Events in memory, as the kube-rs mock tests do: just enough
    /// of `core/v1` events (create, merge-patch, `Status` errors) to watch the writer's requests.
    #[derive(Default)]
    struct FakeApi {
        events: Mutex<BTreeMap<(String, String), Value>>,
        /// `POST ns/name` or `PATCH ns/name`, in arrival order.
        requests: Mutex<Vec<String>>,
        revision: AtomicU64,
        /// Connections closed unanswered, from the first accepted on.
        to_drop: AtomicU64,
        dropped_connections: AtomicU64,
    }

    type Reply = (StatusCode, Json<Value>);

    fn status(code: StatusCode, reason: &str, message: String) -> Reply {
        let body = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code.as_u16(),
        });
        (code, Json(body))
    }

    async fn create(
        State(api): State<Arc<FakeApi>>,
        Path(namespace): Path<String>,
        Json(mut event): Json<Value>,
    ) -> Reply {
        let name = event["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        api.requests.lock().push(format!("POST {namespace}/{name}"));
        if namespace == "forbidden" {
            let message = format!("events is forbidden in namespace {namespace}");
            return status(StatusCode::FORBIDDEN, "Forbidden", message);
        }
        let mut events = api.events.lock();
        let key = (namespace, name.clone());
        if events.contains_key(&key) {
            let message = format!("events \"{name}\" already exists");
            return status(StatusCode::CONFLICT, "AlreadyExists", message);
        }
        let revision = api.revision.fetch_add(1, Ordering::Relaxed) + 1;
        event["metadata"]["resourceVersion"] = json!(revision.to_string());
        events.insert(key, event.clone());
        (StatusCode::CREATED, Json(event))
    }

    async fn merge_patch(
        State(api): State<Arc<FakeApi>>,
        Path((namespace, name)): Path<(String, String)>,
        Json(patch): Json<Value>,
    ) -> Reply {
        api.requests
            .lock()
            .push(format!("PATCH {namespace}/{name}"));
        let mut events = api.events.lock();
        let Some(event) = events.get_mut(&(namespace, name.clone())) else {
            let message = format!("events \"{name}\" not found");
            return status(StatusCode::NOT_FOUND, "NotFound", message);
        };
        json_patch::merge(event, &patch);
        let revision = api.revision.fetch_add(1, Ordering::Relaxed) + 1;
        event["metadata"]["resourceVersion"] = json!(revision.to_string());
        (StatusCode::OK, Json(event.clone()))
    }

    /// Accepts connections, closing the first `to_drop` unanswered (an API server going away).
    struct Flaky {
        listener: TcpListener,
        api: Arc<FakeApi>,
    }

    impl axum::serve::Listener for Flaky {
        type Io = TcpStream;
        type Addr = std::net::SocketAddr;

        async fn accept(&mut self) -> (TcpStream, std::net::SocketAddr) {
            loop {
                let Ok((stream, addr)) = self.listener.accept().await else {
                    continue;
                };
                let dropped = self.api.dropped_connections.load(Ordering::Relaxed);
                if dropped < self.api.to_drop.load(Ordering::Relaxed) {
                    self.api.dropped_connections.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                }
                return (stream, addr);
            }
        }

        fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
            self.listener.local_addr()
        }
    }

    struct Harness {
        api: Arc<FakeApi>,
        recorder: EventRecorder,
        shutdown: CancellationToken,
    }

    impl Drop for Harness {
        fn drop(&mut self) {
            self.shutdown.cancel();
        }
    }

    /// A fake API on a random loopback port and a recorder writing to it, retrying at once.
    async fn harness(drop_connections: u64) -> Harness {
        let api = Arc::new(FakeApi::default());
        api.to_drop.store(drop_connections, Ordering::Relaxed);
        let app = Router::new()
            .route("/api/v1/namespaces/{namespace}/events", post(create))
            .route(
                "/api/v1/namespaces/{namespace}/events/{name}",
                patch(merge_patch),
            )
            .with_state(api.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let flaky = Flaky {
            listener,
            api: api.clone(),
        };
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let serving = axum::serve(flaky, app).with_graceful_shutdown(stop.cancelled_owned());
            serving.await.unwrap();
        });
        let config = kube::Config::new(url.parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let recorder = EventRecorder::start_with(
            client,
            shutdown.clone(),
            EventRecorderConfig {
                writers: 4,
                retry_sleep: Duration::ZERO,
                ..EventRecorderConfig::default()
            },
        );
        Harness {
            api,
            recorder,
            shutdown,
        }
    }

    /// Poll `stats` until `done` holds, failing after 10 s with what was awaited.
    async fn wait_for(recorder: &EventRecorder, what: &str, done: impl Fn(EventStats) -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while !done(recorder.stats()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "timed out waiting for {what}: {:?}",
            recorder.stats()
        );
    }

    fn pod(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("Pod".into()),
            api_version: Some("v1".into()),
            namespace: Some("team-a".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            resource_version: Some("7".into()),
            ..ObjectReference::default()
        }
    }

    fn pulled(container: &str) -> PodEvent {
        PodEvent {
            kind: EventKind::Normal,
            reason: "Pulled".into(),
            message: "Container image \"nginx\" already present on machine".into(),
            field_path: Some(format!("spec.containers{{{container}}}")),
        }
    }

    fn stored(api: &FakeApi) -> Vec<Value> {
        api.events.lock().values().cloned().collect()
    }

    #[tokio::test]
    async fn an_event_is_created_as_the_kubelet_writes_it() {
        let h = harness(0).await;
        h.recorder
            .record(&Source::kubelet("node-1"), &pod("web"), &pulled("app"));
        wait_for(&h.recorder, "the create", |s| s.created == 1).await;

        let events = stored(&h.api);
        let [event] = events.as_slice() else {
            panic!("one event expected: {events:?}")
        };
        let name = event["metadata"]["name"].as_str().unwrap();
        let stamp = name.strip_prefix("web.").unwrap();
        assert!(stamp.len() == 16 && stamp.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(event["metadata"]["namespace"], "team-a");
        assert_eq!(
            event["involvedObject"],
            json!({
                "kind": "Pod", "namespace": "team-a", "name": "web", "uid": "uid-web",
                "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{app}",
            })
        );
        assert_eq!(event["reason"], "Pulled");
        assert_eq!(event["type"], "Normal");
        assert_eq!(
            event["source"],
            json!({"component": "kubelet", "host": "node-1"})
        );
        assert_eq!(event["reportingComponent"], "kubelet");
        assert_eq!(event["reportingInstance"], "node-1");
        assert_eq!(event["count"], 1);
        assert_eq!(event["firstTimestamp"], event["lastTimestamp"]);
        assert!(event.get("eventTime").is_none_or(Value::is_null));
    }

    #[tokio::test]
    async fn a_repeat_patches_the_event_with_its_count() {
        let h = harness(0).await;
        let (source, web) = (Source::kubelet("node-1"), pod("web"));
        for _ in 0..3 {
            h.recorder.record(&source, &web, &pulled("app"));
        }
        wait_for(&h.recorder, "two patches", |s| s.updated == 2).await;

        let events = stored(&h.api);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["count"], 3);
        let name = events[0]["metadata"]["name"].as_str().unwrap();
        let requests = h.api.requests.lock().clone();
        let expected: Vec<String> = ["POST", "PATCH", "PATCH"]
            .iter()
            .map(|verb| format!("{verb} team-a/{name}"))
            .collect();
        assert_eq!(requests, expected);
        assert_eq!(h.recorder.stats().created, 1);
    }

    #[tokio::test]
    async fn a_patch_that_finds_the_event_gone_creates_it_anew() {
        let h = harness(0).await;
        let (source, web) = (Source::kubelet("node-1"), pod("web"));
        h.recorder.record(&source, &web, &pulled("app"));
        wait_for(&h.recorder, "the first create", |s| s.created == 1).await;
        h.api.events.lock().clear();

        h.recorder.record(&source, &web, &pulled("app"));
        wait_for(&h.recorder, "the second create", |s| s.created == 2).await;
        let events = stored(&h.api);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["count"], 2);
        let verbs: Vec<String> = h
            .api
            .requests
            .lock()
            .iter()
            .map(|r| r[..4].into())
            .collect();
        assert_eq!(verbs, ["POST", "PATC", "POST"]);
        assert_eq!(h.recorder.stats().updated, 0);
    }

    #[tokio::test]
    async fn node_events_go_to_the_default_namespace() {
        let h = harness(0).await;
        let node = ObjectReference {
            kind: Some("Node".into()),
            name: Some("node-1".into()),
            uid: Some("node-1".into()),
            ..ObjectReference::default()
        };
        let ready = PodEvent {
            kind: EventKind::Normal,
            reason: "NodeReady".into(),
            message: "Node node-1 status is now: NodeReady".into(),
            field_path: None,
        };
        h.recorder.record(&Source::kubelet("node-1"), &node, &ready);
        wait_for(&h.recorder, "the create", |s| s.created == 1).await;
        let events = stored(&h.api);
        assert_eq!(events[0]["metadata"]["namespace"], "default");
        assert!(events[0]["involvedObject"].get("namespace").is_none());
    }

    #[tokio::test]
    async fn an_api_refusal_is_counted_as_failed_and_not_retried() {
        let h = harness(0).await;
        let mut object = pod("web");
        object.namespace = Some("forbidden".into());
        h.recorder
            .record(&Source::kubelet("node-1"), &object, &pulled("app"));
        wait_for(&h.recorder, "the failure", |s| s.failed == 1).await;
        // A retry would have come before the failure was counted.
        assert_eq!(h.api.requests.lock().len(), 1);
        assert_eq!(h.recorder.stats().created, 0);
    }

    #[tokio::test]
    async fn a_dropped_connection_is_retried() {
        let h = harness(1).await;
        h.recorder
            .record(&Source::kubelet("node-1"), &pod("web"), &pulled("app"));
        wait_for(&h.recorder, "the create", |s| s.created == 1).await;
        assert_eq!(h.api.dropped_connections.load(Ordering::Relaxed), 1);
        assert_eq!(stored(&h.api).len(), 1);
        assert_eq!(h.recorder.stats().failed, 0);
    }

    #[tokio::test]
    async fn the_spam_filter_drops_the_26th_event_about_one_pod() {
        let h = harness(0).await;
        let (source, web) = (Source::kubelet("node-1"), pod("web"));
        for i in 0..26 {
            h.recorder.record(&source, &web, &pulled(&format!("c{i}")));
        }
        wait_for(&h.recorder, "25 creates and a drop", |s| {
            s.created == 25 && s.dropped == 1
        })
        .await;
        assert_eq!(stored(&h.api).len(), 25);
    }

    #[tokio::test]
    async fn events_about_many_pods_are_written_concurrently_and_in_order_per_event() {
        let h = harness(0).await;
        let source = Source::kubelet("node-1");
        for i in 0..200 {
            let object = pod(&format!("pod-{i}"));
            h.recorder.record(&source, &object, &pulled("app"));
            h.recorder.record(&source, &object, &pulled("app"));
        }
        wait_for(&h.recorder, "200 creates and 200 patches", |s| {
            s.created == 200 && s.updated == 200
        })
        .await;
        let events = stored(&h.api);
        assert_eq!(events.len(), 200);
        assert!(events.iter().all(|e| e["count"] == 2));
        assert_eq!(h.recorder.stats().failed, 0);
    }
}
