//! The scheduling queue (upstream `internal/queue.PriorityQueue`, QueueingHint-less behaviour):
//! pods waiting to be scheduled, in three parts, and the nominator.
//!
//! - the active queue, a heap in the profile's QueueSort order, which `pop` takes from;
//! - the backoff queue, a heap by backoff expiry (1 s doubling per attempt up to 10 s), for
//!   pods that failed but may succeed soon;
//! - the unschedulable pods, rejected by plugins and waiting for a cluster event one of those
//!   plugins registered (or for the 5-minute leftover flush); gated pods (PreEnqueue not
//!   Success) wait here too, marked gated, until an update lifts their gates.
//!
//! The periodic flushes (backoff → active every second, unschedulable leftovers every 30 s)
//! run inside [`SchedulingQueue::pop`]: each call flushes what is due, and a `pop` waiting on
//! an empty active queue wakes at the next flush. No task to start, and a paused tokio clock
//! drives them in tests.

mod heap;
mod nominator;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::framework::{
    ActionType, ClusterEvent, EventResource, Labels, PodInfo, PreEnqueue, QueueSort, QueuedPodInfo,
};
use heap::PodHeap;
use nominator::Nominator;

/// The plugin whose rejections any pod event may lift (upstream moves pods PodTopologySpread
/// rejected on every assigned-pod event in their namespace).
const POD_TOPOLOGY_SPREAD: &str = "PodTopologySpread";
/// How often backoff-completed pods move to the active queue (upstream `flushBackoffQCompleted`
/// period).
const BACKOFF_FLUSH_PERIOD: Duration = Duration::from_secs(1);
/// How often unschedulable pods are checked for the leftover timeout (upstream
/// `flushUnschedulablePodsLeftover` period).
const UNSCHEDULABLE_FLUSH_PERIOD: Duration = Duration::from_secs(30);

/// How many pods wait in each part of the queue (for `scheduler_pending_pods{queue}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingCounts {
    /// In the active queue.
    pub active: usize,
    /// Backing off.
    pub backoff: usize,
    /// Rejected by plugins, waiting for an event (gated pods not included).
    pub unschedulable: usize,
    /// Held by a PreEnqueue plugin (scheduling gates).
    pub gated: usize,
}

/// The queue's timing (upstream defaults: 1 s initial backoff, 10 s max, unschedulable pods
/// flushed after 5 min).
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// Backoff after the first failed attempt (`podInitialBackoffSeconds`).
    pub initial_backoff: Duration,
    /// The longest backoff (`podMaxBackoffSeconds`).
    pub max_backoff: Duration,
    /// How long a pod stays unschedulable before it is retried anyway
    /// (`podMaxInUnschedulablePodsDuration`).
    pub max_unschedulable: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_unschedulable: Duration::from_secs(300),
        }
    }
}

/// The queue.
pub struct SchedulingQueue {
    less: Arc<dyn QueueSort>,
    pre_enqueue: Vec<(&'static str, Arc<dyn PreEnqueue>)>,
    config: QueueConfig,
    /// Which events requeue a pod rejected by which plugin. A rejecting plugin missing here is
    /// taken to register every event (upstream's default for plugins without
    /// `EventsToRegister`).
    plugin_events: HashMap<&'static str, Vec<ClusterEvent>>,
    state: Mutex<State>,
    nominator: Nominator,
    notify: Notify,
}

/// An entry of the unschedulable pods.
struct Unschedulable {
    info: QueuedPodInfo,
    /// Held by PreEnqueue (never backing off, counted as gated).
    gated: bool,
}

/// What happened to a pod while its cycle ran (between `pop` and `add_unschedulable`/`done`).
#[derive(Default)]
struct InFlight {
    /// The newest object seen by `update`.
    latest: Option<Arc<PodInfo>>,
    deleted: bool,
}

struct State {
    active: PodHeap,
    backoff: PodHeap,
    unschedulable: HashMap<String, Unschedulable>,
    gated: usize,
    in_flight: HashMap<String, InFlight>,
    cycle: u64,
    /// The cycle during which the last move request (cluster event) happened: pods that
    /// failed in that cycle or earlier missed it and go to backoff instead of waiting.
    move_request_cycle: Option<u64>,
    next_backoff_flush: Instant,
    next_unschedulable_flush: Instant,
}

impl std::fmt::Debug for SchedulingQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulingQueue")
            .field("pending", &self.pending())
            .finish()
    }
}

/// Upstream `calculateBackoffDuration`: none before the first attempt, then `initial`
/// doubling per further attempt, capped at `max`.
pub fn backoff_duration(attempts: u32, initial: Duration, max: Duration) -> Duration {
    if attempts == 0 {
        return Duration::ZERO;
    }
    let mut d = initial;
    for _ in 1..attempts {
        if d > max.saturating_sub(d) {
            return max;
        }
        d += d;
    }
    d
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
        let now = Instant::now();
        Self {
            less,
            pre_enqueue,
            config,
            plugin_events,
            state: Mutex::new(State {
                active: PodHeap::default(),
                backoff: PodHeap::default(),
                unschedulable: HashMap::new(),
                gated: 0,
                in_flight: HashMap::new(),
                cycle: 0,
                move_request_cycle: None,
                next_backoff_flush: now + BACKOFF_FLUSH_PERIOD,
                next_unschedulable_flush: now + UNSCHEDULABLE_FLUSH_PERIOD,
            }),
            nominator: Nominator::default(),
            notify: Notify::new(),
        }
    }

    /// A new unscheduled pod (or one seen again after a relist: then an update).
    pub fn add(&self, pod: Arc<PodInfo>) {
        let mut s = self.state.lock();
        let uid = pod.uid.as_str();
        if s.in_flight.contains_key(uid)
            || s.active.contains(uid)
            || s.backoff.contains(uid)
            || s.unschedulable.contains_key(uid)
        {
            drop(s);
            return self.update(pod);
        }
        let now = Instant::now();
        self.nominator.add(&pod, "");
        let q = QueuedPodInfo {
            pod,
            initial_attempt: Some(now),
            timestamp: now,
            attempts: 0,
            unschedulable_plugins: Vec::new(),
            pending_plugins: Vec::new(),
        };
        if self.move_to_active(&mut s, q) {
            drop(s);
            self.notify.notify_one();
        }
    }

    /// An unscheduled pod changed (upstream `Update`): replaced in place in the active and
    /// backoff queues; an unschedulable pod whose spec or metadata changed is retried (active,
    /// or backoff while its backoff runs); a pod in no queue is added.
    pub fn update(&self, pod: Arc<PodInfo>) {
        let mut s = self.state.lock();
        let uid = pod.uid.clone();
        if let Some(f) = s.in_flight.get_mut(&uid) {
            f.latest = Some(pod);
            return;
        }
        let less = |a: &QueuedPodInfo, b: &QueuedPodInfo| self.less.less(a, b);
        if let Some(old) = s.active.get(&uid) {
            let mut q = old.clone();
            self.nominator.update(&q.pod, &pod);
            q.pod = pod;
            s.active.push(q, less);
            return;
        }
        if let Some(old) = s.backoff.get(&uid) {
            let mut q = old.clone();
            self.nominator.update(&q.pod, &pod);
            q.pod = pod;
            let by_expiry = self.backoff_less();
            s.backoff.push(q, by_expiry);
            return;
        }
        if let Some(entry) = s.unschedulable.get_mut(&uid) {
            let old = std::mem::replace(&mut entry.info.pod, pod.clone());
            self.nominator.update(&old, &pod);
            if !pod_updated(&old, &pod) {
                return;
            }
            let entry = s.unschedulable.remove(&uid).expect("just found");
            if entry.gated {
                s.gated -= 1;
            }
            let now = Instant::now();
            if !entry.gated && self.backing_off(&entry.info, now) {
                // `pop` may be asleep until the next leftover flush: wake it to plan the
                // backoff flush instead.
                s.backoff.push(entry.info, self.backoff_less());
                drop(s);
                self.notify.notify_one();
            } else if self.move_to_active(&mut s, entry.info) {
                drop(s);
                self.notify.notify_one();
            }
            return;
        }
        drop(s);
        self.add(pod);
    }

    /// An unscheduled pod was deleted or got bound by someone else.
    pub fn delete(&self, uid: &str) {
        self.nominator.delete(uid);
        let mut s = self.state.lock();
        if let Some(f) = s.in_flight.get_mut(uid) {
            f.deleted = true;
        }
        let less = |a: &QueuedPodInfo, b: &QueuedPodInfo| self.less.less(a, b);
        if s.active.remove(uid, less).is_some() {
            return;
        }
        if s.backoff.remove(uid, self.backoff_less()).is_some() {
            return;
        }
        if let Some(e) = s.unschedulable.remove(uid)
            && e.gated
        {
            s.gated -= 1;
        }
    }

    /// The next pod to schedule, waiting until one is there; `None` on shutdown. Starts a new
    /// scheduling cycle. Runs the periodic flushes that are due.
    pub async fn pop(&self, shutdown: &CancellationToken) -> Option<QueuedPodInfo> {
        loop {
            let wake_at = {
                let mut s = self.state.lock();
                let now = Instant::now();
                self.flush_due(&mut s, now);
                let less = |a: &QueuedPodInfo, b: &QueuedPodInfo| self.less.less(a, b);
                if let Some(mut q) = s.active.pop(less) {
                    q.attempts += 1;
                    s.cycle += 1;
                    q.unschedulable_plugins.clear();
                    q.pending_plugins.clear();
                    q.initial_attempt.get_or_insert(now);
                    s.in_flight.insert(q.pod.uid.clone(), InFlight::default());
                    return Some(q);
                }
                let mut wake = None::<Instant>;
                if s.backoff.len() > 0 {
                    wake = Some(s.next_backoff_flush);
                }
                if !s.unschedulable.is_empty() {
                    let u = s.next_unschedulable_flush;
                    wake = Some(wake.map_or(u, |w| w.min(u)));
                }
                wake
            };
            match wake_at {
                Some(at) => tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = self.notify.notified() => {}
                    _ = tokio::time::sleep_until(at) => {}
                },
                None => tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = self.notify.notified() => {}
                },
            }
        }
    }

    /// The pod failed its cycle (`cycle` is the cycle it was popped in): back into the queue
    /// per its unschedulable plugins (upstream `AddUnschedulableIfNotPresent`). Rejected by
    /// plugins: unschedulable, unless a move request came during or after `cycle` (then
    /// backoff, so the event it missed is not lost). Failed with no rejecting plugin (an
    /// error): backoff. Updated while in flight: backoff. Deleted while in flight: dropped.
    ///
    /// The in-memory nomination follows the pod object's `status.nominatedNodeName` here
    /// (upstream's no-op nominating info); when PostFilter nominated the pod, call
    /// [`Self::nominate`] after this, as upstream's failure handler does.
    pub fn add_unschedulable(&self, mut pod: QueuedPodInfo, cycle: u64) {
        let mut s = self.state.lock();
        let mut updated = false;
        if let Some(f) = s.in_flight.remove(&pod.pod.uid) {
            if f.deleted {
                return;
            }
            if let Some(latest) = f.latest {
                updated = pod_updated(&pod.pod, &latest);
                self.nominator.update(&pod.pod, &latest);
                pod.pod = latest;
            }
        }
        let uid = pod.pod.uid.as_str();
        if s.active.contains(uid) || s.backoff.contains(uid) || s.unschedulable.contains_key(uid) {
            return;
        }
        pod.timestamp = Instant::now();
        let rejected_by_plugins =
            !pod.unschedulable_plugins.is_empty() || !pod.pending_plugins.is_empty();
        let missed_move = s.move_request_cycle.is_some_and(|m| m >= cycle);
        self.nominator.add(&pod.pod, "");
        if !rejected_by_plugins || missed_move || updated {
            s.backoff.push(pod, self.backoff_less());
        } else {
            s.unschedulable.insert(
                pod.pod.uid.clone(),
                Unschedulable {
                    info: pod,
                    gated: false,
                },
            );
        }
    }

    /// The pod's cycle is over (scheduled or requeued).
    pub fn done(&self, uid: &str) {
        self.state.lock().in_flight.remove(uid);
    }

    /// A cluster event happened: move the unschedulable pods it may help (those whose
    /// rejecting plugins registered a matching event) to active, or to backoff while their
    /// backoff runs (upstream `MoveAllToActiveOrBackoffQueue`). Records a move request.
    pub fn on_event(&self, event: ClusterEvent) {
        let s = self.state.lock();
        let uids: Vec<String> = s
            .unschedulable
            .iter()
            .filter(|(_, e)| self.matches(&e.info, event))
            .map(|(uid, _)| uid.clone())
            .collect();
        self.move_pods(s, uids, event);
    }

    /// A pod bound to a node was added or updated (upstream `AssignedPodAdded` /
    /// `AssignedPodUpdated`): only pods it may help are candidates — those with a required
    /// affinity term selecting it (its namespace has `ns_labels`) and those PodTopologySpread
    /// rejected in its namespace; then the usual event match. A scale-down or a delete frees
    /// resources for anyone: use [`Self::on_event`] for those.
    pub fn on_assigned_pod(&self, event: ClusterEvent, pod: &PodInfo, ns_labels: Option<&Labels>) {
        let s = self.state.lock();
        let uids: Vec<String> = s
            .unschedulable
            .iter()
            .filter(|(_, e)| {
                let p = &e.info.pod;
                let cross = (e.info.unschedulable_plugins.contains(&POD_TOPOLOGY_SPREAD)
                    && p.namespace == pod.namespace)
                    || p.required_affinity_terms
                        .iter()
                        .any(|t| t.matches(pod, ns_labels));
                cross && self.matches(&e.info, event)
            })
            .map(|(uid, _)| uid.clone())
            .collect();
        self.move_pods(s, uids, event);
    }

    /// Move these unschedulable pods out, record the move request, wake `pop`. An event no
    /// plugin registered is no move request at all (upstream `isEventOfInterest`).
    fn move_pods(
        &self,
        mut s: parking_lot::MutexGuard<'_, State>,
        uids: Vec<String>,
        event: ClusterEvent,
    ) {
        if !self.of_interest(event) {
            return;
        }
        let moved = self.move_locked(&mut s, uids, Instant::now());
        drop(s);
        if moved {
            self.notify.notify_one();
        }
    }

    /// Move these unschedulable pods to active, or to backoff while their backoff runs, and
    /// record the move request (upstream `movePodsToActiveOrBackoffQueue`); whether any went
    /// to active or backoff. Either is a reason to wake `pop`: one asleep until the next
    /// leftover flush (30 s) must plan the backoff flush (1 s) instead.
    fn move_locked(&self, s: &mut State, uids: Vec<String>, now: Instant) -> bool {
        let mut moved = false;
        for uid in uids {
            let Some(e) = s.unschedulable.remove(&uid) else {
                continue;
            };
            if e.gated {
                s.gated -= 1;
            }
            if !e.gated && self.backing_off(&e.info, now) {
                s.backoff.push(e.info, self.backoff_less());
                moved = true;
            } else {
                moved |= self.move_to_active(s, e.info);
            }
        }
        s.move_request_cycle = Some(s.cycle);
        moved
    }

    /// Move backoff-completed pods to the active queue (upstream `flushBackoffQCompleted`);
    /// `pop` runs this every second.
    pub fn flush_backoff_completed(&self) {
        let mut s = self.state.lock();
        if self.flush_backoff(&mut s, Instant::now()) {
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Move pods unschedulable for longer than `max_unschedulable` out (upstream
    /// `flushUnschedulablePodsLeftover`); `pop` runs this every 30 s.
    pub fn flush_unschedulable_leftover(&self) {
        let s = self.state.lock();
        let now = Instant::now();
        let uids = self.leftovers(&s, now);
        if !uids.is_empty() {
            self.move_pods(s, uids, UNSCHEDULABLE_TIMEOUT);
        }
    }

    /// The current scheduling cycle number.
    pub fn scheduling_cycle(&self) -> u64 {
        self.state.lock().cycle
    }

    /// Pods waiting, by queue.
    pub fn pending(&self) -> PendingCounts {
        let s = self.state.lock();
        PendingCounts {
            active: s.active.len(),
            backoff: s.backoff.len(),
            unschedulable: s.unschedulable.len() - s.gated,
            gated: s.gated,
        }
    }

    /// Every pod waiting in the queue (not those in flight), for debugging and tests
    /// (upstream `PendingPods`).
    pub fn pending_pods(&self) -> Vec<Arc<PodInfo>> {
        let s = self.state.lock();
        s.active
            .iter()
            .chain(s.backoff.iter())
            .chain(s.unschedulable.values().map(|e| &e.info))
            .map(|q| q.pod.clone())
            .collect()
    }

    /// Record that `pod` is nominated to `node` (empty: clear its nomination).
    pub fn nominate(&self, pod: Arc<PodInfo>, node: &str) {
        if node.is_empty() {
            self.nominator.delete(&pod.uid);
        } else {
            self.nominator.add(&pod, node);
        }
    }

    /// Pods nominated to `node`.
    pub fn nominated_pods(&self, node: &str) -> Vec<Arc<PodInfo>> {
        self.nominator.pods_for(node)
    }

    /// The node `uid` is nominated to, if any.
    pub fn nominated_node(&self, uid: &str) -> Option<String> {
        self.nominator.node_of(uid)
    }

    /// Whether any pod is nominated (lets the filters skip nominated-pod accounting without a
    /// lock).
    pub fn has_nominated_pods(&self) -> bool {
        self.nominator.any()
    }

    // ---- internals (the state lock is held) ----

    /// Run PreEnqueue; a pod that passes goes to the active queue (true), one that does not
    /// waits gated among the unschedulable pods (upstream `moveToActiveQ`).
    fn move_to_active(&self, s: &mut State, mut q: QueuedPodInfo) -> bool {
        for (name, plugin) in &self.pre_enqueue {
            let status = plugin.pre_enqueue(&q.pod);
            if status.is_success() {
                continue;
            }
            if !q.pending_plugins.contains(name) {
                q.pending_plugins.push(name);
            }
            let uid = q.pod.uid.clone();
            s.backoff.remove(&uid, self.backoff_less());
            let prev = s.unschedulable.insert(
                uid,
                Unschedulable {
                    info: q,
                    gated: true,
                },
            );
            match prev {
                Some(p) if p.gated => {}
                _ => s.gated += 1,
            }
            return false;
        }
        let uid = q.pod.uid.clone();
        if let Some(prev) = s.unschedulable.remove(&uid)
            && prev.gated
        {
            s.gated -= 1;
        }
        s.backoff.remove(&uid, self.backoff_less());
        s.active.push(q, |a, b| self.less.less(a, b));
        true
    }

    /// Whether any plugin registered an event matching this one.
    fn of_interest(&self, event: ClusterEvent) -> bool {
        is_wildcard(event)
            || self.plugin_events.is_empty()
            || self
                .plugin_events
                .values()
                .flatten()
                .any(|e| event_matches(*e, event))
    }

    /// Whether the event may help a pod its plugins rejected (upstream `podMatchesEvent`).
    fn matches(&self, q: &QueuedPodInfo, event: ClusterEvent) -> bool {
        if is_wildcard(event) {
            return true;
        }
        if q.unschedulable_plugins.is_empty() && q.pending_plugins.is_empty() {
            return true;
        }
        q.unschedulable_plugins
            .iter()
            .chain(q.pending_plugins.iter())
            .any(|plugin| match self.plugin_events.get(plugin) {
                None => true,
                Some(events) => events.iter().any(|e| event_matches(*e, event)),
            })
    }

    fn backoff_until(&self, q: &QueuedPodInfo) -> Instant {
        q.timestamp
            + backoff_duration(
                q.attempts,
                self.config.initial_backoff,
                self.config.max_backoff,
            )
    }

    fn backing_off(&self, q: &QueuedPodInfo, now: Instant) -> bool {
        self.backoff_until(q) > now
    }

    fn backoff_less(&self) -> impl Fn(&QueuedPodInfo, &QueuedPodInfo) -> bool + '_ {
        |a, b| self.backoff_until(a) < self.backoff_until(b)
    }

    /// Move every pod whose backoff ended; whether any moved.
    fn flush_backoff(&self, s: &mut State, now: Instant) -> bool {
        let mut moved = false;
        while let Some(q) = s.backoff.peek() {
            if self.backing_off(q, now) {
                break;
            }
            let q = s.backoff.pop(self.backoff_less()).expect("peeked");
            s.active.push(q, |a, b| self.less.less(a, b));
            moved = true;
        }
        moved
    }

    fn leftovers(&self, s: &State, now: Instant) -> Vec<String> {
        s.unschedulable
            .iter()
            .filter(|(_, e)| {
                now.saturating_duration_since(e.info.timestamp) > self.config.max_unschedulable
            })
            .map(|(uid, _)| uid.clone())
            .collect()
    }

    /// The periodic flushes whose time has come.
    fn flush_due(&self, s: &mut State, now: Instant) {
        if now >= s.next_backoff_flush {
            self.flush_backoff(s, now);
            s.next_backoff_flush = now + BACKOFF_FLUSH_PERIOD;
        }
        if now >= s.next_unschedulable_flush {
            s.next_unschedulable_flush = now + UNSCHEDULABLE_FLUSH_PERIOD;
            let uids = self.leftovers(s, now);
            if !uids.is_empty() {
                self.move_locked(s, uids, now);
            }
        }
    }
}

/// Upstream's wildcard event (any resource, any action).
fn is_wildcard(e: ClusterEvent) -> bool {
    e.resource == EventResource::Any && e.action == ActionType::ALL
}

/// Whether a `registered` event covers one that happened (upstream `ClusterEvent.Match`).
/// Plugins register `Pod`, which upstream matches to the assigned-pod events the informer
/// sends; without that, a pod InterPodAffinity or PodTopologySpread rejected waited for the
/// leftover flush instead of moving when a pod it needs was bound or one in its way deleted.
fn event_matches(registered: ClusterEvent, happened: ClusterEvent) -> bool {
    let resource_matches = registered.resource == happened.resource
        || (registered.resource == EventResource::Pod
            && happened.resource == EventResource::AssignedPod);
    is_wildcard(registered) || (resource_matches && registered.action.intersects(happened.action))
}

/// The event of the leftover flush (upstream `UnschedulableTimeout`, a wildcard).
const UNSCHEDULABLE_TIMEOUT: ClusterEvent = ClusterEvent {
    resource: EventResource::Any,
    action: ActionType::ALL,
};

/// Whether the pod changed in a way that may make it schedulable (upstream `isPodUpdated`):
/// anything but the resource version, generation, status, managed fields and finalizers.
fn pod_updated(old: &PodInfo, new: &PodInfo) -> bool {
    if Arc::ptr_eq(&old.stored, &new.stored) || old.stored.bytes == new.stored.bytes {
        return false;
    }
    let strip = |p: &PodInfo| {
        let mut v = p.stored.value();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "resourceVersion",
                "generation",
                "managedFields",
                "finalizers",
            ] {
                m.remove(k);
            }
        }
        if let Some(o) = v.as_object_mut() {
            o.remove("status");
        }
        v
    };
    strip(old) != strip(new)
}
