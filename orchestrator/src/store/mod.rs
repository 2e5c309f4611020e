//! The store: one cluster-wide MVCC revision, objects as JSON bytes with a small index, watch
//! from a bounded event history.
//!
//! The API layer owns Kubernetes semantics (defaulting, validation, graceful deletion); the
//! store owns revisions, optimistic concurrency, snapshots and the event stream. [`Storage`] is
//! the boundary a persistent backend will implement later; [`MemoryStore`] is today's one.
//!
//! Keys are `(resource, namespace, name)`. `resource` is the group-qualified plural
//! (`pods`, `deployments.apps`, `leases.coordination.k8s.io`); cluster-scoped objects use an empty
//! namespace. Objects are kept as the exact JSON bytes served to clients, with
//! `metadata.resourceVersion` already set, so gets, lists and watch events are copies of bytes.

mod continue_token;
mod fields;
mod memory;
mod selector;

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

pub use fields::{check_field_selector, selectable_fields};
pub use memory::{MemoryStore, MemoryStoreConfig};
pub use selector::{FieldSelector, LabelSelector, Requirement, SelectorError};

use crate::error::ApiError;

/// A stored object: its serialized JSON and what selectors and watches need without parsing it.
#[derive(Debug)]
pub struct Stored {
    /// The revision of the write that produced this version (`metadata.resourceVersion`).
    pub revision: u64,
    /// Empty for cluster-scoped objects.
    pub namespace: Box<str>,
    pub name: Box<str>,
    /// The object as served, `metadata.resourceVersion` included.
    pub bytes: Bytes,
    /// `metadata.labels`, sorted by key.
    pub labels: Box<[(Box<str>, Box<str>)]>,
    /// Field-selector values (`metadata.name`, `spec.nodeName`, …), from [`selectable_fields`].
    pub fields: Box<[(&'static str, Box<str>)]>,
}

impl Stored {
    /// Parse the stored bytes back into a JSON value.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.bytes).expect("the store holds only JSON it serialized itself")
    }

    /// The value of a label, if set.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }

    /// The value of a selectable field, if this resource has it.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| &**v)
    }
}

/// What a watch event reports, as the wire's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
    Bookmark,
}

impl EventType {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
            EventType::Bookmark => "BOOKMARK",
        }
    }
}

/// One change, as kept in the history and sent to watchers.
#[derive(Clone, Debug)]
pub struct Event {
    pub kind: EventType,
    /// The group-qualified resource this event belongs to.
    pub resource: &'static str,
    /// The object after the change; for `Deleted`, the last state with the deletion's revision.
    /// For `Bookmark`, an object carrying only the revision, as upstream.
    pub object: Arc<Stored>,
    /// The object before the change (`None` for `Added`). Selector watches use it to turn an
    /// update that leaves the selector into `DELETED` and one that enters it into `ADDED`.
    pub prev: Option<Arc<Stored>>,
}

impl Event {
    /// The revision this event happened at.
    pub fn revision(&self) -> u64 {
        self.object.revision
    }
}

/// Which objects a list or watch returns.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// `None` lists across all namespaces.
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    /// Whether a stored object passes this filter.
    pub fn matches(&self, obj: &Stored) -> bool {
        if let Some(ns) = &self.namespace
            && *ns != *obj.namespace
        {
            return false;
        }
        self.labels.matches(|k| obj.label(k)) && self.fields.matches(|k| obj.field(k))
    }
}

/// `resourceVersion` semantics for a list, as upstream's `resourceVersion` + `resourceVersionMatch`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadAt {
    /// Unset: the most recent state (a consistent read).
    #[default]
    Latest,
    /// `resourceVersion=0` or `NotOlderThan`: any state at least this new; we serve the latest.
    NotOlderThan(u64),
    /// `resourceVersionMatch=Exact`: exactly this revision, or 410 if it is older than the history.
    Exact(u64),
}

/// A list request.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub filter: Filter,
    pub read_at: ReadAt,
    /// `limit`; 0 means no limit.
    pub limit: usize,
    /// A `continue` token from a previous page of the same list.
    pub continue_token: Option<String>,
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct ListResult {
    /// The revision the whole list (all pages) is consistent at: the list's `resourceVersion`.
    pub revision: u64,
    pub items: Vec<Arc<Stored>>,
    /// Set when more items remain.
    pub continue_token: Option<String>,
    /// `metadata.remainingItemCount`, when known.
    pub remaining: Option<u64>,
}

/// Preconditions on an update or delete.
#[derive(Clone, Debug, Default)]
pub struct Preconditions {
    /// The update fails with 409 Conflict unless the current revision is this one.
    pub revision: Option<u64>,
    /// The write fails with 409 Conflict unless the current object has this uid.
    pub uid: Option<String>,
}

/// Where a watch starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchFrom {
    /// Unset or `0`: synthetic `ADDED` events for every current object, then changes.
    Now,
    /// After this revision: every change with a greater revision, or 410 if it is no longer held.
    After(u64),
}

/// A live watch: events in revision order. Dropping it unregisters the watcher. The stream ends
/// (returns `None`) when the watcher fell too far behind; the client then re-watches or relists.
#[derive(Debug)]
pub struct Watch {
    pub rx: tokio::sync::mpsc::Receiver<Arc<Event>>,
    /// Initial synthetic events (for [`WatchFrom::Now`]) or the replayed history, to send first.
    pub backlog: Vec<Arc<Event>>,
    /// The store's revision when the watch was registered (for bookmarks).
    pub revision: u64,
}

/// The storage boundary. Every method is atomic: a failed write changes nothing.
pub trait Storage: Send + Sync + 'static {
    /// The current cluster-wide revision.
    fn revision(&self) -> u64;

    /// Store a new object. The store sets `metadata.resourceVersion`; everything else in `obj`
    /// (uid, creationTimestamp, generation) is the caller's. 409 AlreadyExists if the key is taken.
    fn create(
        &self,
        resource: &'static str,
        namespace: &str,
        name: &str,
        obj: Value,
    ) -> Result<Arc<Stored>, ApiError>;

    /// The current version, or 404.
    fn get(
        &self,
        resource: &'static str,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Stored>, ApiError>;

    /// A page of objects in key order (namespace, then name), consistent at one revision across
    /// pages. An expired continue token or an `Exact` revision older than the history is 410.
    fn list(&self, resource: &'static str, opts: &ListOptions) -> Result<ListResult, ApiError>;

    /// Replace an existing object (404 if missing, 409 if a precondition fails).
    fn update(
        &self,
        resource: &'static str,
        namespace: &str,
        name: &str,
        obj: Value,
        pre: &Preconditions,
    ) -> Result<Arc<Stored>, ApiError>;

    /// Remove an object now; returns its last state (with the deletion's revision).
    fn delete(
        &self,
        resource: &'static str,
        namespace: &str,
        name: &str,
        pre: &Preconditions,
    ) -> Result<Arc<Stored>, ApiError>;

    /// Watch a resource. 410 Expired if `from` is older than the retained history.
    fn watch(
        &self,
        resource: &'static str,
        filter: Filter,
        from: WatchFrom,
    ) -> Result<Watch, ApiError>;

    /// How many objects of a resource are stored (for `apiserver_storage_objects`).
    fn count(&self, resource: &'static str) -> usize;
}
