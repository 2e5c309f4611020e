//! The `workloads` area: the controllers that keep pods running — ReplicationController,
//! ReplicaSet, DaemonSet and Job — and garbage collection through ownerReferences, checked
//! through the API on hollow nodes (rollouts are the `rolling-updates` area's).

mod daemon_set;
mod garbage_collector;
mod job;
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
        test!(AREA, replication_controller::a_replication_controller_goes_through_its_api_lifecycle,
            tags: [Conformance],
            upstream: ["Replication Controller, lifecycle"]),
        test!(AREA, replica_set::a_replica_set_runs_every_replica_ready,
            tags: [Conformance],
            upstream: ["Replica Set, run basic image"]),
        test!(AREA, replica_set::a_replica_set_adopts_matching_pods_and_releases_relabelled_ones,
            tags: [Conformance],
            upstream: ["Replica Set, adopt matching pods and release non matching pods"]),
        test!(AREA, replica_set::the_scale_subresource_resizes_a_replica_set,
            tags: [Conformance],
            upstream: ["ReplicaSet, completes the scaling of a ReplicaSet subresource"]),
        test!(AREA, replica_set::a_replica_set_is_replaced_then_patched,
            tags: [Conformance],
            upstream: ["ReplicaSet, is created, Replaced and Patched"]),
        test!(AREA, replica_set::replica_sets_are_listed_and_deleted_as_a_collection,
            tags: [Conformance],
            upstream: ["ReplicaSet, list and delete a collection of ReplicaSets"]),
        test!(AREA, replica_set::the_status_subresource_reads_updates_and_patches_replica_set_status,
            tags: [Conformance],
            upstream: ["ReplicaSet, status sub-resource"]),
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
        test!(AREA, daemon_set::a_daemon_set_runs_one_pod_per_node_and_replaces_a_deleted_one,
            tags: [Conformance],
            upstream: ["DaemonSet-Creation"],
            needs: [NodeControl]),
        test!(AREA, daemon_set::daemon_pods_follow_the_node_labels_they_select,
            tags: [Conformance],
            upstream: ["DaemonSet-NodeSelection"],
            needs: [NodeControl]),
        test!(AREA, daemon_set::a_new_node_gets_a_daemon_pod_and_a_deleted_one_leaves_the_count,
            needs: [NodeControl]),
        test!(AREA, daemon_set::daemon_pods_tolerate_node_problems_and_run_on_cordoned_nodes,
            needs: [NodeControl]),
        test!(AREA, daemon_set::a_failed_daemon_pod_is_replaced,
            tags: [Conformance],
            upstream: ["DaemonSet-FailedPodCreation"],
            needs: [NodeControl]),
        test!(AREA, daemon_set::daemon_sets_are_listed_and_deleted_as_a_collection,
            tags: [Conformance],
            upstream: ["DaemonSet, list and delete a collection of DaemonSets"],
            needs: [NodeControl]),
        test!(AREA, daemon_set::the_status_subresource_reads_and_patches_daemon_set_status,
            tags: [Conformance],
            upstream: ["DaemonSet, status sub-resource"],
            needs: [NodeControl]),
        test!(AREA, garbage_collector::background_deletion_of_a_deployment_deletes_its_replica_sets_and_pods,
            tags: [Conformance],
            upstream: ["Garbage Collector, delete deployment,  propagation policy background"]),
        test!(AREA, garbage_collector::orphan_deletion_of_a_deployment_leaves_its_replica_sets_and_pods,
            tags: [Conformance],
            upstream: ["Garbage Collector, delete deployment, propagation policy orphan"]),
        test!(AREA, daemon_set::controller_revisions_are_listed_patched_created_updated_and_deleted,
            tags: [Conformance],
            upstream: ["ControllerRevision, resource lifecycle"],
            needs: [NodeControl]),
        test!(AREA, job::a_job_keeps_parallelism_pods_active_and_deleting_it_removes_them,
            tags: [Conformance],
            upstream: ["Jobs, active pods, graceful termination"]),
        test!(
            AREA,
            job::a_job_runs_to_completion_never_exceeding_its_parallelism
        ),
        test!(
            AREA,
            job::a_job_fails_once_its_pods_exceed_the_backoff_limit
        ),
        test!(AREA, job::a_job_completes_when_its_pods_fail_once_and_restart_locally,
            tags: [Conformance],
            upstream: ["Jobs, completion after task failure"]),
        test!(AREA, job::an_indexed_job_gives_each_pod_its_own_completion_index,
            tags: [Conformance],
            upstream: ["Ensure Pods of an Indexed Job get a unique index."]),
        test!(AREA, job::a_pod_failure_policy_fails_the_job_early_on_an_exit_code,
            tags: [Conformance],
            upstream: ["Verify Pod Failure policy allows to fail job early on exit code."]),
        test!(AREA, job::a_pod_failure_policy_ignores_an_eviction_marked_as_a_disruption_target,
            tags: [Conformance],
            upstream: ["Ensure pod failure policy allows to ignore failure matching on the DisruptionTarget condition"]),
        test!(
            AREA,
            job::a_job_past_its_active_deadline_fails_and_stops_its_pods
        ),
        test!(AREA, job::a_suspended_job_starts_pods_only_when_resumed,
            tags: [Conformance],
            upstream: ["Jobs, manage lifecycle"]),
        test!(AREA, job::a_finished_job_is_deleted_after_its_ttl),
        test!(AREA, job::a_job_adopts_matching_orphans_and_releases_relabelled_pods,
            tags: [Conformance],
            upstream: ["Jobs, orphan pods, re-adoption"]),
        test!(AREA, job::the_status_subresource_patches_updates_and_reads_job_status,
            tags: [Conformance],
            upstream: ["Jobs, apply changes to status"]),
    ]
}
