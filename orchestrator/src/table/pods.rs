//! The pod table: upstream's `printPod`, whose STATUS column condenses phase, init progress,
//! container waiting/terminated reasons and deletion into one word, and whose RESTARTS column
//! says how long ago the last restart was.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::descriptions as d;
use super::duration::{parse_time, since};
use super::format::{at, cell, flag, int, is_set, list, text};
use super::{AGE, Column, NAME, Printer, Row, age};

const COLUMNS: &[Column] = &[
    NAME,
    Column::new(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    Column::new(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
    ),
    Column::new(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    Column::wide("IP", "string", d::POD_IP),
    Column::wide("Node", "string", d::NODE_NAME),
    Column::wide("Nominated Node", "string", d::NOMINATED_NODE_NAME),
    Column::wide("Readiness Gates", "string", d::READINESS_GATES),
];

/// The pod printer.
pub(crate) const PODS: Printer = Printer {
    columns: COLUMNS,
    row: pod_row,
};

/// `podutil.IsRestartableInitContainer`: a sidecar, which keeps running after initialization.
fn is_restartable(init: Option<&Value>) -> bool {
    init.is_some_and(|c| text(c, &["restartPolicy"]) == "Always")
}

fn has_condition<'a>(pod: &'a Value, ty: &str) -> Option<&'a Value> {
    list(pod, &["status", "conditions"])
        .iter()
        .find(|c| text(c, &["type"]) == ty)
}

/// The later of `latest` and a container's last termination time.
fn note_restart(latest: &mut Option<Timestamp>, status: &Value) {
    if let Some(t) = parse_time(at(status, &["lastState", "terminated", "finishedAt"]))
        && latest.is_none_or(|l| l < t)
    {
        *latest = Some(t);
    }
}

/// `Signal:9` / `ExitCode:1` for a terminated state without a reason.
fn terminated_without_reason(terminated: &Value, prefix: &str) -> String {
    let signal = int(terminated, &["signal"]);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!("{prefix}ExitCode:{}", int(terminated, &["exitCode"]))
    }
}

fn pod_row(pod: &Value, now: Timestamp) -> Row {
    let init_specs = list(pod, &["spec", "initContainers"]);
    let mut total = list(pod, &["spec", "containers"]).len();
    total += init_specs
        .iter()
        .filter(|c| is_restartable(Some(c)))
        .count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;

    let phase = text(pod, &["status", "phase"]);
    let mut reason = phase.to_string();
    if !text(pod, &["status", "reason"]).is_empty() {
        reason = text(pod, &["status", "reason"]).to_string();
    }
    for c in list(pod, &["status", "conditions"]) {
        if text(c, &["type"]) == "PodScheduled" && text(c, &["reason"]) == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }

    let conditions = match phase {
        "Succeeded" => vec![
            json!({"type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully."}),
        ],
        "Failed" => vec![
            json!({"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}),
        ],
        _ => Vec::new(),
    };

    let init_spec = |name: &str| init_specs.iter().find(|c| text(c, &["name"]) == name);
    let mut initializing = false;
    for (i, status) in list(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        restarts += int(status, &["restartCount"]);
        note_restart(&mut last_restart, status);
        let sidecar = is_restartable(init_spec(text(status, &["name"])));
        if sidecar {
            sidecar_restarts += int(status, &["restartCount"]);
            note_restart(&mut last_sidecar_restart, status);
        }
        let terminated = at(status, &["state", "terminated"]).filter(|t| !t.is_null());
        let waiting_reason = text(status, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int(t, &["exitCode"]) == 0) {
            continue;
        }
        if sidecar && flag(status, &["started"]) {
            if flag(status, &["ready"]) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = match text(t, &["reason"]) {
                "" => terminated_without_reason(t, "Init:"),
                r => format!("Init:{r}"),
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    let initialized =
        has_condition(pod, "Initialized").is_some_and(|c| text(c, &["status"]) == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for status in list(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int(status, &["restartCount"]);
            note_restart(&mut last_restart, status);
            let waiting_reason = text(status, &["state", "waiting", "reason"]);
            let terminated = at(status, &["state", "terminated"]).filter(|t| !t.is_null());
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = match text(t, &["reason"]) {
                    "" => terminated_without_reason(t, ""),
                    r => r.to_string(),
                };
            } else if flag(status, &["ready"]) && is_set(status, &["state", "running"]) {
                has_running = true;
                ready += 1;
            }
        }
        // A pod whose containers completed but one still runs is Running (or NotReady).
        if reason == "Completed" && has_running {
            let pod_ready =
                has_condition(pod, "Ready").is_some_and(|c| text(c, &["status"]) == "True");
            reason = if pod_ready {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    if is_set(pod, &["metadata", "deletionTimestamp"]) {
        if text(pod, &["status", "reason"]) == "NodeLost" {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };

    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let pod_ip = list(pod, &["status", "podIPs"])
        .first()
        .map(|p| text(p, &["ip"]))
        .unwrap_or("");
    let gates = list(pod, &["spec", "readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                has_condition(pod, text(g, &["conditionType"]))
                    .is_some_and(|c| text(c, &["status"]) == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };

    Row {
        cells: vec![
            cell(text(pod, &["metadata", "name"])),
            cell(format!("{ready}/{total}")),
            cell(reason),
            cell(restarts_cell),
            age(pod, now),
            cell(or_none(pod_ip)),
            cell(or_none(text(pod, &["spec", "nodeName"]))),
            cell(or_none(text(pod, &["status", "nominatedNodeName"]))),
            cell(readiness_gates),
        ],
        conditions,
    }
}

#[cfg(test)]
#[path = "pods_tests.rs"]
mod tests;
