//! The scenarios' steps: boot (or attach to) the cluster with zero-delay hollow nodes, set up,
//! time the measured phase from watches, read the work queue latency from `/metrics`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use simulator::Profile;

use super::{Figures, Options, Scenario, ScenarioRun};
use crate::scheduler_perf::scrape::{Histogram, histograms};
use crate::target::{Target, TargetKind, TargetOptions};

/// The controllers' queues whose latency is reported.
const QUEUES: &[&str] = &["deployment", "replicaset"];

/// Hollow nodes whose containers pull and start at once. Their heartbeats keep the pace the
/// target's node lifecycle expects: on the embedded target, which declares a node unreachable
/// after 4 s without a lease renewal, its profile's ten-times clock (a renewal every second);
/// on a real cluster, upstream's 10 s. (A real-time profile on the embedded target lost every
/// node 6 s after boot, and with them the availability of every pod.)
fn zero_delay_profile(kind: TargetKind) -> Profile {
    let mut p = match kind {
        TargetKind::Embedded => crate::target::embedded_profile(),
        _ => Profile::default(),
    };
    p.behaviour.pull_delay = simulator::behaviour::GoDuration(Duration::ZERO);
    p.behaviour.start_delay = simulator::behaviour::GoDuration(Duration::ZERO);
    p.behaviour.sandbox_delay = simulator::behaviour::GoDuration(Duration::ZERO);
    p.node_events = false;
    p
}

/// Run `scenario` on a fresh target.
pub async fn run(scenario: Scenario, options: &Options) -> ScenarioRun {
    let started = Instant::now();
    let outcome = match boot(options).await {
        Ok(target) => {
            let client = target.env().client.clone();
            let result = match scenario {
                Scenario::Rollout => rollout(&client, options).await,
                Scenario::Deployments => deployments(&client, options).await,
            };
            target.shutdown().await;
            result.map_err(|e| format!("{e:#}"))
        }
        Err(e) => Err(e),
    };
    ScenarioRun {
        scenario,
        outcome,
        duration: started.elapsed(),
    }
}

async fn boot(options: &Options) -> Result<Target, String> {
    let kind = if options.kubeconfig.is_some() {
        TargetKind::Kubeconfig
    } else {
        TargetKind::Embedded
    };
    Target::start(&TargetOptions {
        kind,
        kubeconfig: options.kubeconfig.clone(),
        nodes: Some(options.nodes),
        profile: Some(zero_delay_profile(kind)),
        seed: options.seed,
        ..TargetOptions::default()
    })
    .await
    .map_err(|e| format!("{e:#}"))
}

async fn namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

fn deployment(name: &str, replicas: i32, image: &str) -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
            },
        },
    }))?)
}

/// Rolled out and available at its latest generation (what `kubectl rollout status` waits for).
fn complete(d: &Deployment) -> bool {
    let replicas = d.spec.replicas.unwrap_or(1);
    d.status.as_ref().is_some_and(|s| {
        s.observed_generation >= d.metadata.generation
            && s.updated_replicas.unwrap_or(0) == replicas
            && s.replicas.unwrap_or(0) == replicas
            && s.available_replicas.unwrap_or(0) == replicas
    })
}

/// Watch the Deployments of `api` until every one of `names` is complete.
async fn wait_all_complete(
    api: &Api<Deployment>,
    names: &BTreeSet<String>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let listed = api.list(&ListParams::default()).await?;
    let mut done: BTreeSet<String> = listed
        .items
        .iter()
        .filter(|d| complete(d))
        .map(|d| d.name_any())
        .collect();
    let mut rv = listed.metadata.resource_version.unwrap_or_default();
    let waited = tokio::time::timeout(timeout, async {
        while !names.iter().all(|n| done.contains(n)) {
            let mut events = api.watch(&WatchParams::default(), &rv).await?.boxed();
            while let Some(event) = events.try_next().await? {
                let d = match event {
                    WatchEvent::Added(d) | WatchEvent::Modified(d) => d,
                    WatchEvent::Deleted(d) => {
                        done.remove(&d.name_any());
                        continue;
                    }
                    WatchEvent::Bookmark(b) => {
                        rv = b.metadata.resource_version;
                        continue;
                    }
                    // Fell behind the server's history: relist and watch on from there.
                    WatchEvent::Error(e) if e.code == 410 => {
                        let listed = api.list(&ListParams::default()).await?;
                        done = listed
                            .items
                            .iter()
                            .filter(|d| complete(d))
                            .map(|d| d.name_any())
                            .collect();
                        rv = listed.metadata.resource_version.unwrap_or_default();
                        break;
                    }
                    WatchEvent::Error(e) => anyhow::bail!("watch error: {e:?}"),
                };
                if let Some(v) = &d.metadata.resource_version {
                    rv.clone_from(v);
                }
                if complete(&d) {
                    done.insert(d.name_any());
                } else {
                    done.remove(&d.name_any());
                }
                if names.iter().all(|n| done.contains(n)) {
                    return Ok(());
                }
            }
        }
        Ok(())
    })
    .await;
    match waited {
        Ok(r) => r,
        Err(_) => {
            // Say whether the watch missed completions or the Deployments really are stuck.
            let listed = api.list(&ListParams::default()).await?;
            let stuck: Vec<&Deployment> = listed
                .items
                .iter()
                .filter(|d| names.contains(&d.name_any()) && !complete(d))
                .collect();
            anyhow::bail!(
                "timed out after {timeout:?}: the watch saw {} of {} Deployments complete, a list \
                 now shows {} incomplete; the first: {}",
                done.len(),
                names.len(),
                stuck.len(),
                stuck.first().map_or_else(String::new, |d| format!(
                    "{} generation {:?} status {:?}",
                    d.name_any(),
                    d.metadata.generation,
                    d.status
                ))
            )
        }
    }
}

async fn metrics(client: &Client) -> String {
    let req = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("a valid request");
    client.request_text(req).await.unwrap_or_default()
}

/// The work queues' latency between two scrapes: (queue, mean, p99).
fn queue_latency(before: &str, after: &str) -> Vec<(String, Option<f64>, Option<f64>)> {
    let name = "workqueue_queue_duration_seconds";
    let (b, a) = (histograms(before, name), histograms(after, name));
    QUEUES
        .iter()
        .filter_map(|q| {
            let key = format!("name=\"{q}\"");
            let after = a.get(&key)?;
            let delta = b
                .get(&key)
                .map_or_else(|| after.clone(), |b: &Histogram| after.since(b));
            Some((q.to_string(), delta.mean(), delta.quantile(0.99)))
        })
        .collect()
}

async fn pod_count(client: &Client) -> usize {
    Api::<Pod>::all(client.clone())
        .list_metadata(&ListParams::default())
        .await
        .map_or(0, |l| l.items.len())
}

async fn rollout(client: &Client, options: &Options) -> anyhow::Result<Figures> {
    let ns = "bench-rollout";
    namespace(client, ns).await?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let names = BTreeSet::from(["web".to_string()]);
    let setup = Instant::now();
    api.create(
        &PostParams::default(),
        &deployment("web", options.replicas, "nginx:1.0")?,
    )
    .await?;
    wait_all_complete(&api, &names, options.timeout).await?;
    let setup_seconds = setup.elapsed().as_secs_f64();
    let before = metrics(client).await;
    let started = Instant::now();
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.1"}]}}}})),
    )
    .await?;
    wait_all_complete(&api, &names, options.timeout).await?;
    let seconds = started.elapsed().as_secs_f64();
    let after = metrics(client).await;
    Ok(Figures {
        seconds,
        setup_seconds,
        queue_latency: queue_latency(&before, &after),
        pods: pod_count(client).await,
    })
}

async fn deployments(client: &Client, options: &Options) -> anyhow::Result<Figures> {
    let ns = "bench-deployments";
    namespace(client, ns).await?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let names: BTreeSet<String> = (0..options.deployments)
        .map(|i| format!("d-{i:04}"))
        .collect();
    let before = metrics(client).await;
    let started = Instant::now();
    let creates = futures::stream::iter(names.iter().cloned())
        .map(|name| {
            let api = api.clone();
            let replicas = options.per_deployment;
            async move {
                let d = deployment(&name, replicas, "nginx:1.0")?;
                api.create(&PostParams::default(), &d).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect::<Vec<()>>();
    let (created, waited) = tokio::join!(creates, wait_all_complete(&api, &names, options.timeout));
    created?;
    waited?;
    let seconds = started.elapsed().as_secs_f64();
    let after = metrics(client).await;
    Ok(Figures {
        seconds,
        setup_seconds: 0.0,
        queue_latency: queue_latency(&before, &after),
        pods: pod_count(client).await,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_latency_is_taken_between_scrapes() {
        let before = "workqueue_queue_duration_seconds_bucket{name=\"deployment\",le=\"0.001\"} 1\n\
                      workqueue_queue_duration_seconds_bucket{name=\"deployment\",le=\"+Inf\"} 1\n\
                      workqueue_queue_duration_seconds_sum{name=\"deployment\"} 0.0005\n\
                      workqueue_queue_duration_seconds_count{name=\"deployment\"} 1\n";
        let after = "workqueue_queue_duration_seconds_bucket{name=\"deployment\",le=\"0.001\"} 1\n\
                     workqueue_queue_duration_seconds_bucket{name=\"deployment\",le=\"+Inf\"} 3\n\
                     workqueue_queue_duration_seconds_sum{name=\"deployment\"} 4.0005\n\
                     workqueue_queue_duration_seconds_count{name=\"deployment\"} 3\n";
        let got = queue_latency(before, after);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "deployment");
        let mean = got[0].1.expect("a mean");
        assert!(
            (mean - 2.0).abs() < 1e-9,
            "two new samples of 2 s on average: {mean}"
        );
    }

    #[test]
    fn the_profile_starts_containers_at_once_and_heartbeats_at_the_targets_pace() {
        let p = zero_delay_profile(TargetKind::Embedded);
        assert!(p.behaviour.start_delay.0.is_zero() && p.behaviour.pull_delay.0.is_zero());
        assert_eq!(
            p.clock_factor,
            crate::target::EMBEDDED_CLOCK_FACTOR,
            "renewals within the embedded node lifecycle's grace period"
        );
        assert_eq!(zero_delay_profile(TargetKind::Kubeconfig).clock_factor, 1.0);
    }
}
