//! PLACEHOLDER until the pod-lifecycle helper lands: marks every container Running at once.
//! Replaced wholesale by the real state machine.

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStatus, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{Now, Output, Placement, ProbeKind, World};
use crate::behaviour::Behaviour;
use crate::clock::SimClock;

/// One pod's lifecycle.
#[derive(Debug)]
pub struct PodMachine {
    pod: Pod,
    placement: Placement,
    started: bool,
    deleting: bool,
}

impl PodMachine {
    /// A machine for `pod`, just seen bound to `placement.node_name`.
    pub fn new(
        pod: &Pod,
        _behaviour: Behaviour,
        placement: Placement,
        _clock: SimClock,
        _now: Now,
    ) -> Self {
        Self {
            pod: pod.clone(),
            placement,
            started: false,
            deleting: false,
        }
    }

    /// The pod object changed in the API (spec, labels, `deletionTimestamp`).
    pub fn observe(&mut self, pod: &Pod, _now: Now) {
        self.deleting = pod.metadata.deletion_timestamp.is_some();
        self.pod = pod.clone();
    }

    /// Move the machine to `now`.
    pub fn advance(&mut self, now: Now, _world: &dyn World) -> Output {
        if self.deleting {
            return Output {
                confirm_deletion: true,
                ..Output::default()
            };
        }
        if self.started {
            return Output::default();
        }
        self.started = true;
        let t = Time(now.wall);
        let spec = self.pod.spec.clone().unwrap_or_default();
        let statuses = spec
            .containers
            .iter()
            .map(|c| ContainerStatus {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                image_id: String::new(),
                ready: true,
                started: Some(true),
                restart_count: 0,
                state: Some(ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(t.clone()),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        let cond = |type_: &str| PodCondition {
            type_: type_.into(),
            status: "True".into(),
            last_transition_time: Some(t.clone()),
            ..Default::default()
        };
        Output {
            status: Some(PodStatus {
                phase: Some("Running".into()),
                host_ip: Some(self.placement.host_ip.to_string()),
                pod_ip: Some(self.placement.pod_ip.to_string()),
                pod_ips: Some(vec![PodIP {
                    ip: self.placement.pod_ip.to_string(),
                }]),
                start_time: Some(t.clone()),
                conditions: Some(vec![
                    cond("Initialized"),
                    cond("Ready"),
                    cond("ContainersReady"),
                    cond("PodScheduled"),
                ]),
                container_statuses: Some(statuses),
                ..Default::default()
            }),
            ..Output::default()
        }
    }

    /// Kill `container` (it restarts per the restart policy). False when there is none.
    pub fn kill_container(&mut self, _container: &str, _now: Now) -> bool {
        false
    }

    /// Force `kind` probes of `container` to fail (`Some(true)`), succeed (`Some(false)`), or
    /// follow the behaviour model again (`None`). False when there is no such container.
    pub fn override_probe(
        &mut self,
        _container: &str,
        _kind: ProbeKind,
        _failing: Option<bool>,
    ) -> bool {
        false
    }
}
