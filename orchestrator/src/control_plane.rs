//! Booting the embedded control plane on loopback. (Skeleton: filled in by the API work.)

use std::path::Path;
use std::time::Duration;

use crate::store::MemoryStoreConfig;

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
}

/// A running control plane.
pub struct ControlPlane {
    url: String,
    ca_pem: String,
    token: String,
}

impl ControlPlane {
    /// Boot on 127.0.0.1 and return once it serves requests.
    pub async fn start(config: ControlPlaneConfig) -> anyhow_free::Result<Self> {
        let _ = config;
        Err(std::io::Error::other("not implemented yet"))
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA certificate clients should trust, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The admin bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A kubeconfig (YAML) for this control plane with the CA data and admin token; context
    /// and cluster are named `kubeproof`.
    pub fn kubeconfig(&self) -> String {
        String::new()
    }

    /// Write [`Self::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Stop serving and wait until every connection is closed.
    pub async fn shutdown(self) {}
}

mod anyhow_free {
    pub type Result<T> = std::result::Result<T, std::io::Error>;
}
