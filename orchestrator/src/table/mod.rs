//! Server-side `Table` output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) with the
//! columns upstream's printers give each kind (`pkg/printers/internalversion/printers.go`), so
//! `kubectl get` reads as on a real cluster. Like upstream's `TableConvertor`, the server always
//! fills the `-o wide` cells (columns of priority 1); kubectl hides them unless asked. Resources
//! without a printer get upstream's default table (Name, Created At).

mod descriptions;
mod duration;
mod format;
mod network;
mod pods;
mod printers;
mod storage;
mod workloads;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

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

/// One `TableColumnDefinition`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column {
    pub name: &'static str,
    /// OpenAPI type: `string`, `integer`, `boolean`, `date`.
    pub ty: &'static str,
    /// OpenAPI format; `name` marks the column that holds the object's name.
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for the default view, 1 for columns only `-o wide` shows.
    pub priority: i32,
}

impl Column {
    /// A column of the default view.
    pub(crate) const fn new(
        name: &'static str,
        ty: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            ty,
            format: "",
            description,
            priority: 0,
        }
    }

    /// A column `-o wide` adds.
    pub(crate) const fn wide(
        name: &'static str,
        ty: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            ty,
            format: "",
            description,
            priority: 1,
        }
    }

    fn to_json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.ty,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The `Name` column every printer starts with.
pub(crate) const NAME: Column = Column {
    name: "Name",
    ty: "string",
    format: "name",
    description: descriptions::NAME,
    priority: 0,
};

/// The `Age` column.
pub(crate) const AGE: Column = Column::new("Age", "string", descriptions::CREATION_TIMESTAMP);

/// One row's cells and (for pods) its `TableRowCondition`s.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Row {
    pub cells: Vec<Value>,
    pub conditions: Vec<Value>,
}

impl From<Vec<Value>> for Row {
    fn from(cells: Vec<Value>) -> Self {
        Self {
            cells,
            conditions: Vec::new(),
        }
    }
}

/// A kind's columns and the function that fills one row.
#[derive(Clone, Copy)]
pub(crate) struct Printer {
    pub columns: &'static [Column],
    pub row: fn(&Value, Timestamp) -> Row,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("columns", &self.columns.len())
            .finish()
    }
}

/// The printer upstream registers for a resource, if any.
pub(crate) fn printer_for(group: &str, plural: &str) -> Option<Printer> {
    let p = match (group, plural) {
        ("", "pods") => pods::PODS,
        ("", "podtemplates") => workloads::POD_TEMPLATES,
        ("", "nodes") => printers::NODES,
        ("", "namespaces") => printers::NAMESPACES,
        ("", "services") => network::SERVICES,
        ("", "endpoints") => network::ENDPOINTS,
        ("", "events") | ("events.k8s.io", "events") => printers::EVENTS,
        ("", "replicationcontrollers") => workloads::REPLICATION_CONTROLLERS,
        ("", "configmaps") => printers::CONFIG_MAPS,
        ("", "secrets") => printers::SECRETS,
        ("", "serviceaccounts") => printers::SERVICE_ACCOUNTS,
        ("", "resourcequotas") => printers::RESOURCE_QUOTAS,
        ("", "persistentvolumes") => storage::PERSISTENT_VOLUMES,
        ("", "persistentvolumeclaims") => storage::PERSISTENT_VOLUME_CLAIMS,
        ("apps", "deployments") => workloads::DEPLOYMENTS,
        ("apps", "replicasets") => workloads::REPLICA_SETS,
        ("apps", "daemonsets") => workloads::DAEMON_SETS,
        ("apps", "controllerrevisions") => workloads::CONTROLLER_REVISIONS,
        ("apps", "statefulsets") => workloads::STATEFUL_SETS,
        ("batch", "jobs") => workloads::JOBS,
        ("batch", "cronjobs") => workloads::CRON_JOBS,
        ("coordination.k8s.io", "leases") => printers::LEASES,
        ("storage.k8s.io", "storageclasses") => storage::STORAGE_CLASSES,
        ("discovery.k8s.io", "endpointslices") => network::ENDPOINT_SLICES,
        ("scheduling.k8s.io", "priorityclasses") => printers::PRIORITY_CLASSES,
        _ => return None,
    };
    Some(p)
}

/// Upstream's `defaultTableConvertor` columns, for resources without a printer.
const DEFAULT_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Created At", "date", descriptions::CREATION_TIMESTAMP),
];

/// The default table's row: the name and the creation time in RFC 3339 (UTC).
fn default_row(obj: &Value, _now: Timestamp) -> Row {
    let created = duration::parse_time(format::at(obj, &["metadata", "creationTimestamp"]))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        // Go formats its zero time for an object without one.
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    vec![
        format::cell(format::text(obj, &["metadata", "name"])),
        format::cell(created),
    ]
    .into()
}

/// The age cell of an object: its `metadata.creationTimestamp` relative to `now`.
pub(crate) fn age(obj: &Value, now: Timestamp) -> Value {
    format::cell(duration::since(
        duration::parse_time(format::at(obj, &["metadata", "creationTimestamp"])),
        now,
    ))
}

/// The row's `object`. Upstream sets a nil object for `includeObject=None`, which its
/// `RawExtension` serializes as `null`.
fn row_object(obj: &Value, include: IncludeObject) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => obj.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
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
    let printer = printer_for(info.group, info.plural).unwrap_or(Printer {
        columns: DEFAULT_COLUMNS,
        row: default_row,
    });
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let row = (printer.row)(obj, now);
            let mut out = Map::new();
            out.insert("cells".into(), Value::Array(row.cells));
            if !row.conditions.is_empty() {
                out.insert("conditions".into(), Value::Array(row.conditions));
            }
            out.insert("object".into(), row_object(obj, include));
            Value::Object(out)
        })
        .collect();
    let mut metadata = Map::new();
    metadata.insert(
        "resourceVersion".into(),
        Value::String(resource_version.to_string()),
    );
    if let Some(c) = continue_token.filter(|c| !c.is_empty()) {
        metadata.insert("continue".into(), Value::String(c.to_string()));
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": printer.columns.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests;
