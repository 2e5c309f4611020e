//! Heartbeats of every node in one task, as the kubelet sends them: the node's Lease in
//! `kube-node-lease` renewed every `leaseDurationSeconds × renewFraction` (10 s) with jitter, and
//! the node's status written at least every `statusReportSeconds` (5 min) and at once when a
//! fault changes it. One timer queue for all nodes and a bounded number of writes in flight, so
//! 10,000 nodes cost one task and a few connections; each renewal's lateness (completion after
//! its due time) is counted, which is how "leases renewed on time" is measured.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams, PostParams};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::NodeState;
use crate::profile::Profile;

/// The namespace of node leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// What the heartbeat task did; read with [`HeartbeatStats::snapshot`].
#[derive(Debug, Default)]
pub struct HeartbeatStats {
    renewals: AtomicU64,
    late: AtomicU64,
    max_lateness_us: AtomicU64,
    failures: AtomicU64,
    status_writes: AtomicU64,
}

/// A copy of [`HeartbeatStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HeartbeatCounts {
    /// Lease renewals written.
    pub renewals: u64,
    /// Renewals that completed more than a tenth of the renewal interval after they were due.
    pub late: u64,
    /// The worst lateness seen, in microseconds of real time.
    pub max_lateness_us: u64,
    /// Lease or status writes the API refused or that failed.
    pub failures: u64,
    /// Node status writes.
    pub status_writes: u64,
}

impl HeartbeatStats {
    /// The counters now.
    pub fn snapshot(&self) -> HeartbeatCounts {
        HeartbeatCounts {
            renewals: self.renewals.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            max_lateness_us: self.max_lateness_us.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            status_writes: self.status_writes.load(Ordering::Relaxed),
        }
    }
}

/// Asks of the heartbeat task.
#[derive(Debug)]
pub enum Command {
    /// Start heartbeats of a registered node.
    Add(Arc<NodeState>),
    /// Renew the lease and write the status now (heartbeats resumed, a condition changed).
    Now(Arc<NodeState>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Beat {
    Lease,
    Status,
}

/// Handle of the heartbeat task.
#[derive(Clone, Debug)]
pub struct Heartbeats {
    tx: mpsc::UnboundedSender<Command>,
    stats: Arc<HeartbeatStats>,
}

impl Heartbeats {
    /// Start the task; it stops when `shutdown` is cancelled.
    pub fn start(
        client: kube::Client,
        profile: Arc<Profile>,
        seed: u64,
        shutdown: CancellationToken,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(HeartbeatStats::default());
        let task = Task {
            client,
            writes: Arc::new(Semaphore::new(profile.max_in_flight)),
            profile,
            seed,
            stats: stats.clone(),
            timers: BTreeMap::new(),
            seq: 0,
        };
        tracker.spawn(task.run(rx, shutdown));
        Self { tx, stats }
    }

    /// Send `command`; ignored after shutdown.
    pub fn send(&self, command: Command) {
        let _ = self.tx.send(command);
    }

    /// The counters.
    pub fn stats(&self) -> HeartbeatCounts {
        self.stats.snapshot()
    }
}

struct Task {
    client: kube::Client,
    profile: Arc<Profile>,
    seed: u64,
    writes: Arc<Semaphore>,
    stats: Arc<HeartbeatStats>,
    timers: BTreeMap<(Instant, u64), (Beat, Arc<NodeState>)>,
    seq: u64,
}

impl Task {
    fn schedule(&mut self, at: Instant, beat: Beat, node: Arc<NodeState>) {
        self.seq += 1;
        self.timers.insert((at, self.seq), (beat, node));
    }

    /// The real interval before renewal number `n` of `node`, jittered.
    fn renew_interval(&self, node: &NodeState, n: u64) -> Duration {
        let hb = &self.profile.heartbeat;
        let model = crate::seed::jitter(
            self.seed,
            &node.name,
            n,
            hb.renew_interval_seconds(),
            hb.renew_jitter,
        );
        self.profile.clock().real_secs(model)
    }

    fn status_interval(&self) -> Duration {
        self.profile
            .clock()
            .real_secs(f64::from(self.profile.heartbeat.status_report_seconds))
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>, shutdown: CancellationToken) {
        let mut renewal_no: u64 = 0;
        loop {
            let next = self.timers.first_key_value().map(|((at, _), _)| *at);
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                command = rx.recv() => match command {
                    None => return,
                    Some(Command::Add(node)) => {
                        let now = Instant::now();
                        // The first renewal falls anywhere in the first interval, so nodes
                        // registered together do not renew together forever.
                        let first = self.renew_interval(&node, 0).mul_f64(
                            crate::seed::unit(self.seed, &node.name, u64::MAX),
                        );
                        let status = now + self.status_interval();
                        self.schedule(now + first, Beat::Lease, node.clone());
                        self.schedule(status, Beat::Status, node);
                    }
                    Some(Command::Now(node)) => {
                        let now = Instant::now();
                        self.fire(Beat::Lease, node.clone(), now).await;
                        self.fire(Beat::Status, node, now).await;
                    }
                },
                _ = sleep => {
                    let now = Instant::now();
                    while let Some(entry) = self.timers.first_entry() {
                        if entry.key().0 > now {
                            break;
                        }
                        let ((due, _), (beat, node)) = entry.remove_entry();
                        if node.is_gone() {
                            continue;
                        }
                        renewal_no += 1;
                        let next = match beat {
                            Beat::Lease => due + self.renew_interval(&node, renewal_no),
                            Beat::Status => due + self.status_interval(),
                        };
                        self.schedule(next, beat, node.clone());
                        self.fire(beat, node, due).await;
                    }
                }
            }
        }
    }

    /// Write `beat` of `node`, due at `due`, in a bounded background write.
    async fn fire(&mut self, beat: Beat, node: Arc<NodeState>, due: Instant) {
        if node.is_gone() || node.heartbeats_stopped.load(Ordering::Relaxed) {
            return;
        }
        let Ok(permit) = self.writes.clone().acquire_owned().await else {
            return;
        };
        let client = self.client.clone();
        let stats = self.stats.clone();
        let profile = self.profile.clone();
        let late_after = self
            .profile
            .clock()
            .real_secs(self.profile.heartbeat.renew_interval_seconds() / 10.0);
        tokio::spawn(async move {
            let _permit = permit;
            let result = match beat {
                Beat::Lease => renew_lease(&client, &profile, &node).await,
                Beat::Status => write_status(&client, &profile, &node).await,
            };
            match result {
                Ok(()) => match beat {
                    Beat::Lease => {
                        stats.renewals.fetch_add(1, Ordering::Relaxed);
                        let lateness = Instant::now().saturating_duration_since(due);
                        stats
                            .max_lateness_us
                            .fetch_max(lateness.as_micros() as u64, Ordering::Relaxed);
                        if lateness > late_after {
                            stats.late.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Beat::Status => {
                        stats.status_writes.fetch_add(1, Ordering::Relaxed);
                    }
                },
                Err(kube::Error::Api(status)) if status.code == 404 && beat == Beat::Status => {
                    // Someone deleted the Node: like a kubelet whose node object is gone, stop
                    // reporting (its pods are the control plane's to clean up).
                    tracing::info!(node = %node.name, "node deleted from the API; no longer simulated");
                    node.gone.store(true, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(node = %node.name, ?beat, error = %e, "heartbeat write failed");
                }
            }
        });
    }
}

/// The lease object of `node` renewed now.
pub fn lease_object(profile: &Profile, node: &NodeState) -> Lease {
    let (uid, resource_version) = {
        let inner = node.inner.lock();
        (inner.uid.clone(), inner.lease_resource_version.clone())
    };
    Lease {
        metadata: ObjectMeta {
            name: Some(node.name.clone()),
            namespace: Some(LEASE_NAMESPACE.into()),
            resource_version,
            owner_references: uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Node".into(),
                    name: node.name.clone(),
                    uid,
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.name.clone()),
            lease_duration_seconds: Some(profile.heartbeat.lease_duration_seconds as i32),
            renew_time: Some(MicroTime(jiff::Timestamp::now())),
            ..LeaseSpec::default()
        }),
    }
}

/// Create or renew `node`'s lease, remembering its resourceVersion; one retry on a conflict.
pub async fn renew_lease(
    client: &kube::Client,
    profile: &Profile,
    node: &NodeState,
) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    for _ in 0..2 {
        let lease = lease_object(profile, node);
        let result = if lease.metadata.resource_version.is_none() {
            match api.create(&PostParams::default(), &lease).await {
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let current = api.get(&node.name).await?;
                    node.inner.lock().lease_resource_version = current.metadata.resource_version;
                    continue;
                }
                other => other,
            }
        } else {
            api.replace(&node.name, &PostParams::default(), &lease)
                .await
        };
        match result {
            Ok(written) => {
                node.inner.lock().lease_resource_version = written.metadata.resource_version;
                return Ok(());
            }
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                // Someone else wrote or deleted it: start again from what is there.
                let current = api.get_opt(&node.name).await?;
                node.inner.lock().lease_resource_version =
                    current.and_then(|l| l.metadata.resource_version);
            }
            Err(e) => return Err(e),
        }
    }
    Err(kube::Error::Api(Box::new(
        kube::core::Status::failure("lease renewal kept conflicting", "Conflict").with_code(409),
    )))
}

/// Write `node`'s status now.
pub async fn write_status(
    client: &kube::Client,
    profile: &Profile,
    node: &NodeState,
) -> Result<(), kube::Error> {
    let pool = node.pool_in(profile);
    let status = super::node_status(node, pool, jiff::Timestamp::now());
    let api: Api<Node> = Api::all(client.clone());
    api.patch_status(
        &node.name,
        &PatchParams::default(),
        &Patch::Strategic(serde_json::json!({ "status": status })),
    )
    .await
    .map(|_| ())
}
