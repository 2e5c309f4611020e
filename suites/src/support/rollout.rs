//! Watching a rollout and checking, on every observed state, what the spec promises.
//!
//! A [`RolloutWatch`] watches a workload's pods (by selector), its ReplicaSets or
//! ReplicationControllers, and its Deployment, and replays their events in resourceVersion
//! order: the API server's resourceVersions are one global sequence (etcd's revision), so after
//! a short reorder window ([`REORDER`]) the merged streams give the states the cluster went
//! through, one event at a time, without mixing an old pod list with a new ReplicaSet. On each
//! state it checks the [`Invariants`]; the first state that breaks one is kept in full and
//! reported by [`RolloutWatch::finish`].
//!
//! What is checked (for a Deployment, with `maxSurge`/`maxUnavailable` resolved as upstream:
//! surge rounded up, unavailable down, both zero → one unavailable):
//! - the controllers' replicas (`spec.replicas` summed over the ReplicaSets) never exceed
//!   `replicas + maxSurge`;
//! - pods: active pods never exceed `replicas + maxSurge` plus the pods of ReplicaSets already
//!   told to scale down that have not been deleted yet (a ReplicaSet deletes its surplus after
//!   the Deployment lowers it; creation beyond a ReplicaSet's own replicas is never excused);
//! - available pods (Ready for `minReadySeconds`, not terminating) never fall below
//!   `replicas − maxUnavailable`, once the watch has seen them at that level;
//! - the old ReplicaSets are never scaled below what availability allows: their replicas plus
//!   the new ReplicaSet's available pods never fall below `replicas − maxUnavailable`;
//! - revisions (`deployment.kubernetes.io/revision`) never go down, on any ReplicaSet or on the
//!   Deployment;
//! - Recreate: no pod of the new template exists while a pod of an old one is still running.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::stream::{BoxStream, SelectAll};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::{Resource, ResourceExt};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::TestContext;

/// How long an event waits for events of other streams with a lower resourceVersion.
pub const REORDER: Duration = Duration::from_millis(150);

/// The revision annotation the Deployment controller sets.
pub const REVISION: &str = "deployment.kubernetes.io/revision";

/// What a rollout promises, from the Deployment's strategy or given by the test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Invariants {
    pub replicas: i32,
    pub max_surge: i32,
    pub max_unavailable: i32,
    pub min_ready_seconds: i64,
    /// Recreate: new pods only once every old pod is gone.
    pub recreate: bool,
}

impl Invariants {
    /// The bounds `deployment`'s strategy promises (upstream `ResolveFenceposts`).
    pub fn of_deployment(deployment: &Deployment) -> Self {
        let spec = Some(&deployment.spec);
        let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
        let strategy = spec.and_then(|s| s.strategy.as_ref());
        let recreate = strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate");
        let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
        let default = IntOrString::String("25%".into());
        let surge = rolling
            .and_then(|r| r.max_surge.as_ref())
            .unwrap_or(&default);
        let unavailable = rolling
            .and_then(|r| r.max_unavailable.as_ref())
            .unwrap_or(&default);
        let (max_surge, max_unavailable) = if recreate {
            (0, replicas)
        } else {
            resolve_fenceposts(surge, unavailable, replicas)
        };
        Self {
            replicas,
            max_surge,
            max_unavailable,
            min_ready_seconds: i64::from(spec.and_then(|s| s.min_ready_seconds).unwrap_or(0)),
            recreate,
        }
    }
}

/// Upstream `ResolveFenceposts`: surge rounds up, unavailable down; both zero → unavailable 1.
pub fn resolve_fenceposts(
    surge: &IntOrString,
    unavailable: &IntOrString,
    replicas: i32,
) -> (i32, i32) {
    let scaled = |v: &IntOrString, round_up: bool| match v {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => {
            let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(0.0);
            let exact = pct * f64::from(replicas) / 100.0;
            (if round_up {
                exact.ceil()
            } else {
                exact.floor()
            }) as i32
        }
    };
    let surge = scaled(surge, true);
    let unavailable = scaled(unavailable, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

#[derive(Clone, Debug)]
struct PodView {
    owner: Option<String>,
    phase: String,
    ready_since: Option<k8s_openapi::jiff::Timestamp>,
    deleting: bool,
}

impl PodView {
    fn of(pod: &Pod) -> Self {
        let owner = pod
            .owner_references()
            .iter()
            .find(|r| r.controller == Some(true))
            .map(|r| r.uid.clone());
        let status = pod.status.as_ref();
        let ready_since = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready" && c.status == "True"))
            .map(|c| {
                c.last_transition_time
                    .as_ref()
                    .map_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH, |t| t.0)
            });
        Self {
            owner,
            phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
            ready_since,
            deleting: pod.metadata.deletion_timestamp.is_some(),
        }
    }

    fn active(&self) -> bool {
        !self.deleting && self.phase != "Succeeded" && self.phase != "Failed"
    }

    fn running(&self) -> bool {
        self.phase != "Succeeded" && self.phase != "Failed"
    }

    fn available(&self, min_ready: i64, now: k8s_openapi::jiff::Timestamp) -> bool {
        self.active()
            && self
                .ready_since
                .is_some_and(|t| t + k8s_openapi::jiff::SignedDuration::from_secs(min_ready) <= now)
    }
}

#[derive(Clone, Debug)]
struct ControllerView {
    name: String,
    replicas: i32,
    revision: Option<i64>,
    template_hash: Option<String>,
}

/// One object event from any of the watched streams.
enum Update {
    Pod(String, String, Option<PodView>),
    Controller(String, Option<ControllerView>),
    Deployment(Option<Box<Deployment>>),
}

/// The cluster as replayed so far.
#[derive(Default)]
struct State {
    pods: BTreeMap<String, (String, PodView)>,
    controllers: BTreeMap<String, ControllerView>,
    deployment: Option<Deployment>,
    /// Highest revision seen per ReplicaSet and on the Deployment.
    revisions: BTreeMap<String, i64>,
    states: usize,
    /// The availability floor has been reached (it is enforced from then on).
    available_reached: bool,
    max_pods: usize,
    min_available: Option<usize>,
    violation: Option<String>,
}

impl State {
    fn apply(&mut self, update: Update) {
        match update {
            Update::Pod(uid, name, view) => match view {
                Some(v) => {
                    self.pods.insert(uid, (name, v));
                }
                None => {
                    self.pods.remove(&uid);
                }
            },
            Update::Controller(uid, view) => match view {
                Some(v) => {
                    self.controllers.insert(uid, v);
                }
                None => {
                    self.controllers.remove(&uid);
                }
            },
            Update::Deployment(d) => self.deployment = d.map(|d| *d),
        }
    }

    /// The uid of the controller running the current template (the Deployment's new RS: the
    /// one with the highest revision), if known.
    fn newest(&self) -> Option<&str> {
        self.controllers
            .iter()
            .filter(|(_, c)| c.replicas > 0 || c.revision.is_some())
            .max_by_key(|(_, c)| c.revision.unwrap_or(0))
            .map(|(uid, _)| uid.as_str())
    }

    fn check(&mut self, fixed: Option<Invariants>, event: &str) {
        self.states += 1;
        if self.violation.is_some() {
            return;
        }
        let inv = match (fixed, &self.deployment) {
            (Some(i), _) => i,
            (None, Some(d)) => Invariants::of_deployment(d),
            (None, None) => return,
        };
        let now = k8s_openapi::jiff::Timestamp::now();
        let bound = (inv.replicas + inv.max_surge) as usize;
        let floor = (inv.replicas - inv.max_unavailable).max(0) as usize;
        let spec_total: i32 = self.controllers.values().map(|c| c.replicas).sum();
        let mut active_per: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, p) in self.pods.values() {
            if p.active()
                && let Some(o) = &p.owner
            {
                *active_per.entry(o.as_str()).or_default() += 1;
            }
        }
        let active: usize = active_per.values().sum();
        let scaling_down: usize = self
            .controllers
            .iter()
            .map(|(uid, c)| {
                active_per
                    .get(uid.as_str())
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(c.replicas.max(0) as usize)
            })
            .sum();
        let available = self
            .pods
            .values()
            .filter(|(_, p)| p.available(inv.min_ready_seconds, now))
            .count();
        let newest = self.newest().map(str::to_string);
        let new_available = self
            .pods
            .values()
            .filter(|(_, p)| p.owner == newest && p.available(inv.min_ready_seconds, now))
            .count();
        let old_spec: i32 = self
            .controllers
            .iter()
            .filter(|(uid, _)| Some(uid.as_str()) != newest.as_deref())
            .map(|(_, c)| c.replicas)
            .sum();
        self.max_pods = self.max_pods.max(active);
        if available >= floor {
            self.available_reached = true;
        }
        if self.available_reached {
            self.min_available = Some(self.min_available.map_or(available, |m| m.min(available)));
        }
        let mut broken = Vec::new();
        if spec_total as usize > bound && !inv.recreate {
            broken.push(format!(
                "ReplicaSets' replicas {spec_total} > replicas + maxSurge = {bound}"
            ));
        }
        if active > bound + scaling_down && !inv.recreate {
            broken.push(format!(
                "{active} active pods > replicas + maxSurge = {bound} (+ {scaling_down} awaiting deletion)"
            ));
        }
        if self.available_reached && available < floor && !inv.recreate {
            broken.push(format!(
                "{available} available pods < replicas − maxUnavailable = {floor}"
            ));
        }
        if self.available_reached
            && self.deployment.is_some()
            && !inv.recreate
            && (old_spec.max(0) as usize) + new_available < floor
            && self.controllers.len() > 1
        {
            broken.push(format!(
                "old ReplicaSets scaled to {old_spec} with {new_available} new pods available: below {floor}"
            ));
        }
        if inv.recreate
            && let Some(n) = &newest
        {
            let new_pods = self
                .pods
                .values()
                .filter(|(_, p)| p.owner.as_deref() == Some(n))
                .count();
            let old_running = self
                .pods
                .values()
                .filter(|(_, p)| p.owner.as_deref() != Some(n) && p.running())
                .count();
            if new_pods > 0 && old_running > 0 {
                broken.push(format!(
                    "Recreate: {new_pods} new pods while {old_running} old pods still run"
                ));
            }
        }
        for (uid, c) in &self.controllers {
            if let Some(r) = c.revision {
                let seen = self.revisions.entry(uid.clone()).or_insert(r);
                if r < *seen {
                    broken.push(format!(
                        "ReplicaSet {} revision went down from {seen} to {r}",
                        c.name
                    ));
                }
                *seen = (*seen).max(r);
            }
        }
        if let Some(r) = self
            .deployment
            .as_ref()
            .and_then(|d| d.annotations().get(REVISION))
            .and_then(|r| r.parse::<i64>().ok())
        {
            let seen = self.revisions.entry(String::new()).or_insert(r);
            if r < *seen {
                broken.push(format!("Deployment revision went down from {seen} to {r}"));
            }
            *seen = (*seen).max(r);
        }
        if !broken.is_empty() {
            self.violation = Some(self.describe(&broken, event, &inv, now));
        }
    }

    fn describe(
        &self,
        broken: &[String],
        event: &str,
        inv: &Invariants,
        now: k8s_openapi::jiff::Timestamp,
    ) -> String {
        let mut s = format!(
            "state #{} (after {event}) breaks: {}\n  promised: {inv:?}\n",
            self.states,
            broken.join("; ")
        );
        for (uid, c) in &self.controllers {
            let _ = writeln!(
                s,
                "  controller {} (uid {uid}): replicas {}, revision {:?}, hash {:?}",
                c.name, c.replicas, c.revision, c.template_hash
            );
        }
        for (name, p) in self.pods.values() {
            let owner = p
                .owner
                .as_ref()
                .and_then(|o| self.controllers.get(o))
                .map_or("-", |c| c.name.as_str());
            let _ = writeln!(
                s,
                "  pod {name} of {owner}: phase {:?}, ready since {:?}, available {}, deleting {}",
                p.phase,
                p.ready_since,
                p.available(inv.min_ready_seconds, now),
                p.deleting
            );
        }
        if let Some(d) = &self.deployment {
            let _ = writeln!(s, "  deployment status: {:?}", d.status);
        }
        s
    }
}

/// What a finished watch saw.
#[derive(Debug)]
pub struct RolloutReport {
    /// States replayed (one per event).
    pub states: usize,
    /// The most active pods seen at once.
    pub max_pods: usize,
    /// The fewest available pods seen once availability was first reached.
    pub min_available: Option<usize>,
}

/// A watch on a rollout in progress; [`Self::finish`] stops it and returns what it saw, or the
/// first violating state.
pub struct RolloutWatch {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<RolloutReport>>,
}

/// What to watch: the pods of `selector`, and ReplicaSets (with a Deployment) or
/// ReplicationControllers of the same selector.
pub enum Watched {
    /// A Deployment by name; its bounds come from its spec at each state.
    Deployment(String),
    /// ReplicationControllers matching the selector, with bounds given by the test.
    ReplicationControllers(Invariants),
}

type Stream = BoxStream<'static, anyhow::Result<(u64, Update)>>;

fn rv_of<K: Resource>(o: &K) -> u64 {
    o.meta()
        .resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

async fn stream_of<K, F>(
    api: Api<K>,
    params: WatchParams,
    from: String,
    map: F,
) -> anyhow::Result<Stream>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    F: Fn(&K, bool) -> Update + Send + 'static,
{
    let events = api.watch(&params, &from).await?;
    Ok(events
        .map_err(anyhow::Error::from)
        .try_filter_map(move |e| {
            let out = match e {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => Some((rv_of(&o), map(&o, true))),
                WatchEvent::Deleted(o) => Some((rv_of(&o), map(&o, false))),
                WatchEvent::Bookmark(_) => None,
                WatchEvent::Error(s) => {
                    return futures::future::ready(Err(anyhow::anyhow!("watch error: {s:?}")));
                }
            };
            futures::future::ready(Ok(out))
        })
        .boxed())
}

impl RolloutWatch {
    /// Start watching in the test's namespace: pods and controllers matching `selector`
    /// (`app=web`), and the Deployment if one is named.
    pub async fn start(
        ctx: &TestContext,
        selector: &str,
        watched: Watched,
    ) -> anyhow::Result<Self> {
        let ns = ctx.namespace.as_str();
        let lp = ListParams::default().labels(selector);
        let wp = WatchParams::default().labels(selector);
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
        let mut state = State::default();
        let mut streams: SelectAll<Stream> = SelectAll::new();
        let listed = pods.list(&lp).await.context("listing pods")?;
        for p in &listed.items {
            state
                .pods
                .insert(p.uid().unwrap_or_default(), (p.name_any(), PodView::of(p)));
        }
        let rv = listed.metadata.resource_version.clone().unwrap_or_default();
        streams.push(
            stream_of(pods, wp.clone(), rv, |p: &Pod, live| {
                Update::Pod(
                    p.uid().unwrap_or_default(),
                    p.name_any(),
                    live.then(|| PodView::of(p)),
                )
            })
            .await?,
        );
        let fixed = match &watched {
            Watched::Deployment(name) => {
                let rss: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
                let listed = rss.list(&lp).await.context("listing replicasets")?;
                for r in &listed.items {
                    state
                        .controllers
                        .insert(r.uid().unwrap_or_default(), rs_view(r));
                }
                let rv = listed.metadata.resource_version.clone().unwrap_or_default();
                streams.push(
                    stream_of(rss, wp.clone(), rv, |r: &ReplicaSet, live| {
                        Update::Controller(r.uid().unwrap_or_default(), live.then(|| rs_view(r)))
                    })
                    .await?,
                );
                let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
                let field = format!("metadata.name={name}");
                let listed = deployments
                    .list(&ListParams::default().fields(&field))
                    .await?;
                state.deployment = listed.items.into_iter().next();
                let rv = listed.metadata.resource_version.clone().unwrap_or_default();
                streams.push(
                    stream_of(
                        deployments,
                        WatchParams::default().fields(&field),
                        rv,
                        |d: &Deployment, live| {
                            Update::Deployment(live.then(|| Box::new(d.clone())))
                        },
                    )
                    .await?,
                );
                None
            }
            Watched::ReplicationControllers(inv) => {
                let rcs: Api<ReplicationController> = Api::namespaced(ctx.client.clone(), ns);
                let listed = rcs
                    .list(&lp)
                    .await
                    .context("listing replicationcontrollers")?;
                for r in &listed.items {
                    state
                        .controllers
                        .insert(r.uid().unwrap_or_default(), rc_view(r));
                }
                let rv = listed.metadata.resource_version.clone().unwrap_or_default();
                streams.push(
                    stream_of(rcs, wp, rv, |r: &ReplicationController, live| {
                        Update::Controller(r.uid().unwrap_or_default(), live.then(|| rc_view(r)))
                    })
                    .await?,
                );
                Some(*inv)
            }
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(replay(state, streams, fixed, stopped));
        Ok(Self {
            stop: Some(stop),
            task,
        })
    }

    /// Stop watching (after a last reorder window) and return the report, or the first state
    /// that broke an invariant.
    pub async fn finish(mut self) -> anyhow::Result<RolloutReport> {
        tokio::time::sleep(REORDER * 2).await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.context("the rollout watch panicked")?
    }
}

fn rs_view(r: &ReplicaSet) -> ControllerView {
    ControllerView {
        name: r.name_any(),
        replicas: r.spec.replicas.unwrap_or(1),
        revision: r.annotations().get(REVISION).and_then(|v| v.parse().ok()),
        template_hash: r.labels().get("pod-template-hash").cloned(),
    }
}

fn rc_view(r: &ReplicationController) -> ControllerView {
    ControllerView {
        name: r.name_any(),
        replicas: r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        revision: None,
        template_hash: None,
    }
}

/// Merge the streams in resourceVersion order and check every state.
async fn replay(
    mut state: State,
    mut streams: SelectAll<Stream>,
    fixed: Option<Invariants>,
    mut stopped: oneshot::Receiver<()>,
) -> anyhow::Result<RolloutReport> {
    // Pending events: (resourceVersion, arrival order) → (arrival time, update).
    let mut pending: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let mut updates: BTreeMap<u64, (Instant, Update, String)> = BTreeMap::new();
    let mut seq = 0u64;
    state.check(fixed, "the initial list");
    let mut stopping = false;
    loop {
        // Release events older than the reorder window (all of them when stopping).
        while let Some(Reverse((_, id))) = pending.peek().copied() {
            let ready = updates
                .get(&id)
                .is_some_and(|(at, _, _)| stopping || at.elapsed() >= REORDER);
            if !ready {
                break;
            }
            pending.pop();
            let (_, update, label) = updates.remove(&id).expect("queued");
            state.apply(update);
            state.check(fixed, &label);
        }
        if stopping {
            break;
        }
        let tick = tokio::time::sleep(REORDER / 3);
        tokio::select! {
            _ = &mut stopped => stopping = true,
            next = streams.next() => match next {
                Some(Ok((rv, update))) => {
                    seq += 1;
                    let label = match &update {
                        Update::Pod(_, name, v) => format!("pod {name} {} at rv {rv}", if v.is_some() { "changed" } else { "deleted" }),
                        Update::Controller(uid, v) => format!("controller {} ({uid}) {} at rv {rv}",
                            v.as_ref().map_or("?", |c| c.name.as_str()), if v.is_some() { "changed" } else { "deleted" }),
                        Update::Deployment(_) => format!("deployment changed at rv {rv}"),
                    };
                    pending.push(Reverse((rv, seq)));
                    updates.insert(seq, (Instant::now(), update, label));
                }
                Some(Err(e)) => bail!("a rollout watch failed: {e:#}"),
                None => bail!("the rollout watches ended"),
            },
            _ = tick => {}
        }
    }
    if let Some(v) = state.violation {
        bail!("{v}");
    }
    Ok(RolloutReport {
        states: state.states,
        max_pods: state.max_pods,
        min_available: state.min_available,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        let pct = |s: &str| IntOrString::String(s.into());
        assert_eq!(resolve_fenceposts(&pct("25%"), &pct("25%"), 10), (3, 2));
        assert_eq!(
            resolve_fenceposts(&IntOrString::Int(0), &IntOrString::Int(0), 10),
            (0, 1)
        );
        assert_eq!(resolve_fenceposts(&pct("0%"), &pct("10%"), 5), (0, 1));
        assert_eq!(
            resolve_fenceposts(&IntOrString::Int(2), &pct("50%"), 3),
            (2, 1)
        );
    }
}
