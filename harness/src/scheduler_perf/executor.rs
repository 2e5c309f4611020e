//! Running a workload's ops against a cluster, through the API only: nodes (Node objects on the
//! embedded target, hollow nodes on an attached cluster), namespaces, pods created concurrently
//! and watched until bound, churn in the background, barriers, deletes and sleeps.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::observer::Observer;
use super::scrape::{self, ATTEMPT_DURATION, Histogram as PromHistogram};
use super::throughput::{Collector, SAMPLE_INTERVAL, Stats};
use super::workload::{ChurnMode, NodeTemplate, Op};

/// Where nodes come from.
pub enum NodeSource {
    /// Node objects created through the API with a Ready condition and no kubelet, as
    /// scheduler_perf's fake nodes (the embedded target keeps them from being tainted).
    Objects,
    /// Hollow nodes (simulator) attached to the cluster, so a real control plane keeps them Ready.
    Hollow {
        /// The run's seed for the nodes' jitter.
        seed: u64,
        /// The simulators started so far (one per createNodes op), stopped at the end.
        running: Vec<simulator::Simulator>,
    },
}

/// How a run goes.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Creates in flight at once.
    pub concurrency: usize,
    /// How long an op may wait for its pods to be scheduled (or deleted).
    pub wait_timeout: Duration,
    /// Throughput sample interval (upstream: 1 s).
    pub sample_interval: Duration,
    /// Print a line per op on stderr.
    pub progress: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            concurrency: 64,
            wait_timeout: Duration::from_secs(600),
            sample_interval: SAMPLE_INTERVAL,
            progress: true,
        }
    }
}

/// What one measured `createPods` op measured.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The op's index in the workload template.
    pub op: usize,
    /// Pods created and bound.
    pub pods: u64,
    /// Upstream's SchedulingThroughput statistics; `None` when the pods were all scheduled
    /// within two samples.
    pub throughput: Option<Stats>,
    /// Pods / (last bind seen − first create sent): the whole op's rate.
    pub overall_rate: f64,
    /// From the first create sent to the last bind seen.
    pub elapsed: Duration,
    /// Create→bound latencies, µs.
    pub latency: hdrhistogram::Histogram<u64>,
    /// The scheduler's attempt-duration histogram over the op, per label set; `None` when the
    /// server exposes none.
    pub attempts: Option<BTreeMap<String, PromHistogram>>,
}

/// An op that failed; the workload stops there.
#[derive(Debug, thiserror::Error)]
#[error("op {index} ({opcode}): {message}")]
pub struct OpError {
    /// The op's index.
    pub index: usize,
    /// Its opcode.
    pub opcode: &'static str,
    /// What went wrong and what to check.
    pub message: String,
}

/// Runs the ops of one workload.
pub struct Executor {
    client: kube::Client,
    observer: Observer,
    nodes: NodeSource,
    settings: Settings,
    namespaces: BTreeSet<String>,
    churn: Vec<JoinHandle<()>>,
    hollow_nodes: Vec<String>,
    /// Measurements of the measured ops, in order.
    pub measured: Vec<Measured>,
}

impl Executor {
    /// An executor for `client`, watching pods from now on.
    pub async fn new(
        client: kube::Client,
        nodes: NodeSource,
        settings: Settings,
    ) -> Result<Self, kube::Error> {
        let observer = Observer::start(client.clone()).await?;
        Ok(Self {
            client,
            observer,
            nodes,
            settings,
            namespaces: BTreeSet::new(),
            churn: Vec::new(),
            hollow_nodes: Vec::new(),
            measured: Vec::new(),
        })
    }

    /// Run `ops` in order; stops at the first failing op.
    pub async fn run(&mut self, ops: &[Op]) -> Result<(), OpError> {
        for (index, op) in ops.iter().enumerate() {
            let started = Instant::now();
            self.run_op(index, op).await.map_err(|message| OpError {
                index,
                opcode: op.opcode(),
                message,
            })?;
            if self.settings.progress {
                eprintln!(
                    "kubeproof bench: op {index} {} done in {:.2} s",
                    op.opcode(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(())
    }

    /// Stop churn and hollow nodes; with `clean_up`, also delete the namespaces and the hollow
    /// nodes' Node objects the workload made (an attached cluster is left as it was found).
    pub async fn finish(mut self, clean_up: bool) {
        for task in self.churn.drain(..) {
            task.abort();
        }
        if let NodeSource::Hollow { running, .. } = &mut self.nodes {
            for sim in running.drain(..) {
                sim.shutdown().await;
            }
        }
        if !clean_up {
            return;
        }
        let dp = DeleteParams::default();
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        for ns in &self.namespaces {
            if let Err(e) = namespaces.delete(ns, &dp).await {
                eprintln!("kubeproof bench: cannot delete namespace {ns}: {e}");
            }
        }
        let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(self.client.clone());
        for n in &self.hollow_nodes {
            let _ = nodes.delete(n, &dp).await;
        }
    }

    async fn run_op(&mut self, index: usize, op: &Op) -> Result<(), String> {
        match op {
            Op::CreateNodes { count, template } => self.create_nodes(index, *count, template).await,
            Op::CreateNamespaces {
                prefix,
                count,
                labels,
            } => {
                for i in 0..*count {
                    self.ensure_namespace(&format!("{prefix}-{i}"), labels)
                        .await?;
                }
                Ok(())
            }
            Op::CreateAny { object } => {
                if let Some(ns) = object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                {
                    self.ensure_namespace(ns, &BTreeMap::new()).await?;
                }
                create_any(&self.client, object, "default").await.map(drop)
            }
            Op::CreatePods {
                count,
                template,
                namespace,
                collect_metrics,
                skip_wait,
            } => {
                self.ensure_namespace(namespace, &BTreeMap::new()).await?;
                self.create_pods(
                    index,
                    *count,
                    template,
                    namespace,
                    *collect_metrics,
                    *skip_wait,
                )
                .await
            }
            Op::Churn {
                mode,
                number,
                interval,
                templates,
                namespace,
            } => {
                self.ensure_namespace(namespace, &BTreeMap::new()).await?;
                self.churn.push(tokio::spawn(churn(
                    self.client.clone(),
                    index,
                    *mode,
                    *number,
                    *interval,
                    templates.clone(),
                    namespace.clone(),
                )));
                Ok(())
            }
            Op::Barrier { namespaces } => {
                let observer = self.observer.clone();
                self.observer
                    .wait_until(self.settings.wait_timeout, |_| {
                        observer.unbound(namespaces) == 0
                    })
                    .await
                    .map_err(|e| {
                        format!(
                            "{e} with {} pods not scheduled after {:?}; is a scheduler running?",
                            self.observer.unbound(namespaces),
                            self.settings.wait_timeout
                        )
                    })
            }
            Op::DeletePods {
                namespace,
                per_second,
                skip_wait,
            } => self.delete_pods(namespace, *per_second, *skip_wait).await,
            Op::Sleep { duration } => {
                tokio::time::sleep(*duration).await;
                Ok(())
            }
        }
    }

    async fn ensure_namespace(
        &mut self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        if self.namespaces.contains(name) {
            return Ok(());
        }
        let ns = json!({ "apiVersion": "v1", "kind": "Namespace",
                         "metadata": { "name": name, "labels": labels } });
        match create_raw(&self.client, "/api/v1/namespaces", &ns).await {
            Ok(()) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(format!("cannot create namespace {name}: {e}")),
        }
        self.namespaces.insert(name.to_owned());
        Ok(())
    }

    async fn create_nodes(
        &mut self,
        index: usize,
        count: usize,
        template: &NodeTemplate,
    ) -> Result<(), String> {
        let prefix = format!("{}{index}", template.name_prefix);
        match &mut self.nodes {
            NodeSource::Objects => {
                let client = &self.client;
                futures::stream::iter(0..count)
                    .map(|i| {
                        let node = node_object(&format!("{prefix}-{i}"), i, template);
                        async move { create_raw(client, "/api/v1/nodes", &node).await }
                    })
                    .buffer_unordered(self.settings.concurrency)
                    .try_collect::<Vec<()>>()
                    .await
                    .map_err(|e| format!("cannot create a node: {e}"))?;
                Ok(())
            }
            NodeSource::Hollow { seed, running } => {
                let profile = hollow_profile(template)?;
                let sim = simulator::Simulator::start(
                    self.client.clone(),
                    simulator::SimConfig {
                        profile,
                        seed: *seed ^ index as u64,
                    },
                )
                .await
                .map_err(|e| format!("cannot start hollow nodes: {e}"))?;
                let registered = sim.register(&prefix, count, None).await;
                running.push(sim);
                let names = registered.map_err(|e| format!("cannot register hollow nodes: {e}"))?;
                self.hollow_nodes.extend(names);
                Ok(())
            }
        }
    }

    async fn create_pods(
        &mut self,
        index: usize,
        count: usize,
        template: &Value,
        namespace: &str,
        measure: bool,
        skip_wait: bool,
    ) -> Result<(), String> {
        // Bodies are made before the clock starts, so the client measures the server.
        let stem = template
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .unwrap_or("pod-");
        let bodies: Vec<(String, Vec<u8>)> = (0..count)
            .map(|i| {
                let name = format!("{stem}{index}-{i}");
                let mut pod = template.clone();
                let meta = pod
                    .as_object_mut()
                    .expect("templates are objects")
                    .entry("metadata")
                    .or_insert_with(|| json!({}));
                if let Some(m) = meta.as_object_mut() {
                    m.remove("generateName");
                    m.insert("name".into(), name.clone().into());
                    m.insert("namespace".into(), namespace.into());
                }
                pod["apiVersion"] = "v1".into();
                pod["kind"] = "Pod".into();
                let bytes = serde_json::to_vec(&pod).expect("a JSON value serializes");
                (name, bytes)
            })
            .collect();
        let before = if measure {
            self.observer.measure(index);
            Some(scrape_attempts(&self.client).await)
        } else {
            None
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let sampler = measure.then(|| {
            tokio::spawn(sample(
                self.observer.clone(),
                index,
                self.settings.sample_interval,
                stop_rx,
            ))
        });
        let first_create = Instant::now();
        let path = format!("/api/v1/namespaces/{namespace}/pods");
        let client = &self.client;
        let observer = &self.observer;
        let failures: Vec<String> = futures::stream::iter(bodies)
            .map(|(name, body)| {
                let path = path.as_str();
                async move {
                    observer.track(namespace, &name, index);
                    match post(client, path, body).await {
                        Ok(()) => None,
                        Err(e) => {
                            observer.untrack(namespace, &name);
                            Some(format!("{namespace}/{name}: {e}"))
                        }
                    }
                }
            })
            .buffer_unordered(self.settings.concurrency)
            .filter_map(|f| async move { f })
            .collect()
            .await;
        if let Some(first) = failures.first() {
            return Err(format!(
                "{} of {count} pod creates failed; the first: {first}",
                failures.len()
            ));
        }
        if skip_wait {
            return Ok(());
        }
        let waited = self
            .observer
            .wait_until(self.settings.wait_timeout, |o| {
                o.bound(index) >= o.created(index)
            })
            .await;
        drop(stop_tx);
        let collector = match sampler {
            Some(task) => task.await.ok(),
            None => None,
        };
        if let Err(e) = waited {
            return Err(format!(
                "{e}: {} of {count} pods scheduled after {:?}; is a scheduler running, and do the \
                 nodes fit the pods?",
                self.observer.bound(index),
                self.settings.wait_timeout
            ));
        }
        if let Some(before) = before {
            let attempts = self
                .attempts_since(before, self.observer.bound(index))
                .await;
            let (latency, last_bound) = self.observer.latency(index);
            let elapsed = last_bound
                .unwrap_or_else(Instant::now)
                .saturating_duration_since(first_create);
            let pods = self.observer.bound(index);
            self.measured.push(Measured {
                op: index,
                pods,
                throughput: collector.and_then(|c| c.stats()),
                overall_rate: pods as f64 / elapsed.as_secs_f64().max(1e-9),
                elapsed,
                latency: latency.unwrap_or_else(super::observer::latency_histogram),
                attempts,
            });
        }
        Ok(())
    }

    async fn delete_pods(
        &mut self,
        namespace: &str,
        per_second: f64,
        skip_wait: bool,
    ) -> Result<(), String> {
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            namespace,
            &kube::discovery::ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
        );
        let names: Vec<String> = api
            .list_metadata(&ListParams::default())
            .await
            .map_err(|e| format!("cannot list the pods of {namespace}: {e}"))?
            .items
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect();
        let pause = (per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / per_second));
        let mut deletes = Vec::new();
        for name in names {
            let api = api.clone();
            deletes.push(tokio::spawn(async move {
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                    Err(e) => Err(format!("cannot delete pod {name}: {e}")),
                }
            }));
            if let Some(p) = pause {
                tokio::time::sleep(p).await;
            }
        }
        if skip_wait {
            return Ok(());
        }
        for d in deletes {
            d.await.map_err(|e| e.to_string())??;
        }
        Ok(())
    }
}

/// Sample op `op`'s bound count every `interval` until `stop` fires or is dropped.
async fn sample(
    observer: Observer,
    op: usize,
    interval: Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Collector {
    let mut collector = Collector::new(interval);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => return collector,
            _ = ticker.tick() => collector.tick(Instant::now(), observer.bound(op)),
        }
    }
}

impl Executor {
    /// The attempt-duration histograms' growth since `before`. A pod is seen bound as soon as
    /// its binding is stored, a moment before the scheduler counts the attempt (after the
    /// binding cycle, as upstream's), so `/metrics` is read again, for at most a second, until
    /// it counts `bound` scheduled attempts.
    async fn attempts_since(
        &self,
        before: Option<BTreeMap<String, PromHistogram>>,
        bound: u64,
    ) -> Option<BTreeMap<String, PromHistogram>> {
        let before = before?;
        let mut since = BTreeMap::new();
        for _ in 0..50 {
            let after = scrape_attempts(&self.client).await?;
            since = after
                .iter()
                .map(|(k, h)| {
                    (
                        k.clone(),
                        h.since(before.get(k).unwrap_or(&Default::default())),
                    )
                })
                .collect::<BTreeMap<_, _>>();
            let scheduled: f64 = since
                .iter()
                .filter(|(k, _)| k.contains("result=\"scheduled\""))
                .map(|(_, h)| h.count)
                .sum();
            if scheduled >= bound as f64 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Some(since)
    }
}

/// The attempt-duration histograms at `/metrics` now; `None` when the server has none.
async fn scrape_attempts(client: &kube::Client) -> Option<BTreeMap<String, PromHistogram>> {
    let request = http::Request::get("/metrics").body(Vec::new()).ok()?;
    let text = client.request_text(request).await.ok()?;
    let h = scrape::histograms(&text, ATTEMPT_DURATION);
    (!h.is_empty()).then_some(h)
}

/// The Node object of node `i` of a createNodes op.
pub fn node_object(name: &str, i: usize, t: &NodeTemplate) -> Value {
    let mut labels = t.labels.clone();
    labels.insert("kubernetes.io/hostname".into(), name.into());
    if !t.zones.is_empty() {
        labels.insert(
            "topology.kubernetes.io/zone".into(),
            t.zones[i % t.zones.len()].clone(),
        );
    }
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": { "name": name, "labels": labels },
        "spec": { "taints": t.taints },
        "status": {
            "capacity": t.capacity,
            "allocatable": t.capacity,
            "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady",
                             "message": "kubeproof bench node",
                             "lastHeartbeatTime": now, "lastTransitionTime": now }],
            "phase": "Running",
        }
    })
}

/// The hollow-node profile for a node template: one pool with its capacity, labels and taints;
/// zones must be named as the simulator names them (`<region>-a`, `<region>-b`, …).
pub fn hollow_profile(t: &NodeTemplate) -> Result<simulator::Profile, String> {
    let mut profile = simulator::Profile::default();
    if !t.zones.is_empty() {
        let region = t.zones[0]
            .strip_suffix("-a")
            .ok_or_else(|| zone_error(&t.zones))?;
        for (i, z) in t.zones.iter().enumerate() {
            let letter = char::from(b'a' + (i % 26) as u8);
            if *z != format!("{region}-{letter}") {
                return Err(zone_error(&t.zones));
            }
        }
        profile.region = region.to_owned();
        profile.zones = t.zones.len() as u32;
    }
    let pool = &mut profile.pools[0];
    pool.capacity = t.capacity.clone();
    pool.reserved = BTreeMap::new();
    pool.labels.extend(t.labels.clone());
    pool.taints = t
        .taints
        .iter()
        .map(|v| serde_json::from_value(v.clone()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("a node template taint is not a Taint: {e}"))?;
    Ok(profile)
}

fn zone_error(zones: &[String]) -> String {
    format!(
        "hollow nodes name zones <region>-a, <region>-b, …; the template's zones {zones:?} \
         cannot be made on the kubeconfig target"
    )
}

async fn post(client: &kube::Client, path: &str, body: Vec<u8>) -> Result<(), kube::Error> {
    let request = http::Request::post(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("a create request builds");
    client.request_text(request).await.map(drop)
}

async fn create_raw(client: &kube::Client, path: &str, object: &Value) -> Result<(), kube::Error> {
    post(
        client,
        path,
        serde_json::to_vec(object).expect("a JSON value serializes"),
    )
    .await
}

/// Create any object through discovery; returns its name.
async fn create_any(
    client: &kube::Client,
    object: &Value,
    namespace: &str,
) -> Result<String, String> {
    let api = dynamic_api(client, object, namespace).await?;
    let obj: DynamicObject =
        serde_json::from_value(object.clone()).map_err(|e| format!("not an object: {e}"))?;
    api.create(&PostParams::default(), &obj)
        .await
        .map(|o| o.metadata.name.unwrap_or_default())
        .map_err(|e| {
            format!(
                "cannot create {} {}: {e}",
                object["kind"], object["metadata"]["name"]
            )
        })
}

async fn dynamic_api(
    client: &kube::Client,
    object: &Value,
    namespace: &str,
) -> Result<Api<DynamicObject>, String> {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let kind = object["kind"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("the server does not serve {api_version} {kind}: {e}"))?;
    let ns = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(namespace);
    Ok(match caps.scope {
        kube::discovery::Scope::Namespaced => Api::namespaced_with(client.clone(), ns, &resource),
        kube::discovery::Scope::Cluster => Api::all_with(client.clone(), &resource),
    })
}

/// upstream's churn op: until aborted, every `interval` make one object of each template (`create`,
/// at most `number` rounds when `number` > 0), or replace the oldest of `number` kept objects of
/// each template (`recreate`).
async fn churn(
    client: kube::Client,
    index: usize,
    mode: ChurnMode,
    number: usize,
    interval: Duration,
    templates: Vec<Value>,
    namespace: String,
) {
    let mut apis = Vec::new();
    for t in &templates {
        match dynamic_api(&client, t, &namespace).await {
            Ok(api) => apis.push(api),
            Err(e) => {
                eprintln!("kubeproof bench: churn op {index}: {e}; churn stopped");
                return;
            }
        }
    }
    let mut kept: Vec<Vec<Option<String>>> = vec![vec![None; number.max(1)]; templates.len()];
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = 0usize;
    loop {
        ticker.tick().await;
        if mode == ChurnMode::Create && number > 0 && round >= number {
            return;
        }
        for (t, (template, api)) in templates.iter().zip(&apis).enumerate() {
            let slot = round % number.max(1);
            if mode == ChurnMode::Recreate
                && let Some(old) = kept[t][slot].take()
            {
                let _ = api.delete(&old, &DeleteParams::default()).await;
            }
            let stem = template
                .pointer("/metadata/generateName")
                .or_else(|| template.pointer("/metadata/name"))
                .and_then(Value::as_str)
                .unwrap_or("churn-");
            let name = format!("{stem}{index}-{round}");
            let mut object = template.clone();
            object["metadata"]["name"] = name.clone().into();
            if let Some(m) = object["metadata"].as_object_mut() {
                m.remove("generateName");
            }
            if template["kind"] == "Node" {
                let now = jiff::Timestamp::now()
                    .strftime("%Y-%m-%dT%H:%M:%SZ")
                    .to_string();
                object["metadata"]["labels"]["kubernetes.io/hostname"] = name.clone().into();
                if let Some(conds) = object
                    .pointer_mut("/status/conditions")
                    .and_then(Value::as_array_mut)
                {
                    for c in conds {
                        c["lastHeartbeatTime"] = now.clone().into();
                        c["lastTransitionTime"] = now.clone().into();
                    }
                }
            }
            let Ok(obj) = serde_json::from_value::<DynamicObject>(object) else {
                continue;
            };
            if api.create(&PostParams::default(), &obj).await.is_ok() {
                kept[t][slot] = Some(name);
            }
        }
        round += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(zones: &[&str]) -> NodeTemplate {
        NodeTemplate {
            name_prefix: "n-".into(),
            labels: BTreeMap::from([("tier".into(), "a".into())]),
            capacity: BTreeMap::from([("cpu".into(), "4".into())]),
            zones: zones.iter().map(|z| z.to_string()).collect(),
            taints: vec![json!({ "key": "k", "effect": "NoSchedule" })],
        }
    }

    #[test]
    fn node_objects_are_ready_with_zones_round_robin() {
        let t = template(&["z1", "z2"]);
        let n = node_object("n-0-3", 3, &t);
        assert_eq!(n["metadata"]["labels"]["topology.kubernetes.io/zone"], "z2");
        assert_eq!(n["metadata"]["labels"]["kubernetes.io/hostname"], "n-0-3");
        assert_eq!(n["metadata"]["labels"]["tier"], "a");
        assert_eq!(n["status"]["allocatable"]["cpu"], "4");
        assert_eq!(n["status"]["conditions"][0]["type"], "Ready");
        assert_eq!(n["status"]["conditions"][0]["status"], "True");
        assert_eq!(n["spec"]["taints"][0]["key"], "k");
        serde_json::from_value::<k8s_openapi::api::core::v1::Node>(n).expect("a valid Node");
    }

    #[test]
    fn hollow_profiles_take_the_template_and_its_simulator_named_zones() {
        let p = hollow_profile(&template(&["moon-a", "moon-b", "moon-c"])).unwrap();
        assert_eq!((p.region.as_str(), p.zones), ("moon", 3));
        assert_eq!(p.pools[0].capacity["cpu"], "4");
        assert_eq!(p.pools[0].labels["tier"], "a");
        assert_eq!(p.pools[0].taints[0].key, "k");
        let err = hollow_profile(&template(&["zone1", "zone2"])).unwrap_err();
        assert!(err.contains("<region>-a"), "{err}");
        assert!(hollow_profile(&template(&["moon-a", "moon-c"])).is_err());
    }
}
