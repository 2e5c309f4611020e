//! A hollow node: its identity (name, addresses, pod CIDR, labels from its pool and zone), the
//! Node object it registers with, its runtime state (faults, images, pod IPs), and its
//! heartbeats ([`heartbeat`]).

pub mod heartbeat;
mod status;

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::core::v1::{Node, NodeSpec, NodeStatus, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use parking_lot::Mutex;

pub use status::{CONDITIONS, event_reason, is_fault, node_status};

use crate::profile::{NodePool, Profile};

/// Nodes one simulator can run: each gets a /24 of the 10.64.0.0/10 pod network.
pub const MAX_NODES: u64 = 1 << 14;

/// Label naming the node's pool.
pub const POOL_LABEL: &str = "kubeproof.io/pool";
/// Label every hollow node carries, so a cluster's hollow nodes can be listed.
pub const HOLLOW_LABEL: &str = "kubeproof.io/hollow-node";

/// One hollow node, shared by the heartbeat task, the pod driver and fault control.
#[derive(Debug)]
pub struct NodeState {
    /// The node's name.
    pub name: String,
    /// Its index in this simulator (addresses and pool derive from it).
    pub index: u64,
    /// Its pool's name.
    pub pool: String,
    /// The pool it was registered from when that is not one of the profile's (a test's node
    /// shaped for it: labels, taints, capacity); `None` for profile pools, looked up by name.
    pub own_pool: Option<std::sync::Arc<NodePool>>,
    /// `status.addresses` InternalIP.
    pub internal_ip: Ipv4Addr,
    /// Heartbeats (lease and status) stopped by a fault.
    pub heartbeats_stopped: AtomicBool,
    /// Pod updates held back by a partition fault.
    pub partitioned: AtomicBool,
    /// Removed from the simulator (deleted, or found deleted in the API).
    pub gone: AtomicBool,
    /// Everything that changes under a lock.
    pub inner: Mutex<NodeInner>,
    /// The Node as kubelet admission sees it (labels, allocatable, taints): built from the
    /// registration on first use, then kept up to date with the labels and taints the API shows
    /// ([`NodeState::observe`]), as the kubelet's node lister is.
    admission: parking_lot::RwLock<Option<Arc<Node>>>,
}

/// A node's mutable state.
#[derive(Debug)]
pub struct NodeInner {
    /// The API's uid of the Node, once registered.
    pub uid: Option<String>,
    /// The resourceVersion of the node's Lease last written.
    pub lease_resource_version: Option<String>,
    /// Conditions a fault set, by type (`true`: status True); the rest are healthy.
    pub condition_faults: BTreeMap<String, bool>,
    /// Delays on this node's pods are multiplied by this.
    pub slowness: f64,
    /// Images the node holds.
    pub images: HashSet<String>,
    /// Pod IPs in use, by host number in the node's /24 (1–254).
    ips: [u64; 4],
    /// Each condition's last reported status and when it last changed.
    pub transitions: BTreeMap<String, (String, jiff::Timestamp)>,
}

impl NodeState {
    /// Node `index` named `name`, of `pool`.
    pub fn new(name: String, index: u64, pool: &NodePool) -> Self {
        Self {
            name,
            index,
            pool: pool.name.clone(),
            own_pool: None,
            internal_ip: internal_ip(index),
            heartbeats_stopped: AtomicBool::new(false),
            partitioned: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            admission: parking_lot::RwLock::new(None),
            inner: Mutex::new(NodeInner {
                uid: None,
                lease_resource_version: None,
                condition_faults: BTreeMap::new(),
                slowness: 1.0,
                images: pool.images.iter().cloned().collect(),
                // .0 (network) and .255 (broadcast) are never handed out.
                ips: [1, 0, 0, 1 << 63],
                transitions: BTreeMap::new(),
            }),
        }
    }

    /// Node `index` named `name`, of a pool of its own that no profile holds.
    pub fn with_own_pool(name: String, index: u64, pool: std::sync::Arc<NodePool>) -> Self {
        Self {
            own_pool: Some(pool.clone()),
            ..Self::new(name, index, &pool)
        }
    }

    /// The node's pool: its own, or the profile's of its name (the first when it has none).
    pub fn pool_in<'a>(&'a self, profile: &'a Profile) -> &'a NodePool {
        match &self.own_pool {
            Some(pool) => pool,
            None => profile.pool(&self.pool).unwrap_or(&profile.pools[0]),
        }
    }

    /// Whether the node is still simulated.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// The node's pod CIDR, `10.<64 + index / 256>.<index % 256>.0/24`.
    pub fn pod_cidr(&self) -> String {
        format!("{}/24", pod_network(self.index))
    }

    /// Reserve a free pod IP; `None` when all 254 are in use.
    pub fn allocate_ip(&self) -> Option<Ipv4Addr> {
        let mut inner = self.inner.lock();
        for (word, bits) in inner.ips.iter_mut().enumerate() {
            if *bits != u64::MAX {
                let bit = (!*bits).trailing_zeros() as usize;
                *bits |= 1 << bit;
                let host = (word * 64 + bit) as u8;
                let [a, b, c, _] = pod_network(self.index).octets();
                return Some(Ipv4Addr::new(a, b, c, host));
            }
        }
        None
    }

    /// Return `ip` to the pool (ignored when it is not one of this node's).
    pub fn release_ip(&self, ip: Ipv4Addr) {
        let [a, b, c, host] = ip.octets();
        if [a, b, c] != pod_network(self.index).octets()[..3] || host == 0 || host == 255 {
            return;
        }
        let host = usize::from(host);
        self.inner.lock().ips[host / 64] &= !(1 << (host % 64));
    }

    /// The Node kubelet admission checks pods against (built on first use).
    pub fn admission_object(&self, profile: &Profile) -> Arc<Node> {
        if let Some(node) = self.admission.read().as_ref() {
            return node.clone();
        }
        let mut slot = self.admission.write();
        slot.get_or_insert_with(|| {
            let pool = self.pool_in(profile);
            let full = self.object_with_status(profile, NodeStatus::default());
            Arc::new(Node {
                status: Some(NodeStatus {
                    capacity: Some(status::quantities(&pool.capacity)),
                    allocatable: Some(status::allocatable(pool)),
                    ..NodeStatus::default()
                }),
                ..full
            })
        })
        .clone()
    }

    /// Take the labels and taints of the Node as the API shows it (`kubectl label`, `kubectl
    /// taint`, the node lifecycle controller) into what admission checks; true if they changed.
    pub fn observe(&self, profile: &Profile, api_node: &Node) -> bool {
        fn taints_of(n: &Node) -> Option<&Vec<Taint>> {
            n.spec.as_ref().and_then(|s| s.taints.as_ref())
        }
        let current = self.admission_object(profile);
        if current.metadata.labels == api_node.metadata.labels
            && taints_of(&current) == taints_of(api_node)
        {
            return false;
        }
        let mut node = (*current).clone();
        node.metadata.labels.clone_from(&api_node.metadata.labels);
        node.spec.get_or_insert_with(NodeSpec::default).taints = taints_of(api_node).cloned();
        *self.admission.write() = Some(Arc::new(node));
        true
    }

    /// The Node object this node registers with: labels, capacity, addresses, conditions.
    pub fn object(&self, profile: &Profile, now: jiff::Timestamp) -> Node {
        let pool = self.pool_in(profile);
        self.object_with_status(profile, node_status(self, pool, now))
    }

    /// The Node object with `status`.
    fn object_with_status(&self, profile: &Profile, status: NodeStatus) -> Node {
        let pool = self.pool_in(profile);
        let zone = profile.zone_of(self.index);
        let mut labels: BTreeMap<String, String> = pool.labels.clone();
        for (k, v) in [
            ("kubernetes.io/hostname", self.name.as_str()),
            ("kubernetes.io/os", pool.os.as_str()),
            ("kubernetes.io/arch", pool.arch.as_str()),
            ("beta.kubernetes.io/os", pool.os.as_str()),
            ("beta.kubernetes.io/arch", pool.arch.as_str()),
            (
                "node.kubernetes.io/instance-type",
                pool.instance_type.as_str(),
            ),
            ("topology.kubernetes.io/zone", zone.as_str()),
            ("topology.kubernetes.io/region", profile.region.as_str()),
            (POOL_LABEL, pool.name.as_str()),
            (HOLLOW_LABEL, "true"),
        ] {
            labels.insert(k.to_owned(), v.to_owned());
        }
        // A node's own pool is shaped by a test that may place it in a zone of its choosing.
        if let Some(own) = &self.own_pool {
            labels.extend(own.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let annotations =
            BTreeMap::from([("node.alpha.kubernetes.io/ttl".to_owned(), "0".to_owned())]);
        Node {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                labels: Some(labels),
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec {
                pod_cidr: Some(self.pod_cidr()),
                pod_cidrs: Some(vec![self.pod_cidr()]),
                provider_id: Some(format!("kubeproof://{}", self.name)),
                taints: (!pool.taints.is_empty()).then(|| pool.taints.clone()),
                ..NodeSpec::default()
            }),
            status: Some(status),
        }
    }
}

/// Node `index`'s InternalIP: 172.16.0.0/12, skipping .0.
fn internal_ip(index: u64) -> Ipv4Addr {
    let n = 0xac10_0000u32 + index as u32 + 1;
    Ipv4Addr::from(n)
}

/// The network address of node `index`'s pod /24.
fn pod_network(index: u64) -> Ipv4Addr {
    Ipv4Addr::new(10, 64 + (index / 256) as u8, (index % 256) as u8, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(index: u64) -> NodeState {
        NodeState::new(format!("n-{index}"), index, &NodePool::default())
    }

    #[test]
    fn addresses_derive_from_the_index() {
        let n = node(300);
        assert_eq!(n.pod_cidr(), "10.65.44.0/24");
        assert_eq!(n.internal_ip, Ipv4Addr::new(172, 16, 1, 45));
    }

    #[test]
    fn pod_ips_are_handed_out_once_and_reused_after_release() {
        let n = node(0);
        let ips: Vec<_> = std::iter::from_fn(|| n.allocate_ip()).collect();
        assert_eq!(ips.len(), 254, "hosts .1 to .254");
        assert_eq!(ips[0], Ipv4Addr::new(10, 64, 0, 1));
        assert_eq!(ips[253], Ipv4Addr::new(10, 64, 0, 254));
        n.release_ip(Ipv4Addr::new(10, 64, 0, 7));
        assert_eq!(n.allocate_ip(), Some(Ipv4Addr::new(10, 64, 0, 7)));
        assert_eq!(n.allocate_ip(), None);
    }

    #[test]
    fn the_node_object_carries_the_labels_kubelet_sets() {
        let profile = Profile::default();
        let obj = node(4).object(&profile, jiff::Timestamp::UNIX_EPOCH);
        let labels = obj.metadata.labels.unwrap();
        assert_eq!(labels["kubernetes.io/hostname"], "n-4");
        assert_eq!(labels["topology.kubernetes.io/zone"], "region-1-b");
        assert_eq!(
            labels["node.kubernetes.io/instance-type"],
            "hollow-standard"
        );
        assert_eq!(labels["kubernetes.io/os"], "linux");
        let spec = obj.spec.unwrap();
        assert_eq!(spec.pod_cidr.as_deref(), Some("10.64.4.0/24"));
    }

    #[test]
    fn a_node_of_its_own_pool_takes_its_zone_taints_and_capacity_from_it() {
        let profile = Profile::default();
        let pool = NodePool {
            name: "test".into(),
            capacity: [("cpu", "1"), ("memory", "2Gi"), ("pods", "3")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            reserved: BTreeMap::new(),
            labels: BTreeMap::from([("topology.kubernetes.io/zone".to_owned(), "mine".to_owned())]),
            taints: vec![k8s_openapi::api::core::v1::Taint {
                key: "kubeproof.io/test".into(),
                value: Some("ns".into()),
                effect: "NoSchedule".into(),
                time_added: None,
            }],
            ..NodePool::default()
        };
        let n = NodeState::with_own_pool("own-0".into(), 4, std::sync::Arc::new(pool));
        let obj = n.object(&profile, jiff::Timestamp::UNIX_EPOCH);
        let labels = obj.metadata.labels.unwrap();
        assert_eq!(labels["topology.kubernetes.io/zone"], "mine");
        assert_eq!(labels[POOL_LABEL], "test");
        assert_eq!(
            obj.spec.unwrap().taints.unwrap()[0].key,
            "kubeproof.io/test"
        );
        let status = obj.status.unwrap();
        assert_eq!(status.allocatable.unwrap()["pods"].0, "3");
        assert_eq!(n.pool_in(&profile).name, "test");
    }

    #[test]
    fn admission_follows_the_labels_and_taints_the_api_shows() {
        let profile = Profile::default();
        let n = node(3);
        let registered = n.admission_object(&profile);
        assert!(
            !n.observe(&profile, &registered),
            "the same object changes nothing"
        );
        let mut relabelled = (*registered).clone();
        relabelled
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert("color".into(), "blue".into());
        relabelled.spec.get_or_insert_with(NodeSpec::default).taints =
            Some(vec![k8s_openapi::api::core::v1::Taint {
                key: "dedicated".into(),
                value: None,
                effect: "NoExecute".into(),
                time_added: None,
            }]);
        relabelled.status = None;
        assert!(n.observe(&profile, &relabelled));
        let seen = n.admission_object(&profile);
        assert_eq!(seen.metadata.labels.as_ref().unwrap()["color"], "blue");
        assert_eq!(
            seen.spec.as_ref().unwrap().taints.as_ref().unwrap()[0].key,
            "dedicated"
        );
        assert_eq!(
            seen.status, registered.status,
            "capacity stays what the node registered with"
        );
    }
}
