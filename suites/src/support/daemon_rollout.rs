//! Watching a DaemonSet's rolling update and checking, on every observed state, what its
//! strategy promises (upstream `rollingUpdate` in `pkg/controller/daemon/update.go`):
//! - at most one active daemon pod per node, or two on at most `maxSurge` nodes when surging;
//! - once every node had an available daemon pod, at most `maxUnavailable` nodes are without
//!   one at any moment.
//!
//! The pods are watched with one watch (one stream is already in resourceVersion order), and the
//! first violating state is kept in full for [`DaemonWatch::finish`] to report.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{ListParams, WatchEvent, WatchParams};
use tokio::sync::oneshot;

use super::ns_api;
use super::workloads::node_of;
use crate::TestContext;

/// The bounds a DaemonSet's rolling update promises, resolved to node counts.
#[derive(Clone, Copy, Debug)]
pub struct DaemonBounds {
    /// Nodes that may run an old and a new pod at once.
    pub max_surge: usize,
    /// Nodes that may be without an available pod at once.
    pub max_unavailable: usize,
}

/// What a finished watch saw.
#[derive(Debug, Default)]
pub struct DaemonReport {
    /// States checked (one per event).
    pub states: usize,
    /// The most nodes seen without an available pod at once, after availability was reached.
    pub max_unavailable: usize,
    /// The most nodes seen running two active pods at once.
    pub max_surging: usize,
}

/// A watch on a DaemonSet's pods during an update; [`Self::finish`] stops it.
pub struct DaemonWatch {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<DaemonReport>>,
}

#[derive(Clone)]
struct PodView {
    name: String,
    node: Option<String>,
    active: bool,
    available: bool,
    image: String,
}

impl PodView {
    fn of(pod: &Pod) -> Self {
        let status = pod.status.as_ref();
        let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or_default();
        let active =
            pod.metadata.deletion_timestamp.is_none() && phase != "Succeeded" && phase != "Failed";
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        Self {
            name: pod.name_any(),
            node: node_of(pod),
            active,
            available: active && ready,
            image: super::workloads::image_of(pod)
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

struct State {
    nodes: Vec<String>,
    bounds: DaemonBounds,
    pods: BTreeMap<String, PodView>,
    reached: bool,
    report: DaemonReport,
    violation: Option<String>,
}

impl State {
    fn check(&mut self, label: &str) {
        self.report.states += 1;
        if self.violation.is_some() {
            return;
        }
        let mut active: BTreeMap<&str, usize> = BTreeMap::new();
        let mut available: BTreeMap<&str, usize> = BTreeMap::new();
        for p in self.pods.values() {
            let Some(node) = p.node.as_deref() else {
                continue;
            };
            if p.active {
                *active.entry(node).or_default() += 1;
            }
            if p.available {
                *available.entry(node).or_default() += 1;
            }
        }
        let without = self
            .nodes
            .iter()
            .filter(|n| !available.contains_key(n.as_str()))
            .count();
        if without == 0 {
            self.reached = true;
        }
        let surging = active.values().filter(|&&n| n == 2).count();
        let crowded = active.iter().find(|&(_, &n)| n > 2);
        self.report.max_surging = self.report.max_surging.max(surging);
        if self.reached {
            self.report.max_unavailable = self.report.max_unavailable.max(without);
        }
        let broken = if let Some((node, n)) = crowded {
            Some(format!("{n} active daemon pods on node {node}"))
        } else if surging > self.bounds.max_surge {
            Some(format!(
                "{surging} nodes run two daemon pods; maxSurge allows {}",
                self.bounds.max_surge
            ))
        } else if self.reached && without > self.bounds.max_unavailable {
            Some(format!(
                "{without} nodes have no available daemon pod; maxUnavailable allows {}",
                self.bounds.max_unavailable
            ))
        } else {
            None
        };
        if let Some(broken) = broken {
            let pods: Vec<String> = self
                .pods
                .values()
                .map(|p| {
                    let state = match (p.active, p.available) {
                        (_, true) => "available",
                        (true, false) => "active, not available",
                        (false, _) => "terminating or finished",
                    };
                    format!("{} on {:?} ({}): {state}", p.name, p.node, p.image)
                })
                .collect();
            self.violation = Some(format!("after {label}: {broken}; pods: {pods:#?}"));
        }
    }
}

impl DaemonWatch {
    /// Start watching the pods of `selector` in the test's namespace, which should run one per
    /// node of `nodes`.
    pub async fn start(
        ctx: &TestContext,
        selector: &str,
        nodes: &[String],
        bounds: DaemonBounds,
    ) -> anyhow::Result<Self> {
        let api = ns_api::<Pod>(ctx);
        let listed = api
            .list(&ListParams::default().labels(selector))
            .await
            .context("listing daemon pods")?;
        let mut state = State {
            nodes: nodes.to_vec(),
            bounds,
            pods: listed
                .items
                .iter()
                .map(|p| (p.uid().unwrap_or_default(), PodView::of(p)))
                .collect(),
            reached: false,
            report: DaemonReport::default(),
            violation: None,
        };
        state.check("the initial list");
        let rv = listed.metadata.resource_version.unwrap_or_default();
        let mut events = api
            .watch(&WatchParams::default().labels(selector), &rv)
            .await?
            .boxed();
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    next = events.try_next() => match next? {
                        Some(WatchEvent::Added(p) | WatchEvent::Modified(p)) => {
                            let label = format!("pod {} changed at rv {}", p.name_any(),
                                p.resource_version().unwrap_or_default());
                            state.pods.insert(p.uid().unwrap_or_default(), PodView::of(&p));
                            state.check(&label);
                        }
                        Some(WatchEvent::Deleted(p)) => {
                            state.pods.remove(&p.uid().unwrap_or_default());
                            state.check(&format!("pod {} deleted", p.name_any()));
                        }
                        Some(WatchEvent::Bookmark(_)) => {}
                        Some(WatchEvent::Error(e)) => bail!("the daemon pod watch failed: {e:?}"),
                        None => bail!("the daemon pod watch ended"),
                    },
                }
            }
            if let Some(v) = state.violation {
                bail!("{v}");
            }
            Ok(state.report)
        });
        Ok(Self {
            stop: Some(stop),
            task,
        })
    }

    /// Stop watching; the report, or the first state that broke the bounds.
    pub async fn finish(mut self) -> anyhow::Result<DaemonReport> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.context("the daemon watch panicked")?
    }
}
