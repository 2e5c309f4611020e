//! Pod status writes, as the kubelet's status manager: the latest status of each pod is queued
//! and older unsent ones are replaced (a pod that changes five times while the API is busy costs
//! one write), and a bounded pool of writers sends them as strategic-merge patches of
//! `pods/<name>/status` carrying the pod's uid, so a write never lands on a namesake. A pod has
//! at most one write on the wire: its next status waits for it, so statuses land in order.
//! What must follow a pod's last status — confirming its deletion, which the status manager
//! does only once the terminal status is written (`canBeDeleted`) — waits for its writes
//! ([`StatusWriter::after_writes`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::api::{Api, Patch, PatchParams};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Counters of the writer.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Status writes sent and accepted.
    pub written: AtomicU64,
    /// Statuses replaced by a newer one before they were sent.
    pub coalesced: AtomicU64,
    /// Writes refused or failed (a deleted pod's 404 is not counted).
    pub failed: AtomicU64,
}

struct Pending {
    namespace: String,
    name: String,
    status: PodStatus,
}

#[derive(Default)]
struct Queue {
    pending: HashMap<String, Pending>,
    order: VecDeque<String>,
    /// Pods with a write on the wire: their next status waits for it, so that two writes of
    /// one pod never race and an older status never lands after a newer one.
    in_flight: HashSet<String>,
    /// What to run once a pod has no status left to send.
    after: HashMap<String, Box<dyn FnOnce() + Send>>,
}

/// The pool of status writers.
#[derive(Clone)]
pub struct StatusWriter {
    queue: Arc<Mutex<Queue>>,
    notify: Arc<Notify>,
    /// What it did.
    pub stats: Arc<WriterStats>,
}

impl StatusWriter {
    /// Start `workers` writers through `client`; they stop with `shutdown`.
    pub fn start(
        client: kube::Client,
        workers: usize,
        shutdown: CancellationToken,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Self {
        let writer = Self {
            queue: Arc::default(),
            notify: Arc::default(),
            stats: Arc::default(),
        };
        for _ in 0..workers {
            tracker.spawn(writer.clone().work(client.clone(), shutdown.clone()));
        }
        writer
    }

    /// Queue `status` for the pod `uid`, replacing an unsent one.
    pub fn push(&self, uid: &str, namespace: &str, name: &str, status: PodStatus) {
        let mut q = self.queue.lock();
        match q.pending.get_mut(uid) {
            Some(p) => {
                p.status = status;
                self.stats.coalesced.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                q.pending.insert(
                    uid.to_owned(),
                    Pending {
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                        status,
                    },
                );
                if !q.in_flight.contains(uid) {
                    q.order.push_back(uid.to_owned());
                    drop(q);
                    self.notify.notify_one();
                }
            }
        }
    }

    /// Drop an unsent status of `uid`, and what was to follow it (the pod is gone).
    pub fn forget(&self, uid: &str) {
        let mut q = self.queue.lock();
        q.pending.remove(uid);
        q.after.remove(uid);
    }

    /// Run `then` once every status of `uid` queued so far (and any queued meanwhile) is sent
    /// or refused — at once if none is waiting.
    pub fn after_writes(&self, uid: &str, then: impl FnOnce() + Send + 'static) {
        let mut q = self.queue.lock();
        if q.pending.contains_key(uid) || q.in_flight.contains(uid) {
            q.after.insert(uid.to_owned(), Box::new(then));
        } else {
            drop(q);
            then();
        }
    }

    /// The write of `uid` finished: a status that arrived meanwhile may go now, or else what
    /// was waiting for the writes.
    fn done(&self, uid: &str) {
        let mut q = self.queue.lock();
        q.in_flight.remove(uid);
        if q.pending.contains_key(uid) {
            q.order.push_back(uid.to_owned());
            drop(q);
            self.notify.notify_one();
        } else if let Some(then) = q.after.remove(uid) {
            drop(q);
            then();
        }
    }

    /// Statuses waiting to be sent.
    pub fn backlog(&self) -> usize {
        self.queue.lock().pending.len()
    }

    async fn work(self, client: kube::Client, shutdown: CancellationToken) {
        loop {
            let next = {
                let mut q = self.queue.lock();
                loop {
                    match q.order.pop_front() {
                        None => break None,
                        Some(uid) => {
                            if let Some(p) = q.pending.remove(&uid) {
                                q.in_flight.insert(uid.clone());
                                break Some((uid, p));
                            }
                        }
                    }
                }
            };
            let Some((uid, p)) = next else {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.notify.notified() => continue,
                }
            };
            let api: Api<Pod> = Api::namespaced(client.clone(), &p.namespace);
            let patch = status_patch(&uid, &p.status);
            match api
                .patch_status(&p.name, &PatchParams::default(), &Patch::Strategic(patch))
                .await
            {
                Ok(_) => {
                    self.stats.written.fetch_add(1, Ordering::Relaxed);
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(pod = %p.name, error = %e, "pod status write failed");
                }
            }
            self.done(&uid);
        }
    }
}

/// The status write: a strategic merge patch of the whole status, preconditioned on the uid.
/// Conditions merge by type, so a condition's absent `reason` and `message` are sent as null, or
/// the API would keep the old ones (`Ready=True` still saying `ContainersNotReady`); upstream's
/// status manager sends a two-way merge patch, which nulls them the same way.
fn status_patch(uid: &str, status: &PodStatus) -> serde_json::Value {
    let mut status = serde_json::to_value(status).unwrap_or_default();
    if let Some(conditions) = status["conditions"].as_array_mut() {
        for c in conditions
            .iter_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            for field in ["reason", "message"] {
                c.entry(field).or_insert(serde_json::Value::Null);
            }
        }
    }
    serde_json::json!({"metadata": {"uid": uid}, "status": status})
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::extract::State;
    use axum::routing::patch;
    use tokio::net::TcpListener;

    use super::*;

    /// A fake API that records the phase of every status patch it receives, answering the first
    /// one slowly, so that a second status of the same pod is queued while the first is on the
    /// wire.
    async fn fake_api() -> (kube::Client, Arc<Mutex<Vec<String>>>, CancellationToken) {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let app = Router::new()
            .route(
                "/api/v1/namespaces/{ns}/pods/{name}/status",
                patch(
                    |State(seen): State<Arc<Mutex<Vec<String>>>>, body: String| async move {
                        let patch: serde_json::Value = serde_json::from_str(&body).unwrap();
                        let phase = patch["status"]["phase"].as_str().unwrap().to_owned();
                        if phase == "Pending" {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        seen.lock().push(phase);
                        axum::Json(serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}))
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let serving =
            axum::serve(listener, app).with_graceful_shutdown(stop.clone().cancelled_owned());
        tokio::spawn(async move { serving.await.unwrap() });
        let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
        (client, seen, stop)
    }

    fn status(phase: &str) -> PodStatus {
        PodStatus {
            phase: Some(phase.to_owned()),
            ..PodStatus::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pods_statuses_land_in_order_even_with_many_writers() {
        let (client, seen, stop) = fake_api().await;
        let tracker = tokio_util::task::TaskTracker::new();
        let writer = StatusWriter::start(client, 8, stop.clone(), &tracker);
        writer.push("u1", "ns", "p", status("Pending"));
        // Let a writer take the slow first status, then queue the next two: the second replaces
        // the first of them unsent, and the last must wait for the slow write to finish.
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.push("u1", "ns", "p", status("Running"));
        writer.push("u1", "ns", "p", status("Succeeded"));
        tokio::time::timeout(Duration::from_secs(10), async {
            while seen.lock().len() < 2 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("both writes arrive");
        assert_eq!(*seen.lock(), ["Pending", "Succeeded"]);
        assert_eq!(writer.stats.coalesced.load(Ordering::Relaxed), 1);
        stop.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_follows_a_pods_statuses_waits_until_they_are_written() {
        let (client, seen, stop) = fake_api().await;
        let tracker = tokio_util::task::TaskTracker::new();
        let writer = StatusWriter::start(client, 4, stop.clone(), &tracker);
        // The slow first status is on the wire and the terminal one queued behind it when the
        // deletion is confirmed: the confirmation must see both written.
        writer.push("u1", "ns", "p", status("Pending"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.push("u1", "ns", "p", status("Failed"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let at_confirm = seen.clone();
        writer.after_writes("u1", move || {
            let _ = tx.send(at_confirm.lock().clone());
        });
        let written = tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .expect("the confirmation runs")
            .unwrap();
        assert_eq!(written, ["Pending", "Failed"]);

        let (tx, rx) = tokio::sync::oneshot::channel();
        writer.after_writes("u2", move || {
            let _ = tx.send(());
        });
        rx.await.expect("with nothing to write, it runs at once");
        stop.cancel();
    }

    #[test]
    fn a_condition_without_a_reason_clears_the_one_stored() {
        let status: PodStatus = serde_json::from_value(serde_json::json!({
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [app]"},
            ],
        }))
        .unwrap();
        let patch = super::status_patch("u1", &status);
        assert_eq!(patch["metadata"]["uid"], "u1");
        assert_eq!(
            patch["status"]["conditions"],
            serde_json::json!([
                {"type": "Ready", "status": "True", "reason": null, "message": null},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [app]"},
            ])
        );
        assert_eq!(patch["status"]["phase"], "Running");
    }
}
