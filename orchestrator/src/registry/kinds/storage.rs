//! Storage kinds: PersistentVolume, PersistentVolumeClaim (v1) and StorageClass
//! (storage.k8s.io/v1) — upstream's defaults, `ValidatePersistentVolume(Claim)` and
//! `ValidateStorageClass`, and what may change after creation.

use k8s_openapi::api::core::v1::{
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimStatus, PersistentVolumeSpec, PersistentVolumeStatus,
};
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::Value;

use super::Kind;
use super::resource_lists::{
    canonicalize_list, parse_quantity, positive_quantity, resource_quantity,
};
use crate::error::Cause;
use crate::registry::validation::names::{dns1123_subdomain, qualified_name};
use crate::registry::validation::{FIELD_IMMUTABLE, too_long, validate_label_selector};

/// PersistentVolumes.
pub(crate) struct PersistentVolumeKind;
/// PersistentVolumeClaims.
pub(crate) struct PersistentVolumeClaimKind;
/// StorageClasses.
pub(crate) struct StorageClassKind;

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
const RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];

fn access_modes(modes: &[String], path: &str, required_detail: &str, errs: &mut Vec<Cause>) {
    if modes.is_empty() {
        errs.push(Cause::required(path, required_detail));
    }
    for m in modes {
        if !ACCESS_MODES.contains(&m.as_str()) {
            errs.push(Cause::not_supported(
                path,
                &Value::from(m.as_str()),
                ACCESS_MODES,
            ));
        }
    }
    if modes.iter().any(|m| m == "ReadWriteOncePod")
        && modes.iter().any(|m| m != "ReadWriteOncePod")
    {
        errs.push(Cause::forbidden(
            path,
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
}

/// The `PersistentVolumeSpec` fields that are not a volume source.
const PV_NON_SOURCE: &[&str] = &[
    "accessModes",
    "capacity",
    "claimRef",
    "mountOptions",
    "nodeAffinity",
    "persistentVolumeReclaimPolicy",
    "storageClassName",
    "volumeMode",
    "volumeAttributesClassName",
];

/// The volume source of a PV spec, as JSON (what upstream's `PersistentVolumeSource` holds).
fn pv_source(spec: &PersistentVolumeSpec) -> serde_json::Map<String, Value> {
    let mut json = match serde_json::to_value(spec) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    json.retain(|k, _| !PV_NON_SOURCE.contains(&k.as_str()));
    json
}

impl Kind for PersistentVolumeKind {
    type Object = PersistentVolume;

    fn canonicalize(pv: &mut PersistentVolume) -> Result<(), &'static str> {
        canonicalize_list(pv.spec.as_mut().and_then(|s| s.capacity.as_mut()))
    }

    fn default(pv: &mut PersistentVolume) {
        let spec = pv.spec.get_or_insert_with(Default::default);
        if spec
            .persistent_volume_reclaim_policy
            .as_deref()
            .is_none_or(str::is_empty)
        {
            spec.persistent_volume_reclaim_policy = Some("Retain".into());
        }
        if spec.volume_mode.as_deref().is_none_or(str::is_empty) {
            spec.volume_mode = Some("Filesystem".into());
        }
    }

    fn prepare_create(pv: &mut PersistentVolume) {
        pv.status = Some(PersistentVolumeStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        });
    }

    fn prepare_update(new: &mut PersistentVolume, old: &PersistentVolume) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut PersistentVolume, old: &PersistentVolume) {
        new.spec.clone_from(&old.spec);
    }

    /// `ValidatePersistentVolumeSpec`.
    fn validate(pv: &PersistentVolume, errs: &mut Vec<Cause>) {
        let spec = pv.spec.clone().unwrap_or_default();
        access_modes(
            spec.access_modes.as_deref().unwrap_or_default(),
            "spec.accessModes",
            "",
            errs,
        );
        let capacity = spec.capacity.clone().unwrap_or_default();
        if capacity.is_empty() {
            errs.push(Cause::required("spec.capacity", ""));
        }
        if !capacity.contains_key("storage") || capacity.len() > 1 {
            let keys: Vec<String> = capacity.keys().map(|k| format!("{k:?}")).collect();
            errs.push(Cause {
                kind: crate::error::CauseKind::NotSupported,
                field: "spec.capacity".into(),
                message: format!(
                    "Unsupported value: core.ResourceList{{{}}}: supported values: \"storage\"",
                    keys.join(", ")
                ),
            });
        }
        for (k, q) in &capacity {
            positive_quantity(q, &format!("spec.capacity[{k}]"), errs);
        }
        if let Some(p) = spec
            .persistent_volume_reclaim_policy
            .as_deref()
            .filter(|p| !p.is_empty())
            && !RECLAIM_POLICIES.contains(&p)
        {
            errs.push(Cause::not_supported(
                "spec.persistentVolumeReclaimPolicy",
                &Value::from(p),
                RECLAIM_POLICIES,
            ));
        }
        if let Some(sc) = spec.storage_class_name.as_deref().filter(|s| !s.is_empty()) {
            for m in dns1123_subdomain(sc) {
                errs.push(Cause::invalid(
                    "spec.storageClassName",
                    &Value::from(sc),
                    &m,
                ));
            }
        }
        if let Some(m) = spec.volume_mode.as_deref()
            && !VOLUME_MODES.contains(&m)
        {
            errs.push(Cause::not_supported(
                "spec.volumeMode",
                &Value::from(m),
                VOLUME_MODES,
            ));
        }
        match pv_source(&spec).len() {
            0 => errs.push(Cause::required("spec", "must specify a volume type")),
            1 => {}
            _ => errs.push(Cause::forbidden(
                "spec",
                "may not specify more than 1 volume type",
            )),
        }
    }

    /// `ValidatePersistentVolumeUpdate`: the volume source and mode are fixed.
    fn validate_update(new: &PersistentVolume, old: &PersistentVolume, errs: &mut Vec<Cause>) {
        let (ns, os) = (
            new.spec.clone().unwrap_or_default(),
            old.spec.clone().unwrap_or_default(),
        );
        if pv_source(&ns) != pv_source(&os) {
            errs.push(Cause::forbidden(
                "spec.persistentvolumesource",
                "spec.persistentvolumesource is immutable after creation",
            ));
        }
        if ns.volume_mode != os.volume_mode {
            errs.push(Cause::invalid(
                "volumeMode",
                &Value::from(ns.volume_mode.unwrap_or_default()),
                FIELD_IMMUTABLE,
            ));
        }
    }
}

fn storage_request(
    spec: &PersistentVolumeClaimSpec,
) -> Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity> {
    spec.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
}

impl Kind for PersistentVolumeClaimKind {
    type Object = PersistentVolumeClaim;

    fn canonicalize(pvc: &mut PersistentVolumeClaim) -> Result<(), &'static str> {
        if let Some(r) = pvc.spec.as_mut().and_then(|s| s.resources.as_mut()) {
            canonicalize_list(r.requests.as_mut())?;
            canonicalize_list(r.limits.as_mut())?;
        }
        if let Some(s) = pvc.status.as_mut() {
            canonicalize_list(s.capacity.as_mut())?;
            canonicalize_list(s.allocated_resources.as_mut())?;
        }
        Ok(())
    }

    fn default(pvc: &mut PersistentVolumeClaim) {
        let spec = pvc.spec.get_or_insert_with(Default::default);
        if spec.volume_mode.as_deref().is_none_or(str::is_empty) {
            spec.volume_mode = Some("Filesystem".into());
        }
    }

    fn prepare_create(pvc: &mut PersistentVolumeClaim) {
        pvc.status = Some(PersistentVolumeClaimStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        });
    }

    fn prepare_update(new: &mut PersistentVolumeClaim, old: &PersistentVolumeClaim) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut PersistentVolumeClaim, old: &PersistentVolumeClaim) {
        new.spec.clone_from(&old.spec);
    }

    /// `ValidatePersistentVolumeClaimSpec`.
    fn validate(pvc: &PersistentVolumeClaim, errs: &mut Vec<Cause>) {
        let spec = pvc.spec.clone().unwrap_or_default();
        access_modes(
            spec.access_modes.as_deref().unwrap_or_default(),
            "spec.accessModes",
            "at least 1 access mode is required",
            errs,
        );
        if let Some(sel) = &spec.selector {
            validate_label_selector(sel, "spec.selector", errs);
        }
        match storage_request(&spec) {
            None => errs.push(Cause::required("spec.resources[storage]", "")),
            Some(q) => {
                if positive_quantity(q, "spec.resources[storage]", errs).is_some() {
                    resource_quantity("storage", q, "spec.resources[storage]", errs);
                }
            }
        }
        if let Some(sc) = spec.storage_class_name.as_deref().filter(|s| !s.is_empty()) {
            for m in dns1123_subdomain(sc) {
                errs.push(Cause::invalid(
                    "spec.storageClassName",
                    &Value::from(sc),
                    &m,
                ));
            }
        }
        if let Some(m) = spec.volume_mode.as_deref()
            && !VOLUME_MODES.contains(&m)
        {
            errs.push(Cause::not_supported(
                "spec.volumeMode",
                &Value::from(m),
                VOLUME_MODES,
            ));
        }
    }

    /// `ValidatePersistentVolumeClaimUpdate`: the spec is fixed except a first `volumeName`, and
    /// for bound claims the storage request (which may shrink only down to the status capacity).
    fn validate_update(
        new: &PersistentVolumeClaim,
        old: &PersistentVolumeClaim,
        errs: &mut Vec<Cause>,
    ) {
        let (ns, os) = (
            new.spec.clone().unwrap_or_default(),
            old.spec.clone().unwrap_or_default(),
        );
        let mut new_clone = ns.clone();
        let mut old_clone = os.clone();
        if os.volume_name.as_deref().is_none_or(str::is_empty) {
            old_clone.volume_name.clone_from(&ns.volume_name);
        }
        let bound = new.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        if bound {
            if let Some(reqs) = new_clone
                .resources
                .as_mut()
                .and_then(|r| r.requests.as_mut())
            {
                match storage_request(&os) {
                    Some(q) => reqs.insert("storage".into(), q.clone()),
                    None => reqs.remove("storage"),
                };
            }
            new_clone
                .volume_attributes_class_name
                .clone_from(&old_clone.volume_attributes_class_name);
        }
        if new_clone != old_clone {
            errs.push(Cause::forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
            ));
        }
        let mut scratch = Vec::new();
        let size = |spec: &PersistentVolumeClaimSpec, scratch: &mut Vec<Cause>| {
            storage_request(spec).and_then(|q| parse_quantity(q, "", scratch))
        };
        if let (Some(new_size), Some(old_size)) = (size(&ns, &mut scratch), size(&os, &mut scratch))
            && new_size < old_size
        {
            let status_size = old
                .status
                .as_ref()
                .and_then(|s| s.capacity.as_ref())
                .and_then(|c| c.get("storage"))
                .and_then(|q| parse_quantity(q, "", &mut scratch));
            if status_size.is_none_or(|s| new_size <= s) {
                errs.push(Cause::forbidden(
                    "spec.resources.requests.storage",
                    "field can not be less than status.capacity",
                ));
            }
        }
        if ns.volume_mode != os.volume_mode {
            errs.push(Cause::invalid(
                "volumeMode",
                &Value::from(ns.volume_mode.unwrap_or_default()),
                FIELD_IMMUTABLE,
            ));
        }
    }
}

const MAX_PARAMETERS: usize = 512;
const MAX_PARAMETERS_SIZE: usize = 256 * 1024;

impl Kind for StorageClassKind {
    type Object = StorageClass;

    fn default(sc: &mut StorageClass) {
        if sc.reclaim_policy.as_deref().is_none_or(str::is_empty) {
            sc.reclaim_policy = Some("Delete".into());
        }
        if sc.volume_binding_mode.as_deref().is_none_or(str::is_empty) {
            sc.volume_binding_mode = Some("Immediate".into());
        }
    }

    /// `ValidateStorageClass`.
    fn validate(sc: &StorageClass, errs: &mut Vec<Cause>) {
        if sc.provisioner.is_empty() {
            errs.push(Cause::required("provisioner", ""));
        } else {
            let lower = sc.provisioner.to_lowercase();
            for m in qualified_name(&lower) {
                errs.push(Cause::invalid(
                    "provisioner",
                    &Value::from(lower.as_str()),
                    &m,
                ));
            }
        }
        let params = sc.parameters.clone().unwrap_or_default();
        let size: usize = params.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > MAX_PARAMETERS_SIZE {
            errs.push(too_long("parameters", MAX_PARAMETERS_SIZE));
        }
        if params.len() > MAX_PARAMETERS {
            errs.push(Cause::invalid(
                "parameters",
                &Value::from("Provisioner Parameters exceeded max allowed"),
                &format!("can't have more than {MAX_PARAMETERS} parameters"),
            ));
        }
        if params.contains_key("") {
            errs.push(Cause::invalid(
                "parameters",
                &Value::from(""),
                "field can not be empty.",
            ));
        }
        if let Some(p) = sc.reclaim_policy.as_deref().filter(|p| !p.is_empty())
            && p != "Delete"
            && p != "Retain"
        {
            errs.push(Cause::not_supported(
                "reclaimPolicy",
                &Value::from(p),
                &["Delete", "Retain"],
            ));
        }
        match sc.volume_binding_mode.as_deref() {
            None => errs.push(Cause::required("volumeBindingMode", "")),
            Some("Immediate" | "WaitForFirstConsumer") => {}
            Some(m) => errs.push(Cause::not_supported(
                "volumeBindingMode",
                &Value::from(m),
                &["Immediate", "WaitForFirstConsumer"],
            )),
        }
    }

    /// `ValidateStorageClassUpdate`.
    fn validate_update(new: &StorageClass, old: &StorageClass, errs: &mut Vec<Cause>) {
        let params = |sc: &StorageClass| sc.parameters.clone().unwrap_or_default();
        if params(new) != params(old) {
            errs.push(Cause::forbidden(
                "parameters",
                "updates to parameters are forbidden.",
            ));
        }
        if new.provisioner != old.provisioner {
            errs.push(Cause::forbidden(
                "provisioner",
                "updates to provisioner are forbidden.",
            ));
        }
        if new.reclaim_policy != old.reclaim_policy {
            errs.push(Cause::forbidden(
                "reclaimPolicy",
                "updates to reclaimPolicy are forbidden.",
            ));
        }
        if new.volume_binding_mode != old.volume_binding_mode {
            errs.push(Cause::invalid(
                "volumeBindingMode",
                &Value::from(new.volume_binding_mode.clone().unwrap_or_default()),
                FIELD_IMMUTABLE,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use rstest::rstest;
    use serde_json::{Value, json};

    fn pv(spec: Value) -> Value {
        json!({"metadata": {"name": "pv1"}, "spec": spec})
    }

    fn good_pv() -> Value {
        pv(
            json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/data"}}),
        )
    }

    #[test]
    fn pv_defaults_and_pending_status() {
        let out = create("persistentvolumes", good_pv()).unwrap();
        assert_eq!(out["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(out["spec"]["volumeMode"], "Filesystem");
        assert_eq!(out["status"], json!({"phase": "Pending"}));
    }

    #[rstest]
    #[case(pv(json!({"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/d"}})), "spec.accessModes: Required value")]
    #[case(pv(json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}})), "spec: Required value: must specify a volume type")]
    #[case(pv(json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "0"}, "hostPath": {"path": "/d"}})),
        "spec.capacity[storage]: Invalid value: \"0\": must be greater than zero")]
    #[case(pv(json!({"accessModes": ["ReadWriteSometimes"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/d"}})),
        "spec.accessModes: Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"")]
    fn invalid_pvs(#[case] obj: Value, #[case] want: &str) {
        let err = create("persistentvolumes", obj).unwrap_err();
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    fn pvc(storage: &str) -> Value {
        json!({"metadata": {"name": "c", "namespace": "default"},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}})
    }

    #[test]
    fn pvc_defaults_and_required_fields() {
        let out = create("persistentvolumeclaims", pvc("1Gi")).unwrap();
        assert_eq!(out["spec"]["volumeMode"], "Filesystem");
        assert_eq!(out["status"], json!({"phase": "Pending"}));
        let err = create(
            "persistentvolumeclaims",
            json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {}}),
        )
        .unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value"
            ]
        );
    }

    #[test]
    fn bound_claims_may_grow_but_unbound_specs_are_fixed() {
        let old = create("persistentvolumeclaims", pvc("1Gi")).unwrap();
        let grow = pvc("2Gi");
        let mut grow_full = old.clone();
        grow_full["spec"] = grow["spec"].clone();
        grow_full["spec"]["volumeMode"] = json!("Filesystem");
        let err = update("persistentvolumeclaims", grow_full.clone(), &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
            ]
        );
        let mut bound = old.clone();
        bound["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
        grow_full["status"] = bound["status"].clone();
        assert!(update("persistentvolumeclaims", grow_full, &bound).is_ok());
        let mut volume_name = old.clone();
        volume_name["spec"]["volumeName"] = json!("pv1");
        assert!(update("persistentvolumeclaims", volume_name, &old).is_ok());
    }

    fn sc(extra: Value) -> Value {
        let mut v =
            json!({"metadata": {"name": "fast"}, "provisioner": "kubernetes.io/no-provisioner"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn storage_class_defaults_and_fixed_parameters() {
        let old = create(
            "storageclasses.storage.k8s.io",
            sc(json!({"parameters": {"type": "ssd"}})),
        )
        .unwrap();
        assert_eq!(old["reclaimPolicy"], "Delete");
        assert_eq!(old["volumeBindingMode"], "Immediate");
        let mut new = old.clone();
        new["parameters"] = json!({"type": "hdd"});
        new["provisioner"] = json!("other.example.com/x");
        let err = update("storageclasses.storage.k8s.io", new, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "parameters: Forbidden: updates to parameters are forbidden.",
                "provisioner: Forbidden: updates to provisioner are forbidden."
            ]
        );
        let err = create(
            "storageclasses.storage.k8s.io",
            json!({"metadata": {"name": "x"}}),
        )
        .unwrap_err();
        assert_eq!(causes(&err), vec!["provisioner: Required value"]);
    }
}
