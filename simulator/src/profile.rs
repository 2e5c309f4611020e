//! The simulator's profile (YAML): node pools, zones, heartbeat timing, the clock factor and the
//! behaviour defaults of hollow containers. Every field has a default, so an empty file is a
//! valid profile: one pool of 8-CPU/32 GiB nodes over three zones, upstream's kubelet timing,
//! real time.
//!
//! ```yaml
//! clockFactor: 10          # model time runs 10× faster than real time
//! zones: 3
//! region: region-1
//! pools:
//!   - name: standard
//!     weight: 3            # 3 of every 4 nodes
//!     instanceType: hollow-standard
//!     capacity: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
//!   - name: gpu
//!     weight: 1
//!     capacity: {cpu: "32", memory: 128Gi, pods: "110", nvidia.com/gpu: "4"}
//!     labels: {accelerator: nvidia}
//!     taints: [{key: nvidia.com/gpu, effect: NoSchedule}]
//! behaviour: {}            # see behaviour.rs
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::Taint;
use serde::Deserialize;

use crate::behaviour::BehaviourDefaults;
use crate::clock::SimClock;

/// The whole profile.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Profile {
    /// How many times faster than real time the node model runs (1: as a kubelet).
    pub clock_factor: f64,
    /// Zones nodes are spread over, round robin: `<region>-a`, `<region>-b`, …
    pub zones: u32,
    /// `topology.kubernetes.io/region` of every node.
    pub region: String,
    /// Node pools; node `i` belongs to a pool in proportion to the weights.
    pub pools: Vec<NodePool>,
    /// Kubelet timing, in model seconds.
    pub heartbeat: Heartbeat,
    /// What hollow containers do unless a pod's annotations say otherwise.
    pub behaviour: BehaviourDefaults,
    /// Writes to the API in flight at once (status, leases, events each get this many).
    pub max_in_flight: usize,
    /// Record the kubelet's node events (`Starting`, `NodeHasSufficientMemory`, …, `NodeReady`
    /// at registration; `NodeNotReady` and the like when a condition changes).
    pub node_events: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            clock_factor: 1.0,
            zones: 3,
            region: "region-1".into(),
            pools: vec![NodePool::default()],
            heartbeat: Heartbeat::default(),
            behaviour: BehaviourDefaults::default(),
            max_in_flight: 64,
            node_events: true,
        }
    }
}

/// Kubelet heartbeat timing, upstream's defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Heartbeat {
    /// The Lease's `leaseDurationSeconds` (kubelet `nodeLeaseDurationSeconds`: 40).
    pub lease_duration_seconds: u32,
    /// Renewal every this fraction of the lease duration (kubelet: 0.25, so every 10 s).
    pub renew_fraction: f64,
    /// ± jitter of each renewal interval (kubelet: 0.04).
    pub renew_jitter: f64,
    /// Node status is written when it changes, and at least this often
    /// (kubelet `nodeStatusReportFrequency`: 5 minutes).
    pub status_report_seconds: u32,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            lease_duration_seconds: 40,
            renew_fraction: 0.25,
            renew_jitter: 0.04,
            status_report_seconds: 300,
        }
    }
}

impl Heartbeat {
    /// Model seconds between lease renewals.
    pub fn renew_interval_seconds(&self) -> f64 {
        f64::from(self.lease_duration_seconds) * self.renew_fraction
    }
}

/// One kind of node.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodePool {
    /// The pool's name (label `kubeproof.io/pool`).
    pub name: String,
    /// Share of the nodes, relative to the other pools' weights.
    pub weight: u32,
    /// `node.kubernetes.io/instance-type`.
    pub instance_type: String,
    /// `status.capacity`: `cpu`, `memory`, `pods`, `ephemeral-storage`, extended resources.
    pub capacity: BTreeMap<String, String>,
    /// Subtracted from capacity to give `status.allocatable` (kube-reserved + system-reserved).
    pub reserved: BTreeMap<String, String>,
    /// Extra node labels.
    pub labels: BTreeMap<String, String>,
    /// Taints the node registers with.
    pub taints: Vec<Taint>,
    /// `kubernetes.io/os`.
    pub os: String,
    /// `kubernetes.io/arch`.
    pub arch: String,
    /// Images already on the node (`status.images`; `IfNotPresent` pulls skip them).
    pub images: Vec<String>,
}

impl Default for NodePool {
    fn default() -> Self {
        let capacity = [
            ("cpu", "8"),
            ("memory", "32Gi"),
            ("pods", "110"),
            ("ephemeral-storage", "100Gi"),
        ];
        let reserved = [("cpu", "100m"), ("memory", "512Mi")];
        let owned = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Self {
            name: "default".into(),
            weight: 1,
            instance_type: "hollow-standard".into(),
            capacity: owned(&capacity),
            reserved: owned(&reserved),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            os: "linux".into(),
            arch: "amd64".into(),
            images: Vec::new(),
        }
    }
}

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read the profile {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML does not parse or has unknown fields.
    #[error("the profile does not parse: {0}")]
    Parse(String),
    /// A value is out of range.
    #[error("the profile's {field} {message}")]
    Invalid {
        /// The field's path.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

impl Profile {
    /// Parse and check a profile.
    pub fn from_yaml(yaml: &str) -> Result<Self, ProfileError> {
        let profile: Profile = if yaml.trim().is_empty() {
            Profile::default()
        } else {
            serde_saphyr::from_str(yaml).map_err(|e| ProfileError::Parse(e.to_string()))?
        };
        profile.validate()?;
        Ok(profile)
    }

    /// Read, parse and check the profile at `path`.
    pub fn read(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    /// Check every value is usable.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let invalid = |field: &str, message: &str| {
            Err(ProfileError::Invalid {
                field: field.into(),
                message: message.into(),
            })
        };
        if !(self.clock_factor.is_finite() && self.clock_factor > 0.0) {
            return invalid("clockFactor", "must be a positive number (1 is real time)");
        }
        if self.zones == 0 {
            return invalid("zones", "must be at least 1");
        }
        if self.pools.is_empty() {
            return invalid("pools", "must list at least one pool");
        }
        if self.max_in_flight == 0 {
            return invalid("maxInFlight", "must be at least 1");
        }
        let hb = &self.heartbeat;
        if hb.lease_duration_seconds == 0 {
            return invalid("heartbeat.leaseDurationSeconds", "must be at least 1");
        }
        if !(hb.renew_fraction > 0.0 && hb.renew_fraction < 1.0) {
            return invalid(
                "heartbeat.renewFraction",
                "must be between 0 and 1 (kubelet: 0.25)",
            );
        }
        if !(0.0..0.5).contains(&hb.renew_jitter) {
            return invalid(
                "heartbeat.renewJitter",
                "must be in [0, 0.5) (kubelet: 0.04)",
            );
        }
        if hb.status_report_seconds == 0 {
            return invalid("heartbeat.statusReportSeconds", "must be at least 1");
        }
        self.behaviour
            .validate()
            .map_err(|e| ProfileError::Invalid {
                field: e.annotation,
                message: e.message,
            })?;
        let mut names = std::collections::BTreeSet::new();
        for (i, pool) in self.pools.iter().enumerate() {
            let field = |f: &str| format!("pools[{i}].{f}");
            if pool.weight == 0 {
                return invalid(&field("weight"), "must be at least 1");
            }
            if !names.insert(pool.name.as_str()) {
                return invalid(&field("name"), "repeats another pool's name");
            }
            for key in ["cpu", "memory", "pods"] {
                if !pool.capacity.contains_key(key) {
                    return invalid(&field("capacity"), &format!("must give {key}"));
                }
            }
        }
        Ok(())
    }

    /// The model clock.
    pub fn clock(&self) -> SimClock {
        SimClock::new(self.clock_factor)
    }

    /// The pool node `index` belongs to: weights spread round robin (with weights 3 and 1,
    /// nodes 0–2 are in the first pool, node 3 in the second, and so on).
    pub fn pool_of(&self, index: u64) -> &NodePool {
        let total: u64 = self.pools.iter().map(|p| u64::from(p.weight)).sum();
        let mut slot = index % total;
        for pool in &self.pools {
            if slot < u64::from(pool.weight) {
                return pool;
            }
            slot -= u64::from(pool.weight);
        }
        &self.pools[0]
    }

    /// The pool named `name`.
    pub fn pool(&self, name: &str) -> Option<&NodePool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The zone of node `index`: `<region>-a`, `<region>-b`, … round robin.
    pub fn zone_of(&self, index: u64) -> String {
        let z = index % u64::from(self.zones);
        let letter = |n: u64| char::from(b'a' + (n % 26) as u8);
        if z < 26 {
            format!("{}-{}", self.region, letter(z))
        } else {
            format!("{}-{}{}", self.region, letter(z / 26 - 1), letter(z))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_profile_is_the_default() {
        assert_eq!(Profile::from_yaml("").unwrap(), Profile::default());
        assert_eq!(Profile::default().heartbeat.renew_interval_seconds(), 10.0);
    }

    #[test]
    fn pools_and_zones_spread_by_weight_and_round_robin() {
        let p = Profile::from_yaml(
            "zones: 2\npools:\n- {name: a, weight: 3, capacity: {cpu: '1', memory: 1Gi, pods: '10'}}\n- {name: b, capacity: {cpu: '2', memory: 2Gi, pods: '10'}}\n",
        )
        .unwrap();
        let pools: Vec<&str> = (0..8).map(|i| p.pool_of(i).name.as_str()).collect();
        assert_eq!(pools, ["a", "a", "a", "b", "a", "a", "a", "b"]);
        assert_eq!(p.zone_of(0), "region-1-a");
        assert_eq!(p.zone_of(3), "region-1-b");
    }

    #[test]
    fn bad_values_say_what_to_fix() {
        let err = Profile::from_yaml("clockFactor: 0")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("clockFactor") && err.contains("positive"),
            "{err}"
        );
        let err = Profile::from_yaml("pools: [{name: x, capacity: {cpu: '1'}}]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pools[0].capacity") && err.contains("memory"),
            "{err}"
        );
        let err = Profile::from_yaml("zone: 3").unwrap_err().to_string();
        assert!(err.contains("zone"), "{err}");
    }
}
