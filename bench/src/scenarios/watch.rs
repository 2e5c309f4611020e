//! Watch fan-out: 1,000 concurrent kube-rs watches on pods in one namespace, from the current
//! resourceVersion; then spaced-out creates; for every watcher, the delay from each write to
//! its event. Goal p99 ≤ 50 ms.
//!
//! kube-rs speaks HTTP/1.1 only, so every watch is its own TCP + TLS connection; the watches are
//! spread over [`CLIENTS`] clients (each with its own connection pool) only to spread the
//! handshakes. A warm-up write that every watcher must see comes first, so that every watch is
//! known to be registered before the measured writes.

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use orchestrator::{ControlPlane, ControlPlaneConfig};
use tokio::sync::mpsc;

use crate::cluster::{client_for, ensure_namespace, established_connections};
use crate::figures::{Figures, Summary, latency_histogram, record};
use crate::pods::realistic_pod;

/// Concurrent watches.
pub const WATCHES: usize = 1_000;
/// kube-rs clients the watches are spread over.
pub const CLIENTS: usize = 10;
/// Measured writes.
pub const WRITES: usize = 50;
/// The pause between measured writes, so deliveries of one write do not queue behind another's.
pub const SPACING: Duration = Duration::from_millis(20);

/// How long watchers may still take after the last write before they are stopped.
pub const GRACE: Duration = Duration::from_secs(10);

const NAMESPACE: &str = "bench-watch";
const WARMUP_NAME: &str = "fan-warmup";

/// What one watcher saw: for each measured write `k`, when (since `base`) its event arrived.
type Seen = Vec<(usize, Duration)>;

/// How watchers read their events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decode {
    /// kube-rs `Api::watch`: every event decoded into a typed `Pod`, as a real client does.
    Typed,
    /// The raw lines of the watch response, only the object's name picked out: what the
    /// delivery costs without the client's decoding (to split client from server and transport).
    Raw,
}

/// The names of ADDED objects (`None` for any other event) of one watch.
type Added = std::pin::Pin<Box<dyn futures::Stream<Item = Option<String>> + Send>>;

async fn open(
    client: kube::Client,
    decode: Decode,
    params: &WatchParams,
    rv: &str,
) -> Result<Added, kube::Error> {
    match decode {
        Decode::Typed => {
            let api: Api<Pod> = Api::namespaced(client, NAMESPACE);
            let events = api.watch(params, rv).await?;
            Ok(Box::pin(events.map(|e| match e {
                Ok(WatchEvent::Added(pod)) => pod.metadata.name,
                _ => None,
            })))
        }
        Decode::Raw => {
            use futures::AsyncBufReadExt;
            let path = format!(
                "/api/v1/namespaces/{NAMESPACE}/pods?watch=true&resourceVersion={rv}&timeoutSeconds=290"
            );
            let request = http::Request::get(path)
                .body(Vec::new())
                .expect("a watch request builds");
            let lines = client.request_stream(request).await?.lines();
            Ok(Box::pin(
                lines.map(|line| line.ok().and_then(|l| added_name(&l))),
            ))
        }
    }
}

/// The first `"name":"…"` of an ADDED event line: `metadata.name` for the benchmark's pods,
/// whose labels and annotations have no key `name`.
fn added_name(line: &str) -> Option<String> {
    if !line.starts_with("{\"type\":\"ADDED\"") {
        return None;
    }
    let start = line.find("\"name\":\"")? + 8;
    let len = line[start..].find('"')?;
    Some(line[start..start + len].to_string())
}

/// Open [`WATCHES`] watches, write [`WRITES`] pods, measure every delivery.
pub async fn run(decode: Decode) -> Figures {
    let scenario = match decode {
        Decode::Typed => "watch",
        Decode::Raw => "watch-raw",
    };
    let mut f = Figures::new(scenario);
    let cp = match ControlPlane::start(ControlPlaneConfig::default()).await {
        Ok(cp) => cp,
        Err(e) => return super::failed(scenario, e),
    };
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(client_for(&cp).await);
    }
    if let Err(e) = ensure_namespace(&clients[0], NAMESPACE).await {
        return super::failed(
            scenario,
            format!("cannot create namespace {NAMESPACE}: {e}"),
        );
    }
    let writer: Api<Pod> = Api::namespaced(clients[0].clone(), NAMESPACE);
    let rv = match writer.list(&ListParams::default().limit(1)).await {
        Ok(l) => l.metadata.resource_version.unwrap_or_default(),
        Err(e) => return super::failed(scenario, format!("cannot read the resourceVersion: {e}")),
    };

    let began = Instant::now();
    let base = Instant::now();
    let deadline = began + super::CAP;
    let params = WatchParams::default().timeout(290);
    let opened = futures::future::join_all((0..WATCHES).map(|i| {
        let client = clients[i % CLIENTS].clone();
        let (params, rv) = (params.clone(), rv.clone());
        async move { open(client, decode, &params, &rv).await }
    }))
    .await;
    let open_time = began.elapsed();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let mut watchers = Vec::new();
    let mut open_errors = 0usize;
    for w in opened {
        let Ok(stream) = w else {
            open_errors += 1;
            continue;
        };
        let ready = ready_tx.clone();
        let mut stop = stop_rx.clone();
        watchers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut seen: Seen = Vec::with_capacity(WRITES);
            while seen.len() < WRITES {
                // A dropped sender (the scenario gave up) stops the watcher as well.
                let added = tokio::select! {
                    _ = stop.changed() => break,
                    _ = tokio::time::sleep_until(deadline.into()) => break,
                    next = stream.next() => match next {
                        Some(added) => added,
                        None => break,
                    },
                };
                let at = base.elapsed();
                let Some(name) = added else {
                    continue;
                };
                if name == WARMUP_NAME {
                    let _ = ready.send(());
                } else if let Some(k) = name.strip_prefix("fan-").and_then(|k| k.parse().ok()) {
                    seen.push((k, at));
                }
            }
            seen
        }));
    }
    drop(ready_tx);
    let live = watchers.len();
    f.value("watches", live as u64)
        .value("clients", CLIENTS as u64)
        .value("open_s", open_time.as_secs_f64())
        .value(
            "client_connections",
            established_connections(cp.addr().port()) as u64,
        );
    if open_errors > 0 {
        f.note(format!("{open_errors} watches failed to open"));
    }

    // Every watcher must see the warm-up pod before the measured writes.
    if let Err(e) = writer
        .create(&PostParams::default(), &realistic_pod(WARMUP_NAME, 0))
        .await
    {
        return super::failed(scenario, format!("warm-up write failed: {e}"));
    }
    let mut ready = 0;
    while ready < live {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ready_rx.recv()).await {
            Ok(Some(())) => ready += 1,
            _ => break,
        }
    }
    if ready < live {
        f.note(format!(
            "only {ready} of {live} watchers saw the warm-up write"
        ));
    }

    let (mut issued, mut completed) = (Vec::new(), Vec::new());
    let mut write_errors = 0;
    for k in 0..WRITES {
        if Instant::now() > deadline {
            f.note(format!("writes stopped after {k}: cap reached"));
            break;
        }
        issued.push(base.elapsed());
        if writer
            .create(
                &PostParams::default(),
                &realistic_pod(&format!("fan-{k}"), k),
            )
            .await
            .is_err()
        {
            write_errors += 1;
        }
        completed.push(base.elapsed());
        tokio::time::sleep(SPACING).await;
    }

    // Watchers that miss an event would wait for it until the cap; give them a grace period.
    let all = futures::future::join_all(watchers);
    tokio::pin!(all);
    let results = match tokio::time::timeout(GRACE, &mut all).await {
        Ok(results) => results,
        Err(_) => {
            f.note(format!(
                "some watchers had not seen every write {GRACE:?} after the last one"
            ));
            let _ = stop_tx.send(());
            all.await
        }
    };
    let (mut from_issue, mut from_completion) = (latency_histogram(), latency_histogram());
    let (mut delivered, mut before_completion) = (0usize, 0usize);
    for w in results {
        for (k, at) in w.expect("a watcher does not panic") {
            if k >= issued.len() {
                continue;
            }
            delivered += 1;
            record(&mut from_issue, at.saturating_sub(issued[k]));
            if at < completed[k] {
                before_completion += 1;
            }
            record(&mut from_completion, at.saturating_sub(completed[k]));
        }
    }
    let mut writes = latency_histogram();
    for (i, c) in issued.iter().zip(&completed) {
        record(&mut writes, *c - *i);
    }
    let expected = issued.len() * live;
    let s = Summary::of(&from_issue);
    f.value("writes", issued.len() as u64)
        .value("write_errors", write_errors as u64)
        .value("deliveries", delivered as u64)
        .value(
            "missing_deliveries",
            expected.saturating_sub(delivered) as u64,
        )
        .value("delivered_before_write_returned", before_completion as u64)
        .latency("delay_from_write_issued", &s)
        .latency("delay_from_write_returned", &Summary::of(&from_completion))
        .latency("write_latency", &Summary::of(&writes));
    f.goal("delivery_p99_ms", s.p99_ms, 50.0, true);
    f.note(format!(
        "{live} watches over {CLIENTS} kube-rs clients, one HTTP/1.1 connection each; writes {SPACING:?} apart; delay measured from just before each create is issued"
    ));
    if decode == Decode::Raw {
        f.note("raw watch lines, no typed decoding: the client's decode cost removed");
    }
    drop((writer, clients));
    cp.shutdown().await;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_name_is_picked_from_an_added_line_only() {
        let line = r#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{"kubeproof.io/index":"3"},"name":"fan-3","namespace":"bench-watch"}}}"#;
        assert_eq!(added_name(line).as_deref(), Some("fan-3"));
        assert_eq!(added_name(&line.replace("ADDED", "MODIFIED")), None);
    }
}
