//! The kubelet's event recorder (client-go `tools/record`), shared by every hollow node of a
//! simulator.
//!
//! ```text
//!  record() ──try_send──▶ queue (bounded)       ──▶ dispatcher ──▶ writer 0 ─┐
//!  never blocks; a full        one task: correlates   (correlator.rs)  writer 1 ─┼─▶ Api<Event>
//!  queue drops and counts      and routes by name                      …        ─┘
//! ```
//!
//! - [`EventRecorder::record`] builds the `core/v1` Event as upstream's `makeEvent` does (name
//!   `<object>.<hex nanoseconds>`, the object's namespace or `default`, count 1, first and last
//!   timestamp now, source and reporting fields) and hands it to a bounded queue (upstream: 1000
//!   per kubelet); when the queue is full the event is dropped and counted, as upstream's
//!   broadcaster does.
//! - One dispatcher task runs the correlator (`correlator.rs`: spam filter, aggregation,
//!   deduplication) in arrival order, exactly as upstream's single sink goroutine, then routes
//!   each write to one of a few writer tasks by the Event's name, so a create and the patches that
//!   follow it stay in order while different events are written concurrently over the client's
//!   shared connections.
//! - Writers create, or merge-patch `count`/`lastTimestamp`/`message` of an existing Event (a
//!   patch that finds the Event gone creates it anew); an API refusal is final, a transport error
//!   is retried (upstream: 12 tries, 10 s apart, the first sleep randomised) — `writer.rs`.
//!
//! Time for the correlator and the timestamps comes from [`EventRecorderConfig::now`] (real time
//! by default, never the simulator's model clock: the clock factor must not change aggregation).

mod correlator;
mod lru;
mod writer;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use correlator::Correlation;

use crate::pod::PodEvent;
use correlator::{Correlator, Stamps, event_name};

/// Where events come from: `source.component` / `reportingComponent` (`kubelet`) and the node
/// (`source.host` / `reportingInstance`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// `kubelet`.
    pub component: String,
    /// The node's name.
    pub host: String,
}

impl Source {
    /// Events from the kubelet of node `host`.
    pub fn kubelet(host: impl Into<String>) -> Self {
        Self {
            component: "kubelet".into(),
            host: host.into(),
        }
    }
}

/// Counters of what the recorder did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventStats {
    /// Events created.
    pub created: u64,
    /// Existing events updated (count incremented).
    pub updated: u64,
    /// Dropped: the queue was full or the spam filter refused.
    pub dropped: u64,
    /// Writes the API refused.
    pub failed: u64,
}

/// The wall clock the recorder reads: for the Events' timestamps and names and for the
/// correlator's windows.
pub type NowFn = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How the recorder queues, correlates and writes. The defaults are upstream's where upstream has
/// one.
#[derive(Clone)]
pub struct EventRecorderConfig {
    /// Events waiting for the dispatcher before [`EventRecorder::record`] drops (upstream's
    /// broadcaster queue: 1000).
    pub queue_capacity: usize,
    /// Concurrent writers, hence API requests in flight (the profile's `maxInFlight` is a good
    /// value); at least 1.
    pub writers: usize,
    /// Attempts per event on transport errors (upstream `maxTriesPerEvent`: 12).
    pub max_tries: u32,
    /// Sleep between attempts (upstream: 10 s; the first is a random fraction of it).
    pub retry_sleep: Duration,
    /// The correlator's limits.
    pub correlation: Correlation,
    /// The wall clock; real time unless a test injects one.
    pub now: NowFn,
}

impl Default for EventRecorderConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 1000,
            writers: 16,
            max_tries: 12,
            retry_sleep: Duration::from_secs(10),
            correlation: Correlation::default(),
            now: Arc::new(Timestamp::now),
        }
    }
}

impl EventRecorderConfig {
    /// Queued events at most, whatever the node count: a queued Event is about a kilobyte.
    pub const MAX_QUEUE: usize = 1 << 16;
    /// Cache entries at most, whatever the node count: about 200 bytes each, so the three
    /// caches stay under about 150 MB (measured: 1.2 million entries took 234 MB of RSS).
    pub const MAX_CACHE_ENTRIES: usize = 1 << 18;

    /// Upstream's limits for `nodes` kubelets sharing this one recorder: each kubelet has its
    /// own 1000-event queue and 4096-entry caches, so a shared recorder with upstream's figures
    /// would drop and forget far more than a real cluster of that size. Scales both by the node
    /// count, up to [`Self::MAX_QUEUE`] and [`Self::MAX_CACHE_ENTRIES`].
    pub fn for_nodes(nodes: usize) -> Self {
        let base = Self::default();
        let nodes = nodes.max(1);
        Self {
            queue_capacity: base
                .queue_capacity
                .saturating_mul(nodes)
                .min(Self::MAX_QUEUE),
            correlation: Correlation {
                cache_entries: base
                    .correlation
                    .cache_entries
                    .saturating_mul(nodes)
                    .min(Self::MAX_CACHE_ENTRIES),
                ..base.correlation
            },
            ..base
        }
    }
}

impl fmt::Debug for EventRecorderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRecorderConfig")
            .field("queue_capacity", &self.queue_capacity)
            .field("writers", &self.writers)
            .field("max_tries", &self.max_tries)
            .field("retry_sleep", &self.retry_sleep)
            .field("correlation", &self.correlation)
            .finish_non_exhaustive()
    }
}

/// The recorder shared by every hollow node of a simulator. Cloning is cheap; clones share the
/// queue, the correlator and the counters.
#[derive(Clone)]
pub struct EventRecorder {
    inner: Arc<Inner>,
}

struct Inner {
    queue: mpsc::Sender<Event>,
    counters: Arc<Counters>,
    stamps: Arc<Stamps>,
    now: NowFn,
    tasks: TaskTracker,
}

/// The recorder's counters, shared with its tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) created: AtomicU64,
    pub(crate) updated: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl EventRecorder {
    /// A recorder writing through `client` with upstream's limits; its tasks stop when
    /// `shutdown` is cancelled.
    ///
    /// # Panics
    /// Outside a Tokio runtime (it spawns its tasks at once).
    pub fn start(client: kube::Client, shutdown: CancellationToken) -> Self {
        Self::start_with(client, shutdown, EventRecorderConfig::default())
    }

    /// A recorder writing through `client` as `config` says; its tasks stop when `shutdown` is
    /// cancelled.
    ///
    /// # Panics
    /// Outside a Tokio runtime (it spawns its tasks at once).
    pub fn start_with(
        client: kube::Client,
        shutdown: CancellationToken,
        config: EventRecorderConfig,
    ) -> Self {
        let (queue, queued) = mpsc::channel(config.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let stamps = Arc::new(Stamps::default());
        let correlator = Correlator::new(config.correlation.clone(), stamps.clone());
        let tasks = TaskTracker::new();
        writer::spawn(
            &tasks,
            writer::Pool {
                client,
                correlator: Arc::new(Mutex::new(correlator)),
                counters: counters.clone(),
                shutdown,
                now: config.now.clone(),
                writers: config.writers.max(1),
                max_tries: config.max_tries.max(1),
                retry_sleep: config.retry_sleep,
            },
            queued,
        );
        tasks.close();
        Self {
            inner: Arc::new(Inner {
                queue,
                counters,
                stamps,
                now: config.now,
                tasks,
            }),
        }
    }

    /// Record `event` about `object` from `source`. Never blocks: when the queue is full, or the
    /// recorder has shut down, the event is dropped and counted.
    pub fn record(&self, source: &Source, object: &ObjectReference, event: &PodEvent) {
        let now = (self.inner.now)();
        let stamp = self.inner.stamps.next(now);
        let event = make_event(source, object, event, now, stamp);
        if self.inner.queue.try_send(event).is_err() {
            Counters::add(&self.inner.counters.dropped);
            tracing::debug!("event queue full or closed: event dropped");
        }
    }

    /// What the recorder has done so far.
    pub fn stats(&self) -> EventStats {
        let c = &self.inner.counters;
        EventStats {
            created: c.created.load(Ordering::Relaxed),
            updated: c.updated.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }

    /// Resolves once the recorder's tasks have stopped, after the shutdown token was cancelled
    /// (or every clone of the recorder was dropped and the queue drained).
    pub async fn stopped(&self) {
        self.inner.tasks.wait().await;
    }
}

/// The Event upstream's `recorderImpl.makeEvent` builds, with `generateEvent`'s source and
/// reporting fields.
fn make_event(
    source: &Source,
    object: &ObjectReference,
    event: &PodEvent,
    now: Timestamp,
    stamp: i64,
) -> Event {
    let namespace = match object.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => ns.to_owned(),
        // Cluster-scoped objects (Nodes) get their events in `default`, as upstream.
        _ => "default".to_owned(),
    };
    let mut involved = object.clone();
    involved.field_path = event.field_path.clone();
    Event {
        metadata: ObjectMeta {
            name: Some(event_name(
                object.name.as_deref().unwrap_or_default(),
                stamp,
            )),
            namespace: Some(namespace),
            ..ObjectMeta::default()
        },
        involved_object: involved,
        reason: Some(event.reason.clone()),
        message: Some(event.message.clone()),
        type_: Some(event.kind.as_str().to_owned()),
        source: Some(EventSource {
            component: Some(source.component.clone()),
            host: Some(source.host.clone()),
        }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        reporting_component: Some(source.component.clone()),
        reporting_instance: Some(source.host.clone()),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::EventKind;

    /// A client for a port nobody listens on: these tests never reach the API.
    fn unreachable_client() -> kube::Client {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    fn pod() -> ObjectReference {
        ObjectReference {
            kind: Some("Pod".into()),
            api_version: Some("v1".into()),
            namespace: Some("ns".into()),
            name: Some("web".into()),
            ..ObjectReference::default()
        }
    }

    fn started() -> PodEvent {
        PodEvent {
            kind: EventKind::Normal,
            reason: "Started".into(),
            message: "Started container app".into(),
            field_path: Some("spec.containers{app}".into()),
        }
    }

    /// On a current-thread runtime the dispatcher cannot run until the test yields, so the
    /// queue's bound is observed exactly.
    #[tokio::test(flavor = "current_thread")]
    async fn record_drops_and_counts_when_the_queue_is_full() {
        let shutdown = CancellationToken::new();
        let config = EventRecorderConfig {
            queue_capacity: 2,
            ..EventRecorderConfig::default()
        };
        let recorder = EventRecorder::start_with(unreachable_client(), shutdown.clone(), config);
        for _ in 0..10 {
            recorder.record(&Source::kubelet("node-1"), &pod(), &started());
        }
        assert_eq!(recorder.stats().dropped, 8);
        shutdown.cancel();
    }

    #[tokio::test]
    async fn shutdown_stops_the_tasks_and_later_events_are_dropped() {
        let shutdown = CancellationToken::new();
        let recorder = EventRecorder::start(unreachable_client(), shutdown.clone());
        shutdown.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(10), recorder.stopped()).await;
        assert!(
            stopped.is_ok(),
            "timed out waiting for the recorder's tasks to stop"
        );
        recorder.record(&Source::kubelet("node-1"), &pod(), &started());
        assert_eq!(recorder.stats().dropped, 1);
    }

    #[test]
    fn for_nodes_scales_upstreams_per_kubelet_limits_up_to_a_cap() {
        let one = EventRecorderConfig::for_nodes(1);
        assert_eq!(one.queue_capacity, 1000);
        assert_eq!(one.correlation.cache_entries, 4096);
        let ten = EventRecorderConfig::for_nodes(10);
        assert_eq!(ten.queue_capacity, 10_000);
        assert_eq!(ten.correlation.cache_entries, 40_960);
        let many = EventRecorderConfig::for_nodes(10_000);
        assert_eq!(many.queue_capacity, EventRecorderConfig::MAX_QUEUE);
        assert_eq!(
            many.correlation.cache_entries,
            EventRecorderConfig::MAX_CACHE_ENTRIES
        );
        assert_eq!(many.correlation.spam_burst, 25);
    }

    #[test]
    fn events_are_named_after_the_object_and_a_nanosecond_stamp() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let event = make_event(&Source::kubelet("n"), &pod(), &started(), now, 42);
        assert_eq!(event.metadata.name.as_deref(), Some("web.2a"));
        let stamp = Stamps::default().next(now);
        assert_eq!(event_name("web", stamp), "web.18fae27693b40000");
        assert_eq!(
            event.involved_object.field_path.as_deref(),
            Some("spec.containers{app}")
        );
        assert_eq!(event.first_timestamp, Some(Time(now)));
    }
}
