//! [`Simulator`]: the hollow nodes of one process. It registers nodes, keeps their heartbeats
//! ([`crate::node::heartbeat`]), runs their pods ([`crate::driver`]) and takes faults
//! ([`NodeControl`]). It only ever talks to the cluster through its `kube::Client`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, ObjectReference};
use kube::api::{Api, DeleteParams, PostParams};
use parking_lot::RwLock;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::driver::world::Caches;
use crate::driver::{Command, Driver, NodeMap};
use crate::events::{EventRecorder, EventRecorderConfig, Source};
use crate::faults::{FaultError, NodeControl};
use crate::node::heartbeat::{self, HeartbeatCounts, Heartbeats};
use crate::node::{MAX_NODES, NodeState};
use crate::pod::{EventKind, PodEvent, ProbeKind};
use crate::profile::{NodePool, Profile};

/// How to run a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Node pools, timing, behaviour.
    pub profile: Profile,
    /// The run's seed: every jitter and random choice derives from it.
    pub seed: u64,
}

/// Counters of a running simulator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SimStats {
    /// Nodes managed.
    pub nodes: u64,
    /// Pods with a running machine.
    pub pods: u64,
    /// Lease and node-status writes.
    pub heartbeats: HeartbeatCounts,
    /// Pod status writes accepted.
    pub pod_status_writes: u64,
    /// Pod statuses replaced by newer ones before being sent.
    pub pod_status_coalesced: u64,
    /// Pod status writes that failed.
    pub pod_status_failures: u64,
    /// Pod status writes waiting.
    pub pod_status_backlog: u64,
    /// Pod deletions confirmed.
    pub deletions: u64,
    /// Events created / updated / dropped.
    pub events_created: u64,
    /// Events whose count was incremented.
    pub events_updated: u64,
    /// Events dropped (queue full, spam filter).
    pub events_dropped: u64,
}

/// A simulator's failure to start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The profile is unusable.
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
}

/// The hollow nodes of this process.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    client: kube::Client,
    profile: Arc<Profile>,
    nodes: NodeMap,
    next_index: AtomicU64,
    heartbeats: Heartbeats,
    driver: Driver,
    events: EventRecorder,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("nodes", &self.inner.nodes.read().len())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Start a simulator with no nodes yet, talking to the cluster through `client`. Returns once
    /// its caches of configMaps, secrets and claims hold their first lists.
    pub async fn start(client: kube::Client, config: SimConfig) -> Result<Self, SimError> {
        config.profile.validate()?;
        let profile = Arc::new(config.profile);
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let nodes: NodeMap = Arc::new(RwLock::new(BTreeMap::new()));
        // One recorder for every node: sized for the most nodes a simulator runs (its queue and
        // caches grow on demand up to those bounds), as each kubelet would have its own.
        let events = EventRecorder::start_with(
            client.clone(),
            shutdown.clone(),
            EventRecorderConfig {
                writers: profile.max_in_flight,
                ..EventRecorderConfig::for_nodes(MAX_NODES as usize)
            },
        );
        let caches = Caches::start(&client, shutdown.clone(), &tracker);
        let heartbeats = Heartbeats::start(
            client.clone(),
            profile.clone(),
            config.seed,
            shutdown.clone(),
            &tracker,
        );
        let driver = Driver::start(
            client.clone(),
            profile.clone(),
            config.seed,
            nodes.clone(),
            caches.clone(),
            events.clone(),
            shutdown.clone(),
            &tracker,
        );
        caches.ready().await;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                profile,
                nodes,
                next_index: AtomicU64::new(0),
                heartbeats,
                driver,
                events,
                shutdown,
                tracker,
            }),
        })
    }

    /// Register `count` nodes named `<prefix>-<i>` (i from 0 for a new prefix) from `pool`,
    /// `max_in_flight` at a time; returns their names once all exist in the API.
    pub async fn register(
        &self,
        prefix: &str,
        count: usize,
        pool: Option<&str>,
    ) -> Result<Vec<String>, FaultError> {
        let profile = self.inner.profile.clone();
        if let Some(pool) = pool
            && profile.pool(pool).is_none()
        {
            return Err(FaultError::Api(format!(
                "the profile has no node pool {pool:?}"
            )));
        }
        self.register_as(prefix, count, |name, index| {
            let node_pool = match pool {
                Some(p) => profile.pool(p).expect("checked above"),
                None => profile.pool_of(index),
            };
            NodeState::new(name, index, node_pool)
        })
        .await
    }

    /// Register `count` nodes named `<prefix>-<i>` shaped by `pool` itself, which no profile
    /// holds: a test's nodes with the labels (zone included), taints and capacity it needs.
    pub async fn register_own(
        &self,
        prefix: &str,
        count: usize,
        pool: NodePool,
    ) -> Result<Vec<String>, FaultError> {
        for key in ["cpu", "memory", "pods"] {
            if !pool.capacity.contains_key(key) {
                return Err(FaultError::Api(format!(
                    "the node pool {:?} must give a {key} capacity",
                    pool.name
                )));
            }
        }
        let pool = Arc::new(pool);
        self.register_as(prefix, count, |name, index| {
            NodeState::with_own_pool(name, index, pool.clone())
        })
        .await
    }

    /// Plan `count` nodes named `<prefix>-<i>`, each made by `make(name, index)`, then register
    /// them `max_in_flight` at a time.
    async fn register_as(
        &self,
        prefix: &str,
        count: usize,
        make: impl Fn(String, u64) -> NodeState,
    ) -> Result<Vec<String>, FaultError> {
        let inner = &self.inner;
        let mut planned = Vec::with_capacity(count);
        {
            let mut nodes = inner.nodes.write();
            let taken = nodes.keys().filter(|n| n.starts_with(prefix)).count();
            for i in 0..count {
                let index = inner.next_index.fetch_add(1, Ordering::Relaxed);
                if index >= MAX_NODES {
                    return Err(FaultError::Api(format!(
                        "one simulator runs at most {MAX_NODES} nodes"
                    )));
                }
                let mut n = taken + i;
                let mut name = format!("{prefix}-{n}");
                while nodes.contains_key(&name) {
                    n += 1;
                    name = format!("{prefix}-{n}");
                }
                let node = Arc::new(make(name.clone(), index));
                nodes.insert(name, node.clone());
                planned.push(node);
            }
        }
        let names = planned.iter().map(|n| n.name.clone()).collect();
        futures::stream::iter(planned)
            .map(|node| self.register_one(node))
            .buffer_unordered(inner.profile.max_in_flight)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(names)
    }

    /// Create (or adopt) one Node, then its Lease, then start its heartbeats.
    async fn register_one(&self, node: Arc<NodeState>) -> Result<(), FaultError> {
        let inner = &self.inner;
        let api: Api<Node> = Api::all(inner.client.clone());
        let object = node.object(&inner.profile, jiff::Timestamp::now());
        let registered = match api.create(&PostParams::default(), &object).await {
            Ok(n) => n,
            // A node of that name exists (a simulator restart): take it over, as a kubelet does.
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let existing = api.get(&node.name).await.map_err(api_error)?;
                heartbeat::write_status(&inner.client, &inner.profile, &node)
                    .await
                    .map_err(api_error)?;
                existing
            }
            Err(e) => {
                self.inner.nodes.write().remove(&node.name);
                return Err(api_error(e));
            }
        };
        node.inner.lock().uid = registered.metadata.uid;
        heartbeat::renew_lease(&inner.client, &inner.profile, &node)
            .await
            .map_err(api_error)?;
        self.node_event(&node, "Starting", "Starting kubelet.".into());
        for reason in [
            "NodeHasSufficientMemory",
            "NodeHasNoDiskPressure",
            "NodeHasSufficientPID",
        ] {
            self.node_event(&node, reason, status_is_now(&node.name, reason));
        }
        self.node_event(
            &node,
            "NodeAllocatableEnforced",
            "Updated Node Allocatable limit across pods".into(),
        );
        self.node_event(&node, "NodeReady", status_is_now(&node.name, "NodeReady"));
        inner.heartbeats.send(heartbeat::Command::Add(node));
        Ok(())
    }

    /// Record a Normal event about `node` as its kubelet would, when the profile asks for them.
    fn node_event(&self, node: &NodeState, reason: &str, message: String) {
        if !self.inner.profile.node_events {
            return;
        }
        let reference = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.name.clone()),
            // The kubelet's node reference carries the node's name as its uid.
            uid: Some(node.name.clone()),
            ..ObjectReference::default()
        };
        let source = Source {
            component: "kubelet".into(),
            host: node.name.clone(),
        };
        let event = PodEvent {
            kind: EventKind::Normal,
            reason: reason.to_owned(),
            message,
            field_path: None,
        };
        self.inner.events.record(&source, &reference, &event);
    }

    /// The counters now.
    pub fn stats(&self) -> SimStats {
        let inner = &self.inner;
        let driver = &inner.driver.stats;
        let writer = &inner.driver.writer.stats;
        let events = inner.events.stats();
        SimStats {
            nodes: inner.nodes.read().values().filter(|n| !n.is_gone()).count() as u64,
            pods: driver.pods.load(Ordering::Relaxed),
            heartbeats: inner.heartbeats.stats(),
            pod_status_writes: writer.written.load(Ordering::Relaxed),
            pod_status_coalesced: writer.coalesced.load(Ordering::Relaxed),
            pod_status_failures: writer.failed.load(Ordering::Relaxed),
            pod_status_backlog: inner.driver.writer.backlog() as u64,
            deletions: driver.deletions.load(Ordering::Relaxed),
            events_created: events.created,
            events_updated: events.updated,
            events_dropped: events.dropped,
        }
    }

    /// The profile in use.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// Stop every task; nodes stay in the API (they will go NotReady, as after a crash).
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }

    fn node(&self, name: &str) -> Result<Arc<NodeState>, FaultError> {
        self.inner
            .nodes
            .read()
            .get(name)
            .filter(|n| !n.is_gone())
            .cloned()
            .ok_or_else(|| FaultError::NoSuchNode(name.to_owned()))
    }

    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), FaultError>>) -> Command,
    ) -> Result<(), FaultError> {
        let (tx, rx) = oneshot::channel();
        if !self.inner.driver.send(make(tx)) {
            return Err(FaultError::Stopped);
        }
        rx.await.unwrap_or(Err(FaultError::Stopped))
    }
}

/// The kubelet's message for a node condition event.
fn status_is_now(node: &str, reason: &str) -> String {
    format!("Node {node} status is now: {reason}")
}

fn api_error(e: kube::Error) -> FaultError {
    FaultError::Api(e.to_string())
}

impl NodeControl for Simulator {
    fn add_nodes<'a>(
        &'a self,
        prefix: &'a str,
        count: usize,
        pool: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<String>, FaultError>> {
        Box::pin(self.register(prefix, count, pool))
    }

    fn add_nodes_from<'a>(
        &'a self,
        prefix: &'a str,
        count: usize,
        pool: NodePool,
    ) -> BoxFuture<'a, Result<Vec<String>, FaultError>> {
        Box::pin(self.register_own(prefix, count, pool))
    }

    fn node_names(&self) -> Vec<String> {
        self.inner
            .nodes
            .read()
            .iter()
            .filter(|(_, n)| !n.is_gone())
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn stop_heartbeats(&self, node: &str) -> Result<(), FaultError> {
        self.node(node)?
            .heartbeats_stopped
            .store(true, Ordering::Relaxed);
        Ok(())
    }

    fn resume_heartbeats(&self, node: &str) -> Result<(), FaultError> {
        let node = self.node(node)?;
        node.heartbeats_stopped.store(false, Ordering::Relaxed);
        self.inner.heartbeats.send(heartbeat::Command::Now(node));
        Ok(())
    }

    fn set_condition(&self, node: &str, condition: &str, status: bool) -> Result<(), FaultError> {
        if !crate::node::CONDITIONS.contains(&condition) {
            return Err(FaultError::Api(format!(
                "unknown node condition {condition:?}; one of {:?}",
                crate::node::CONDITIONS
            )));
        }
        let node = self.node(node)?;
        node.inner.lock().condition_faults.insert(
            condition.to_owned(),
            crate::node::is_fault(condition, status),
        );
        self.inner.heartbeats.send(heartbeat::Command::Now(node));
        Ok(())
    }

    fn delete_node<'a>(&'a self, node: &'a str) -> BoxFuture<'a, Result<(), FaultError>> {
        Box::pin(async move {
            let state = self.node(node)?;
            state.gone.store(true, Ordering::Relaxed);
            self.inner
                .driver
                .send(Command::NodeChanged(node.to_owned()));
            let api: Api<Node> = Api::all(self.inner.client.clone());
            match api.delete(node, &DeleteParams::default()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                Err(e) => Err(api_error(e)),
            }
        })
    }

    fn kill_container<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
    ) -> BoxFuture<'a, Result<(), FaultError>> {
        Box::pin(self.ask(move |reply| Command::Kill {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            container: container.to_owned(),
            reply,
        }))
    }

    fn fail_probes<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        kind: ProbeKind,
        failing: bool,
    ) -> BoxFuture<'a, Result<(), FaultError>> {
        Box::pin(self.ask(move |reply| Command::Probe {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            container: container.to_owned(),
            kind,
            failing: Some(failing),
            reply,
        }))
    }

    fn partition(&self, node: &str, partitioned: bool) -> Result<(), FaultError> {
        self.node(node)?
            .partitioned
            .store(partitioned, Ordering::Relaxed);
        self.inner
            .driver
            .send(Command::NodeChanged(node.to_owned()));
        Ok(())
    }

    fn slow_down(&self, node: &str, factor: f64) -> Result<(), FaultError> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(FaultError::Api(format!(
                "slow-down factor must be a positive number, got {factor}"
            )));
        }
        self.node(node)?.inner.lock().slowness = factor;
        self.inner
            .driver
            .send(Command::NodeChanged(node.to_owned()));
        Ok(())
    }
}
