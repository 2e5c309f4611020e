//! PLACEHOLDER until the events helper lands: records events as the kubelet's event recorder
//! does — one `core/v1` Event per occurrence, correlated (identical events counted, similar ones
//! aggregated, a spam filter per object) and written by a bounded pool that drops rather than
//! blocks when the API falls behind.

use k8s_openapi::api::core::v1::ObjectReference;

use crate::pod::PodEvent;

/// Where events come from: `source.component` / `reportingComponent` (`kubelet`) and the node
/// (`source.host` / `reportingInstance`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// `kubelet`.
    pub component: String,
    /// The node's name.
    pub host: String,
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

/// The recorder shared by every hollow node of a simulator.
#[derive(Clone)]
pub struct EventRecorder {
    _client: kube::Client,
}

impl EventRecorder {
    /// A recorder writing through `client`; its writers stop when `shutdown` is cancelled.
    pub fn start(client: kube::Client, _shutdown: tokio_util::sync::CancellationToken) -> Self {
        Self { _client: client }
    }

    /// Record `event` about `object` from `source`. Never blocks.
    pub fn record(&self, _source: &Source, _object: &ObjectReference, _event: &PodEvent) {}

    /// What the recorder has done so far.
    pub fn stats(&self) -> EventStats {
        EventStats::default()
    }
}
