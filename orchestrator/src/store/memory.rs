//! The in-memory MVCC store: one lock over every resource so a write's revision, its object, its
//! history entry and its delivery to watchers are one atomic step, as a single etcd does.
//!
//! Reads take the lock shared; a get is a map lookup and an `Arc` clone. Lists at an older
//! revision (later pages, `resourceVersionMatch=Exact`) are served by overlaying the history on
//! the current state: for each key changed after the revision, its state then is the `prev` of
//! the first later event.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::RwLock;
use serde_json::Value;
use tokio::sync::mpsc;

mod snapshot;

use snapshot::{Snapshot, merged};

use super::continue_token;
use super::fields::check_field_selector;
use super::{
    Event, EventType, Filter, ListOptions, ListResult, Preconditions, ReadAt, Storage, Stored,
    Watch, WatchFrom, selectable_fields,
};
use crate::error::{ApiError, Reason};

/// Tuning for [`MemoryStore`].
#[derive(Clone, Debug)]
pub struct MemoryStoreConfig {
    /// How many events the watch history keeps; older revisions get 410 Expired.
    pub history: usize,
    /// How many undelivered events a watcher may have before it is dropped as too slow.
    pub watch_buffer: usize,
    /// Events older than this leave the history at the next write, as the API server's
    /// periodic etcd compaction (every 5 minutes) ages out old revisions. `None`: count only.
    pub history_max_age: Option<Duration>,
}

impl Default for MemoryStoreConfig {
    /// About the five minutes of changes etcd keeps before compaction, for a busy test cluster.
    fn default() -> Self {
        Self {
            history: 100_000,
            watch_buffer: 1024,
            history_max_age: Some(Duration::from_secs(300)),
        }
    }
}

/// The in-memory store.
#[derive(Debug)]
pub struct MemoryStore {
    config: MemoryStoreConfig,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    revision: u64,
    resources: HashMap<&'static str, Resource, BuildHasherDefault<Fnv>>,
    /// Every write, oldest first, at most `config.history` of them.
    history: VecDeque<Arc<Event>>,
    /// When each history entry was written (same indexes as `history`), for the age bound.
    written: VecDeque<Instant>,
    /// The newest revision no longer in `history`: reads and watches at or after it are served.
    compacted: u64,
}

/// FNV-1a: resource names are a few short trusted strings, hashed on every call; SipHash's
/// flooding resistance buys nothing here.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

#[derive(Debug, Default)]
struct Resource {
    /// Keyed as etcd's keys below the resource prefix, so iteration order is upstream's list order.
    objects: BTreeMap<Arc<str>, Arc<Stored>>,
    /// The same objects by key: gets and existence checks skip the tree's string compares.
    by_key: HashMap<Arc<str>, Arc<Stored>>,
    watchers: Vec<Watcher>,
    /// The size of the last object written, to size the next serialization buffer.
    last_size: usize,
}

impl Resource {
    fn get(&self, key: &str) -> Option<&Arc<Stored>> {
        self.by_key.get(key)
    }

    fn put(&mut self, key: &str, stored: Arc<Stored>) {
        match self.by_key.get_mut(key) {
            Some(slot) => {
                *slot = stored.clone();
                if let Some(slot) = self.objects.get_mut(key) {
                    *slot = stored;
                }
            }
            None => {
                let key: Arc<str> = Arc::from(key);
                self.by_key.insert(key.clone(), stored.clone());
                self.objects.insert(key, stored);
            }
        }
    }

    fn remove(&mut self, key: &str) {
        self.by_key.remove(key);
        self.objects.remove(key);
    }
}

#[derive(Debug)]
struct Watcher {
    filter: Filter,
    tx: mpsc::Sender<Arc<Event>>,
}

impl Watcher {
    /// Send `ev` if it concerns this watcher; `false` once the watcher is gone or too slow.
    fn deliver(&self, ev: &Arc<Event>) -> bool {
        if self.tx.is_closed() {
            return false;
        }
        match filter_event(&self.filter, ev) {
            None => true,
            Some(e) => self.tx.try_send(e).is_ok(),
        }
    }
}

/// `ev` as a watcher with `filter` sees it: unchanged, turned into ADDED/DELETED when a
/// modification crosses the selector boundary (upstream's cacher rule), or nothing.
pub(super) fn filter_event(filter: &Filter, ev: &Arc<Event>) -> Option<Arc<Event>> {
    if filter_is_everything(filter) {
        return Some(ev.clone());
    }
    match ev.kind {
        EventType::Added | EventType::Deleted => filter.matches(&ev.object).then(|| ev.clone()),
        EventType::Bookmark => Some(ev.clone()),
        EventType::Modified => {
            let now = filter.matches(&ev.object);
            let before = ev.prev.as_deref().is_some_and(|p| filter.matches(p));
            match (before, now) {
                (true, true) => Some(ev.clone()),
                (false, true) => Some(Arc::new(Event {
                    kind: EventType::Added,
                    resource: ev.resource,
                    object: ev.object.clone(),
                    prev: None,
                })),
                (true, false) => Some(Arc::new(Event {
                    kind: EventType::Deleted,
                    resource: ev.resource,
                    object: ev.object.clone(),
                    prev: ev.prev.clone(),
                })),
                (false, false) => None,
            }
        }
    }
}

fn filter_is_everything(filter: &Filter) -> bool {
    filter.namespace.is_none()
        && filter.labels.requirements.is_empty()
        && filter.fields.terms.is_empty()
}

/// `(group, plural)` of a store key `plural.group`.
pub(super) fn group_and_plural(resource: &str) -> (&str, &str) {
    match resource.split_once('.') {
        Some((plural, group)) => (group, plural),
        None => ("", resource),
    }
}

/// The key of an object below its resource prefix, as etcd's: `namespace/name` or `name`.
fn key_of<'a>(namespace: &'a str, name: &'a str) -> Cow<'a, str> {
    if namespace.is_empty() {
        Cow::Borrowed(name)
    } else {
        let mut k = String::with_capacity(namespace.len() + 1 + name.len());
        k.push_str(namespace);
        k.push('/');
        k.push_str(name);
        Cow::Owned(k)
    }
}

thread_local! {
    static KEY_BUF: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Run `f` on the key of `namespace/name` without allocating (gets are the hot path).
fn with_key<R>(namespace: &str, name: &str, f: impl FnOnce(&str) -> R) -> R {
    if namespace.is_empty() {
        return f(name);
    }
    KEY_BUF.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            buf.push_str(namespace);
            buf.push('/');
            buf.push_str(name);
            f(&buf)
        }
        Err(_) => f(&key_of(namespace, name)),
    })
}

fn stored_key(s: &Stored) -> Cow<'_, str> {
    key_of(&s.namespace, &s.name)
}

/// 504 for a revision the store has not reached, worded as upstream's
/// `NewTooLargeResourceVersionError` (upstream waits up to 3s first; nothing here would change).
fn too_large(requested: u64, current: u64) -> ApiError {
    let mut e = ApiError::new(
        504,
        Reason::Timeout,
        format!("Too large resource version: {requested}, current: {current}"),
    );
    e.retry_after_seconds = Some(1);
    e
}

fn too_old(requested: u64, compacted: u64) -> ApiError {
    ApiError::expired(format!(
        "too old resource version: {requested} ({compacted})"
    ))
}

/// An object's labels and selectable fields, taken before the lock is held.
struct Index {
    labels: Box<[(Box<str>, Box<str>)]>,
    fields: Box<[(&'static str, Box<str>)]>,
}

fn index(resource: &str, obj: &Value) -> Result<Index, ApiError> {
    let Some(map) = obj.as_object() else {
        return Err(ApiError::internal(
            "the object to store is not a JSON object",
        ));
    };
    let mut labels: Vec<(Box<str>, Box<str>)> = match map.get("metadata") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(meta)) => match meta.get("labels") {
            Some(Value::Object(l)) => {
                let mut out = Vec::with_capacity(l.len());
                out.extend(l.iter().filter_map(|(k, v)| {
                    v.as_str().map(|v| (Box::from(k.as_str()), Box::from(v)))
                }));
                out
            }
            _ => Vec::new(),
        },
        Some(_) => {
            return Err(ApiError::internal(
                "the object to store has a metadata that is not an object",
            ));
        }
    };
    labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(Index {
        labels: labels.into(),
        fields: selectable_fields(resource, obj).into(),
    })
}

/// Serialize `obj` with `metadata.resourceVersion` set; `obj` was checked by [`index`].
/// `size_hint` sizes the buffer so a typical object needs one allocation.
fn seal(
    obj: &mut Value,
    revision: u64,
    namespace: &str,
    name: &str,
    index: Index,
    size_hint: usize,
) -> Result<Stored, ApiError> {
    if let Some(map) = obj.as_object_mut() {
        let rv = Value::String(revision.to_string());
        match map.get_mut("metadata") {
            Some(Value::Object(meta)) => match meta.get_mut("resourceVersion") {
                Some(v) => *v = rv,
                None => {
                    meta.insert("resourceVersion".into(), rv);
                }
            },
            _ => {
                let mut meta = serde_json::Map::new();
                meta.insert("resourceVersion".into(), rv);
                map.insert("metadata".into(), Value::Object(meta));
            }
        }
    }
    let mut buf = Vec::with_capacity(size_hint.max(256));
    serde_json::to_writer(&mut buf, &*obj).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Stored {
        revision,
        namespace: namespace.into(),
        name: name.into(),
        // Exact-size bytes: thousands of objects stay resident, slack would add up.
        bytes: Bytes::from(buf.into_boxed_slice()),
        labels: index.labels,
        fields: index.fields,
    })
}

/// The last state of a deleted object, carrying the deletion's revision as upstream's DELETED
/// events and delete responses do.
fn tombstone(prev: &Stored, revision: u64) -> Result<Stored, ApiError> {
    let mut obj: Value =
        serde_json::from_slice(&prev.bytes).map_err(|e| ApiError::internal(e.to_string()))?;
    let index = Index {
        labels: prev.labels.clone(),
        fields: prev.fields.clone(),
    };
    seal(
        &mut obj,
        revision,
        &prev.namespace,
        &prev.name,
        index,
        prev.bytes.len() + 8,
    )
}

fn uid_of(s: &Stored) -> String {
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(default)]
        uid: String,
    }
    #[derive(serde::Deserialize)]
    struct Obj {
        metadata: Option<Meta>,
    }
    serde_json::from_slice::<Obj>(&s.bytes)
        .ok()
        .and_then(|o| o.metadata)
        .map(|m| m.uid)
        .unwrap_or_default()
}

/// Upstream's `storage.Preconditions.Check`, worded as its 409.
fn check_uid(
    resource: &str,
    name: &str,
    cur: &Stored,
    pre: &Preconditions,
) -> Result<(), ApiError> {
    if let Some(want) = &pre.uid {
        let have = uid_of(cur);
        if *want != have {
            let (group, plural) = group_and_plural(resource);
            let detail = format!(
                "Precondition failed: UID in precondition: {want}, UID in object meta: {have}"
            );
            return Err(ApiError::conflict(group, plural, name, &detail));
        }
    }
    Ok(())
}

impl MemoryStore {
    /// An empty store at revision 0.
    pub fn new(config: MemoryStoreConfig) -> Self {
        Self {
            config,
            state: RwLock::new(State::default()),
        }
    }

    /// Record a committed write and hand it to the resource's watchers; called with the lock held
    /// so watchers see events in revision order, none missed or doubled.
    fn commit(&self, st: &mut State, ev: Event) {
        let ev = Arc::new(ev);
        if let Some(res) = st.resources.get_mut(ev.resource) {
            res.watchers.retain(|w| w.deliver(&ev));
        }
        if self.config.history == 0 {
            st.compacted = ev.revision();
            return;
        }
        let now = Instant::now();
        let too_old = |at: &Instant| {
            self.config
                .history_max_age
                .is_some_and(|age| now.duration_since(*at) > age)
        };
        while st.history.len() >= self.config.history || st.written.front().is_some_and(too_old) {
            st.written.pop_front();
            match st.history.pop_front() {
                Some(old) => st.compacted = old.revision(),
                None => break,
            }
        }
        st.history.push_back(ev);
        st.written.push_back(now);
    }

    fn not_found(resource: &str, name: &str) -> ApiError {
        let (group, plural) = group_and_plural(resource);
        ApiError::not_found(group, plural, name)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(MemoryStoreConfig::default())
    }
}

impl Storage for MemoryStore {
    fn revision(&self) -> u64 {
        self.state.read().revision
    }

    fn create(
        &self,
        resource: &'static str,
        namespace: &str,
        name: &str,
        mut obj: Value,
    ) -> Result<Arc<Stored>, ApiError> {
        let idx = index(resource, &obj)?;
        with_key(namespace, name, |key| {
            // `obj` outlives the guard, so freeing it happens after the lock is released.
            let mut st = self.state.write();
            let st = &mut *st;
            if st
                .resources
                .get(resource)
                .is_some_and(|r| r.get(key).is_some())
            {
                let (group, plural) = group_and_plural(resource);
                return Err(ApiError::already_exists(group, plural, name));
            }
            let revision = st.revision + 1;
            let res = st.resources.entry(resource).or_default();
            let stored = Arc::new(seal(
                &mut obj,
                revision,
                namespace,
                name,
                idx,
                res.last_size + 64,
            )?);
            res.last_size = stored.bytes.len();
            res.put(key, stored.clone());
            st.revision = revision;
            self.commit(
                st,
                Event {
                    kind: EventType::Added,
                    resource,
                    object: stored.clone(),
                    prev: None,
                },
            );
            Ok(stored)
        })
    }

    fn get(
        &self,
        resource: &'static str,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Stored>, ApiError> {
        let found = with_key(namespace, name, |key| {
            let st = self.state.read();
            st.resources.get(resource).and_then(|r| r.get(key)).cloned()
        });
        found.ok_or_else(|| Self::not_found(resource, name))
    }

    fn list(&self, resource: &'static str, opts: &ListOptions) -> Result<ListResult, ApiError> {
        check_field_selector(resource, &opts.filter.fields)?;
        let token = match &opts.continue_token {
            Some(t) if !t.is_empty() => {
                if matches!(opts.read_at, ReadAt::Exact(_) | ReadAt::NotOlderThan(1..)) {
                    return Err(ApiError::bad_request(
                        "specifying resource version is not allowed when using continue",
                    ));
                }
                Some(continue_token::decode(t)?)
            }
            _ => None,
        };
        let st = self.state.read();
        let revision = match (&token, opts.read_at) {
            (Some((rv, _)), _) => {
                if *rv < st.compacted {
                    return Err(ApiError::expired(continue_token::EXPIRED));
                }
                if *rv > st.revision {
                    return Err(too_large(*rv, st.revision));
                }
                *rv
            }
            (None, ReadAt::Latest) => st.revision,
            (None, ReadAt::NotOlderThan(rv)) => {
                if rv > st.revision {
                    return Err(too_large(rv, st.revision));
                }
                st.revision
            }
            (None, ReadAt::Exact(rv)) => {
                if rv > st.revision {
                    return Err(too_large(rv, st.revision));
                }
                if rv < st.compacted {
                    // Upstream serves an exact list the watch cache cannot from etcd, whose
                    // compaction error reads so (etcd3 `interpretListError`).
                    return Err(ApiError::expired(
                        "The resourceVersion for the provided list is too old.",
                    ));
                }
                rv
            }
        };
        let snap = st.snapshot(resource, revision);
        let objects = st.resources.get(resource).map(|r| &r.objects);

        // A namespace narrows the key range as etcd's prefix does.
        // '0' is the byte after '/', so `ns/` ..< `ns0` is exactly the namespace's keys.
        let ns_range = opts
            .filter
            .namespace
            .as_deref()
            .filter(|ns| !ns.is_empty())
            .map(|ns| (format!("{ns}/"), format!("{ns}0")));
        let mut lower: Bound<&str> = match &ns_range {
            Some((s, _)) => Bound::Included(s.as_str()),
            None => Bound::Unbounded,
        };
        let upper: Bound<&str> = match &ns_range {
            Some((_, e)) => Bound::Excluded(e.as_str()),
            None => Bound::Unbounded,
        };
        if let Some((_, start)) = &token
            && match lower {
                Bound::Included(l) => start.as_str() > l,
                _ => true,
            }
        {
            lower = Bound::Included(start.as_str());
        }

        let only_namespace =
            opts.filter.labels.requirements.is_empty() && opts.filter.fields.terms.is_empty();
        let mut items = Vec::new();
        let mut iter = merged(objects, &snap.overlay, lower, upper);
        let mut last_key: Option<&str> = None;
        let mut next = None;
        for (k, v) in iter.by_ref() {
            if opts.limit > 0 && items.len() >= opts.limit {
                next = Some(v);
                break;
            }
            if opts.filter.matches(v) {
                items.push(v.clone());
                last_key = Some(k);
            }
        }
        let mut continue_out = None;
        let mut remaining = None;
        // Upstream sets `continue` when keys remain, whether or not they will match; it knows
        // the remaining count only without a selector.
        if let (Some(first_rest), Some(last)) = (next, last_key) {
            continue_out = Some(continue_token::encode(snap.revision, last));
            if only_namespace {
                let rest = iter.filter(|(_, v)| opts.filter.matches(v)).count();
                remaining = Some((usize::from(opts.filter.matches(first_rest)) + rest) as u64);
            }
        }
        Ok(ListResult {
            revision: snap.revision,
            items,
            continue_token: continue_out,
            remaining,
        })
    }

    fn update(
        &self,
        resource: &'static str,
        namespace: &str,
        name: &str,
        mut obj: Value,
        pre: &Preconditions,
    ) -> Result<Arc<Stored>, ApiError> {
        let idx = index(resource, &obj)?;
        with_key(namespace, name, |key| {
            let mut st = self.state.write();
            let st = &mut *st;
            let prev = st
                .resources
                .get(resource)
                .and_then(|r| r.get(key))
                .cloned()
                .ok_or_else(|| Self::not_found(resource, name))?;
            check_uid(resource, name, &prev, pre)?;
            if let Some(rv) = pre.revision
                && rv != prev.revision
            {
                let (group, plural) = group_and_plural(resource);
                return Err(ApiError::stale(group, plural, name));
            }
            let revision = st.revision + 1;
            let stored = Arc::new(seal(
                &mut obj,
                revision,
                namespace,
                name,
                idx,
                prev.bytes.len() + 64,
            )?);
            st.revision = revision;
            st.resources
                .entry(resource)
                .or_default()
                .put(key, stored.clone());
            self.commit(
                st,
                Event {
                    kind: EventType::Modified,
                    resource,
                    object: stored.clone(),
                    prev: Some(prev),
                },
            );
            Ok(stored)
        })
    }

    fn delete(
        &self,
        resource: &'static str,
        namespace: &str,
        name: &str,
        pre: &Preconditions,
    ) -> Result<Arc<Stored>, ApiError> {
        with_key(namespace, name, |key| {
            let mut st = self.state.write();
            let st = &mut *st;
            let prev = st
                .resources
                .get(resource)
                .and_then(|r| r.get(key))
                .cloned()
                .ok_or_else(|| Self::not_found(resource, name))?;
            check_uid(resource, name, &prev, pre)?;
            if let Some(rv) = pre.revision
                && rv != prev.revision
            {
                let (group, plural) = group_and_plural(resource);
                let detail = format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    prev.revision
                );
                return Err(ApiError::conflict(group, plural, name, &detail));
            }
            let revision = st.revision + 1;
            let stored = Arc::new(tombstone(&prev, revision)?);
            st.revision = revision;
            if let Some(r) = st.resources.get_mut(resource) {
                r.remove(key);
            }
            self.commit(
                st,
                Event {
                    kind: EventType::Deleted,
                    resource,
                    object: stored.clone(),
                    prev: Some(prev),
                },
            );
            Ok(stored)
        })
    }

    fn watch(
        &self,
        resource: &'static str,
        filter: Filter,
        from: WatchFrom,
    ) -> Result<Watch, ApiError> {
        check_field_selector(resource, &filter.fields)?;
        let (tx, rx) = mpsc::channel(self.config.watch_buffer.max(1));
        let mut st = self.state.write();
        let st = &mut *st;
        let backlog: Vec<Arc<Event>> = match from {
            WatchFrom::Now => {
                let snap = Snapshot {
                    revision: st.revision,
                    overlay: BTreeMap::new(),
                };
                let objects = st.resources.get(resource).map(|r| &r.objects);
                merged(objects, &snap.overlay, Bound::Unbounded, Bound::Unbounded)
                    .filter(|(_, s)| filter.matches(s))
                    .map(|(_, s)| {
                        Arc::new(Event {
                            kind: EventType::Added,
                            resource,
                            object: s.clone(),
                            prev: None,
                        })
                    })
                    .collect()
            }
            WatchFrom::After(rv) => {
                if rv < st.compacted {
                    return Err(too_old(rv, st.compacted));
                }
                if rv > st.revision {
                    return Err(too_large(rv, st.revision));
                }
                let start = st.history.partition_point(|e| e.revision() <= rv);
                st.history
                    .range(start..)
                    .filter(|e| e.resource == resource)
                    .filter_map(|e| filter_event(&filter, e))
                    .collect()
            }
        };
        let watchers = &mut st.resources.entry(resource).or_default().watchers;
        // Watchers that hung up are otherwise only noticed at the resource's next write.
        watchers.retain(|w| !w.tx.is_closed());
        watchers.push(Watcher { filter, tx });
        Ok(Watch {
            rx,
            backlog,
            revision: st.revision,
        })
    }

    fn count(&self, resource: &'static str) -> usize {
        self.state
            .read()
            .resources
            .get(resource)
            .map_or(0, |r| r.objects.len())
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
