//! Scheduler hot-path micro-benchmarks: one scheduling cycle (`Algorithm::schedule_pod`:
//! PreFilter, Filter over the sampled nodes, PreScore, Score, NormalizeScore, selection) with the
//! default profile, over snapshots of 500, 5,000 and 15,000 nodes; the snapshot refresh after
//! one pod is assumed; and the queue's add + pop.
//!
//! Pods and nodes come from the scenario workloads (`bench/workloads/scheduler/*.yaml`, upstream
//! scheduler_perf's templates): each case takes its workload's nodes and non-measured (init)
//! pods, scaled to the node count, and schedules one pod of the measured template. Init pods
//! are spread round-robin over the nodes in the cache's order, as the default scorers would
//! spread them.
//!
//! Goal (issue 4): a basic pod's cycle over 5,000 nodes ≤ 20 µs. Figures: docs/benchmarks.md,
//! "Scheduler hot path".
//!
//! Run: `cargo bench -p bench --bench scheduler` (about 3 minutes), or one group with a filter,
//! e.g. `cargo bench -p bench --bench scheduler -- 'cycle/basic'`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group};
use harness::scheduler_perf::executor::node_object;
use harness::scheduler_perf::{Op, catalog, select};
use orchestrator::scheduler::SchedulerMetrics;
use orchestrator::scheduler::cache::Cache;
use orchestrator::scheduler::framework::runtime::Framework;
use orchestrator::scheduler::framework::{CycleState, Handle, PodInfo, Snapshot, testing};
use orchestrator::scheduler::queue::{QueueConfig, SchedulingQueue};
use orchestrator::scheduler::schedule_one::Algorithm;
use orchestrator::scheduler::{KubeSchedulerConfiguration, plugins};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The node count the workloads' large tiers are written for; init pods scale from it.
const TIER_NODES: u64 = 5_000;

/// A benchmark case: a name, the workload whose shapes it takes, and the node counts run.
struct Case {
    name: &'static str,
    workload: &'static str,
    nodes: &'static [usize],
}

const CASES: &[Case] = &[
    Case {
        name: "basic",
        workload: "SchedulingBasic",
        nodes: &[500, 5_000, 15_000],
    },
    Case {
        name: "node_affinity",
        workload: "SchedulingNodeAffinity",
        nodes: &[500, 5_000],
    },
    Case {
        name: "pod_anti_affinity",
        workload: "SchedulingPodAntiAffinity",
        nodes: &[500, 5_000],
    },
    Case {
        name: "pod_affinity",
        workload: "SchedulingPodAffinity",
        nodes: &[500, 5_000],
    },
    Case {
        name: "topology_spread",
        workload: "TopologySpreading",
        nodes: &[500, 5_000, 15_000],
    },
];

/// A pod as the API server stores it from a workload template: named, in its namespace, with
/// what admission adds that the scheduler reads (DefaultTolerationSeconds' tolerations).
fn pod_value(template: &Value, name: &str, namespace: &str, node: Option<&str>) -> Value {
    let mut pod = template.clone();
    pod["apiVersion"] = "v1".into();
    pod["kind"] = "Pod".into();
    let meta = pod["metadata"]
        .as_object_mut()
        .expect("templates have metadata");
    meta.remove("generateName");
    meta.insert("name".into(), name.into());
    meta.insert("namespace".into(), namespace.into());
    meta.insert("uid".into(), format!("{namespace}/{name}").into());
    meta.insert("creationTimestamp".into(), "2026-01-01T00:00:00Z".into());
    if pod["spec"]["tolerations"].is_null() {
        pod["spec"]["tolerations"] = json!([
            { "key": "node.kubernetes.io/not-ready", "operator": "Exists",
              "effect": "NoExecute", "tolerationSeconds": 300 },
            { "key": "node.kubernetes.io/unreachable", "operator": "Exists",
              "effect": "NoExecute", "tolerationSeconds": 300 }
        ]);
    }
    pod["spec"]["schedulerName"] = "default-scheduler".into();
    pod["spec"]["priority"] = 0.into();
    if let Some(node) = node {
        pod["spec"]["nodeName"] = node.into();
        pod["status"] = json!({ "phase": "Running" });
    }
    pod
}

/// A cluster in the shape of one workload at `nodes` nodes, in the scheduler's cache.
struct Cluster {
    cache: Cache,
    snapshot: Snapshot,
    /// The measured template's pod (unbound), in its namespace.
    incoming: Arc<PodInfo>,
    /// The measured template, to make more pods like `incoming`.
    template: Value,
    namespace: String,
}

impl Cluster {
    fn new(workload: &str, nodes: usize) -> Self {
        let cases = catalog(&[]).expect("the embedded workloads parse");
        let (case, tier) = select(&cases, workload).expect("the workload exists");
        let mut overrides = BTreeMap::new();
        overrides.insert("initNodes".to_string(), nodes as u64);
        if let Some(&init) = tier.params.get("initPods") {
            let scaled = init * nodes as u64 / TIER_NODES;
            overrides.insert("initPods".to_string(), scaled.max(1));
        }
        let ops = case.resolve(tier, &overrides).expect("the tier resolves");
        let cache = Cache::new();
        let mut names: Vec<String> = Vec::new();
        let mut incoming = None;
        for op in &ops {
            match op {
                Op::CreateNodes { count, template } => {
                    for i in 0..*count {
                        let name = format!("node-{}", names.len());
                        let node = node_object(&name, i, template);
                        cache
                            .set_node(testing::stored(&node))
                            .expect("the node parses");
                        names.push(name);
                    }
                }
                Op::CreatePods {
                    count,
                    template,
                    namespace,
                    collect_metrics: false,
                    ..
                } => {
                    // Round-robin in the cache's (zone-interleaved) order, as spreading
                    // scorers would place them.
                    let mut snap = Snapshot::default();
                    cache.update_snapshot(&mut snap);
                    for i in 0..*count {
                        let node = &snap.nodes[i % snap.len()].name;
                        let v = pod_value(template, &format!("init-{i}"), namespace, Some(node));
                        cache.set_pod(testing::pod(v));
                    }
                }
                Op::CreatePods {
                    template,
                    namespace,
                    collect_metrics: true,
                    ..
                } => {
                    incoming = Some((template.clone(), namespace.clone()));
                }
                _ => {}
            }
        }
        let (template, namespace) = incoming.expect("the workload measures a createPods op");
        let mut snapshot = Snapshot::default();
        cache.update_snapshot(&mut snapshot);
        let incoming = testing::pod(pod_value(&template, "measured", &namespace, None));
        Cluster {
            cache,
            snapshot,
            incoming,
            template,
            namespace,
        }
    }

    /// Another unbound pod of the measured template.
    fn pod(&self, name: &str) -> Arc<PodInfo> {
        testing::pod(pod_value(&self.template, name, &self.namespace, None))
    }
}

/// The default profile, as the scheduler builds it.
fn framework() -> Framework {
    let profile = KubeSchedulerConfiguration::default()
        .resolved_profiles()
        .remove(0);
    Framework::new(
        &profile,
        &plugins::registry(),
        Handle::in_memory(),
        Arc::new(SchedulerMetrics::default()),
    )
    .expect("the default profile builds")
}

fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

/// One cycle for the measured pod on a snapshot that does not change between cycles.
fn cycle(c: &mut Criterion) {
    let fw = framework();
    let mut g = c.benchmark_group("cycle");
    configure(&mut g);
    for case in CASES {
        for &n in case.nodes {
            // Built on first use: criterion calls the routine only for benchmarks its filter
            // selects.
            let mut cluster: Option<Cluster> = None;
            let mut algo = Algorithm::new(0, 1);
            g.bench_function(BenchmarkId::new(case.name, n), |b| {
                let cl = cluster.get_or_insert_with(|| {
                    let cl = Cluster::new(case.workload, n);
                    let r =
                        algo.schedule_pod(&fw, &mut CycleState::new(), &cl.incoming, &cl.snapshot);
                    assert!(r.is_ok(), "{} fits on {n} nodes: {r:?}", case.name);
                    cl
                });
                b.iter(|| {
                    let mut state = CycleState::new();
                    black_box(
                        algo.schedule_pod(&fw, &mut state, &cl.incoming, &cl.snapshot)
                            .is_ok(),
                    )
                })
            });
        }
    }
    g.finish();
}

/// The scheduler's loop without binding: assume the previous cycle's pod on its node, refresh
/// the snapshot, run the cycle, then forget the pod again (so the cluster does not fill up):
/// every cycle sees two changed nodes, as incremental structures would in a real run.
fn cycle_with_assume(c: &mut Criterion) {
    let fw = framework();
    let mut g = c.benchmark_group("cycle_with_assume");
    configure(&mut g);
    for case in CASES {
        let n = 5_000;
        let mut built: Option<(Cluster, Vec<Arc<PodInfo>>)> = None;
        let mut algo = Algorithm::new(0, 1);
        let mut i = 0;
        g.bench_function(BenchmarkId::new(case.name, n), |b| {
            let (cluster, pods) = built.get_or_insert_with(|| {
                let cluster = Cluster::new(case.workload, n);
                let pods = (0..64).map(|i| cluster.pod(&format!("m-{i}"))).collect();
                (cluster, pods)
            });
            b.iter(|| {
                let pod = &pods[i % pods.len()];
                i += 1;
                cluster.cache.update_snapshot(&mut cluster.snapshot);
                let mut state = CycleState::new();
                let r = algo.schedule_pod(&fw, &mut state, pod, &cluster.snapshot);
                if let Ok(r) = r {
                    cluster
                        .cache
                        .assume(pod.clone(), &r.suggested_host)
                        .expect("a fresh pod is assumed");
                    cluster.cache.update_snapshot(&mut cluster.snapshot);
                    cluster.cache.forget(&pod.uid);
                }
            })
        });
    }
    g.finish();
}

/// Cache → snapshot refresh after one pod is assumed (one changed node), and after it is
/// forgotten again.
fn snapshot_update(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot_update");
    configure(&mut g);
    for n in [500, 5_000, 15_000] {
        let mut built: Option<(Cluster, Arc<PodInfo>, String)> = None;
        g.bench_function(BenchmarkId::new("assume_and_forget_one_pod", n), |b| {
            let (cluster, pod, node) = built.get_or_insert_with(|| {
                let cluster = Cluster::new("SchedulingBasic", n);
                let pod = cluster.pod("assumed");
                let node = cluster.snapshot.nodes[n / 2].name.clone();
                (cluster, pod, node)
            });
            b.iter(|| {
                cluster.cache.assume(pod.clone(), node).expect("assumed");
                cluster.cache.update_snapshot(&mut cluster.snapshot);
                cluster.cache.forget(&pod.uid);
                cluster.cache.update_snapshot(&mut cluster.snapshot);
            })
        });
    }
    g.finish();
}

/// The active queue's add and pop (plus `done`), with 10,000 other pods pending.
fn queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue");
    configure(&mut g);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let _guard = rt.enter();
    let shutdown = CancellationToken::new();
    let mut built: Option<(SchedulingQueue, Arc<PodInfo>)> = None;
    g.bench_function("add_pop_done_10000_pending", |b| {
        let (q, hot) = built.get_or_insert_with(|| {
            let q = SchedulingQueue::new(
                Arc::new(plugins::queue_sort::PrioritySort),
                Vec::new(),
                Default::default(),
                QueueConfig::default(),
            );
            let template = testing::simple_pod("t", "100m", "500Mi");
            for i in 0..10_000 {
                let mut v = template.clone();
                v["metadata"]["name"] = format!("pending-{i}").into();
                v["spec"]["priority"] = (-1).into();
                q.add(testing::pod(v));
            }
            let mut v = template;
            v["metadata"]["name"] = "hot".into();
            (q, testing::pod(v))
        });
        b.iter(|| {
            q.add(hot.clone());
            let popped = rt.block_on(q.pop(&shutdown)).expect("a pod");
            q.done(&popped.pod.uid);
            black_box(popped);
        })
    });
    g.finish();
}

criterion_group!(benches, cycle, cycle_with_assume, snapshot_update, queue);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
