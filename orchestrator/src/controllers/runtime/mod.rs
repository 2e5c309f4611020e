//! The workload controllers' runtime, as client-go and `pkg/controller` give upstream's: a
//! rate-limited work queue per controller ([`queue`]), expectations of in-flight creates and
//! deletes ([`expectations`]), slow-start batches ([`slow_start`]), the shared pod cache with
//! its controller index ([`pods`]), ownerReferences and claiming ([`owner`]) and the scale-down
//! order ([`ranking`]).

pub(crate) mod expectations;
pub(crate) mod owner;
pub(crate) mod pods;
pub(crate) mod queue;
pub(crate) mod queue_metrics;
pub(crate) mod ranking;
pub(crate) mod slow_start;
