//! Server-side `Table` output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) with the
//! columns upstream's printers give each kind, so `kubectl get` reads as on a real cluster.
//! (Skeleton: the table helper fills this in.)

use serde_json::Value;

use crate::registry::ResourceInfo;

/// What each row's `object` holds (`includeObject`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    /// Upstream's default: `PartialObjectMetadata` (apiVersion meta.k8s.io/v1).
    #[default]
    Metadata,
    Object,
}

/// Build a `meta.k8s.io/v1` `Table` for `objects` of one resource. `resource_version` and
/// `continue_token` go into the table's list metadata. `now` is for AGE columns.
pub fn build(
    info: &ResourceInfo,
    objects: &[Value],
    include: IncludeObject,
    resource_version: u64,
    continue_token: Option<&str>,
    now: jiff::Timestamp,
) -> Value {
    let _ = (info, objects, include, resource_version, continue_token, now);
    Value::Null
}
