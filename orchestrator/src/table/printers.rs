//! Printers for cluster and configuration kinds: nodes, namespaces, events, config maps, secrets,
//! service accounts, resource quotas, leases and priority classes.

use jiff::Timestamp;
use serde_json::Value;

use super::descriptions as d;
use super::duration::{parse_time, since};
use super::format::{at, cell, flag, int, list, map_len, object, quantity, text};
use super::{AGE, Column, NAME, Printer, Row, age};

fn name(obj: &Value) -> Value {
    cell(text(obj, &["metadata", "name"]))
}

const NODE_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Status", "string", "The status of the node"),
    Column::new("Roles", "string", "The roles of the node"),
    AGE,
    Column::new("Version", "string", d::KUBELET_VERSION),
    Column::wide("Internal-IP", "string", d::NODE_ADDRESSES),
    Column::wide("External-IP", "string", d::NODE_ADDRESSES),
    Column::wide("OS-Image", "string", d::OS_IMAGE),
    Column::wide("Kernel-Version", "string", d::KERNEL_VERSION),
    Column::wide("Container-Runtime", "string", d::CONTAINER_RUNTIME_VERSION),
];

/// The node printer.
pub(crate) const NODES: Printer = Printer {
    columns: NODE_COLUMNS,
    row: node_row,
};

/// `findNodeRoles`: `node-role.kubernetes.io/<role>` label keys and `kubernetes.io/role` values,
/// sorted and without duplicates.
pub(crate) fn node_roles(node: &Value) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for (k, v) in object(node, &["metadata", "labels"]).into_iter().flatten() {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.push(role.to_string());
            }
        } else if k == "kubernetes.io/role" && v.as_str().is_some_and(|s| !s.is_empty()) {
            roles.push(v.as_str().unwrap_or_default().to_string());
        }
    }
    roles.sort();
    roles.dedup();
    roles
}

fn node_address(node: &Value, ty: &str) -> String {
    list(node, &["status", "addresses"])
        .iter()
        .find(|a| text(a, &["type"]) == ty)
        .map_or_else(
            || "<none>".to_string(),
            |a| text(a, &["address"]).to_string(),
        )
}

fn node_row(node: &Value, now: Timestamp) -> Row {
    // Upstream looks only at the Ready condition (the last one of that type wins).
    let ready = list(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| text(c, &["type"]) == "Ready");
    let mut status: Vec<&str> = match ready {
        Some(c) if text(c, &["status"]) == "True" => vec!["Ready"],
        Some(_) => vec!["NotReady"],
        None => vec!["Unknown"],
    };
    if flag(node, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }
    let roles = node_roles(node);
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    let info = |f: &str| match text(node, &["status", "nodeInfo", f]) {
        "" => "<unknown>".to_string(),
        s => s.to_string(),
    };
    vec![
        name(node),
        cell(status.join(",")),
        cell(roles),
        age(node, now),
        cell(text(node, &["status", "nodeInfo", "kubeletVersion"])),
        cell(node_address(node, "InternalIP")),
        cell(node_address(node, "ExternalIP")),
        cell(info("osImage")),
        cell(info("kernelVersion")),
        cell(info("containerRuntimeVersion")),
    ]
    .into()
}

const NAMESPACE_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Status", "string", "The status of the namespace"),
    AGE,
];

/// The namespace printer.
pub(crate) const NAMESPACES: Printer = Printer {
    columns: NAMESPACE_COLUMNS,
    row: namespace_row,
};

fn namespace_row(ns: &Value, now: Timestamp) -> Row {
    vec![name(ns), cell(text(ns, &["status", "phase"])), age(ns, now)].into()
}

const EVENT_COLUMNS: &[Column] = &[
    Column::new("Last Seen", "string", d::EVENT_LAST_TIMESTAMP),
    Column::new("Type", "string", d::EVENT_TYPE),
    Column::new("Reason", "string", d::EVENT_REASON),
    Column::new("Object", "string", d::EVENT_INVOLVED_OBJECT),
    Column::wide("Subobject", "string", d::OBJECT_REFERENCE_FIELD_PATH),
    Column::wide("Source", "string", d::EVENT_SOURCE),
    Column::new("Message", "string", d::EVENT_MESSAGE),
    Column::wide("First Seen", "string", d::EVENT_FIRST_TIMESTAMP),
    Column::wide("Count", "string", d::EVENT_COUNT),
    Column {
        priority: 1,
        ..NAME
    },
];

/// The event printer, for `core/v1` and `events.k8s.io/v1` events alike (upstream serves both
/// from one storage and prints the internal type).
pub(crate) const EVENTS: Printer = Printer {
    columns: EVENT_COLUMNS,
    row: event_row,
};

/// An event field by its `core/v1` name, falling back to its `events.k8s.io/v1` name.
fn event_field<'a>(ev: &'a Value, core: &str, events: &str) -> Option<&'a Value> {
    ev.get(core)
        .filter(|v| !v.is_null())
        .or_else(|| ev.get(events).filter(|v| !v.is_null()))
}

fn event_row(ev: &Value, now: Timestamp) -> Row {
    let first_time = parse_time(event_field(
        ev,
        "firstTimestamp",
        "deprecatedFirstTimestamp",
    ));
    let first = match first_time {
        Some(t) => since(Some(t), now),
        None => since(parse_time(ev.get("eventTime")), now),
    };
    let mut last = match parse_time(event_field(ev, "lastTimestamp", "deprecatedLastTimestamp")) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = event_field(ev, "count", "deprecatedCount")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if let Some(series) = ev.get("series").filter(|s| !s.is_null()) {
        last = since(parse_time(series.get("lastObservedTime")), now);
        count = int(series, &["count"]);
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }
    let involved = event_field(ev, "involvedObject", "regarding")
        .cloned()
        .unwrap_or(Value::Null);
    let kind = text(&involved, &["kind"]).to_lowercase();
    let target = match text(&involved, &["name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let source = event_field(ev, "source", "deprecatedSource")
        .cloned()
        .unwrap_or(Value::Null);
    let first_non_empty = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        }
    };
    let component = first_non_empty(
        text(&source, &["component"]),
        text(ev, &["reportingController"]),
    );
    let host = first_non_empty(text(&source, &["host"]), text(ev, &["reportingInstance"]));
    let source = if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    };
    let message = event_field(ev, "message", "note")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    vec![
        cell(last),
        cell(text(ev, &["type"])),
        cell(text(ev, &["reason"])),
        cell(target),
        cell(text(&involved, &["fieldPath"])),
        cell(source),
        cell(message),
        cell(first),
        Value::from(count),
        name(ev),
    ]
    .into()
}

const CONFIG_MAP_COLUMNS: &[Column] =
    &[NAME, Column::new("Data", "string", d::CONFIGMAP_DATA), AGE];

/// The config map printer: DATA counts `data` and `binaryData` keys.
pub(crate) const CONFIG_MAPS: Printer = Printer {
    columns: CONFIG_MAP_COLUMNS,
    row: config_map_row,
};

fn config_map_row(cm: &Value, now: Timestamp) -> Row {
    let data = map_len(cm, &["data"]) + map_len(cm, &["binaryData"]);
    vec![name(cm), Value::from(data), age(cm, now)].into()
}

const SECRET_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Type", "string", d::SECRET_TYPE),
    Column::new("Data", "string", d::SECRET_DATA),
    AGE,
];

/// The secret printer. Secrets are stored with `stringData` folded into `data`.
pub(crate) const SECRETS: Printer = Printer {
    columns: SECRET_COLUMNS,
    row: secret_row,
};

fn secret_row(s: &Value, now: Timestamp) -> Row {
    vec![
        name(s),
        cell(text(s, &["type"])),
        Value::from(map_len(s, &["data"])),
        age(s, now),
    ]
    .into()
}

const SERVICE_ACCOUNT_COLUMNS: &[Column] =
    &[NAME, Column::new("Secrets", "string", d::SA_SECRETS), AGE];

/// The service account printer.
pub(crate) const SERVICE_ACCOUNTS: Printer = Printer {
    columns: SERVICE_ACCOUNT_COLUMNS,
    row: service_account_row,
};

fn service_account_row(sa: &Value, now: Timestamp) -> Row {
    let secrets = i64::try_from(list(sa, &["secrets"]).len()).unwrap_or(i64::MAX);
    vec![name(sa), Value::from(secrets), age(sa, now)].into()
}

const RESOURCE_QUOTA_COLUMNS: &[Column] = &[
    NAME,
    Column::new(
        "Request",
        "string",
        "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    Column::new(
        "Limit",
        "string",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
    AGE,
];

/// The resource quota printer: `used/hard` per resource, `limits.*` in the LIMIT column.
pub(crate) const RESOURCE_QUOTAS: Printer = Printer {
    columns: RESOURCE_QUOTA_COLUMNS,
    row: resource_quota_row,
};

fn resource_quota_row(rq: &Value, now: Timestamp) -> Row {
    let mut resources: Vec<&String> = object(rq, &["status", "hard"])
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    resources.sort();
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for r in resources {
        let used = quantity(at(rq, &["status", "used", r.as_str()]));
        let hard = quantity(at(rq, &["status", "hard", r.as_str()]));
        let entry = format!("{r}: {used}/{hard}");
        let pieces: Vec<&str> = r.split('.').collect();
        if pieces.len() > 1 && pieces[0] == "limits" {
            limits.push(entry)
        } else {
            requests.push(entry)
        }
    }
    vec![
        name(rq),
        cell(requests.join(", ")),
        cell(limits.join(", ")),
        age(rq, now),
    ]
    .into()
}

const LEASE_COLUMNS: &[Column] = &[NAME, Column::new("Holder", "string", d::LEASE_HOLDER), AGE];

/// The lease printer.
pub(crate) const LEASES: Printer = Printer {
    columns: LEASE_COLUMNS,
    row: lease_row,
};

fn lease_row(lease: &Value, now: Timestamp) -> Row {
    vec![
        name(lease),
        cell(text(lease, &["spec", "holderIdentity"])),
        age(lease, now),
    ]
    .into()
}

const PRIORITY_CLASS_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Value", "integer", d::PC_VALUE),
    Column::new("Global-Default", "boolean", d::PC_GLOBAL_DEFAULT),
    AGE,
    Column::wide("PreemptionPolicy", "string", d::PC_PREEMPTION_POLICY),
];

/// The priority class printer.
pub(crate) const PRIORITY_CLASSES: Printer = Printer {
    columns: PRIORITY_CLASS_COLUMNS,
    row: priority_class_row,
};

fn priority_class_row(pc: &Value, now: Timestamp) -> Row {
    vec![
        name(pc),
        Value::from(int(pc, &["value"])),
        Value::from(flag(pc, &["globalDefault"])),
        age(pc, now),
        cell(text(pc, &["preemptionPolicy"])),
    ]
    .into()
}
