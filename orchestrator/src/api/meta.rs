//! Small accessors for `metadata` in canonical JSON objects.

use serde_json::{Map, Value};

/// `metadata`, created if missing.
pub(crate) fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let map = obj.as_object_mut().expect("just made an object");
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("just made an object")
}

/// A string field of `metadata`.
pub(crate) fn meta_str<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(key)?.as_str()
}

/// `metadata.name`, or empty.
pub(crate) fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

/// Whether `metadata.deletionTimestamp` is set.
pub(crate) fn is_terminating(obj: &Value) -> bool {
    obj.get("metadata")
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
}

/// `metadata.finalizers`, empty when unset.
pub(crate) fn finalizers(obj: &Value) -> Vec<&str> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Drop the empty lists and maps of `metadata` Go leaves out (`omitempty`): a strategic merge
/// patch that deletes the last finalizer, or a client that sends `labels: {}`, stores neither.
pub(crate) fn omit_empty(obj: &mut Value) {
    let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    m.retain(|k, v| {
        let empty = match v {
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Null => true,
            _ => false,
        };
        !(empty
            && matches!(
                k.as_str(),
                "labels" | "annotations" | "finalizers" | "ownerReferences" | "managedFields"
            ))
    });
}

/// Now, as Kubernetes serializes `metav1.Time` (RFC 3339, whole seconds, UTC).
pub(crate) fn now_rfc3339() -> String {
    timestamp_rfc3339(jiff::Timestamp::now())
}

/// A timestamp as `metav1.Time` serializes it.
pub(crate) fn timestamp_rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The same object with `metadata.resourceVersion` removed, for no-op detection.
pub(crate) fn without_resource_version(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    v
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn empty_metadata_lists_and_maps_are_left_out_as_go_leaves_them_out() {
        let mut obj = json!({"metadata": {"name": "a", "labels": {}, "annotations": null,
            "finalizers": [], "ownerReferences": []}, "spec": {"x": []}});
        super::omit_empty(&mut obj);
        assert_eq!(obj, json!({"metadata": {"name": "a"}, "spec": {"x": []}}));
        let mut kept = json!({"metadata": {"labels": {"a": "b"}, "finalizers": ["f"]}});
        let before = kept.clone();
        super::omit_empty(&mut kept);
        assert_eq!(kept, before);
    }
}
