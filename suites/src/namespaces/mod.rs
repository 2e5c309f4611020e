//! The `namespaces` area: namespace lifecycle and isolation, deletion cascade and the
//! terminating-namespace rule, ResourceQuota and LimitRange admission.

mod lifecycle;
mod limit_range;
mod quota;

use crate::TestDef;

const AREA: &str = "namespaces";

/// Every `namespaces` test.
pub fn tests() -> Vec<TestDef> {
    vec![
        test!(
            AREA,
            lifecycle::new_namespace_is_active_with_the_kubernetes_finalizer
        ),
        test!(AREA, lifecycle::namespace_patch_and_update_persist,
            tags: [Conformance], upstream: ["Namespace patching", "Namespace, apply update to a namespace"]),
        test!(AREA, lifecycle::namespace_status_changes_persist_through_the_status_subresource,
            tags: [Conformance], upstream: ["Namespace, apply changes to a namespace status"]),
        test!(AREA, lifecycle::namespace_finalizers_change_only_through_finalize,
            tags: [Conformance], upstream: ["Namespace, apply finalizer to a namespace"]),
        test!(AREA, lifecycle::same_name_in_two_namespaces_is_two_objects),
        test!(
            AREA,
            lifecycle::creating_in_a_missing_namespace_is_not_found
        ),
        test!(AREA, lifecycle::deleting_a_namespace_removes_its_objects,
            tags: [Conformance], upstream: ["namespace-deletion-removes-pods", "namespace-deletion-removes-services"]),
        test!(AREA, lifecycle::terminating_namespace_forbids_new_objects),
        test!(AREA, quota::quota_status_is_calculated_promptly,
            tags: [Conformance], upstream: ["ResourceQuota, object count quota, resourcequotas"]),
        test!(AREA, quota::quota_counts_configmaps,
            tags: [Conformance], upstream: ["ResourceQuota, object count quota, configmap"]),
        test!(AREA, quota::quota_counts_secrets,
            tags: [Conformance], upstream: ["ResourceQuota, object count quota, secret"]),
        test!(AREA, quota::quota_counts_services,
            tags: [Conformance], upstream: ["ResourceQuota, object count quota, service"]),
        test!(AREA, quota::quota_counts_replication_controllers,
            tags: [Conformance], upstream: ["ResourceQuota, object count quota, replicationController"]),
        test!(AREA, quota::quota_counts_replica_sets,
            tags: [Conformance], upstream: ["ResourceQuota, object count quota, replicaSet"]),
        test!(AREA, quota::quota_counts_persistent_volume_claims),
        test!(AREA, quota::quota_counts_deployments),
        test!(AREA, quota::quota_counts_pods),
        test!(AREA, quota::quota_tracks_compute_resources_of_pods,
            tags: [Conformance], upstream: ["ResourceQuota, object count quota, pod"]),
        test!(AREA, quota::quota_tracks_requested_storage),
        test!(AREA, quota::quota_can_be_updated_and_deleted,
            tags: [Conformance], upstream: ["ResourceQuota, update and delete"]),
        test!(AREA, quota::quotas_are_listed_patched_and_deleted_by_collection,
            tags: [Conformance], upstream: ["ResourceQuota, manage lifecycle of a ResourceQuota"]),
        test!(AREA, quota::quota_status_can_be_written_through_the_status_subresource,
            tags: [Conformance], upstream: ["ResourceQuota, apply changes to a ResourceQuota status"]),
        test!(AREA, limit_range::limit_range_defaults_are_applied_to_containers,
            tags: [Conformance], upstream: ["LimitRange, resources"]),
        test!(AREA, limit_range::limit_range_refuses_requests_below_the_minimum,
            tags: [Conformance], upstream: ["LimitRange, resources"]),
        test!(AREA, limit_range::limit_range_refuses_limits_above_the_maximum,
            tags: [Conformance], upstream: ["LimitRange, resources"]),
        test!(
            AREA,
            limit_range::limit_range_refuses_a_limit_to_request_ratio_above_the_maximum
        ),
        test!(AREA, limit_range::limit_ranges_are_listed_patched_and_deleted_by_collection,
            tags: [Conformance], upstream: ["LimitRange, list, patch and delete a LimitRange by collection"]),
    ]
}
