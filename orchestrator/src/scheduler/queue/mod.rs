//! The scheduling queue (upstream `internal/queue.PriorityQueue`): pods waiting to be scheduled,
//! and the nominator (pods nominated to nodes by preemption).
//!
//! This first version is a plain priority queue with no backoff: the interface the scheduling
//! loop uses is final, the internals (active heap, backoff queue, unschedulable pods moved on
//! cluster events, periodic flushes) come with the queue's own work.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::framework::{ClusterEvent, PodInfo, PreEnqueue, QueueSort, QueuedPodInfo};

/// How many pods wait in each part of the queue (for `scheduler_pending_pods{queue}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingCounts {
    pub active: usize,
    pub backoff: usize,
    pub unschedulable: usize,
    pub gated: usize,
}

/// The queue's timing (upstream defaults: 1 s initial backoff, 10 s max, unschedulable pods
/// flushed after 5 min).
#[derive(Clone, Debug)]
pub struct QueueConfig {
    pub initial_backoff: std::time::Duration,
    pub max_backoff: std::time::Duration,
    pub max_unschedulable: std::time::Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            initial_backoff: std::time::Duration::from_secs(1),
            max_backoff: std::time::Duration::from_secs(10),
            max_unschedulable: std::time::Duration::from_secs(300),
        }
    }
}

/// The queue.
pub struct SchedulingQueue {
    less: Arc<dyn QueueSort>,
    pre_enqueue: Vec<(&'static str, Arc<dyn PreEnqueue>)>,
    #[allow(dead_code)]
    config: QueueConfig,
    /// Which events requeue a pod rejected by which plugin.
    #[allow(dead_code)]
    plugin_events: HashMap<&'static str, Vec<ClusterEvent>>,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Default)]
struct State {
    active: Vec<QueuedPodInfo>,
    nominated: HashMap<String, Vec<Arc<PodInfo>>>,
    cycle: u64,
}

impl std::fmt::Debug for SchedulingQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulingQueue")
            .field("pending", &self.pending())
            .finish()
    }
}

impl SchedulingQueue {
    /// An empty queue ordered by `less`, gating pods through `pre_enqueue` plugins (name,
    /// plugin), requeueing on `plugin_events` (plugin name → events that may help its rejects).
    pub fn new(
        less: Arc<dyn QueueSort>,
        pre_enqueue: Vec<(&'static str, Arc<dyn PreEnqueue>)>,
        plugin_events: HashMap<&'static str, Vec<ClusterEvent>>,
        config: QueueConfig,
    ) -> Self {
        Self {
            less,
            pre_enqueue,
            config,
            plugin_events,
            state: Mutex::new(State::default()),
            notify: Notify::new(),
        }
    }

    /// A new unscheduled pod (or one seen again after a relist).
    pub fn add(&self, pod: Arc<PodInfo>) {
        if self
            .pre_enqueue
            .iter()
            .any(|(_, p)| !p.pre_enqueue(&pod).is_success())
        {
            return;
        }
        let now = Instant::now();
        let mut s = self.state.lock();
        s.active.retain(|q| q.pod.uid != pod.uid);
        s.active.push(QueuedPodInfo {
            pod,
            initial_attempt: Some(now),
            timestamp: now,
            attempts: 0,
            unschedulable_plugins: Vec::new(),
            pending_plugins: Vec::new(),
        });
        drop(s);
        self.notify.notify_one();
    }

    /// An unscheduled pod changed.
    pub fn update(&self, pod: Arc<PodInfo>) {
        self.add(pod);
    }

    /// An unscheduled pod was deleted or got bound by someone else.
    pub fn delete(&self, uid: &str) {
        let mut s = self.state.lock();
        s.active.retain(|q| q.pod.uid != uid);
        for pods in s.nominated.values_mut() {
            pods.retain(|p| p.uid != uid);
        }
    }

    /// The next pod to schedule, waiting until one is there; `None` on shutdown. Starts a new
    /// scheduling cycle.
    pub async fn pop(&self, shutdown: &CancellationToken) -> Option<QueuedPodInfo> {
        loop {
            {
                let mut s = self.state.lock();
                if !s.active.is_empty() {
                    let mut best = 0;
                    for i in 1..s.active.len() {
                        if self.less.less(&s.active[i], &s.active[best]) {
                            best = i;
                        }
                    }
                    let mut q = s.active.swap_remove(best);
                    q.attempts += 1;
                    s.cycle += 1;
                    return Some(q);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = self.notify.notified() => {}
            }
        }
    }

    /// The pod failed its cycle (`cycle` is the cycle it was popped in): back into the queue
    /// per its unschedulable plugins (backoff or unschedulable).
    pub fn add_unschedulable(&self, mut pod: QueuedPodInfo, _cycle: u64) {
        pod.timestamp = Instant::now();
        self.state.lock().active.push(pod);
        self.notify.notify_one();
    }

    /// The pod's cycle is over (scheduled or requeued).
    pub fn done(&self, _uid: &str) {}

    /// A cluster event happened: move the unschedulable pods it may help.
    pub fn on_event(&self, _event: ClusterEvent) {}

    /// The current scheduling cycle number.
    pub fn scheduling_cycle(&self) -> u64 {
        self.state.lock().cycle
    }

    /// Pods waiting, by queue.
    pub fn pending(&self) -> PendingCounts {
        PendingCounts {
            active: self.state.lock().active.len(),
            ..PendingCounts::default()
        }
    }

    /// Record that `pod` is nominated to `node` (empty: clear its nomination).
    pub fn nominate(&self, pod: Arc<PodInfo>, node: &str) {
        let mut s = self.state.lock();
        for pods in s.nominated.values_mut() {
            pods.retain(|p| p.uid != pod.uid);
        }
        if !node.is_empty() {
            s.nominated.entry(node.to_string()).or_default().push(pod);
        }
    }

    /// Pods nominated to `node`.
    pub fn nominated_pods(&self, node: &str) -> Vec<Arc<PodInfo>> {
        self.state
            .lock()
            .nominated
            .get(node)
            .cloned()
            .unwrap_or_default()
    }
}
