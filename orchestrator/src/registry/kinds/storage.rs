//! Storage kinds: PersistentVolume, PersistentVolumeClaim (v1) and StorageClass
//! (storage.k8s.io/v1) — defaults, required fields, and what may change after creation.

use k8s_openapi::api::core::v1::{
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimStatus, PersistentVolumeStatus,
};
use k8s_openapi::api::storage::v1::StorageClass;

use super::Kind;
use crate::error::Cause;

/// PersistentVolumes.
pub(crate) struct PersistentVolumeKind;
/// PersistentVolumeClaims.
pub(crate) struct PersistentVolumeClaimKind;
/// StorageClasses.
pub(crate) struct StorageClassKind;

impl Kind for PersistentVolumeKind {
    type Object = PersistentVolume;

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
}

impl Kind for PersistentVolumeClaimKind {
    type Object = PersistentVolumeClaim;

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
}

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

    fn validate(sc: &StorageClass, errs: &mut Vec<Cause>) {
        if sc.provisioner.is_empty() {
            errs.push(Cause::required("provisioner", ""));
        }
    }
}
