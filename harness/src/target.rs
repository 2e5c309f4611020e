//! Targets: the cluster a run talks to. `embedded` boots our own control plane on loopback;
//! `kubeconfig` attaches to any cluster; `k3s` arrives with issue 9.
//!
//! Every target ends up as the same [`TestEnv`]: a client, a kubeconfig file and what the target
//! can offer tests ([`Capabilities`]). Tests never learn which target they run on.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use orchestrator::store::MemoryStoreConfig;
use orchestrator::{ControlPlane, ControlPlaneConfig};
use simulator::{NodeControl, Profile, SimConfig, Simulator};
use suites::Need;

/// Which kind of cluster to run against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetKind {
    /// kubeproof's own control plane, in this process, on 127.0.0.1 with a random port.
    #[default]
    Embedded,
    /// An existing cluster, from `--kubeconfig` (or `KUBECONFIG`, or `~/.kube/config`).
    Kubeconfig,
    /// A k3s cluster in a container (issue 9).
    K3s,
}

impl TargetKind {
    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Embedded => "embedded",
            TargetKind::Kubeconfig => "kubeconfig",
            TargetKind::K3s => "k3s",
        }
    }
}

/// How to obtain a target.
#[derive(Clone, Debug, Default)]
pub struct TargetOptions {
    /// Which kind.
    pub kind: TargetKind,
    /// The kubeconfig of an existing cluster (`kubeconfig` target).
    pub kubeconfig: Option<PathBuf>,
    /// Port for the embedded control plane; 0 lets the OS pick.
    pub port: u16,
    /// Where the embedded target writes its kubeconfig; a temporary folder when `None`.
    pub kubeconfig_out: Option<PathBuf>,
    /// Hollow nodes to run: `None` gives the embedded target [`DEFAULT_NODES`] and an attached
    /// cluster none (its own nodes serve).
    pub nodes: Option<usize>,
    /// The hollow nodes' profile; `None` gives [`embedded_profile`] on the embedded target and
    /// the real-time default profile on an attached cluster.
    pub profile: Option<Profile>,
    /// The run's seed, for the hollow nodes' jitter and the embedded scheduler's tie-breaking.
    pub seed: u64,
    /// The embedded scheduler's configuration; `None`: upstream's default profile.
    pub scheduler: Option<orchestrator::KubeSchedulerConfiguration>,
}

/// Hollow nodes the embedded target runs unless told otherwise: one per default zone.
pub const DEFAULT_NODES: usize = 3;

/// Prefix of the hollow nodes a target starts (`hollow-node-0`, …); on an attached cluster that
/// already has nodes of that name (another kubeproof's), the first free of `hollow-node-b`, `-c`, ….
pub const NODE_PREFIX: &str = "hollow-node";

/// How many times faster than real time the embedded target's hollow nodes run: a 10 s lease
/// renewal takes 1 s and a 10 s CrashLoopBackOff 1 s, so tests of kubelet timing finish in
/// seconds. Recorded in docs/fidelity.md.
pub const EMBEDDED_CLOCK_FACTOR: f64 = 10.0;

/// The embedded target's default hollow-node profile: upstream's kubelet defaults, run
/// [`EMBEDDED_CLOCK_FACTOR`] times faster.
pub fn embedded_profile() -> Profile {
    Profile {
        clock_factor: EMBEDDED_CLOCK_FACTOR,
        ..Profile::default()
    }
}

/// A target that could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The k3s target is not built yet.
    #[error("the k3s target arrives with issue 9; use embedded or kubeconfig")]
    K3sNotYet,
    /// No kubeconfig was given or found.
    #[error("the kubeconfig target needs a kubeconfig: pass --kubeconfig PATH or set KUBECONFIG")]
    NoKubeconfig,
    /// The kubeconfig could not be read or used.
    #[error("cannot use the kubeconfig {}; check the file and its current context", path.display())]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: KubeconfigError,
    },
    /// A file for the target could not be written.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The embedded control plane did not boot.
    #[error("the embedded control plane did not start: {0}")]
    Boot(String),
    /// No client could be built from the configuration.
    #[error("cannot build a Kubernetes client")]
    Client(#[source] kube::Error),
    /// The hollow nodes did not start.
    #[error("the hollow nodes did not start: {0}")]
    Nodes(String),
    /// The cluster did not answer.
    #[error("the API server at {server} does not answer; is the cluster running?")]
    Unreachable {
        /// Its URL.
        server: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

impl TargetError {
    /// The process exit code this error maps to: configuration problems are usage errors, a
    /// cluster that does not boot or answer is a boot failure.
    pub fn exit_code(&self) -> i32 {
        use crate::ExitCodes;
        match self {
            TargetError::K3sNotYet | TargetError::NoKubeconfig | TargetError::Kubeconfig { .. } => {
                ExitCodes::USAGE
            }
            TargetError::Io { .. }
            | TargetError::Boot(_)
            | TargetError::Nodes(_)
            | TargetError::Client(_)
            | TargetError::Unreachable { .. } => ExitCodes::TARGET_BOOT,
        }
    }
}

/// What a target can give tests; a test whose [`Need`] is not met is skipped with the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `kubectl` is on the PATH.
    pub kubectl: bool,
    /// Nodes can be controlled (fault injection).
    pub node_control: bool,
    /// Nodes are real and run real containers.
    pub real_nodes: bool,
}

impl Capabilities {
    /// What a target of `kind` offers on this machine.
    pub fn of(kind: TargetKind) -> Self {
        Capabilities {
            kubectl: kubectl_on_path(),
            // The embedded target runs hollow nodes unless told `--nodes 0`; `with_nodes` says
            // what a booted target actually has.
            node_control: kind == TargetKind::Embedded,
            real_nodes: matches!(kind, TargetKind::Kubeconfig | TargetKind::K3s),
        }
    }

    /// These capabilities, with node control when `simulator` runs hollow nodes.
    pub fn with_nodes(mut self, simulator: &Option<Simulator>) -> Self {
        self.node_control = simulator.is_some();
        self
    }

    /// Why `need` cannot be met here, or `None` when it can.
    pub fn unmet(&self, need: Need) -> Option<String> {
        match need {
            Need::Kubectl if !self.kubectl => {
                Some("needs `kubectl` on the PATH, which has none".to_owned())
            }
            Need::NodeControl if !self.node_control => Some(
                "needs control over nodes (fault injection): run kubeproof's hollow nodes on the \
                 target (--nodes N)"
                    .to_owned(),
            ),
            Need::RealNodes if !self.real_nodes => Some(
                "needs real nodes running real containers; run it with --target kubeconfig"
                    .to_owned(),
            ),
            _ => None,
        }
    }

    /// The first unmet need among `needs`.
    pub fn first_unmet(&self, needs: &[Need]) -> Option<String> {
        needs.iter().find_map(|need| self.unmet(*need))
    }
}

/// Whether an executable `kubectl` is on the PATH.
pub fn kubectl_on_path() -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join("kubectl"))
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// What a test runs against: everything the runner needs to build a `TestContext`.
#[derive(Clone)]
pub struct TestEnv {
    /// An admin client.
    pub client: kube::Client,
    /// A kubeconfig file for the same cluster and identity, for `kubectl`.
    pub kubeconfig: PathBuf,
    /// The API server URL.
    pub server: String,
    /// What the target offers.
    pub capabilities: Capabilities,
    /// The hollow nodes kubeproof runs on this target, if any.
    pub nodes: Option<Arc<dyn NodeControl>>,
}

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("server", &self.server)
            .field("kubeconfig", &self.kubeconfig)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

/// A booted or attached target. Call [`Target::shutdown`] when done.
pub struct Target {
    kind: TargetKind,
    env: TestEnv,
    server_version: Option<String>,
    control_plane: Option<ControlPlane>,
    simulator: Option<Simulator>,
    // Keeps the embedded kubeconfig's folder alive as long as the target.
    _dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("kind", &self.kind)
            .field("env", &self.env)
            .field("server_version", &self.server_version)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Boot or attach the target described by `options`.
    pub async fn start(options: &TargetOptions) -> Result<Self, TargetError> {
        install_crypto_provider();
        match options.kind {
            TargetKind::Embedded => Self::embedded(options).await,
            TargetKind::Kubeconfig => Self::attach(options).await,
            TargetKind::K3s => Err(TargetError::K3sNotYet),
        }
    }

    async fn embedded(options: &TargetOptions) -> Result<Self, TargetError> {
        let mut config = embedded_config(options.port);
        config.scheduler.seed = options.seed;
        if let Some(scheduler) = &options.scheduler {
            config.scheduler.configuration = scheduler.clone();
        }
        let control_plane = ControlPlane::start(config)
            .await
            .map_err(|err| TargetError::Boot(format!("{err:#}")))?;
        let (dir, path) = match &options.kubeconfig_out {
            Some(path) => (None, absolute(path)),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("kubeproof-")
                    .tempdir()
                    .map_err(|source| TargetError::Io {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                let path = dir.path().join("kubeconfig");
                (Some(dir), path)
            }
        };
        let yaml = control_plane.kubeconfig();
        control_plane
            .write_kubeconfig(&path)
            .map_err(|source| TargetError::Io {
                path: path.clone(),
                source,
            })?;
        let kubeconfig =
            Kubeconfig::from_yaml(&yaml).map_err(|source| TargetError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
        let (client, _) = client_for(kubeconfig, &path).await?;
        let server = control_plane.url().to_owned();
        let profile = options.profile.clone().unwrap_or_else(embedded_profile);
        let count = options.nodes.unwrap_or(DEFAULT_NODES);
        let simulator = start_nodes(&client, NODE_PREFIX, profile, options.seed, count).await?;
        // Our own server should always answer /version, but a missing version is not worth
        // refusing to run the tests over: they will say what is wrong.
        let server_version = match client.apiserver_version().await {
            Ok(info) => Some(info.git_version),
            Err(err) => {
                tracing::warn!(error = %err, "the embedded API server did not report its version");
                None
            }
        };
        Ok(Target {
            kind: TargetKind::Embedded,
            env: TestEnv {
                client,
                kubeconfig: path,
                server,
                capabilities: Capabilities::of(TargetKind::Embedded).with_nodes(&simulator),
                nodes: simulator
                    .clone()
                    .map(|s| Arc::new(s) as Arc<dyn NodeControl>),
            },
            server_version,
            control_plane: Some(control_plane),
            simulator,
            _dir: dir,
        })
    }

    async fn attach(options: &TargetOptions) -> Result<Self, TargetError> {
        let path = options
            .kubeconfig
            .clone()
            .or_else(default_kubeconfig)
            .ok_or(TargetError::NoKubeconfig)?;
        let path = absolute(&path);
        let kubeconfig =
            Kubeconfig::read_from(&path).map_err(|source| TargetError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
        let (client, server) = client_for(kubeconfig, &path).await?;
        // Unlike our own server, a cluster that does not answer /version is not worth running
        // every test against only to see each fail on its namespace.
        let info = client
            .apiserver_version()
            .await
            .map_err(|source| TargetError::Unreachable {
                server: server.clone(),
                source,
            })?;
        // Hollow nodes join an attached cluster only when asked, in real time.
        let profile = options.profile.clone().unwrap_or_default();
        let count = options.nodes.unwrap_or(0);
        let prefix = if count == 0 {
            NODE_PREFIX.to_string()
        } else {
            let nodes = Api::<Node>::all(client.clone())
                .list_metadata(&ListParams::default())
                .await
                .map_err(|e| TargetError::Nodes(format!("cannot list the cluster's nodes: {e}")))?;
            free_prefix(
                nodes
                    .items
                    .iter()
                    .filter_map(|n| n.metadata.name.as_deref()),
            )
        };
        let simulator = start_nodes(&client, &prefix, profile, options.seed, count).await?;
        Ok(Target {
            kind: TargetKind::Kubeconfig,
            env: TestEnv {
                client,
                kubeconfig: path,
                server,
                capabilities: Capabilities::of(TargetKind::Kubeconfig).with_nodes(&simulator),
                nodes: simulator
                    .clone()
                    .map(|s| Arc::new(s) as Arc<dyn NodeControl>),
            },
            server_version: Some(info.git_version),
            control_plane: None,
            simulator,
            _dir: None,
        })
    }

    /// Which kind of target this is.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// What tests run against.
    pub fn env(&self) -> &TestEnv {
        &self.env
    }

    /// The API server's `gitVersion`, when it reported one.
    pub fn server_version(&self) -> Option<&str> {
        self.server_version.as_deref()
    }

    /// The hollow nodes this target runs, if any.
    pub fn simulator(&self) -> Option<&Simulator> {
        self.simulator.as_ref()
    }

    /// Stop what this target started (hollow nodes, the embedded control plane); an attached
    /// cluster is left as it was (with hollow nodes that will go NotReady).
    pub async fn shutdown(self) {
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
        if let Some(control_plane) = self.control_plane {
            control_plane.shutdown().await;
        }
    }
}

/// The embedded control plane's configuration: loopback, generated CA and token, upstream's
/// defaults where upstream has one — except watch bookmarks, sent every second (upstream: about a
/// minute) so that tests of bookmarks finish in seconds, and a watch history of
/// [`EMBEDDED_HISTORY`] events, small enough that a test can compact it on purpose.
pub fn embedded_config(port: u16) -> ControlPlaneConfig {
    let store = MemoryStoreConfig {
        history: EMBEDDED_HISTORY,
        ..MemoryStoreConfig::default()
    };
    ControlPlaneConfig {
        port,
        store,
        bookmark_interval: Duration::from_secs(1),
        node_lifecycle: embedded_node_lifecycle(),
        ..ControlPlaneConfig::default()
    }
}

/// The node lifecycle controllers' timing on the embedded target, matched to its hollow nodes'
/// [`EMBEDDED_CLOCK_FACTOR`]: heartbeats come every second instead of ten, so a node is
/// unreachable after 4 s without one (upstream: 40 s), checked every 0.5 s (5 s); NoExecute
/// taints are not rate-limited in practice (10 nodes/s instead of one every 10 s), so tests on
/// nodes of the same zone do not wait for each other; pods of deleted nodes are collected after
/// 2 s (40 s).
pub fn embedded_node_lifecycle() -> orchestrator::NodeLifecycleConfig {
    orchestrator::NodeLifecycleConfig {
        monitor_period: Duration::from_millis(500),
        grace_period: Duration::from_secs(4),
        startup_grace_period: Duration::from_secs(6),
        eviction_rate: 10.0,
        secondary_eviction_rate: 1.0,
        pod_gc_period: Duration::from_secs(1),
        pod_gc_quarantine: Duration::from_secs(2),
        ..orchestrator::NodeLifecycleConfig::default()
    }
}

/// Events of watch history the embedded target keeps. Upstream's watch cache keeps on the order
/// of a few hundred to a few thousand events per resource, and etcd compacts every 5 minutes.
pub const EMBEDDED_HISTORY: usize = 2_000;

/// The first of [`NODE_PREFIX`], `hollow-node-b`, `hollow-node-c`, … no node of `existing` is
/// named `<prefix>-<number>` with: two simulators naming their nodes alike would renew each
/// other's leases and overwrite each other's status.
fn free_prefix<'a>(existing: impl Iterator<Item = &'a str> + Clone) -> String {
    let taken = |prefix: &str| {
        existing.clone().any(|name| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    std::iter::once(NODE_PREFIX.to_string())
        .chain((b'b'..=b'z').map(|c| format!("{NODE_PREFIX}-{}", c as char)))
        .chain((1..).map(|i| format!("{NODE_PREFIX}-z{i}")))
        .find(|p| !taken(p))
        .expect("an endless list has a free prefix")
}

/// Start a simulator with `count` hollow nodes named `<prefix>-<i>`; `None` for none.
async fn start_nodes(
    client: &kube::Client,
    prefix: &str,
    profile: Profile,
    seed: u64,
    count: usize,
) -> Result<Option<Simulator>, TargetError> {
    if count == 0 {
        return Ok(None);
    }
    let simulator = Simulator::start(client.clone(), SimConfig { profile, seed })
        .await
        .map_err(|e| TargetError::Nodes(e.to_string()))?;
    if let Err(e) = simulator.register(prefix, count, None).await {
        simulator.shutdown().await;
        return Err(TargetError::Nodes(e.to_string()));
    }
    Ok(Some(simulator))
}

/// kube uses rustls with `ring`; installing the provider explicitly keeps
/// `kube::Client::try_from` from panicking if another crate ever brings a second provider in.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for the kubeconfig's current context, and the server URL it talks to.
async fn client_for(
    kubeconfig: Kubeconfig,
    path: &Path,
) -> Result<(kube::Client, String), TargetError> {
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|source| TargetError::Kubeconfig {
            path: path.to_owned(),
            source,
        })?;
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let client = kube::Client::try_from(config).map_err(TargetError::Client)?;
    Ok((client, server))
}

/// kubectl's search order: the first file in `KUBECONFIG`, then `~/.kube/config`.
fn default_kubeconfig() -> Option<PathBuf> {
    if let Some(list) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty())
    {
        return Some(first);
    }
    let home = std::env::var_os("HOME")?;
    let path = PathBuf::from(home).join(".kube/config");
    path.exists().then_some(path)
}

/// `path` made absolute against the current folder, so printed paths work from anywhere.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hollow_nodes_take_the_first_prefix_no_node_of_the_cluster_uses() {
        assert_eq!(
            free_prefix(["k3s-server", "hollow-node"].into_iter()),
            "hollow-node"
        );
        assert_eq!(
            free_prefix(["hollow-node-0", "hollow-node-b-x"].into_iter()),
            "hollow-node-b"
        );
        assert_eq!(
            free_prefix(["hollow-node-3", "hollow-node-b-12", "hollow-node-c-"].into_iter()),
            "hollow-node-c"
        );
        let mut all: Vec<String> = vec!["hollow-node-0".into()];
        all.extend((b'b'..=b'z').map(|c| format!("hollow-node-{}-0", c as char)));
        assert_eq!(
            free_prefix(all.iter().map(String::as_str)),
            "hollow-node-z1"
        );
    }

    #[test]
    fn k3s_says_when_it_arrives_and_is_a_usage_error() {
        let err = TargetError::K3sNotYet;
        assert_eq!(
            err.to_string(),
            "the k3s target arrives with issue 9; use embedded or kubeconfig"
        );
        assert_eq!(err.exit_code(), crate::ExitCodes::USAGE);
        assert_eq!(
            TargetError::Boot("port in use".into()).exit_code(),
            crate::ExitCodes::TARGET_BOOT
        );
    }

    #[test]
    fn unmet_needs_name_the_reason() {
        let embedded = Capabilities {
            kubectl: false,
            node_control: false,
            real_nodes: false,
        };
        assert!(embedded.unmet(Need::Kubectl).unwrap().contains("kubectl"));
        assert!(
            embedded
                .unmet(Need::NodeControl)
                .unwrap()
                .contains("--nodes")
        );
        assert!(
            embedded
                .unmet(Need::RealNodes)
                .unwrap()
                .contains("--target kubeconfig")
        );
        let full = Capabilities {
            kubectl: true,
            node_control: true,
            real_nodes: true,
        };
        assert_eq!(full.first_unmet(&[Need::Kubectl, Need::RealNodes]), None);
        assert_eq!(
            embedded.first_unmet(&[Need::RealNodes]),
            embedded.unmet(Need::RealNodes)
        );
        assert!(!Capabilities::of(TargetKind::Embedded).real_nodes);
        assert!(Capabilities::of(TargetKind::Kubeconfig).real_nodes);
    }
}
