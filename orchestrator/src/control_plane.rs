//! Booting the embedded control plane on loopback: store, API server over TLS with a generated
//! CA, the boot-time namespaces, the built-in controllers and the scheduler.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{self, AppState, Metrics, Objects, ServingCerts, WriteParams};
use crate::controllers::NodeLifecycleConfig;
use crate::registry;
use crate::scheduler::{SchedulerConfig, SchedulerMetrics};
use crate::store::{MemoryStore, MemoryStoreConfig, Storage};

/// The namespaces every cluster has after boot.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// How to boot a [`ControlPlane`].
#[derive(Clone, Debug)]
pub struct ControlPlaneConfig {
    /// Port on 127.0.0.1; 0 lets the OS pick.
    pub port: u16,
    /// The admin bearer token; a random one when `None`.
    pub token: Option<String>,
    /// PEM serving certificate and key; a CA and certificate are generated when `None`.
    pub tls: Option<(String, String)>,
    pub store: MemoryStoreConfig,
    /// How often a watch with `allowWatchBookmarks` gets a BOOKMARK (upstream: about a minute).
    pub bookmark_interval: Duration,
    /// Node heartbeat monitoring, taint eviction and pod garbage collection.
    pub node_lifecycle: NodeLifecycleConfig,
    /// The scheduler (on by default, with upstream's default profile).
    pub scheduler: SchedulerConfig,
}

impl Default for ControlPlaneConfig {
    fn default() -> Self {
        Self {
            port: 0,
            token: None,
            tls: None,
            store: MemoryStoreConfig::default(),
            bookmark_interval: Duration::from_secs(60),
            node_lifecycle: NodeLifecycleConfig::default(),
            scheduler: SchedulerConfig::default(),
        }
    }
}

/// Why a control plane did not boot.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make the serving certificate: {0}")]
    Certificate(String),
    #[error("cannot create the system namespace {name}: {source}")]
    Namespace {
        name: String,
        #[source]
        source: crate::ApiError,
    },
    #[error("cannot start the scheduler: {0}")]
    Scheduler(String),
}

/// A running control plane.
pub struct ControlPlane {
    url: String,
    addr: SocketAddr,
    ca_pem: String,
    token: String,
    objects: Arc<Objects>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("url", &self.url)
            .finish()
    }
}

impl ControlPlane {
    /// Boot on 127.0.0.1 and return once it serves requests.
    pub async fn start(config: ControlPlaneConfig) -> Result<Self, BootError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|source| BootError::Listen {
                port: config.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| BootError::Listen {
            port: config.port,
            source,
        })?;
        let certs = match &config.tls {
            Some((cert, key)) => ServingCerts {
                ca_pem: cert.clone(),
                cert_pem: cert.clone(),
                key_pem: key.clone(),
            },
            None => api::generate_certs().map_err(|e| BootError::Certificate(e.to_string()))?,
        };
        let tls = api::server_config(&certs).map_err(|e| BootError::Certificate(e.to_string()))?;
        let token = config
            .token
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());

        let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(config.store.clone()));
        let objects = Objects::new(store);
        create_system_namespaces(&objects)?;

        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let metrics = Arc::new(Metrics::default());
        if config.scheduler.enabled {
            let scheduler_metrics = Arc::new(SchedulerMetrics::default());
            metrics.set_scheduler(scheduler_metrics.clone());
            crate::scheduler::spawn(
                objects.clone(),
                &config.scheduler,
                scheduler_metrics,
                shutdown.clone(),
                &tracker,
            )
            .map_err(BootError::Scheduler)?;
        }
        let state = Arc::new(AppState {
            objects: objects.clone(),
            token: token.clone(),
            metrics: metrics.clone(),
            bookmark_interval: config.bookmark_interval,
            shutdown: shutdown.clone(),
            server_addr: addr.to_string(),
        });
        let workqueues = crate::controllers::spawn_all(
            objects.clone(),
            &config.node_lifecycle,
            shutdown.clone(),
            &tracker,
        );
        metrics.set_workqueues(workqueues);
        tracker.spawn(api::serve_tls(
            listener,
            tls,
            api::router(state),
            shutdown.clone(),
            tracker.clone(),
        ));
        Ok(Self {
            url: format!("https://{addr}"),
            addr,
            ca_pem: certs.ca_pem,
            token,
            objects,
            shutdown,
            tracker,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address served on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate clients should trust, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The admin bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// In-process access to the objects (for controllers and benchmarks; clients use the API).
    pub fn objects(&self) -> &Arc<Objects> {
        &self.objects
    }

    /// A kubeconfig (YAML) for this control plane with the CA data and admin token; context,
    /// cluster and user are named `kubeproof`.
    pub fn kubeconfig(&self) -> String {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kubeproof\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\ncontexts:\n- name: kubeproof\n  context:\n    cluster: kubeproof\n    user: kubeproof-admin\n    namespace: default\ncurrent-context: kubeproof\nusers:\n- name: kubeproof-admin\n  user:\n    token: {token}\npreferences: {{}}\n",
            url = self.url,
            token = self.token,
        )
    }

    /// Write [`Self::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Stop serving and wait until every connection and controller has stopped.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

fn create_system_namespaces(objects: &Objects) -> Result<(), BootError> {
    let info = registry::find("", "v1", "namespaces").expect("namespaces are served");
    for name in SYSTEM_NAMESPACES {
        let ns = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } });
        objects
            .create(info, "", ns, &WriteParams::default())
            .map_err(|source| BootError::Namespace {
                name: name.to_string(),
                source,
            })?;
    }
    Ok(())
}
