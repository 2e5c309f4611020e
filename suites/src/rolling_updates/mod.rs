//! The `rolling-updates` area: rollouts watched from start to end, with what the strategy
//! promises checked on every observed state (`support::rollout`): Deployments' rolling updates
//! for a table of maxSurge/maxUnavailable, Recreate, rollback, pause and resume, proportional
//! scaling, rollover, stuck rollouts and their deadline, and the classic client-side rolling
//! update of a ReplicationController.

mod replication_controller;

use crate::TestDef;

const AREA: &str = "rolling-updates";

/// Every `rolling-updates` test.
pub fn tests() -> Vec<TestDef> {
    vec![test!(
        AREA,
        replication_controller::a_client_side_rolling_update_replaces_a_replication_controller_one_pod_at_a_time
    )]
}
