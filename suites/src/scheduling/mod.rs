//! The `scheduling` area: what kube-scheduler decides, checked through the API on hollow nodes.
//! Each filter and score plugin of the default profile with a case where it lets a pod through
//! and one where it stops or steers it; the FailedScheduling message a user reads; scheduling
//! once capacity appears; pod affinity and anti-affinity; topology spread constraints and the
//! default spreading of a Service's or ReplicaSet's pods; priority and preemption;
//! `schedulerName` routing and scheduling gates; and a batch of pods checked for
//! overcommitment from the API.
//!
//! Every test that needs particular nodes adds its own, private to it (see
//! `support::scheduling`), and deletes them at the end: the tests run in parallel on one shared
//! cluster, so they assert on the reasons that concern their own nodes and on the
//! `0/N nodes are available:` shape, never on N, and never on a wall-clock time.

mod batch;
mod node_affinity;
mod pod_affinity;
mod ports;
mod priority;
mod resources;
mod routing;
mod spreading;
mod taints;

use crate::TestDef;

const AREA: &str = "scheduling";

/// Every `scheduling` test.
pub fn tests() -> Vec<TestDef> {
    vec![
        // NodeResourcesFit, NodeResourcesBalancedAllocation.
        test!(AREA, resources::pod_exceeding_free_cpu_waits_with_insufficient_cpu_until_a_node_is_added,
            tags: [Conformance], upstream: ["Scheduler, resource limits"], needs: [NodeControl]),
        test!(AREA, resources::deleting_a_pod_frees_its_capacity_for_a_pending_pod,
            needs: [NodeControl]),
        test!(AREA, resources::limits_only_containers_are_scheduled_by_their_limits,
            needs: [NodeControl]),
        test!(AREA, resources::a_node_full_of_pods_refuses_more_with_too_many_pods,
            needs: [NodeControl]),
        test!(AREA, resources::extended_resources_are_fitted_like_cpu, needs: [NodeControl]),
        test!(AREA, resources::the_least_allocated_node_is_preferred, needs: [NodeControl]),
        test!(AREA, resources::a_preferred_node_that_does_not_fit_is_passed_over,
            needs: [NodeControl]),
        test!(AREA, resources::the_node_left_balanced_between_cpu_and_memory_is_preferred,
            needs: [NodeControl]),
        // NodeAffinity.
        test!(AREA, node_affinity::node_selector_places_the_pod_on_the_matching_node,
            tags: [Conformance], upstream: ["Scheduler, node selector matching"],
            needs: [NodeControl]),
        test!(AREA, node_affinity::node_selector_matching_no_node_leaves_the_pod_pending,
            tags: [Conformance], upstream: ["Scheduler, node selector not matching"],
            needs: [NodeControl]),
        test!(AREA, node_affinity::node_affinity_in_and_not_in_select_by_label_value,
            needs: [NodeControl]),
        test!(AREA, node_affinity::node_affinity_exists_and_does_not_exist_test_the_label_key,
            needs: [NodeControl]),
        test!(AREA, node_affinity::node_affinity_gt_and_lt_compare_label_values_as_integers,
            needs: [NodeControl]),
        test!(AREA, node_affinity::node_affinity_matching_no_node_leaves_the_pod_pending,
            needs: [NodeControl]),
        test!(AREA, node_affinity::node_affinity_match_fields_pins_the_pod_to_a_named_node,
            needs: [NodeControl]),
        test!(AREA, node_affinity::preferred_node_affinity_picks_the_heavier_preference,
            needs: [NodeControl]),
        test!(AREA, node_affinity::preferred_node_affinity_never_blocks_or_overrides_requirements,
            needs: [NodeControl]),
        // TaintToleration, NodeUnschedulable.
        test!(AREA, taints::no_schedule_taint_keeps_intolerant_pods_away_until_removed,
            needs: [NodeControl]),
        test!(AREA, taints::equal_and_exists_tolerations_admit_pods_to_a_tainted_node,
            needs: [NodeControl]),
        test!(AREA, taints::no_execute_taint_keeps_new_pods_off_unless_tolerated,
            needs: [NodeControl]),
        test!(AREA, taints::prefer_no_schedule_taint_steers_pods_to_untainted_nodes,
            needs: [NodeControl]),
        test!(AREA, taints::prefer_no_schedule_taint_does_not_block_the_only_node,
            needs: [NodeControl]),
        test!(AREA, taints::cordoned_node_takes_no_new_pods_until_uncordoned,
            needs: [Kubectl, NodeControl]),
        test!(AREA, taints::pod_tolerating_the_unschedulable_taint_lands_on_a_cordoned_node,
            needs: [NodeControl]),
        // InterPodAffinity.
        test!(AREA, pod_affinity::required_pod_affinity_puts_the_pod_beside_the_pod_it_selects,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::required_pod_affinity_by_zone_lands_in_the_selected_pods_zone,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::required_pod_affinity_matching_no_pod_waits_until_one_exists,
            needs: [NodeControl]),
        test!(AREA,
            pod_affinity::a_pod_with_affinity_to_its_own_group_starts_it_and_the_rest_follow,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::required_pod_anti_affinity_spreads_pods_one_per_node,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::existing_pods_anti_affinity_keeps_matching_pods_out_of_its_zone,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::affinity_terms_select_pods_in_other_namespaces,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::preferred_pod_affinity_outweighs_an_idler_node,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::preferred_pod_affinity_picks_the_heavier_weighted_term,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::preferred_pod_anti_affinity_steers_the_pod_away_to_a_busier_node,
            needs: [NodeControl]),
        test!(AREA, pod_affinity::an_existing_pods_required_affinity_draws_the_pods_it_selects,
            needs: [NodeControl]),
        test!(AREA,
            pod_affinity::match_and_mismatch_label_keys_select_by_the_pods_own_label_values,
            needs: [NodeControl]),
        test!(AREA,
            pod_affinity::a_node_without_the_topology_key_fails_affinity_but_passes_anti_affinity,
            needs: [NodeControl]),
        // PodTopologySpread.
        test!(AREA, spreading::do_not_schedule_spread_keeps_zones_within_max_skew,
            needs: [NodeControl]),
        test!(AREA, spreading::a_pod_that_would_exceed_max_skew_waits_until_another_zone_opens,
            needs: [NodeControl]),
        test!(AREA, spreading::node_taints_policy_honor_leaves_tainted_nodes_out_of_the_domains,
            needs: [NodeControl]),
        test!(AREA,
            spreading::node_affinity_policy_decides_whether_excluded_nodes_count_as_domains,
            needs: [NodeControl]),
        test!(AREA, spreading::min_domains_counts_missing_zones_as_empty, needs: [NodeControl]),
        test!(AREA, spreading::schedule_anyway_steers_to_the_emptier_zone_but_never_blocks,
            needs: [NodeControl]),
        test!(AREA, spreading::match_label_keys_spread_each_revision_on_its_own,
            needs: [NodeControl]),
        test!(AREA, spreading::nodes_without_the_topology_key_are_no_candidates,
            needs: [NodeControl]),
        test!(AREA, spreading::default_spreading_spreads_a_services_pods_over_nodes_and_zones,
            needs: [NodeControl]),
        test!(AREA,
            spreading::default_spreading_spreads_a_replica_sets_pods_over_nodes_and_zones,
            needs: [NodeControl]),
        // NodePorts, NodeName, ImageLocality.
        test!(AREA, ports::a_taken_host_port_sends_the_next_pod_elsewhere_or_leaves_it_pending,
            needs: [NodeControl]),
        test!(AREA, ports::the_same_host_port_on_another_ip_or_protocol_does_not_conflict,
            tags: [Conformance],
            upstream: ["Scheduling, HostPort matching and HostIP and Protocol not-matching"],
            needs: [NodeControl]),
        test!(AREA, ports::a_host_port_on_the_wildcard_ip_conflicts_with_any_ip,
            tags: [Conformance],
            upstream: ["Scheduling, HostPort and Protocol match, HostIPs different but one is default HostIP (0.0.0.0)"],
            needs: [NodeControl]),
        test!(AREA, ports::a_pod_created_with_a_node_name_bypasses_the_scheduler,
            needs: [NodeControl]),
        // Serial: ImageLocality's score shrinks as other tests add nodes.
        test!(AREA, ports::a_node_already_holding_the_pods_image_is_preferred,
            tags: [Serial], needs: [NodeControl]),
        // Priority and preemption.
        test!(AREA, priority::a_pod_takes_its_priority_and_preemption_policy_from_its_class,
            needs: [NodeControl]),
        // Serial: a global default class reaches every pod created meanwhile.
        test!(AREA, priority::a_global_default_class_applies_to_pods_without_a_class,
            tags: [Serial], needs: [NodeControl]),
        test!(AREA, priority::a_priority_class_value_is_immutable_and_its_description_is_not,
            tags: [Conformance], upstream: ["Scheduler, Verify PriorityClass endpoints"]),
        test!(AREA, priority::a_higher_priority_pod_preempts_a_lower_priority_one,
            tags: [Conformance], upstream: ["Scheduler, Basic Preemption"],
            needs: [NodeControl]),
        test!(AREA, priority::a_critical_pod_preempts_a_lower_priority_one,
            tags: [Conformance], upstream: ["Scheduler, Preemption for critical pod"],
            needs: [NodeControl]),
        test!(AREA, priority::a_preempted_pod_is_marked_as_a_disruption_target,
            tags: [Conformance],
            upstream: ["Verify the DisruptionTarget condition is added to the preempted pod"],
            needs: [NodeControl]),
        test!(AREA, priority::a_pod_with_preemption_policy_never_waits_instead_of_preempting,
            needs: [NodeControl]),
        test!(AREA, priority::pods_of_equal_or_higher_priority_are_never_preempted,
            needs: [NodeControl]),
        // Routing and gates.
        test!(AREA, routing::a_pod_for_another_scheduler_is_left_alone, needs: [NodeControl]),
        test!(AREA, routing::a_gated_pod_is_scheduled_only_once_its_gates_are_removed,
            needs: [NodeControl]),
        // Batch.
        test!(AREA, batch::a_thousand_pods_land_once_each_within_capacity_and_evenly,
            tags: [Slow], needs: [NodeControl]),
    ]
}
