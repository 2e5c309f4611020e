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
    let namespace = write.event.metadata.namespace.as_deref().unwrap_or("default");
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
