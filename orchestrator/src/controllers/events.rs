//! Events the built-in controllers emit, shaped as client-go's `EventRecorder` makes them
//! (`tools/record/event.go` `makeEvent`): named `<object>.<unix nanos in hex>`, in the object's
//! namespace (`default` for cluster-scoped objects), `count` 1, first and last timestamps now,
//! `source.component` and `reportingComponent` the controller's name.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::api::{Objects, WriteParams};
use crate::registry::find;

/// The object an event is about (`involvedObject`).
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectRef {
    /// `v1` when empty.
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

impl ObjectRef {
    /// A reference to a stored object of `kind` (core/v1), as `reference.GetReference` makes it.
    pub(crate) fn of(kind: &'static str, obj: &Value) -> Self {
        let meta = |k: &str| {
            obj.pointer(&format!("/metadata/{k}"))
                .and_then(Value::as_str)
                .map(String::from)
        };
        Self {
            api_version: "v1",
            kind,
            namespace: meta("namespace").unwrap_or_default(),
            name: meta("name").unwrap_or_default(),
            uid: meta("uid"),
            resource_version: meta("resourceVersion"),
        }
    }
}

/// Records events as one controller (`source.component`).
#[derive(Clone)]
pub(crate) struct EventRecorder {
    objects: Arc<Objects>,
    component: &'static str,
}

impl std::fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRecorder")
            .field("component", &self.component)
            .finish()
    }
}

/// `Normal` events.
pub(crate) const NORMAL: &str = "Normal";
/// `Warning` events.
pub(crate) const WARNING: &str = "Warning";

impl EventRecorder {
    /// A recorder writing through `objects` as `component`.
    pub(crate) fn new(objects: Arc<Objects>, component: &'static str) -> Self {
        Self { objects, component }
    }

    /// Record one event. Failures are logged, never returned: an event is a courtesy, and
    /// upstream's recorder drops what it cannot write, too.
    pub(crate) fn record(&self, about: &ObjectRef, kind: &str, reason: &str, message: &str) {
        let event = make_event(
            self.component,
            about,
            kind,
            reason,
            message,
            jiff::Timestamp::now(),
        );
        let ns = event["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let info = find("", "v1", "events").expect("events are served");
        if let Err(e) = self
            .objects
            .create(info, &ns, event, &WriteParams::default())
        {
            tracing::debug!(reason, error = %e, "could not record an event");
        }
    }
}

/// A time as `metav1.Time` serializes it (RFC 3339, whole seconds, UTC).
pub(crate) fn rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The event object client-go would post.
pub(crate) fn make_event(
    component: &str,
    about: &ObjectRef,
    kind: &str,
    reason: &str,
    message: &str,
    now: jiff::Timestamp,
) -> Value {
    let namespace = if about.namespace.is_empty() {
        "default"
    } else {
        about.namespace.as_str()
    };
    let stamp = rfc3339(now);
    let api_version = if about.api_version.is_empty() {
        "v1"
    } else {
        about.api_version
    };
    let mut involved = json!({"kind": about.kind, "name": about.name, "apiVersion": api_version});
    if !about.namespace.is_empty() {
        involved["namespace"] = json!(about.namespace);
    }
    if let Some(uid) = &about.uid {
        involved["uid"] = json!(uid);
    }
    if let Some(rv) = &about.resource_version {
        involved["resourceVersion"] = json!(rv);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{:x}", about.name, now.as_nanosecond()),
            "namespace": namespace,
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "type": kind,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_events_go_to_the_default_namespace_named_after_the_node() {
        let now: jiff::Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let node = ObjectRef {
            kind: "Node",
            name: "n1".into(),
            uid: Some("u".into()),
            ..Default::default()
        };
        let ev = make_event(
            "node-controller",
            &node,
            NORMAL,
            "NodeNotReady",
            "Node n1 status is now: NodeNotReady",
            now,
        );
        assert_eq!(ev["metadata"]["namespace"], "default");
        assert_eq!(
            ev["metadata"]["name"],
            format!("n1.{:x}", now.as_nanosecond())
        );
        assert_eq!(
            ev["involvedObject"],
            json!({"kind": "Node", "name": "n1", "apiVersion": "v1", "uid": "u"})
        );
        assert_eq!(ev["source"], json!({"component": "node-controller"}));
        assert_eq!(ev["firstTimestamp"], "2026-01-02T03:04:05Z");
    }

    #[test]
    fn pod_events_stay_in_the_pods_namespace() {
        let pod = json!({"metadata": {"name": "p", "namespace": "team", "uid": "u1", "resourceVersion": "7"}});
        let ev = make_event(
            "node-controller",
            &ObjectRef::of("Pod", &pod),
            WARNING,
            "NodeNotReady",
            "Node is not ready",
            jiff::Timestamp::now(),
        );
        assert_eq!(ev["metadata"]["namespace"], "team");
        assert_eq!(ev["involvedObject"]["resourceVersion"], "7");
        assert_eq!(ev["type"], "Warning");
    }
}
