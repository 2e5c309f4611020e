//! A controller's work queue, with client-go's workqueue semantics (`util/workqueue`): a key
//! added many times before a worker takes it is processed once; a key is never handed to two
//! workers at once (added while being processed, it comes back when the worker is done); failed
//! keys come back after a per-key exponential backoff (`DefaultControllerRateLimiter`'s item
//! limiter: 5 ms doubling to 1,000 s), forgotten on the first success.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The first retry delay of a failing key.
const BASE_DELAY: Duration = Duration::from_millis(5);
/// The longest retry delay.
const MAX_DELAY: Duration = Duration::from_secs(1000);

/// A de-duplicating, rate-limited queue of keys (`namespace/name`).
#[derive(Debug, Default)]
pub(crate) struct KeyQueue {
    state: parking_lot::Mutex<State>,
    notify: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<String>,
    /// Keys waiting to be processed (in `queue`, or to be re-queued when their worker is done).
    dirty: HashSet<String>,
    processing: HashSet<String>,
    delayed: BTreeMap<(Instant, u64), String>,
    seq: u64,
    failures: HashMap<String, u32>,
    /// When each key was first added since it was last taken (for the queue latency metric).
    added_at: HashMap<String, Instant>,
}

impl State {
    fn add(&mut self, key: &str) -> bool {
        if !self.dirty.insert(key.to_string()) {
            return false;
        }
        self.added_at
            .entry(key.to_string())
            .or_insert_with(Instant::now);
        if self.processing.contains(key) {
            return false;
        }
        self.queue.push_back(key.to_string());
        true
    }

    fn promote_due(&mut self, now: Instant) -> bool {
        let mut woke = false;
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            woke |= self.add(&key);
        }
        woke
    }
}

/// A key a worker holds: its queue latency, and `done` must be called when it is finished.
#[derive(Debug)]
pub(crate) struct Taken {
    pub key: String,
    /// How long the key waited in the queue before a worker took it.
    pub waited: Duration,
}

impl KeyQueue {
    /// Queue a key now.
    pub(crate) fn add(&self, key: &str) {
        if self.state.lock().add(key) {
            self.notify.notify_one();
        }
    }

    /// Queue a key after `delay` (at once if it is zero).
    pub(crate) fn add_after(&self, key: &str, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        {
            let mut s = self.state.lock();
            s.seq += 1;
            let seq = s.seq;
            s.delayed
                .insert((Instant::now() + delay, seq), key.to_string());
        }
        // Wake a worker so it waits for the new, possibly earlier, deadline.
        self.notify.notify_one();
    }

    /// Queue a key after its backoff: 5 ms for its first failure, doubling per failure since it
    /// was last forgotten, at most 1,000 s.
    pub(crate) fn add_rate_limited(&self, key: &str) {
        let delay = {
            let mut s = self.state.lock();
            let n = s.failures.entry(key.to_string()).or_default();
            *n += 1;
            backoff(*n)
        };
        self.add_after(key, delay);
    }

    /// Clear a key's failure count (after a successful sync).
    pub(crate) fn forget(&self, key: &str) {
        self.state.lock().failures.remove(key);
    }

    /// How many times a key has failed since it was last forgotten.
    #[cfg(test)]
    pub(crate) fn failures(&self, key: &str) -> u32 {
        self.state.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// The next key; `None` once `shutdown` is cancelled.
    pub(crate) async fn take(&self, shutdown: &CancellationToken) -> Option<Taken> {
        loop {
            let deadline = {
                let mut s = self.state.lock();
                let now = Instant::now();
                s.promote_due(now);
                if let Some(key) = s.queue.pop_front() {
                    s.dirty.remove(&key);
                    s.processing.insert(key.clone());
                    let waited = s
                        .added_at
                        .remove(&key)
                        .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
                    if !s.queue.is_empty() {
                        // Let another idle worker take the next one.
                        self.notify.notify_one();
                    }
                    return Some(Taken { key, waited });
                }
                s.delayed.first_key_value().map(|((at, _), _)| *at)
            };
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = self.notify.notified() => {}
                _ = sleep => {}
            }
        }
    }

    /// A worker finished `key`: if it was added meanwhile, it is queued again.
    pub(crate) fn done(&self, key: &str) {
        let requeued = {
            let mut s = self.state.lock();
            s.processing.remove(key);
            if s.dirty.contains(key) {
                s.queue.push_back(key.to_string());
                true
            } else {
                false
            }
        };
        if requeued {
            self.notify.notify_one();
        }
    }

    /// Keys waiting now (not counting delayed ones).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state.lock().queue.len()
    }
}

/// The delay before the `n`th retry (n ≥ 1).
fn backoff(n: u32) -> Duration {
    let exp = n.saturating_sub(1).min(30);
    BASE_DELAY.saturating_mul(1 << exp).min(MAX_DELAY)
}

/// Run `workers` tasks taking keys from `queue` until `shutdown`: each key is synced by `sync`;
/// an error re-queues it with backoff (logged with the controller's `name`), a success forgets
/// its failures. `observe` hears every key's queue latency.
pub(crate) async fn run_workers<S, F>(
    name: &'static str,
    queue: Arc<KeyQueue>,
    workers: usize,
    shutdown: CancellationToken,
    sync: S,
) where
    S: Fn(String, Duration) -> F + Send + Sync + Clone + 'static,
    F: Future<Output = Result<(), crate::error::ApiError>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let queue = queue.clone();
        let shutdown = shutdown.clone();
        let sync = sync.clone();
        tasks.spawn(async move {
            while let Some(Taken { key, waited }) = queue.take(&shutdown).await {
                match sync(key.clone(), waited).await {
                    Ok(()) => queue.forget(&key),
                    Err(e) => {
                        tracing::debug!(controller = name, key, error = %e, "sync failed; retrying with backoff");
                        queue.add_rate_limited(&key);
                    }
                }
                queue.done(&key);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop() -> CancellationToken {
        CancellationToken::new()
    }

    #[tokio::test]
    async fn a_key_added_twice_before_it_is_taken_is_processed_once() {
        let q = KeyQueue::default();
        q.add("ns/a");
        q.add("ns/b");
        q.add("ns/a");
        assert_eq!(q.len(), 2);
        assert_eq!(q.take(&stop()).await.unwrap().key, "ns/a");
        assert_eq!(q.take(&stop()).await.unwrap().key, "ns/b");
        assert_eq!(q.len(), 0);
    }

    #[tokio::test]
    async fn a_key_added_while_processing_comes_back_only_after_done() {
        let q = KeyQueue::default();
        q.add("k");
        let taken = q.take(&stop()).await.unwrap();
        q.add("k");
        assert_eq!(q.len(), 0, "not handed out while a worker holds it");
        q.done(&taken.key);
        assert_eq!(q.len(), 1);
        assert_eq!(q.take(&stop()).await.unwrap().key, "k");
    }

    #[tokio::test]
    async fn done_without_a_new_add_does_not_requeue() {
        let q = KeyQueue::default();
        q.add("k");
        let taken = q.take(&stop()).await.unwrap();
        q.done(&taken.key);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn backoff_doubles_from_5ms_and_caps_at_1000s() {
        assert_eq!(backoff(1), Duration::from_millis(5));
        assert_eq!(backoff(2), Duration::from_millis(10));
        assert_eq!(backoff(5), Duration::from_millis(80));
        assert_eq!(backoff(40), MAX_DELAY);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_key_comes_back_after_its_backoff_and_forget_resets_it() {
        let q = KeyQueue::default();
        q.add_rate_limited("k");
        q.add_rate_limited("k");
        assert_eq!(q.failures("k"), 2);
        let started = Instant::now();
        assert_eq!(q.take(&stop()).await.unwrap().key, "k");
        assert!(started.elapsed() >= Duration::from_millis(5));
        q.done("k");
        q.forget("k");
        assert_eq!(q.failures("k"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_keys_come_due_in_order_of_their_deadlines() {
        let q = KeyQueue::default();
        q.add_after("late", Duration::from_secs(2));
        q.add_after("early", Duration::from_secs(1));
        assert_eq!(q.take(&stop()).await.unwrap().key, "early");
        assert_eq!(q.take(&stop()).await.unwrap().key, "late");
    }

    #[tokio::test]
    async fn workers_retry_a_failing_key_until_it_succeeds() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let q = Arc::new(KeyQueue::default());
        let calls = Arc::new(AtomicU32::new(0));
        let shutdown = stop();
        q.add("k");
        let sync = {
            let calls = calls.clone();
            let shutdown = shutdown.clone();
            move |_key: String, _waited: Duration| {
                let calls = calls.clone();
                let shutdown = shutdown.clone();
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        return Err(crate::error::ApiError::internal("not yet"));
                    }
                    shutdown.cancel();
                    Ok(())
                }
            }
        };
        tokio::time::timeout(
            Duration::from_secs(10),
            run_workers("test", q.clone(), 2, shutdown.clone(), sync),
        )
        .await
        .expect("the workers stop once the key succeeds");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(q.failures("k"), 0);
    }

    #[tokio::test]
    async fn a_cancelled_queue_hands_out_nothing() {
        let q = KeyQueue::default();
        let s = stop();
        s.cancel();
        assert!(q.take(&s).await.is_none());
    }
}
