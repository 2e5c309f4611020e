//! The `workloads` area: the controllers that keep pods running — ReplicationController,
//! ReplicaSet, DaemonSet and Job — and garbage collection through ownerReferences, checked
//! through the API on hollow nodes (rollouts are the `rolling-updates` area's).

mod replica_set;
mod replication_controller;

use crate::TestDef;

const AREA: &str = "workloads";

/// Every `workloads` test.
pub fn tests() -> Vec<TestDef> {
    vec![
        test!(AREA, replication_controller::a_replication_controller_runs_every_replica_ready,
            tags: [Conformance],
            upstream: ["[sig-apps] ReplicationController should serve a basic image on each replica with a public image"]),
        test!(AREA, replication_controller::a_deleted_replica_is_replaced),
        test!(AREA, replication_controller::kubectl_scale_resizes_a_replication_controller_under_a_precondition,
            tags: [Conformance],
            upstream: ["[sig-apps] ReplicationController should get and update a ReplicationController scale"],
            needs: [Kubectl]),
        test!(AREA, replication_controller::a_matching_orphan_is_adopted,
            tags: [Conformance],
            upstream: ["[sig-apps] ReplicationController should adopt matching pods on creation"]),
        test!(AREA, replication_controller::a_pod_that_stops_matching_is_released_and_replaced,
            tags: [Conformance],
            upstream: ["[sig-apps] ReplicationController should release no longer matching pods"]),
        test!(
            AREA,
            replication_controller::surplus_matching_pods_are_removed
        ),
        test!(AREA, replication_controller::a_quota_refusing_pods_surfaces_replica_failure_until_scaled_to_fit,
            tags: [Conformance],
            upstream: ["[sig-apps] ReplicationController should surface a failure condition on a common issue like exceeded quota"]),
        test!(AREA, replica_set::a_replica_set_runs_every_replica_ready,
            tags: [Conformance],
            upstream: ["[sig-apps] ReplicaSet should serve a basic image on each replica with a public image"]),
        test!(AREA, replica_set::a_replica_set_adopts_matching_pods_and_releases_relabelled_ones,
            tags: [Conformance],
            upstream: ["[sig-apps] ReplicaSet should adopt matching pods on creation and release no longer matching pods"]),
        test!(AREA, replica_set::the_scale_subresource_resizes_a_replica_set,
            tags: [Conformance],
            upstream: ["[sig-apps] ReplicaSet Replicaset should have a working scale subresource"]),
        test!(AREA, replica_set::pods_of_a_failed_node_are_recreated_on_a_healthy_one,
            needs: [NodeControl]),
    ]
}
