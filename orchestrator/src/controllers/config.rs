//! How the node lifecycle controllers are tuned: upstream kube-controller-manager's flags and
//! their defaults, so a test can shrink the periods without touching the logic.

use std::time::Duration;

/// Tuning of the node lifecycle, taint eviction and pod garbage collection controllers. Every
/// default is upstream's (kube-controller-manager flag in brackets).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLifecycleConfig {
    /// How often node heartbeats are checked (`--node-monitor-period`, 5 s).
    pub monitor_period: Duration,
    /// How long a running node may go without a heartbeat (lease renewal or status post) before
    /// its conditions become Unknown (`--node-monitor-grace-period`, 40 s).
    pub grace_period: Duration,
    /// The same for a node that never posted a Ready condition, counted from its creation
    /// (`--node-startup-grace-period`, 60 s).
    pub startup_grace_period: Duration,
    /// Nodes per second that get a NoExecute taint in a healthy zone (`--node-eviction-rate`,
    /// 0.1, burst 1: the first node at once, then one every 10 s).
    pub eviction_rate: f32,
    /// The same in a partially disrupted zone of a large cluster
    /// (`--secondary-node-eviction-rate`, 0.01).
    pub secondary_eviction_rate: f32,
    /// A partially disrupted zone of at most this many nodes gets no NoExecute taints at all
    /// (`--large-cluster-size-threshold`, 50).
    pub large_cluster_threshold: usize,
    /// Fraction of not-ready nodes (and more than 2) that makes a zone partially disrupted
    /// (`--unhealthy-zone-threshold`, 0.55).
    pub unhealthy_zone_threshold: f32,
    /// How often pod garbage collection runs (upstream's fixed `gcCheckPeriod`, 20 s).
    pub pod_gc_period: Duration,
    /// How long a node must stay missing before the pods bound to it are force-deleted
    /// (upstream's fixed `quarantineTime`, 40 s).
    pub pod_gc_quarantine: Duration,
    /// Terminated pods kept before the oldest are deleted; 0 keeps them all
    /// (`--terminated-pod-gc-threshold`, 12,500).
    pub terminated_pod_gc_threshold: usize,
}

impl Default for NodeLifecycleConfig {
    fn default() -> Self {
        Self {
            monitor_period: Duration::from_secs(5),
            grace_period: Duration::from_secs(40),
            startup_grace_period: Duration::from_secs(60),
            eviction_rate: 0.1,
            secondary_eviction_rate: 0.01,
            large_cluster_threshold: 50,
            unhealthy_zone_threshold: 0.55,
            pod_gc_period: Duration::from_secs(20),
            pod_gc_quarantine: Duration::from_secs(40),
            terminated_pod_gc_threshold: 12_500,
        }
    }
}

impl NodeLifecycleConfig {
    /// Periods a hundred times shorter than upstream's, for tests that watch a node go
    /// NotReady and its pods go away within seconds: monitor every 100 ms, grace 400 ms,
    /// startup grace 600 ms, pod GC every 100 ms with a 200 ms quarantine, and a NoExecute
    /// tainting rate high enough never to hold a test back.
    pub fn fast() -> Self {
        Self {
            monitor_period: Duration::from_millis(100),
            grace_period: Duration::from_millis(400),
            startup_grace_period: Duration::from_millis(600),
            eviction_rate: 1000.0,
            secondary_eviction_rate: 1000.0,
            pod_gc_period: Duration::from_millis(100),
            pod_gc_quarantine: Duration::from_millis(200),
            ..Self::default()
        }
    }
}
