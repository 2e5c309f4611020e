//! `kubeproof bench scheduler`'s runner against real control planes, with the smallest tiers:
//! the measurement pipeline with a stand-in binder on the kubeconfig target (hollow nodes), and a
//! tiny workload on the embedded target, scheduled by the embedded scheduler.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt as _;
use harness::scheduler_perf::executor::Settings;
use harness::scheduler_perf::runner::{RunOptions, TargetSpec, bench_config, run_workload};
use harness::scheduler_perf::{catalog, select};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use orchestrator::ControlPlane;
use reports::Outcome;

fn options(target: TargetSpec) -> RunOptions {
    RunOptions {
        target,
        settings: Settings {
            concurrency: 8,
            wait_timeout: Duration::from_secs(60),
            progress: false,
            ..Settings::default()
        },
        overrides: BTreeMap::new(),
        seed: 7,
        scheduler: None,
    }
}

/// Bind every pending pod to the nodes round robin through `pods/binding`, as a scheduler
/// would; conflicts (a real scheduler got there first) are ignored.
async fn stand_in_binder(client: kube::Client) {
    let pods: Api<Pod> = Api::all(client.clone());
    let nodes: Api<Node> = Api::all(client.clone());
    let mut next = 0usize;
    let stream = watcher(pods, watcher::Config::default()).applied_objects();
    futures::pin_mut!(stream);
    while let Ok(Some(pod)) = stream.try_next().await {
        if pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_ref())
            .is_some()
        {
            continue;
        }
        let Ok(list) = nodes.list(&ListParams::default()).await else {
            continue;
        };
        if list.items.is_empty() {
            continue;
        }
        let node = list.items[next % list.items.len()]
            .metadata
            .name
            .clone()
            .unwrap_or_default();
        next += 1;
        let (ns, name) = (
            pod.metadata.namespace.clone().unwrap_or_default(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        let binding = serde_json::json!({
            "apiVersion": "v1", "kind": "Binding",
            "metadata": { "name": name },
            "target": { "apiVersion": "v1", "kind": "Node", "name": node }
        });
        let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let _ = api
            .create_subresource::<serde_json::Value, serde_json::Value>(
                "binding",
                &name,
                &PostParams::default(),
                &binding,
            )
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_workload_is_measured_from_outside_on_a_kubeconfig_target() {
    harness::target::install_crypto_provider();
    let cp = ControlPlane::start(bench_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    cp.write_kubeconfig(&path).unwrap();
    let client = {
        let kc = kube::config::Kubeconfig::from_yaml(&cp.kubeconfig()).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    };
    let binder = tokio::spawn(stand_in_binder(client.clone()));
    let cases = catalog(&[]).unwrap();
    let (case, tier) = select(&cases, "SchedulingBasic/5Nodes").unwrap();
    let (run, info) = run_workload(case, tier, &options(TargetSpec::Kubeconfig(Some(path))))
        .await
        .unwrap();
    binder.abort();
    assert_eq!(info.name, "kubeconfig");
    let measured = run.outcome.as_ref().expect("the workload ran");
    assert_eq!(measured.len(), 1, "one measured op");
    let m = &measured[0];
    assert_eq!((m.op, m.pods), (2, 10), "all 10 measured pods seen bound");
    assert_eq!(m.latency.len(), 10, "a create→bound latency per pod");
    assert!(m.overall_rate > 0.0);
    assert_eq!(run.test_result().outcome, Outcome::Passed);
    // The hollow nodes registered for the workload were removed with its namespaces.
    let nodes: Api<Node> = Api::all(client.clone());
    let left = nodes.list(&ListParams::default()).await.unwrap().items;
    assert!(left.is_empty(), "nodes left: {}", left.len());
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smallest_scheduling_basic_tier_runs_on_the_embedded_scheduler() {
    let cases = catalog(&[]).unwrap();
    let (case, tier) = select(&cases, "SchedulingBasic/5Nodes").unwrap();
    let (run, info) = run_workload(case, tier, &options(TargetSpec::Embedded))
        .await
        .unwrap();
    assert_eq!(info.name, "embedded");
    let measured = run
        .outcome
        .as_ref()
        .expect("the embedded scheduler binds every pod");
    assert_eq!(measured[0].pods, 10);
    assert_eq!(measured[0].latency.len(), 10);
    // Against our own control plane the scheduler's attempt histogram is on /metrics.
    let attempts = measured[0]
        .attempts
        .as_ref()
        .expect("scheduler_scheduling_attempt_duration_seconds on /metrics");
    let scheduled: f64 = attempts
        .iter()
        .filter(|(k, _)| k.contains("result=\"scheduled\""))
        .map(|(_, h)| h.count)
        .sum();
    assert!(scheduled >= 10.0, "{attempts:?}");
}
