//! The `workloads` area: what keeps workloads and their dependents consistent. So far the
//! garbage collector: cascading deletion through `ownerReferences` with each propagation policy.

mod garbage_collector;

use crate::TestDef;

const AREA: &str = "workloads";

/// Every `workloads` test.
pub fn tests() -> Vec<TestDef> {
    vec![
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
