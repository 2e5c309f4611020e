//! Kinds with few rules of their own: Node, Endpoints, ServiceAccount, Event, ResourceQuota,
//! LimitRange (v1), Lease, EndpointSlice, PriorityClass.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    Endpoints, Event, LimitRange, Node, ResourceQuota, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::scheduling::v1::PriorityClass;

use super::Kind;
use crate::registry::validation::NameRule;

/// Nodes.
pub(crate) struct NodeKind;
/// Endpoints.
pub(crate) struct EndpointsKind;
/// ServiceAccounts.
pub(crate) struct ServiceAccountKind;
/// Events.
pub(crate) struct EventKind;
/// ResourceQuotas.
pub(crate) struct ResourceQuotaKind;
/// LimitRanges.
pub(crate) struct LimitRangeKind;
/// Leases.
pub(crate) struct LeaseKind;
/// EndpointSlices.
pub(crate) struct EndpointSliceKind;
/// PriorityClasses.
pub(crate) struct PriorityClassKind;

impl Kind for NodeKind {
    type Object = Node;

    fn prepare_update(new: &mut Node, old: &Node) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut Node, old: &Node) {
        new.spec.clone_from(&old.spec);
    }
}

impl Kind for EndpointsKind {
    type Object = Endpoints;
}

impl Kind for ServiceAccountKind {
    type Object = ServiceAccount;
}

impl Kind for EventKind {
    type Object = Event;
    const NAME_RULE: NameRule = NameRule::PathSegment;
}

impl Kind for ResourceQuotaKind {
    type Object = ResourceQuota;

    fn prepare_create(q: &mut ResourceQuota) {
        q.status = None;
    }

    fn prepare_update(new: &mut ResourceQuota, old: &ResourceQuota) {
        new.status.clone_from(&old.status);
    }

    fn prepare_status_update(new: &mut ResourceQuota, old: &ResourceQuota) {
        new.spec.clone_from(&old.spec);
    }
}

impl Kind for LimitRangeKind {
    type Object = LimitRange;
}

impl Kind for LeaseKind {
    type Object = Lease;
}

impl Kind for EndpointSliceKind {
    type Object = EndpointSlice;
}

impl Kind for PriorityClassKind {
    type Object = PriorityClass;

    fn default(pc: &mut PriorityClass) {
        if pc.preemption_policy.as_deref().is_none_or(str::is_empty) {
            pc.preemption_policy = Some("PreemptLowerPriority".into());
        }
    }
}
