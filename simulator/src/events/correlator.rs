//! client-go's `EventCorrelator` (`tools/record/events_cache.go`), as a pure struct: no I/O and
//! no clock reads — every call is given `now`, so tests drive time by hand.
//!
//! Each event passes three stages, in upstream's order:
//! 1. aggregation: events that differ only in their message are grouped; once a group has seen
//!    [`Correlation::aggregate_max_events`] distinct messages within a rolling
//!    [`Correlation::aggregate_interval`], the event is replaced by one whose message is
//!    `(combined from similar events): <message>` and which is itself counted from then on;
//! 2. deduplication: an event identical to one already recorded (same source, involved object
//!    including `fieldPath`, type, reason, message) becomes a patch of that Event — `count`+1,
//!    `lastTimestamp` now — instead of a new object;
//! 3. spam filter: a token bucket per source and involved object (burst 25, one token back every
//!    5 minutes) refuses what exceeds it. It runs last, so a refused event has still been counted
//!    in the deduplication state and the next admitted patch carries the full count, as upstream.
//!
//! Windows are in real time (the simulator's clock factor does not touch them), as a kubelet's.
//! All three caches are bounded LRUs so memory stays flat however long the simulator runs, and
//! they are keyed by 128-bit hashes of upstream's key strings rather than the strings themselves,
//! so an entry costs about 200 bytes whatever the names and messages: one recorder serves
//! thousands of nodes, and its caches are sized for all of them (see
//! [`super::EventRecorderConfig::for_nodes`]).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::{Map, Value};

use super::lru::Lru;

/// The prefix upstream's `EventAggregatorByReasonMessageFunc` puts before the latest message.
pub(crate) const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// The correlator's limits; the defaults are upstream's (`NewEventCorrelator`).
#[derive(Clone, Debug, PartialEq)]
pub struct Correlation {
    /// Entries in each of the three caches (upstream `maxLruCacheEntries`: 4096).
    pub cache_entries: usize,
    /// Events a source may send about one object at once (upstream `defaultSpamBurst`: 25).
    pub spam_burst: u32,
    /// Tokens per second refilled into each object's bucket (upstream `defaultSpamQPS`: 1/300).
    /// An `f32` as upstream's, so a refill lands on the same instants.
    pub spam_qps: f32,
    /// Distinct messages of similar events that trigger combining (upstream
    /// `defaultAggregateMaxEvents`: 10).
    pub aggregate_max_events: usize,
    /// How long after the last similar event a group is forgotten (upstream
    /// `defaultAggregateIntervalInSeconds`: 600 s).
    pub aggregate_interval: Duration,
}

impl Default for Correlation {
    fn default() -> Self {
        Self {
            cache_entries: 4096,
            spam_burst: 25,
            spam_qps: 1.0 / 300.0,
            aggregate_max_events: 10,
            aggregate_interval: Duration::from_secs(600),
        }
    }
}

/// What to do with one event after correlation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Correlated {
    /// The spam filter refused it: write nothing.
    Skip,
    /// Create this new Event.
    Create(Event),
    /// Update the existing Event `event.metadata.name` with this merge patch (`count`,
    /// `lastTimestamp`, `message`); `event` is its whole new state, to create should the patch
    /// find it gone.
    Patch {
        /// The Event as it should now be.
        event: Event,
        /// The patch body.
        patch: Value,
    },
}

/// Unique, increasing nanosecond stamps for Event names (`<object>.<hex stamp>`). Upstream uses
/// the bare clock, so two events in one nanosecond would collide; thousands of hollow nodes in
/// one process make that likely, hence the bump.
#[derive(Debug, Default)]
pub(crate) struct Stamps(AtomicI64);

impl Stamps {
    /// A stamp at `now`, or just after the previous one when the clock has not moved past it.
    pub(crate) fn next(&self, now: Timestamp) -> i64 {
        let wanted = i64::try_from(now.as_nanosecond()).unwrap_or(i64::MAX);
        let previous = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(wanted.max(last.saturating_add(1)))
            })
            .unwrap_or_else(|last| last);
        wanted.max(previous.saturating_add(1))
    }
}

/// The name of an Event about the object named `object`, as upstream's `fmt.Sprintf("%v.%x")`.
pub(crate) fn event_name(object: &str, stamp: i64) -> String {
    format!("{object}.{stamp:x}")
}

/// A token bucket as `golang.org/x/time/rate`'s `Limiter`, which upstream's
/// `flowcontrol.NewTokenBucketRateLimiter` wraps: starts full, refills continuously, and a
/// refusal leaves its state untouched.
#[derive(Clone, Debug)]
struct TokenBucket {
    tokens: f64,
    last: Timestamp,
}

impl TokenBucket {
    fn full(burst: u32, now: Timestamp) -> Self {
        Self {
            tokens: f64::from(burst),
            last: now,
        }
    }

    fn try_take(&mut self, now: Timestamp, qps: f32, burst: u32) -> bool {
        let elapsed = now.duration_since(self.last).as_secs_f64().max(0.0);
        let tokens = (self.tokens + elapsed * f64::from(qps)).min(f64::from(burst));
        if tokens < 1.0 {
            return false;
        }
        self.tokens = tokens - 1.0;
        self.last = now;
        true
    }
}

/// Upstream's `aggregateRecord`: the distinct messages seen in a group, and when it last grew.
#[derive(Clone, Debug)]
struct AggregateRecord {
    /// Hashes of the messages: an insertion-ordered set, never above `aggregate_max_events`.
    messages: Vec<u64>,
    last: Timestamp,
}

/// Upstream's `eventLog`: what the API holds for an event already written.
#[derive(Clone, Debug)]
struct EventLog {
    count: i32,
    first_timestamp: Option<Time>,
    name: Option<String>,
    resource_version: Option<String>,
}

/// Filters, aggregates and deduplicates events as client-go's `EventCorrelator`.
pub(crate) struct Correlator {
    config: Correlation,
    spam: Lru<Key, TokenBucket>,
    aggregates: Lru<Key, AggregateRecord>,
    log: Lru<Key, EventLog>,
    stamps: Arc<Stamps>,
}

impl Correlator {
    /// A correlator with `config`'s limits, naming combined events from `stamps`.
    pub(crate) fn new(config: Correlation, stamps: Arc<Stamps>) -> Self {
        Self {
            spam: Lru::new(config.cache_entries),
            aggregates: Lru::new(config.cache_entries),
            log: Lru::new(config.cache_entries),
            config,
            stamps,
        }
    }

    /// Decide what to write for `event`, observed at `now`.
    pub(crate) fn correlate(&mut self, event: Event, now: Timestamp) -> Correlated {
        let (event, key) = self.aggregate(event, now);
        let (event, patch) = self.observe(event, key);
        if !self.admit(&event, now) {
            return Correlated::Skip;
        }
        match patch {
            None => Correlated::Create(event),
            Some(patch) => Correlated::Patch { event, patch },
        }
    }

    /// Remember what the API returned for a written event (name, count, resourceVersion), as
    /// upstream's `UpdateState`.
    pub(crate) fn update_state(&mut self, event: &Event) {
        self.log.insert(event_key(event), EventLog::of(event));
    }

    /// Entries in the (spam, aggregation, deduplication) caches.
    #[cfg(test)]
    pub(crate) fn cache_sizes(&self) -> (usize, usize, usize) {
        (self.spam.len(), self.aggregates.len(), self.log.len())
    }

    /// Upstream's `EventAggregate`: the event to write (maybe a combined one) and its cache key.
    fn aggregate(&mut self, event: Event, now: Timestamp) -> (Event, Key) {
        let key = event_key(&event);
        let max_events = self.config.aggregate_max_events;
        let interval = self.config.aggregate_interval.as_secs_f64();
        let record = self
            .aggregates
            .get_or_insert_with(aggregate_key(&event), || AggregateRecord {
                messages: Vec::new(),
                last: now,
            });
        if now.duration_since(record.last).as_secs_f64() > interval {
            record.messages.clear();
        }
        let message = event.message.as_deref().unwrap_or_default();
        let message_hash = hash_key(&[message]) as u64;
        if !record.messages.contains(&message_hash) {
            record.messages.push(message_hash);
        }
        record.last = now;
        if record.messages.len() < max_events {
            return (event, key);
        }
        // Keep the set below the threshold so every further new message is combined too.
        // Upstream pops an arbitrary member (Go map order); the oldest keeps runs replayable.
        record.messages.remove(0);

        let stamp = self.stamps.next(now);
        let name = event.involved_object.name.as_deref().unwrap_or_default();
        let combined = Event {
            metadata: ObjectMeta {
                name: Some(event_name(name, stamp)),
                namespace: event.metadata.namespace.clone(),
                ..ObjectMeta::default()
            },
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            message: Some(format!("{COMBINED_PREFIX}{message}")),
            // Upstream copies only these: a combined event has no reportingComponent.
            type_: event.type_.clone(),
            reason: event.reason.clone(),
            source: event.source.clone(),
            involved_object: event.involved_object,
            ..Event::default()
        };
        let key = aggregate_key(&combined);
        (combined, key)
    }

    /// Upstream's `eventObserve`: count `event` under `key`, turning a repeat into a patch of the
    /// Event first written for it.
    fn observe(&mut self, mut event: Event, key: Key) -> (Event, Option<Value>) {
        let last = self.log.get_mut(&key).filter(|l| l.count > 0).cloned();
        let patch = last.map(|last| {
            event.metadata.name = last.name;
            event.metadata.resource_version = last.resource_version;
            event.first_timestamp = last.first_timestamp;
            event.count = Some(last.count.saturating_add(1));
            count_patch(&event)
        });
        self.log.insert(key, EventLog::of(&event));
        (event, patch)
    }

    /// Upstream's `EventSourceObjectSpamFilter.Filter`, inverted: whether `event` may be written.
    fn admit(&mut self, event: &Event, now: Timestamp) -> bool {
        let (qps, burst) = (self.config.spam_qps, self.config.spam_burst);
        self.spam
            .get_or_insert_with(spam_key(event), || TokenBucket::full(burst, now))
            .try_take(now, qps, burst)
    }
}

impl EventLog {
    fn of(event: &Event) -> Self {
        Self {
            count: event.count.unwrap_or_default(),
            first_timestamp: event.first_timestamp.clone(),
            name: event.metadata.name.clone(),
            resource_version: event.metadata.resource_version.clone(),
        }
    }
}

/// The patch upstream computes as a two-way merge patch between the event and a copy with
/// `count` 0, `lastTimestamp` at the epoch and no message: exactly those three fields.
fn count_patch(event: &Event) -> Value {
    let mut patch = Map::new();
    patch.insert("count".into(), event.count.unwrap_or_default().into());
    if let Some(last) = &event.last_timestamp {
        let last = serde_json::to_value(last).unwrap_or(Value::Null);
        patch.insert("lastTimestamp".into(), last);
    }
    if let Some(message) = event.message.as_deref().filter(|m| !m.is_empty()) {
        patch.insert("message".into(), message.into());
    }
    Value::Object(patch)
}

fn field(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or_default()
}

/// A cache key: 128 bits of SipHash over upstream's key parts. Two different events would share
/// a key with a probability around 2^-128 per pair, never in practice; and each part is hashed
/// with its length, so (unlike upstream's plain concatenation) `("ab", "c")` and `("a", "bc")`
/// stay apart.
type Key = u128;

fn hash_key(parts: &[&str]) -> Key {
    // `DefaultHasher::new` is SipHash with fixed keys: the same key for the same parts within a
    // process, which is all a cache needs. The second half hashes a salted stream.
    let (mut high, mut low) = (DefaultHasher::new(), DefaultHasher::new());
    0x9e37_79b9_u32.hash(&mut low);
    for part in parts {
        part.hash(&mut high);
        part.hash(&mut low);
    }
    (u128::from(high.finish()) << 64) | u128::from(low.finish())
}

fn source_parts(event: &Event) -> (&str, &str) {
    let source = event.source.as_ref();
    (
        source.map_or("", |s| field(&s.component)),
        source.map_or("", |s| field(&s.host)),
    )
}

/// Upstream's `getSpamKey`: source and involved object, without `fieldPath`.
fn spam_key(event: &Event) -> Key {
    let (component, host) = source_parts(event);
    let o = &event.involved_object;
    hash_key(&[
        component,
        host,
        field(&o.kind),
        field(&o.namespace),
        field(&o.name),
        field(&o.uid),
        field(&o.api_version),
    ])
}

/// Upstream's `EventAggregatorByReasonFunc` group key: everything but the message (and
/// `fieldPath`, so similar events of different containers of a pod are one group).
fn aggregate_key(event: &Event) -> Key {
    let (component, host) = source_parts(event);
    let o = &event.involved_object;
    hash_key(&[
        component,
        host,
        field(&o.kind),
        field(&o.namespace),
        field(&o.name),
        field(&o.uid),
        field(&o.api_version),
        field(&event.type_),
        field(&event.reason),
        field(&event.reporting_component),
        field(&event.reporting_instance),
    ])
}

/// Upstream's `getEventKey`: what makes two events the same one.
fn event_key(event: &Event) -> Key {
    let (component, host) = source_parts(event);
    let o = &event.involved_object;
    hash_key(&[
        component,
        host,
        field(&o.kind),
        field(&o.namespace),
        field(&o.name),
        field(&o.field_path),
        field(&o.uid),
        field(&o.api_version),
        field(&event.type_),
        field(&event.reason),
        field(&event.message),
    ])
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EventSource, ObjectReference};
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    const T0: i64 = 1_800_000_000;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(T0 + seconds).unwrap()
    }

    fn correlator() -> Correlator {
        Correlator::new(Correlation::default(), Arc::new(Stamps::default()))
    }

    /// An event as the recorder builds it, about pod `pod` (container `container` when given).
    fn event(pod: &str, container: Option<&str>, reason: &str, message: &str) -> Event {
        Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{pod}.{:x}",
                    distinct_stamp(pod, container, reason, message)
                )),
                namespace: Some("ns".into()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                kind: Some("Pod".into()),
                api_version: Some("v1".into()),
                namespace: Some("ns".into()),
                name: Some(pod.into()),
                uid: Some(format!("uid-{pod}")),
                field_path: container.map(|c| format!("spec.containers{{{c}}}")),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some("Normal".into()),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some("node-1".into()),
            }),
            count: Some(1),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some("node-1".into()),
            ..Event::default()
        }
    }

    /// A distinct name per event content, standing in for the recorder's stamp.
    fn distinct_stamp(pod: &str, container: Option<&str>, reason: &str, message: &str) -> u64 {
        crate::seed::draw(0, &format!("{pod}/{container:?}/{reason}/{message}"), 0)
    }

    /// `event` as recorded at `now` (the recorder stamps both timestamps).
    fn stamped(mut event: Event, now: Timestamp) -> Event {
        event.first_timestamp = Some(Time(now));
        event.last_timestamp = Some(Time(now));
        event
    }

    fn created(result: Correlated) -> Event {
        match result {
            Correlated::Create(event) => event,
            other => panic!("expected a create, got {other:?}"),
        }
    }

    fn patched(result: Correlated) -> (Event, Value) {
        match result {
            Correlated::Patch { event, patch } => (event, patch),
            other => panic!("expected a patch, got {other:?}"),
        }
    }

    #[test]
    fn a_first_event_is_created_as_recorded() {
        let mut c = correlator();
        let e = stamped(event("web", None, "Scheduled", "hi"), at(0));
        assert_eq!(created(c.correlate(e.clone(), at(0))), e);
    }

    #[test]
    fn a_repeated_event_patches_the_first_with_its_count() {
        let mut c = correlator();
        let e = event(
            "web",
            Some("app"),
            "BackOff",
            "Back-off restarting failed container",
        );
        let first = created(c.correlate(stamped(e.clone(), at(0)), at(0)));
        let (second, patch) = patched(c.correlate(stamped(e.clone(), at(10)), at(10)));
        assert_eq!(second.metadata.name, first.metadata.name);
        assert_eq!(second.count, Some(2));
        assert_eq!(second.first_timestamp, Some(Time(at(0))));
        assert_eq!(second.last_timestamp, Some(Time(at(10))));
        assert_eq!(
            patch,
            json!({
                "count": 2,
                "lastTimestamp": "2027-01-15T08:00:10Z",
                "message": "Back-off restarting failed container",
            })
        );
        let (third, _) = patched(c.correlate(stamped(e, at(20)), at(20)));
        assert_eq!(third.count, Some(3));
        assert_eq!(third.metadata.name, first.metadata.name);
    }

    #[test]
    fn identical_events_keep_counting_past_the_aggregation_threshold() {
        let mut c = correlator();
        let e = event("web", None, "Pulled", "already present");
        created(c.correlate(stamped(e.clone(), at(0)), at(0)));
        for i in 2..=11 {
            let (event, _) = patched(c.correlate(stamped(e.clone(), at(i)), at(i)));
            assert_eq!(event.count, Some(i32::try_from(i).unwrap()));
            assert_eq!(event.message.as_deref(), Some("already present"));
        }
    }

    #[test]
    fn the_same_message_about_two_containers_is_two_events() {
        let mut c = correlator();
        // Both are creates (`created` panics on a patch): fieldPath is part of an event's key.
        let a = created(c.correlate(event("web", Some("a"), "Started", "go"), at(0)));
        let b = created(c.correlate(event("web", Some("b"), "Started", "go"), at(0)));
        assert_ne!(a.involved_object.field_path, b.involved_object.field_path);
        assert_eq!(b.count, Some(1));
    }

    /// Upstream's `similar-events-should-aggregate-event`: after 9 similar events, the 10th
    /// distinct message is combined; after 8, the 9th is not.
    #[rstest]
    #[case::ninth_is_not_combined(8, false)]
    #[case::tenth_is_combined(9, true)]
    fn similar_events_are_combined_from_the_tenth_distinct_message(
        #[case] before: i64,
        #[case] combined: bool,
    ) {
        let mut c = correlator();
        for i in 0..before {
            let e = event(
                "web",
                Some("app"),
                "Unhealthy",
                &format!("probe failed: {i}"),
            );
            created(c.correlate(stamped(e, at(i)), at(i)));
        }
        let last = event("web", Some("app"), "Unhealthy", "probe failed: last");
        let out = created(c.correlate(stamped(last.clone(), at(before)), at(before)));
        if !combined {
            assert_eq!(out.message, last.message);
            return;
        }
        assert_eq!(
            out.message.as_deref(),
            Some("(combined from similar events): probe failed: last")
        );
        assert_eq!(out.count, Some(1));
        assert_eq!(out.reason.as_deref(), Some("Unhealthy"));
        assert_eq!(out.involved_object, last.involved_object);
        assert_eq!(out.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(out.first_timestamp, Some(Time(at(before))));
        assert!(out.metadata.name.unwrap().starts_with("web."));
        // As upstream, the combined event carries the source but no reporting fields.
        assert_eq!(out.source, last.source);
        assert_eq!(out.reporting_component, None);
    }

    #[test]
    fn further_similar_events_count_on_the_combined_event() {
        let mut c = correlator();
        let mut combined = None;
        for i in 0..12 {
            let e = event("web", None, "Unhealthy", &format!("probe failed: {i}"));
            match c.correlate(stamped(e, at(i)), at(i)) {
                Correlated::Create(e) if i == 9 => combined = e.metadata.name,
                Correlated::Create(e) => assert!(i < 9, "event {i} created: {e:?}"),
                Correlated::Patch { event, patch } => {
                    assert_eq!(event.metadata.name, combined);
                    assert_eq!(event.count, Some(i32::try_from(i).unwrap() - 8));
                    let message = format!("(combined from similar events): probe failed: {i}");
                    assert_eq!(patch["message"], json!(message));
                }
                Correlated::Skip => panic!("event {i} refused"),
            }
        }
        assert!(combined.is_some());
    }

    /// The window is rolling: it restarts after 10 minutes without a similar event.
    #[rstest]
    #[case::within_ten_minutes(599, true)]
    #[case::after_ten_minutes(601, false)]
    fn similar_events_further_apart_than_the_window_are_not_combined(
        #[case] gap: i64,
        #[case] combined: bool,
    ) {
        let mut c = correlator();
        for i in 0..10 {
            let now = at(i * gap);
            let e = event("web", None, "Unhealthy", &format!("probe failed: {i}"));
            let out = created(c.correlate(stamped(e, now), now));
            let is_combined = out.message.unwrap().starts_with(COMBINED_PREFIX);
            assert_eq!(is_combined, combined && i == 9, "event {i}");
        }
    }

    #[test]
    fn the_spam_filter_admits_a_burst_of_25_per_object_then_one_per_5_minutes() {
        let mut c = correlator();
        let e = |i: i64| event("web", None, "Started", &format!("{i}"));
        // Distinct reasons would not help: the bucket is per source and object.
        for i in 0..25 {
            let reason = format!("Reason{i}");
            let out = c.correlate(event("web", None, &reason, "m"), at(0));
            assert!(matches!(out, Correlated::Create(_)), "event {i}: {out:?}");
        }
        assert_eq!(c.correlate(e(25), at(0)), Correlated::Skip);
        // Another object from the same node has its own bucket.
        assert!(matches!(
            c.correlate(event("db", None, "Started", "m"), at(0)),
            Correlated::Create(_)
        ));
        assert_eq!(c.correlate(e(26), at(299)), Correlated::Skip);
        assert!(matches!(c.correlate(e(27), at(300)), Correlated::Create(_)));
        assert_eq!(c.correlate(e(28), at(301)), Correlated::Skip);
    }

    #[test]
    fn a_refused_repeat_is_still_counted_for_the_next_patch() {
        let mut c = correlator();
        for i in 0..25 {
            c.correlate(event("web", None, &format!("R{i}"), "m"), at(0));
        }
        let e = event("web", None, "BackOff", "again");
        assert_eq!(c.correlate(e.clone(), at(0)), Correlated::Skip);
        assert_eq!(c.correlate(e.clone(), at(1)), Correlated::Skip);
        let (event, _) = patched(c.correlate(e, at(300)));
        assert_eq!(event.count, Some(3));
    }

    #[test]
    fn the_caches_stay_bounded_over_many_objects() {
        let config = Correlation {
            cache_entries: 100,
            ..Correlation::default()
        };
        let mut c = Correlator::new(config, Arc::new(Stamps::default()));
        for i in 0..5_000 {
            let e = event(&format!("pod-{i}"), None, "Started", "Started container");
            created(c.correlate(e, at(i)));
            let (spam, aggregates, log) = c.cache_sizes();
            assert!(spam <= 100 && aggregates <= 100 && log <= 100);
        }
        assert_eq!(c.cache_sizes(), (100, 100, 100));
    }

    #[test]
    fn update_state_takes_the_servers_name_and_resource_version() {
        let mut c = correlator();
        let e = event("web", None, "Pulled", "ok");
        let mut stored = created(c.correlate(e.clone(), at(0)));
        stored.metadata.resource_version = Some("42".into());
        c.update_state(&stored);
        let (event, patch) = patched(c.correlate(e, at(1)));
        assert_eq!(event.metadata.resource_version.as_deref(), Some("42"));
        assert!(patch.get("resourceVersion").is_none());
    }

    #[test]
    fn stamps_are_unique_and_increasing_within_one_nanosecond() {
        let stamps = Stamps::default();
        let a = stamps.next(at(0));
        let b = stamps.next(at(0));
        let c = stamps.next(at(-5));
        assert_eq!(a, T0 * 1_000_000_000);
        assert_eq!((b, c), (a + 1, a + 2));
        assert_eq!(event_name("web", a).len(), "web.".len() + 16);
    }
}
