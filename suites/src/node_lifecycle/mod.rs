//! The `node-lifecycle` area: what a node registers with and how it keeps its lease, how the
//! control plane reacts when a node's heartbeats stop or it reports trouble (conditions, taints,
//! pods marked unready), taint-based eviction with and without tolerations, cordon, and faults
//! of whole nodes (deletion, partition, slowness).

mod eviction;
mod faults;
mod health;
mod registration;

use crate::TestDef;

const AREA: &str = "node-lifecycle";

/// Every `node-lifecycle` test.
pub fn tests() -> Vec<TestDef> {
    vec![
        test!(AREA, registration::hollow_nodes_register_with_the_kubelet_labels_spread_over_zones,
            needs: [NodeControl]),
        test!(AREA, registration::new_node_records_the_kubelets_startup_events,
            needs: [NodeControl]),
        test!(
            AREA,
            registration::node_status_reports_capacity_addresses_info_and_conditions
        ),
        test!(
            AREA,
            registration::node_lease_is_held_by_the_node_and_renewed
        ),
        test!(AREA, registration::lease_api_supports_crud_list_and_delete_collection,
            tags: [Conformance], upstream: ["lease API should be available"]),
        test!(AREA, registration::node_resource_lifecycle_create_patch_list_update_delete,
            tags: [Conformance], upstream: ["Node, resource lifecycle"]),
        test!(AREA, registration::kubectl_get_nodes_shows_the_nodes_ready, needs: [Kubectl]),
        test!(AREA, health::stopped_heartbeats_make_the_node_unknown_tainted_and_its_pods_unready,
            needs: [NodeControl]),
        test!(AREA, health::resumed_heartbeats_bring_the_node_back_ready_without_taints,
            needs: [NodeControl]),
        test!(AREA, health::pods_marked_unready_by_the_control_plane_are_ready_again_when_their_node_is_back,
            needs: [NodeControl]),
        test!(AREA, health::node_reporting_not_ready_gets_the_not_ready_taints,
            needs: [NodeControl]),
        test!(AREA, health::memory_pressure_adds_the_memory_pressure_no_schedule_taint,
            needs: [NodeControl]),
        test!(AREA, health::kubectl_cordon_taints_the_node_unschedulable_and_uncordon_clears_it,
            needs: [Kubectl, NodeControl]),
        test!(AREA, health::unschedulable_spec_adds_and_removes_the_unschedulable_taint,
            needs: [NodeControl]),
        test!(AREA, eviction::no_execute_taint_evicts_pods_that_do_not_tolerate_it,
            needs: [NodeControl]),
        test!(AREA, eviction::pods_are_evicted_after_their_toleration_seconds,
            tags: [Conformance], upstream: ["Pod Eviction, Toleration limits"],
            needs: [NodeControl]),
        test!(AREA, eviction::removing_the_taint_cancels_a_pending_eviction,
            tags: [Conformance], upstream: ["Taint, Pod Eviction on taint removal"],
            needs: [NodeControl]),
        test!(AREA, eviction::unreachable_node_evicts_pods_that_do_not_tolerate_it,
            needs: [NodeControl]),
        test!(
            AREA,
            eviction::new_pods_get_default_not_ready_and_unreachable_tolerations
        ),
        test!(AREA, faults::kubectl_delete_node_deletes_its_pods, needs: [Kubectl, NodeControl]),
        test!(AREA, faults::a_vanished_node_takes_its_pods_with_it, needs: [NodeControl]),
        test!(AREA, faults::a_partition_holds_pod_updates_back_until_it_ends,
            needs: [NodeControl]),
        test!(AREA, faults::a_slowed_down_node_starts_its_pods_later, needs: [NodeControl]),
    ]
}
