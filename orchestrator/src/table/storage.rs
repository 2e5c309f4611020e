//! Printers for persistent volumes, claims and storage classes.

use jiff::Timestamp;
use serde_json::Value;

use super::descriptions as d;
use super::format::{access_modes, at, cell, flag, is_set, list, quantity, text};
use super::{AGE, Column, NAME, Printer, Row, age};

const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

const PV_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Capacity", "string", d::PV_CAPACITY),
    Column::new("Access Modes", "string", d::PV_ACCESS_MODES),
    Column::new("Reclaim Policy", "string", d::PV_RECLAIM_POLICY),
    Column::new("Status", "string", d::PV_PHASE),
    Column::new("Claim", "string", d::PV_CLAIM_REF),
    Column::new("StorageClass", "string", "StorageClass of the pv"),
    Column::new(
        "VolumeAttributesClass",
        "string",
        "VolumeAttributesClass of the pv",
    ),
    Column::new("Reason", "string", d::PV_REASON),
    AGE,
    Column::wide("VolumeMode", "string", d::PV_VOLUME_MODE),
];

/// The persistent volume printer.
pub(crate) const PERSISTENT_VOLUMES: Printer = Printer {
    columns: PV_COLUMNS,
    row: pv_row,
};

/// The storage class of a volume or claim: the beta annotation wins over `spec.storageClassName`.
fn storage_class(obj: &Value) -> String {
    match text(
        obj,
        &["metadata", "annotations", BETA_STORAGE_CLASS_ANNOTATION],
    ) {
        "" => text(obj, &["spec", "storageClassName"]).to_string(),
        s => s.to_string(),
    }
}

fn unset_or(obj: &Value, path: &[&str]) -> String {
    match at(obj, path).and_then(Value::as_str) {
        Some(s) => s.to_string(),
        None => "<unset>".to_string(),
    }
}

/// `Terminating` for an object being deleted, else its phase.
fn phase(obj: &Value) -> String {
    if is_set(obj, &["metadata", "deletionTimestamp"]) {
        "Terminating".into()
    } else {
        text(obj, &["status", "phase"]).to_string()
    }
}

fn pv_row(pv: &Value, now: Timestamp) -> Row {
    let claim = if is_set(pv, &["spec", "claimRef"]) {
        format!(
            "{}/{}",
            text(pv, &["spec", "claimRef", "namespace"]),
            text(pv, &["spec", "claimRef", "name"])
        )
    } else {
        String::new()
    };
    vec![
        cell(text(pv, &["metadata", "name"])),
        cell(quantity(at(pv, &["spec", "capacity", "storage"]))),
        cell(access_modes(list(pv, &["spec", "accessModes"]))),
        cell(text(pv, &["spec", "persistentVolumeReclaimPolicy"])),
        cell(phase(pv)),
        cell(claim),
        cell(storage_class(pv)),
        cell(unset_or(pv, &["spec", "volumeAttributesClassName"])),
        cell(text(pv, &["status", "reason"])),
        age(pv, now),
        cell(unset_or(pv, &["spec", "volumeMode"])),
    ]
    .into()
}

const PVC_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Status", "string", d::PVC_PHASE),
    Column::new("Volume", "string", d::PVC_VOLUME_NAME),
    Column::new("Capacity", "string", d::PVC_CAPACITY),
    Column::new("Access Modes", "string", d::PVC_ACCESS_MODES),
    Column::new("StorageClass", "string", "StorageClass of the pvc"),
    Column::new(
        "VolumeAttributesClass",
        "string",
        "VolumeAttributesClass of the pvc",
    ),
    AGE,
    Column::wide("VolumeMode", "string", d::PVC_VOLUME_MODE),
];

/// The persistent volume claim printer: capacity and access modes show once the claim is bound.
pub(crate) const PERSISTENT_VOLUME_CLAIMS: Printer = Printer {
    columns: PVC_COLUMNS,
    row: pvc_row,
};

fn pvc_row(pvc: &Value, now: Timestamp) -> Row {
    let volume = text(pvc, &["spec", "volumeName"]);
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(at(pvc, &["status", "capacity", "storage"])),
            access_modes(list(pvc, &["status", "accessModes"])),
        )
    };
    vec![
        cell(text(pvc, &["metadata", "name"])),
        cell(phase(pvc)),
        cell(volume),
        cell(capacity),
        cell(modes),
        cell(storage_class(pvc)),
        cell(unset_or(pvc, &["spec", "volumeAttributesClassName"])),
        age(pvc, now),
        cell(unset_or(pvc, &["spec", "volumeMode"])),
    ]
    .into()
}

const STORAGE_CLASS_COLUMNS: &[Column] = &[
    NAME,
    Column::new("Provisioner", "string", d::SC_PROVISIONER),
    Column::new("ReclaimPolicy", "string", d::SC_RECLAIM_POLICY),
    Column::new("VolumeBindingMode", "string", d::SC_BINDING_MODE),
    Column::new("AllowVolumeExpansion", "string", d::SC_ALLOW_EXPANSION),
    AGE,
];

/// The storage class printer; the default class's name gets ` (default)`.
pub(crate) const STORAGE_CLASSES: Printer = Printer {
    columns: STORAGE_CLASS_COLUMNS,
    row: storage_class_row,
};

/// `storageutil.IsDefaultAnnotation`.
fn is_default_class(sc: &Value) -> bool {
    [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|a| text(sc, &["metadata", "annotations", a]) == "true")
}

fn storage_class_row(sc: &Value, now: Timestamp) -> Row {
    let mut name = text(sc, &["metadata", "name"]).to_string();
    if is_default_class(sc) {
        name.push_str(" (default)");
    }
    let or = |path: &[&str], default: &str| match text(sc, path) {
        "" => default.to_string(),
        s => s.to_string(),
    };
    vec![
        cell(name),
        cell(text(sc, &["provisioner"])),
        cell(or(&["reclaimPolicy"], "Delete")),
        cell(or(&["volumeBindingMode"], "Immediate")),
        Value::from(flag(sc, &["allowVolumeExpansion"])),
        age(sc, now),
    ]
    .into()
}
