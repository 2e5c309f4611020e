//! The `pods` area: the pod lifecycle on a node as the kubelet drives it — phases, conditions,
//! container states and IPs; restarts under each restart policy and CrashLoopBackOff; init
//! containers; image pulls and their failures; probes of each kind and parameter; lifecycle
//! hooks; graceful deletion; the events a kubelet records; volumes that are not there yet; and
//! container faults.
//!
//! Pods are bound to a node by `spec.nodeName` (there is no scheduler yet). Hollow behaviour
//! (exits, probe outcomes, delays) is asked for with `kubeproof.io/…` annotations, which real
//! nodes ignore.

mod admission;
mod api;
mod deletion;
mod events;
mod faults;
mod hooks;
mod images;
mod init;
mod lifecycle;
mod probes;
mod restarts;
mod volumes;

use crate::TestDef;

const AREA: &str = "pods";

/// Every `pods` test.
pub fn tests() -> Vec<TestDef> {
    vec![
        test!(AREA, lifecycle::running_pod_reports_host_ip_pod_ip_from_the_node_cidr_and_start_time,
            tags: [Conformance], upstream: ["Pods, assigned hostip"]),
        test!(AREA, lifecycle::pods_on_one_node_get_distinct_ips),
        test!(
            AREA,
            lifecycle::running_pod_reports_its_conditions_and_container_state
        ),
        test!(
            AREA,
            lifecycle::starting_pod_is_pending_with_its_container_creating, needs: [NodeControl]),
        test!(
            AREA,
            lifecycle::binding_subresource_binds_a_pod_the_node_then_runs
        ),
        test!(AREA, lifecycle::qos_class_is_set_and_kept_while_the_pod_runs,
            tags: [Conformance], upstream: ["Pods, QOS"]),
        test!(AREA, lifecycle::pod_lifecycle_is_seen_through_a_watch_from_creation_to_deletion,
            tags: [Conformance], upstream: ["Pods, lifecycle"]),
        test!(AREA, restarts::exit_zero_with_restart_never_ends_the_pod_succeeded,
            tags: [Conformance], upstream: ["Container Runtime, Restart Policy, Pod Phases"], needs: [NodeControl]),
        test!(AREA, restarts::nonzero_exit_with_restart_never_fails_the_pod_with_the_exit_code,
            tags: [Conformance], upstream: ["Kubelet, failed pod, terminated reason", "Container Runtime, Restart Policy, Pod Phases"], needs: [NodeControl]),
        test!(AREA, restarts::nonzero_exit_with_restart_on_failure_restarts_the_container,
            tags: [Conformance], upstream: ["Container Runtime, Restart Policy, Pod Phases"], needs: [NodeControl]),
        test!(AREA, restarts::zero_exit_with_restart_on_failure_ends_the_pod_succeeded,
            tags: [Conformance], upstream: ["Container Runtime, Restart Policy, Pod Phases"], needs: [NodeControl]),
        test!(AREA, restarts::restart_always_restarts_a_container_that_exits_zero,
            tags: [Conformance], upstream: ["Container Runtime, Restart Policy, Pod Phases"], needs: [NodeControl]),
        test!(
            AREA,
            restarts::crash_looping_container_waits_in_crash_loop_back_off, needs: [NodeControl]),
        test!(AREA, restarts::restart_count_rises_monotonically, needs: [NodeControl]),
        test!(AREA, restarts::failed_pod_can_be_deleted,
            tags: [Conformance], upstream: ["Kubelet, failed pod, delete"], needs: [NodeControl]),
        test!(
            AREA,
            restarts::restart_never_pod_with_mixed_exits_fails_and_keeps_each_exit, needs: [NodeControl]),
        test!(AREA, init::init_containers_run_in_order_before_the_app_under_restart_always,
            tags: [Conformance], upstream: ["init-container-starts-app-restartalways-pod"], needs: [NodeControl]),
        test!(AREA, init::init_containers_then_the_app_run_to_completion_under_restart_never,
            tags: [Conformance], upstream: ["init-container-starts-app-restartnever-pod"], needs: [NodeControl]),
        test!(AREA, init::failing_init_container_fails_the_pod_under_restart_never,
            tags: [Conformance], upstream: ["init-container-fails-stops-app-restartnever-pod"], needs: [NodeControl]),
        test!(AREA, init::failing_init_container_is_retried_under_restart_always,
            tags: [Conformance], upstream: ["init-container-fails-stops-app-restartalways-pod"], needs: [NodeControl]),
        test!(
            AREA,
            images::unpullable_image_gives_err_image_pull_then_image_pull_back_off
        ),
        test!(
            AREA,
            images::pull_policy_never_without_the_image_gives_err_image_never_pull
        ),
        test!(AREA, images::image_already_on_the_node_is_not_pulled_again),
        test!(AREA, probes::failing_exec_liveness_probe_restarts_the_container_not_the_pod,
            tags: [Conformance], upstream: ["Pod liveness probe, using local file, restart"], needs: [NodeControl]),
        test!(AREA, probes::failing_http_liveness_probe_restarts_the_container,
            tags: [Conformance], upstream: ["Pod liveness probe, using http endpoint, restart"], needs: [NodeControl]),
        test!(
            AREA,
            probes::failing_tcp_liveness_probe_restarts_the_container, needs: [NodeControl]),
        test!(AREA, probes::failing_grpc_liveness_probe_restarts_the_container,
            tags: [Conformance], upstream: ["Pod liveness probe, using grpc call, failure"], needs: [NodeControl]),
        test!(AREA, probes::passing_liveness_probes_of_every_kind_cause_no_restarts,
        tags: [Conformance], upstream: [
            "Pod liveness probe, using local file, no restart",
            "Pod liveness probe, using tcp socket, no restart",
            "Pod liveness probe, using grpc call, success",
            "Pod liveness probe, using http endpoint, failure",
        ], needs: [NodeControl]),
        test!(AREA, probes::liveness_failure_threshold_delays_the_restart, needs: [NodeControl]),
        test!(AREA, probes::readiness_initial_delay_holds_ready_back,
            tags: [Conformance], upstream: ["Pod readiness probe, with initial delay"], needs: [NodeControl]),
        test!(
            AREA,
            probes::readiness_success_threshold_needs_consecutive_successes, needs: [NodeControl]),
        test!(AREA, probes::always_failing_readiness_keeps_the_pod_unready_without_restarts,
            tags: [Conformance], upstream: ["Pod readiness probe, failure"], needs: [NodeControl]),
        test!(AREA, probes::readiness_failure_only_flips_ready, needs: [NodeControl]),
        test!(
            AREA,
            probes::startup_probe_gates_readiness_until_it_succeeds, needs: [NodeControl]),
        test!(AREA, probes::failing_startup_probe_restarts_the_container, needs: [NodeControl]),
        test!(AREA, probes::probe_slower_than_its_timeout_fails, needs: [NodeControl]),
        test!(
            AREA,
            probes::pod_with_passing_probes_of_each_type_becomes_ready, needs: [NodeControl]),
        test!(AREA, hooks::post_start_hooks_hold_their_container_back_until_done,
            tags: [Conformance], upstream: ["Pod Lifecycle, post start exec hook", "Pod Lifecycle, post start http hook"], needs: [NodeControl]),
        test!(
            AREA,
            hooks::failing_post_start_hook_kills_and_restarts_the_container, needs: [NodeControl]),
        test!(AREA, hooks::pre_stop_hook_runs_before_the_container_stops,
            tags: [Conformance], upstream: ["Pod Lifecycle, prestop exec hook", "Pod Lifecycle, prestop http hook", "Pods, prestop hook"], needs: [NodeControl]),
        test!(
            AREA,
            hooks::failing_pre_stop_hook_is_reported_and_the_pod_still_goes, needs: [NodeControl]),
        test!(AREA, deletion::graceful_deletion_waits_for_the_node_to_confirm, needs: [NodeControl]),
        test!(AREA, deletion::zero_grace_deletion_removes_the_pod_at_once, needs: [NodeControl]),
        test!(AREA, deletion::deletion_uses_the_pods_termination_grace_period, needs: [NodeControl]),
        test!(
            AREA,
            deletion::container_ignoring_sigterm_runs_until_the_grace_period_ends, needs: [NodeControl]),
        test!(
            AREA,
            events::starting_a_pod_records_pulling_pulled_created_started
        ),
        test!(AREA, events::kubectl_describe_pod_shows_the_kubelet_events, needs: [Kubectl]),
        test!(AREA, events::repeated_events_are_counted_on_one_event, needs: [NodeControl]),
        test!(
            AREA,
            volumes::missing_configmap_blocks_the_pod_until_it_is_created
        ),
        test!(
            AREA,
            volumes::missing_secret_blocks_the_pod_until_it_is_created
        ),
        test!(
            AREA,
            volumes::optional_missing_configmap_does_not_block_the_pod
        ),
        test!(AREA, faults::killed_container_restarts_in_the_same_pod, needs: [NodeControl]),
        test!(AREA, faults::failing_liveness_fault_restarts_the_container, needs: [NodeControl]),
        test!(AREA, faults::failing_readiness_fault_makes_the_pod_unready_until_lifted,
            needs: [NodeControl]),
        test!(
            AREA,
            probes::liveness_period_sets_how_soon_a_failure_is_seen, needs: [NodeControl]),
        test!(
            AREA,
            admission::pod_exceeding_the_nodes_cpu_is_rejected_out_of_cpu
        ),
        test!(AREA, admission::active_deadline_fails_a_running_pod,
            tags: [Conformance], upstream: ["Pods, ActiveDeadlineSeconds"]),
        test!(AREA, admission::unreadable_behaviour_annotation_is_reported_and_ignored,
            needs: [NodeControl]),
        test!(AREA, probes::repeated_liveness_failures_raise_the_restart_count_monotonically,
            tags: [Conformance], upstream: ["Pod liveness probe, using http endpoint, multiple restarts (slow)"], needs: [NodeControl]),
        test!(AREA, api::running_pod_label_update_persists_and_selects_it,
            tags: [Conformance], upstream: ["Pods, update"]),
        test!(AREA, api::pods_are_deleted_by_collection,
            tags: [Conformance], upstream: ["Pods, delete a collection"]),
        test!(AREA, api::pod_status_is_patched_and_replaced_through_the_status_subresource,
            tags: [Conformance], upstream: ["Pods, patching status"]),
    ]
}
