//! The pod's status as `generateAPIPodStatus` writes it: phase, kubelet-owned conditions with
//! their transition times, IPs, container statuses.

use super::*;

impl PodMachine {
    // ----- status -----

    pub(super) fn restart_policy(&self) -> &str {
        &self.shape.restart_policy
    }

    pub(super) fn host_network(&self) -> bool {
        self.host_network
    }

    pub(super) fn pod_ip(&self) -> String {
        if self.host_network() {
            self.placement.host_ip.to_string()
        } else {
            self.placement.pod_ip.to_string()
        }
    }

    /// The whole status as the kubelet would write it now.
    pub(super) fn render(&mut self, now: &Now, deleted: bool) -> PodStatus {
        let wall = truncated(now.wall);
        let start_time = self.start_time.get_or_insert_with(|| wall.clone()).clone();
        if let Some((reason, message)) = &self.rejection {
            return PodStatus {
                phase: Some("Failed".into()),
                reason: Some(reason.clone()),
                message: Some(format!("Pod was rejected: {message}")),
                qos_class: self.qos_class.clone(),
                start_time: Some(start_time),
                ..Default::default()
            };
        }
        let pod_terminal = deleted;
        let default_reason = if !self.shape.init.is_empty() {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        let mut init_statuses = Vec::new();
        let mut statuses = Vec::new();
        for c in &self.containers {
            let s = c.status(default_reason, pod_terminal);
            if c.init {
                init_statuses.push(s);
            } else {
                statuses.push(s);
            }
        }
        let all: Vec<_> = statuses
            .iter()
            .chain(init_statuses.iter())
            .cloned()
            .collect();
        let mut phase = status::phase(&self.shape, &all, pod_terminal, self.initialized);
        // Pods never leave a terminal phase.
        if let Some(prev) = self.last_phase.or(self.api_terminal)
            && matches!(prev, "Succeeded" | "Failed")
        {
            phase = prev;
        }
        if self.evicted.is_some() {
            phase = "Failed";
        }
        let generation = self.generation;
        let mut conditions = self.foreign_conditions.clone();
        let all_init_first: Vec<_> = init_statuses
            .iter()
            .chain(statuses.iter())
            .cloned()
            .collect();
        let mut owned = vec![
            PodCondition {
                type_: "PodReadyToStartContainers".into(),
                // The sandbox of a finished pod is torn down.
                status: if self.sandbox_ready && self.stage != Stage::Stopped {
                    "True"
                } else {
                    "False"
                }
                .into(),
                ..Default::default()
            },
            status::initialized(&self.shape, &all_init_first, phase),
            status::pod_ready(&self.shape, &conditions, &all_init_first, phase),
            status::containers_ready(&self.shape, &all_init_first, phase),
            PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                ..Default::default()
            },
        ];
        for c in owned.iter_mut() {
            c.observed_generation = generation;
        }
        for c in owned {
            conditions.push(self.conditions.stamp(c, &wall));
        }
        let host_ip = self.placement.host_ip.to_string();
        let pod_ip = (self.sandbox_ready || self.host_network()).then(|| self.pod_ip());
        PodStatus {
            phase: Some(phase.into()),
            conditions: Some(conditions),
            host_ip: Some(host_ip.clone()),
            host_ips: Some(vec![HostIP { ip: host_ip }]),
            pod_ip: pod_ip.clone(),
            pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]),
            start_time: Some(start_time),
            qos_class: self.qos_class.clone(),
            init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
            container_statuses: Some(statuses),
            observed_generation: generation,
            reason: self.evicted.map(|(r, _)| r.to_owned()),
            message: self.evicted.map(|(_, m)| m.to_owned()),
            ..Default::default()
        }
    }
}
