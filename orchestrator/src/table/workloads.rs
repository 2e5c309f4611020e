//! Printers for workloads: deployments, replica sets, replication controllers, daemon sets,
//! stateful sets, jobs, cron jobs and pod templates.

use jiff::Timestamp;
use serde_json::Value;

use super::descriptions as d;
use super::duration::{human_duration, parse_time, since};
use super::format::{
    at, bool_ptr, cell, container_cells, format_label_selector, format_labels, int, is_set, list,
    object, selector_string, text,
};
use super::{AGE, Column, NAME, Printer, Row, age};

const CONTAINERS: Column = Column::wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Column = Column::wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);

fn name(obj: &Value) -> Value {
    cell(text(obj, &["metadata", "name"]))
}

/// The wide Containers and Images cells of the pod template at `template`.
fn template_cells(obj: &Value, template: &[&str]) -> [Value; 2] {
    let mut path = template.to_vec();
    path.extend(["spec", "containers"]);
    let (names, images) = container_cells(list(obj, &path));
    [cell(names), cell(images)]
}

/// Replicas as upstream's defaulted field would read: 1 when unset.
fn spec_replicas(obj: &Value) -> i64 {
    at(obj, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Ready", "string", "Number of the pod with ready state"),
    Column::new("Up-to-date", "string", d::DEPLOY_UPDATED),
    Column::new("Available", "string", d::DEPLOY_AVAILABLE),
    AGE,
    CONTAINERS,
    IMAGES,
    Column::wide("Selector", "string", d::DEPLOY_SELECTOR),
];

/// The deployment printer.
pub(crate) const DEPLOYMENTS: Printer = Printer {
    columns: DEPLOYMENT_COLUMNS,
    row: deployment_row,
};

fn deployment_row(dep: &Value, now: Timestamp) -> Row {
    // Deployments print `selector.String()`: empty (not `<none>`) for an empty selector.
    let selector =
        selector_string(at(dep, &["spec", "selector"])).unwrap_or_else(|| "<invalid>".into());
    let [containers, images] = template_cells(dep, &["spec", "template"]);
    vec![
        name(dep),
        cell(format!(
            "{}/{}",
            int(dep, &["status", "readyReplicas"]),
            spec_replicas(dep)
        )),
        Value::from(int(dep, &["status", "updatedReplicas"])),
        Value::from(int(dep, &["status", "availableReplicas"])),
        age(dep, now),
        containers,
        images,
        cell(selector),
    ]
    .into()
}

const REPLICA_SET_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Desired", "integer", d::RS_SPEC_REPLICAS),
    Column::new("Current", "integer", d::RS_STATUS_REPLICAS),
    Column::new("Ready", "integer", d::RS_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    Column::wide("Selector", "string", d::RS_SELECTOR),
];

/// The replica set printer.
pub(crate) const REPLICA_SETS: Printer = Printer {
    columns: REPLICA_SET_COLUMNS,
    row: replica_set_row,
};

fn replica_set_row(rs: &Value, now: Timestamp) -> Row {
    let [containers, images] = template_cells(rs, &["spec", "template"]);
    vec![
        name(rs),
        Value::from(spec_replicas(rs)),
        Value::from(int(rs, &["status", "replicas"])),
        Value::from(int(rs, &["status", "readyReplicas"])),
        age(rs, now),
        containers,
        images,
        cell(format_label_selector(at(rs, &["spec", "selector"]))),
    ]
    .into()
}

const REPLICATION_CONTROLLER_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Desired", "integer", d::RC_SPEC_REPLICAS),
    Column::new("Current", "integer", d::RC_STATUS_REPLICAS),
    Column::new("Ready", "integer", d::RC_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    Column::wide("Selector", "string", d::RC_SELECTOR),
];

/// The replication controller printer; its selector is a plain label map.
pub(crate) const REPLICATION_CONTROLLERS: Printer = Printer {
    columns: REPLICATION_CONTROLLER_COLUMNS,
    row: replication_controller_row,
};

fn replication_controller_row(rc: &Value, now: Timestamp) -> Row {
    let [containers, images] = template_cells(rc, &["spec", "template"]);
    vec![
        name(rc),
        Value::from(spec_replicas(rc)),
        Value::from(int(rc, &["status", "replicas"])),
        Value::from(int(rc, &["status", "readyReplicas"])),
        age(rc, now),
        containers,
        images,
        cell(format_labels(object(rc, &["spec", "selector"]))),
    ]
    .into()
}

const DAEMON_SET_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Desired", "integer", d::DS_DESIRED),
    Column::new("Current", "integer", d::DS_CURRENT),
    Column::new("Ready", "integer", d::DS_READY),
    Column::new("Up-to-date", "integer", d::DS_UPDATED),
    Column::new("Available", "integer", d::DS_AVAILABLE),
    Column::new("Node Selector", "string", d::NODE_SELECTOR),
    AGE,
    CONTAINERS,
    IMAGES,
    Column::wide("Selector", "string", d::DS_SELECTOR),
];

/// The daemon set printer.
pub(crate) const DAEMON_SETS: Printer = Printer {
    columns: DAEMON_SET_COLUMNS,
    row: daemon_set_row,
};

fn daemon_set_row(ds: &Value, now: Timestamp) -> Row {
    let [containers, images] = template_cells(ds, &["spec", "template"]);
    let status = |f: &str| Value::from(int(ds, &["status", f]));
    vec![
        name(ds),
        status("desiredNumberScheduled"),
        status("currentNumberScheduled"),
        status("numberReady"),
        status("updatedNumberScheduled"),
        status("numberAvailable"),
        cell(format_labels(object(
            ds,
            &["spec", "template", "spec", "nodeSelector"],
        ))),
        age(ds, now),
        containers,
        images,
        cell(format_label_selector(at(ds, &["spec", "selector"]))),
    ]
    .into()
}

const CONTROLLER_REVISION_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Controller", "string", "Controller of the object"),
    Column::new(
        "Revision",
        "string",
        "Revision indicates the revision of the state represented by Data.",
    ),
    AGE,
];

/// The controller revision printer (upstream `printControllerRevision`).
pub(crate) const CONTROLLER_REVISIONS: Printer = Printer {
    columns: CONTROLLER_REVISION_COLUMNS,
    row: controller_revision_row,
};

/// The controller is shown as `<kind>.<group>/<name>` in lower case, as upstream's
/// `formatResourceName`.
fn controller_revision_row(cr: &Value, now: Timestamp) -> Row {
    let controller = cr["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
        .map_or_else(
            || "<none>".to_string(),
            |r| {
                let group = r["apiVersion"]
                    .as_str()
                    .and_then(|v| v.split_once('/'))
                    .map_or("", |(g, _)| g);
                let kind = r["kind"].as_str().unwrap_or("");
                let gk = if group.is_empty() {
                    kind.to_string()
                } else {
                    format!("{kind}.{group}")
                };
                format!("{}/{}", gk.to_lowercase(), r["name"].as_str().unwrap_or(""))
            },
        );
    vec![
        name(cr),
        cell(controller),
        Value::from(cr["revision"].as_i64().unwrap_or(0)),
        age(cr, now),
    ]
    .into()
}

const STATEFUL_SET_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Ready", "string", "Number of the pod with ready state"),
    AGE,
    CONTAINERS,
    IMAGES,
];

/// The stateful set printer.
pub(crate) const STATEFUL_SETS: Printer = Printer {
    columns: STATEFUL_SET_COLUMNS,
    row: stateful_set_row,
};

fn stateful_set_row(sts: &Value, now: Timestamp) -> Row {
    let [containers, images] = template_cells(sts, &["spec", "template"]);
    vec![
        name(sts),
        cell(format!(
            "{}/{}",
            int(sts, &["status", "readyReplicas"]),
            spec_replicas(sts)
        )),
        age(sts, now),
        containers,
        images,
    ]
    .into()
}

const JOB_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Status", "string", "Status of the job."),
    Column::new("Completions", "string", d::JOB_SUCCEEDED),
    Column::new("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    Column::wide("Selector", "string", d::JOB_SELECTOR),
];

/// The job printer, with the STATUS column of Kubernetes 1.30 and later.
pub(crate) const JOBS: Printer = Printer {
    columns: JOB_COLUMNS,
    row: job_row,
};

/// `hasJobCondition`: the first condition of the type is `True`.
fn has_job_condition(job: &Value, ty: &str) -> bool {
    list(job, &["status", "conditions"])
        .iter()
        .find(|c| text(c, &["type"]) == ty)
        .is_some_and(|c| text(c, &["status"]) == "True")
}

fn job_status(job: &Value) -> &'static str {
    if has_job_condition(job, "Complete") {
        "Complete"
    } else if has_job_condition(job, "Failed") {
        "Failed"
    } else if is_set(job, &["metadata", "deletionTimestamp"]) {
        "Terminating"
    } else if has_job_condition(job, "Suspended") {
        "Suspended"
    } else if has_job_condition(job, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

fn job_row(job: &Value, now: Timestamp) -> Row {
    let succeeded = int(job, &["status", "succeeded"]);
    let completions = match at(job, &["spec", "completions"]).and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int(job, &["spec", "parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = parse_time(at(job, &["status", "startTime"]));
    let duration = match (start, parse_time(at(job, &["status", "completionTime"]))) {
        (None, _) => String::new(),
        (Some(s), None) => since(Some(s), now),
        (Some(s), Some(c)) => human_duration(c.duration_since(s)),
    };
    let [containers, images] = template_cells(job, &["spec", "template"]);
    vec![
        name(job),
        cell(job_status(job)),
        cell(completions),
        cell(duration),
        age(job, now),
        containers,
        images,
        cell(format_label_selector(at(job, &["spec", "selector"]))),
    ]
    .into()
}

const CRON_JOB_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Schedule", "string", d::CRONJOB_SCHEDULE),
    Column::new("Timezone", "string", d::CRONJOB_TIMEZONE),
    Column::new("Suspend", "boolean", d::CRONJOB_SUSPEND),
    Column::new("Active", "integer", d::CRONJOB_ACTIVE),
    Column::new("Last Schedule", "string", d::CRONJOB_LAST_SCHEDULE),
    AGE,
    CONTAINERS,
    IMAGES,
    Column::wide("Selector", "string", d::JOB_SELECTOR),
];

/// The cron job printer.
pub(crate) const CRON_JOBS: Printer = Printer {
    columns: CRON_JOB_COLUMNS,
    row: cron_job_row,
};

fn cron_job_row(cj: &Value, now: Timestamp) -> Row {
    let last_schedule = match parse_time(at(cj, &["status", "lastScheduleTime"])) {
        Some(t) => since(Some(t), now),
        None => "<none>".into(),
    };
    let time_zone = match text(cj, &["spec", "timeZone"]) {
        "" if !is_set(cj, &["spec", "timeZone"]) => "<none>".to_string(),
        tz => tz.to_string(),
    };
    let active = i64::try_from(list(cj, &["status", "active"]).len()).unwrap_or(i64::MAX);
    let [containers, images] = template_cells(cj, &["spec", "jobTemplate", "spec", "template"]);
    vec![
        name(cj),
        cell(text(cj, &["spec", "schedule"])),
        cell(time_zone),
        cell(bool_ptr(at(cj, &["spec", "suspend"]))),
        Value::from(active),
        cell(last_schedule),
        age(cj, now),
        containers,
        images,
        cell(format_label_selector(at(
            cj,
            &["spec", "jobTemplate", "spec", "selector"],
        ))),
    ]
    .into()
}

const POD_TEMPLATE_COLUMNS: &[Column] = &[
    NAME,
    Column::new(
        "Containers",
        "string",
        "Names of each container in the template.",
    ),
    Column::new(
        "Images",
        "string",
        "Images referenced by each container in the template.",
    ),
    Column::new("Pod Labels", "string", "The labels for the pod template."),
];

/// The pod template printer.
pub(crate) const POD_TEMPLATES: Printer = Printer {
    columns: POD_TEMPLATE_COLUMNS,
    row: pod_template_row,
};

fn pod_template_row(pt: &Value, _now: Timestamp) -> Row {
    let [containers, images] = template_cells(pt, &["template"]);
    vec![
        name(pt),
        containers,
        images,
        cell(format_labels(object(
            pt,
            &["template", "metadata", "labels"],
        ))),
    ]
    .into()
}
