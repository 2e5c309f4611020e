//! Pod status writes, as the kubelet's status manager: the latest status of each pod is queued
//! and older unsent ones are replaced (a pod that changes five times while the API is busy costs
//! one write), and a bounded pool of writers sends them as strategic-merge patches of
//! `pods/<name>/status` carrying the pod's uid, so a write never lands on a namesake.

use std::collections::{HashMap, VecDeque};
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
                q.order.push_back(uid.to_owned());
                drop(q);
                self.notify.notify_one();
            }
        }
    }

    /// Drop an unsent status of `uid` (the pod is gone).
    pub fn forget(&self, uid: &str) {
        self.queue.lock().pending.remove(uid);
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
            let patch = serde_json::json!({
                "metadata": { "uid": uid },
                "status": p.status,
            });
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
        }
    }
}
