//! One workload on a fresh target: the embedded control plane booted for it (and shut down
//! after), or an attached cluster given by a kubeconfig, with hollow nodes for its nodes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use orchestrator::{ControlPlane, ControlPlaneConfig};
use reports::TargetInfo;

use super::executor::{Executor, NodeSource, Settings};
use super::report::WorkloadRun;
use super::workload::{TestCase, Tier};
use crate::target::{Target, TargetKind, TargetOptions, embedded_config, install_crypto_provider};

/// Which cluster to run on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// A new embedded control plane per workload.
    Embedded,
    /// The cluster of this kubeconfig (`None`: `KUBECONFIG`, then `~/.kube/config`).
    Kubeconfig(Option<PathBuf>),
}

/// How to run workloads.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Where.
    pub target: TargetSpec,
    /// Concurrency, timeouts, sampling.
    pub settings: Settings,
    /// Params replacing the tier's (`--nodes` → `initNodes`, `--pods` → `measurePods`).
    pub overrides: BTreeMap<String, u64>,
    /// Seed for the hollow nodes' jitter.
    pub seed: u64,
    /// The embedded scheduler's configuration; `None`: upstream's default profile.
    pub scheduler: Option<orchestrator::KubeSchedulerConfiguration>,
}

/// How long createNodes' Node objects stay healthy without a kubelet: far longer than any run.
pub const BENCH_NODE_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Watch history kept by the embedded store: a 10,000-pod run writes about 20,000 pod events,
/// and a watcher that falls behind the history must relist.
pub const BENCH_HISTORY: usize = 200_000;

/// The embedded control plane's configuration for benchmarks: the embedded target's, with node
/// heartbeat grace periods of [`BENCH_NODE_GRACE`] so that Node objects made by `createNodes`
/// (Ready, with no kubelet renewing a lease, as scheduler_perf's) are never marked unreachable
/// and tainted during a run, and a longer watch history.
pub fn bench_config() -> ControlPlaneConfig {
    let mut config = embedded_config(0);
    config.node_lifecycle.grace_period = BENCH_NODE_GRACE;
    config.node_lifecycle.startup_grace_period = BENCH_NODE_GRACE;
    config.store.history = BENCH_HISTORY;
    config
}

/// A target that could not be had.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// The embedded control plane did not start.
    #[error("the embedded control plane did not start: {0}")]
    Embedded(String),
    /// The kubeconfig target could not be attached.
    #[error(transparent)]
    Attach(#[from] crate::TargetError),
    /// The workload does not resolve (a param an override names is not used, …).
    #[error(transparent)]
    Workload(#[from] super::WorkloadError),
}

impl BootError {
    /// The exit code this maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            BootError::Embedded(_) => crate::ExitCodes::TARGET_BOOT,
            BootError::Attach(e) => e.exit_code(),
            BootError::Workload(_) => crate::ExitCodes::USAGE,
        }
    }
}

/// Run `tier` of `case`; the target info says where.
pub async fn run_workload(
    case: &TestCase,
    tier: &Tier,
    options: &RunOptions,
) -> Result<(WorkloadRun, TargetInfo), BootError> {
    let started = Instant::now();
    let name = format!("{}/{}", case.name, tier.name);
    let ops = case.resolve(tier, &options.overrides)?;
    install_crypto_provider();
    let (client, nodes, info, control_plane, attached) = match &options.target {
        TargetSpec::Embedded => {
            let mut config = bench_config();
            if let Some(scheduler) = &options.scheduler {
                config.scheduler.configuration = scheduler.clone();
            }
            let cp = ControlPlane::start(config)
                .await
                .map_err(|e| BootError::Embedded(format!("{e:#}")))?;
            let client = client_for(&cp).await.map_err(BootError::Embedded)?;
            let info = TargetInfo {
                name: TargetKind::Embedded.name().to_owned(),
                server: Some(cp.url().to_owned()),
                server_version: client.apiserver_version().await.ok().map(|v| v.git_version),
            };
            (client, NodeSource::Objects, info, Some(cp), None)
        }
        TargetSpec::Kubeconfig(path) => {
            let target = Target::start(&TargetOptions {
                kind: TargetKind::Kubeconfig,
                kubeconfig: path.clone(),
                nodes: Some(0),
                seed: options.seed,
                ..TargetOptions::default()
            })
            .await?;
            let info = TargetInfo {
                name: TargetKind::Kubeconfig.name().to_owned(),
                server: Some(target.env().server.clone()),
                server_version: target.server_version().map(str::to_owned),
            };
            let nodes = NodeSource::Hollow {
                seed: options.seed,
                running: Vec::new(),
            };
            (target.env().client.clone(), nodes, info, None, Some(target))
        }
    };
    let outcome = match Executor::new(client, nodes, options.settings.clone()).await {
        Err(e) => Err(format!("cannot watch pods: {e}")),
        Ok(mut executor) => {
            let result = executor.run(&ops).await;
            let measured = std::mem::take(&mut executor.measured);
            executor.finish(attached.is_some()).await;
            result.map(|()| measured).map_err(|e| e.to_string())
        }
    };
    if let Some(cp) = control_plane {
        cp.shutdown().await;
    }
    if let Some(target) = attached {
        target.shutdown().await;
    }
    Ok((
        WorkloadRun {
            name,
            threshold: tier.threshold,
            outcome,
            duration: started.elapsed(),
        },
        info,
    ))
}

/// An admin client of the embedded control plane.
async fn client_for(cp: &ControlPlane) -> Result<kube::Client, String> {
    let kubeconfig = Kubeconfig::from_yaml(&cp.kubeconfig()).map_err(|e| e.to_string())?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| e.to_string())?;
    // A run of thousands of creates must not be cut by the client's default read timeout
    // while the server is busy; watches are long-lived anyway.
    config.read_timeout = None;
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_nodes_outlive_any_run() {
        let c = bench_config();
        assert!(c.node_lifecycle.grace_period >= Duration::from_secs(24 * 3600));
        assert!(c.node_lifecycle.startup_grace_period >= Duration::from_secs(24 * 3600));
        assert_eq!(c.store.history, BENCH_HISTORY);
    }
}
