//! The `workloads` area: the controllers that keep pods running — ReplicationController,
//! ReplicaSet, DaemonSet and Job — and garbage collection through ownerReferences, checked
//! through the API on hollow nodes (rollouts are the `rolling-updates` area's).

mod garbage_collector;
mod replica_set;
mod replication_controller;

use crate::TestDef;

const AREA: &str = "workloads";

/// Every `workloads` test.
pub fn tests() -> Vec<TestDef> {
    vec![
        test!(AREA, replication_controller::a_replication_controller_runs_every_replica_ready,
            tags: [Conformance],
            upstream: ["Replication Controller, run basic image"]),
        test!(AREA, replication_controller::a_deleted_replica_is_replaced),
        test!(AREA, replication_controller::kubectl_scale_resizes_a_replication_controller_under_a_precondition,
            tags: [Conformance],
            upstream: ["Replication Controller, get and update ReplicationController scale"],
            needs: [Kubectl]),
        test!(AREA, replication_controller::a_matching_orphan_is_adopted,
            tags: [Conformance],
            upstream: ["Replication Controller, adopt matching pods"]),
        test!(AREA, replication_controller::a_pod_that_stops_matching_is_released_and_replaced,
            tags: [Conformance],
            upstream: ["Replication Controller, release pods"]),
        test!(
            AREA,
            replication_controller::surplus_matching_pods_are_removed
        ),
        test!(AREA, replication_controller::a_quota_refusing_pods_surfaces_replica_failure_until_scaled_to_fit,
            tags: [Conformance],
            upstream: ["Replication Controller, check for issues like exceeding allocated quota"]),
        test!(AREA, replica_set::a_replica_set_runs_every_replica_ready,
            tags: [Conformance],
            upstream: ["Replica Set, run basic image"]),
        test!(AREA, replica_set::a_replica_set_adopts_matching_pods_and_releases_relabelled_ones,
            tags: [Conformance],
            upstream: ["Replica Set, adopt matching pods and release non matching pods"]),
        test!(AREA, replica_set::the_scale_subresource_resizes_a_replica_set,
            tags: [Conformance],
            upstream: ["ReplicaSet, completes the scaling of a ReplicaSet subresource"]),
        test!(AREA, replica_set::pods_of_a_failed_node_are_recreated_on_a_healthy_one,
            needs: [NodeControl]),
        test!(AREA, garbage_collector::background_deletion_of_a_replication_controller_deletes_its_pods,
            tags: [Conformance],
            upstream: ["Garbage Collector, delete replication controller, propagation policy background"]),
        test!(AREA, garbage_collector::orphan_deletion_of_a_replication_controller_leaves_its_pods,
            tags: [Conformance],
            upstream: ["Garbage Collector, delete replication controller, propagation policy orphan"]),
        test!(AREA, garbage_collector::foreground_deletion_keeps_the_replication_controller_until_its_pods_are_gone,
            tags: [Conformance],
            upstream: ["Garbage Collector, delete replication controller, after owned pods"]),
        test!(AREA, garbage_collector::dependents_with_another_valid_owner_survive_foreground_deletion,
            tags: [Conformance], upstream: ["Garbage Collector, multiple owners"]),
        test!(AREA, garbage_collector::a_dependency_cycle_does_not_block_foreground_deletion,
            tags: [Conformance], upstream: ["Garbage Collector, dependency cycle"]),
        test!(
            AREA,
            garbage_collector::a_dependent_whose_owner_was_replaced_is_collected
        ),
        test!(
            AREA,
            garbage_collector::a_cluster_scoped_owner_takes_its_namespaced_dependents_along
        ),
        test!(
            AREA,
            garbage_collector::orphan_dependents_still_chooses_between_orphaning_and_background
        ),
        test!(AREA, garbage_collector::kubectl_cascade_orphan_and_foreground_are_honoured,
            needs: [Kubectl]),
    ]
}
