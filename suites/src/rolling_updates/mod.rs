//! The `rolling-updates` area: rollouts watched from start to end, with what the strategy
//! promises checked on every observed state (`support::rollout`): Deployments' rolling updates
//! for a table of maxSurge/maxUnavailable, Recreate, rollback, pause and resume, proportional
//! scaling, rollover, stuck rollouts and their deadline, and the classic client-side rolling
//! update of a ReplicationController; DaemonSet updates node by node, surging, rolled back
//! and OnDelete.

mod daemon_set;
mod deployment;
mod replication_controller;

use crate::TestDef;

const AREA: &str = "rolling-updates";

/// Every `rolling-updates` test.
pub fn tests() -> Vec<TestDef> {
    vec![
        test!(AREA, deployment::rolling_update_with_the_default_25_percent_bounds, needs: [Kubectl]),
        test!(AREA, deployment::rolling_update_surging_one_with_none_unavailable,
            tags: [Conformance],
            upstream: ["Deployment RollingUpdate"],
            needs: [Kubectl]),
        test!(AREA, deployment::rolling_update_with_one_unavailable_and_no_surge, needs: [Kubectl]),
        test!(AREA, deployment::rolling_update_surging_two_with_two_unavailable, needs: [Kubectl]),
        test!(AREA, deployment::rolling_update_surging_half_with_none_unavailable, needs: [Kubectl]),
        test!(AREA, deployment::rolling_update_with_half_unavailable_and_no_surge, needs: [Kubectl]),
        test!(AREA, deployment::rolling_update_surging_all_at_once, needs: [Kubectl]),
        test!(AREA, deployment::rolling_update_with_percentages_rounding_to_zero_still_progresses,
            needs: [Kubectl]),
        test!(AREA, deployment::recreate_deletes_every_old_pod_before_creating_new_ones,
            tags: [Conformance],
            upstream: ["Deployment Recreate"],
            needs: [Kubectl]),
        test!(AREA, deployment::rollout_undo_returns_to_the_previous_template, needs: [Kubectl]),
        test!(AREA, deployment::rollout_undo_to_a_revision_restores_its_template, needs: [Kubectl]),
        test!(AREA, deployment::a_paused_deployment_rolls_out_only_when_resumed, needs: [Kubectl]),
        test!(AREA, deployment::scaling_mid_rollout_shares_replicas_proportionally,
            tags: [Conformance],
            upstream: ["Deployment Proportional Scaling"],
            needs: [Kubectl]),
        test!(AREA, deployment::a_template_change_mid_rollout_rolls_over_to_the_newest,
            tags: [Conformance],
            upstream: ["Deployment Rollover"],
            needs: [Kubectl]),
        test!(AREA, deployment::a_rollout_stuck_on_a_bad_image_exceeds_its_deadline_and_undo_recovers,
            needs: [Kubectl]),
        test!(AREA, deployment::min_ready_seconds_gates_a_rollout_on_availability, needs: [Kubectl]),
        test!(AREA, deployment::old_replica_sets_beyond_the_history_limit_are_deleted,
            tags: [Conformance],
            upstream: ["Deployment RevisionHistoryLimit"],
            needs: [Kubectl]),
        test!(AREA, deployment::kubectl_scale_resizes_a_deployment_through_its_scale_subresource,
            tags: [Conformance],
            upstream: ["Deployment, completes the scaling of a Deployment subresource"],
            needs: [Kubectl]),
        test!(AREA, deployment::a_deployment_is_created_patched_scaled_replaced_and_deleted_as_a_collection,
            tags: [Conformance],
            upstream: ["Deployment, completes the lifecycle of a Deployment"]),
        test!(AREA, deployment::the_status_subresource_reads_updates_and_patches_deployment_status,
            tags: [Conformance],
            upstream: ["Deployment, status sub-resource"]),
        test!(AREA,
            replication_controller::a_client_side_rolling_update_replaces_a_replication_controller_one_pod_at_a_time),
        test!(AREA, daemon_set::a_daemon_set_rolls_out_one_node_at_a_time,
            tags: [Conformance],
            upstream: ["DaemonSet-RollingUpdate"],
            needs: [Kubectl, NodeControl]),
        test!(AREA, daemon_set::a_surging_daemon_set_update_keeps_every_node_available,
            needs: [NodeControl]),
        test!(AREA, daemon_set::a_bad_daemon_set_update_rolls_back_without_restarting_untouched_pods,
            tags: [Conformance],
            upstream: ["DaemonSet-Rollback"],
            needs: [Kubectl, NodeControl]),
        test!(AREA, daemon_set::kubectl_rollout_undo_returns_a_daemon_set_to_a_given_revision,
            needs: [Kubectl, NodeControl]),
        test!(AREA, daemon_set::on_delete_updates_a_daemon_pod_only_when_it_is_deleted,
            needs: [NodeControl]),
    ]
}
