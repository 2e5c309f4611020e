//! Running a profile's plugins at each extension point (upstream `framework/runtime`
//! `frameworkImpl`): the plugins of each point in configuration order, score weights, Skip
//! bookkeeping, status attribution, sampled per-plugin metrics, and the nominated-pods double
//! filter pass that preemption relies on.
//!
//! A [`Framework`] is built from a resolved profile ([`super::super::config::Profile`]) by
//! [`Framework::new`], which expands `multiPoint` as upstream's `expandMultiPointPlugins` does.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::cycle_state::CycleState;
use super::handle::Handle;
use super::interface::*;
use super::node_info::NodeInfo;
use super::pod_info::PodInfo;
use super::snapshot::Snapshot;
use super::status::{Code, Status};
use crate::scheduler::config::{PluginSet, Profile};
use crate::scheduler::metrics::{SchedulerMetrics, intern, point};

/// The longest a Permit plugin may hold a pod (upstream `maxTimeout`, 15 minutes).
pub const MAX_PERMIT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Where the runtime finds pods nominated to nodes (the scheduling queue's nominator).
pub trait PodNominator: Send + Sync {
    /// Pods nominated to `node`.
    fn nominated_pods(&self, node: &str) -> Vec<Arc<PodInfo>>;
}

impl PodNominator for crate::scheduler::queue::SchedulingQueue {
    fn nominated_pods(&self, node: &str) -> Vec<Arc<PodInfo>> {
        crate::scheduler::queue::SchedulingQueue::nominated_pods(self, node)
    }
}

/// The extension points a plugin can be configured at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    PreEnqueue,
    QueueSort,
    PreFilter,
    Filter,
    PostFilter,
    PreScore,
    Score,
    Reserve,
    Permit,
    PreBind,
    Bind,
    PostBind,
}

impl Point {
    /// Every point, in upstream's order.
    pub const ALL: [Point; 12] = [
        Point::PreEnqueue,
        Point::QueueSort,
        Point::PreFilter,
        Point::Filter,
        Point::PostFilter,
        Point::PreScore,
        Point::Score,
        Point::Reserve,
        Point::Permit,
        Point::PreBind,
        Point::Bind,
        Point::PostBind,
    ];

    /// Upstream's interface name, as its configuration errors print it.
    pub fn type_name(self) -> &'static str {
        match self {
            Point::PreEnqueue => "PreEnqueuePlugin",
            Point::QueueSort => "QueueSortPlugin",
            Point::PreFilter => "PreFilterPlugin",
            Point::Filter => "FilterPlugin",
            Point::PostFilter => "PostFilterPlugin",
            Point::PreScore => "PreScorePlugin",
            Point::Score => "ScorePlugin",
            Point::Reserve => "ReservePlugin",
            Point::Permit => "PermitPlugin",
            Point::PreBind => "PreBindPlugin",
            Point::Bind => "BindPlugin",
            Point::PostBind => "PostBindPlugin",
        }
    }

    /// Whether `p` implements this point.
    pub fn implemented_by(self, p: &dyn Plugin) -> bool {
        match self {
            Point::PreEnqueue => p.as_pre_enqueue().is_some(),
            Point::QueueSort => p.as_queue_sort().is_some(),
            Point::PreFilter => p.as_pre_filter().is_some(),
            Point::Filter => p.as_filter().is_some(),
            Point::PostFilter => p.as_post_filter().is_some(),
            Point::PreScore => p.as_pre_score().is_some(),
            Point::Score => p.as_score().is_some(),
            Point::Reserve => p.as_reserve().is_some(),
            Point::Permit => p.as_permit().is_some(),
            Point::PreBind => p.as_pre_bind().is_some(),
            Point::Bind => p.as_bind().is_some(),
            // No PostBind trait yet: nothing implements it.
            Point::PostBind => false,
        }
    }
}

/// Plugins as the runtime keeps them: the plugin and its name.
type Plugins = Vec<Arc<dyn Plugin>>;

/// One profile's plugins, ready to run.
pub struct Framework {
    profile: &'static str,
    percentage_of_nodes_to_score: Option<i32>,
    handle: Handle,
    metrics: Arc<SchedulerMetrics>,
    nominator: OnceLock<Arc<dyn PodNominator>>,
    /// Every plugin instantiated for this profile, by name.
    instances: HashMap<&'static str, Arc<dyn Plugin>>,
    pre_enqueue: Plugins,
    queue_sort: Option<Arc<dyn Plugin>>,
    pre_filter: Plugins,
    filter: Plugins,
    post_filter: Plugins,
    pre_score: Plugins,
    /// Score plugins with their weights.
    score: Vec<(Arc<dyn Plugin>, i64)>,
    reserve: Plugins,
    permit: Plugins,
    pre_bind: Plugins,
    bind: Plugins,
}

impl std::fmt::Debug for Framework {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: &Plugins| v.iter().map(|p| p.name()).collect::<Vec<_>>();
        f.debug_struct("Framework")
            .field("profile", &self.profile)
            .field("filter", &names(&self.filter))
            .field(
                "score",
                &self
                    .score
                    .iter()
                    .map(|(p, w)| (p.name(), *w))
                    .collect::<Vec<_>>(),
            )
            .field("bind", &names(&self.bind))
            .finish_non_exhaustive()
    }
}

impl Framework {
    /// Build a profile's framework: instantiate every plugin it names through `registry`
    /// (with its `pluginConfig` args), then lay the plugins out per extension point as
    /// upstream's `NewFramework` + `expandMultiPointPlugins`, and take the score weights.
    pub fn new(
        profile: &Profile,
        registry: &[(&'static str, PluginFactory)],
        handle: Handle,
        metrics: Arc<SchedulerMetrics>,
    ) -> Result<Self, String> {
        let mut names: Vec<&str> = Vec::new();
        for set in std::iter::once(&profile.plugins.multi_point)
            .chain(Point::ALL.iter().map(|p| profile.plugins.get(*p)))
        {
            for p in &set.enabled {
                if !names.contains(&p.name.as_str()) {
                    names.push(&p.name);
                }
            }
        }
        let mut instances: HashMap<&'static str, Arc<dyn Plugin>> = HashMap::new();
        for name in &names {
            let Some((static_name, factory)) = registry.iter().find(|(n, _)| n == name) else {
                return Err(format!("plugin {name:?} does not exist"));
            };
            let args = profile
                .plugin_config
                .iter()
                .find(|c| c.name == *name)
                .map(|c| c.args.clone())
                .unwrap_or(serde_json::Value::Null);
            let p = factory(&args, &handle)
                .map_err(|e| format!("initializing plugin {name:?}: {e}"))?;
            instances.insert(static_name, p);
        }
        for c in &profile.plugin_config {
            if !names.contains(&c.name.as_str()) && registry.iter().all(|(n, _)| *n != c.name) {
                return Err(format!(
                    "pluginConfig names plugin {:?}, which does not exist",
                    c.name
                ));
            }
        }

        let mut layout: HashMap<Point, Plugins> = HashMap::new();
        for point in Point::ALL {
            let list = expand_point(
                point,
                profile.plugins.get(point),
                &profile.plugins.multi_point,
                &instances,
            )?;
            layout.insert(point, list);
        }
        let mut take = |p: Point| layout.remove(&p).unwrap_or_default();
        let queue_sort = take(Point::QueueSort);
        if queue_sort.len() > 1 {
            return Err(format!(
                "only one queue sort plugin required for profile with scheduler name {:?}, but got {}",
                profile.scheduler_name,
                queue_sort.len()
            ));
        }
        let bind = take(Point::Bind);
        if bind.is_empty() {
            return Err(format!(
                "at least one bind plugin is needed for profile with scheduler name {:?}",
                profile.scheduler_name
            ));
        }
        let score_plugins = take(Point::Score);
        let weights = score_weights(profile, &score_plugins)?;
        let score = score_plugins
            .into_iter()
            .map(|p| {
                let w = weights.get(p.name()).copied().unwrap_or(1);
                (p, w)
            })
            .collect();
        Ok(Self {
            profile: intern(&profile.scheduler_name),
            percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score,
            handle,
            metrics,
            nominator: OnceLock::new(),
            instances,
            pre_enqueue: take(Point::PreEnqueue),
            queue_sort: queue_sort.into_iter().next(),
            pre_filter: take(Point::PreFilter),
            filter: take(Point::Filter),
            post_filter: take(Point::PostFilter),
            pre_score: take(Point::PreScore),
            score,
            reserve: take(Point::Reserve),
            permit: take(Point::Permit),
            pre_bind: take(Point::PreBind),
            bind,
        })
    }

    /// Where nominated pods come from (set once the queue exists).
    pub fn set_nominator(&self, nominator: Arc<dyn PodNominator>) {
        let _ = self.nominator.set(nominator);
    }

    /// The profile's scheduler name.
    pub fn profile_name(&self) -> &'static str {
        self.profile
    }

    /// The profile's `percentageOfNodesToScore`, if it sets one.
    pub fn percentage_of_nodes_to_score(&self) -> Option<i32> {
        self.percentage_of_nodes_to_score
    }

    /// The plugins' handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The QueueSort plugin (none when it is not built yet).
    pub fn queue_sort(&self) -> Option<&Arc<dyn Plugin>> {
        self.queue_sort.as_ref()
    }

    /// The PreEnqueue plugins, with their names.
    pub fn pre_enqueue_plugins(&self) -> Vec<(&'static str, Arc<dyn Plugin>)> {
        self.pre_enqueue
            .iter()
            .map(|p| (p.name(), p.clone()))
            .collect()
    }

    /// Every instantiated plugin, by name (for the queue's event registrations).
    pub fn plugins(&self) -> impl Iterator<Item = (&'static str, &Arc<dyn Plugin>)> {
        self.instances.iter().map(|(k, v)| (*k, v))
    }

    /// Whether any Filter plugin is configured.
    pub fn has_filter_plugins(&self) -> bool {
        !self.filter.is_empty()
    }

    /// Whether any Score plugin is configured.
    pub fn has_score_plugins(&self) -> bool {
        !self.score.is_empty()
    }

    /// Whether any PostFilter plugin is configured.
    pub fn has_post_filter_plugins(&self) -> bool {
        !self.post_filter.is_empty()
    }

    /// Names of the Filter plugins in order.
    pub fn filter_names(&self) -> Vec<&'static str> {
        self.filter.iter().map(|p| p.name()).collect()
    }

    /// Score plugins' names and weights in order.
    pub fn score_weights(&self) -> Vec<(&'static str, i64)> {
        self.score.iter().map(|(p, w)| (p.name(), *w)).collect()
    }

    pub fn observe_extension_point(&self, point: &'static str, status: Code, started: Instant) {
        self.metrics
            .extension_point(point, self.profile, status.as_str(), started.elapsed());
    }

    fn observe_plugin(&self, point: &'static str, plugin: &'static str, code: Code, t: Instant) {
        self.metrics
            .plugin(point, plugin, code.as_str(), t.elapsed());
    }

    /// Run the PreFilter plugins (upstream `RunPreFilterPlugins`): merges their results,
    /// records Skips in `state.skip_filter`, stops at the first UnschedulableAndUnresolvable
    /// or error, and runs on past an Unschedulable so preemption sees every plugin's state.
    /// Returns the merged result, the status, and the plugins that narrowed the nodes.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status, Vec<&'static str>) {
        let started = Instant::now();
        state.skip_filter.clear();
        let (result, status, with_nodes) = self.pre_filter_inner(state, pod, snapshot);
        self.observe_extension_point(point::PRE_FILTER, status.code(), started);
        (result, status, with_nodes)
    }

    fn pre_filter_inner(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (Option<PreFilterResult>, Status, Vec<&'static str>) {
        let mut result: Option<PreFilterResult> = None;
        let mut with_nodes: Vec<&'static str> = Vec::new();
        let mut returned = Status::success();
        for p in &self.pre_filter {
            let pf = p.as_pre_filter().expect("laid out as PreFilter");
            let t = state.record_plugin_metrics.then(Instant::now);
            let (r, s) = pf.pre_filter(state, pod, snapshot);
            if let Some(t) = t {
                self.observe_plugin(point::PRE_FILTER, p.name(), s.code(), t);
            }
            if s.is_skip() {
                state.skip_filter.push(p.name());
                continue;
            }
            if !s.is_success() {
                let s = s.with_plugin(p.name());
                match s.code() {
                    Code::UnschedulableAndUnresolvable => return (None, s, Vec::new()),
                    Code::Unschedulable => {
                        returned = s;
                        continue;
                    }
                    _ => {
                        let msg =
                            format!("running PreFilter plugin {:?}: {}", p.name(), s.message());
                        return (None, Status::error(msg).with_plugin(p.name()), Vec::new());
                    }
                }
            }
            let Some(r) = r.filter(|r| r.node_names.is_some()) else {
                continue;
            };
            with_nodes.push(p.name());
            result = Some(merge(result, r));
            if let Some(PreFilterResult {
                node_names: Some(names),
            }) = &result
                && names.is_empty()
            {
                let mut sorted = with_nodes.clone();
                sorted.sort_unstable();
                let msg = if sorted.len() == 1 {
                    format!("node(s) didn't satisfy plugin {}", sorted[0])
                } else {
                    format!(
                        "node(s) didn't satisfy plugin(s) [{}] simultaneously",
                        sorted.join(" ")
                    )
                };
                return (result, Status::unresolvable(msg), with_nodes);
            }
        }
        (result, returned, with_nodes)
    }

    /// The indexes of the Filter plugins that run this cycle (not skipped by PreFilter), so
    /// the per-node loop does not compare names.
    pub fn active_filters(&self, state: &CycleState) -> Vec<usize> {
        (0..self.filter.len())
            .filter(|&i| !state.skip_filter.contains(&self.filter[i].name()))
            .collect()
    }

    /// Run the active Filter plugins on one node (upstream `RunFilterPlugins`): stop at the
    /// first rejection and attribute it to its plugin. No allocation when the node fits.
    pub fn run_filters_on(
        &self,
        active: &[usize],
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
    ) -> Status {
        for &i in active {
            let p = &self.filter[i];
            let f = p.as_filter().expect("laid out as Filter");
            let s = if state.record_plugin_metrics {
                let t = Instant::now();
                let s = f.filter(state, pod, node);
                self.observe_plugin(point::FILTER, p.name(), s.code(), t);
                s
            } else {
                f.filter(state, pod, node)
            };
            if !s.is_success() {
                if !s.is_rejected() {
                    let msg = format!("running {:?} filter plugin: {}", p.name(), s.message());
                    return Status::error(msg).with_plugin(p.name());
                }
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Filters with higher-or-equal-priority pods nominated to the node counted as running,
    /// and, if that passes, again without them (upstream `RunFilterPluginsWithNominatedPods`):
    /// a conservative decision that holds whether or not the nominated pods land.
    pub fn run_filters_with_nominated_pods(
        &self,
        active: &[usize],
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
    ) -> Status {
        let nominated = match self.nominator.get() {
            Some(n) => n.nominated_pods(&node.name),
            None => Vec::new(),
        };
        if nominated.is_empty() {
            return self.run_filters_on(active, state, pod, node);
        }
        let mut node_out = node.clone();
        let mut state_out = state.clone();
        let mut added = false;
        for np in &nominated {
            if np.priority >= pod.priority && np.uid != pod.uid {
                node_out.add_pod(np.clone());
                let s = self.run_pre_filter_add_pod(&mut state_out, pod, np, &node_out);
                if !s.is_success() {
                    return s;
                }
                added = true;
            }
        }
        if !added {
            return self.run_filters_on(active, state, pod, node);
        }
        let s = self.run_filters_on(active, &state_out, pod, &node_out);
        if !s.is_success() {
            return s;
        }
        self.run_filters_on(active, state, pod, node)
    }

    /// Run the PostFilter plugins (upstream `RunPostFilterPlugins`): the first success,
    /// error or UnschedulableAndUnresolvable ends it; otherwise the reasons add up.
    pub fn run_post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        statuses: &NodeToStatus,
    ) -> (Option<PostFilterResult>, Status) {
        let started = Instant::now();
        let mut result = None;
        let mut reasons = Vec::new();
        let mut rejector = "";
        let mut out = None;
        for p in &self.post_filter {
            let pf = p.as_post_filter().expect("laid out as PostFilter");
            let t = state.record_plugin_metrics.then(Instant::now);
            let (r, s) = pf.post_filter(state, pod, snapshot, statuses, self);
            if let Some(t) = t {
                self.observe_plugin(point::POST_FILTER, p.name(), s.code(), t);
            }
            if s.is_success() {
                out = Some((r, s));
                break;
            }
            if s.code() == Code::UnschedulableAndUnresolvable {
                out = Some((r, s.with_plugin(p.name())));
                break;
            }
            if !s.is_rejected() {
                out = Some((None, Status::error(s.message()).with_plugin(p.name())));
                break;
            }
            if r.as_ref()
                .is_some_and(|r| !r.nominated_node_name.is_empty())
            {
                result = r;
            }
            reasons.extend(s.reasons().iter().cloned());
            if rejector.is_empty() {
                rejector = p.name();
            }
        }
        let (r, s) = out.unwrap_or_else(|| {
            (
                result,
                Status::with_reasons(Code::Unschedulable, reasons).with_plugin(rejector),
            )
        });
        self.observe_extension_point(point::POST_FILTER, s.code(), started);
        (r, s)
    }

    /// Run the PreScore plugins (upstream `RunPreScorePlugins`), recording Skips in
    /// `state.skip_score`.
    pub fn run_pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status {
        let started = Instant::now();
        state.skip_score.clear();
        let mut status = Status::success();
        for p in &self.pre_score {
            let ps = p.as_pre_score().expect("laid out as PreScore");
            let t = state.record_plugin_metrics.then(Instant::now);
            let s = ps.pre_score(state, pod, nodes, snapshot);
            if let Some(t) = t {
                self.observe_plugin(point::PRE_SCORE, p.name(), s.code(), t);
            }
            if s.is_skip() {
                state.skip_score.push(p.name());
                continue;
            }
            if !s.is_success() {
                status = Status::error(format!(
                    "running PreScore plugin {:?}: {}",
                    p.name(),
                    s.message()
                ))
                .with_plugin(p.name());
                break;
            }
        }
        self.observe_extension_point(point::PRE_SCORE, status.code(), started);
        status
    }

    /// Run the Score plugins over `nodes`, normalize, apply weights (upstream
    /// `RunScorePlugins`): the weighted total of each node, in `nodes`' order, into `totals`.
    pub fn run_score(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        totals: &mut Vec<i64>,
    ) -> Status {
        let started = Instant::now();
        let status = self.score_inner(state, pod, nodes, totals);
        self.observe_extension_point(point::SCORE, status.code(), started);
        status
    }

    fn score_inner(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        totals: &mut Vec<i64>,
    ) -> Status {
        totals.clear();
        totals.resize(nodes.len(), 0);
        let mut scores: Vec<i64> = Vec::with_capacity(nodes.len());
        let mut listed: Vec<NodeScore<'_>> = Vec::with_capacity(nodes.len());
        for (p, weight) in &self.score {
            if state.skip_score.contains(&p.name()) {
                continue;
            }
            let sp = p.as_score().expect("laid out as Score");
            scores.clear();
            let t = state.record_plugin_metrics.then(Instant::now);
            for n in nodes {
                let (score, s) = sp.score(state, pod, n);
                if !s.is_success() {
                    return Status::error(format!(
                        "running Score plugins: plugin {:?} failed with: {}",
                        p.name(),
                        s.message()
                    ));
                }
                scores.push(score);
            }
            if let Some(t) = t {
                self.observe_plugin(point::SCORE, p.name(), Code::Success, t);
            }
            let final_scores: &[i64] = if sp.has_normalize() {
                listed.clear();
                listed.extend(nodes.iter().zip(&scores).map(|(n, s)| NodeScore {
                    name: &n.name,
                    score: *s,
                }));
                let t = state.record_plugin_metrics.then(Instant::now);
                let s = sp.normalize(state, pod, &mut listed);
                if let Some(t) = t {
                    self.observe_plugin(point::NORMALIZE, p.name(), s.code(), t);
                }
                if !s.is_success() {
                    return Status::error(format!(
                        "running Normalize on Score plugins: plugin {:?} failed with: {}",
                        p.name(),
                        s.message()
                    ));
                }
                scores.clear();
                scores.extend(listed.iter().map(|s| s.score));
                &scores
            } else {
                &scores
            };
            for (i, score) in final_scores.iter().enumerate() {
                if !(MIN_NODE_SCORE..=MAX_NODE_SCORE).contains(score) {
                    return Status::error(format!(
                        "applying score defaultWeights on Score plugins: plugin {:?} returns an invalid score {score}, it should in the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing",
                        p.name()
                    ));
                }
                totals[i] += score * weight;
            }
        }
        Status::success()
    }

    /// Run the Reserve plugins (upstream `RunReservePluginsReserve`).
    pub fn run_reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status {
        let started = Instant::now();
        let mut status = Status::success();
        for p in &self.reserve {
            let r = p.as_reserve().expect("laid out as Reserve");
            let s = r.reserve(state, pod, node);
            if !s.is_success() {
                status = if s.is_rejected() {
                    s.with_plugin(p.name())
                } else {
                    Status::error(format!(
                        "running Reserve plugin {:?}: {}",
                        p.name(),
                        s.message()
                    ))
                    .with_plugin(p.name())
                };
                break;
            }
        }
        self.observe_extension_point(point::RESERVE, status.code(), started);
        status
    }

    /// Run every Reserve plugin's Unreserve, in reverse order (upstream
    /// `RunReservePluginsUnreserve`).
    pub fn run_unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) {
        let started = Instant::now();
        for p in self.reserve.iter().rev() {
            p.as_reserve()
                .expect("laid out as Reserve")
                .unreserve(state, pod, node);
        }
        self.observe_extension_point(point::UNRESERVE, Code::Success, started);
    }

    /// Run the Permit plugins (upstream `RunPermitPlugins`). A Wait comes back as
    /// `(Wait status, the shortest timeout)`, capped at [`MAX_PERMIT_TIMEOUT`].
    pub fn run_permit(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        node: &str,
    ) -> (Status, Duration) {
        let started = Instant::now();
        let mut wait: Option<(Status, Duration)> = None;
        let mut out = None;
        for p in &self.permit {
            let (s, timeout) = p
                .as_permit()
                .expect("laid out as Permit")
                .permit(state, pod, node);
            if s.is_success() {
                continue;
            }
            if s.is_rejected() {
                out = Some((s.with_plugin(p.name()), Duration::ZERO));
                break;
            }
            if s.code() == Code::Wait {
                let timeout = timeout.min(MAX_PERMIT_TIMEOUT);
                if wait.as_ref().is_none_or(|(_, t)| timeout < *t) {
                    wait = Some((s.with_plugin(p.name()), timeout));
                }
                continue;
            }
            out = Some((
                Status::error(format!(
                    "running Permit plugin {:?}: {}",
                    p.name(),
                    s.message()
                ))
                .with_plugin(p.name()),
                Duration::ZERO,
            ));
            break;
        }
        let out = out.or(wait).unwrap_or((Status::success(), Duration::ZERO));
        self.observe_extension_point(point::PERMIT, out.0.code(), started);
        out
    }

    /// Run the PreBind plugins (upstream `RunPreBindPlugins`).
    pub fn run_pre_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        let started = Instant::now();
        let mut status = Status::success();
        for p in &self.pre_bind {
            let s = p
                .as_pre_bind()
                .expect("laid out as PreBind")
                .pre_bind(state, pod, node);
            if !s.is_success() {
                status = if s.is_rejected() {
                    s.with_plugin(p.name())
                } else {
                    Status::error(format!(
                        "running PreBind plugin {:?}: {}",
                        p.name(),
                        s.message()
                    ))
                    .with_plugin(p.name())
                };
                break;
            }
        }
        self.observe_extension_point(point::PRE_BIND, status.code(), started);
        status
    }

    /// Run the Bind plugins until one does not Skip (upstream `RunBindPlugins`).
    pub fn run_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        let started = Instant::now();
        let mut status = Status::skip();
        for p in &self.bind {
            let s = p
                .as_bind()
                .expect("laid out as Bind")
                .bind(state, pod, node);
            if s.is_skip() {
                continue;
            }
            status = if s.is_success() || s.is_rejected() {
                s.with_plugin(p.name())
            } else {
                Status::error(format!(
                    "running Bind plugin {:?}: {}",
                    p.name(),
                    s.message()
                ))
                .with_plugin(p.name())
            };
            break;
        }
        self.observe_extension_point(point::BIND, status.code(), started);
        status
    }

    fn run_pre_filter_extension(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &Arc<PodInfo>,
        node: &NodeInfo,
        add: bool,
    ) -> Status {
        for p in &self.pre_filter {
            let pf = p.as_pre_filter().expect("laid out as PreFilter");
            if !pf.has_extensions() || state.skip_filter.contains(&p.name()) {
                continue;
            }
            let s = if add {
                pf.add_pod(state, pod, other, node)
            } else {
                pf.remove_pod(state, pod, other, node)
            };
            if !s.is_success() {
                let op = if add { "AddPod" } else { "RemovePod" };
                return Status::error(format!(
                    "running {op} on PreFilter plugin {:?}: {}",
                    p.name(),
                    s.message()
                ));
            }
        }
        Status::success()
    }
}

impl FilterRunner for Framework {
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let active = self.active_filters(state);
        self.run_filters_with_nominated_pods(&active, state, pod, node)
    }

    fn run_pre_filter_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_add: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        self.run_pre_filter_extension(state, pod, to_add, node, true)
    }

    fn run_pre_filter_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        to_remove: &Arc<PodInfo>,
        node: &NodeInfo,
    ) -> Status {
        self.run_pre_filter_extension(state, pod, to_remove, node, false)
    }

    fn nominated_pods(&self, node: &str) -> Vec<Arc<PodInfo>> {
        self.nominator
            .get()
            .map(|n| n.nominated_pods(node))
            .unwrap_or_default()
    }
}

/// Upstream `PreFilterResult.Merge`: the intersection of the node sets.
fn merge(a: Option<PreFilterResult>, b: PreFilterResult) -> PreFilterResult {
    match (a.and_then(|a| a.node_names), b.node_names) {
        (Some(x), Some(y)) => PreFilterResult {
            node_names: Some(x.intersection(&y).cloned().collect()),
        },
        (Some(x), None) | (None, Some(x)) => PreFilterResult {
            node_names: Some(x),
        },
        (None, None) => PreFilterResult::default(),
    }
}

/// The plugins of one extension point (upstream `updatePluginList` for the point's own list,
/// then `expandMultiPointPlugins`): plugins the point re-configures first (in the point's
/// order), then multiPoint plugins, then the point's other plugins.
fn expand_point(
    point: Point,
    own: &PluginSet,
    multi: &PluginSet,
    instances: &HashMap<&'static str, Arc<dyn Plugin>>,
) -> Result<Plugins, String> {
    let mut enabled: Vec<&str> = Vec::new();
    for p in &own.enabled {
        let Some(pl) = instances.get(p.name.as_str()) else {
            return Err(format!("{} {:?} does not exist", point.type_name(), p.name));
        };
        if !point.implemented_by(pl.as_ref()) {
            return Err(format!(
                "plugin {:?} does not extend {} plugin",
                p.name,
                point.type_name()
            ));
        }
        if enabled.contains(&p.name.as_str()) {
            return Err(format!(
                "plugin {:?} already registered as {:?}",
                p.name,
                point.type_name()
            ));
        }
        enabled.push(&p.name);
    }
    let disabled: HashSet<&str> = own.disabled.iter().map(|p| p.name.as_str()).collect();
    let get = |n: &str| instances[n].clone();
    if disabled.contains("*") {
        return Ok(enabled.into_iter().map(get).collect());
    }
    let mut overrides: Vec<&str> = Vec::new();
    let mut from_multi: Vec<&str> = Vec::new();
    for p in &multi.enabled {
        let Some(pl) = instances.get(p.name.as_str()) else {
            return Err(format!("{} {:?} does not exist", point.type_name(), p.name));
        };
        if !point.implemented_by(pl.as_ref()) || disabled.contains(p.name.as_str()) {
            continue;
        }
        if enabled.contains(&p.name.as_str()) {
            overrides.push(&p.name);
            continue;
        }
        if from_multi.contains(&p.name.as_str()) {
            return Err(format!(
                "plugin {:?} already registered as {:?}",
                p.name,
                point.type_name()
            ));
        }
        from_multi.push(&p.name);
    }
    let mut out: Plugins = Vec::new();
    out.extend(
        enabled
            .iter()
            .filter(|n| overrides.contains(n))
            .map(|n| get(n)),
    );
    out.extend(from_multi.iter().map(|n| get(n)));
    out.extend(
        enabled
            .iter()
            .filter(|n| !overrides.contains(n))
            .map(|n| get(n)),
    );
    Ok(out)
}

/// Score weights (upstream `getScoreWeights`): a Score-point weight wins over a multiPoint
/// one; an unset or zero weight is 1; the total must not overflow.
fn score_weights(profile: &Profile, scorers: &Plugins) -> Result<HashMap<String, i64>, String> {
    const MAX_TOTAL_SCORE: i64 = i64::MAX;
    let mut weights: HashMap<String, i64> = HashMap::new();
    let mut total: i64 = 0;
    for p in profile
        .plugins
        .score
        .enabled
        .iter()
        .chain(&profile.plugins.multi_point.enabled)
    {
        if !scorers.iter().any(|s| s.name() == p.name) || weights.contains_key(&p.name) {
            continue;
        }
        let w = match p.weight.unwrap_or(0) {
            0 => 1,
            w => w as i64,
        };
        if w.saturating_mul(MAX_NODE_SCORE) > MAX_TOTAL_SCORE - total {
            return Err("total score of Score plugins could overflow".to_string());
        }
        total += w * MAX_NODE_SCORE;
        weights.insert(p.name.clone(), w);
    }
    Ok(weights)
}

#[cfg(test)]
#[path = "../runtime_tests.rs"]
mod tests;
