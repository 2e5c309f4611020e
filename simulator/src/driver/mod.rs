//! The pod driver: one task that runs every hollow pod of the simulator. One shared watch of
//! the pods bound to any node (`spec.nodeName!=`) feeds it; pods on nodes we do not manage are
//! ignored. A second shared watch, of the hollow nodes' own objects, keeps the labels and taints
//! kubelet admission checks current. Each of ours gets a [`PodMachine`]; the driver keeps one timer queue for all of
//! them, wakes a machine only when it asked to be woken or when something it depends on changed
//! (its spec, its deletion, a fault), and applies its output: statuses to the coalescing
//! [`writer::StatusWriter`], events to the [`EventRecorder`], deletion confirmations as
//! zero-grace deletes. The echo of our own status writes costs a map lookup and nothing else.

pub mod world;
pub mod writer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, PodStatus};
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use parking_lot::RwLock;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::behaviour::Behaviour;
use crate::events::{EventRecorder, Source};
use crate::faults::FaultError;
use crate::node::{HOLLOW_LABEL, NodeState};
use crate::pod::{EventKind, Now, Placement, PodEvent, PodMachine, ProbeKind};
use crate::profile::Profile;
use world::{Caches, NodeWorld};
use writer::StatusWriter;

/// How often the kubelet's status manager syncs every pod's status (`syncPeriod`), in model
/// time: the longest a status someone else overwrote stays so.
const STATUS_SYNC: std::time::Duration = std::time::Duration::from_secs(10);

/// The nodes of a simulator by name, shared with the driver.
pub type NodeMap = Arc<RwLock<BTreeMap<String, Arc<NodeState>>>>;

/// Asks of the driver (faults).
#[derive(Debug)]
pub enum Command {
    /// Kill a container.
    Kill {
        /// Pod namespace.
        namespace: String,
        /// Pod name.
        pod: String,
        /// Container name.
        container: String,
        /// The answer.
        reply: oneshot::Sender<Result<(), FaultError>>,
    },
    /// Override (or, with `None`, release) a container's probe outcome.
    Probe {
        /// Pod namespace.
        namespace: String,
        /// Pod name.
        pod: String,
        /// Container name.
        container: String,
        /// Which probe.
        kind: ProbeKind,
        /// `Some(true)`: fail; `Some(false)`: succeed; `None`: follow the behaviour model.
        failing: Option<bool>,
        /// The answer.
        reply: oneshot::Sender<Result<(), FaultError>>,
    },
    /// A node's partition or speed changed, or it is gone: revisit its pods.
    NodeChanged(String),
}

/// Counters of the driver.
#[derive(Debug, Default)]
pub struct DriverStats {
    /// Pods with a machine now.
    pub pods: AtomicU64,
    /// Machine steps taken.
    pub steps: AtomicU64,
    /// Watch events about our pods that needed no step (our own writes coming back).
    pub echoes: AtomicU64,
    /// Deletions confirmed.
    pub deletions: AtomicU64,
}

/// Handle of the driver task.
#[derive(Clone)]
pub struct Driver {
    tx: mpsc::UnboundedSender<Command>,
    /// What it did.
    pub stats: Arc<DriverStats>,
    /// Its status writer.
    pub writer: StatusWriter,
}

impl Driver {
    /// Start the driver over `nodes`; it stops with `shutdown`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        client: kube::Client,
        profile: Arc<Profile>,
        seed: u64,
        nodes: NodeMap,
        caches: Caches,
        events: EventRecorder,
        shutdown: CancellationToken,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = StatusWriter::start(
            client.clone(),
            profile.max_in_flight,
            shutdown.clone(),
            tracker,
        );
        let stats = Arc::new(DriverStats::default());
        let task = Task {
            deletes: Arc::new(Semaphore::new(profile.max_in_flight)),
            client,
            profile,
            seed,
            nodes,
            caches,
            events,
            writer: writer.clone(),
            stats: stats.clone(),
            pods: HashMap::new(),
            names: HashMap::new(),
            on_node: HashMap::new(),
            timers: BTreeMap::new(),
            seq: 0,
            relist: None,
        };
        tracker.spawn(task.run(rx, shutdown));
        Self { tx, stats, writer }
    }

    /// Send `command`; false after shutdown.
    pub fn send(&self, command: Command) -> bool {
        self.tx.send(command).is_ok()
    }
}

struct Entry {
    machine: PodMachine,
    /// What kubelet admission needs of this pod (resources, ports, affinity), without its
    /// status or the rest of its spec; `None` for a pod that was rejected.
    admitted: Option<Pod>,
    namespace: String,
    name: String,
    node: Arc<NodeState>,
    ip: Option<Ipv4Addr>,
    generation: Option<i64>,
    deleting: bool,
    timer: Option<(Instant, u64)>,
    held_status: Option<PodStatus>,
    held_confirm: bool,
    confirmed: bool,
    /// The API shows a status of this pod that someone else changed; written back on the next
    /// step.
    reconcile: bool,
}

struct Task {
    client: kube::Client,
    profile: Arc<Profile>,
    seed: u64,
    nodes: NodeMap,
    caches: Caches,
    events: EventRecorder,
    writer: StatusWriter,
    stats: Arc<DriverStats>,
    deletes: Arc<Semaphore>,
    pods: HashMap<String, Entry>,
    names: HashMap<(String, String), String>,
    /// The admitted pods of each node, by uid.
    on_node: HashMap<String, HashSet<String>>,
    timers: BTreeMap<(Instant, u64), String>,
    seq: u64,
    relist: Option<HashSet<String>>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>, shutdown: CancellationToken) {
        let api: Api<Pod> = Api::all(self.client.clone());
        let config = watcher::Config::default().fields("spec.nodeName!=");
        let mut pods = watcher(api, config).default_backoff().boxed();
        // The hollow nodes' own objects, for the labels and taints admission checks.
        let node_api: Api<Node> = Api::all(self.client.clone());
        let node_config = watcher::Config::default().labels(&format!("{HOLLOW_LABEL}=true"));
        let mut node_objects = watcher(node_api, node_config).default_backoff().boxed();
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
                event = pods.next() => match event {
                    None => return,
                    Some(Ok(event)) => self.on_watch(event),
                    Some(Err(e)) => tracing::debug!(error = %e, "pod watch error; retrying"),
                },
                event = node_objects.next() => match event {
                    None => return,
                    Some(Ok(watcher::Event::Apply(node) | watcher::Event::InitApply(node))) => {
                        self.observe(&node);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::debug!(error = %e, "node watch error; retrying"),
                },
                command = rx.recv() => match command {
                    None => return,
                    Some(command) => self.on_command(command),
                },
                _ = sleep => self.on_timers(),
            }
        }
    }

    /// A hollow node's object changed in the API: admission checks its labels and taints from
    /// now on (a pod already running stays, as on the kubelet).
    fn observe(&mut self, api_node: &Node) {
        let Some(name) = api_node.metadata.name.as_deref() else {
            return;
        };
        let node = self.nodes.read().get(name).cloned();
        if let Some(node) = node {
            node.observe(&self.profile, api_node);
        }
    }

    fn on_watch(&mut self, event: watcher::Event<Pod>) {
        match event {
            watcher::Event::Init => self.relist = Some(HashSet::new()),
            watcher::Event::InitApply(pod) => {
                if let (Some(seen), Some(uid)) = (&mut self.relist, &pod.metadata.uid) {
                    seen.insert(uid.clone());
                }
                self.apply(pod);
            }
            watcher::Event::InitDone => {
                if let Some(seen) = self.relist.take() {
                    let gone: Vec<String> = self
                        .pods
                        .keys()
                        .filter(|uid| !seen.contains(*uid))
                        .cloned()
                        .collect();
                    for uid in gone {
                        self.remove(&uid);
                    }
                }
            }
            watcher::Event::Apply(pod) => self.apply(pod),
            watcher::Event::Delete(pod) => {
                if let Some(uid) = &pod.metadata.uid {
                    self.remove(uid);
                }
            }
        }
    }

    fn apply(&mut self, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let generation = pod.metadata.generation;
        if let Some(entry) = self.pods.get_mut(&uid) {
            if entry.generation == generation && entry.deleting == deleting {
                self.stats.echoes.fetch_add(1, Ordering::Relaxed);
                // The kubelet's status manager: a status someone else changed is written back
                // on its next sync (every 10 s), once the kubelet is alive.
                entry.reconcile = pod
                    .status
                    .as_ref()
                    .is_some_and(|s| entry.machine.disagrees(s));
                if entry.reconcile {
                    let at =
                        Instant::now() + node_clock(&self.profile, &entry.node).real(STATUS_SYNC);
                    self.wake_by(&uid, at);
                }
                return;
            }
            entry.generation = generation;
            entry.deleting = deleting;
            entry.machine.observe(&pod, Now::current());
            self.step(&uid);
            return;
        }
        let Some(node_name) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
            return;
        };
        let Some(node) = self.nodes.read().get(&node_name).cloned() else {
            return;
        };
        if node.is_gone() {
            return;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) && !deleting {
            // Finished before we saw it (a simulator restart): nothing left to run.
            return;
        }
        let (namespace, name) = (
            pod.metadata.namespace.clone().unwrap_or_default(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        let host_network = pod
            .spec
            .as_ref()
            .and_then(|s| s.host_network)
            .unwrap_or(false);
        let ip = if host_network {
            None
        } else {
            node.allocate_ip()
        };
        let placement = Placement {
            node_name: node.name.clone(),
            host_ip: node.internal_ip,
            pod_ip: ip.unwrap_or(node.internal_ip),
        };
        let now = Now::current();
        let (behaviour, errors) =
            Behaviour::resolve_lenient(&self.profile.behaviour, &pod, self.seed);
        for e in errors {
            let event = PodEvent {
                kind: EventKind::Warning,
                reason: "InvalidBehaviour".into(),
                message: format!("{e}; ignored"),
                field_path: None,
            };
            self.events
                .record(&source(&node), &pod_reference(&pod), &event);
        }
        // Kubelet admission, against the pods this node already admitted.
        let view = admission_view(&pod);
        let verdict = {
            let node_object = node.admission_object(&self.profile);
            let node_object = &*node_object;
            let others = self
                .on_node
                .get(&node.name)
                .into_iter()
                .flatten()
                .filter_map(|uid| self.pods.get(uid).and_then(|e| e.admitted.as_ref()));
            crate::pod::admit(&pod, node_object, others)
        };
        let clock = node_clock(&self.profile, &node);
        let (machine, admitted) = match verdict {
            Ok(()) => (
                PodMachine::new(&pod, behaviour, placement, clock, now),
                Some(view),
            ),
            Err(rejection) => (
                PodMachine::rejected(
                    &pod,
                    placement,
                    clock,
                    now,
                    &rejection.reason,
                    &rejection.message,
                ),
                None,
            ),
        };
        self.names
            .insert((namespace.clone(), name.clone()), uid.clone());
        if admitted.is_some() {
            self.on_node
                .entry(node.name.clone())
                .or_default()
                .insert(uid.clone());
        }
        self.pods.insert(
            uid.clone(),
            Entry {
                machine,
                admitted,
                namespace,
                name,
                node,
                ip,
                generation,
                deleting,
                timer: None,
                held_status: None,
                held_confirm: false,
                confirmed: false,
                reconcile: false,
            },
        );
        self.stats.pods.fetch_add(1, Ordering::Relaxed);
        if deleting {
            self.pods
                .get_mut(&uid)
                .expect("just inserted")
                .machine
                .observe(&pod, now);
        }
        self.step(&uid);
    }

    fn remove(&mut self, uid: &str) {
        if let Some(entry) = self.pods.remove(uid) {
            if let Some(key) = entry.timer {
                self.timers.remove(&key);
            }
            if let Some(ip) = entry.ip {
                entry.node.release_ip(ip);
            }
            if let Some(set) = self.on_node.get_mut(&entry.node.name) {
                set.remove(uid);
            }
            self.names.remove(&(entry.namespace, entry.name));
            self.writer.forget(uid);
            self.stats.pods.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let uid = entry.remove();
            if let Some(e) = self.pods.get_mut(&uid) {
                e.timer = None;
            }
            self.step(&uid);
        }
    }

    /// Advance the machine of `uid` to now and apply what it produced.
    fn step(&mut self, uid: &str) {
        let Some(entry) = self.pods.get_mut(uid) else {
            return;
        };
        if entry.node.is_gone() {
            // The node was deleted: its pods are the control plane's to clean up.
            self.remove(uid);
            return;
        }
        self.stats.steps.fetch_add(1, Ordering::Relaxed);
        // A dead kubelet (heartbeats stopped) writes nothing back; it tries again a sync later.
        let mut resync = None;
        if entry.reconcile {
            if entry.node.heartbeats_stopped.load(Ordering::Relaxed) {
                resync =
                    Some(Instant::now() + node_clock(&self.profile, &entry.node).real(STATUS_SYNC));
            } else {
                entry.reconcile = false;
                entry.machine.resend();
            }
        }
        let now = Now::current();
        let world = NodeWorld {
            node: &entry.node,
            caches: &self.caches,
        };
        let out = entry.machine.advance(now, &world);
        if !out.events.is_empty() {
            let src = source(&entry.node);
            let reference = ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                namespace: Some(entry.namespace.clone()),
                name: Some(entry.name.clone()),
                uid: Some(uid.to_owned()),
                ..ObjectReference::default()
            };
            for event in &out.events {
                let mut reference = reference.clone();
                reference.field_path.clone_from(&event.field_path);
                self.events.record(&src, &reference, event);
            }
        }
        let partitioned = entry.node.partitioned.load(Ordering::Relaxed);
        if let Some(status) = out.status {
            if partitioned {
                entry.held_status = Some(status);
            } else {
                self.writer.push(uid, &entry.namespace, &entry.name, status);
            }
        }
        let mut confirm = false;
        if out.confirm_deletion && !entry.confirmed {
            if partitioned {
                entry.held_confirm = true;
            } else {
                entry.confirmed = true;
                confirm = true;
            }
        }
        if let Some(at) = out.next_wake {
            self.seq += 1;
            let key = (at, self.seq);
            if let Some(old) = entry.timer.replace(key) {
                self.timers.remove(&old);
            }
            self.timers.insert(key, uid.to_owned());
        }
        if confirm {
            self.confirm_deletion(uid);
        }
        if let Some(at) = resync {
            self.wake_by(uid, at);
        }
    }

    /// Step `uid` no later than `at`.
    fn wake_by(&mut self, uid: &str, at: Instant) {
        let Some(entry) = self.pods.get_mut(uid) else {
            return;
        };
        if entry.timer.is_some_and(|(due, _)| due <= at) {
            return;
        }
        self.seq += 1;
        let key = (at, self.seq);
        if let Some(old) = entry.timer.replace(key) {
            self.timers.remove(&old);
        }
        self.timers.insert(key, uid.to_owned());
    }

    /// Delete the pod with no grace left, as the kubelet's status manager does once the pod's
    /// terminal status is written (`canBeDeleted`): the delete waits for the pod's queued
    /// statuses, or a pod kept by a finalizer would stay in the API as it last ran.
    fn confirm_deletion(&mut self, uid: &str) {
        let Some(entry) = self.pods.get(uid) else {
            return;
        };
        self.stats.deletions.fetch_add(1, Ordering::Relaxed);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &entry.namespace);
        let name = entry.name.clone();
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let permits = self.deletes.clone();
        self.writer.after_writes(uid, move || {
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                match api.delete(&name, &params).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                    Err(e) => {
                        tracing::warn!(pod = %name, error = %e, "confirming a deletion failed")
                    }
                }
            });
        });
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Kill {
                namespace,
                pod,
                container,
                reply,
            } => {
                let result = self.with_pod(&namespace, &pod, |machine| {
                    machine.kill_container(&container, Now::current())
                });
                let _ = reply.send(result.and_then(|(uid, found)| {
                    self.step(&uid);
                    container_found(found, &namespace, &pod, &container)
                }));
            }
            Command::Probe {
                namespace,
                pod,
                container,
                kind,
                failing,
                reply,
            } => {
                let result = self.with_pod(&namespace, &pod, |machine| {
                    machine.override_probe(&container, kind, failing)
                });
                let _ = reply.send(result.and_then(|(uid, found)| {
                    self.step(&uid);
                    container_found(found, &namespace, &pod, &container)
                }));
            }
            Command::NodeChanged(node) => {
                let uids: Vec<String> = self
                    .pods
                    .iter()
                    .filter(|(_, e)| e.node.name == node)
                    .map(|(uid, _)| uid.clone())
                    .collect();
                for uid in uids {
                    if let Some(entry) = self.pods.get_mut(&uid) {
                        let clock = node_clock(&self.profile, &entry.node);
                        entry.machine.set_clock(clock);
                    }
                    self.release_held(&uid);
                    self.step(&uid);
                }
            }
        }
    }

    /// After a partition ends, send what was held back.
    fn release_held(&mut self, uid: &str) {
        let Some(entry) = self.pods.get_mut(uid) else {
            return;
        };
        if entry.node.partitioned.load(Ordering::Relaxed) {
            return;
        }
        if let Some(status) = entry.held_status.take() {
            self.writer.push(uid, &entry.namespace, &entry.name, status);
        }
        if std::mem::take(&mut entry.held_confirm) && !entry.confirmed {
            entry.confirmed = true;
            self.confirm_deletion(uid);
        }
    }

    fn with_pod(
        &mut self,
        namespace: &str,
        pod: &str,
        f: impl FnOnce(&mut PodMachine) -> bool,
    ) -> Result<(String, bool), FaultError> {
        let uid = self
            .names
            .get(&(namespace.to_owned(), pod.to_owned()))
            .cloned()
            .ok_or_else(|| FaultError::NoSuchPod {
                namespace: namespace.to_owned(),
                name: pod.to_owned(),
            })?;
        let entry = self.pods.get_mut(&uid).expect("names and pods agree");
        let found = f(&mut entry.machine);
        Ok((uid, found))
    }
}

fn container_found(
    found: bool,
    namespace: &str,
    pod: &str,
    container: &str,
) -> Result<(), FaultError> {
    if found {
        Ok(())
    } else {
        Err(FaultError::NoSuchContainer {
            pod: format!("{namespace}/{pod}"),
            container: container.to_owned(),
        })
    }
}

/// The model clock of `node`'s pods: the profile's, slowed by the node's slow-down fault.
fn node_clock(profile: &Profile, node: &NodeState) -> crate::SimClock {
    crate::SimClock::new(profile.clock_factor / node.inner.lock().slowness)
}

/// The part of `pod` kubelet admission reads: identity and spec, without status or the
/// containers' env, probes and mounts, so that the driver keeps little per pod.
fn admission_view(pod: &Pod) -> Pod {
    let slim = |c: &k8s_openapi::api::core::v1::Container| k8s_openapi::api::core::v1::Container {
        name: c.name.clone(),
        resources: c.resources.clone(),
        ports: c.ports.clone(),
        restart_policy: c.restart_policy.clone(),
        ..Default::default()
    };
    let spec = pod
        .spec
        .as_ref()
        .map(|s| k8s_openapi::api::core::v1::PodSpec {
            containers: s.containers.iter().map(slim).collect(),
            init_containers: s
                .init_containers
                .as_ref()
                .map(|cs| cs.iter().map(slim).collect()),
            overhead: s.overhead.clone(),
            ..Default::default()
        });
    Pod {
        metadata: kube::api::ObjectMeta {
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        },
        spec,
        status: None,
    }
}

fn source(node: &NodeState) -> Source {
    Source {
        component: "kubelet".into(),
        host: node.name.clone(),
    }
}

fn pod_reference(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}
