//! The hollow-node scale benchmarks of issue 3: registration of 10,000 nodes, their leases over
//! time, the simulator's memory per idle node, 5,000 nodes with 150,000 pods, and the simulator
//! as a separate process over HTTPS. Each scenario boots the embedded control plane
//! ([`harness::target::embedded_config`]) in the benchmark's process and returns its
//! [`Figures`](crate::figures::Figures).
//!
//! Everything is observed as a client would see it: nodes Ready and pods Running are counted
//! from watches through the API ([`Counter`]), not from the simulator's own bookkeeping; the
//! simulator's counters ([`simulator::SimStats`]) are reported beside them.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use orchestrator::ControlPlane;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use tokio::io::AsyncBufReadExt;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cluster::client_for;

pub mod idle_memory;
pub mod leases;
pub mod pods;
pub mod register;
pub mod remote;

/// The seed of every simulator the scenarios start, so runs are comparable.
pub const SEED: u64 = 20_261_122;

/// Label every hollow node carries (the simulator's `HOLLOW_LABEL`).
pub const HOLLOW_SELECTOR: &str = "kubeproof.io/hollow-node=true";

/// An embedded control plane (the `kubeproof run` / `cluster up` configuration) and a client
/// for the benchmark's own observations.
pub struct Cluster {
    /// The control plane, in this process.
    pub cp: ControlPlane,
    /// The benchmark's client (watches, lists); simulators get their own.
    pub client: kube::Client,
}

impl Cluster {
    /// Boot on a random loopback port.
    pub async fn boot() -> Result<Self, String> {
        let cp = ControlPlane::start(scale_config())
            .await
            .map_err(|e| format!("the control plane did not start: {e}"))?;
        let client = client_for(&cp).await;
        Ok(Self { cp, client })
    }

    /// A fresh client (its own connection pool), for a simulator.
    pub async fn new_client(&self) -> kube::Client {
        client_for(&self.cp).await
    }

    /// Stop the control plane.
    pub async fn shutdown(self) {
        drop(self.client);
        self.cp.shutdown().await;
    }
}

/// The embedded target's configuration ([`harness::target::embedded_config`]) with a watch
/// history bounded by age only, as etcd's (compacted every 5 minutes), instead of the embedded
/// target's 2,000 events: at 150,000 pods the history of 2,000 events spans a fraction of a
/// second, so a watcher dropped as too slow can never finish its paginated relist (its continue
/// token expires) and the pods scenario never converges (measured: 91 relists, half the pods
/// never seen by the simulator).
///
/// The node lifecycle controllers keep upstream's timing (grace 40 s, startup grace 60 s): the
/// embedded target's 4 s grace is matched to its 10× clock, and with the real-time nodes of these
/// scenarios (a renewal every 10 s) it marks every node Unknown and evicts its pods.
pub fn scale_config() -> orchestrator::ControlPlaneConfig {
    let mut config = harness::target::embedded_config(0);
    config.store.history = 10_000_000;
    config.store.history_max_age = Some(Duration::from_secs(300));
    config.node_lifecycle = orchestrator::NodeLifecycleConfig::default();
    config
}

/// What a [`Counter`] has seen.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Objects matching the predicate now.
    pub count: usize,
    /// When `count` last changed.
    pub at: Instant,
    /// Whether the watch's first list has been read.
    pub listed: bool,
    /// Times the watch had to list again (dropped as too slow, or expired).
    pub relists: u64,
    /// Watch events read.
    pub events: u64,
}

/// A watch through the API that counts the objects satisfying a predicate: how a client sees
/// "nodes Ready" or "pods Running". Relists (a watch dropped as too slow) are handled as kube-rs'
/// watcher does: the count from the new list replaces the old one when the list is complete.
pub struct Counter {
    rx: watch::Receiver<Progress>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Counter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Counter {
    /// Count objects of `api` (selected by `config`) for which `matches` holds.
    pub fn start<K>(api: Api<K>, config: watcher::Config, matches: fn(&K) -> bool) -> Self
    where
        K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
        K::DynamicType: Default + Eq + Hash + Clone,
    {
        let (tx, rx) = watch::channel(Progress {
            count: 0,
            at: Instant::now(),
            listed: false,
            relists: 0,
            events: 0,
        });
        let task = tokio::spawn(async move {
            let mut stream = watcher(api, config).default_backoff().boxed();
            let mut current: HashSet<String> = HashSet::new();
            let mut relisting: Option<HashSet<String>> = None;
            let mut p = *tx.borrow();
            while let Some(event) = stream.next().await {
                let Ok(event) = event else {
                    continue;
                };
                p.events += 1;
                let before = current.len();
                match event {
                    watcher::Event::Init => {
                        if p.listed {
                            p.relists += 1;
                        }
                        relisting = Some(HashSet::new());
                    }
                    watcher::Event::InitApply(o) => {
                        if matches(&o)
                            && let Some(set) = &mut relisting
                        {
                            set.insert(key(&o));
                        }
                    }
                    watcher::Event::InitDone => {
                        if let Some(set) = relisting.take() {
                            current = set;
                        }
                        p.listed = true;
                    }
                    watcher::Event::Apply(o) => {
                        if matches(&o) {
                            current.insert(key(&o));
                        } else {
                            current.remove(&key(&o));
                        }
                    }
                    watcher::Event::Delete(o) => {
                        current.remove(&key(&o));
                    }
                }
                if current.len() != before {
                    p.count = current.len();
                    p.at = Instant::now();
                }
                tx.send_replace(p);
            }
        });
        Self { rx, task }
    }

    /// Hollow nodes (by [`HOLLOW_SELECTOR`]) whose Ready condition is True.
    pub fn ready_nodes(client: &kube::Client) -> Self {
        Self::start(
            Api::<Node>::all(client.clone()),
            watcher::Config::default().labels(HOLLOW_SELECTOR),
            node_is_ready,
        )
    }

    /// Pods in phase Running, in all namespaces.
    pub fn running_pods(client: &kube::Client) -> Self {
        Self::start(
            Api::<Pod>::all(client.clone()),
            watcher::Config::default(),
            pod_is_running,
        )
    }

    /// What the watch has seen so far.
    pub fn progress(&self) -> Progress {
        *self.rx.borrow()
    }

    /// A receiver of the progress, for a task that samples it.
    pub fn progress_receiver(&self) -> watch::Receiver<Progress> {
        self.rx.clone()
    }

    /// Wait until the first list is read, at most `cap`.
    pub async fn listed(&mut self, cap: Duration) -> bool {
        tokio::time::timeout(cap, self.rx.wait_for(|p| p.listed))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Wait until `count >= n`, at most `cap`; `Ok(when it was reached)` or `Err(count at the cap)`.
    pub async fn reached(&mut self, n: usize, cap: Duration) -> Result<Instant, usize> {
        let reached = match tokio::time::timeout(cap, self.rx.wait_for(|p| p.count >= n)).await {
            Ok(Ok(p)) => Some(p.at),
            _ => None,
        };
        reached.ok_or_else(|| self.progress().count)
    }
}

fn key<K: kube::Resource>(o: &K) -> String {
    let m = o.meta();
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or("")
    )
}

/// Whether `node` reports condition Ready=True.
pub fn node_is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Whether `pod` is in phase Running.
pub fn pod_is_running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

/// `VmRSS` of process `pid` in bytes, from `/proc/<pid>/status`.
pub fn process_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The `kubeproof` binary the process scenarios run: `KUBEPROOF_BIN` when set, else the
/// workspace's release build. `cargo bench` does not build another package's binary, hence the
/// prerequisite named in the error.
pub fn kubeproof_binary() -> Result<PathBuf, String> {
    let path = std::env::var_os("KUBEPROOF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            crate::figures::target_dir()
                .join("release")
                .join("kubeproof")
        });
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "no kubeproof binary at {}: run `cargo build --release -p harness --bin kubeproof` \
             first (or set KUBEPROOF_BIN)",
            path.display()
        ))
    }
}

/// What a `kubeproof nodes` child process printed that the scenarios use.
#[derive(Clone, Debug, Default)]
pub struct ChildOutput {
    /// When it printed that its nodes are registered, and the line.
    pub registered: Option<(Instant, String)>,
    /// Its last periodic counters line.
    pub last_stats: Option<String>,
    /// Every line, for a failure's note.
    pub tail: Vec<String>,
}

/// A `kubeproof nodes` process attached to the bench's control plane, killed when dropped.
pub struct NodesProcess {
    child: tokio::process::Child,
    /// Its process id.
    pub pid: u32,
    /// What it printed so far.
    pub output: Arc<Mutex<ChildOutput>>,
    /// When it was spawned.
    pub spawned: Instant,
}

impl NodesProcess {
    /// Run `kubeproof nodes --count N --prefix PREFIX --kubeconfig PATH --seed SEED`.
    pub fn spawn(
        binary: &std::path::Path,
        kubeconfig: &std::path::Path,
        count: usize,
        prefix: &str,
    ) -> Result<Self, String> {
        let spawned = Instant::now();
        let mut child = tokio::process::Command::new(binary)
            .arg("nodes")
            .arg("--count")
            .arg(count.to_string())
            .arg("--prefix")
            .arg(prefix)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--seed")
            .arg(SEED.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let pid = child.id().ok_or("the child exited at once")?;
        let output = Arc::new(Mutex::new(ChildOutput::default()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut o = output.lock();
                    if line.contains("hollow nodes registered") {
                        o.registered = Some((Instant::now(), line.clone()));
                    } else if line.contains("lease renewals") {
                        o.last_stats = Some(line.clone());
                    }
                    if o.tail.len() >= 20 {
                        o.tail.remove(0);
                    }
                    o.tail.push(line);
                }
            });
        }
        Ok(Self {
            child,
            pid,
            output,
            spawned,
        })
    }

    /// Wait until it says its nodes are registered, at most `cap`; `Err` with its last lines
    /// when it exits or the cap passes first.
    pub async fn registered(&mut self, cap: Duration) -> Result<Instant, String> {
        let deadline = Instant::now() + cap;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            if let Some((at, _)) = &self.output.lock().registered {
                return Ok(*at);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "kubeproof nodes exited ({status}): {}",
                    self.output.lock().tail.join(" | ")
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "kubeproof nodes did not register within {cap:?}: {}",
                    self.output.lock().tail.join(" | ")
                ));
            }
            tick.tick().await;
        }
    }

    /// Its resident set size now, in bytes.
    pub fn rss(&self) -> Option<u64> {
        process_rss(self.pid)
    }

    /// Kill it and reap it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Write the cluster's kubeconfig where a child process can read it.
pub fn write_kubeconfig(cluster: &Cluster, name: &str) -> Result<PathBuf, String> {
    let dir = crate::figures::target_dir().join("kubeproof-bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}-{}.kubeconfig", std::process::id()));
    cluster
        .cp
        .write_kubeconfig(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Bytes as megabytes, for figures.
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// The benchmark's wall-clock budget for one waiting step, from `KUBEPROOF_BENCH_CAP` seconds
/// when set.
pub fn cap(default_secs: u64) -> Duration {
    std::env::var("KUBEPROOF_BENCH_CAP")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(default_secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus, PodStatus};

    #[test]
    fn a_node_is_ready_only_with_ready_true() {
        let node = |status: &str| Node {
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: status.into(),
                    ..NodeCondition::default()
                }]),
                ..NodeStatus::default()
            }),
            ..Node::default()
        };
        assert!(node_is_ready(&node("True")));
        assert!(!node_is_ready(&node("Unknown")));
        assert!(!node_is_ready(&Node::default()));
    }

    #[test]
    fn a_pod_is_running_by_its_phase() {
        let pod = |phase: &str| Pod {
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..PodStatus::default()
            }),
            ..Pod::default()
        };
        assert!(pod_is_running(&pod("Running")));
        assert!(!pod_is_running(&pod("Pending")));
    }

    #[test]
    fn this_process_has_a_resident_set() {
        assert!(process_rss(std::process::id()).is_some_and(|b| b > 0));
    }
}
