//! Resource amounts as the scheduler adds them up (upstream `framework.Resource`): integers in
//! the units the plugins compare (milli-cpu, bytes, counts), scalar resources by name.

use std::collections::BTreeMap;

use crate::admission::quantity::ResourceList;

/// `cpu`.
pub const CPU: &str = "cpu";
/// `memory`.
pub const MEMORY: &str = "memory";
/// `ephemeral-storage`.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// `pods`.
pub const PODS: &str = "pods";

/// Requests assumed for a container that sets none, when scoring (upstream
/// `DefaultMilliCPURequest`), so best-effort pods still spread.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Likewise for memory: 200 MiB (upstream `DefaultMemoryRequest`).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Amounts of resources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    pub ephemeral_storage: i64,
    /// The node's `pods` capacity (for allocatable); unused in requests (each pod counts one).
    pub allowed_pod_number: i64,
    /// Extended and hugepages resources, by name.
    pub scalar: BTreeMap<String, i64>,
}

impl Resource {
    /// From a resource list (`cpu` in milli-units, the rest in units, rounded up as upstream's
    /// `Quantity.Value()`).
    pub fn from_list(list: &ResourceList) -> Self {
        let mut r = Resource::default();
        for (name, q) in list {
            match name.as_str() {
                CPU => r.milli_cpu = clamp(q.milli_value()),
                MEMORY => r.memory = clamp(q.round_up_to_units().value()),
                EPHEMERAL_STORAGE => r.ephemeral_storage = clamp(q.round_up_to_units().value()),
                PODS => r.allowed_pod_number = clamp(q.value()),
                other if is_scalar(other) => {
                    r.scalar
                        .insert(other.to_string(), clamp(q.round_up_to_units().value()));
                }
                _ => {}
            }
        }
        r
    }

    /// Add `other` to this.
    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.allowed_pod_number += other.allowed_pod_number;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    /// Subtract `other` from this.
    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.allowed_pod_number -= other.allowed_pod_number;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// The amount of a resource by name (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.allowed_pod_number,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }
}

/// Whether a resource name is a scalar resource as upstream's `IsScalarResourceName`: extended
/// resources (domain-prefixed), prefixed native resources (`kubernetes.io/…`), hugepages and
/// attachable volumes.
pub fn is_scalar(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || (name.contains('/') && !name.starts_with("requests."))
}

fn clamp(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::quantity::Quantity;

    fn list(pairs: &[(&str, &str)]) -> ResourceList {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Quantity::parse(v).unwrap()))
            .collect()
    }

    #[test]
    fn a_list_becomes_milli_cpu_bytes_and_scalars() {
        let r = Resource::from_list(&list(&[
            ("cpu", "1500m"),
            ("memory", "1Gi"),
            ("pods", "110"),
            ("example.com/gpu", "2"),
            ("hugepages-2Mi", "4Mi"),
        ]));
        assert_eq!(r.milli_cpu, 1500);
        assert_eq!(r.memory, 1 << 30);
        assert_eq!(r.allowed_pod_number, 110);
        assert_eq!(r.get("example.com/gpu"), 2);
        assert_eq!(r.get("hugepages-2Mi"), 4 << 20);
    }

    #[test]
    fn add_then_sub_is_the_identity() {
        let a = Resource::from_list(&list(&[("cpu", "1"), ("example.com/gpu", "1")]));
        let mut b = Resource::from_list(&list(&[("cpu", "250m"), ("memory", "1Mi")]));
        let before = b.clone();
        b.add(&a);
        assert_eq!(b.milli_cpu, 1250);
        b.sub(&a);
        assert_eq!(b.milli_cpu, before.milli_cpu);
        assert_eq!(b.memory, before.memory);
        assert_eq!(b.get("example.com/gpu"), 0);
    }
}
